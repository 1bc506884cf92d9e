//! LeanX callbacks: `verify_callback` never panics; a token not signed with the Hash Key is
//! never accepted; and for claims signed with the right key (the fuzzer's bytes as the JWT
//! payload), whatever is accepted has a usable invoice number and, if it carries an amount
//! the service uses, that amount re-validates.
#![no_main]

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use leanx_payouts::domain::Amount;
use leanx_payouts::leanx::{Secret, verify_callback};
use libfuzzer_sys::fuzz_target;

const KEY: &str = "fuzz-hash-key";

fuzz_target!(|data: &[u8]| {
    let key = Secret::new(KEY);
    // Raw bodies: nothing the fuzzer writes is signed with KEY, so nothing may pass.
    assert!(
        verify_callback(data, &key).is_err(),
        "accepted an unsigned body: {:?}",
        String::from_utf8_lossy(data)
    );
    // The fuzzer's bytes as claims, correctly signed: the decoder must cope with any claims.
    let Ok(claims) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let Ok(token) = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(KEY.as_bytes()),
    ) else {
        return;
    };
    let body = serde_json::json!({ "data": token }).to_string();
    if let Ok(output) = verify_callback(body.as_bytes(), &key) {
        if let Some(amount) = output.amount() {
            assert_eq!(Amount::parse(&amount.to_client_string()).unwrap(), amount);
        }
        let _ = output.external_invoice_ref();
        let _ = output.is_success();
    }
    // The same claims under another key are refused.
    let Ok(forged) = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(b"another-key"),
    ) else {
        return;
    };
    let forged = serde_json::json!({ "data": forged }).to_string();
    assert!(
        verify_callback(forged.as_bytes(), &key).is_err(),
        "accepted a forged token"
    );
});
