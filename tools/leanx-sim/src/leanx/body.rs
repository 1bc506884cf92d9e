//! Reading request bodies field by field, as LeanX does: strict JSON types, exact amounts.

use std::collections::BTreeMap;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde_json::value::RawValue;

use super::{Refusal, failed};

/// Decimal(10,2): 99,999,999.99 = 9,999,999,999 hundredths = 2 * 2^32 + 1,410,065,407.
const MAX_AMOUNT: Decimal = Decimal::from_parts(1_410_065_407, 2, 0, false, 2);

/// A JSON object body, each value kept raw.
pub(super) type Fields = BTreeMap<String, Box<RawValue>>;

pub(super) fn fields(body: &[u8]) -> Result<Fields, Refusal> {
    serde_json::from_slice(body).map_err(|_| failed("body must be a JSON object"))
}

/// A present, non-empty JSON string.
pub(super) fn req_str(f: &Fields, key: &str) -> Result<String, Refusal> {
    opt_str(f, key)?
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| failed(format!("{key} is required")))
}

pub(super) fn opt_str(f: &Fields, key: &str) -> Result<Option<String>, Refusal> {
    match f.get(key) {
        None => Ok(None),
        Some(r) if r.get() == "null" => Ok(None),
        Some(r) => serde_json::from_str::<String>(r.get())
            .map(Some)
            .map_err(|_| failed(format!("{key} must be a string"))),
    }
}

/// A JSON integer; a string such as `"1"` is refused, as LeanX does.
pub(super) fn req_int(f: &Fields, key: &str) -> Result<i64, Refusal> {
    let r = f
        .get(key)
        .ok_or_else(|| failed(format!("{key} is required")))?;
    r.get()
        .parse::<i64>()
        .map_err(|_| failed(format!("{key} must be a number")))
}

/// The amount from the raw JSON number text, never through a float.
pub(super) fn req_amount(f: &Fields) -> Result<Decimal, Refusal> {
    let r = f
        .get("amount")
        .ok_or_else(|| failed("amount is required"))?;
    let text = r.get();
    if !text.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
        return Err(failed("amount must be a number"));
    }
    let parsed = if text.contains(['e', 'E']) {
        Decimal::from_scientific(text)
    } else {
        Decimal::from_str(text)
    };
    let amount = parsed.map_err(|_| failed("amount is out of range"))?;
    if amount <= Decimal::ZERO || amount > MAX_AMOUNT {
        return Err(failed("amount must be > 0 and at most 99999999.99"));
    }
    if amount.normalize().scale() > 2 {
        return Err(failed("amount must have at most 2 decimal places"));
    }
    let mut amount = amount;
    amount.rescale(2);
    Ok(amount)
}

/// external_invoice_ref of a create body, for the per-ref counts.
pub(crate) fn external_invoice_ref(body: &[u8]) -> Option<String> {
    opt_str(&fields(body).ok()?, "external_invoice_ref").ok()?
}
