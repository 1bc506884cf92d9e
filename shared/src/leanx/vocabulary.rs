//! LeanX's words and what they mean to this service: `transaction_status` values, which
//! refusals say our credentials are wrong (and so never mean "LeanX does not know it"), which
//! refusals of `create-payout-invoice` are known to mean "not created", and which lookup answer
//! is a recognised "not found". docs/leanx-notes.md lists each with its source.

use crate::domain::LeanxTransactionStatus;

/// Reads `transaction_status` as LeanX's docs list it.
pub fn parse_transaction_status(text: &str, detail: Option<String>) -> LeanxTransactionStatus {
    match text {
        "SUCCESS" => LeanxTransactionStatus::Success,
        "FAILED" => LeanxTransactionStatus::Failed { detail },
        "PENDING" => LeanxTransactionStatus::Pending,
        "STATUS_PENDING_APPROVAL" => LeanxTransactionStatus::PendingApproval,
        other => LeanxTransactionStatus::Other(other.to_owned()),
    }
}

/// A refusal that says our credentials are wrong rather than that the payout is unknown: it
/// must never be read as "LeanX never received it".
pub fn is_credential_refusal(code: &str, description: &str) -> bool {
    let text = format!("{code} {description}").to_ascii_uppercase();
    code == "5699"
        || ["TOKEN", "UUID", "SIGNATURE", "FORBIDDEN", "UNAUTHORI"]
            .iter()
            .any(|w| text.contains(w))
}

/// Whether a refusal of `create-payout-invoice` is known to mean LeanX created nothing, so the
/// payout may be declared FAILED at once. Only refusals whose meaning is documented or seen:
/// 4566 (validation, LEANX.md), credential refusals (5699 INVALID_UUID, INVALID_TOKEN, a
/// forbidden endpoint, a bad signature), and a refusal naming the pool (invalid pool, pool too
/// low). Any other code (9999, say) leaves the payout PENDING, its send started, and the
/// reconciler asks LeanX: a code we cannot read is never taken as "nothing happened".
pub fn create_refusal_means_not_created(code: &str, description: &str) -> bool {
    let text = description.to_ascii_uppercase();
    code == "4566" || is_credential_refusal(code, description) || text.contains("POOL")
}

/// Whether a refusal of `get-payout-transaction-by-id` is a recognised "not found": one of
/// `not_found_codes` (configuration: LeanX's code is undocumented, LEANX.md). Anything else,
/// a rate limit or maintenance answer in LeanX's envelope say, is never evidence of absence.
pub fn is_recognised_not_found(code: &str, description: &str, not_found_codes: &[String]) -> bool {
    !is_credential_refusal(code, description) && not_found_codes.iter().any(|c| c == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_refusals_are_not_read_as_unknown_payouts() {
        assert!(is_credential_refusal("5699", "INVALID_UUID"));
        assert!(is_credential_refusal("INVALID_TOKEN", ""));
        assert!(is_credential_refusal(
            "4001",
            "Requested endpoint is forbidden"
        ));
        assert!(!is_credential_refusal("4004", "TRANSACTION_NOT_FOUND"));
    }

    #[test]
    fn only_known_create_refusals_mean_not_created() {
        assert!(create_refusal_means_not_created("4566", "FAILED"));
        assert!(create_refusal_means_not_created("5699", "INVALID_UUID"));
        assert!(create_refusal_means_not_created(
            "4568",
            "INVALID_VIRTUAL_POOL_REFERENCE"
        ));
        assert!(create_refusal_means_not_created(
            "4570",
            "INSUFFICIENT_POOL_BALANCE"
        ));
        assert!(!create_refusal_means_not_created("9999", "UNKNOWN"));
        assert!(!create_refusal_means_not_created(
            "4290",
            "TOO_MANY_REQUESTS"
        ));
        assert!(!create_refusal_means_not_created("5000", "MAINTENANCE"));
    }

    #[test]
    fn only_configured_codes_are_a_recognised_not_found() {
        let codes = vec!["4004".to_owned()];
        assert!(is_recognised_not_found(
            "4004",
            "TRANSACTION_NOT_FOUND",
            &codes
        ));
        assert!(!is_recognised_not_found(
            "4290",
            "TOO_MANY_REQUESTS",
            &codes
        ));
        assert!(!is_recognised_not_found("5000", "MAINTENANCE", &codes));
        assert!(!is_recognised_not_found("5699", "INVALID_UUID", &codes));
    }

    #[test]
    fn a_known_status_in_another_case_is_not_read_as_known() {
        assert_eq!(
            parse_transaction_status("Success", None),
            LeanxTransactionStatus::Other("Success".into())
        );
    }

    #[test]
    fn documented_statuses_are_read() {
        assert_eq!(
            parse_transaction_status("SUCCESS", None),
            LeanxTransactionStatus::Success
        );
        assert_eq!(
            parse_transaction_status("STATUS_PENDING_APPROVAL", None),
            LeanxTransactionStatus::PendingApproval
        );
    }
}
