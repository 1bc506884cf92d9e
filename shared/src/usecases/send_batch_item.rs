//! `send-batch-items`: one queued item of a batch, sent through the same at-most-once path as
//! `POST /payouts` (recipient policy, recovery point, the one send, the answer), under the
//! batch's claim. The pacing (`BATCH_SEND_RATE`) is the function's, around this.

use chrono::{DateTime, Utc};
use tracing::{Instrument, info, warn};

use crate::domain::{
    InvoiceRef, Payout, PayoutEvent, QueuedItem, batch::batch_claim_owner, classify_queued_item,
};
use crate::store::{SaveOutcome, StoreError};

use super::accept_batch::QueuedItemMessage;
use super::apply_event::{Evidence, apply_event};
use super::create::{CreateError, CreateOutcome, CreatePayout};
use super::send::{SendPath, Sent};

/// The send of a batch's items: the create use case's ports and rules, applied to a payout the
/// batch already recorded.
#[derive(Clone)]
pub struct SendBatchItem {
    pub create: CreatePayout,
}

/// What a delivery of a queued item did.
#[derive(Debug, Clone, PartialEq)]
pub enum ItemSendOutcome {
    /// Sent now; LeanX's answer is recorded as for `POST /payouts`.
    Sent(Payout),
    /// The recipient policy refused it before any send: FAILED, never sent.
    Refused(Payout),
    /// Nothing to do, ever: sent already (by an earlier delivery), final, or unknown.
    AlreadyDone,
    /// Not now (nothing sent): LeanX unreachable before the send left, a live claim held by a
    /// `POST /payouts` of the same body, or a recipient that could not be verified. The queue
    /// delivers it again later.
    RetryLater { reason: &'static str },
}

/// How many times the item is re-read after losing a race on it.
const MAX_ATTEMPTS: usize = 8;

impl SendBatchItem {
    pub async fn run(
        &self,
        message: &QueuedItemMessage,
        now: DateTime<Utc>,
    ) -> Result<ItemSendOutcome, StoreError> {
        let span = tracing::info_span!(
            "send_batch_item",
            batch_ref = %message.batch_ref,
            external_invoice_ref = %message.external_invoice_ref
        );
        self.send(message, now).instrument(span).await
    }

    async fn send(
        &self,
        message: &QueuedItemMessage,
        now: DateTime<Utc>,
    ) -> Result<ItemSendOutcome, StoreError> {
        let Ok(reference) = InvoiceRef::parse(&message.external_invoice_ref) else {
            warn!("a queued item names no valid ref; dropped");
            return Ok(ItemSendOutcome::AlreadyDone);
        };
        let store = self.create.store.as_ref();
        for _ in 0..MAX_ATTEMPTS {
            let Some(payout) = store.get(&reference).await? else {
                warn!("a queued item has no payout; dropped");
                return Ok(ItemSendOutcome::AlreadyDone);
            };
            let claimed = match classify_queued_item(&payout, now) {
                QueuedItem::Done => return Ok(ItemSendOutcome::AlreadyDone),
                QueuedItem::Wait { .. } => {
                    return Ok(ItemSendOutcome::RetryLater {
                        reason: "another request holds the payout's claim",
                    });
                }
                QueuedItem::Send => payout,
                QueuedItem::TakeOver => {
                    let owner = batch_claim_owner(&message.batch_ref);
                    let taken = payout.take_over(owner, now, self.create.timings.claim_ttl);
                    match store.save(&payout, &taken).await? {
                        SaveOutcome::Saved => taken,
                        SaveOutcome::Stale(_) => continue,
                    }
                }
            };
            if let Some(refused) = self.recipient_refusal(&claimed, now).await? {
                return Ok(refused);
            }
            let sent = SendPath {
                store,
                provider: self.create.provider.as_ref(),
                destination: &self.create.destination,
                timings: &self.create.timings,
            }
            .send_claimed(claimed, now)
            .await?;
            return Ok(match sent {
                Sent::Recorded(payout) => {
                    info!(status = %payout.status, "batch item sent");
                    ItemSendOutcome::Sent(payout)
                }
                // Someone wrote the payout between our read and our recovery point (a
                // reconciler's bookkeeping, a take-over): nothing was sent. Read it again and
                // decide again; dropping the message here would leave it unsent for good.
                Sent::LostRace(_) => continue,
                Sent::NotSent => ItemSendOutcome::RetryLater {
                    reason: "LeanX unreachable before the send left",
                },
            });
        }
        Err(StoreError::Unavailable("batch item contention".into()))
    }

    /// The recipient policy, as `POST /payouts` applies it; a refusal ends the item FAILED
    /// (never sent), since the merchant is no longer there to be answered.
    async fn recipient_refusal(
        &self,
        claimed: &Payout,
        now: DateTime<Utc>,
    ) -> Result<Option<ItemSendOutcome>, StoreError> {
        let refusal = match self
            .create
            .check_recipient(&claimed.as_request(), now)
            .await
        {
            Ok(None) => return Ok(None),
            Ok(Some(CreateOutcome::RecipientMismatch {
                account_holder_name,
                name_match,
            })) => PayoutEvent::RecipientRefused {
                code: "recipient_mismatch",
                message: format!(
                    "the account holder ({account_holder_name}) does not match recipient_name (name_match {}); nothing was sent",
                    name_match.verdict
                ),
            },
            Ok(Some(CreateOutcome::AccountNotFound)) => PayoutEvent::RecipientRefused {
                code: "account_not_found",
                message: "LeanX knows no such account at this payout service; nothing was sent"
                    .into(),
            },
            Err(CreateError::Invalid(error)) => PayoutEvent::RecipientRefused {
                code: "invalid_request",
                message: format!("{error}; nothing was sent"),
            },
            Ok(Some(_)) => {
                return Ok(Some(ItemSendOutcome::RetryLater {
                    reason: "the recipient could not be verified yet",
                }));
            }
            Err(CreateError::Store(error)) => return Err(error),
            Err(CreateError::TooLarge) => return Ok(None),
        };
        let after = apply_event(
            self.create.store.as_ref(),
            claimed.clone(),
            &refusal,
            &Evidence::judged_on(claimed),
            now,
        )
        .await?
        .into_payout();
        info!(status = %after.status, "batch item refused by the recipient policy");
        Ok(Some(ItemSendOutcome::Refused(after)))
    }
}

#[cfg(test)]
mod tests;
