//! `POST /payouts` body: parsed from raw JSON so that every refusal names its field and no
//! number ever passes through a float.

use std::fmt;

use serde::Deserialize;
use serde::de::{MapAccess, Visitor};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use super::amount::Amount;

/// API.md: the request body is at most 16 KiB.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// A refused field: shown to the client as `{code: invalid_request, message, field}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ValidationError {
    pub field: Option<String>,
    pub message: String,
}

impl ValidationError {
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        ValidationError {
            field: Some(field.to_owned()),
            message: message.into(),
        }
    }
    pub fn body(message: impl Into<String>) -> Self {
        ValidationError {
            field: None,
            message: message.into(),
        }
    }
}

/// The merchant's idempotency key: 1–64 characters of `A-Z a-z 0-9 - _ . :`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct InvoiceRef(String);

impl InvoiceRef {
    pub fn parse(text: &str) -> Result<InvoiceRef, ValidationError> {
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':');
        if text.is_empty() || text.chars().count() > 64 || !text.chars().all(allowed) {
            return Err(ValidationError::field(
                "external_invoice_ref",
                "external_invoice_ref must be 1-64 characters of A-Z a-z 0-9 - _ . :",
            ));
        }
        Ok(InvoiceRef(text.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for InvoiceRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for InvoiceRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        InvoiceRef::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// A valid payout request: everything the merchant decides. The pool and the callback URL
/// come from configuration, never from here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayoutRequest {
    pub external_invoice_ref: InvoiceRef,
    pub payout_service_id: u32,
    pub amount: Amount,
    pub recipient_name: String,
    pub third_party_account_no: String,
    pub recipient_reference: String,
}

const FIELDS: [&str; 6] = [
    "external_invoice_ref",
    "payout_service_id",
    "amount",
    "recipient_name",
    "third_party_account_no",
    "recipient_reference",
];

impl PayoutRequest {
    /// Parses and validates a `POST /payouts` body. Duplicate keys, unknown keys, wrong types
    /// and out-of-bounds values are all refused, each naming the field at fault.
    pub fn from_json(body: &[u8]) -> Result<PayoutRequest, ValidationError> {
        if body.len() > MAX_BODY_BYTES {
            return Err(ValidationError::body("body must be at most 16 KiB"));
        }
        let text = std::str::from_utf8(body)
            .map_err(|_| ValidationError::body("body must be UTF-8 JSON"))?;
        let RawFields(entries) = serde_json::from_str(text)
            .map_err(|e| ValidationError::body(format!("body must be a JSON object: {e}")))?;

        let mut fields: [Option<&RawValue>; 6] = [None; 6];
        for (key, value) in &entries {
            let Some(slot) = FIELDS.iter().position(|f| f == key) else {
                return Err(ValidationError::field(key, format!("unknown field {key}")));
            };
            if fields[slot].replace(value).is_some() {
                return Err(ValidationError::field(
                    key,
                    format!("{key} is given more than once"),
                ));
            }
        }
        let get = |i: usize| -> Result<&RawValue, ValidationError> {
            fields[i].filter(|raw| raw.get() != "null").ok_or_else(|| {
                ValidationError::field(FIELDS[i], format!("{} is required", FIELDS[i]))
            })
        };

        let external_invoice_ref = InvoiceRef::parse(&json_string(FIELDS[0], get(0)?)?)?;
        let payout_service_id = positive_integer(FIELDS[1], get(1)?)?;
        let amount = amount_from_json(get(2)?)?;
        let recipient_name = label(FIELDS[3], get(3)?)?;
        let third_party_account_no = account_number(FIELDS[4], get(4)?)?;
        let recipient_reference = label(FIELDS[5], get(5)?)?;
        Ok(PayoutRequest {
            external_invoice_ref,
            payout_service_id,
            amount,
            recipient_name,
            third_party_account_no,
            recipient_reference,
        })
    }

    /// A stable hash of the canonical request: the same payout asked twice hashes the same,
    /// whatever the JSON's key order, spacing or amount spelling (`13` vs `"13.00"`).
    pub fn fingerprint(&self) -> String {
        let canonical = serde_json::json!([
            "v1",
            self.external_invoice_ref.as_str(),
            self.payout_service_id,
            self.amount.to_client_string(),
            self.recipient_name,
            self.third_party_account_no,
            self.recipient_reference,
        ]);
        hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
    }
}

/// A `POST /recipient-verifications` body: whose account is this, and (optionally) is it this
/// person's? The fields follow `POST /payouts`' rules exactly, each refusal naming its field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerificationRequest {
    pub payout_service_id: u32,
    pub third_party_account_no: String,
    /// The name to match against the holder's; `None` leaves the match `not_checked`.
    pub recipient_name: Option<String>,
}

const VERIFICATION_FIELDS: [&str; 3] = [
    "payout_service_id",
    "third_party_account_no",
    "recipient_name",
];

impl VerificationRequest {
    /// Parses and validates a `POST /recipient-verifications` body, as strictly as
    /// [`PayoutRequest::from_json`]: duplicate keys, unknown keys, wrong types and
    /// out-of-bounds values are refused, each naming the field at fault. A `null`
    /// `recipient_name` is the same as none.
    pub fn from_json(body: &[u8]) -> Result<VerificationRequest, ValidationError> {
        if body.len() > MAX_BODY_BYTES {
            return Err(ValidationError::body("body must be at most 16 KiB"));
        }
        let text = std::str::from_utf8(body)
            .map_err(|_| ValidationError::body("body must be UTF-8 JSON"))?;
        let RawFields(entries) = serde_json::from_str(text)
            .map_err(|e| ValidationError::body(format!("body must be a JSON object: {e}")))?;
        let mut fields: [Option<&RawValue>; 3] = [None; 3];
        for (key, value) in &entries {
            let Some(slot) = VERIFICATION_FIELDS.iter().position(|f| f == key) else {
                return Err(ValidationError::field(key, format!("unknown field {key}")));
            };
            if fields[slot].replace(value).is_some() {
                return Err(ValidationError::field(
                    key,
                    format!("{key} is given more than once"),
                ));
            }
        }
        let present = |i: usize| fields[i].filter(|raw| raw.get() != "null");
        let get = |i: usize| -> Result<&RawValue, ValidationError> {
            present(i).ok_or_else(|| {
                ValidationError::field(
                    VERIFICATION_FIELDS[i],
                    format!("{} is required", VERIFICATION_FIELDS[i]),
                )
            })
        };
        let payout_service_id = positive_integer(VERIFICATION_FIELDS[0], get(0)?)?;
        let third_party_account_no = account_number(VERIFICATION_FIELDS[1], get(1)?)?;
        let recipient_name = present(2)
            .map(|raw| label(VERIFICATION_FIELDS[2], raw))
            .transpose()?;
        Ok(VerificationRequest {
            payout_service_id,
            third_party_account_no,
            recipient_name,
        })
    }
}

/// A recipient account number: 5-34 digits, as a JSON string.
fn account_number(field: &str, raw: &RawValue) -> Result<String, ValidationError> {
    let account = json_string(field, raw)?;
    if !(5..=34).contains(&account.len()) || !account.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ValidationError::field(
            field,
            format!("{field} must be 5-34 digits"),
        ));
    }
    Ok(account)
}

/// Reads an amount given as a JSON string (`"13.00"`) or a JSON number (`13.00`), from its raw
/// text so that the digits are exactly those the client wrote.
pub fn amount_from_json(raw: &RawValue) -> Result<Amount, ValidationError> {
    let text = raw.get();
    let digits = if text.starts_with('"') {
        serde_json::from_str::<String>(text)
            .map_err(|_| ValidationError::field("amount", "amount must be a string or a number"))?
    } else if text.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
        text.to_owned()
    } else {
        return Err(ValidationError::field(
            "amount",
            "amount must be a string or a number",
        ));
    };
    Amount::parse(&digits).map_err(|e| ValidationError::field("amount", e.to_string()))
}

fn json_string(field: &str, raw: &RawValue) -> Result<String, ValidationError> {
    serde_json::from_str::<String>(raw.get())
        .map_err(|_| ValidationError::field(field, format!("{field} must be a string")))
}

fn positive_integer(field: &str, raw: &RawValue) -> Result<u32, ValidationError> {
    let text = raw.get();
    let refuse = || ValidationError::field(field, format!("{field} must be a positive integer"));
    if text.is_empty() || text.len() > 10 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(refuse());
    }
    match text.parse::<u32>() {
        Ok(n) if n > 0 && !text.starts_with('0') => Ok(n),
        _ => Err(refuse()),
    }
}

/// A free-text label (name, reference): trimmed, 1–128 characters, no control characters.
fn label(field: &str, raw: &RawValue) -> Result<String, ValidationError> {
    label_text(field, &json_string(field, raw)?)
}

/// The rules of a free-text label (`recipient_name`, `recipient_reference`), for every route
/// that takes one: trimmed, 1–128 characters, no control characters, and none of the
/// characters that [`is_deceptive_char`] names. Refusals name `field`.
pub fn label_text(field: &str, text: &str) -> Result<String, ValidationError> {
    // Checked before trimming: U+2028/U+2029 count as white space and would be trimmed away
    // silently, and a client that sends one is sending something it did not mean to show.
    if text.chars().any(is_deceptive_char) {
        return Err(ValidationError::field(
            field,
            format!(
                "{field} must not contain direction overrides, invisible characters or line separators"
            ),
        ));
    }
    let trimmed = text.trim();
    if trimmed.is_empty() || trimmed.chars().count() > 128 {
        return Err(ValidationError::field(
            field,
            format!("{field} must be 1-128 characters"),
        ));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(ValidationError::field(
            field,
            format!("{field} must not contain control characters"),
        ));
    }
    Ok(trimmed.to_owned())
}

/// Characters that change how a label *looks* on the recipient's bank statement without being
/// seen (issue 11 item 15): bidirectional embeddings, overrides, isolates and marks can reorder
/// "Refund 0451" on screen; zero-width characters make two different names look alike; line and
/// paragraph separators break the statement line. None belongs in a name or a reference.
pub fn is_deceptive_char(c: char) -> bool {
    matches!(c,
        '\u{202A}'..='\u{202E}' // LRE, RLE, PDF, LRO, RLO
        | '\u{2066}'..='\u{2069}' // LRI, RLI, FSI, PDI
        | '\u{200E}' | '\u{200F}' | '\u{061C}' // LRM, RLM, ALM
        | '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}' // ZWSP, ZWNJ, ZWJ, WJ, BOM
        | '\u{2028}' | '\u{2029}' // line and paragraph separators
    )
}

/// A JSON object's entries in order, duplicates kept, values as raw text: a derived struct or a
/// map would silently keep one of two duplicate keys, and `Value` would turn numbers into floats.
struct RawFields(Vec<(String, Box<RawValue>)>);

impl<'de> Deserialize<'de> for RawFields {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct EntriesVisitor;
        impl<'de> Visitor<'de> for EntriesVisitor {
            type Value = RawFields;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawFields, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry::<String, Box<RawValue>>()? {
                    if entries.len() >= 64 {
                        return Err(serde::de::Error::custom("too many fields"));
                    }
                    entries.push(entry);
                }
                Ok(RawFields(entries))
            }
        }
        d.deserialize_map(EntriesVisitor)
    }
}

#[cfg(test)]
mod tests {
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
            '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}',
            '\u{202E}', // embeddings, overrides
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
}
