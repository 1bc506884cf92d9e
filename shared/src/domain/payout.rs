//! The payout and its forward-only state machine: every rule of the money flow's states.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::amount::Amount;
use super::request::{InvoiceRef, PayoutRequest};

/// API.md's statuses. PENDING → PROCESSING → SUCCEEDED | FAILED, or PENDING → a final state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub code: String,
    pub message: String,
}

/// Failure code for a payout LeanX never received within the grace period (API.md).
pub const NOT_RECEIVED_BY_PROVIDER: &str = "not_received_by_provider";

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
        }
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
    pub fn checked(&self, now: DateTime<Utc>, deadline: Option<DateTime<Utc>>) -> Payout {
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

/// What a repeated `POST /payouts` for an existing ref amounts to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExistingClaim {
    /// Another body under the same ref: 409 `idempotency_conflict`.
    Conflict,
    /// The first request is still working on it: 409 `request_in_progress`.
    InProgress { retry_after_seconds: u64 },
    /// Its holder vanished before sending: this request may take the claim over and send.
    TakeOver,
    /// Settled, sent, or unknowable by retrying: answer with the stored payout.
    Replay,
}

/// Decides how to answer a repeat of a request whose ref is already claimed.
pub fn classify_existing(
    existing: &Payout,
    fingerprint: &str,
    now: DateTime<Utc>,
) -> ExistingClaim {
    if existing.fingerprint != fingerprint {
        return ExistingClaim::Conflict;
    }
    let open_claim = existing.status == PayoutStatus::Pending && existing.claim_expires_at > now;
    if open_claim {
        let wait = (existing.claim_expires_at - now).num_seconds().clamp(1, 30) as u64;
        return ExistingClaim::InProgress {
            retry_after_seconds: wait,
        };
    }
    if existing.status == PayoutStatus::Pending && existing.send_state == SendState::NotStarted {
        return ExistingClaim::TakeOver;
    }
    ExistingClaim::Replay
}

/// The status LeanX reports in `transaction_status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeanxTransactionStatus {
    Success,
    Failed {
        detail: Option<String>,
    },
    Pending,
    PendingApproval,
    /// A value LeanX's docs do not list: treated as not final, and logged.
    Other(String),
}

impl LeanxTransactionStatus {
    pub fn parse(text: &str, detail: Option<String>) -> LeanxTransactionStatus {
        match text {
            "SUCCESS" => LeanxTransactionStatus::Success,
            "FAILED" => LeanxTransactionStatus::Failed { detail },
            "PENDING" => LeanxTransactionStatus::Pending,
            "STATUS_PENDING_APPROVAL" => LeanxTransactionStatus::PendingApproval,
            other => LeanxTransactionStatus::Other(other.to_owned()),
        }
    }
}

/// Something that happened to a payout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayoutEvent {
    /// `create-payout-invoice` answered 2000 with this invoice number.
    LeanxAccepted { invoice_no: String },
    /// `create-payout-invoice` answered a refusal: nothing was created at LeanX.
    LeanxRefused {
        response_code: String,
        description: String,
    },
    /// `get-payout-transaction-by-id` told us where LeanX stands.
    LeanxReported {
        status: LeanxTransactionStatus,
        invoice_no: Option<String>,
    },
    /// A verified success callback.
    CallbackSucceeded { invoice_no: String },
    /// LeanX still does not know a payout whose send may have happened, after the grace period;
    /// or a claim that never sent expired and was abandoned.
    NotReceivedByProvider,
}

/// The change an event makes, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Move(Change),
    /// Already there (duplicate callback, PENDING reported for a PROCESSING payout, …).
    NoChange,
    /// The event contradicts a final state: nothing changes, and an operator must look.
    Contradiction {
        stored: PayoutStatus,
        reported: &'static str,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub to: PayoutStatus,
    pub invoice_no: Option<String>,
    pub failure: Option<Failure>,
    pub cause: &'static str,
}

/// The transition function: what `event` does to a payout in `current`, as pure logic.
/// Storage then applies the change only if the payout is still as it was read.
pub fn decide(current: &Payout, event: &PayoutEvent) -> Decision {
    use PayoutStatus::*;
    let (to, invoice_no, failure, cause, reported) = match event {
        PayoutEvent::LeanxAccepted { invoice_no } => {
            (Processing, Some(invoice_no.clone()), None, "leanx_accepted", "ACCEPTED")
        }
        PayoutEvent::LeanxRefused { response_code, description } => (
            Failed,
            None,
            Some(Failure {
                code: format!("leanx_{response_code}"),
                message: format!("LeanX refused the payout: {description}"),
            }),
            "leanx_refused",
            "REFUSED",
        ),
        PayoutEvent::CallbackSucceeded { invoice_no } => {
            (Succeeded, Some(invoice_no.clone()), None, "callback", "SUCCESS")
        }
        PayoutEvent::LeanxReported { status, invoice_no } => match status {
            LeanxTransactionStatus::Success => {
                (Succeeded, invoice_no.clone(), None, "leanx_status", "SUCCESS")
            }
            LeanxTransactionStatus::Failed { detail } => (
                Failed,
                invoice_no.clone(),
                Some(Failure {
                    code: "leanx_failed".into(),
                    message: detail.clone().unwrap_or_else(|| "LeanX reported the payout FAILED".into()),
                }),
                "leanx_status",
                "FAILED",
            ),
            // LeanX holds it but has not settled: a PENDING payout is now known to be there.
            LeanxTransactionStatus::Pending
            | LeanxTransactionStatus::PendingApproval
            | LeanxTransactionStatus::Other(_) => {
                (Processing, invoice_no.clone(), None, "leanx_status", "OPEN")
            }
        },
        PayoutEvent::NotReceivedByProvider => (
            Failed,
            None,
            Some(Failure {
                code: NOT_RECEIVED_BY_PROVIDER.into(),
                message: "LeanX never received this payout; no money moved. It may be paid again under a new reference.".into(),
            }),
            NOT_RECEIVED_BY_PROVIDER,
            "NOT_RECEIVED",
        ),
    };
    if current.status == to {
        return Decision::NoChange;
    }
    if current.status.can_move_to(to) {
        return Decision::Move(Change {
            to,
            invoice_no: invoice_no.or_else(|| current.invoice_no.clone()),
            failure,
            cause,
        });
    }
    // Only an opposite outcome contradicts a final payout. Non-final news about a settled one is
    // merely late: the success callback often overtakes the create's own "accepted" write.
    if current.status.is_final() && to.is_final() {
        return Decision::Contradiction {
            stored: current.status,
            reported,
        };
    }
    // Late news, or an open payout told it is still open (PROCESSING told "pending").
    Decision::NoChange
}

/// Reconciler back-off: the wait before asking LeanX again after `attempts` checks. Starts at
/// 30 s and doubles up to 10 minutes, so a payout awaiting LeanX approval (30–40 min) is asked
/// a handful of times, not hundreds.
pub fn next_check_delay(attempts: u32) -> Duration {
    let seconds = 30i64.saturating_mul(1i64 << attempts.min(5));
    Duration::seconds(seconds.min(600))
}

#[cfg(test)]
mod tests {
    use super::*;
    use PayoutStatus::*;

    fn payout(status: PayoutStatus) -> Payout {
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

    #[test]
    fn allowed_transitions_are_exactly_the_forward_ones() {
        let allowed = [
            (Pending, Processing),
            (Pending, Succeeded),
            (Pending, Failed),
            (Processing, Succeeded),
            (Processing, Failed),
        ];
        for from in PayoutStatus::ALL {
            for to in PayoutStatus::ALL {
                assert_eq!(
                    from.can_move_to(to),
                    allowed.contains(&(from, to)),
                    "{from} -> {to}"
                );
            }
        }
    }

    #[test]
    fn final_states_never_change() {
        let events = all_events();
        for status in [Succeeded, Failed] {
            for to in PayoutStatus::ALL {
                assert!(!status.can_move_to(to));
            }
            for event in &events {
                assert!(
                    !matches!(decide(&payout(status), event), Decision::Move(_)),
                    "{status} moved on {event:?}"
                );
            }
        }
    }

    fn all_events() -> Vec<PayoutEvent> {
        vec![
            PayoutEvent::LeanxAccepted {
                invoice_no: "PAYOUT-1".into(),
            },
            PayoutEvent::LeanxRefused {
                response_code: "4566".into(),
                description: "FAILED".into(),
            },
            PayoutEvent::CallbackSucceeded {
                invoice_no: "PAYOUT-1".into(),
            },
            PayoutEvent::LeanxReported {
                status: LeanxTransactionStatus::Success,
                invoice_no: None,
            },
            PayoutEvent::LeanxReported {
                status: LeanxTransactionStatus::Failed { detail: None },
                invoice_no: None,
            },
            PayoutEvent::LeanxReported {
                status: LeanxTransactionStatus::Pending,
                invoice_no: None,
            },
            PayoutEvent::LeanxReported {
                status: LeanxTransactionStatus::PendingApproval,
                invoice_no: None,
            },
            PayoutEvent::NotReceivedByProvider,
        ]
    }

    #[test]
    fn acceptance_moves_pending_to_processing_with_invoice_no() {
        let Decision::Move(change) = decide(&payout(Pending), &all_events()[0]) else {
            panic!()
        };
        assert_eq!(change.to, Processing);
        assert_eq!(change.invoice_no.as_deref(), Some("PAYOUT-1"));
    }

    #[test]
    fn refusal_fails_with_leanx_code() {
        let Decision::Move(change) = decide(&payout(Pending), &all_events()[1]) else {
            panic!()
        };
        assert_eq!(change.to, Failed);
        assert_eq!(change.failure.unwrap().code, "leanx_4566");
    }

    #[test]
    fn success_callback_on_a_failed_payout_is_a_contradiction() {
        assert_eq!(
            decide(&payout(Failed), &all_events()[2]),
            Decision::Contradiction {
                stored: Failed,
                reported: "SUCCESS"
            }
        );
    }

    #[test]
    fn late_acceptance_of_a_settled_payout_is_no_change() {
        for status in [Succeeded, Failed] {
            assert_eq!(
                decide(&payout(status), &all_events()[0]),
                Decision::NoChange
            );
            assert_eq!(
                decide(&payout(status), &all_events()[5]),
                Decision::NoChange
            );
        }
    }

    #[test]
    fn failure_reported_for_a_succeeded_payout_is_a_contradiction() {
        assert!(matches!(
            decide(&payout(Succeeded), &all_events()[4]),
            Decision::Contradiction {
                stored: Succeeded,
                ..
            }
        ));
    }

    #[test]
    fn duplicate_success_is_no_change() {
        assert_eq!(
            decide(&payout(Succeeded), &all_events()[2]),
            Decision::NoChange
        );
        assert_eq!(
            decide(&payout(Succeeded), &all_events()[3]),
            Decision::NoChange
        );
    }

    #[test]
    fn leanx_pending_makes_a_pending_payout_processing_and_leaves_processing_alone() {
        let pending = &all_events()[5];
        assert!(
            matches!(decide(&payout(Pending), pending), Decision::Move(c) if c.to == Processing)
        );
        assert_eq!(decide(&payout(Processing), pending), Decision::NoChange);
    }

    #[test]
    fn leanx_failed_fails_an_open_payout() {
        for status in [Pending, Processing] {
            let Decision::Move(change) = decide(&payout(status), &all_events()[4]) else {
                panic!()
            };
            assert_eq!(change.to, Failed);
            assert_eq!(change.failure.unwrap().code, "leanx_failed");
        }
    }

    #[test]
    fn not_received_fails_a_pending_payout_with_its_code() {
        let Decision::Move(change) = decide(&payout(Pending), &PayoutEvent::NotReceivedByProvider)
        else {
            panic!()
        };
        assert_eq!(change.failure.unwrap().code, NOT_RECEIVED_BY_PROVIDER);
    }

    #[test]
    fn a_processing_payout_keeps_its_invoice_no() {
        let mut processing = payout(Processing);
        processing.invoice_no = Some("PAYOUT-9".into());
        let Decision::Move(change) = decide(&processing, &all_events()[3]) else {
            panic!()
        };
        assert_eq!(change.invoice_no.as_deref(), Some("PAYOUT-9"));
    }

    #[test]
    fn apply_records_history_and_stops_checks_once_final() {
        let p = payout(Pending);
        let now = p.created_at + Duration::seconds(1);
        let Decision::Move(change) = decide(&p, &all_events()[2]) else {
            panic!()
        };
        let next = p.apply(&change, now);
        assert_eq!(next.status, Succeeded);
        assert_eq!(next.version, p.version + 1);
        assert_eq!(next.next_check_at, None);
        assert_eq!(next.history.len(), 2);
        assert_eq!(next.history[1].from, Some(Pending));
        assert_eq!(next.history[1].to, Succeeded);
    }

    #[test]
    fn start_send_is_a_recovery_point_checked_after_the_grace() {
        let p = payout(Pending);
        let next = p.start_send(p.created_at, Duration::seconds(60));
        assert_eq!(next.send_state, SendState::Started);
        assert_eq!(
            next.next_check_at,
            Some(p.created_at + Duration::seconds(60))
        );
        assert_eq!(next.status, Pending);
    }

    #[test]
    fn checks_are_never_scheduled_past_the_grace_deadline() {
        let p = payout(Pending);
        let deadline = p.created_at + Duration::seconds(10);
        let next = p.checked(p.created_at, Some(deadline));
        assert_eq!(next.next_check_at, Some(deadline));
        let late = p.checked(deadline + Duration::seconds(1), Some(deadline));
        assert_eq!(late.next_check_at, Some(deadline + Duration::seconds(61)));
    }

    #[test]
    fn checked_backs_off() {
        let p = payout(Processing);
        let once = p.checked(p.created_at, None);
        let twice = once.checked(p.created_at, None);
        assert_eq!(twice.check_attempts, 2);
        assert_eq!(
            twice.next_check_at,
            Some(p.created_at + Duration::seconds(120))
        );
    }

    #[test]
    fn repeat_with_other_body_conflicts() {
        let p = payout(Processing);
        assert_eq!(
            classify_existing(&p, "other", p.created_at),
            ExistingClaim::Conflict
        );
    }

    #[test]
    fn repeat_while_claim_is_live_is_in_progress() {
        let p = payout(Pending);
        let fp = p.fingerprint.clone();
        assert!(matches!(
            classify_existing(&p, &fp, p.created_at + Duration::seconds(5)),
            ExistingClaim::InProgress {
                retry_after_seconds: 25
            }
        ));
    }

    #[test]
    fn expired_claim_that_never_sent_can_be_taken_over() {
        let p = payout(Pending);
        let fp = p.fingerprint.clone();
        assert_eq!(
            classify_existing(&p, &fp, p.claim_expires_at),
            ExistingClaim::TakeOver
        );
    }

    #[test]
    fn expired_claim_that_started_sending_is_never_taken_over() {
        let mut p = payout(Pending);
        p.send_state = SendState::Started;
        let fp = p.fingerprint.clone();
        assert_eq!(
            classify_existing(&p, &fp, p.claim_expires_at),
            ExistingClaim::Replay
        );
    }

    #[test]
    fn settled_payout_is_replayed() {
        let p = payout(Succeeded);
        let fp = p.fingerprint.clone();
        assert_eq!(
            classify_existing(&p, &fp, p.created_at),
            ExistingClaim::Replay
        );
    }

    #[test]
    fn back_off_doubles_and_caps_at_ten_minutes() {
        assert_eq!(next_check_delay(0), Duration::seconds(30));
        assert_eq!(next_check_delay(1), Duration::seconds(60));
        assert_eq!(next_check_delay(4), Duration::seconds(480));
        assert_eq!(next_check_delay(5), Duration::seconds(600));
        assert_eq!(next_check_delay(u32::MAX), Duration::seconds(600));
    }
}
