//! `GET /payouts`: its query parameters, the listing order, and the opaque cursor.
//!
//! Payouts are listed newest first by their *listing key*: `created_at` truncated to the
//! millisecond (the precision the index stores), then `external_invoice_ref` (unique). The
//! `created_from` (inclusive) and `created_to` (exclusive) bounds compare at the same precision,
//! so the DynamoDB index and the in-memory store agree to the last item.
//!
//! A cursor is the listing key of the last payout of a page, sealed with HMAC-SHA256 under a key
//! derived from the LeanX Hash Key and bound to the page's filters:
//! `base64url(key) "." base64url(tag)`. A cursor that was altered, made up, or issued for other
//! filters does not verify and is refused naming `cursor`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, DurationRound, SecondsFormat, TimeDelta, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::payout::{Payout, PayoutStatus};
use super::request::{InvoiceRef, ValidationError};

/// API.md: `limit` is 1–100, 50 when absent.
pub const DEFAULT_LIMIT: usize = 50;
pub const MAX_LIMIT: usize = 100;

/// The longest cursor accepted: a listing key is at most 24 + 1 + 64 characters.
const MAX_CURSOR_CHARS: usize = 256;

/// Time as the listing compares it: truncated to the millisecond.
pub fn listed_at(at: DateTime<Utc>) -> DateTime<Utc> {
    at.duration_trunc(TimeDelta::milliseconds(1)).unwrap_or(at)
}

/// A payout's place in the listing order (newest first = descending).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ListPosition {
    pub listed_at: DateTime<Utc>,
    pub external_invoice_ref: InvoiceRef,
}

impl ListPosition {
    pub fn of(payout: &Payout) -> ListPosition {
        ListPosition {
            listed_at: listed_at(payout.created_at),
            external_invoice_ref: payout.external_invoice_ref.clone(),
        }
    }

    /// `2026-11-23T10:15:02.113Z#INV-1`: fixed width, so string order is listing order.
    pub fn to_key(&self) -> String {
        format!(
            "{}#{}",
            self.listed_at.to_rfc3339_opts(SecondsFormat::Millis, true),
            self.external_invoice_ref
        )
    }

    fn from_key(key: &str) -> Option<ListPosition> {
        let (at, reference) = key.split_once('#')?;
        let at = DateTime::parse_from_rfc3339(at).ok()?.with_timezone(&Utc);
        Some(ListPosition {
            listed_at: listed_at(at),
            external_invoice_ref: InvoiceRef::parse(reference).ok()?,
        })
    }
}

/// What a listing is filtered by (and what its cursors are bound to).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListFilter {
    pub status: Option<PayoutStatus>,
    /// Inclusive, at millisecond precision.
    pub created_from: Option<DateTime<Utc>>,
    /// Exclusive, at millisecond precision.
    pub created_to: Option<DateTime<Utc>>,
}

impl ListFilter {
    pub fn admits(&self, payout: &Payout) -> bool {
        let at = listed_at(payout.created_at);
        self.status.is_none_or(|s| s == payout.status)
            && self.created_from.is_none_or(|from| at >= from)
            && self.created_to.is_none_or(|to| at < to)
    }

    /// One line per filter, the form the cursor's tag covers.
    fn canonical(&self) -> String {
        let time = |t: Option<DateTime<Utc>>| {
            t.map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
                .unwrap_or_default()
        };
        format!(
            "status={}\ncreated_from={}\ncreated_to={}",
            self.status.map(PayoutStatus::as_str).unwrap_or_default(),
            time(self.created_from),
            time(self.created_to)
        )
    }
}

/// A valid `GET /payouts` query; the cursor still to be opened (it needs the key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    pub filter: ListFilter,
    pub limit: usize,
    pub cursor: Option<String>,
}

const PARAMETERS: [&str; 5] = ["status", "created_from", "created_to", "limit", "cursor"];

impl ListQuery {
    /// Parses the query's `(name, value)` pairs. Unknown, repeated, empty and malformed
    /// parameters are refused naming the parameter: a misspelt filter silently ignored would
    /// list the wrong payouts.
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<ListQuery, ValidationError> {
        let [status, created_from, created_to, limit, cursor] = named_slots(PARAMETERS, pairs)?;
        let status = status.map(parse_status).transpose()?;
        let created_from = created_from
            .map(|v| parse_time("created_from", v))
            .transpose()?;
        let created_to = created_to
            .map(|v| parse_time("created_to", v))
            .transpose()?;
        if let (Some(from), Some(to)) = (created_from, created_to)
            && to <= from
        {
            return Err(ValidationError::field(
                "created_to",
                "created_to must be later than created_from",
            ));
        }
        let limit = limit.map(parse_limit).transpose()?.unwrap_or(DEFAULT_LIMIT);
        let cursor = cursor.map(checked_cursor);
        Ok(ListQuery {
            filter: ListFilter {
                status,
                created_from,
                created_to,
            },
            limit,
            cursor: cursor.transpose()?,
        })
    }
}

/// The value of each of `names` in `pairs`, in the order of `names`. A parameter not in `names`,
/// or given twice, is refused naming it: a misspelt filter silently ignored would list the
/// wrong items, and of two values neither is more right than the other.
fn named_slots<'a, const N: usize>(
    names: [&str; N],
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<[Option<&'a str>; N], ValidationError> {
    let mut values: [Option<&str>; N] = [None; N];
    for (name, value) in pairs {
        let Some(slot) = names.iter().position(|p| *p == name) else {
            return Err(ValidationError::field(
                name,
                format!("unknown query parameter {name}"),
            ));
        };
        if values[slot].replace(value).is_some() {
            return Err(ValidationError::field(
                name,
                format!("{name} is given more than once"),
            ));
        }
    }
    Ok(values)
}

fn parse_status(value: &str) -> Result<PayoutStatus, ValidationError> {
    PayoutStatus::ALL
        .into_iter()
        .find(|s| s.as_str() == value)
        .ok_or_else(|| {
            ValidationError::field(
                "status",
                "status must be one of PENDING, PROCESSING, SUCCEEDED, FAILED",
            )
        })
}

fn parse_time(name: &str, value: &str) -> Result<DateTime<Utc>, ValidationError> {
    DateTime::parse_from_rfc3339(value)
        .map(|t| listed_at(t.with_timezone(&Utc)))
        .map_err(|_| {
            ValidationError::field(
                name,
                format!("{name} must be an RFC 3339 date-time, e.g. 2026-11-01T00:00:00Z"),
            )
        })
}

fn parse_limit(value: &str) -> Result<usize, ValidationError> {
    // Digits only: `+5`, ` 5` and `5.0` are refused rather than guessed at.
    value
        .bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| value.parse::<usize>().ok())
        .flatten()
        .filter(|n| (1..=MAX_LIMIT).contains(n))
        .ok_or_else(|| ValidationError::field("limit", "limit must be a whole number 1-100"))
}

fn bad_cursor() -> ValidationError {
    ValidationError::field(
        "cursor",
        "cursor is not one this service issued for these filters; start again without it",
    )
}

/// Seals and opens cursors. Derived from a secret (the LeanX Hash Key) so that it is the same in
/// every container, and separate from it so that a cursor never exposes a use of the Hash Key
/// itself.
#[derive(Clone)]
pub struct CursorKey([u8; 32]);

impl std::fmt::Debug for CursorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CursorKey(…)")
    }
}

type HmacSha256 = Hmac<Sha256>;

const CURSOR_KEY_LABEL: &[u8] = b"leanx-payouts/list-payouts-cursor/v1";

impl CursorKey {
    pub fn derive(secret: &[u8]) -> CursorKey {
        let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes a key of any length");
        mac.update(CURSOR_KEY_LABEL);
        CursorKey(mac.finalize().into_bytes().into())
    }

    fn mac(&self, key: &str, context: &str) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("HMAC takes a key of any length");
        mac.update(key.as_bytes());
        mac.update(b"\n");
        mac.update(context.as_bytes());
        mac
    }

    /// `key`, sealed to `context` (the listing and its filters).
    fn seal_key(&self, key: &str, context: &str) -> String {
        let tag = self.mac(key, context).finalize().into_bytes();
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(key.as_bytes()),
            URL_SAFE_NO_PAD.encode(tag)
        )
    }

    /// The key a cursor carries, if this key sealed it to exactly `context`.
    fn open_key(&self, cursor: &str, context: &str) -> Result<String, ValidationError> {
        let (key, tag) = cursor.split_once('.').ok_or_else(bad_cursor)?;
        let key = URL_SAFE_NO_PAD.decode(key).map_err(|_| bad_cursor())?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| bad_cursor())?;
        let key = String::from_utf8(key).map_err(|_| bad_cursor())?;
        // Constant-time comparison, before the key is trusted for anything.
        self.mac(&key, context)
            .verify_slice(&tag)
            .map_err(|_| bad_cursor())?;
        Ok(key)
    }

    /// The cursor for the page after `last`, under `filter`.
    pub fn seal(&self, last: &ListPosition, filter: &ListFilter) -> String {
        self.seal_key(&last.to_key(), &filter.canonical())
    }

    /// The position a cursor resumes after, if this key sealed it under exactly `filter`.
    pub fn open(&self, cursor: &str, filter: &ListFilter) -> Result<ListPosition, ValidationError> {
        let key = self.open_key(cursor, &filter.canonical())?;
        ListPosition::from_key(&key).ok_or_else(bad_cursor)
    }

    /// The cursor for the page of a batch's items after the item at `last_index`.
    pub fn seal_batch_items(
        &self,
        last_index: u32,
        batch_ref: &str,
        query: &BatchItemsQuery,
    ) -> String {
        self.seal_key(&last_index.to_string(), &query.context(batch_ref))
    }

    /// The item index a batch-items cursor resumes after, if this key sealed it for exactly
    /// this batch and filter (a cursor of another batch, or of `GET /payouts`, is refused).
    pub fn open_batch_items(
        &self,
        cursor: &str,
        batch_ref: &str,
        query: &BatchItemsQuery,
    ) -> Result<u32, ValidationError> {
        let key = self.open_key(cursor, &query.context(batch_ref))?;
        key.parse().map_err(|_| bad_cursor())
    }
}

/// A valid `GET /payout-batches/{batch_ref}/items` query (JSON pages; CSV ignores the limit
/// and the cursor and returns the whole batch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchItemsQuery {
    pub status: Option<PayoutStatus>,
    pub limit: usize,
    pub cursor: Option<String>,
}

const ITEM_PARAMETERS: [&str; 3] = ["status", "limit", "cursor"];

impl BatchItemsQuery {
    /// Parses the query's `(name, value)` pairs as `GET /payouts` does (same rules, same
    /// refusals naming the parameter).
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<BatchItemsQuery, ValidationError> {
        let [status, limit, cursor] = named_slots(ITEM_PARAMETERS, pairs)?;
        Ok(BatchItemsQuery {
            status: status.map(parse_status).transpose()?,
            limit: limit.map(parse_limit).transpose()?.unwrap_or(DEFAULT_LIMIT),
            cursor: cursor.map(checked_cursor).transpose()?,
        })
    }

    /// What a cursor is bound to: this listing, its batch and its filter.
    fn context(&self, batch_ref: &str) -> String {
        format!(
            "batch_items\nbatch_ref={batch_ref}\nstatus={}",
            self.status.map(PayoutStatus::as_str).unwrap_or_default()
        )
    }
}

fn checked_cursor(cursor: &str) -> Result<String, ValidationError> {
    if cursor.is_empty() || cursor.len() > MAX_CURSOR_CHARS {
        Err(bad_cursor())
    } else {
        Ok(cursor.to_owned())
    }
}

#[cfg(test)]
mod tests;
