//! LeanX's optional request signing (LEANX.md, "Signature Validation").

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::secret::LeanxCredentials;

/// The three headers a signed request carries besides `auth-token`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureHeaders {
    pub timestamp: String,
    pub nonce: String,
    pub signature: String,
}

/// `x-signature` = lowercase hex HMAC-SHA256 (key: the Hash Key) of
/// `METHOD|UUID|URL_PATH|TIMESTAMP|AUTH_TOKEN|NONCE`, URL_PATH without its query string.
pub fn sign(
    credentials: &LeanxCredentials,
    method: &str,
    url_path: &str,
    unix_seconds: i64,
    nonce: &str,
) -> SignatureHeaders {
    let path = url_path.split('?').next().unwrap_or(url_path);
    let message = [
        method,
        credentials.merchant_uuid(),
        path,
        &unix_seconds.to_string(),
        credentials.auth_token.expose(),
        nonce,
    ]
    .join("|");
    let mut mac = Hmac::<Sha256>::new_from_slice(credentials.hash_key.expose().as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(message.as_bytes());
    SignatureHeaders {
        timestamp: unix_seconds.to_string(),
        nonce: nonce.to_owned(),
        signature: hex::encode(mac.finalize().into_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::leanx::Secret;

    fn credentials() -> LeanxCredentials {
        LeanxCredentials {
            auth_token: Secret::new("LP-1A2B3C4D-MM|merchant-uuid|abc"),
            hash_key: Secret::new("hash-key"),
        }
    }

    #[test]
    fn signs_the_documented_message_with_hmac_sha256() {
        let headers = sign(
            &credentials(),
            "POST",
            "/api/v1/merchant/overall-balance",
            1700000000,
            "n-1",
        );
        // Computed independently with:
        // printf 'POST|merchant-uuid|/api/v1/merchant/overall-balance|1700000000|LP-1A2B3C4D-MM|merchant-uuid|abc|n-1' \
        //   | openssl dgst -sha256 -hmac hash-key
        assert_eq!(
            headers.signature,
            "1e6dd9a7ff7783418de6d40b05c3df0548eaca5a6cdbad97b92e198d0788ce0c"
        );
        assert_eq!(headers.signature.len(), 64);
        assert!(
            headers
                .signature
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
        );
    }

    #[test]
    fn query_string_is_not_signed() {
        let with_query = sign(&credentials(), "POST", "/p?_id=X", 1, "n");
        let without = sign(&credentials(), "POST", "/p", 1, "n");
        assert_eq!(with_query.signature, without.signature);
    }

    #[test]
    fn every_part_changes_the_signature() {
        let base = sign(&credentials(), "POST", "/p", 1, "n").signature;
        assert_ne!(base, sign(&credentials(), "GET", "/p", 1, "n").signature);
        assert_ne!(base, sign(&credentials(), "POST", "/q", 1, "n").signature);
        assert_ne!(base, sign(&credentials(), "POST", "/p", 2, "n").signature);
        assert_ne!(base, sign(&credentials(), "POST", "/p", 1, "m").signature);
    }
}
