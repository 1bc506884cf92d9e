//! In-memory state: payouts, pool balance, scenario settings and the call log.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{NaiveDateTime, Utc};
use rust_decimal::Decimal;
use serde_json::value::RawValue;
use tokio::sync::watch;

use crate::config::SimConfig;
use crate::control::{CallRecord, CallbackFaults, Outcome, RefCounts, SimPayout};
use crate::faults::Faults;

/// Oldest call-log entries are dropped past this, so a long-running dev sim stays small.
const CALL_LOG_CAP: usize = 20_000;

pub(crate) struct Shared {
    pub config: SimConfig,
    inner: Mutex<Inner>,
    pub http: reqwest::Client,
    shutdown: watch::Receiver<()>,
}

pub(crate) struct Inner {
    pub balance: Decimal,
    pub payouts: Vec<SimPayout>,
    pub next_id: u64,
    pub default_outcome: Outcome,
    pub account_outcomes: HashMap<String, Outcome>,
    pub settle_delay: Duration,
    pub faults: Faults,
    pub callback_faults: CallbackFaults,
    calls: VecDeque<CallRecord>,
    next_seq: u64,
    pub counts: BTreeMap<String, u64>,
    pub ref_calls: BTreeMap<String, u64>,
    pub envelope_seq: u64,
}

impl Inner {
    fn new(config: &SimConfig) -> Self {
        Inner {
            balance: config.initial_prefund_balance,
            payouts: Vec::new(),
            next_id: 1,
            default_outcome: Outcome::Success,
            account_outcomes: HashMap::new(),
            settle_delay: config.settle_delay,
            faults: Faults::default(),
            callback_faults: CallbackFaults::default(),
            calls: VecDeque::new(),
            next_seq: 1,
            counts: BTreeMap::new(),
            ref_calls: BTreeMap::new(),
            envelope_seq: 0,
        }
    }

    /// By invoice_no, else the latest payout carrying that external_invoice_ref.
    pub fn find_mut(&mut self, id: &str) -> Option<&mut SimPayout> {
        if let Some(i) = self.payouts.iter().position(|p| p.invoice_no == id) {
            return self.payouts.get_mut(i);
        }
        self.payouts
            .iter_mut()
            .rev()
            .find(|p| p.external_invoice_ref.as_deref() == Some(id))
    }

    pub fn calls(&self) -> Vec<CallRecord> {
        self.calls.iter().cloned().collect()
    }

    pub fn ref_counts(&self) -> BTreeMap<String, RefCounts> {
        let mut out: BTreeMap<String, RefCounts> = BTreeMap::new();
        for (r, n) in &self.ref_calls {
            out.entry(r.clone()).or_default().calls = *n;
        }
        for p in &self.payouts {
            if let Some(r) = &p.external_invoice_ref {
                out.entry(r.clone()).or_default().payouts += 1;
            }
        }
        out
    }

    fn push_call(&mut self, mut rec: CallRecord) -> u64 {
        rec.seq = self.next_seq;
        self.next_seq += 1;
        if self.calls.len() >= CALL_LOG_CAP {
            self.calls.pop_front();
        }
        let seq = rec.seq;
        self.calls.push_back(rec);
        seq
    }

    fn call_mut(&mut self, seq: u64) -> Option<&mut CallRecord> {
        self.calls.iter_mut().rev().find(|c| c.seq == seq)
    }
}

pub(crate) fn now() -> NaiveDateTime {
    Utc::now().naive_utc()
}

/// How a call ended, for the log.
pub(crate) struct CallEnd {
    pub outcome: String,
    pub response_code: Option<i64>,
    pub fault: Option<String>,
    pub invoice_no: Option<String>,
}

pub(crate) enum SettleError {
    NotFound,
    AlreadyFinal(String),
}

impl Shared {
    pub fn new(config: SimConfig, shutdown: watch::Receiver<()>) -> Arc<Self> {
        let inner = Mutex::new(Inner::new(&config));
        Arc::new(Shared {
            config,
            inner,
            http: reqwest::Client::new(),
            shutdown,
        })
    }

    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        // A poisoned lock only means another request panicked mid-update; the data is still
        // usable for a simulator, so keep serving.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn reset(&self) {
        *self.lock() = Inner::new(&self.config);
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
        let mut inner = self.lock();
        *inner.counts.entry(endpoint.to_string()).or_default() += 1;
        if let (true, Some(r)) = (endpoint == "create-payout-invoice", &external_invoice_ref) {
            *inner.ref_calls.entry(r.clone()).or_default() += 1;
        }
        inner.push_call(CallRecord {
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
        if let Some(rec) = self.lock().call_mut(seq) {
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
        let mut inner = self.lock();
        if let Some(rec) = inner.call_mut(seq) {
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
        self.lock().push_call(CallRecord {
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

    /// Moves a non-final payout to SUCCESS or FAILED (refunding on FAILED) and posts the
    /// success callback. `status` must be `SUCCESS` or `FAILED`.
    pub fn settle(
        self: &Arc<Self>,
        id: &str,
        status: &str,
        error_description: Option<String>,
    ) -> Result<SimPayout, SettleError> {
        let (payout, balance) = {
            let mut inner = self.lock();
            let p = inner.find_mut(id).ok_or(SettleError::NotFound)?;
            if matches!(p.transaction_status.as_str(), "SUCCESS" | "FAILED") {
                return Err(SettleError::AlreadyFinal(p.transaction_status.clone()));
            }
            p.transaction_status = status.to_string();
            p.updated_at = now();
            if status == "FAILED" {
                p.error_description =
                    Some(error_description.unwrap_or_else(|| "INVALID ACCOUNT NUMBER".to_string()));
            } else {
                p.bank_reference_no = Some(format!(
                    "{}SIMBMYKL010O{:08}",
                    p.updated_at.format("%Y%m%d"),
                    p.id
                ));
            }
            let payout = p.clone();
            if status == "FAILED" {
                inner.balance += payout.amount;
            }
            (payout, inner.balance)
        };
        tracing::info!(invoice_no = %payout.invoice_no, status, "payout settled");
        if status == "SUCCESS" {
            crate::callback::send(self, &payout, balance);
        }
        Ok(payout)
    }

    /// Applies the payout's scenario outcome once `written` resolves (the create answer was
    /// written or the connection ended), after the settle delay for SUCCESS/FAILED.
    pub fn schedule_settlement(
        self: &Arc<Self>,
        invoice_no: String,
        outcome: Outcome,
        delay: Duration,
        written: tokio::sync::oneshot::Receiver<()>,
    ) {
        let me = Arc::clone(self);
        self.spawn_bg(async move {
            let _ = written.await;
            // Hyper drops the body just before flushing it; a moment's grace keeps the
            // settlement (and its callback) behind the create answer on the wire.
            tokio::time::sleep(Duration::from_millis(20)).await;
            match outcome {
                Outcome::Success | Outcome::Failed { .. } => {
                    tokio::time::sleep(delay).await;
                    let (status, detail) = match outcome {
                        Outcome::Failed { error_description } => ("FAILED", error_description),
                        _ => ("SUCCESS", None),
                    };
                    // Already settled by hand, or reset: nothing to do.
                    let _ = me.settle(&invoice_no, status, detail);
                }
                Outcome::StatusPendingApproval => {
                    let mut inner = me.lock();
                    if let Some(p) = inner.find_mut(&invoice_no) {
                        if p.transaction_status == "PENDING" {
                            p.transaction_status = "STATUS_PENDING_APPROVAL".into();
                            p.updated_at = now();
                        }
                    }
                }
                Outcome::Pending | Outcome::Refuse { .. } => {}
            }
        });
    }
}
