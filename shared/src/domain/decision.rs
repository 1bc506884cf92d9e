//! What an event decides for a payout: the one transition function, as pure logic. Storage then
//! applies the change only if the payout is still as it was read.

use super::payout::{Change, Failure, NOT_RECEIVED_BY_PROVIDER, Payout, PayoutStatus, SendState};

/// The status LeanX reports in `transaction_status` (read from LeanX's words in
/// `leanx/vocabulary.rs`).
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
    /// LeanX still does not know a payout whose send may have happened (several recognised
    /// "not found" answers over the grace period); or a claim that never sent expired and was
    /// abandoned. Judged on a PENDING payout in `judged_send_state`: it applies to nothing else.
    NotReceivedByProvider { judged_send_state: SendState },
    /// A batch item the recipient policy refused before it was sent (`recipient_mismatch`,
    /// `account_not_found`): it ends FAILED, never sent. Applies only to a PENDING payout whose
    /// send has not started.
    RecipientRefused { code: &'static str, message: String },
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

/// The transition function: what `event` does to a payout in `current`, as pure logic.
/// Storage then applies the change only if the payout is still as it was read.
pub fn decide(current: &Payout, event: &PayoutEvent) -> Decision {
    use PayoutStatus::*;
    let (to, invoice_no, failure, cause, reported) = match event {
        PayoutEvent::LeanxAccepted { invoice_no } => (
            Processing,
            Some(invoice_no.clone()),
            None,
            "leanx_accepted",
            "ACCEPTED",
        ),
        PayoutEvent::LeanxRefused {
            response_code,
            description,
        } => (
            Failed,
            None,
            Some(Failure {
                code: format!("leanx_{response_code}"),
                message: format!("LeanX refused the payout: {description}"),
            }),
            "leanx_refused",
            "REFUSED",
        ),
        PayoutEvent::CallbackSucceeded { invoice_no } => (
            Succeeded,
            Some(invoice_no.clone()),
            None,
            "callback",
            "SUCCESS",
        ),
        PayoutEvent::LeanxReported { status, invoice_no } => match status {
            LeanxTransactionStatus::Success => (
                Succeeded,
                invoice_no.clone(),
                None,
                "leanx_status",
                "SUCCESS",
            ),
            LeanxTransactionStatus::Failed { detail } => (
                Failed,
                invoice_no.clone(),
                Some(Failure {
                    code: "leanx_failed".into(),
                    message: detail
                        .clone()
                        .unwrap_or_else(|| "LeanX reported the payout FAILED".into()),
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
        PayoutEvent::RecipientRefused { code, message } => {
            if current.status != Pending || current.send_state != SendState::NotStarted {
                return Decision::NoChange;
            }
            (
                Failed,
                None,
                Some(Failure {
                    code: (*code).into(),
                    message: message.clone(),
                }),
                "recipient_refused",
                "REFUSED",
            )
        }
        PayoutEvent::NotReceivedByProvider { judged_send_state } => {
            // Never from PROCESSING (LeanX holds it), never on a send state other than the one
            // the verdict was judged on (a take-over may have sent it since).
            if current.status != Pending || current.send_state != *judged_send_state {
                return Decision::NoChange;
            }
            (
            Failed,
            None,
            Some(Failure {
                code: NOT_RECEIVED_BY_PROVIDER.into(),
                message: "LeanX never received this payout; no money moved. It may be paid again under a new reference.".into(),
            }),
            NOT_RECEIVED_BY_PROVIDER,
            "NOT_RECEIVED",
        )
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::payout::sample_payout as payout;
    use PayoutStatus::*;

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
            PayoutEvent::NotReceivedByProvider {
                judged_send_state: SendState::Started,
            },
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
        let event = PayoutEvent::NotReceivedByProvider {
            judged_send_state: SendState::NotStarted,
        };
        let Decision::Move(change) = decide(&payout(Pending), &event) else {
            panic!()
        };
        assert_eq!(change.failure.unwrap().code, NOT_RECEIVED_BY_PROVIDER);
    }

    #[test]
    fn not_received_never_applies_to_a_processing_payout() {
        for judged_send_state in [SendState::NotStarted, SendState::Started] {
            let mut p = payout(Processing);
            p.send_state = judged_send_state;
            let event = PayoutEvent::NotReceivedByProvider { judged_send_state };
            assert_eq!(decide(&p, &event), Decision::NoChange);
        }
    }

    #[test]
    fn not_received_never_applies_after_the_send_state_changed() {
        let mut p = payout(Pending);
        p.send_state = SendState::Started;
        let event = PayoutEvent::NotReceivedByProvider {
            judged_send_state: SendState::NotStarted,
        };
        assert_eq!(decide(&p, &event), Decision::NoChange);
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
}
