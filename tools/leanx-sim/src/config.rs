//! Simulator settings. `Default` gives fixed test credentials, so tests and the dev stack agree
//! on them without any shared code with the client.

use std::fmt;
use std::time::Duration;

use rust_decimal::Decimal;

/// Default test auth token, in LeanX's `LP-XXXXXXXX-MM|<uuid>|<hex>` shape.
pub const DEFAULT_AUTH_TOKEN: &str = "LP-SIM00001-MM|6f1c9a2e-4b7d-4e21-9a3f-1c2d3e4f5a6b|9b2f6c1de84a4f0a8c7e3d5b1a2c4e6f8091a3b5c7d9e1f2a4b6c8d0e2f4a6b8";
/// Default test Hash Key (signs request signatures and callback JWTs).
pub const DEFAULT_HASH_KEY: &str = "sim-hash-key-0123456789abcdef";
/// Default payout pool.
pub const DEFAULT_POOL: &str = "VA-SIM-POOL-PAYOUT";

#[derive(Clone)]
pub struct SimConfig {
    /// The only `auth-token` accepted.
    pub auth_token: String,
    /// Key for `x-signature` checks and callback JWTs.
    pub hash_key: String,
    /// The only `virtual_pool_reference` accepted.
    pub virtual_pool_reference: String,
    /// Refuse requests without a valid `x-timestamp` / `x-nonce` / `x-signature`.
    pub require_signature: bool,
    /// Pool balance at start and after a reset.
    pub initial_prefund_balance: Decimal,
    /// Delay between the create answer and SUCCESS/FAILED settlement (0 = right after).
    pub settle_delay: Duration,
    /// Extra deliveries after a failed callback attempt.
    pub callback_retries: u32,
    /// Wait before the first retry; doubled for each further one.
    pub callback_backoff: Duration,
    /// How long a `hang` fault holds a connection open (or until shutdown).
    pub hang_duration: Duration,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            auth_token: DEFAULT_AUTH_TOKEN.to_string(),
            hash_key: DEFAULT_HASH_KEY.to_string(),
            virtual_pool_reference: DEFAULT_POOL.to_string(),
            require_signature: false,
            initial_prefund_balance: Decimal::new(100_000_000, 2),
            settle_delay: Duration::ZERO,
            callback_retries: 3,
            callback_backoff: Duration::from_millis(100),
            hang_duration: Duration::from_secs(600),
        }
    }
}

impl SimConfig {
    /// The merchant UUID: the middle part of the auth token ("" if the token is not 3 parts).
    pub fn merchant_uuid(&self) -> &str {
        merchant_uuid_of(&self.auth_token).unwrap_or("")
    }
}

pub(crate) fn merchant_uuid_of(token: &str) -> Option<&str> {
    let mut parts = token.split('|');
    let (_, uuid, _) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    Some(uuid)
}

// Hand-written so a `{:?}` of the config never prints a secret.
impl fmt::Debug for SimConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimConfig")
            .field("auth_token", &"[redacted]")
            .field("hash_key", &"[redacted]")
            .field("virtual_pool_reference", &self.virtual_pool_reference)
            .field("require_signature", &self.require_signature)
            .field("initial_prefund_balance", &self.initial_prefund_balance)
            .field("settle_delay", &self.settle_delay)
            .field("callback_retries", &self.callback_retries)
            .field("callback_backoff", &self.callback_backoff)
            .field("hang_duration", &self.hang_duration)
            .finish()
    }
}

/// `LEANX_SIGN_REQUESTS` is neither true nor false.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("LEANX_SIGN_REQUESTS must be true or false (or 1 or 0), not {0:?}")]
pub struct InvalidSignRequests(pub String);

/// Reads `LEANX_SIGN_REQUESTS` (or `--require-signature=VALUE`) by the functions' own rule
/// (shared/src/config.rs), restated here because the simulator shares no code with them:
/// blank is false; `true`/`1` and `false`/`0` in any case; anything else is an error.
pub fn parse_sign_requests(value: &str) -> Result<bool, InvalidSignRequests> {
    if value.trim().is_empty() {
        return Ok(false);
    }
    match value.to_ascii_lowercase().as_str() {
        "false" | "0" => Ok(false),
        "true" | "1" => Ok(true),
        _ => Err(InvalidSignRequests(value.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_requests_accepts_true_and_1_in_any_case() {
        for v in ["true", "TRUE", "True", "1"] {
            assert_eq!(parse_sign_requests(v), Ok(true), "{v}");
        }
    }

    #[test]
    fn sign_requests_accepts_false_and_0_in_any_case() {
        for v in ["false", "FALSE", "False", "0"] {
            assert_eq!(parse_sign_requests(v), Ok(false), "{v}");
        }
    }

    #[test]
    fn blank_sign_requests_is_false_as_if_unset() {
        for v in ["", "  "] {
            assert_eq!(parse_sign_requests(v), Ok(false), "{v:?}");
        }
    }

    #[test]
    fn any_other_sign_requests_value_is_an_error() {
        for v in ["yes", "on", "2", " true", "t"] {
            assert!(parse_sign_requests(v).is_err(), "{v:?}");
        }
    }
}
