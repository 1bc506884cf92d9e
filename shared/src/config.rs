//! Configuration from the environment (API.md's table), read once per container.

use chrono::Duration;

use crate::domain::{NotReceivedRule, RecipientPolicy};
use crate::leanx::{LeanxCredentials, Secret};

/// Timing rules of the money flow, configurable so tests need not wait 15 minutes. These
/// defaults are the only ones: every other reader takes them from here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timings {
    /// How long a claim is held before another request may take it over: the create
    /// function's timeout, so a live holder is never overtaken.
    pub claim_ttl: Duration,
    /// How long LeanX may not know a sent payout before it is declared not received.
    pub grace_period: Duration,
    /// A non-final payout older than this is refreshed from LeanX on GET.
    pub refresh_after: Duration,
    /// Recognised "not found" answers needed before a sent payout is declared not received.
    pub not_found_lookups_required: u32,
    /// "Not found" answers closer together than this count once.
    pub not_found_lookup_spacing: Duration,
    /// How long a batch's item may wait in the send queue under the batch's claim. Past it the
    /// reconciler closes an item still unsent as never sent (the queue lost it): a 5,000-item
    /// batch at 10 sends/s drains in about 8 minutes, so 6 hours leaves room for a queue of
    /// many batches and a LeanX outage, and still ends every item.
    pub batch_queue_ttl: Duration,
}

impl Timings {
    /// The evidence a "not received" verdict needs.
    pub fn not_received_rule(&self) -> NotReceivedRule {
        NotReceivedRule {
            grace_period: self.grace_period,
            lookups_required: self.not_found_lookups_required,
            lookup_spacing: self.not_found_lookup_spacing,
        }
    }
}

impl Default for Timings {
    fn default() -> Self {
        Timings {
            claim_ttl: Duration::seconds(DEFAULT_CLAIM_TTL_SECONDS),
            grace_period: Duration::seconds(DEFAULT_GRACE_PERIOD_SECONDS),
            refresh_after: Duration::seconds(DEFAULT_REFRESH_AFTER_SECONDS),
            not_found_lookups_required: DEFAULT_NOT_FOUND_LOOKUPS_REQUIRED,
            not_found_lookup_spacing: Duration::seconds(DEFAULT_NOT_FOUND_LOOKUP_SPACING_SECONDS),
            batch_queue_ttl: Duration::seconds(DEFAULT_BATCH_QUEUE_TTL_SECONDS),
        }
    }
}

const DEFAULT_CLAIM_TTL_SECONDS: i64 = 30;
const DEFAULT_GRACE_PERIOD_SECONDS: i64 = 15 * 60;
const DEFAULT_REFRESH_AFTER_SECONDS: i64 = 5;
const DEFAULT_NOT_FOUND_LOOKUPS_REQUIRED: u32 = 3;
const DEFAULT_NOT_FOUND_LOOKUP_SPACING_SECONDS: i64 = 120;
const DEFAULT_BATCH_QUEUE_TTL_SECONDS: i64 = 6 * 60 * 60;
/// API.md: `BATCH_SEND_RATE`, batch sends per second in total.
pub const DEFAULT_BATCH_SEND_RATE: u32 = 10;
/// The simulator's "not found" code. LeanX's own is undocumented (LEANX.md): confirm it
/// against the sandbox and set `LEANX_NOT_FOUND_CODES`.
const DEFAULT_LEANX_NOT_FOUND_CODES: &str = "4004";

/// How much one reconciler pass takes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReconcileLimits {
    /// Due payouts read per pass.
    pub batch: usize,
    /// LeanX lookups in flight at once.
    pub concurrency: usize,
}

impl Default for ReconcileLimits {
    fn default() -> Self {
        ReconcileLimits {
            batch: 100,
            concurrency: 8,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("missing required setting {0}")]
    Missing(&'static str),
    #[error("invalid setting {name}: {reason}")]
    Invalid { name: &'static str, reason: String },
    #[error("cannot read the LeanX secret named by LEANX_SECRET_ARN: {0}")]
    Secret(String),
}

/// What a function does with LeanX, which decides the settings it cannot start without.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeanxUse {
    /// create-payout: also the pool and the callback URL it sends to LeanX.
    CreatesPayouts,
    /// get-payout, leanx-callback, reconcile-payouts: credentials only.
    TracksPayouts,
    /// create-payout-batch, get-payout-batch: the table and the batch queue only. No LeanX
    /// setting is read, nor the secret (their roles cannot read it).
    Never,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub table_name: String,
    pub leanx_base_url: String,
    pub sign_requests: bool,
    pub virtual_pool_reference: String,
    pub callback_url: String,
    pub timings: Timings,
    pub reconcile: ReconcileLimits,
    /// The whole LeanX request, past which a send's outcome is unknown.
    pub leanx_timeout: std::time::Duration,
    /// `get-payout-transaction-by-id` refusal codes that mean "LeanX does not hold this id".
    pub leanx_not_found_codes: Vec<String>,
    /// Set when the credentials live in Secrets Manager (deployed); read by [`load_credentials`].
    pub secret_arn: Option<String>,
    /// `RECIPIENT_VERIFICATION`, `RECIPIENT_PARTIAL_MATCH` (create-payout applies it).
    pub recipient_policy: RecipientPolicy,
    /// `BATCH_SEND_RATE`: batch sends per second, in total.
    pub batch_send_rate: u32,
    /// `BATCH_SEND_CONCURRENCY`: how many `send-batch-items` run at once (the queue mapping's
    /// maximum concurrency); each paces itself to its share of the rate.
    pub batch_send_concurrency: u32,
    /// `BATCH_QUEUE_URL`: the queue a batch's items wait in (`create-payout-batch` only).
    pub batch_queue_url: String,
}

impl Config {
    /// Reads everything but the secret values. `env` is `std::env::var` in production.
    pub fn from_env(
        env: impl Fn(&str) -> Option<String>,
        leanx_use: LeanxUse,
    ) -> Result<Config, ConfigError> {
        let get = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        let required = |name: &'static str| get(name).ok_or(ConfigError::Missing(name));
        let seconds = |name: &'static str, default: i64| -> Result<Duration, ConfigError> {
            match get(name) {
                None => Ok(Duration::seconds(default)),
                Some(v) => v
                    .parse::<u32>()
                    .map(|s| Duration::seconds(s.into()))
                    .map_err(|_| ConfigError::Invalid {
                        name,
                        reason: "must be a whole number of seconds".into(),
                    }),
            }
        };
        let count = |name: &'static str, default: usize| -> Result<usize, ConfigError> {
            match get(name) {
                None => Ok(default),
                Some(v) => v
                    .parse::<usize>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or(ConfigError::Invalid {
                        name,
                        reason: "must be a positive whole number".into(),
                    }),
            }
        };
        let sign_requests = match get("LEANX_SIGN_REQUESTS")
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("false") | Some("0") => false,
            Some("true") | Some("1") => true,
            Some(_) => {
                return Err(ConfigError::Invalid {
                    name: "LEANX_SIGN_REQUESTS",
                    reason: "must be true or false".into(),
                });
            }
        };
        let (virtual_pool_reference, callback_url) = match leanx_use {
            LeanxUse::CreatesPayouts => (
                required("LEANX_VIRTUAL_POOL_REFERENCE")?,
                required("CALLBACK_URL")?,
            ),
            LeanxUse::TracksPayouts | LeanxUse::Never => (
                get("LEANX_VIRTUAL_POOL_REFERENCE").unwrap_or_default(),
                get("CALLBACK_URL").unwrap_or_default(),
            ),
        };
        let recipient_policy =
            RecipientPolicy::from_env(&env).map_err(|e| ConfigError::Invalid {
                name: e.name,
                reason: format!("{:?} is not one of {}", e.value, e.allowed),
            })?;
        let secret_arn = match leanx_use {
            LeanxUse::Never => None,
            LeanxUse::CreatesPayouts | LeanxUse::TracksPayouts => get("LEANX_SECRET_ARN"),
        };
        if secret_arn.is_none() && leanx_use != LeanxUse::Never {
            required("LEANX_AUTH_TOKEN")?;
            required("LEANX_HASH_KEY")?;
        }
        Ok(Config {
            table_name: get("TABLE_NAME").unwrap_or_else(|| "payouts".into()),
            leanx_base_url: get("LEANX_BASE_URL").unwrap_or_else(|| "https://api.leanx.dev".into()),
            sign_requests,
            virtual_pool_reference,
            callback_url,
            timings: Timings {
                claim_ttl: seconds("CLAIM_TTL_SECONDS", DEFAULT_CLAIM_TTL_SECONDS)?,
                grace_period: seconds("PAYOUT_GRACE_PERIOD_SECONDS", DEFAULT_GRACE_PERIOD_SECONDS)?,
                refresh_after: seconds("REFRESH_AFTER_SECONDS", DEFAULT_REFRESH_AFTER_SECONDS)?,
                not_found_lookups_required: u32::try_from(count(
                    "NOT_FOUND_LOOKUPS_REQUIRED",
                    DEFAULT_NOT_FOUND_LOOKUPS_REQUIRED as usize,
                )?)
                .map_err(|_| ConfigError::Invalid {
                    name: "NOT_FOUND_LOOKUPS_REQUIRED",
                    reason: "too large".into(),
                })?,
                not_found_lookup_spacing: seconds(
                    "NOT_FOUND_LOOKUP_SPACING_SECONDS",
                    DEFAULT_NOT_FOUND_LOOKUP_SPACING_SECONDS,
                )?,
                batch_queue_ttl: seconds(
                    "BATCH_QUEUE_TTL_SECONDS",
                    DEFAULT_BATCH_QUEUE_TTL_SECONDS,
                )?,
            },
            batch_send_rate: u32::try_from(count(
                "BATCH_SEND_RATE",
                DEFAULT_BATCH_SEND_RATE as usize,
            )?)
            .map_err(|_| ConfigError::Invalid {
                name: "BATCH_SEND_RATE",
                reason: "too large".into(),
            })?,
            batch_send_concurrency: u32::try_from(count("BATCH_SEND_CONCURRENCY", 2)?).map_err(
                |_| ConfigError::Invalid {
                    name: "BATCH_SEND_CONCURRENCY",
                    reason: "too large".into(),
                },
            )?,
            batch_queue_url: get("BATCH_QUEUE_URL").unwrap_or_default(),
            leanx_not_found_codes: get("LEANX_NOT_FOUND_CODES")
                .unwrap_or_else(|| DEFAULT_LEANX_NOT_FOUND_CODES.into())
                .split(',')
                .map(|c| c.trim().to_owned())
                .filter(|c| !c.is_empty())
                .collect(),
            reconcile: ReconcileLimits {
                batch: count("RECONCILE_BATCH", ReconcileLimits::default().batch)?,
                concurrency: count(
                    "RECONCILE_CONCURRENCY",
                    ReconcileLimits::default().concurrency,
                )?,
            },
            leanx_timeout: std::time::Duration::from_millis(
                count("LEANX_TIMEOUT_MS", 10_000)? as u64
            ),
            secret_arn,
            recipient_policy,
        })
    }
}

/// The LeanX credentials: from Secrets Manager when `LEANX_SECRET_ARN` is set (deployed), from
/// `LEANX_AUTH_TOKEN` / `LEANX_HASH_KEY` otherwise (local runs).
pub async fn load_credentials(
    config: &Config,
    env: impl Fn(&str) -> Option<String>,
    aws: Option<&aws_config::SdkConfig>,
) -> Result<LeanxCredentials, ConfigError> {
    match (&config.secret_arn, aws) {
        (Some(arn), Some(aws)) => {
            // Used once, at start, then dropped with this call: the secret is kept, not the
            // client (its HTTP connection pool is the process's one, which DynamoDB reuses).
            let client = aws_sdk_secretsmanager::Client::new(aws);
            let secret = client
                .get_secret_value()
                .secret_id(arn)
                .send()
                .await
                .map_err(|e| {
                    ConfigError::Secret(
                        aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string(),
                    )
                })?;
            credentials_from_secret_json(secret.secret_string().unwrap_or_default())
        }
        _ => Ok(LeanxCredentials {
            auth_token: Secret::new(
                env("LEANX_AUTH_TOKEN").ok_or(ConfigError::Missing("LEANX_AUTH_TOKEN"))?,
            ),
            hash_key: Secret::new(
                env("LEANX_HASH_KEY").ok_or(ConfigError::Missing("LEANX_HASH_KEY"))?,
            ),
        }),
    }
}

/// `{"auth_token": "...", "hash_key": "..."}`; the error never quotes the secret.
pub fn credentials_from_secret_json(text: &str) -> Result<LeanxCredentials, ConfigError> {
    #[derive(serde::Deserialize)]
    struct Stored {
        auth_token: String,
        hash_key: String,
    }
    let stored: Stored = serde_json::from_str(text).map_err(|_| {
        ConfigError::Secret("expected a JSON object with auth_token and hash_key".into())
    })?;
    if stored.auth_token.is_empty() || stored.hash_key.is_empty() {
        return Err(ConfigError::Secret(
            "auth_token and hash_key must not be empty".into(),
        ));
    }
    Ok(LeanxCredentials {
        auth_token: Secret::new(stored.auth_token),
        hash_key: Secret::new(stored.hash_key),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name: &str| map.get(name).cloned()
    }

    const LOCAL: &[(&str, &str)] = &[
        ("LEANX_AUTH_TOKEN", "LP-1-MM|u|x"),
        ("LEANX_HASH_KEY", "k"),
        ("LEANX_VIRTUAL_POOL_REFERENCE", "VA-1"),
        ("CALLBACK_URL", "http://127.0.0.1:9000/callbacks/leanx"),
    ];

    #[test]
    fn defaults_follow_api_md() {
        let config = Config::from_env(env(LOCAL), LeanxUse::CreatesPayouts).unwrap();
        assert_eq!(config.table_name, "payouts");
        assert_eq!(config.leanx_base_url, "https://api.leanx.dev");
        assert!(!config.sign_requests);
        assert_eq!(config.timings.grace_period, Duration::minutes(15));
        assert_eq!(config.leanx_timeout, std::time::Duration::from_secs(10));
    }

    #[test]
    fn a_missing_setting_is_named() {
        for missing in [
            "LEANX_AUTH_TOKEN",
            "LEANX_HASH_KEY",
            "LEANX_VIRTUAL_POOL_REFERENCE",
            "CALLBACK_URL",
        ] {
            let pairs: Vec<_> = LOCAL
                .iter()
                .copied()
                .filter(|(k, _)| *k != missing)
                .collect();
            let error = Config::from_env(env(&pairs), LeanxUse::CreatesPayouts).unwrap_err();
            assert_eq!(error, ConfigError::Missing(missing));
            assert_eq!(
                error.to_string(),
                format!("missing required setting {missing}")
            );
        }
    }

    #[test]
    fn a_function_that_never_calls_leanx_reads_no_leanx_setting_nor_the_secret() {
        let pairs = [("LEANX_SECRET_ARN", "arn:aws:secretsmanager:x")];
        let config = Config::from_env(env(&pairs), LeanxUse::Never).unwrap();
        assert_eq!(config.secret_arn, None);
        assert!(Config::from_env(env(&[]), LeanxUse::Never).is_ok());
    }

    #[test]
    fn tracking_functions_need_no_pool_or_callback_url() {
        let pairs = &LOCAL[..2];
        assert!(Config::from_env(env(pairs), LeanxUse::TracksPayouts).is_ok());
    }

    #[test]
    fn a_secret_arn_replaces_the_env_credentials() {
        let pairs = [
            ("LEANX_SECRET_ARN", "arn:aws:secretsmanager:x"),
            ("LEANX_VIRTUAL_POOL_REFERENCE", "V"),
            ("CALLBACK_URL", "u"),
        ];
        let config = Config::from_env(env(&pairs), LeanxUse::CreatesPayouts).unwrap();
        assert_eq!(
            config.secret_arn.as_deref(),
            Some("arn:aws:secretsmanager:x")
        );
    }

    #[test]
    fn invalid_values_are_refused_by_name() {
        let mut pairs = LOCAL.to_vec();
        pairs.push(("LEANX_SIGN_REQUESTS", "yes please"));
        assert!(matches!(
            Config::from_env(env(&pairs), LeanxUse::CreatesPayouts),
            Err(ConfigError::Invalid {
                name: "LEANX_SIGN_REQUESTS",
                ..
            })
        ));
        let mut pairs = LOCAL.to_vec();
        pairs.push(("PAYOUT_GRACE_PERIOD_SECONDS", "-1"));
        assert!(matches!(
            Config::from_env(env(&pairs), LeanxUse::CreatesPayouts),
            Err(ConfigError::Invalid {
                name: "PAYOUT_GRACE_PERIOD_SECONDS",
                ..
            })
        ));
    }

    #[test]
    fn reconciler_limits_are_read_with_the_rest_and_a_bad_one_is_an_error() {
        let mut pairs = LOCAL.to_vec();
        pairs.push(("RECONCILE_BATCH", "25"));
        let config = Config::from_env(env(&pairs), LeanxUse::TracksPayouts).unwrap();
        assert_eq!(
            config.reconcile,
            ReconcileLimits {
                batch: 25,
                concurrency: 8
            }
        );
        for (name, bad) in [("RECONCILE_BATCH", "0"), ("RECONCILE_CONCURRENCY", "many")] {
            let mut pairs = LOCAL.to_vec();
            pairs.push((name, bad));
            assert!(
                matches!(
                    Config::from_env(env(&pairs), LeanxUse::TracksPayouts),
                    Err(ConfigError::Invalid { name: n, .. }) if n == name
                ),
                "{name}={bad}"
            );
        }
    }

    #[test]
    fn secret_json_is_parsed_and_never_echoed() {
        let credentials =
            credentials_from_secret_json(r#"{"auth_token":"LP-1|u|s3cret","hash_key":"hk"}"#)
                .unwrap();
        assert_eq!(credentials.merchant_uuid(), "u");
        let error = credentials_from_secret_json(r#"{"auth_token":"LP-1|u|s3cret"}"#).unwrap_err();
        assert!(!error.to_string().contains("s3cret"));
    }

    #[test]
    fn the_recipient_policy_defaults_to_off_and_reads_both_settings() {
        let config = Config::from_env(env(LOCAL), LeanxUse::CreatesPayouts).unwrap();
        assert_eq!(config.recipient_policy, RecipientPolicy::default());
        let mut vars = LOCAL.to_vec();
        vars.push(("RECIPIENT_VERIFICATION", "required"));
        vars.push(("RECIPIENT_PARTIAL_MATCH", "allow"));
        let config = Config::from_env(env(&vars), LeanxUse::CreatesPayouts).unwrap();
        assert_eq!(
            config.recipient_policy,
            RecipientPolicy {
                verification: crate::domain::VerificationMode::Required,
                partial_match: crate::domain::PartialMatch::Allow,
            }
        );
    }

    #[test]
    fn a_bad_recipient_policy_value_stops_the_function_naming_the_variable() {
        for (name, value) in [
            ("RECIPIENT_VERIFICATION", "on"),
            ("RECIPIENT_PARTIAL_MATCH", "sometimes"),
        ] {
            let mut vars = LOCAL.to_vec();
            vars.push((name, value));
            let error = Config::from_env(env(&vars), LeanxUse::TracksPayouts).unwrap_err();
            assert!(
                matches!(&error, ConfigError::Invalid { name: n, .. } if *n == name),
                "{error:?}"
            );
            assert!(error.to_string().contains(name), "{error}");
        }
    }
}
