//! Crash points: the real function processes die (abort, as a SIGKILL would leave them) at each
//! step of the money path, through `shared/src/crashpoint.rs`'s hooks; then the merchant retries
//! the same request and the reconciler runs. For every crash point: at most one
//! create-payout-invoice reached LeanX (exactly one where the crash came before the send
//! started), the payout ends in LeanX's final state (or FAILED `not_received_by_provider` where
//! LeanX never received it), and its history is consistent.

use std::time::Duration;

use leanx_payouts::domain::{PayoutStatus, SendState};
use leanx_sim::SimConfig;
use leanx_sim::control::{CallbackFaults, Outcome};
use payouts_e2e::reliability::{
    check_history, check_matches_leanx, create_with_retries, creates_for, make_due,
    reconcile_until_final, try_reconcile,
};
use payouts_e2e::stack::{Stack, StackOptions, payout_body};

const LIMIT: Duration = Duration::from_secs(10);

/// A stack whose `function` dies, once, when it reaches `point`.
async fn crashing_stack(function: &str, point: &str) -> Stack {
    let marker = std::env::temp_dir().join(format!("payouts-crash-once-{}", uuid::Uuid::new_v4()));
    Stack::start_with(StackOptions {
        claim_ttl_seconds: 1,
        grace_period_seconds: 2,
        refresh_after_seconds: 3600,
        sim: SimConfig {
            require_signature: true,
            // One delivery only: where the callback dies, the reconciler must settle.
            callback_retries: 0,
            ..SimConfig::default()
        },
        function_env: vec![
            (function.into(), "PAYOUTS_CRASH_POINT".into(), point.into()),
            (
                function.into(),
                "PAYOUTS_CRASH_ONCE".into(),
                marker.display().to_string(),
            ),
        ],
        ..StackOptions::default()
    })
    .await
}

fn crashed(stack: &Stack, function: &str, point: &str) -> bool {
    stack
        .emulator
        .logs(function)
        .iter()
        .any(|l| l.contains(&format!("crash point {point} reached")))
}

/// The create crash points: the first request dies at `point`; the retry and the reconciler
/// converge. Returns the final payout.
async fn create_crash(point: &str, outcome: Outcome, sends_expected: u64) {
    let stack = crashing_stack("create-payout", point).await;
    let sim = stack.sim();
    sim.set_callback_faults(CallbackFaults {
        drop: true,
        ..CallbackFaults::default()
    })
    .await
    .unwrap();
    sim.set_outcome(outcome).await.unwrap();
    let external_ref = format!("INV-CRASH-{point}");
    let body = payout_body(&external_ref);

    let first = stack.create(&body).await;
    assert_eq!(first.status, 502, "the process died mid-request: {first:?}");
    assert!(
        crashed(&stack, "create-payout", point),
        "{point} not reached"
    );
    let after_crash = stack
        .stored(&external_ref)
        .await
        .expect("the claim is kept");
    check_history(&after_crash).unwrap();

    let answers = create_with_retries(
        &stack,
        &body,
        Duration::from_secs(10),
        Duration::from_millis(500),
    )
    .await;
    let last = answers.last().unwrap();
    assert!(
        matches!(last.status, 200 | 201),
        "the retry converges: {answers:?}"
    );
    let settled = reconcile_until_final(&stack, &external_ref, LIMIT).await.0;
    assert!(settled.status.is_final(), "{point}: {settled:?}");
    check_history(&settled).unwrap();
    check_matches_leanx(&stack, &settled).await.unwrap();
    assert_eq!(
        creates_for(&stack, &external_ref).await,
        sends_expected,
        "{point}"
    );
    assert_eq!(
        stack.sim().payouts_for_ref(&external_ref).await.unwrap(),
        sends_expected
    );
}

#[tokio::test]
async fn create_killed_after_the_claim_is_sent_exactly_once_by_the_retry() {
    create_crash("create_after_claim", Outcome::Success, 1).await;
}

#[tokio::test]
async fn create_killed_before_the_answer_is_recorded_settles_to_leanx_success() {
    create_crash("create_after_send_answered", Outcome::Success, 1).await;
}

#[tokio::test]
async fn create_killed_before_the_answer_is_recorded_settles_to_leanx_failure() {
    create_crash(
        "create_after_send_answered",
        Outcome::Failed {
            error_description: Some("ACCOUNT CLOSED".into()),
        },
        1,
    )
    .await;
}

#[tokio::test]
async fn create_killed_after_the_answer_is_recorded_replays_and_settles() {
    create_crash("create_after_answer_recorded", Outcome::Success, 1).await;
}

#[tokio::test]
async fn the_not_received_verdict_after_a_marked_send_is_not_received_by_provider() {
    // The same crash point, checked for its exact verdict and its send state.
    let point = "create_after_send_marked";
    let stack = crashing_stack("create-payout", point).await;
    let external_ref = "INV-CRASH-MARKED-VERDICT";
    assert_eq!(stack.create(&payout_body(external_ref)).await.status, 502);
    let stored = stack.stored(external_ref).await.unwrap();
    assert_eq!(
        (stored.status, stored.send_state),
        (PayoutStatus::Pending, SendState::Started)
    );
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let retry = stack.create(&payout_body(external_ref)).await;
    assert_eq!(
        (retry.status, retry.header("idempotent-replayed")),
        (200, Some("true")),
        "a send that may have started is never repeated: {retry:?}"
    );
    let failed = reconcile_until_final(&stack, external_ref, LIMIT).await.0;
    assert_eq!(failed.status, PayoutStatus::Failed);
    assert_eq!(
        failed.failure.as_ref().unwrap().code,
        "not_received_by_provider"
    );
    assert_eq!(creates_for(&stack, external_ref).await, 0);
}

/// The callback function dies mid-update (before or after its write); LeanX's one delivery
/// fails; the reconciler (or the write already made) settles it, with one history entry.
async fn callback_crash(point: &str) {
    let stack = crashing_stack("leanx-callback", point).await;
    let external_ref = format!("INV-CB-{point}");
    let created = stack.create(&payout_body(&external_ref)).await;
    assert_eq!(created.status, 201, "{created:?}");
    let started = std::time::Instant::now();
    while !crashed(&stack, "leanx-callback", point) {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the callback never reached {point}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let deliveries = stack.sim().callbacks().await.unwrap();
    assert!(
        deliveries.iter().all(|c| c.http_status != Some(200)),
        "the one delivery failed: {deliveries:?}"
    );
    let settled = reconcile_until_final(&stack, &external_ref, LIMIT).await.0;
    assert_eq!(settled.status, PayoutStatus::Succeeded, "{settled:?}");
    check_history(&settled).unwrap();
    check_matches_leanx(&stack, &settled).await.unwrap();
    assert_eq!(creates_for(&stack, &external_ref).await, 1);
}

#[tokio::test]
async fn callback_killed_before_its_update_is_settled_by_the_reconciler() {
    callback_crash("callback_before_update").await;
}

#[tokio::test]
async fn callback_killed_after_its_update_keeps_one_transition() {
    callback_crash("callback_after_update").await;
}

/// The reconciler dies mid-update; the next pass settles the payout once.
async fn reconcile_crash(point: &str) {
    let stack = crashing_stack("reconcile-payouts", point).await;
    let sim = stack.sim();
    sim.set_callback_faults(CallbackFaults {
        drop: true,
        ..CallbackFaults::default()
    })
    .await
    .unwrap();
    sim.set_outcome(Outcome::Failed {
        error_description: Some("REJECTED BY BANK".into()),
    })
    .await
    .unwrap();
    let external_ref = format!("INV-RC-{point}");
    let created = stack.create(&payout_body(&external_ref)).await;
    assert_eq!(created.body["status"], "PROCESSING", "{created:?}");
    let started = std::time::Instant::now();
    while leanx_payouts_status(&stack, &external_ref).await != "FAILED" {
        assert!(started.elapsed() < Duration::from_secs(10));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    make_due(&stack, &external_ref).await;
    let first = try_reconcile(&stack).await;
    assert!(first.is_err(), "the pass died: {first:?}");
    assert!(crashed(&stack, "reconcile-payouts", point));
    let between = stack.stored(&external_ref).await.unwrap();
    check_history(&between).unwrap();
    let settled = reconcile_until_final(&stack, &external_ref, LIMIT).await.0;
    assert_eq!(settled.status, PayoutStatus::Failed, "{settled:?}");
    assert_eq!(settled.failure.as_ref().unwrap().code, "leanx_failed");
    check_history(&settled).unwrap();
    check_matches_leanx(&stack, &settled).await.unwrap();
    assert_eq!(
        settled
            .history
            .iter()
            .filter(|h| h.to == PayoutStatus::Failed)
            .count(),
        1
    );
    assert_eq!(creates_for(&stack, &external_ref).await, 1);
}

async fn leanx_payouts_status(stack: &Stack, external_ref: &str) -> String {
    payouts_e2e::reliability::leanx_status(stack, external_ref)
        .await
        .unwrap_or_default()
}

#[tokio::test]
async fn reconciler_killed_before_its_update_settles_on_the_next_pass() {
    reconcile_crash("reconcile_before_update").await;
}

#[tokio::test]
async fn reconciler_killed_after_its_update_keeps_one_transition() {
    reconcile_crash("reconcile_after_update").await;
}

/// Issue 11, finding 1: the reconciler judges an abandoned claim "not received" and, before its
/// verdict is written, the merchant's retry takes the claim over and sends it. The verdict was
/// judged on a state that no longer holds: it must be dropped, never re-decided on the fresh
/// copy (which would answer FAILED "no money moved" for a payout LeanX is paying).
#[tokio::test]
async fn a_not_received_verdict_loses_to_a_retry_that_took_the_claim_over_meanwhile() {
    let marker = std::env::temp_dir().join(format!("payouts-crash-once-{}", uuid::Uuid::new_v4()));
    let stack = Stack::start_with(StackOptions {
        claim_ttl_seconds: 1,
        grace_period_seconds: 2,
        refresh_after_seconds: 3600,
        function_env: vec![
            (
                "create-payout".into(),
                "PAYOUTS_CRASH_POINT".into(),
                "create_after_claim".into(),
            ),
            (
                "create-payout".into(),
                "PAYOUTS_CRASH_ONCE".into(),
                marker.display().to_string(),
            ),
            (
                "reconcile-payouts".into(),
                "PAYOUTS_PAUSE_POINT".into(),
                "reconcile_before_verdict:3000".into(),
            ),
        ],
        ..StackOptions::default()
    })
    .await;
    // LeanX leaves the payout pending once it has it.
    stack.sim().set_outcome(Outcome::Pending).await.unwrap();
    let external_ref = "INV-VERDICT-RACE";
    let body = payout_body(external_ref);
    assert_eq!(
        stack.create(&body).await.status,
        502,
        "create died after its claim"
    );
    // The claim has expired and the grace period is over: the verdict falls due.
    tokio::time::sleep(Duration::from_millis(2_200)).await;

    let (_, retry) = tokio::join!(stack.reconcile(), async {
        assert!(
            payouts_e2e::reliability::wait_for_log(
                &stack,
                "reconcile-payouts",
                "pause point reconcile_before_verdict reached",
                Duration::from_secs(10),
            )
            .await,
            "the reconciler never judged the abandoned claim"
        );
        stack.create(&body).await
    });
    assert_eq!(retry.status, 201, "{retry:?}");
    assert_eq!(retry.body["status"], "PROCESSING", "{retry:?}");

    let after = stack.stored(external_ref).await.unwrap();
    assert_eq!(after.status, PayoutStatus::Processing, "{after:?}");
    assert_eq!(after.failure, None);
    check_history(&after).unwrap();
    assert_eq!(creates_for(&stack, external_ref).await, 1);
}
