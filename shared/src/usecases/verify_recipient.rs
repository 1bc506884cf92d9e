//! `POST /recipient-verifications`: who holds this account (LeanX's `check-verification-bank`),
//! does the holder's name match the one given, and keep the answer 30 days for the recipient
//! policy of `POST /payouts`.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tracing::{info, warn};

use crate::domain::{
    MAX_BODY_BYTES, RecipientVerification, ValidationError, VerificationRequest, mask_account,
};
use crate::leanx::{BankVerification, LeanxError};
use crate::store::{RecipientVerifications, StoreError};

use super::provider::BankAccountCheck;

/// The verification use case and what it needs.
#[derive(Clone)]
pub struct VerifyRecipient {
    pub accounts: Arc<dyn BankAccountCheck>,
    pub verifications: Arc<dyn RecipientVerifications>,
}

/// What a verification found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyOutcome {
    /// LeanX named the holder; the verification is kept.
    Verified(RecipientVerification),
    /// LeanX does not know the account at that bank; nothing is kept.
    AccountNotFound,
    /// LeanX pays no (active) payout service with that id; nothing is kept.
    ServiceNotFound,
}

/// The refusal of a `payout_service_id` LeanX does not (or no longer) pay: the request's
/// fault, named by its field, never "LeanX unavailable".
pub fn unknown_payout_service() -> ValidationError {
    ValidationError::field(
        "payout_service_id",
        "LeanX pays no active payout service with this payout_service_id (see GET /payout-services)",
    )
}

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("body must be at most 16 KiB")]
    TooLarge,
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// LeanX unreachable, or an answer that says neither "found" nor "not found".
    #[error("LeanX could not verify the account: {0}")]
    Provider(#[source] LeanxError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl VerifyRecipient {
    pub async fn run(&self, body: &[u8], now: DateTime<Utc>) -> Result<VerifyOutcome, VerifyError> {
        if body.len() > MAX_BODY_BYTES {
            return Err(VerifyError::TooLarge);
        }
        let request = VerificationRequest::from_json(body)?;
        let verified = verify_account(
            self.accounts.as_ref(),
            self.verifications.as_ref(),
            request.payout_service_id,
            &request.third_party_account_no,
            request.recipient_name.as_deref(),
            now,
        )
        .await?;
        Ok(verified)
    }
}

/// Why an account could not be verified.
#[derive(Debug, thiserror::Error)]
pub(crate) enum AccountCheckError {
    #[error(transparent)]
    Provider(LeanxError),
    #[error(transparent)]
    Store(StoreError),
}

impl From<AccountCheckError> for VerifyError {
    fn from(e: AccountCheckError) -> Self {
        match e {
            AccountCheckError::Provider(e) => VerifyError::Provider(e),
            AccountCheckError::Store(e) => VerifyError::Store(e),
        }
    }
}

/// One `check-verification-bank`, and the verification kept when LeanX names the holder. The
/// one path by which a verification is made (the route and the create's policy alike).
pub(crate) async fn verify_account(
    accounts: &dyn BankAccountCheck,
    verifications: &dyn RecipientVerifications,
    payout_service_id: u32,
    account: &str,
    recipient_name: Option<&str>,
    now: DateTime<Utc>,
) -> Result<VerifyOutcome, AccountCheckError> {
    let masked = mask_account(account);
    match accounts
        .check_verification_bank(payout_service_id, account)
        .await
    {
        Ok(BankVerification::Found {
            account_holder_name,
            bank_bic,
            ..
        }) => {
            let verification = RecipientVerification::new(
                payout_service_id,
                account,
                &account_holder_name,
                bank_bic.as_deref(),
                recipient_name,
                now,
            );
            verifications
                .save(&verification)
                .await
                .map_err(AccountCheckError::Store)?;
            info!(
                payout_service_id,
                account = %masked,
                verification_id = %verification.verification_id,
                name_match = %verification.name_match,
                name_score = %verification.name_score,
                "recipient verified"
            );
            Ok(VerifyOutcome::Verified(verification))
        }
        Ok(BankVerification::AccountNotFound) => {
            info!(payout_service_id, account = %masked, "LeanX does not know the account");
            Ok(VerifyOutcome::AccountNotFound)
        }
        Ok(BankVerification::ServiceNotFound) => {
            info!(payout_service_id, "LeanX does not pay this payout service");
            Ok(VerifyOutcome::ServiceNotFound)
        }
        Err(error) => {
            warn!(payout_service_id, account = %masked, error = %error, "account verification failed");
            Err(AccountCheckError::Provider(error))
        }
    }
}

#[cfg(test)]
mod tests;
