//! The merchant's events (API.md "Events"), derived from a payout's change: pure, no I/O.
//!
//! The table's stream hands over each write as its old and new image. Every status change adds
//! one history entry in the same write ([`crate::domain::Payout::apply`]), so the events of a
//! write are exactly its new history entries; bookkeeping writes (send recovery point, claim,
//! rescheduled check) add none and so produce none. An event's id is derived from the payout's
//! ref, the version the write produced and the entry's place in the history: a re-delivered
//! stream record yields the same ids, never a second event.
//!
//! [`signing`] signs a delivery as Standard Webhooks specifies.

pub mod signing;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::api::PayoutView;
use crate::domain::{Payout, PayoutStatus};

/// The `source` of every event put on the bus.
pub const EVENT_SOURCE: &str = "leanx-payouts";

/// `payout.pending` … `payout.failed`: the status an entry moved the payout to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum EventType {
    #[serde(rename = "payout.pending")]
    Pending,
    #[serde(rename = "payout.processing")]
    Processing,
    #[serde(rename = "payout.succeeded")]
    Succeeded,
    #[serde(rename = "payout.failed")]
    Failed,
}

impl EventType {
    pub fn of(status: PayoutStatus) -> EventType {
        match status {
            PayoutStatus::Pending => EventType::Pending,
            PayoutStatus::Processing => EventType::Processing,
            PayoutStatus::Succeeded => EventType::Succeeded,
            PayoutStatus::Failed => EventType::Failed,
        }
    }

    /// The name merchants see (and EventBridge's detail-type).
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Pending => "payout.pending",
            EventType::Processing => "payout.processing",
            EventType::Succeeded => "payout.succeeded",
            EventType::Failed => "payout.failed",
        }
    }
}

/// The payout resource after the change, plus its version (receivers order by it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventData {
    #[serde(flatten)]
    pub payout: PayoutView,
    pub version: u64,
}

/// One status change as the merchant is told it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: EventType,
    pub created_at: String,
    pub data: EventData,
}

impl Event {
    pub fn to_json(&self) -> String {
        // Serialising plain strings and numbers cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// `evt_` + the first 24 hex digits of SHA-256(`ref|version|entry`): the same write always gives
/// the same id; two status changes never share one.
pub fn event_id(external_invoice_ref: &str, version: u64, history_index: usize) -> String {
    let digest = Sha256::digest(format!("{external_invoice_ref}|{version}|{history_index}"));
    let hex = hex::encode(digest);
    format!("evt_{}", &hex[..24])
}

/// The events of one write: one per history entry the new image has and the old one had not.
/// A deletion (no new image) tells the merchant nothing.
pub fn events_of_change(old: Option<&Payout>, new: Option<&Payout>) -> Vec<Event> {
    let Some(new) = new else {
        return Vec::new();
    };
    let known = old.map_or(0, |o| o.history.len());
    let view = PayoutView::from(new);
    new.history
        .iter()
        .enumerate()
        .skip(known)
        .map(|(index, entry)| Event {
            id: event_id(new.external_invoice_ref.as_str(), new.version, index),
            event_type: EventType::of(entry.to),
            created_at: entry
                .at
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            data: EventData {
                payout: view.clone(),
                version: new.version,
            },
        })
        .collect()
}

#[cfg(test)]
mod tests;
