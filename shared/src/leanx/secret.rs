//! Secrets that cannot be printed by accident.

use std::fmt;

/// A secret string: `Debug` and `Display` never show it, so it cannot reach a log line or an
/// error body through formatting.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }
    /// The only way to the value: each call site is a place where the secret is really used.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([REDACTED])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

/// The merchant's LeanX credentials: the static `auth-token` and the Hash Key that signs
/// callbacks (and requests, when X-Signature is on).
#[derive(Clone, Debug)]
pub struct LeanxCredentials {
    pub auth_token: Secret,
    pub hash_key: Secret,
}

impl LeanxCredentials {
    /// The merchant UUID: the middle part of `LP-XXXXXXXX-MM|<uuid>|<hex>` (LEANX.md).
    pub fn merchant_uuid(&self) -> &str {
        self.auth_token.expose().split('|').nth(1).unwrap_or("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_format() {
        let secret = Secret::new("LP-ABC|uuid|deadbeef");
        assert!(!format!("{secret:?} {secret}").contains("deadbeef"));
        let credentials = LeanxCredentials {
            auth_token: secret.clone(),
            hash_key: secret,
        };
        assert!(!format!("{credentials:?}").contains("deadbeef"));
    }

    #[test]
    fn merchant_uuid_is_the_middle_of_the_token() {
        let credentials = LeanxCredentials {
            auth_token: Secret::new("LP-1A2B3C4D-MM|0f6d1e4a-1111-4222-8333-444455556666|abcdef"),
            hash_key: Secret::new("k"),
        };
        assert_eq!(
            credentials.merchant_uuid(),
            "0f6d1e4a-1111-4222-8333-444455556666"
        );
    }
}
