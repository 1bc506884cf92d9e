use std::sync::Arc;

use chrono::Duration;

use super::*;
use crate::domain::{
    NameVerdict, PartialMatch, PayoutStatus, RecipientVerification, SendState, VerificationMode,
};
use crate::leanx::{AcceptedPayout, BankVerification, LeanxError};
use crate::testing::{InMemoryStore, InMemoryVerifications, ScriptedProvider, payout_body, t0};

fn accepted(invoice_no: &str) -> Result<AcceptedPayout, LeanxError> {
    Ok(AcceptedPayout {
        status: Some("SUCCESS".into()),
        invoice_no: invoice_no.into(),
    })
}

fn create(store: &Arc<InMemoryStore>, provider: &Arc<ScriptedProvider>) -> CreatePayout {
    create_with(
        store,
        provider,
        RecipientPolicy::default(),
        Arc::new(InMemoryVerifications::new()),
    )
}

fn create_with(
    store: &Arc<InMemoryStore>,
    provider: &Arc<ScriptedProvider>,
    policy: RecipientPolicy,
    verifications: Arc<InMemoryVerifications>,
) -> CreatePayout {
    CreatePayout {
        store: store.clone(),
        provider: provider.clone(),
        destination: PayoutDestination {
            virtual_pool_reference: "VA-1".into(),
            callback_url: "http://127.0.0.1/callbacks/leanx".into(),
        },
        timings: Timings::default(),
        recipients: RecipientCheck {
            policy,
            accounts: provider.clone(),
            verifications,
        },
    }
}

fn world() -> (Arc<InMemoryStore>, Arc<ScriptedProvider>) {
    (
        Arc::new(InMemoryStore::new()),
        Arc::new(ScriptedProvider::new()),
    )
}

#[tokio::test]
async fn a_new_payout_is_sent_once_and_answers_processing() {
    let (store, leanx) = world();
    leanx.answer_create(accepted("PAYOUT-1"));
    let outcome = create(&store, &leanx)
        .run(&payout_body("INV-1"), t0())
        .await
        .unwrap();
    let CreateOutcome::Created(payout) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(payout.status, PayoutStatus::Processing);
    assert_eq!(payout.invoice_no.as_deref(), Some("PAYOUT-1"));
    assert_eq!(leanx.sent(), vec!["INV-1"]);
}

#[tokio::test]
async fn the_same_request_again_is_replayed_without_a_second_send() {
    let (store, leanx) = world();
    leanx.answer_create(accepted("PAYOUT-1"));
    let uc = create(&store, &leanx);
    uc.run(&payout_body("INV-1"), t0()).await.unwrap();
    let again = uc
        .run(&payout_body("INV-1"), t0() + Duration::seconds(1))
        .await
        .unwrap();
    assert!(matches!(again, CreateOutcome::Replayed(p) if p.status == PayoutStatus::Processing));
    assert_eq!(leanx.sent().len(), 1);
}

#[tokio::test]
async fn another_body_under_the_same_ref_is_a_conflict() {
    let (store, leanx) = world();
    leanx.answer_create(accepted("PAYOUT-1"));
    let uc = create(&store, &leanx);
    uc.run(&payout_body("INV-1"), t0()).await.unwrap();
    let other = String::from_utf8(payout_body("INV-1"))
        .unwrap()
        .replace("13.00", "14.00");
    assert_eq!(
        uc.run(other.as_bytes(), t0()).await.unwrap(),
        CreateOutcome::Conflict
    );
    assert_eq!(leanx.sent().len(), 1);
}

#[tokio::test]
async fn a_repeat_while_the_claim_is_live_is_in_progress() {
    let (store, leanx) = world();
    let claim = Payout::new_pending(
        &PayoutRequest::from_json(&payout_body("INV-1")).unwrap(),
        "other".into(),
        t0(),
        Duration::seconds(30),
    );
    store.put(claim);
    let outcome = create(&store, &leanx)
        .run(&payout_body("INV-1"), t0() + Duration::seconds(5))
        .await
        .unwrap();
    assert_eq!(
        outcome,
        CreateOutcome::InProgress {
            retry_after_seconds: 25
        }
    );
    assert!(leanx.sent().is_empty());
}

#[tokio::test]
async fn a_known_refusal_fails_the_payout_with_its_code() {
    let (store, leanx) = world();
    leanx.answer_create(Err(ScriptedProvider::refusal("4566", "FAILED")));
    let outcome = create(&store, &leanx)
        .run(&payout_body("INV-1"), t0())
        .await
        .unwrap();
    let CreateOutcome::Created(payout) = outcome else {
        panic!()
    };
    assert_eq!(payout.status, PayoutStatus::Failed);
    assert_eq!(payout.failure.unwrap().code, "leanx_4566");
}

#[tokio::test]
async fn an_unknown_refusal_code_leaves_the_payout_pending_with_its_send_started() {
    let (store, leanx) = world();
    leanx.answer_create(Err(ScriptedProvider::refusal("9999", "UNKNOWN")));
    let outcome = create(&store, &leanx)
        .run(&payout_body("INV-1"), t0())
        .await
        .unwrap();
    let CreateOutcome::Created(payout) = outcome else {
        panic!()
    };
    assert_eq!(payout.status, PayoutStatus::Pending);
    assert_eq!(payout.send_state, SendState::Started);
    assert_eq!(payout.failure, None);
}

#[tokio::test]
async fn a_lost_answer_stays_pending_and_is_never_sent_again() {
    let (store, leanx) = world();
    leanx.answer_create(Err(LeanxError::OutcomeUnknown("timeout".into())));
    let uc = create(&store, &leanx);
    let first = uc.run(&payout_body("INV-1"), t0()).await.unwrap();
    assert!(matches!(first, CreateOutcome::Created(p) if p.status == PayoutStatus::Pending));
    let retry = uc
        .run(&payout_body("INV-1"), t0() + Duration::minutes(5))
        .await
        .unwrap();
    assert!(matches!(retry, CreateOutcome::Replayed(_)));
    assert_eq!(leanx.sent().len(), 1);
}

#[tokio::test]
async fn a_send_that_never_left_answers_not_sent_and_the_retry_sends_once() {
    let (store, leanx) = world();
    for _ in 0..3 {
        leanx.answer_create(Err(LeanxError::NotSent("connection refused".into())));
    }
    let uc = create(&store, &leanx);
    let first = uc.run(&payout_body("INV-1"), t0()).await.unwrap();
    assert!(matches!(first, CreateOutcome::NotSent { .. }), "{first:?}");
    let stored = store.stored("INV-1").unwrap();
    assert_eq!(stored.send_state, SendState::NotStarted);
    leanx.answer_create(accepted("PAYOUT-1"));
    let retry = uc
        .run(&payout_body("INV-1"), t0() + Duration::seconds(2))
        .await
        .unwrap();
    assert!(
        matches!(&retry, CreateOutcome::Created(p) if p.status == PayoutStatus::Processing),
        "{retry:?}"
    );
    // three attempts that never left, then the one real send
    assert_eq!(leanx.sent().len(), 4);
}

#[tokio::test]
async fn a_body_over_16_kib_is_refused_before_anything_is_written() {
    let (store, leanx) = world();
    let big = vec![b' '; MAX_BODY_BYTES + 1];
    assert!(matches!(
        create(&store, &leanx).run(&big, t0()).await,
        Err(CreateError::TooLarge)
    ));
    assert_eq!(store.saves(), 0);
}

// ---------------------------------------------------------------- the recipient policy

const REQUIRED: RecipientPolicy = RecipientPolicy {
    verification: VerificationMode::Required,
    partial_match: PartialMatch::Deny,
};
const REQUIRED_ALLOWING_PARTIAL: RecipientPolicy = RecipientPolicy {
    verification: VerificationMode::Required,
    partial_match: PartialMatch::Allow,
};

/// A payout world under `policy`: the store, LeanX, the kept verifications, the use case.
fn policed(
    policy: RecipientPolicy,
) -> (
    Arc<InMemoryStore>,
    Arc<ScriptedProvider>,
    Arc<InMemoryVerifications>,
    CreatePayout,
) {
    let (store, leanx) = world();
    let kept = Arc::new(InMemoryVerifications::new());
    let uc = create_with(&store, &leanx, policy, kept.clone());
    (store, leanx, kept, uc)
}

/// A payout body to `recipient_name` at payout_body's account.
fn payout_to(external_ref: &str, recipient_name: &str) -> Vec<u8> {
    String::from_utf8(payout_body(external_ref))
        .unwrap()
        .replace("John Doe", recipient_name)
        .into_bytes()
}

fn kept_verification(holder: &str, verified_at: DateTime<Utc>) -> RecipientVerification {
    RecipientVerification::new(
        23,
        "8011408168",
        holder,
        Some("MBBEMYKL"),
        None,
        verified_at,
    )
}

/// Nothing of the payout exists: no claim, no write, no send.
fn nothing_claimed_or_sent(store: &InMemoryStore, leanx: &ScriptedProvider, external_ref: &str) {
    assert_eq!(store.stored(external_ref), None);
    assert_eq!(store.saves(), 0);
    assert!(leanx.sent().is_empty());
}

#[tokio::test]
async fn policy_off_never_asks_who_holds_the_account() {
    let (store, leanx, kept, uc) = policed(RecipientPolicy::default());
    leanx.answer_create(accepted("PAYOUT-1"));
    let outcome = uc.run(&payout_body("INV-1"), t0()).await.unwrap();
    assert!(matches!(outcome, CreateOutcome::Created(_)), "{outcome:?}");
    assert!(leanx.verified().is_empty());
    assert!(kept.saved().is_empty());
    assert!(store.stored("INV-1").is_some());
}

#[tokio::test]
async fn required_verifies_an_unverified_account_once_then_sends_an_exact_match() {
    let (_store, leanx, kept, uc) = policed(REQUIRED);
    leanx.answer_holder("JOHN DOE");
    leanx.answer_create(accepted("PAYOUT-1"));
    let outcome = uc.run(&payout_body("INV-1"), t0()).await.unwrap();
    assert!(
        matches!(&outcome, CreateOutcome::Created(p) if p.status == PayoutStatus::Processing),
        "{outcome:?}"
    );
    assert_eq!(leanx.verified(), vec![(23, "8011408168".to_owned())]);
    assert_eq!(leanx.sent(), vec!["INV-1"]);
    let saved = kept.saved();
    assert_eq!(
        saved.len(),
        1,
        "the policy's verification is kept like any other"
    );
    assert_eq!(saved[0].name_match, NameVerdict::Exact);
}

#[tokio::test]
async fn required_relies_on_a_fresh_kept_verification_without_asking_leanx() {
    let (_store, leanx, kept, uc) = policed(REQUIRED);
    kept.save(&kept_verification("JOHN DOE", t0() - Duration::days(29)))
        .await
        .unwrap();
    leanx.answer_create(accepted("PAYOUT-1"));
    let outcome = uc.run(&payout_body("INV-1"), t0()).await.unwrap();
    assert!(matches!(outcome, CreateOutcome::Created(_)), "{outcome:?}");
    assert!(leanx.verified().is_empty());
    assert_eq!(leanx.sent(), vec!["INV-1"]);
}

#[tokio::test]
async fn required_verifies_again_when_the_kept_verification_is_thirty_days_old() {
    let (_store, leanx, kept, uc) = policed(REQUIRED);
    kept.save(&kept_verification("JOHN DOE", t0() - Duration::days(30)))
        .await
        .unwrap();
    leanx.answer_holder("JOHN DOE");
    leanx.answer_create(accepted("PAYOUT-1"));
    let outcome = uc.run(&payout_body("INV-1"), t0()).await.unwrap();
    assert!(matches!(outcome, CreateOutcome::Created(_)), "{outcome:?}");
    assert_eq!(leanx.verified().len(), 1);
}

#[tokio::test]
async fn required_refuses_another_holder_with_nothing_claimed_and_nothing_sent() {
    let (store, leanx, _kept, uc) = policed(REQUIRED_ALLOWING_PARTIAL);
    leanx.answer_holder("SITI AMINAH BINTI OMAR");
    leanx.answer_create(accepted("PAYOUT-1"));
    let outcome = uc.run(&payout_body("INV-1"), t0()).await.unwrap();
    let CreateOutcome::RecipientMismatch {
        account_holder_name,
        name_match,
    } = outcome
    else {
        panic!("{outcome:?}")
    };
    assert_eq!(account_holder_name, "SITI AMINAH BINTI OMAR");
    assert_eq!(name_match.verdict, NameVerdict::None);
    nothing_claimed_or_sent(&store, &leanx, "INV-1");
}

#[tokio::test]
async fn required_refuses_a_kept_mismatching_verification_without_asking_leanx() {
    let (store, leanx, kept, uc) = policed(REQUIRED);
    kept.save(&kept_verification("SITI AMINAH", t0()))
        .await
        .unwrap();
    let outcome = uc.run(&payout_body("INV-1"), t0()).await.unwrap();
    assert!(
        matches!(&outcome, CreateOutcome::RecipientMismatch { account_holder_name, .. } if account_holder_name == "SITI AMINAH"),
        "{outcome:?}"
    );
    assert!(leanx.verified().is_empty());
    nothing_claimed_or_sent(&store, &leanx, "INV-1");
}

#[tokio::test]
async fn required_refuses_a_partial_match_when_partial_is_denied() {
    let (store, leanx, _kept, uc) = policed(REQUIRED);
    leanx.answer_holder("AHMAD FAUZI BIN ABDULLAH");
    let outcome = uc
        .run(&payout_to("INV-1", "Ahmad Fauzi"), t0())
        .await
        .unwrap();
    assert!(
        matches!(&outcome, CreateOutcome::RecipientMismatch { name_match, .. } if name_match.verdict == NameVerdict::Partial),
        "{outcome:?}"
    );
    nothing_claimed_or_sent(&store, &leanx, "INV-1");
}

#[tokio::test]
async fn required_sends_a_partial_match_when_partial_is_allowed() {
    let (_store, leanx, _kept, uc) = policed(REQUIRED_ALLOWING_PARTIAL);
    leanx.answer_holder("AHMAD FAUZI BIN ABDULLAH");
    leanx.answer_create(accepted("PAYOUT-1"));
    let outcome = uc
        .run(&payout_to("INV-1", "Ahmad Fauzi"), t0())
        .await
        .unwrap();
    assert!(matches!(outcome, CreateOutcome::Created(_)), "{outcome:?}");
    assert_eq!(leanx.sent(), vec!["INV-1"]);
}

#[tokio::test]
async fn required_refuses_an_account_leanx_does_not_know() {
    let (store, leanx, kept, uc) = policed(REQUIRED);
    leanx.answer_verification(Ok(BankVerification::AccountNotFound));
    let outcome = uc.run(&payout_body("INV-1"), t0()).await.unwrap();
    assert_eq!(outcome, CreateOutcome::AccountNotFound);
    assert!(kept.saved().is_empty());
    nothing_claimed_or_sent(&store, &leanx, "INV-1");
}

#[tokio::test]
async fn required_with_leanx_unreachable_claims_nothing_and_sends_nothing() {
    let (store, leanx, kept, uc) = policed(REQUIRED);
    leanx.answer_verification(Err(LeanxError::NotSent("connection refused".into())));
    let outcome = uc.run(&payout_body("INV-1"), t0()).await.unwrap();
    assert!(
        matches!(outcome, CreateOutcome::RecipientUnverified { retry_after_seconds } if retry_after_seconds > 0),
        "{outcome:?}"
    );
    assert!(kept.saved().is_empty());
    nothing_claimed_or_sent(&store, &leanx, "INV-1");
}

#[tokio::test]
async fn required_with_an_unreadable_verification_answer_sends_nothing() {
    let (store, leanx, _kept, uc) = policed(REQUIRED);
    leanx.answer_verification(Err(LeanxError::Malformed("Success without a name".into())));
    let outcome = uc.run(&payout_body("INV-1"), t0()).await.unwrap();
    assert!(
        matches!(outcome, CreateOutcome::RecipientUnverified { .. }),
        "{outcome:?}"
    );
    nothing_claimed_or_sent(&store, &leanx, "INV-1");
}

#[tokio::test]
async fn required_with_the_verifications_unreadable_is_a_store_error_and_sends_nothing() {
    let (store, leanx, kept, uc) = policed(REQUIRED);
    kept.go_down();
    let error = uc.run(&payout_body("INV-1"), t0()).await.unwrap_err();
    assert!(matches!(error, CreateError::Store(_)), "{error:?}");
    assert!(leanx.verified().is_empty());
    nothing_claimed_or_sent(&store, &leanx, "INV-1");
}

#[tokio::test]
async fn required_checks_a_bad_body_before_asking_anything() {
    let (store, leanx, _kept, uc) = policed(REQUIRED);
    let bad = String::from_utf8(payout_body("INV-1"))
        .unwrap()
        .replace("8011408168", "80");
    let error = uc.run(bad.as_bytes(), t0()).await.unwrap_err();
    assert!(
        matches!(&error, CreateError::Invalid(v) if v.field.as_deref() == Some("third_party_account_no")),
        "{error:?}"
    );
    assert!(leanx.verified().is_empty());
    nothing_claimed_or_sent(&store, &leanx, "INV-1");
}
