//! Standard Webhooks signatures (<https://www.standardwebhooks.com>): `webhook-signature` =
//! `v1,` + base64(HMAC-SHA256(key, `{id}.{timestamp}.{body}`)), the key being the base64 part
//! of a `whsec_…` secret. During a rotation several secrets are configured (space-separated)
//! and each gives one signature, so a receiver holding either secret verifies the delivery.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

const SECRET_PREFIX: &str = "whsec_";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("no webhook secret configured")]
    Empty,
    /// Which secret (1-based) of the list; its value is never echoed.
    #[error("webhook secret #{position} is not `whsec_` followed by base64")]
    Malformed { position: usize },
}

/// The signing keys, decoded once. Debug never shows them.
#[derive(Clone)]
pub struct SigningKeys(Vec<Vec<u8>>);

impl std::fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKeys({} keys)", self.0.len())
    }
}

impl SigningKeys {
    /// `whsec_AAA… whsec_BBB…`: one or more secrets, space-separated.
    pub fn parse(secrets: &str) -> Result<SigningKeys, SecretError> {
        let keys = secrets
            .split_whitespace()
            .enumerate()
            .map(|(i, secret)| {
                let malformed = SecretError::Malformed { position: i + 1 };
                let encoded = secret
                    .strip_prefix(SECRET_PREFIX)
                    .ok_or(malformed.clone())?;
                match STANDARD.decode(encoded) {
                    Ok(key) if !key.is_empty() => Ok(key),
                    _ => Err(malformed),
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        if keys.is_empty() {
            return Err(SecretError::Empty);
        }
        Ok(SigningKeys(keys))
    }

    /// The `webhook-signature` header value: `v1,<sig>` per key, space-separated.
    pub fn signature_header(&self, id: &str, timestamp: i64, body: &str) -> String {
        self.0
            .iter()
            .map(|key| format!("v1,{}", sign(key, id, timestamp, body)))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn sign(key: &[u8], id: &str, timestamp: i64, body: &str) -> String {
    // HMAC accepts keys of any length.
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Standard Webhooks specification's published test vector.
    const VECTOR_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    #[test]
    fn signs_the_standard_webhooks_test_vector() {
        let keys = SigningKeys::parse(VECTOR_SECRET).expect("valid secret");
        assert_eq!(
            keys.signature_header(
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1_614_265_330,
                r#"{"test": 2432232314}"#
            ),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn a_rotation_gives_one_signature_per_secret_in_order() {
        let other = "whsec_c2VjcmV0LW9mLWEtcm90YXRlZC1lbmRwb2ludA==";
        let both = SigningKeys::parse(&format!("{VECTOR_SECRET} {other}")).expect("valid");
        let header = both.signature_header("evt_1", 1_700_000_000, "{}");
        let one = |s: &str| {
            SigningKeys::parse(s)
                .expect("valid")
                .signature_header("evt_1", 1_700_000_000, "{}")
        };
        assert_eq!(header, format!("{} {}", one(VECTOR_SECRET), one(other)));
    }

    #[test]
    fn the_signature_covers_id_timestamp_and_body() {
        let keys = SigningKeys::parse(VECTOR_SECRET).expect("valid");
        let base = keys.signature_header("evt_1", 1, "{}");
        assert_ne!(base, keys.signature_header("evt_2", 1, "{}"));
        assert_ne!(base, keys.signature_header("evt_1", 2, "{}"));
        assert_ne!(base, keys.signature_header("evt_1", 1, "{ }"));
    }

    #[test]
    fn malformed_or_missing_secrets_are_refused_without_echoing_them() {
        assert_eq!(SigningKeys::parse("  ").unwrap_err(), SecretError::Empty);
        let err = SigningKeys::parse(&format!("{VECTOR_SECRET} MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"))
            .unwrap_err();
        assert_eq!(err, SecretError::Malformed { position: 2 });
        assert!(!err.to_string().contains("MfKQ"));
        assert!(SigningKeys::parse("whsec_!!!").is_err());
        assert!(format!("{:?}", SigningKeys::parse(VECTOR_SECRET).unwrap()).contains("1 keys"));
    }
}
