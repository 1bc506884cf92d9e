use std::sync::Arc;

use chrono::Duration;
use rust_decimal::Decimal;

use super::*;
use crate::domain::NameVerdict;
use crate::testing::{InMemoryVerifications, ScriptedProvider, t0};

fn world() -> (
    Arc<ScriptedProvider>,
    Arc<InMemoryVerifications>,
    VerifyRecipient,
) {
    let leanx = Arc::new(ScriptedProvider::new());
    let kept = Arc::new(InMemoryVerifications::new());
    let verify = VerifyRecipient {
        accounts: leanx.clone(),
        verifications: kept.clone(),
    };
    (leanx, kept, verify)
}

const BODY: &[u8] =
    br#"{"payout_service_id":23,"third_party_account_no":"8011408168","recipient_name":"John Doe"}"#;

#[tokio::test]
async fn a_found_holder_is_matched_kept_and_answered() {
    let (leanx, kept, verify) = world();
    leanx.answer_holder("JOHN DOE");
    let outcome = verify.run(BODY, t0()).await.unwrap();
    let VerifyOutcome::Verified(v) = outcome else {
        panic!("{outcome:?}")
    };
    assert!(v.verification_id.starts_with("rv_"));
    assert_eq!(v.account_holder_name, "JOHN DOE");
    assert_eq!(v.bank_bic.as_deref(), Some("MBBEMYKL"));
    assert_eq!(v.name_match, NameVerdict::Exact);
    assert_eq!(v.name_score, Decimal::new(100, 2));
    assert_eq!(v.verified_at, t0());
    assert_eq!(v.expires_at, t0() + Duration::days(30));
    assert_eq!(kept.saved(), vec![v.clone()]);
    assert_eq!(kept.latest_for(23, "8011408168").await.unwrap(), Some(v));
    assert_eq!(leanx.verified(), vec![(23, "8011408168".to_owned())]);
}

#[tokio::test]
async fn without_a_name_the_match_is_not_checked() {
    let (leanx, _kept, verify) = world();
    leanx.answer_holder("JOHN DOE");
    let outcome = verify
        .run(
            br#"{"payout_service_id":23,"third_party_account_no":"8011408168"}"#,
            t0(),
        )
        .await
        .unwrap();
    assert!(
        matches!(&outcome, VerifyOutcome::Verified(v) if v.name_match == NameVerdict::NotChecked && v.name_score.to_string() == "0.00"),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn another_holder_is_answered_as_no_match_and_still_kept() {
    let (leanx, kept, verify) = world();
    leanx.answer_holder("SITI AMINAH BINTI OMAR");
    let outcome = verify.run(BODY, t0()).await.unwrap();
    assert!(
        matches!(&outcome, VerifyOutcome::Verified(v) if v.name_match == NameVerdict::None),
        "{outcome:?}"
    );
    assert_eq!(kept.saved().len(), 1);
}

#[tokio::test]
async fn an_unknown_account_keeps_nothing() {
    let (leanx, kept, verify) = world();
    leanx.answer_verification(Ok(BankVerification::AccountNotFound));
    assert_eq!(
        verify.run(BODY, t0()).await.unwrap(),
        VerifyOutcome::AccountNotFound
    );
    assert!(kept.saved().is_empty());
}

#[tokio::test]
async fn a_payout_service_leanx_does_not_pay_keeps_nothing() {
    let (leanx, kept, verify) = world();
    leanx.answer_verification(Ok(BankVerification::ServiceNotFound));
    assert_eq!(
        verify.run(BODY, t0()).await.unwrap(),
        VerifyOutcome::ServiceNotFound
    );
    assert!(kept.saved().is_empty());
}

#[tokio::test]
async fn leanx_unreachable_or_unreadable_is_a_provider_error_and_keeps_nothing() {
    for answer in [
        LeanxError::NotSent("connection refused".into()),
        LeanxError::OutcomeUnknown("timeout".into()),
        LeanxError::Malformed("no Success".into()),
        ScriptedProvider::refusal("5000", "MAINTENANCE"),
    ] {
        let (leanx, kept, verify) = world();
        leanx.answer_verification(Err(answer.clone()));
        let error = verify.run(BODY, t0()).await.unwrap_err();
        assert!(
            matches!(error, VerifyError::Provider(ref e) if *e == answer),
            "{error:?}"
        );
        assert!(kept.saved().is_empty());
    }
}

#[tokio::test]
async fn a_bad_body_asks_leanx_nothing_and_keeps_nothing() {
    let (leanx, kept, verify) = world();
    let error = verify
        .run(
            br#"{"payout_service_id":23,"third_party_account_no":"123"}"#,
            t0(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&error, VerifyError::Invalid(v) if v.field.as_deref() == Some("third_party_account_no")),
        "{error:?}"
    );
    assert!(leanx.verified().is_empty());
    assert!(kept.saved().is_empty());
}

#[tokio::test]
async fn a_body_over_16_kib_is_too_large() {
    let (leanx, _kept, verify) = world();
    let big = vec![b' '; MAX_BODY_BYTES + 1];
    assert!(matches!(
        verify.run(&big, t0()).await,
        Err(VerifyError::TooLarge)
    ));
    assert!(leanx.verified().is_empty());
}

#[tokio::test]
async fn a_store_that_cannot_keep_it_fails_the_verification() {
    let (leanx, kept, verify) = world();
    leanx.answer_holder("JOHN DOE");
    kept.go_down();
    assert!(matches!(
        verify.run(BODY, t0()).await,
        Err(VerifyError::Store(_))
    ));
}
