//! The recipient policy of `POST /payouts` (API.md, "Recipient policy"), as pure decisions: is a
//! verification needed, may this payout go to the account the bank says belongs to this holder?

use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::name_match::{NameMatch, NameVerdict, match_names};
use super::request::PayoutRequest;

/// API.md: a verification is relied on for 30 days, and kept as long.
pub const VERIFICATION_TTL_DAYS: i64 = 30;

/// `RECIPIENT_VERIFICATION`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VerificationMode {
    /// Payouts are sent without asking who holds the account (API.md's default).
    #[default]
    Off,
    /// A payout is sent only to an account whose holder matches its `recipient_name`.
    Required,
}

/// `RECIPIENT_PARTIAL_MATCH`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PartialMatch {
    Allow,
    /// API.md admits `partial` only "when RECIPIENT_PARTIAL_MATCH=allow": refusing is the default.
    #[default]
    Deny,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RecipientPolicy {
    pub verification: VerificationMode,
    pub partial_match: PartialMatch,
}

/// A setting with a value it cannot have; names the variable and the values it can.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid setting {name}: {value:?} is not one of {allowed}")]
pub struct RecipientPolicyError {
    pub name: &'static str,
    pub value: String,
    pub allowed: &'static str,
}

const VERIFICATION_VAR: &str = "RECIPIENT_VERIFICATION";
const PARTIAL_MATCH_VAR: &str = "RECIPIENT_PARTIAL_MATCH";

impl RecipientPolicy {
    /// Reads `RECIPIENT_VERIFICATION` (`off` | `required`, default `off`) and
    /// `RECIPIENT_PARTIAL_MATCH` (`allow` | `deny`, default `deny`). Like the rest of the
    /// configuration, an empty value is unset and case does not matter. `env` is
    /// `std::env::var` in production.
    pub fn from_env(
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<RecipientPolicy, RecipientPolicyError> {
        let get = |name: &str| {
            env(name)
                .map(|v| v.trim().to_ascii_lowercase())
                .filter(|v| !v.is_empty())
        };
        let verification = match get(VERIFICATION_VAR).as_deref() {
            None | Some("off") => VerificationMode::Off,
            Some("required") => VerificationMode::Required,
            Some(other) => {
                return Err(RecipientPolicyError {
                    name: VERIFICATION_VAR,
                    value: other.to_owned(),
                    allowed: "off, required",
                });
            }
        };
        let partial_match = match get(PARTIAL_MATCH_VAR).as_deref() {
            None | Some("deny") => PartialMatch::Deny,
            Some("allow") => PartialMatch::Allow,
            Some(other) => {
                return Err(RecipientPolicyError {
                    name: PARTIAL_MATCH_VAR,
                    value: other.to_owned(),
                    allowed: "allow, deny",
                });
            }
        };
        Ok(RecipientPolicy {
            verification,
            partial_match,
        })
    }

    /// May `payout` be sent, given the verification kept for its account (if any)?
    /// A verification of another account or service, or one past its 30 days, counts as none.
    /// The name is matched again against the payout's own `recipient_name`: the stored verdict
    /// was for whatever name the verification request carried, if any.
    pub fn admits(
        &self,
        payout: Recipient<'_>,
        verification: Option<&RecipientVerification>,
        now: DateTime<Utc>,
    ) -> PolicyDecision {
        if self.verification == VerificationMode::Off {
            return PolicyDecision::NotRequired;
        }
        let Some(verification) = verification.filter(|v| v.covers(&payout, now)) else {
            return PolicyDecision::NeedsVerification;
        };
        let name_match = match_names(payout.recipient_name, &verification.account_holder_name);
        let admitted = match name_match.verdict {
            NameVerdict::Exact => true,
            NameVerdict::Partial => self.partial_match == PartialMatch::Allow,
            // No name to compare (not possible for a valid payout): fail closed.
            NameVerdict::None | NameVerdict::NotChecked => false,
        };
        if admitted {
            PolicyDecision::Admitted {
                verification_id: verification.verification_id.clone(),
                name_match,
            }
        } else {
            PolicyDecision::Mismatch {
                account_holder_name: verification.account_holder_name.clone(),
                name_match,
            }
        }
    }
}

/// What the policy says of one payout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyDecision {
    /// `RECIPIENT_VERIFICATION=off`: send without asking.
    NotRequired,
    /// The account's holder matches: send.
    Admitted {
        verification_id: String,
        name_match: NameMatch,
    },
    /// No fresh verification of this account: verify it (one LeanX call, before any claim),
    /// then decide again with the new verification.
    NeedsVerification,
    /// 422 `recipient_mismatch`: nothing claimed, nothing sent.
    Mismatch {
        account_holder_name: String,
        name_match: NameMatch,
    },
}

/// The parts of a payout the policy looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recipient<'a> {
    pub payout_service_id: u32,
    pub third_party_account_no: &'a str,
    pub recipient_name: &'a str,
}

impl<'a> From<&'a PayoutRequest> for Recipient<'a> {
    fn from(request: &'a PayoutRequest) -> Recipient<'a> {
        Recipient {
            payout_service_id: request.payout_service_id,
            third_party_account_no: &request.third_party_account_no,
            recipient_name: &request.recipient_name,
        }
    }
}

/// One answer of LeanX's `check-verification-bank`, as API.md's `POST /recipient-verifications`
/// returns it and as it is kept for 30 days.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecipientVerification {
    /// `rv_` and 32 hex digits.
    pub verification_id: String,
    pub payout_service_id: u32,
    pub third_party_account_no: String,
    /// `CreditorName`, as the bank holds it.
    pub account_holder_name: String,
    /// `OrgnThirdPartyBankBICCode`, when LeanX sends it.
    pub bank_bic: Option<String>,
    /// Of the `recipient_name` the verification request carried (`not_checked` without one).
    pub name_match: NameVerdict,
    pub name_score: Decimal,
    pub verified_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl RecipientVerification {
    /// A verification made `now` from LeanX's answer, with a new id, its name matched against
    /// `recipient_name` when one was given, and 30 days to live.
    pub fn new(
        payout_service_id: u32,
        third_party_account_no: &str,
        account_holder_name: &str,
        bank_bic: Option<&str>,
        recipient_name: Option<&str>,
        verified_at: DateTime<Utc>,
    ) -> RecipientVerification {
        let name_match = recipient_name
            .map(|name| match_names(name, account_holder_name))
            .unwrap_or_else(NameMatch::not_checked);
        RecipientVerification {
            verification_id: new_verification_id(),
            payout_service_id,
            third_party_account_no: third_party_account_no.to_owned(),
            account_holder_name: account_holder_name.to_owned(),
            bank_bic: bank_bic.map(str::to_owned),
            name_match: name_match.verdict,
            name_score: name_match.score,
            verified_at,
            expires_at: verified_at + Duration::days(VERIFICATION_TTL_DAYS),
        }
    }

    /// Younger than 30 days at `now`, whatever `expires_at` a stored copy claims.
    pub fn is_fresh(&self, now: DateTime<Utc>) -> bool {
        now < self.expires_at && now < self.verified_at + Duration::days(VERIFICATION_TTL_DAYS)
    }

    /// Fresh, and of this payout's account at this payout's bank.
    pub fn covers(&self, payout: &Recipient<'_>, now: DateTime<Utc>) -> bool {
        self.is_fresh(now)
            && self.payout_service_id == payout.payout_service_id
            && self.third_party_account_no == payout.third_party_account_no
    }
}

/// `rv_` and a random UUID's 32 hex digits.
pub fn new_verification_id() -> String {
    format!("rv_{}", uuid::Uuid::new_v4().simple())
}

#[cfg(test)]
mod tests;
