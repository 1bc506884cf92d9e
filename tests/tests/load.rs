//! Load with faults: 1,000 creates for distinct refs through the local stack, with one LeanX
//! fault injected for every tenth create (10%), then reconciler passes until nothing is open.
//! Reports creates/s, the passes needed, payouts not final (must be 0), duplicate sends (must
//! be 0) and payouts whose final state disagrees with LeanX (must be 0), and writes them into
//! `docs/reliability.md` (section `load`).
//!
//! It takes longer than the default test run should, so it is built only with the `load` feature
//! (`make reliability`); `RELIABILITY_LOAD_N` changes the number of creates.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use leanx_payouts::domain::PayoutStatus;
use leanx_sim::SimConfig;
use leanx_sim::control::{CallbackFaults, FaultKind, Outcome, RefCounts, Times};
use payouts_e2e::reliability::{make_due, outcome_label, try_reconcile, write_doc_section};
use payouts_e2e::stack::{Stack, StackOptions, payout_body};

const FAULTS: [FaultKind; 8] = [
    FaultKind::Latency { ms: 1_500 },
    FaultKind::Http500Before,
    FaultKind::Http500After,
    FaultKind::Hang,
    FaultKind::DropBefore,
    FaultKind::DropAfter,
    FaultKind::MalformedJson,
    FaultKind::UnknownCode,
];
const CONCURRENCY: usize = 8;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_creates_with_ten_percent_leanx_faults_all_settle_and_none_is_sent_twice() {
    let n: usize = std::env::var("RELIABILITY_LOAD_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000);
    let stack = Arc::new(
        Stack::start_with(StackOptions {
            claim_ttl_seconds: 2,
            grace_period_seconds: 5,
            refresh_after_seconds: 3600,
            leanx_timeout_ms: 1_000,
            instances: 4,
            sim: SimConfig {
                require_signature: true,
                hang_duration: Duration::from_secs(3),
                ..SimConfig::default()
            },
            ..StackOptions::default()
        })
        .await,
    );
    let sim = stack.sim();
    sim.set_callback_faults(CallbackFaults::default())
        .await
        .unwrap();
    // One account in twenty fails at LeanX (found by the reconciler: no callback).
    let failing_account = "8011400000";
    sim.set_account_outcome(
        failing_account,
        Outcome::Failed {
            error_description: Some("ACCOUNT CLOSED".into()),
        },
    )
    .await
    .unwrap();
    let run = uuid::Uuid::new_v4().simple().to_string();
    let refs: Vec<String> = (0..n)
        .map(|i| format!("INV-LOAD-{}-{i:05}", &run[..8]))
        .collect();

    let started = Instant::now();
    let mut statuses: BTreeMap<u16, usize> = BTreeMap::new();
    let mut answers = futures::stream::iter(refs.iter().enumerate())
        .map(|(i, external_ref)| {
            let stack = stack.clone();
            let sim = sim.clone();
            async move {
                if i % 10 == 0 {
                    sim.inject_fault(
                        "create-payout-invoice",
                        FAULTS[(i / 10) % FAULTS.len()].clone(),
                        Times::Count(1),
                    )
                    .await
                    .unwrap();
                }
                let mut body = payout_body(external_ref);
                if i % 20 == 7 {
                    body["third_party_account_no"] = failing_account.into();
                }
                stack.create(&body).await.status
            }
        })
        .buffer_unordered(CONCURRENCY);
    while let Some(status) = answers.next().await {
        *statuses.entry(status).or_default() += 1;
    }
    drop(answers);
    let create_time = started.elapsed();
    let creates_per_second = n as f64 / create_time.as_secs_f64();

    // LeanX settles, in its own time, what it recorded after the client had given up.
    tokio::time::sleep(Duration::from_secs(2)).await;

    // Reconciler passes until quiet: each pass first makes every open payout due (the
    // schedule's minutes, fast-forwarded).
    let mut passes = 0;
    let mut open = open_refs(&stack, &refs).await;
    let reconcile_started = Instant::now();
    while !open.is_empty() && passes < 40 {
        futures::stream::iter(open.iter())
            .for_each_concurrent(CONCURRENCY, |r| {
                let stack = stack.clone();
                async move { make_due(&stack, r).await }
            })
            .await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        let report = try_reconcile(&stack).await;
        passes += 1;
        println!("pass {passes}: {} open before; {report:?}", open.len());
        tokio::time::sleep(Duration::from_millis(500)).await;
        open = open_refs(&stack, &refs).await;
    }
    let reconcile_time = reconcile_started.elapsed();

    // The figures.
    let by_ref: HashMap<String, RefCounts> = stack
        .http
        .get(format!("{}/__sim/counts/by-ref", stack.sim.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let duplicate_sends: u64 = refs
        .iter()
        .filter_map(|r| by_ref.get(r))
        .map(|c| c.calls.saturating_sub(1) + c.payouts.saturating_sub(1))
        .sum();
    let leanx: HashMap<String, String> = sim
        .payouts()
        .await
        .unwrap()
        .into_iter()
        .filter_map(|p| Some((p.external_invoice_ref?, p.transaction_status)))
        .collect();
    let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
    let mut disagreements = Vec::new();
    for external_ref in &refs {
        let payout = stack.stored(external_ref).await.expect("stored");
        *outcomes.entry(outcome_label(&payout)).or_default() += 1;
        let agrees = matches!(
            (leanx.get(external_ref).map(String::as_str), payout.status),
            (Some("SUCCESS"), PayoutStatus::Succeeded)
                | (Some("FAILED"), PayoutStatus::Failed)
                | (None, PayoutStatus::Failed)
        );
        if !agrees {
            disagreements.push(format!(
                "{external_ref}: {} vs LeanX {:?}",
                outcome_label(&payout),
                leanx.get(external_ref)
            ));
        }
    }
    let faults_injected = n.div_ceil(10);
    let table = format!(
        "| figure | value |\n|---|---|\n\
         | creates (distinct refs) | {n} |\n\
         | LeanX faults injected (one per 10 creates, 8 kinds in turn) | {faults_injected} |\n\
         | create answers by status | {statuses:?} |\n\
         | creates/s ({CONCURRENCY} clients, 4 instances, debug build) | {creates_per_second:.1} |\n\
         | reconciler passes until quiet | {passes} |\n\
         | payouts not final | {} |\n\
         | duplicate sends | {duplicate_sends} |\n\
         | final state disagreeing with LeanX | {} |\n\
         | outcomes | {outcomes:?} |\n\
         | time: creates / reconciling | {:.1} s / {:.1} s |\n",
        open.len(),
        disagreements.len(),
        create_time.as_secs_f64(),
        reconcile_time.as_secs_f64(),
    );
    println!("{table}");
    write_doc_section("load", &table);
    assert!(open.is_empty(), "payouts not final: {open:?}");
    assert_eq!(duplicate_sends, 0);
    assert!(disagreements.is_empty(), "{disagreements:#?}");
}

async fn open_refs(stack: &Arc<Stack>, refs: &[String]) -> Vec<String> {
    futures::stream::iter(refs.iter().cloned())
        .map(|r| {
            let stack = stack.clone();
            async move {
                let open = stack.stored(&r).await.is_none_or(|p| !p.status.is_final());
                open.then_some(r)
            }
        })
        .buffer_unordered(CONCURRENCY)
        .filter_map(|r| async move { r })
        .collect()
        .await
}
