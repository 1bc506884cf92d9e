//! `POST /payouts` bodies: `PayoutRequest::from_json` never panics, and whatever it accepts
//! satisfies every bound of API.md when checked again from the parsed value.
#![no_main]

use leanx_payouts::domain::{Amount, InvoiceRef, MAX_BODY_BYTES, PayoutRequest};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(request) = PayoutRequest::from_json(data) else {
        return;
    };
    assert!(data.len() <= MAX_BODY_BYTES);
    assert!(
        std::str::from_utf8(data).is_ok(),
        "accepted a body that is not UTF-8"
    );
    // The ref re-validates and keeps to its alphabet.
    let external_ref = request.external_invoice_ref.as_str();
    assert_eq!(
        InvoiceRef::parse(external_ref).unwrap().as_str(),
        external_ref
    );
    assert!((1..=64).contains(&external_ref.len()));
    assert!(
        external_ref
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b)),
        "ref outside the alphabet: {external_ref:?}"
    );
    // The amount re-validates from its own text: > 0, exactly 2 decimals, within the maximum.
    let text = request.amount.to_client_string();
    assert_eq!(Amount::parse(&text).unwrap(), request.amount);
    let (_, decimals) = text.split_once('.').expect("two decimals");
    assert_eq!(decimals.len(), 2, "{text}");
    assert!(request.payout_service_id > 0);
    let account = &request.third_party_account_no;
    assert!((5..=34).contains(&account.len()) && account.bytes().all(|b| b.is_ascii_digit()));
    for label in [&request.recipient_name, &request.recipient_reference] {
        let chars = label.chars().count();
        assert!((1..=128).contains(&chars), "label length {chars}");
        assert_eq!(label.trim(), label.as_str(), "label not trimmed");
        assert!(
            !label.chars().any(char::is_control),
            "control character in {label:?}"
        );
    }
    // Same body, same fingerprint: the idempotency key is deterministic.
    let again = PayoutRequest::from_json(data).unwrap();
    assert_eq!(again.fingerprint(), request.fingerprint());
});
