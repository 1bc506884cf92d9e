//! jsonwebtoken's cryptography for the one algorithm LeanX signs its callbacks with, HS256,
//! over RustCrypto's `hmac` (already here for the webhook signatures).
//!
//! Why a provider of our own rather than one of jsonwebtoken's two backends: each backend's
//! dispatch names every algorithm, so either links RSA, ECDSA and EdDSA verifiers (about
//! 0.7 MB of `leanx-callback`'s code, and its pages count in peak RSS) that a callback never
//! uses. Any other algorithm is refused here as it is by `Validation`, before any claim is read.
//! The provider is installed as the process's default the first time a token is read or made
//! ([`install`]); the workspace's tools may link a backend as well, which this one overrides.

use std::sync::Once;

use hmac::{Hmac, Mac};
use jsonwebtoken::crypto::{CryptoProvider, JwkUtils, JwtSigner, JwtVerifier};
use jsonwebtoken::errors::{Error, ErrorKind};
use jsonwebtoken::signature::{self, Signer, Verifier};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

static HS256_ONLY: CryptoProvider = CryptoProvider {
    signer_factory: signer,
    verifier_factory: verifier,
    jwk_utils: JwkUtils::new_unimplemented(),
};

/// Makes HS256 the process's one JWT algorithm (idempotent; cheap after the first call).
pub fn install() {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        // Err means a provider is already installed in this process: only ever this one, as
        // nothing else here installs one.
        let _ = HS256_ONLY.install_default();
    });
}

fn signer(algorithm: &Algorithm, key: &EncodingKey) -> Result<Box<dyn JwtSigner>, Error> {
    only_hs256(algorithm)?;
    Ok(Box::new(Hs256(hmac_key(key.try_get_hmac_secret()?)?)))
}

fn verifier(algorithm: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>, Error> {
    only_hs256(algorithm)?;
    Ok(Box::new(Hs256(hmac_key(key.try_get_hmac_secret()?)?)))
}

fn only_hs256(algorithm: &Algorithm) -> Result<(), Error> {
    match algorithm {
        Algorithm::HS256 => Ok(()),
        _ => Err(ErrorKind::InvalidAlgorithm.into()),
    }
}

fn hmac_key(secret: &[u8]) -> Result<HmacSha256, Error> {
    HmacSha256::new_from_slice(secret).map_err(|_| ErrorKind::InvalidKeyFormat.into())
}

struct Hs256(HmacSha256);

impl Signer<Vec<u8>> for Hs256 {
    fn try_sign(&self, message: &[u8]) -> Result<Vec<u8>, signature::Error> {
        let mut mac = self.0.clone();
        mac.update(message);
        Ok(mac.finalize().into_bytes().to_vec())
    }
}

impl Verifier<Vec<u8>> for Hs256 {
    fn verify(&self, message: &[u8], tag: &Vec<u8>) -> Result<(), signature::Error> {
        let mut mac = self.0.clone();
        mac.update(message);
        // Constant time: a tag is never compared byte by byte.
        mac.verify_slice(tag).map_err(|_| signature::Error::new())
    }
}

impl JwtSigner for Hs256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::HS256
    }
}

impl JwtVerifier for Hs256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::HS256
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_it_signs_verifies_and_a_changed_one_does_not() {
        install();
        let key = b"merchant-hash-key";
        let header = jsonwebtoken::Header::new(Algorithm::HS256);
        let token = jsonwebtoken::encode(
            &header,
            &serde_json::json!({"output": 1}),
            &EncodingKey::from_secret(key),
        )
        .unwrap();
        let mut validation = jsonwebtoken::Validation::new(Algorithm::HS256);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        let decoding = DecodingKey::from_secret(key);
        assert!(jsonwebtoken::decode::<serde_json::Value>(&token, &decoding, &validation).is_ok());
        let mut tampered = token.into_bytes();
        let last = tampered.len() - 2;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).unwrap();
        let error = jsonwebtoken::decode::<serde_json::Value>(&tampered, &decoding, &validation)
            .unwrap_err();
        assert_eq!(error.kind(), &ErrorKind::InvalidSignature);
    }

    #[test]
    fn every_other_algorithm_is_refused() {
        let key = DecodingKey::from_secret(b"k");
        for algorithm in [
            Algorithm::HS384,
            Algorithm::HS512,
            Algorithm::RS256,
            Algorithm::ES256,
        ] {
            let error = verifier(&algorithm, &key).err().expect("refused");
            assert_eq!(error.kind(), &ErrorKind::InvalidAlgorithm, "{algorithm:?}");
        }
    }
}
