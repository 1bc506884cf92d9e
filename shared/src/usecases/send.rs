//! The one send of a claimed payout, shared by `POST /payouts` and a batch's queued items: the
//! recovery point, the one `create-payout-invoice`, and LeanX's answer recorded.
//!
//! At most once: the recovery point ("send started") is written conditionally *before* the
//! request leaves, so whoever loses that write never sends, and nobody sends after it but the
//! writer. An answer that is lost leaves the payout PENDING, send started, for the reconciler to
//! ask LeanX about; it is never sent again from here.

use chrono::{DateTime, Utc};
use tracing::warn;

use crate::config::Timings;
use crate::crashpoint::{CrashPoint, reached};
use crate::domain::{Payout, PayoutEvent};
use crate::leanx::vocabulary::create_refusal_means_not_created;
use crate::leanx::{AcceptedPayout, CreatePayoutInvoice, LeanxError};
use crate::store::{PayoutStore, SaveOutcome, StoreError};

use super::apply_event::{Evidence, apply_event};
use super::create::PayoutDestination;
use super::provider::PayoutProvider;

/// What sending a claimed payout did.
#[derive(Debug, Clone, PartialEq)]
pub enum Sent {
    /// Sent, and LeanX's answer recorded: PROCESSING, FAILED (a refusal that created nothing),
    /// or PENDING with its send started (the answer was lost: the reconciler asks LeanX).
    Recorded(Payout),
    /// Someone else moved the payout first (before our recovery point, or while releasing):
    /// nothing was sent by us; here it is as it stands.
    LostRace(Payout),
    /// LeanX was unreachable before any byte left: nothing was sent, the claim is free again.
    NotSent,
}

/// The ports and settings a send needs, borrowed from the use case that sends.
pub struct SendPath<'a> {
    pub store: &'a dyn PayoutStore,
    pub provider: &'a dyn PayoutProvider,
    pub destination: &'a PayoutDestination,
    pub timings: &'a Timings,
}

impl SendPath<'_> {
    /// Sends `claimed` (PENDING, never sent, its claim held by the caller) at most once.
    pub async fn send_claimed(
        &self,
        claimed: Payout,
        now: DateTime<Utc>,
    ) -> Result<Sent, StoreError> {
        // The recovery point: from here on this payout is never sent again by anyone.
        let sending = claimed.start_send(now, self.timings.claim_ttl);
        match self.store.save(&claimed, &sending).await? {
            SaveOutcome::Saved => {}
            // Someone else moved it first (e.g. the reconciler closed an expired claim).
            SaveOutcome::Stale(Some(stored)) => return Ok(Sent::LostRace(stored)),
            SaveOutcome::Stale(None) => {
                return Err(StoreError::Corrupt(
                    "payout vanished before its send".into(),
                ));
            }
        }
        reached(CrashPoint::CreateAfterSendMarked);
        let result = self.send_once(&sending).await;
        reached(CrashPoint::CreateAfterSendAnswered);
        let event = match result {
            Ok(accepted) => PayoutEvent::LeanxAccepted {
                invoice_no: accepted.invoice_no,
            },
            Err(LeanxError::Refused {
                response_code,
                description,
            }) if create_refusal_means_not_created(&response_code, &description) => {
                PayoutEvent::LeanxRefused {
                    response_code,
                    description,
                }
            }
            Err(LeanxError::NotSent(reason)) => {
                warn!(error = %reason, "LeanX unreachable before the send left; claim released for the retry");
                return self.release_unsent(sending, now).await;
            }
            Err(error) => {
                // A lost answer, or a refusal we cannot read: it stays PENDING with its send
                // started, and the reconciler asks LeanX. Never re-sent from here.
                if let LeanxError::Refused { .. } = &error {
                    crate::metrics::unrecognised_leanx_answer();
                }
                warn!(error = %error, "payout send outcome unknown; left PENDING for the reconciler");
                return Ok(Sent::Recorded(sending));
            }
        };
        let settled = apply_event(self.store, sending, &event, &Evidence::LeanxFact, now)
            .await?
            .into_payout();
        reached(CrashPoint::CreateAfterAnswerRecorded);
        Ok(Sent::Recorded(settled))
    }

    /// The one `create-payout-invoice`. A connection that provably never opened is retried a
    /// couple of times here; nothing that may have reached LeanX ever is.
    async fn send_once(&self, payout: &Payout) -> Result<AcceptedPayout, LeanxError> {
        let request = CreatePayoutInvoice {
            virtual_pool_reference: &self.destination.virtual_pool_reference,
            payout_service_id: payout.payout_service_id,
            amount: payout.amount,
            recipient_name: &payout.recipient_name,
            client_callback_url: &self.destination.callback_url,
            third_party_account_no: &payout.third_party_account_no,
            external_invoice_ref: payout.external_invoice_ref.as_str(),
            recipient_reference: &payout.recipient_reference,
        };
        let mut attempt = 0;
        loop {
            match self.provider.create_payout(&request).await {
                Err(LeanxError::NotSent(_)) if attempt < 2 => {
                    attempt += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(100 * attempt)).await;
                }
                other => return other,
            }
        }
    }

    /// The send provably never left: undo the recovery point and free the claim, so that a
    /// retry (the merchant's, or the queue's) sends it, exactly once.
    async fn release_unsent(
        &self,
        sending: Payout,
        now: DateTime<Utc>,
    ) -> Result<Sent, StoreError> {
        let released = sending.release_unsent(now, self.timings.grace_period);
        match self.store.save(&sending, &released).await? {
            SaveOutcome::Saved => Ok(Sent::NotSent),
            // Someone moved it meanwhile: answer with what stands.
            SaveOutcome::Stale(stored) => Ok(Sent::LostRace(stored.unwrap_or(sending))),
        }
    }
}
