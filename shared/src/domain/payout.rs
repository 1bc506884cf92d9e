//! The payout as kept, its statuses and the forward-only transition table, and the
//! transitions that write it (send recovery point, claim take-over and release, status change,
//! rescheduled check). What an event *decides* is in `decision.rs`; repeats of a create in
//! `claim.rs`.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::amount::Amount;
use super::batch::batch_claim_owner;
use super::request::{InvoiceRef, PayoutRequest};

/// API.md's statuses. PENDING → PROCESSING → SUCCEEDED | FAILED, or PENDING → a final state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PayoutStatus {
    Pending,
    Processing,
    Succeeded,
    Failed,
}

impl PayoutStatus {
    pub const ALL: [PayoutStatus; 4] = [
        PayoutStatus::Pending,
        PayoutStatus::Processing,
        PayoutStatus::Succeeded,
        PayoutStatus::Failed,
    ];

    pub fn is_final(self) -> bool {
        matches!(self, PayoutStatus::Succeeded | PayoutStatus::Failed)
    }

    /// The one transition table. Staying put is not a transition.
    pub fn can_move_to(self, next: PayoutStatus) -> bool {
        use PayoutStatus::*;
        matches!(
            (self, next),
            (Pending, Processing)
                | (Pending, Succeeded)
                | (Pending, Failed)
                | (Processing, Succeeded)
                | (Processing, Failed)
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PayoutStatus::Pending => "PENDING",
            PayoutStatus::Processing => "PROCESSING",
            PayoutStatus::Succeeded => "SUCCEEDED",
            PayoutStatus::Failed => "FAILED",
        }
    }
}

impl std::fmt::Display for PayoutStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a payout failed, as clients see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Failure {
    pub code: String,
    pub message: String,
}

/// Failure code for a payout LeanX never received within the grace period (API.md).
pub const NOT_RECEIVED_BY_PROVIDER: &str = "not_received_by_provider";

/// A mark for an operator on a payout whose final status LeanX later contradicted. The
/// status never moves backwards; the payout carries this instead (API.md `attention`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attention {
    /// `contradicted_by_leanx`.
    pub code: String,
    /// What LeanX reported (`SUCCESS`, `FAILED`, …).
    pub reported: String,
    pub at: DateTime<Utc>,
}

/// Attention code for a final payout that LeanX later contradicted.
pub const CONTRADICTED_BY_LEANX: &str = "contradicted_by_leanx";

/// A status change an event decided (`decision.rs`), as [`Payout::apply`] writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub to: PayoutStatus,
    pub invoice_no: Option<String>,
    pub failure: Option<Failure>,
    pub cause: &'static str,
}

/// One kept change of status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub at: DateTime<Utc>,
    pub from: Option<PayoutStatus>,
    pub to: PayoutStatus,
    /// What caused it: `created`, `leanx_accepted`, `leanx_refused`, `callback`, `leanx_status`,
    /// `not_received_by_provider`.
    pub cause: String,
}

/// Whether the one `create-payout-invoice` for this payout may still be sent. The recovery
/// point is written *before* the request leaves, so after any crash we know which side of the
/// send we are on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SendState {
    /// Claimed, never sent: the claim holder (or whoever takes over an expired claim) may send.
    NotStarted,
    /// The send began: it must never happen again; only asking LeanX can settle it.
    Started,
}

/// A payout as the service keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payout {
    pub external_invoice_ref: InvoiceRef,
    pub status: PayoutStatus,
    pub amount: Amount,
    pub payout_service_id: u32,
    pub recipient_name: String,
    pub third_party_account_no: String,
    pub recipient_reference: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoice_no: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The request's fingerprint, for idempotent replays.
    pub fingerprint: String,
    /// Bumped by every write; conditional writes compare it.
    pub version: u64,
    pub send_state: SendState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_started_at: Option<DateTime<Utc>>,
    /// Who holds the in-flight claim, and until when (then another request may take it over).
    pub claim_owner: String,
    pub claim_expires_at: DateTime<Utc>,
    /// When the reconciler should next ask LeanX (only while open).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_check_at: Option<DateTime<Utc>>,
    pub check_attempts: u32,
    pub history: Vec<HistoryEntry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attention: Option<Attention>,
    /// Recognised "not found" answers from LeanX so far, counted at most one per spacing, and
    /// when the first and the last counted one came: the evidence a "not received" verdict
    /// needs (several, spread over at least the grace period).
    #[serde(default)]
    pub not_found_lookups: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_not_found_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_not_found_at: Option<DateTime<Utc>>,
    /// The batch this payout is an item of (`POST /payout-batches`), and its place in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_ref: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_index: Option<u32>,
}

/// When LeanX's "not found" answers are enough to declare a sent payout not received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotReceivedRule {
    /// How long the "not found" answers must span, from the first counted one.
    pub grace_period: Duration,
    /// How many counted "not found" answers are needed.
    pub lookups_required: u32,
    /// Answers closer together than this count once.
    pub lookup_spacing: Duration,
}

impl Payout {
    /// A new claim on a ref: PENDING, not sent, held by `claim_owner` until `claim_ttl` passes.
    pub fn new_pending(
        request: &PayoutRequest,
        claim_owner: String,
        now: DateTime<Utc>,
        claim_ttl: Duration,
    ) -> Payout {
        Payout {
            external_invoice_ref: request.external_invoice_ref.clone(),
            status: PayoutStatus::Pending,
            amount: request.amount,
            payout_service_id: request.payout_service_id,
            recipient_name: request.recipient_name.clone(),
            third_party_account_no: request.third_party_account_no.clone(),
            recipient_reference: request.recipient_reference.clone(),
            invoice_no: None,
            failure: None,
            created_at: now,
            updated_at: now,
            fingerprint: request.fingerprint(),
            version: 1,
            send_state: SendState::NotStarted,
            send_started_at: None,
            claim_owner,
            claim_expires_at: now + claim_ttl,
            // A claim whose holder dies is still found and closed by the reconciler.
            next_check_at: Some(now + claim_ttl),
            check_attempts: 0,
            history: vec![HistoryEntry {
                at: now,
                from: None,
                to: PayoutStatus::Pending,
                cause: "created".into(),
            }],
            attention: None,
            not_found_lookups: 0,
            first_not_found_at: None,
            last_not_found_at: None,
            batch_ref: None,
            batch_index: None,
        }
    }

    /// A batch's item: PENDING, never sent, its claim held by the batch (the queue sends it)
    /// until `queue_ttl` passes. Should the queue lose it, the reconciler closes it then as
    /// never sent (it is checked no earlier).
    pub fn new_batch_item(
        request: &PayoutRequest,
        batch_ref: &str,
        index: u32,
        now: DateTime<Utc>,
        queue_ttl: Duration,
    ) -> Payout {
        let mut item = Payout::new_pending(request, batch_claim_owner(batch_ref), now, queue_ttl);
        item.batch_ref = Some(batch_ref.to_owned());
        item.batch_index = Some(index);
        item
    }

    /// The request this payout was made from (a batch item's, for the recipient policy).
    pub fn as_request(&self) -> PayoutRequest {
        PayoutRequest {
            external_invoice_ref: self.external_invoice_ref.clone(),
            payout_service_id: self.payout_service_id,
            amount: self.amount,
            recipient_name: self.recipient_name.clone(),
            third_party_account_no: self.third_party_account_no.clone(),
            recipient_reference: self.recipient_reference.clone(),
        }
    }

    /// A payout made by `POST /payouts` joins a batch with the same body: it is listed and
    /// counted with the batch's items; its status, claim and send are untouched.
    pub fn joined_batch(&self, batch_ref: &str, index: u32, now: DateTime<Utc>) -> Payout {
        let mut next = self.bumped(now);
        next.batch_ref = Some(batch_ref.to_owned());
        next.batch_index = Some(index);
        next
    }
}

impl Payout {
    /// The recovery point written before the one `create-payout-invoice` leaves. From here on the
    /// payout is never sent again; if this process dies, the reconciler asks LeanX about it.
    pub fn start_send(&self, now: DateTime<Utc>, grace_check: Duration) -> Payout {
        let mut next = self.bumped(now);
        next.send_state = SendState::Started;
        next.send_started_at = Some(now);
        next.next_check_at = Some(now + grace_check);
        next
    }

    /// Another request takes over an expired claim that never sent.
    pub fn take_over(&self, owner: String, now: DateTime<Utc>, claim_ttl: Duration) -> Payout {
        let mut next = self.bumped(now);
        next.claim_owner = owner;
        next.claim_expires_at = now + claim_ttl;
        next.next_check_at = Some(now + claim_ttl);
        next
    }

    /// The send provably never left (no byte reached LeanX): undo the recovery point and free the
    /// claim at once, so that the merchant's retry takes it over and sends, exactly once.
    pub fn release_unsent(&self, now: DateTime<Utc>, grace_period: Duration) -> Payout {
        let mut next = self.bumped(now);
        next.send_state = SendState::NotStarted;
        next.send_started_at = None;
        next.claim_expires_at = now;
        next.next_check_at = Some(now + grace_period);
        next
    }

    /// LeanX answered a recognised "not found" for this payout: counted (once per spacing), and
    /// the next check scheduled no later than when the verdict could fall due.
    pub fn not_found_by_leanx(&self, now: DateTime<Utc>, rule: &NotReceivedRule) -> Payout {
        let mut next = self.rescheduled_check(now, None);
        let counts = self
            .last_not_found_at
            .is_none_or(|last| now - last >= rule.lookup_spacing);
        if counts {
            next.not_found_lookups = self.not_found_lookups.saturating_add(1);
            next.last_not_found_at = Some(now);
            next.first_not_found_at = Some(self.first_not_found_at.unwrap_or(now));
        }
        let first = next.first_not_found_at.unwrap_or(now);
        let deadline = (first + rule.grace_period).max(now + rule.lookup_spacing);
        if next.next_check_at.is_some_and(|at| at > deadline) {
            next.next_check_at = Some(deadline);
        }
        next
    }

    /// Whether the "not found" answers so far are enough to declare this payout not received:
    /// only a PENDING payout whose send started, with enough counted answers spanning the grace
    /// period.
    pub fn not_received_is_due(&self, now: DateTime<Utc>, rule: &NotReceivedRule) -> bool {
        self.status == PayoutStatus::Pending
            && self.send_state == SendState::Started
            && self.not_found_lookups >= rule.lookups_required
            && self
                .first_not_found_at
                .is_some_and(|first| now - first >= rule.grace_period)
    }

    /// A final payout LeanX contradicted: the same status, marked for an operator.
    pub fn contradicted(&self, reported: &str, now: DateTime<Utc>) -> Payout {
        let mut next = self.bumped(now);
        next.attention = Some(Attention {
            code: CONTRADICTED_BY_LEANX.into(),
            reported: reported.into(),
            at: now,
        });
        next
    }

    /// The payout after `change`, with its history entry and its next check (none once final).
    pub fn apply(&self, change: &Change, now: DateTime<Utc>) -> Payout {
        let mut next = self.bumped(now);
        next.history.push(HistoryEntry {
            at: now,
            from: Some(self.status),
            to: change.to,
            cause: change.cause.to_owned(),
        });
        next.status = change.to;
        next.invoice_no = change.invoice_no.clone().or(next.invoice_no);
        if change.failure.is_some() {
            next.failure = change.failure.clone();
        }
        next.check_attempts = 0;
        next.next_check_at = if change.to.is_final() {
            None
        } else {
            Some(now + next_check_delay(0))
        };
        next
    }

    /// Nothing changed at LeanX: ask again later, backing off, but never past `deadline` (when
    /// a PENDING payout's grace period ends), so that a verdict is never late.
    pub fn rescheduled_check(&self, now: DateTime<Utc>, deadline: Option<DateTime<Utc>>) -> Payout {
        let mut next = self.bumped(now);
        next.check_attempts = self.check_attempts.saturating_add(1);
        let backed_off = now + next_check_delay(next.check_attempts);
        next.next_check_at = Some(match deadline {
            Some(deadline) if deadline > now => backed_off.min(deadline),
            _ => backed_off,
        });
        next
    }

    fn bumped(&self, now: DateTime<Utc>) -> Payout {
        let mut next = self.clone();
        next.version = self.version + 1;
        next.updated_at = now;
        next
    }
}

/// Reconciler back-off: the wait before asking LeanX again after `attempts` checks. Starts at
/// 30 s and doubles up to 10 minutes, so a payout awaiting LeanX approval (30–40 min) is asked
/// a handful of times, not hundreds.
pub fn next_check_delay(attempts: u32) -> Duration {
    let seconds = 30i64.saturating_mul(1i64 << attempts.min(5));
    Duration::seconds(seconds.min(600))
}

/// A PENDING payout of RM 13.00 created at a fixed instant, moved to `status`: for unit tests.
#[cfg(test)]
pub(crate) fn sample_payout(status: PayoutStatus) -> Payout {
    let request = PayoutRequest::from_json(
        br#"{"external_invoice_ref":"INV-1","payout_service_id":23,"amount":"13.00",
            "recipient_name":"John","third_party_account_no":"8011408168","recipient_reference":"R"}"#,
    )
    .unwrap();
    let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
    let mut payout = Payout::new_pending(&request, "owner".into(), now, Duration::seconds(30));
    payout.status = status;
    payout
}

#[cfg(test)]
mod tests;
