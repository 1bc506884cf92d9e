use super::*;
use serde_json::{Value, json};

fn valid() -> Value {
    json!({
        "external_invoice_ref": "INV-2026-0001",
        "payout_service_id": 23,
        "amount": "13.00",
        "recipient_name": "John Doe",
        "third_party_account_no": "8011408168",
        "recipient_reference": "Salary Nov"
    })
}

fn with(field: &str, value: Value) -> Vec<u8> {
    let mut body = valid();
    body[field] = value;
    serde_json::to_vec(&body).unwrap()
}

fn without(field: &str) -> Vec<u8> {
    let mut body = valid();
    body.as_object_mut().unwrap().remove(field);
    serde_json::to_vec(&body).unwrap()
}

#[test]
fn accepts_the_api_md_example() {
    let request = PayoutRequest::from_json(&serde_json::to_vec(&valid()).unwrap()).unwrap();
    assert_eq!(request.external_invoice_ref.as_str(), "INV-2026-0001");
    assert_eq!(request.payout_service_id, 23);
    assert_eq!(request.amount.to_client_string(), "13.00");
    assert_eq!(request.recipient_reference, "Salary Nov");
}

#[test]
fn accepts_amount_as_exact_json_number() {
    let body = br#"{"external_invoice_ref":"A:1","payout_service_id":1,"amount":99999999.99,
        "recipient_name":"A","third_party_account_no":"12345","recipient_reference":"R"}"#;
    let request = PayoutRequest::from_json(body).unwrap();
    assert_eq!(request.amount.to_client_string(), "99999999.99");
}

#[test]
fn trims_labels() {
    let request = PayoutRequest::from_json(&with("recipient_name", json!("  Siti  "))).unwrap();
    assert_eq!(request.recipient_name, "Siti");
}

#[test]
fn refuses_every_bad_request_naming_its_field() {
    let long = "x".repeat(129);
    let cases: Vec<(Vec<u8>, Option<&str>)> = vec![
        (
            without("external_invoice_ref"),
            Some("external_invoice_ref"),
        ),
        (
            with("external_invoice_ref", json!("")),
            Some("external_invoice_ref"),
        ),
        (
            with("external_invoice_ref", json!("a".repeat(65))),
            Some("external_invoice_ref"),
        ),
        (
            with("external_invoice_ref", json!("INV 1")),
            Some("external_invoice_ref"),
        ),
        (
            with("external_invoice_ref", json!("../etc/passwd")),
            Some("external_invoice_ref"),
        ),
        (
            with("external_invoice_ref", json!("INV\u{2010}1")),
            Some("external_invoice_ref"),
        ),
        (
            with("external_invoice_ref", json!(12)),
            Some("external_invoice_ref"),
        ),
        (
            with("payout_service_id", json!("23")),
            Some("payout_service_id"),
        ),
        (
            with("payout_service_id", json!(0)),
            Some("payout_service_id"),
        ),
        (
            with("payout_service_id", json!(-1)),
            Some("payout_service_id"),
        ),
        (
            with("payout_service_id", json!(1.5)),
            Some("payout_service_id"),
        ),
        (
            with("payout_service_id", json!(99999999999u64)),
            Some("payout_service_id"),
        ),
        (
            with("payout_service_id", Value::Null),
            Some("payout_service_id"),
        ),
        (without("amount"), Some("amount")),
        (with("amount", json!("13.005")), Some("amount")),
        (with("amount", json!("0")), Some("amount")),
        (with("amount", json!("-5.00")), Some("amount")),
        (with("amount", json!("1e2")), Some("amount")),
        (with("amount", json!("NaN")), Some("amount")),
        (with("amount", json!("100000000.00")), Some("amount")),
        (with("amount", json!(true)), Some("amount")),
        (with("amount", json!({"value": 1})), Some("amount")),
        (with("amount", json!([13])), Some("amount")),
        (with("recipient_name", json!("")), Some("recipient_name")),
        (with("recipient_name", json!("   ")), Some("recipient_name")),
        (with("recipient_name", json!(long)), Some("recipient_name")),
        (
            with("recipient_name", json!("John\u{0007}Doe")),
            Some("recipient_name"),
        ),
        (
            with("recipient_reference", json!("a\nb")),
            Some("recipient_reference"),
        ),
        (without("recipient_reference"), Some("recipient_reference")),
        (
            with("third_party_account_no", json!("1234")),
            Some("third_party_account_no"),
        ),
        (
            with("third_party_account_no", json!("1".repeat(35))),
            Some("third_party_account_no"),
        ),
        (
            with("third_party_account_no", json!("80114-08168")),
            Some("third_party_account_no"),
        ),
        (
            with("third_party_account_no", json!(8011408168u64)),
            Some("third_party_account_no"),
        ),
        (
            with("callback_url", json!("https://evil.example")),
            Some("callback_url"),
        ),
        (
            br#"{"amount":"1.00","amount":"2.00"}"#.to_vec(),
            Some("amount"),
        ),
        (b"not json".to_vec(), None),
        (b"[1,2]".to_vec(), None),
        (b"".to_vec(), None),
        (vec![0xff, 0xfe, b'{', b'}'], None),
        (vec![b' '; MAX_BODY_BYTES + 1], None),
    ];
    assert!(cases.len() >= 25);
    for (body, field) in cases {
        let error = PayoutRequest::from_json(&body)
            .expect_err(&format!("accepted {}", String::from_utf8_lossy(&body)));
        assert_eq!(
            error.field.as_deref(),
            field,
            "{}: {error}",
            String::from_utf8_lossy(&body)
        );
        assert!(!error.message.is_empty());
    }
}

/// Issue 11 item 15: labels end up on the recipient's bank statement, where a direction
/// override can make "Refund 0451" read as something else and an invisible character can make
/// two different names look alike.
#[test]
fn refuses_direction_invisible_and_separator_characters_in_labels_naming_the_field() {
    let characters = [
        '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', // embeddings, overrides
        '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}', // isolates
        '\u{200E}', '\u{200F}', '\u{061C}', // direction marks
        '\u{200B}', '\u{200C}', '\u{200D}', '\u{2060}', '\u{FEFF}', // zero-width
        '\u{2028}', '\u{2029}', // line and paragraph separators
    ];
    let mut wrong = Vec::new();
    let mut rows = 0;
    for field in ["recipient_name", "recipient_reference"] {
        for c in characters {
            for text in [format!("Ali{c}Baba"), format!("{c}Ali"), format!("Ali{c}")] {
                rows += 1;
                match PayoutRequest::from_json(&with(field, json!(text))) {
                    Err(error) if error.field.as_deref() == Some(field) => {}
                    other => wrong.push(format!("{field} U+{:04X}: {other:?}", c as u32)),
                }
            }
        }
    }
    assert_eq!(rows, 114);
    assert!(
        wrong.is_empty(),
        "{} of {rows} rows:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[test]
fn keeps_names_in_other_scripts_and_with_apostrophes() {
    for name in [
        "Dato' Siti Nurhaliza",
        "陈亚九",
        "முருகன் a/l ராமன்",
        "محمد علي",
        "José Ñúñez",
    ] {
        let request = PayoutRequest::from_json(&with("recipient_name", json!(name))).unwrap();
        assert_eq!(request.recipient_name, name);
    }
}

#[test]
fn refuses_deeply_nested_json_without_overflowing() {
    let body = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    assert!(PayoutRequest::from_json(body.as_bytes()).is_err());
    let body = format!(
        r#"{{"amount":{}1{}}}"#,
        "[".repeat(5_000),
        "]".repeat(5_000)
    );
    assert!(PayoutRequest::from_json(body.as_bytes()).is_err());
}

#[test]
fn fingerprint_ignores_key_order_spacing_and_amount_spelling() {
    let a = PayoutRequest::from_json(&serde_json::to_vec(&valid()).unwrap()).unwrap();
    let b = PayoutRequest::from_json(
        br#"{ "recipient_reference":"Salary Nov","amount":13,"recipient_name":" John Doe",
             "third_party_account_no":"8011408168","payout_service_id":23,
             "external_invoice_ref":"INV-2026-0001" }"#,
    )
    .unwrap();
    assert_eq!(a.fingerprint(), b.fingerprint());
    assert_eq!(a.fingerprint().len(), 64);
}

#[test]
fn fingerprint_changes_with_any_field() {
    let base = PayoutRequest::from_json(&serde_json::to_vec(&valid()).unwrap()).unwrap();
    for (field, value) in [
        ("amount", json!("13.01")),
        ("payout_service_id", json!(24)),
        ("recipient_name", json!("Jane Doe")),
        ("third_party_account_no", json!("8011408169")),
        ("recipient_reference", json!("Salary Dec")),
    ] {
        let other = PayoutRequest::from_json(&with(field, value)).unwrap();
        assert_ne!(base.fingerprint(), other.fingerprint(), "{field}");
    }
}

fn verification(body: Value) -> Result<VerificationRequest, ValidationError> {
    VerificationRequest::from_json(&serde_json::to_vec(&body).unwrap())
}

#[test]
fn verification_accepts_the_api_md_example_with_and_without_a_name() {
    let asked = verification(json!({"payout_service_id": 23,
        "third_party_account_no": "8011408168", "recipient_name": " John Doe "}))
    .unwrap();
    assert_eq!(
        asked,
        VerificationRequest {
            payout_service_id: 23,
            third_party_account_no: "8011408168".into(),
            recipient_name: Some("John Doe".into()),
        }
    );
    let unnamed =
        verification(json!({"payout_service_id": 23, "third_party_account_no": "8011408168"}))
            .unwrap();
    assert_eq!(unnamed.recipient_name, None);
    let null_name = verification(json!({"payout_service_id": 23,
        "third_party_account_no": "8011408168", "recipient_name": null}))
    .unwrap();
    assert_eq!(null_name.recipient_name, None);
}

#[test]
fn verification_refuses_every_bad_request_naming_its_field() {
    let cases: Vec<(Value, Option<&str>)> = vec![
        (
            json!({"third_party_account_no": "8011408168"}),
            Some("payout_service_id"),
        ),
        (
            json!({"payout_service_id": 0, "third_party_account_no": "8011408168"}),
            Some("payout_service_id"),
        ),
        (
            json!({"payout_service_id": "23", "third_party_account_no": "8011408168"}),
            Some("payout_service_id"),
        ),
        (
            json!({"payout_service_id": 23}),
            Some("third_party_account_no"),
        ),
        (
            json!({"payout_service_id": 23, "third_party_account_no": "1234"}),
            Some("third_party_account_no"),
        ),
        (
            json!({"payout_service_id": 23, "third_party_account_no": "80114O8168"}),
            Some("third_party_account_no"),
        ),
        (
            json!({"payout_service_id": 23, "third_party_account_no": 8011408168u64}),
            Some("third_party_account_no"),
        ),
        (
            json!({"payout_service_id": 23, "third_party_account_no": "8011408168", "recipient_name": ""}),
            Some("recipient_name"),
        ),
        (
            json!({"payout_service_id": 23, "third_party_account_no": "8011408168", "recipient_name": "x".repeat(129)}),
            Some("recipient_name"),
        ),
        (
            json!({"payout_service_id": 23, "third_party_account_no": "8011408168", "recipient_name": "John\u{202E}Doe"}),
            Some("recipient_name"),
        ),
        (
            json!({"payout_service_id": 23, "third_party_account_no": "8011408168", "amount": "1.00"}),
            Some("amount"),
        ),
        (json!([1, 2]), None),
    ];
    for (body, field) in cases {
        let error = verification(body.clone()).expect_err(&body.to_string());
        assert_eq!(error.field.as_deref(), field, "{body}");
    }
    let duplicate =
        br#"{"payout_service_id":23,"payout_service_id":24,"third_party_account_no":"8011408168"}"#;
    let error = VerificationRequest::from_json(duplicate).unwrap_err();
    assert_eq!(error.field.as_deref(), Some("payout_service_id"));
    let big = vec![b' '; MAX_BODY_BYTES + 1];
    assert!(VerificationRequest::from_json(&big).is_err());
}
