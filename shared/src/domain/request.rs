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
        PayoutRequest::from_fields(RawFields::from_body(body)?)
    }

    /// One item of a `POST /payout-batches` body: the same rules as a `POST /payouts` body
    /// (itself at most 16 KiB), read from the batch's raw JSON.
    pub fn from_batch_item(item: &RawValue) -> Result<PayoutRequest, ValidationError> {
        PayoutRequest::from_fields(RawFields::from_raw(item)?)
    }

    fn from_fields(entries: RawFields) -> Result<PayoutRequest, ValidationError> {
        let fields = entries.slots(FIELDS)?;
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
        let entries = RawFields::from_body(body)?;
        let fields = entries.slots(VERIFICATION_FIELDS)?;
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

pub(crate) fn json_string(field: &str, raw: &RawValue) -> Result<String, ValidationError> {
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
pub(crate) struct RawFields(Vec<(String, Box<RawValue>)>);

impl RawFields {
    /// A request body read as one JSON object of at most 16 KiB.
    pub(crate) fn from_body(body: &[u8]) -> Result<RawFields, ValidationError> {
        if body.len() > MAX_BODY_BYTES {
            return Err(ValidationError::body("body must be at most 16 KiB"));
        }
        RawFields::from_unlimited_body(body)
    }

    /// A request body read as one JSON object, whatever its size (the caller bounds it).
    pub(crate) fn from_unlimited_body(body: &[u8]) -> Result<RawFields, ValidationError> {
        let text = std::str::from_utf8(body)
            .map_err(|_| ValidationError::body("body must be UTF-8 JSON"))?;
        serde_json::from_str(text)
            .map_err(|e| ValidationError::body(format!("body must be a JSON object: {e}")))
    }

    /// A JSON value already read (a batch's item): one object of at most 16 KiB.
    fn from_raw(raw: &RawValue) -> Result<RawFields, ValidationError> {
        if raw.get().len() > MAX_BODY_BYTES {
            return Err(ValidationError::body("an item must be at most 16 KiB"));
        }
        serde_json::from_str(raw.get())
            .map_err(|_| ValidationError::body("an item must be a JSON object"))
    }

    /// The entries in the slots of `names`; an unknown or repeated key is refused by name.
    pub(crate) fn slots<const N: usize>(
        &self,
        names: [&str; N],
    ) -> Result<[Option<&RawValue>; N], ValidationError> {
        let mut fields: [Option<&RawValue>; N] = [None; N];
        for (key, value) in &self.0 {
            let Some(slot) = names.iter().position(|f| f == key) else {
                return Err(ValidationError::field(key, format!("unknown field {key}")));
            };
            if fields[slot].replace(value).is_some() {
                return Err(ValidationError::field(
                    key,
                    format!("{key} is given more than once"),
                ));
            }
        }
        Ok(fields)
    }
}

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
mod tests;
