//! `POST /payouts`: validate, apply the recipient policy, claim the ref, write the recovery
//! point, send to LeanX at most once, record the answer.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tracing::{Instrument, info, warn};

use crate::config::Timings;
use crate::crashpoint::{CrashPoint, reached};
use crate::domain::{
    ExistingClaim, MAX_BODY_BYTES, NameMatch, Payout, PayoutEvent, PayoutRequest, PolicyDecision,
    Recipient, RecipientPolicy, ValidationError, VerificationMode, classify_existing, mask_account,
};
use crate::leanx::vocabulary::create_refusal_means_not_created;
use crate::leanx::{AcceptedPayout, CreatePayoutInvoice, LeanxError};
use crate::store::{ClaimOutcome, PayoutStore, RecipientVerifications, SaveOutcome, StoreError};

use super::apply_event::{Evidence, apply_event};
use super::provider::{BankAccountCheck, PayoutProvider};
use super::verify_recipient::{
    AccountCheckError, VerifyOutcome, unknown_payout_service, verify_account,
};

/// Where LeanX is told to pay from and to call back: configuration, never client input.
#[derive(Debug, Clone)]
pub struct PayoutDestination {
    pub virtual_pool_reference: String,
    pub callback_url: String,
}

/// The create use case and what it needs.
#[derive(Clone)]
pub struct CreatePayout {
    pub store: Arc<dyn PayoutStore>,
    pub provider: Arc<dyn PayoutProvider>,
    pub destination: PayoutDestination,
    pub timings: Timings,
    /// `RECIPIENT_VERIFICATION` / `RECIPIENT_PARTIAL_MATCH`, and what applying it needs.
    pub recipients: RecipientCheck,
}

/// The recipient policy and the two ports it needs when `required`: the kept verifications,
/// and LeanX's `check-verification-bank` for an account without a fresh one.
#[derive(Clone)]
pub struct RecipientCheck {
    pub policy: RecipientPolicy,
    pub accounts: Arc<dyn BankAccountCheck>,
    pub verifications: Arc<dyn RecipientVerifications>,
}

/// What a create did.
#[derive(Debug, Clone, PartialEq)]
pub enum CreateOutcome {
    /// A new payout was recorded and sent (PROCESSING), refused by LeanX (FAILED), or its
    /// answer lost (PENDING: the reconciler asks LeanX).
    Created(Payout),
    /// The same request again: the payout as it stands.
    Replayed(Payout),
    /// The first request with this ref is still working on it.
    InProgress { retry_after_seconds: u64 },
    /// Another body under the same ref.
    Conflict,
    /// The send provably never left (LeanX unreachable before any byte): nothing was sent, the
    /// claim is free again, and a retry of the same request sends it.
    NotSent { retry_after_seconds: u64 },
    /// Recipient policy `required`: the account's holder does not match `recipient_name` (or
    /// only partly, with partial matches denied). Nothing claimed, nothing sent.
    RecipientMismatch {
        account_holder_name: String,
        name_match: NameMatch,
    },
    /// Recipient policy `required`: LeanX does not know the account. Nothing claimed or sent.
    AccountNotFound,
    /// Recipient policy `required`: the account needed verifying and LeanX could not be asked
    /// (or gave no readable answer). Nothing claimed, nothing sent; the same request may be
    /// retried.
    RecipientUnverified { retry_after_seconds: u64 },
}

#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error("body must be at most 16 KiB")]
    TooLarge,
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How long a merchant is asked to wait after a send that never left.
const RETRY_AFTER_NOT_SENT_SECONDS: u64 = 2;

impl CreatePayout {
    pub async fn run(&self, body: &[u8], now: DateTime<Utc>) -> Result<CreateOutcome, CreateError> {
        if body.len() > MAX_BODY_BYTES {
            return Err(CreateError::TooLarge);
        }
        let request = PayoutRequest::from_json(body)?;
        let span = tracing::info_span!(
            "create_payout",
            external_invoice_ref = %request.external_invoice_ref
        );
        async {
            // Before any claim: a payout the policy refuses leaves no trace.
            if let Some(refused) = self.check_recipient(&request, now).await? {
                return Ok(refused);
            }
            self.create(request, now).await
        }
        .instrument(span)
        .await
    }

    /// The recipient policy: `None` when the payout may go on, else the refusal. Reads the
    /// account's latest verification (one read) and, when there is no fresh one, verifies the
    /// account (one LeanX call, kept like any verification) and decides again.
    async fn check_recipient(
        &self,
        request: &PayoutRequest,
        now: DateTime<Utc>,
    ) -> Result<Option<CreateOutcome>, CreateError> {
        let check = &self.recipients;
        if check.policy.verification == VerificationMode::Off {
            return Ok(None);
        }
        let recipient = Recipient::from(request);
        let latest = check
            .verifications
            .latest_for(request.payout_service_id, &request.third_party_account_no)
            .await?;
        let mut decision = check.policy.admits(recipient, latest.as_ref(), now);
        if decision == PolicyDecision::NeedsVerification {
            let verified = verify_account(
                check.accounts.as_ref(),
                check.verifications.as_ref(),
                request.payout_service_id,
                &request.third_party_account_no,
                Some(&request.recipient_name),
                now,
            )
            .await;
            decision = match verified {
                Ok(VerifyOutcome::Verified(verification)) => {
                    check.policy.admits(recipient, Some(&verification), now)
                }
                Ok(VerifyOutcome::AccountNotFound) => {
                    return Ok(Some(CreateOutcome::AccountNotFound));
                }
                Ok(VerifyOutcome::ServiceNotFound) => {
                    return Err(CreateError::Invalid(unknown_payout_service()));
                }
                Err(AccountCheckError::Provider(_)) => {
                    return Ok(Some(CreateOutcome::RecipientUnverified {
                        retry_after_seconds: RETRY_AFTER_NOT_SENT_SECONDS,
                    }));
                }
                Err(AccountCheckError::Store(e)) => return Err(e.into()),
            };
        }
        let account = mask_account(&request.third_party_account_no);
        match decision {
            PolicyDecision::NotRequired | PolicyDecision::Admitted { .. } => Ok(None),
            PolicyDecision::Mismatch {
                account_holder_name,
                name_match,
            } => {
                info!(
                    account = %account,
                    name_match = %name_match.verdict,
                    name_score = %name_match.score,
                    "payout refused: the account holder does not match recipient_name"
                );
                Ok(Some(CreateOutcome::RecipientMismatch {
                    account_holder_name,
                    name_match,
                }))
            }
            // A verification made just now is fresh and of this account: not reached.
            PolicyDecision::NeedsVerification => Ok(Some(CreateOutcome::RecipientUnverified {
                retry_after_seconds: RETRY_AFTER_NOT_SENT_SECONDS,
            })),
        }
    }

    async fn create(
        &self,
        request: PayoutRequest,
        now: DateTime<Utc>,
    ) -> Result<CreateOutcome, CreateError> {
        let owner = uuid::Uuid::new_v4().to_string();
        let claim = Payout::new_pending(&request, owner.clone(), now, self.timings.claim_ttl);
        let claimed = match self.store.create_pending(&claim).await? {
            ClaimOutcome::Created => {
                crate::metrics::payout_created();
                claim
            }
            ClaimOutcome::Exists(existing) => {
                match self
                    .claim_existing(existing, &claim.fingerprint, owner, now)
                    .await?
                {
                    Claimed::Taken(payout) => payout,
                    Claimed::Answered(outcome) => return Ok(outcome),
                }
            }
        };
        info!(
            amount = %claimed.amount,
            account = %mask_account(&claimed.third_party_account_no),
            "payout claimed"
        );
        reached(CrashPoint::CreateAfterClaim);
        // The recovery point: from here on this payout is never sent again by anyone.
        let sending = claimed.start_send(now, self.timings.claim_ttl);
        match self.store.save(&claimed, &sending).await? {
            SaveOutcome::Saved => {}
            // Someone else moved it first (e.g. the reconciler closed an expired claim).
            SaveOutcome::Stale(Some(stored)) => return Ok(CreateOutcome::Replayed(stored)),
            SaveOutcome::Stale(None) => {
                return Err(StoreError::Corrupt("payout vanished during create".into()).into());
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
                return Ok(CreateOutcome::Created(sending));
            }
        };
        let settled = apply_event(
            self.store.as_ref(),
            sending,
            &event,
            &Evidence::LeanxFact,
            now,
        )
        .await?
        .into_payout();
        reached(CrashPoint::CreateAfterAnswerRecorded);
        Ok(CreateOutcome::Created(settled))
    }

    /// A ref already exists: conflict, in progress, replay, or take over an abandoned claim.
    async fn claim_existing(
        &self,
        mut existing: Payout,
        fingerprint: &str,
        owner: String,
        now: DateTime<Utc>,
    ) -> Result<Claimed, StoreError> {
        for _ in 0..MAX_CLAIM_RETRIES {
            let answer = match classify_existing(&existing, fingerprint, now) {
                ExistingClaim::Conflict => CreateOutcome::Conflict,
                ExistingClaim::InProgress {
                    retry_after_seconds,
                } => CreateOutcome::InProgress {
                    retry_after_seconds,
                },
                ExistingClaim::Replay => CreateOutcome::Replayed(existing),
                ExistingClaim::TakeOver => {
                    let taken = existing.take_over(owner.clone(), now, self.timings.claim_ttl);
                    match self.store.save(&existing, &taken).await? {
                        SaveOutcome::Saved => {
                            info!("took over an abandoned claim that never sent");
                            return Ok(Claimed::Taken(taken));
                        }
                        SaveOutcome::Stale(Some(stored)) => {
                            existing = stored;
                            continue;
                        }
                        SaveOutcome::Stale(None) => {
                            return Err(StoreError::Corrupt(
                                "payout vanished during a take-over".into(),
                            ));
                        }
                    }
                }
            };
            return Ok(Claimed::Answered(answer));
        }
        Err(StoreError::Unavailable("claim contention".into()))
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

    /// The send provably never left: undo the recovery point and free the claim, so that the
    /// merchant's retry sends it (exactly once), as API.md promises.
    async fn release_unsent(
        &self,
        sending: Payout,
        now: DateTime<Utc>,
    ) -> Result<CreateOutcome, CreateError> {
        let released = sending.release_unsent(now, self.timings.grace_period);
        match self.store.save(&sending, &released).await? {
            SaveOutcome::Saved => Ok(CreateOutcome::NotSent {
                retry_after_seconds: RETRY_AFTER_NOT_SENT_SECONDS,
            }),
            // Someone moved it meanwhile: answer with what stands.
            SaveOutcome::Stale(stored) => Ok(CreateOutcome::Replayed(stored.unwrap_or(sending))),
        }
    }
}

/// How many times a take-over is re-tried after losing a race.
const MAX_CLAIM_RETRIES: usize = 8;

/// The result of meeting an existing claim.
enum Claimed {
    Taken(Payout),
    Answered(CreateOutcome),
}

#[cfg(test)]
mod tests;
