//! Amounts: `Amount::parse` (text) and `amount_from_json` (a JSON string or number) never panic,
//! and an accepted amount is > 0, at most 99,999,999.99, has at most 2 decimals as written, and
//! re-validates from its own two-decimal text to the same value (no rounding anywhere).
#![no_main]

use leanx_payouts::domain::Amount;
use leanx_payouts::domain::request::amount_from_json;
use libfuzzer_sys::fuzz_target;

fn check(written: &str, amount: Amount) {
    let text = amount.to_client_string();
    let (integer, decimals) = text.split_once('.').expect("two decimals");
    assert_eq!(decimals.len(), 2, "{text}");
    assert!(
        !integer.starts_with('-') && text != "0.00",
        "not positive: {text}"
    );
    assert!(integer.len() <= 8, "too large: {text}");
    assert_eq!(
        Amount::parse(&text).unwrap(),
        amount,
        "{text} does not re-validate"
    );
    // The digits written are the value kept: no exponent, at most 2 decimals, not rounded.
    let digits = written.trim_matches('"');
    assert!(!digits.contains(['e', 'E']), "exponent accepted: {written}");
    if let Some((_, fraction)) = digits.split_once('.') {
        assert!(
            fraction.len() <= 2,
            "more than 2 decimals accepted: {written}"
        );
    }
    assert_eq!(
        Amount::parse(digits).ok(),
        Some(amount),
        "{written} read as {text}"
    );
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(amount) = Amount::parse(text) {
        check(text, amount);
    }
    if let Ok(raw) = serde_json::from_str::<Box<serde_json::value::RawValue>>(text)
        && let Ok(amount) = amount_from_json(&raw)
    {
        let written = if raw.get().starts_with('"') {
            serde_json::from_str::<String>(raw.get()).unwrap()
        } else {
            raw.get().to_owned()
        };
        check(&written, amount);
    }
});
