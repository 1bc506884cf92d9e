//! The `auth-token` header and, when the merchant switched it on, request signing.

use hmac::{Hmac, Mac};
use hyper::{HeaderMap, Method};
use sha2::Sha256;

use super::{Refusal, code, refuse};
use crate::config::{SimConfig, merchant_uuid_of};

const SIGNATURE_WINDOW_SECS: i64 = 300;

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

pub(super) fn check(
    cfg: &SimConfig,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
) -> Result<(), Refusal> {
    let token = header(headers, "auth-token").unwrap_or("");
    if token != cfg.auth_token {
        return Err(match merchant_uuid_of(token) {
            Some(uuid) if uuid != cfg.merchant_uuid() => refuse(code::INVALID_UUID, "INVALID_UUID"),
            _ => refuse(code::INVALID_TOKEN, "INVALID_TOKEN"),
        });
    }
    if !cfg.require_signature {
        return Ok(());
    }
    let (Some(ts), Some(nonce), Some(sig)) = (
        header(headers, "x-timestamp"),
        header(headers, "x-nonce"),
        header(headers, "x-signature"),
    ) else {
        return Err(refuse(code::INVALID_SIGNATURE, "INVALID_SIGNATURE"));
    };
    let Ok(ts_secs) = ts.parse::<i64>() else {
        return Err(refuse(code::INVALID_SIGNATURE, "INVALID_SIGNATURE"));
    };
    if (chrono::Utc::now().timestamp() - ts_secs).abs() > SIGNATURE_WINDOW_SECS {
        return Err(refuse(code::SIGNATURE_EXPIRED, "SIGNATURE_EXPIRED"));
    }
    if nonce.is_empty() || sig != signature(cfg, method.as_str(), path, ts, nonce) {
        return Err(refuse(code::INVALID_SIGNATURE, "INVALID_SIGNATURE"));
    }
    Ok(())
}

/// Lowercase hex HMAC-SHA256 of `METHOD|UUID|URL_PATH|TIMESTAMP|AUTH_TOKEN|NONCE`.
fn signature(cfg: &SimConfig, method: &str, path: &str, ts: &str, nonce: &str) -> String {
    let msg = format!(
        "{method}|{}|{path}|{ts}|{}|{nonce}",
        cfg.merchant_uuid(),
        cfg.auth_token
    );
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(cfg.hash_key.as_bytes()) else {
        return String::new();
    };
    mac.update(msg.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}
