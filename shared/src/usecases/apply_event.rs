//! The only path by which a payout's status changes: decide on the copy as read, write it
//! conditionally on that copy, and on a lost race decide again on the fresh copy — but only if
//! the evidence the event was judged on still holds.

use chrono::{DateTime, Utc};
use tracing::{error, info};

use crate::domain::{Decision, Payout, PayoutEvent, PayoutStatus, SendState, decide};
use crate::store::{PayoutStore, SaveOutcome, StoreError};

/// What an event was judged on. A fact LeanX stated (an answer, a verified callback) holds
/// whatever the payout has become since; a verdict drawn from the payout's own state (never
/// sent and abandoned, or unknown to LeanX) holds only while that state is exactly as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Evidence {
    /// LeanX said it: re-decided on the fresh copy after a lost race.
    LeanxFact,
    /// Judged on the payout as read: dropped after a lost race unless it is still as read.
    StoredState {
        status: PayoutStatus,
        send_state: SendState,
        claim_owner: String,
        version: u64,
    },
}

impl Evidence {
    /// The evidence of a verdict judged on `payout` as it was read.
    pub fn judged_on(payout: &Payout) -> Evidence {
        Evidence::StoredState {
            status: payout.status,
            send_state: payout.send_state,
            claim_owner: payout.claim_owner.clone(),
            version: payout.version,
        }
    }

    fn still_holds(&self, payout: &Payout) -> bool {
        match self {
            Evidence::LeanxFact => true,
            Evidence::StoredState {
                status,
                send_state,
                claim_owner,
                version,
            } => {
                payout.status == *status
                    && payout.send_state == *send_state
                    && payout.claim_owner == *claim_owner
                    && payout.version == *version
            }
        }
    }
}

/// What applying an event did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// The status moved; here is the payout as written.
    Moved(Payout),
    /// Nothing to change (duplicate, late or still-open news).
    Unchanged(Payout),
    /// The event contradicts the payout's final status: nothing changed but the payout's
    /// `attention` mark; an operator must look.
    Contradicted(Payout),
    /// The evidence no longer holds on the fresh copy (someone changed the payout meanwhile):
    /// nothing written. Here is the payout as it now stands.
    Dropped(Payout),
}

impl Applied {
    pub fn payout(&self) -> &Payout {
        match self {
            Applied::Moved(p) | Applied::Unchanged(p) | Applied::Contradicted(p) => p,
            Applied::Dropped(p) => p,
        }
    }

    pub fn into_payout(self) -> Payout {
        match self {
            Applied::Moved(p) | Applied::Unchanged(p) | Applied::Contradicted(p) => p,
            Applied::Dropped(p) => p,
        }
    }
}

/// How many times a write is re-decided after losing a race before giving up.
const MAX_RACE_RETRIES: usize = 8;

/// Applies `event`, judged on `evidence`, to `current`.
pub async fn apply_event(
    store: &dyn PayoutStore,
    mut current: Payout,
    event: &PayoutEvent,
    evidence: &Evidence,
    now: DateTime<Utc>,
) -> Result<Applied, StoreError> {
    for _ in 0..MAX_RACE_RETRIES {
        if !evidence.still_holds(&current) {
            info!(
                status = %current.status,
                "the payout changed since the event was judged; event dropped"
            );
            return Ok(Applied::Dropped(current));
        }
        let next = match decide(&current, event) {
            Decision::NoChange => return Ok(Applied::Unchanged(current)),
            Decision::Contradiction { stored, reported } => {
                error!(
                    invoice_no = current.invoice_no.as_deref().unwrap_or(""),
                    stored = %stored,
                    reported,
                    "LeanX reported an outcome that contradicts the payout's final status; status unchanged, an operator must check"
                );
                crate::metrics::payout_contradicted();
                if current.attention.is_some() {
                    return Ok(Applied::Contradicted(current));
                }
                current.contradicted(reported, now)
            }
            Decision::Move(change) => current.apply(&change, now),
        };
        match store.save(&current, &next).await? {
            SaveOutcome::Saved => {
                if next.status == current.status {
                    return Ok(Applied::Contradicted(next));
                }
                let cause = next.history.last().map(|h| h.cause.as_str()).unwrap_or("");
                info!(from = %current.status, to = %next.status, cause, "payout status changed");
                crate::metrics::status_changed(next.status);
                return Ok(Applied::Moved(next));
            }
            SaveOutcome::Stale(Some(stored)) => current = stored,
            SaveOutcome::Stale(None) => {
                return Err(StoreError::Corrupt(
                    "payout vanished during an update".into(),
                ));
            }
        }
    }
    Err(StoreError::Unavailable(
        "too many concurrent updates to one payout".into(),
    ))
}

#[cfg(test)]
mod tests;
