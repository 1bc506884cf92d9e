//! The simulator's in-memory world (payouts, pool balance, scenario settings, call log) and
//! the handle every part of the server shares.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rust_decimal::Decimal;
use serde_json::value::RawValue;
use tokio::sync::watch;

use crate::call_log::CallLog;
use crate::config::SimConfig;
use crate::control::{AccountScript, CallRecord, CallbackFaults, Outcome, RefCounts, SimPayout};
use crate::faults::FaultQueue;
use crate::wire::now;

/// Shared by the server, the control API and background tasks (settlements, callbacks).
pub(crate) struct Simulator {
    pub config: SimConfig,
    state: Mutex<State>,
    /// Posts callbacks.
    pub http: reqwest::Client,
    shutdown: watch::Receiver<()>,
}

/// Everything `/__sim/reset` puts back to the start.
pub(crate) struct State {
    /// The payout pool (`prefund_balance`).
    pub balance: Decimal,
    pub payouts: Vec<SimPayout>,
    pub next_payout_id: u64,
    pub default_outcome: Outcome,
    pub account_outcomes: HashMap<String, Outcome>,
    /// `check-verification-bank` answers scripted per account number.
    pub bank_accounts: BTreeMap<String, AccountScript>,
    pub settle_delay: Duration,
    pub faults: FaultQueue,
    pub callback_faults: CallbackFaults,
    pub log: CallLog,
    /// Answers given so far; alternates the `""`/`null` fields of the envelope.
    pub answers: u64,
}

impl State {
    fn new(config: &SimConfig) -> Self {
        State {
            balance: config.initial_prefund_balance,
            payouts: Vec::new(),
            next_payout_id: 1,
            default_outcome: Outcome::Success,
            account_outcomes: HashMap::new(),
            bank_accounts: BTreeMap::new(),
            settle_delay: config.settle_delay,
            faults: FaultQueue::default(),
            callback_faults: CallbackFaults::default(),
            log: CallLog::default(),
            answers: 0,
        }
    }

    /// By invoice_no, else the latest payout carrying that external_invoice_ref.
    pub fn find_payout_mut(&mut self, id: &str) -> Option<&mut SimPayout> {
        if let Some(i) = self.payouts.iter().position(|p| p.invoice_no == id) {
            return self.payouts.get_mut(i);
        }
        self.payouts
            .iter_mut()
            .rev()
            .find(|p| p.external_invoice_ref.as_deref() == Some(id))
    }

    /// The outcome for a payout to `account`: its own, else the default.
    pub fn outcome_for(&self, account: &str) -> Outcome {
        self.account_outcomes
            .get(account)
            .unwrap_or(&self.default_outcome)
            .clone()
    }

    pub fn ref_counts(&self) -> BTreeMap<String, RefCounts> {
        let mut out: BTreeMap<String, RefCounts> = BTreeMap::new();
        for (r, n) in &self.log.creates_per_ref {
            out.entry(r.clone()).or_default().calls = *n;
        }
        for p in &self.payouts {
            if let Some(r) = &p.external_invoice_ref {
                out.entry(r.clone()).or_default().payouts += 1;
            }
        }
        out
    }
}

/// How a call ended, for the log.
pub(crate) struct CallEnd {
    pub outcome: String,
    pub response_code: Option<i64>,
    pub fault: Option<String>,
    pub invoice_no: Option<String>,
}

impl Simulator {
    pub fn new(config: SimConfig, shutdown: watch::Receiver<()>) -> Arc<Self> {
        let state = Mutex::new(State::new(&config));
        Arc::new(Simulator {
            config,
            state,
            http: reqwest::Client::new(),
            shutdown,
        })
    }

    pub fn lock(&self) -> MutexGuard<'_, State> {
        // A poisoned lock only means another request panicked mid-update; the data is still
        // usable for a simulator, so keep serving.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn reset(&self) {
        *self.lock() = State::new(&self.config);
    }

    /// Runs `fut` in the background until it ends or the simulator shuts down.
    pub fn spawn_bg<F>(&self, fut: F) -> tokio::task::JoinHandle<Option<F::Output>>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let mut shutdown = self.shutdown.clone();
        tokio::spawn(async move {
            tokio::select! {
                out = fut => Some(out),
                _ = shutdown.changed() => None,
            }
        })
    }

    /// Resolves when the simulator shuts down.
    pub async fn shutdown_signal(&self) {
        let mut shutdown = self.shutdown.clone();
        let _ = shutdown.changed().await;
    }

    /// The body as logged: raw JSON (exact numbers), or a JSON string when not JSON; any
    /// occurrence of the auth token or hash key is masked.
    fn loggable_body(&self, body: &[u8]) -> Option<Box<RawValue>> {
        if body.is_empty() {
            return None;
        }
        let mut text = String::from_utf8_lossy(body).into_owned();
        for secret in [&self.config.auth_token, &self.config.hash_key] {
            if !secret.is_empty() {
                text = text.replace(secret.as_str(), "[redacted]");
            }
        }
        match serde_json::from_str::<Box<RawValue>>(&text) {
            Ok(raw) => Some(raw),
            Err(_) => serde_json::value::to_raw_value(&text).ok(),
        }
    }

    /// Logs a LeanX request on arrival (so a hung call is still counted); returns its seq.
    pub fn log_request(
        &self,
        endpoint: &str,
        query: Option<&str>,
        body: &[u8],
        external_invoice_ref: Option<String>,
    ) -> u64 {
        let body = self.loggable_body(body);
        let mut state = self.lock();
        let log = &mut state.log;
        *log.per_endpoint.entry(endpoint.to_string()).or_default() += 1;
        if let (true, Some(r)) = (endpoint == "create-payout-invoice", &external_invoice_ref) {
            *log.creates_per_ref.entry(r.clone()).or_default() += 1;
        }
        log.push(CallRecord {
            seq: 0,
            at: now(),
            kind: "request".into(),
            endpoint: endpoint.to_string(),
            query: query.map(str::to_string),
            body,
            outcome: "pending".into(),
            response_code: None,
            fault: None,
            external_invoice_ref,
            invoice_no: None,
            attempt: None,
            http_status: None,
        })
    }

    /// Records the fault injected into a call as soon as it is drawn.
    pub fn mark_fault(&self, seq: u64, fault: Option<String>) {
        if let Some(rec) = self.lock().log.get_mut(seq) {
            rec.fault = fault;
        }
    }

    pub fn finish_call(&self, seq: u64, end: CallEnd) {
        tracing::info!(
            seq,
            outcome = %end.outcome,
            response_code = end.response_code,
            fault = end.fault.as_deref(),
            invoice_no = end.invoice_no.as_deref(),
            "leanx call"
        );
        if let Some(rec) = self.lock().log.get_mut(seq) {
            rec.outcome = end.outcome;
            rec.response_code = end.response_code;
            rec.fault = end.fault;
            if end.invoice_no.is_some() {
                rec.invoice_no = end.invoice_no;
            }
        }
    }

    pub fn log_callback(
        &self,
        payout: &SimPayout,
        body: &[u8],
        attempt: Option<u32>,
        http_status: Option<u16>,
        outcome: String,
    ) {
        tracing::info!(
            invoice_no = %payout.invoice_no,
            attempt,
            http_status,
            outcome = %outcome,
            "callback"
        );
        let body = self.loggable_body(body);
        self.lock().log.push(CallRecord {
            seq: 0,
            at: now(),
            kind: "callback".into(),
            endpoint: "callback".into(),
            query: None,
            body,
            outcome,
            response_code: None,
            fault: None,
            external_invoice_ref: payout.external_invoice_ref.clone(),
            invoice_no: Some(payout.invoice_no.clone()),
            attempt,
            http_status,
        });
    }
}
