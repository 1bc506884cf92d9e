//! `POST /payouts`: validate, apply the recipient policy, claim the ref, write the recovery
//! point, send to LeanX at most once, record the answer.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tracing::{Instrument, info};

use crate::config::Timings;
use crate::crashpoint::{CrashPoint, reached};
use crate::domain::{
    ExistingClaim, MAX_BODY_BYTES, NameMatch, Payout, PayoutRequest, PolicyDecision, Recipient,
    RecipientPolicy, ValidationError, VerificationMode, classify_existing, mask_account,
};
use crate::store::{ClaimOutcome, PayoutStore, RecipientVerifications, SaveOutcome, StoreError};

use super::provider::{BankAccountCheck, PayoutProvider};
use super::send::{SendPath, Sent};
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
    pub(crate) async fn check_recipient(
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
        let sent = SendPath {
            store: self.store.as_ref(),
            provider: self.provider.as_ref(),
            destination: &self.destination,
            timings: &self.timings,
        }
        .send_claimed(claimed, now)
        .await?;
        Ok(match sent {
            Sent::Recorded(payout) => CreateOutcome::Created(payout),
            Sent::LostRace(stored) => CreateOutcome::Replayed(stored),
            Sent::NotSent => CreateOutcome::NotSent {
                retry_after_seconds: RETRY_AFTER_NOT_SENT_SECONDS,
            },
        })
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
