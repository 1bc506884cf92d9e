//! Configuration from the environment (API.md's table), read once per container.

use chrono::Duration;

use crate::leanx::{LeanxCredentials, Secret};
use crate::service::Timings;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("missing required setting {0}")]
    Missing(&'static str),
    #[error("invalid setting {name}: {reason}")]
    Invalid { name: &'static str, reason: String },
    #[error("cannot read the LeanX secret named by LEANX_SECRET_ARN: {0}")]
    Secret(String),
}

/// Which settings a function cannot start without.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// create-payout: also the pool and the callback URL it sends to LeanX.
    Sending,
    /// get-payout, leanx-callback, reconcile-payouts.
    Tracking,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub table_name: String,
    pub leanx_base_url: String,
    pub sign_requests: bool,
    pub virtual_pool_reference: String,
    pub callback_url: String,
    pub timings: Timings,
    pub reconcile_batch: usize,
    pub reconcile_concurrency: usize,
    /// The whole LeanX request, past which a send's outcome is unknown.
    pub leanx_timeout: std::time::Duration,
    /// Set when the credentials live in Secrets Manager (deployed); read by [`load_credentials`].
    pub secret_arn: Option<String>,
}

impl Config {
    /// Reads everything but the secret values. `env` is `std::env::var` in production.
    pub fn from_env(
        env: impl Fn(&str) -> Option<String>,
        needs: Needs,
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
        let (virtual_pool_reference, callback_url) = match needs {
            Needs::Sending => (
                required("LEANX_VIRTUAL_POOL_REFERENCE")?,
                required("CALLBACK_URL")?,
            ),
            Needs::Tracking => (
                get("LEANX_VIRTUAL_POOL_REFERENCE").unwrap_or_default(),
                get("CALLBACK_URL").unwrap_or_default(),
            ),
        };
        let secret_arn = get("LEANX_SECRET_ARN");
        if secret_arn.is_none() {
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
                claim_ttl: seconds("CLAIM_TTL_SECONDS", 30)?,
                grace_period: seconds("PAYOUT_GRACE_PERIOD_SECONDS", 15 * 60)?,
                refresh_after: seconds("REFRESH_AFTER_SECONDS", 5)?,
            },
            reconcile_batch: count("RECONCILE_BATCH", 100)?,
            reconcile_concurrency: count("RECONCILE_CONCURRENCY", 8)?,
            leanx_timeout: std::time::Duration::from_millis(
                count("LEANX_TIMEOUT_MS", 10_000)? as u64
            ),
            secret_arn,
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
        let config = Config::from_env(env(LOCAL), Needs::Sending).unwrap();
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
            let error = Config::from_env(env(&pairs), Needs::Sending).unwrap_err();
            assert_eq!(error, ConfigError::Missing(missing));
            assert_eq!(
                error.to_string(),
                format!("missing required setting {missing}")
            );
        }
    }

    #[test]
    fn tracking_functions_need_no_pool_or_callback_url() {
        let pairs = &LOCAL[..2];
        assert!(Config::from_env(env(pairs), Needs::Tracking).is_ok());
    }

    #[test]
    fn a_secret_arn_replaces_the_env_credentials() {
        let pairs = [
            ("LEANX_SECRET_ARN", "arn:aws:secretsmanager:x"),
            ("LEANX_VIRTUAL_POOL_REFERENCE", "V"),
            ("CALLBACK_URL", "u"),
        ];
        let config = Config::from_env(env(&pairs), Needs::Sending).unwrap();
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
            Config::from_env(env(&pairs), Needs::Sending),
            Err(ConfigError::Invalid {
                name: "LEANX_SIGN_REQUESTS",
                ..
            })
        ));
        let mut pairs = LOCAL.to_vec();
        pairs.push(("PAYOUT_GRACE_PERIOD_SECONDS", "-1"));
        assert!(matches!(
            Config::from_env(env(&pairs), Needs::Sending),
            Err(ConfigError::Invalid {
                name: "PAYOUT_GRACE_PERIOD_SECONDS",
                ..
            })
        ));
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
}
