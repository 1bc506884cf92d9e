//! A repeated `POST /payouts` for a ref that is already claimed: conflict, in progress, take
//! over, or replay.

use chrono::{DateTime, Utc};

use super::payout::{Payout, PayoutStatus, SendState};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::payout::sample_payout as payout;
    use PayoutStatus::*;
    use chrono::Duration;

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
}
