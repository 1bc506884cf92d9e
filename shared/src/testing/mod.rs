//! In-memory stand-ins for the ports, for fast tests of every use case's branches: a store
//! with the same conditional-write semantics as DynamoDB's (a write lands only on the version
//! and status it was decided from), the recipient verifications, and a LeanX whose answers are
//! scripted in order. The DynamoDB and simulator tests prove the real adapters; these prove the
//! rules.
//!
//! One file per adapter: `store` (payouts) with `batch_store` (its batches), `verifications`,
//! `queue` (the batch item queue), `provider` (LeanX); here, the request bodies and the instant
//! tests start from.

mod batch_store;
mod provider;
mod queue;
mod store;
mod verifications;

use chrono::{DateTime, Utc};

pub use provider::ScriptedProvider;
pub use queue::InMemoryQueue;
pub use store::InMemoryStore;
pub use verifications::InMemoryVerifications;

/// A `POST /payout-batches` body of `count` items `<prefix>-0`, `<prefix>-1`, … of RM 1.00
/// more each (RM 1.00, 2.00, …).
pub fn batch_body(batch_ref: &str, prefix: &str, count: usize) -> Vec<u8> {
    let items: Vec<serde_json::Value> = (0..count)
        .map(|i| {
            serde_json::json!({
                "external_invoice_ref": format!("{prefix}-{i}"), "payout_service_id": 23,
                "amount": format!("{}.00", i + 1), "recipient_name": "John Doe",
                "third_party_account_no": "8011408168", "recipient_reference": "Salary Nov"
            })
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({ "batch_ref": batch_ref, "items": items }))
        .expect("a JSON body")
}

/// A valid `POST /payouts` body for `external_invoice_ref`, RM 13.00 to account 8011408168.
pub fn payout_body(external_invoice_ref: &str) -> Vec<u8> {
    format!(
        r#"{{"external_invoice_ref":"{external_invoice_ref}","payout_service_id":23,"amount":"13.00","recipient_name":"John Doe","third_party_account_no":"8011408168","recipient_reference":"Salary Nov"}}"#
    )
    .into_bytes()
}

/// A fixed instant to start tests from.
pub fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).expect("a valid instant")
}
