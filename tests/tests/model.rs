//! Randomised model test: proptest drives random interleavings of creates (first sends,
//! retries, two at once), LeanX faults on both endpoints, LeanX outcomes and late settlements,
//! callback faults, lookups, the store briefly away, and reconciler passes, against the real
//! local stack (one stack; every case uses its own refs). After every step:
//!
//! - (a) at most one create-payout-invoice per ref reached LeanX;
//! - (b) every stored payout only moved forward since the previous observation, never vanished,
//!   and its history is consistent;
//! - (c) after a reconciler pass, every payout LeanX had settled before the pass is settled the
//!   same way in DynamoDB (unless that pass's own lookup for it was faulted);
//! - (d) no payout LeanX holds is ever FAILED `not_received_by_provider`.
//!
//! Besides sequential steps, a reconciler pass runs concurrently with a create (first send or
//! retry, taking over an abandoned claim) and with LeanX settling a payout and posting its
//! callback.
//!
//! Cases: `PROPTEST_CASES` (default 24, the CI run). A failure is shrunk and reported as the
//! minimal list of steps.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use leanx_payouts::domain::PayoutStatus;
use leanx_sim::SimConfig;
use leanx_sim::control::{CallbackFaults, FaultKind, Outcome, Times};
use payouts_e2e::reliability::{check_history, make_due, moved_forward, try_reconcile};
use payouts_e2e::stack::{FUNCTIONS, Stack, StackOptions, payout_body};
use payouts_e2e::tcp_proxy::TcpProxy;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};
use serde_json::Value;

const REFS: usize = 3;
const CREATE: &str = "create-payout-invoice";
const LOOKUP: &str = "get-payout-transaction-by-id";

#[derive(Debug, Clone)]
enum Op {
    Create(usize),
    CreateTwiceAtOnce(usize),
    CreateFault(FaultKind),
    LookupFault(FaultKind),
    AccountOutcome(usize, Outcome),
    LeanxSettles(usize, bool),
    Callbacks(CallbackFaults),
    Get(usize),
    StoreAwayDuringCreate(usize),
    Wait(u64),
    Reconcile,
    /// A reconciler pass racing the merchant's create (a first send or a retry).
    ReconcileDuringCreate(usize),
    /// LeanX settles a payout (and posts its callback) while a reconciler pass runs.
    SettleDuringReconcile(usize, bool),
}

fn fault() -> impl Strategy<Value = FaultKind> {
    prop_oneof![
        Just(FaultKind::Latency { ms: 1_300 }),
        Just(FaultKind::Http500Before),
        Just(FaultKind::Http500After),
        Just(FaultKind::Hang),
        Just(FaultKind::DropBefore),
        Just(FaultKind::DropAfter),
        Just(FaultKind::MalformedJson),
        Just(FaultKind::UnknownCode),
    ]
}

fn outcome() -> impl Strategy<Value = Outcome> {
    prop_oneof![
        Just(Outcome::Success),
        Just(Outcome::Failed {
            error_description: None
        }),
        Just(Outcome::Pending),
        Just(Outcome::StatusPendingApproval),
    ]
}

fn callbacks() -> impl Strategy<Value = CallbackFaults> {
    prop_oneof![
        Just(CallbackFaults::default()),
        Just(CallbackFaults {
            drop: true,
            ..CallbackFaults::default()
        }),
        Just(CallbackFaults {
            duplicate: 2,
            ..CallbackFaults::default()
        }),
        Just(CallbackFaults {
            delay_ms: 400,
            ..CallbackFaults::default()
        }),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let r = 0..REFS;
    prop_oneof![
        6 => r.clone().prop_map(Op::Create),
        1 => r.clone().prop_map(Op::CreateTwiceAtOnce),
        3 => fault().prop_map(Op::CreateFault),
        1 => fault().prop_map(Op::LookupFault),
        1 => (r.clone(), outcome()).prop_map(|(i, o)| Op::AccountOutcome(i, o)),
        1 => (r.clone(), any::<bool>()).prop_map(|(i, s)| Op::LeanxSettles(i, s)),
        1 => callbacks().prop_map(Op::Callbacks),
        1 => r.clone().prop_map(Op::Get),
        1 => r.clone().prop_map(Op::StoreAwayDuringCreate),
        1 => (0u64..400).prop_map(Op::Wait),
        3 => Just(Op::Reconcile),
        2 => r.clone().prop_map(Op::ReconcileDuringCreate),
        1 => (r, any::<bool>()).prop_map(|(i, s)| Op::SettleDuringReconcile(i, s)),
    ]
}

static CASE: AtomicUsize = AtomicUsize::new(0);

struct Model<'a> {
    stack: &'a Stack,
    proxy: &'a TcpProxy,
    refs: Vec<String>,
    seen: HashMap<String, PayoutStatus>,
}

fn account(i: usize) -> String {
    format!("80114081{i:02}")
}

impl Model<'_> {
    fn body(&self, i: usize) -> Value {
        let mut body = payout_body(&self.refs[i]);
        body["third_party_account_no"] = account(i).into();
        body
    }

    async fn step(&mut self, op: &Op) -> Result<(), String> {
        let sim = self.stack.sim();
        match op {
            Op::Create(i) => {
                let answer = self.stack.create(&self.body(*i)).await;
                expect_status(&answer.status, &[200, 201, 409])?;
            }
            Op::CreateTwiceAtOnce(i) => {
                let body = self.body(*i);
                let (a, b) = tokio::join!(self.stack.create(&body), self.stack.create(&body));
                expect_status(&a.status, &[200, 201, 409])?;
                expect_status(&b.status, &[200, 201, 409])?;
            }
            Op::CreateFault(kind) => sim
                .inject_fault(CREATE, kind.clone(), Times::Count(1))
                .await
                .map_err(|e| e.to_string())?,
            Op::LookupFault(kind) => sim
                .inject_fault(LOOKUP, kind.clone(), Times::Count(1))
                .await
                .map_err(|e| e.to_string())?,
            Op::AccountOutcome(i, outcome) => sim
                .set_account_outcome(&account(*i), outcome.clone())
                .await
                .map_err(|e| e.to_string())?,
            Op::LeanxSettles(i, success) => {
                let status = if *success { "SUCCESS" } else { "FAILED" };
                // 404 (LeanX does not hold it) and 409 (already final) are fine.
                let _ = sim.settle(&self.refs[*i], status).await;
            }
            Op::Callbacks(faults) => sim
                .set_callback_faults(faults.clone())
                .await
                .map_err(|e| e.to_string())?,
            Op::Get(i) => {
                let answer = self.stack.get(&self.refs[*i]).await;
                expect_status(&answer.status, &[200, 404])?;
            }
            Op::StoreAwayDuringCreate(i) => {
                self.proxy.set_down();
                let answer = self.stack.create(&self.body(*i)).await;
                self.proxy.set_up();
                expect_status(&answer.status, &[503])?;
            }
            Op::Wait(ms) => tokio::time::sleep(Duration::from_millis(*ms)).await,
            Op::Reconcile => self.reconcile_and_check().await?,
            Op::ReconcileDuringCreate(i) => {
                for external_ref in &self.refs {
                    make_due(self.stack, external_ref).await;
                }
                let body = self.body(*i);
                let (pass, answer) =
                    tokio::join!(try_reconcile(self.stack), self.stack.create(&body));
                pass.map_err(|e| format!("reconciler failed: {e}"))?;
                expect_status(&answer.status, &[200, 201, 409, 503])?;
            }
            Op::SettleDuringReconcile(i, success) => {
                for external_ref in &self.refs {
                    make_due(self.stack, external_ref).await;
                }
                let status = if *success { "SUCCESS" } else { "FAILED" };
                let (_, pass) = tokio::join!(
                    sim.settle(&self.refs[*i], status),
                    try_reconcile(self.stack)
                );
                pass.map_err(|e| format!("reconciler failed: {e}"))?;
            }
        }
        self.check().await
    }

    /// (a) and (b).
    async fn check(&mut self) -> Result<(), String> {
        for external_ref in &self.refs {
            let calls = self
                .stack
                .sim()
                .create_calls_for_ref(external_ref)
                .await
                .map_err(|e| e.to_string())?;
            if calls > 1 {
                return Err(format!(
                    "(a) {calls} create-payout-invoice for {external_ref}"
                ));
            }
            match (
                self.stack.stored(external_ref).await,
                self.seen.get(external_ref),
            ) {
                (None, Some(before)) => {
                    return Err(format!("(b) {external_ref} vanished (was {before})"));
                }
                (None, None) => {}
                (Some(payout), before) => {
                    if let Some(before) = before
                        && !moved_forward(*before, payout.status)
                    {
                        return Err(format!(
                            "(b) {external_ref} moved back: {before} -> {}",
                            payout.status
                        ));
                    }
                    check_history(&payout).map_err(|e| format!("(b) {external_ref}: {e}"))?;
                    // (d) "not received, no money moved" is never said of a payout LeanX holds.
                    if payout
                        .failure
                        .as_ref()
                        .is_some_and(|f| f.code == "not_received_by_provider")
                        && self
                            .stack
                            .sim()
                            .payout(external_ref)
                            .await
                            .map_err(|e| e.to_string())?
                            .is_some()
                    {
                        return Err(format!(
                            "(d) {external_ref} declared not received while LeanX holds it"
                        ));
                    }
                    self.seen.insert(external_ref.clone(), payout.status);
                }
            }
        }
        Ok(())
    }

    /// (c): one pass settles whatever LeanX had settled before it.
    async fn reconcile_and_check(&mut self) -> Result<(), String> {
        let sim = self.stack.sim();
        let mut settled_at_leanx = Vec::new();
        for external_ref in &self.refs {
            if let Some(p) = sim.payout(external_ref).await.map_err(|e| e.to_string())?
                && matches!(p.transaction_status.as_str(), "SUCCESS" | "FAILED")
            {
                settled_at_leanx.push((external_ref.clone(), p.transaction_status));
            }
            make_due(self.stack, external_ref).await;
        }
        let seq_before = sim
            .calls()
            .await
            .map_err(|e| e.to_string())?
            .last()
            .map_or(0, |c| c.seq);
        tokio::time::sleep(Duration::from_millis(100)).await;
        try_reconcile(self.stack)
            .await
            .map_err(|e| format!("reconciler failed: {e}"))?;
        let faulted: Vec<String> = sim
            .calls()
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .filter(|c| c.seq > seq_before && c.endpoint == LOOKUP && c.fault.is_some())
            .filter_map(|c| c.query)
            .collect();
        for (external_ref, leanx) in settled_at_leanx {
            if faulted.iter().any(|q| q.contains(&external_ref)) {
                continue;
            }
            let stored = self
                .stack
                .stored(&external_ref)
                .await
                .ok_or(format!("(c) {external_ref} not stored"))?;
            let expected = if leanx == "SUCCESS" {
                PayoutStatus::Succeeded
            } else {
                PayoutStatus::Failed
            };
            if stored.status != expected {
                return Err(format!(
                    "(c) LeanX settled {external_ref} {leanx}, stored {} after one pass",
                    stored.status
                ));
            }
        }
        Ok(())
    }
}

fn expect_status(status: &u16, allowed: &[u16]) -> Result<(), String> {
    if allowed.contains(status) {
        Ok(())
    } else {
        Err(format!("HTTP {status}, expected one of {allowed:?}"))
    }
}

async fn run_case(stack: &Stack, proxy: &TcpProxy, ops: &[Op]) -> Result<(), String> {
    let case = CASE.fetch_add(1, Ordering::Relaxed);
    let sim = stack.sim();
    // Each case has its own refs: start LeanX afresh (this also keeps its call log short).
    sim.reset().await.map_err(|e| e.to_string())?;
    sim.set_callback_faults(CallbackFaults::default())
        .await
        .map_err(|e| e.to_string())?;
    for i in 0..REFS {
        let _ = sim.clear_account_outcome(&account(i)).await;
    }
    let run = uuid::Uuid::new_v4().simple().to_string();
    let mut model = Model {
        stack,
        proxy,
        refs: (0..REFS)
            .map(|i| format!("INV-MODEL-{}-{case}-{i}", &run[..8]))
            .collect(),
        seen: HashMap::new(),
    };
    for (n, op) in ops.iter().enumerate() {
        model
            .step(op)
            .await
            .map_err(|e| format!("step {n} {op:?}: {e}"))?;
    }
    Ok(())
}

#[test]
fn random_interleavings_never_send_twice_never_go_back_and_settle_in_one_pass() {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (stack, proxy) = runtime.block_on(async {
        let proxy = TcpProxy::start(&payouts_e2e::dynamodb::local_endpoint().await).await;
        let stack = Stack::start_with(StackOptions {
            claim_ttl_seconds: 1,
            grace_period_seconds: 3,
            refresh_after_seconds: 1,
            leanx_timeout_ms: 1_000,
            sim: SimConfig {
                require_signature: true,
                hang_duration: Duration::from_secs(3),
                ..SimConfig::default()
            },
            function_env: FUNCTIONS
                .iter()
                .map(|f| (f.to_string(), "AWS_MAX_ATTEMPTS".into(), "1".into()))
                .collect(),
            functions_dynamodb_endpoint: Some(proxy.url()),
            ..StackOptions::default()
        })
        .await;
        (stack, proxy)
    });
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 64,
        ..Config::default()
    });
    let started = std::time::Instant::now();
    let result = runner.run(&proptest::collection::vec(op(), 3..12), |ops| {
        runtime
            .block_on(run_case(&stack, &proxy, &ops))
            .map_err(TestCaseError::fail)
    });
    let ran = CASE.load(Ordering::Relaxed);
    println!(
        "model test: {cases} cases asked, {ran} stack runs (shrinking included) in {:?}",
        started.elapsed()
    );
    match result {
        Ok(()) => {}
        Err(TestError::Fail(reason, minimal)) => {
            panic!("model test failed: {reason}\nshrunk to: {minimal:#?}")
        }
        Err(TestError::Abort(reason)) => panic!("model test aborted: {reason}"),
    }
    runtime.block_on(async move {
        drop(stack);
        drop(proxy);
    });
    runtime.shutdown_timeout(Duration::from_secs(5));
}
