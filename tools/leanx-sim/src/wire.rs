//! JSON as LeanX writes it: money as exact numbers (from `rust_decimal` text, never a float)
//! and timestamps without a zone.

use chrono::{NaiveDateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::value::RawValue;

/// Now, in UTC without a zone (LeanX's own zone is undocumented).
pub(crate) fn now() -> NaiveDateTime {
    Utc::now().naive_utc()
}

/// An exact JSON number with two decimals (amounts and balances).
pub(crate) fn money(amount: Decimal) -> Box<RawValue> {
    let mut amount = amount;
    amount.rescale(2);
    RawValue::from_string(amount.to_string()).unwrap_or_else(|_| RawValue::NULL.to_owned())
}

/// `2023-12-05T17:43:07.620538`: microseconds, no zone.
pub(crate) fn micros(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
}

/// `2023-12-05T17:43:07`: what `updated_at` looks like.
pub(crate) fn seconds(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%S").to_string()
}

/// A value as raw JSON, so it can sit next to exact money numbers.
pub(crate) fn raw(v: &impl Serialize) -> Box<RawValue> {
    serde_json::value::to_raw_value(v).unwrap_or_else(|_| RawValue::NULL.to_owned())
}
