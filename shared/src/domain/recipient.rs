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
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap()
    }

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    const REQUIRED: RecipientPolicy = RecipientPolicy {
        verification: VerificationMode::Required,
        partial_match: PartialMatch::Deny,
    };
    const REQUIRED_ALLOWING_PARTIAL: RecipientPolicy = RecipientPolicy {
        verification: VerificationMode::Required,
        partial_match: PartialMatch::Allow,
    };

    fn payout(name: &str) -> Recipient<'_> {
        Recipient {
            payout_service_id: 23,
            third_party_account_no: "8011408168",
            recipient_name: name,
        }
    }

    fn verification(holder: &str, verified_at: DateTime<Utc>) -> RecipientVerification {
        RecipientVerification::new(
            23,
            "8011408168",
            holder,
            Some("MBBEMYKL"),
            None,
            verified_at,
        )
    }

    #[test]
    fn policy_defaults_to_off_and_deny() {
        let policy = RecipientPolicy::from_env(env(&[])).unwrap();
        assert_eq!(policy.verification, VerificationMode::Off);
        assert_eq!(policy.partial_match, PartialMatch::Deny);
        assert_eq!(policy, RecipientPolicy::default());
    }

    #[test]
    fn policy_reads_every_value_of_api_md() {
        let policy = RecipientPolicy::from_env(env(&[
            ("RECIPIENT_VERIFICATION", "required"),
            ("RECIPIENT_PARTIAL_MATCH", "allow"),
        ]))
        .unwrap();
        assert_eq!(policy, REQUIRED_ALLOWING_PARTIAL);
        let policy = RecipientPolicy::from_env(env(&[
            ("RECIPIENT_VERIFICATION", "off"),
            ("RECIPIENT_PARTIAL_MATCH", "deny"),
        ]))
        .unwrap();
        assert_eq!(policy, RecipientPolicy::default());
    }

    #[test]
    fn policy_treats_an_empty_value_as_unset_and_ignores_case() {
        let policy = RecipientPolicy::from_env(env(&[
            ("RECIPIENT_VERIFICATION", " Required "),
            ("RECIPIENT_PARTIAL_MATCH", ""),
        ]))
        .unwrap();
        assert_eq!(policy, REQUIRED);
    }

    #[test]
    fn policy_refuses_a_bad_value_naming_its_variable() {
        let error = RecipientPolicy::from_env(env(&[("RECIPIENT_VERIFICATION", "on")]))
            .expect_err("accepted RECIPIENT_VERIFICATION=on");
        assert_eq!(error.name, "RECIPIENT_VERIFICATION");
        assert!(
            error.to_string().contains("RECIPIENT_VERIFICATION"),
            "{error}"
        );
        assert!(error.to_string().contains("off, required"), "{error}");

        let error = RecipientPolicy::from_env(env(&[("RECIPIENT_PARTIAL_MATCH", "yes")]))
            .expect_err("accepted RECIPIENT_PARTIAL_MATCH=yes");
        assert_eq!(error.name, "RECIPIENT_PARTIAL_MATCH");
        assert!(error.to_string().contains("allow, deny"), "{error}");
    }

    #[test]
    fn verification_lives_thirty_days_and_gets_an_rv_id() {
        let v = verification("JOHN DOE", now());
        assert_eq!(v.expires_at, now() + Duration::days(30));
        assert!(v.verification_id.starts_with("rv_"));
        assert_eq!(v.verification_id.len(), 3 + 32);
        assert_ne!(
            v.verification_id,
            verification("JOHN DOE", now()).verification_id
        );
    }

    #[test]
    fn verification_matches_the_name_it_was_asked_about() {
        let asked = RecipientVerification::new(
            23,
            "8011408168",
            "JOHN DOE",
            Some("MBBEMYKL"),
            Some("John Doe"),
            now(),
        );
        assert_eq!(asked.name_match, NameVerdict::Exact);
        assert_eq!(asked.name_score.to_string(), "1.00");
        let not_asked = verification("JOHN DOE", now());
        assert_eq!(not_asked.name_match, NameVerdict::NotChecked);
        assert_eq!(not_asked.name_score.to_string(), "0.00");
    }

    #[test]
    fn verification_serialises_as_api_md_shows_it() {
        let v = RecipientVerification::new(
            23,
            "8011408168",
            "JOHN DOE",
            Some("MBBEMYKL"),
            Some("John Doe"),
            now(),
        );
        let json = serde_json::to_value(&v).unwrap();
        assert_eq!(json["name_match"], "exact");
        assert_eq!(json["name_score"], "1.00");
        assert_eq!(json["payout_service_id"], 23);
        assert_eq!(json["expires_at"], "2026-12-31T12:00:00Z");
        let back: RecipientVerification = serde_json::from_value(json).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn off_sends_without_verification_even_to_a_mismatching_holder() {
        let off = RecipientPolicy::default();
        assert_eq!(
            off.admits(payout("John Doe"), None, now()),
            PolicyDecision::NotRequired
        );
        let other = verification("SITI AMINAH", now());
        assert_eq!(
            off.admits(payout("John Doe"), Some(&other), now()),
            PolicyDecision::NotRequired
        );
    }

    #[test]
    fn required_without_a_verification_needs_one() {
        assert_eq!(
            REQUIRED.admits(payout("John Doe"), None, now()),
            PolicyDecision::NeedsVerification
        );
    }

    #[test]
    fn required_admits_an_exact_match() {
        let v = verification("JOHN DOE", now());
        let decision = REQUIRED.admits(payout("Mr. John Doe"), Some(&v), now());
        let PolicyDecision::Admitted {
            verification_id,
            name_match,
        } = decision
        else {
            panic!("not admitted: {decision:?}");
        };
        assert_eq!(verification_id, v.verification_id);
        assert_eq!(name_match.verdict, NameVerdict::Exact);
    }

    #[test]
    fn required_refuses_a_partial_match_when_partial_is_denied() {
        let v = verification("AHMAD FAUZI BIN ABDULLAH", now());
        let decision = REQUIRED.admits(payout("Ahmad Fauzi"), Some(&v), now());
        assert_eq!(
            decision,
            PolicyDecision::Mismatch {
                account_holder_name: "AHMAD FAUZI BIN ABDULLAH".into(),
                name_match: match_names("Ahmad Fauzi", "AHMAD FAUZI BIN ABDULLAH"),
            }
        );
        let PolicyDecision::Mismatch { name_match, .. } = decision else {
            unreachable!()
        };
        assert_eq!(name_match.verdict, NameVerdict::Partial);
    }

    #[test]
    fn required_admits_a_partial_match_when_partial_is_allowed() {
        let v = verification("AHMAD FAUZI BIN ABDULLAH", now());
        let decision = REQUIRED_ALLOWING_PARTIAL.admits(payout("Ahmad Fauzi"), Some(&v), now());
        assert!(
            matches!(
                &decision,
                PolicyDecision::Admitted { name_match, .. } if name_match.verdict == NameVerdict::Partial
            ),
            "{decision:?}"
        );
    }

    #[test]
    fn required_refuses_a_different_holder_even_when_partial_is_allowed() {
        let v = verification("SITI AMINAH BINTI OMAR", now());
        let decision = REQUIRED_ALLOWING_PARTIAL.admits(payout("John Doe"), Some(&v), now());
        let PolicyDecision::Mismatch {
            account_holder_name,
            name_match,
        } = decision
        else {
            panic!("admitted: {decision:?}");
        };
        assert_eq!(account_holder_name, "SITI AMINAH BINTI OMAR");
        assert_eq!(name_match.verdict, NameVerdict::None);
    }

    #[test]
    fn required_matches_the_payouts_name_not_the_verifications_own() {
        // Verified asking about "Siti Aminah" (exact), then a payout to the same account for
        // someone else: the stored `exact` must not carry over.
        let v = RecipientVerification::new(
            23,
            "8011408168",
            "SITI AMINAH",
            Some("MBBEMYKL"),
            Some("Siti Aminah"),
            now(),
        );
        assert_eq!(v.name_match, NameVerdict::Exact);
        let decision = REQUIRED.admits(payout("John Doe"), Some(&v), now());
        assert!(
            matches!(decision, PolicyDecision::Mismatch { .. }),
            "{decision:?}"
        );
    }

    #[test]
    fn required_treats_an_expired_verification_as_none() {
        let v = verification("JOHN DOE", now() - Duration::days(30));
        assert_eq!(
            REQUIRED.admits(payout("John Doe"), Some(&v), now()),
            PolicyDecision::NeedsVerification
        );
        let just_fresh = verification(
            "JOHN DOE",
            now() - Duration::days(30) + Duration::seconds(1),
        );
        assert!(matches!(
            REQUIRED.admits(payout("John Doe"), Some(&just_fresh), now()),
            PolicyDecision::Admitted { .. }
        ));
    }

    #[test]
    fn required_ignores_a_stored_expiry_longer_than_thirty_days() {
        let mut v = verification("JOHN DOE", now() - Duration::days(31));
        v.expires_at = now() + Duration::days(365);
        assert_eq!(
            REQUIRED.admits(payout("John Doe"), Some(&v), now()),
            PolicyDecision::NeedsVerification
        );
    }

    #[test]
    fn required_treats_a_verification_of_another_account_as_none() {
        let v =
            RecipientVerification::new(23, "8011408169", "JOHN DOE", Some("MBBEMYKL"), None, now());
        assert_eq!(
            REQUIRED.admits(payout("John Doe"), Some(&v), now()),
            PolicyDecision::NeedsVerification
        );
    }

    #[test]
    fn required_treats_a_verification_at_another_bank_as_none() {
        let v =
            RecipientVerification::new(24, "8011408168", "JOHN DOE", Some("CIBBMYKL"), None, now());
        assert_eq!(
            REQUIRED.admits(payout("John Doe"), Some(&v), now()),
            PolicyDecision::NeedsVerification
        );
    }

    #[test]
    fn required_fails_closed_on_a_blank_payout_name() {
        let v = verification("JOHN DOE", now());
        let decision = REQUIRED_ALLOWING_PARTIAL.admits(payout("  "), Some(&v), now());
        assert!(
            matches!(
                &decision,
                PolicyDecision::Mismatch { name_match, .. } if name_match.verdict == NameVerdict::NotChecked
            ),
            "{decision:?}"
        );
    }

    #[test]
    fn recipient_is_read_from_a_payout_request() {
        let request = PayoutRequest::from_json(
            br#"{"external_invoice_ref":"INV-1","payout_service_id":23,"amount":"13.00",
                "recipient_name":"John Doe","third_party_account_no":"8011408168",
                "recipient_reference":"Salary"}"#,
        )
        .unwrap();
        assert_eq!(Recipient::from(&request), payout("John Doe"));
    }
}
