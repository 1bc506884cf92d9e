//! Batch payouts end to end (docs/api.md "POST /payout-batches"): the real functions under the
//! Lambda emulator, the table and the batch queue on moto, `tools/event-runner`'s queue mapping
//! as Lambda's SQS trigger of `send-batch-items`, and the LeanX simulator over real HTTP, which
//! counts every send.

use std::collections::BTreeMap;
use std::time::Duration;

use leanx_payouts::domain::{NOT_RECEIVED_BY_PROVIDER, PayoutStatus};
use leanx_sim::control::{FaultKind, Outcome, Times};
use payouts_e2e::batch_stack::{BatchStack, Reconcile, batch, decimal};
use payouts_e2e::reliability::check_history;
use payouts_e2e::stack::StackOptions;
use rust_decimal::Decimal;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_acceptance_killed_half_way_is_finished_by_the_retry_with_no_item_twice() {
    let marker = std::env::temp_dir().join(format!(
        "batch-crash-once-{}",
        uuid::Uuid::new_v4().simple()
    ));
    let options = StackOptions {
        function_env: vec![
            (
                "create-payout-batch".into(),
                "PAYOUTS_CRASH_POINT".into(),
                "accept_batch_half_recorded".into(),
            ),
            (
                "create-payout-batch".into(),
                "PAYOUTS_CRASH_ONCE".into(),
                marker.display().to_string(),
            ),
        ],
        ..StackOptions::default()
    };
    let stack = BatchStack::start(StackOptions {
        invocation_timeout: Duration::from_secs(120),
        ..options
    })
    .await;
    let (body, total) = batch("PAYROLL-KILLED", "KIL", 1_000);
    let killed = stack.submit(&body).await;
    assert!(killed.status >= 500, "the acceptance died: {killed:?}");
    assert!(marker.exists(), "the crash point was reached");
    let half = stack.batch("PAYROLL-KILLED").await;
    assert_eq!(half.body["complete"], false);

    let retried = stack.submit(&body).await;
    assert_eq!(retried.status, 202, "{:?}", retried.body);
    let done = stack
        .wait_complete("PAYROLL-KILLED", Duration::from_secs(300), Reconcile::No)
        .await;
    assert_eq!(done["counts"]["SUCCEEDED"], 1_000, "{done}");
    assert_eq!(decimal(&done["amounts"]["SUCCEEDED"]), total);
    let sends = stack.sends_per_ref().await;
    assert_eq!(sends.len(), 1_000);
    assert!(sends.values().all(|n| *n == 1), "an item was sent twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn leanx_faults_on_a_tenth_of_the_items_end_each_one_as_leanx_has_it() {
    let options = StackOptions {
        grace_period_seconds: 2,
        ..StackOptions::default()
    };
    let stack = BatchStack::start(options).await;
    let sim = stack.stack.sim();
    // 30 of 300 sends meet a fault: answers lost after LeanX recorded the payout, refusals
    // before it did, dropped connections both sides; and LeanX fails some payouts itself
    // (which it never pushes: only the reconciler finds them).
    for (kind, times) in [
        (FaultKind::Http500After, 8),
        (FaultKind::Http500Before, 6),
        (FaultKind::DropAfter, 8),
        (FaultKind::DropBefore, 8),
    ] {
        sim.inject_fault("create-payout-invoice", kind, Times::Count(times))
            .await
            .expect("a fault");
    }
    for i in (0..300).step_by(37) {
        sim.set_account_outcome(
            &format!("80114{:05}", i),
            Outcome::Failed {
                error_description: Some("account closed".into()),
            },
        )
        .await
        .expect("an account outcome");
    }
    let (body, total) = batch("PAYROLL-FAULTS", "FLT", 300);
    let accepted = stack.submit(&body).await;
    assert_eq!(
        accepted.status,
        202,
        "{:?}\n{}",
        accepted.body,
        stack.errors()
    );
    let done = stack
        .wait_complete(
            "PAYROLL-FAULTS",
            Duration::from_secs(600),
            Reconcile::MakingOpenItemsDue,
        )
        .await;
    let amounts: Decimal = ["SUCCEEDED", "FAILED"]
        .iter()
        .map(|s| decimal(&done["amounts"][*s]))
        .sum();
    assert_eq!(amounts, total, "{done}");

    let sends = stack.sends_per_ref().await;
    assert!(sends.values().all(|n| *n == 1), "an item was sent twice");
    let held: BTreeMap<String, String> = sim
        .payouts()
        .await
        .expect("the simulator's payouts")
        .into_iter()
        .filter_map(|p| {
            Some((
                p.external_invoice_ref.clone()?,
                p.transaction_status.clone(),
            ))
        })
        .collect();
    for i in 0..300 {
        let reference = format!("FLT-{i}");
        let payout = stack.stack.stored(&reference).await.expect("stored");
        check_history(&payout).unwrap_or_else(|e| panic!("{reference}: {e}"));
        match held.get(&reference).map(String::as_str) {
            Some("SUCCESS") => assert_eq!(payout.status, PayoutStatus::Succeeded, "{reference}"),
            Some("FAILED") => assert_eq!(payout.status, PayoutStatus::Failed, "{reference}"),
            Some(other) => panic!("{reference}: LeanX still holds it as {other}"),
            None => {
                assert_eq!(payout.status, PayoutStatus::Failed, "{reference}");
                assert_eq!(
                    payout.failure.as_ref().map(|f| f.code.as_str()),
                    Some(NOT_RECEIVED_BY_PROVIDER),
                    "{reference}: LeanX never held it"
                );
            }
        }
    }
}

#[tokio::test]
async fn invalid_items_are_all_listed_and_a_taken_ref_is_named_and_nothing_is_recorded() {
    let stack = BatchStack::start(StackOptions::default()).await;
    let (mut body, _) = batch("PAYROLL-BAD", "BAD", 4);
    body["items"][1]["amount"] = json!("0.001");
    body["items"][3]["external_invoice_ref"] = json!("BAD-0");
    let refused = stack.submit(&body).await;
    assert_eq!(refused.status, 400, "{:?}", refused.body);
    assert_eq!(refused.error_code(), Some("invalid_request"));
    let items = refused.body["error"]["items"].as_array().unwrap();
    let listed: Vec<(u64, &str)> = items
        .iter()
        .map(|i| (i["index"].as_u64().unwrap(), i["field"].as_str().unwrap()))
        .collect();
    assert_eq!(listed, [(1, "amount"), (3, "external_invoice_ref")]);
    assert_eq!(stack.batch("PAYROLL-BAD").await.status, 404);
    assert!(stack.stack.stored("BAD-0").await.is_none());

    // A payout made alone under one of the refs, with another body.
    let mut alone = payouts_e2e::stack::payout_body("TAKEN-1");
    alone["amount"] = json!("99.00");
    assert_eq!(stack.stack.create(&alone).await.status, 201);
    let (body, _) = batch("PAYROLL-TAKEN", "TAKEN", 3);
    let conflict = stack.submit(&body).await;
    assert_eq!(conflict.status, 409, "{:?}", conflict.body);
    assert_eq!(conflict.body["error"]["items"][0]["index"], 1);
    assert!(stack.stack.stored("TAKEN-0").await.is_none());
    assert_eq!(stack.batch("PAYROLL-TAKEN").await.status, 404);
}
