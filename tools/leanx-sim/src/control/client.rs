//! A typed client for `/__sim/`, for other crates' tests.

use std::collections::BTreeMap;
use std::time::Duration;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{
    AccountScript, CallRecord, CallbackFaults, FaultKind, FaultSpec, Outcome, RefCounts,
    SettleRequest, SimPayout, Times,
};

/// Typed client for `/__sim/`. Every method fails on a transport error or a non-2xx answer.
#[derive(Clone, Debug)]
pub struct SimControl {
    base: String,
    http: reqwest::Client,
}

type Res<T> = Result<T, reqwest::Error>;

impl SimControl {
    /// `base_url` as given by `RunningSim::base_url()`, e.g. `http://127.0.0.1:4010`.
    pub fn new(base_url: impl Into<String>) -> Self {
        let base = base_url.into().trim_end_matches('/').to_string();
        SimControl {
            base,
            http: reqwest::Client::new(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/__sim/{}", self.base, path)
    }

    async fn post<T: Serialize + ?Sized>(&self, path: &str, body: &T) -> Res<reqwest::Response> {
        self.http
            .post(self.url(path))
            .json(body)
            .send()
            .await?
            .error_for_status()
    }

    async fn get<T: for<'de> Deserialize<'de>>(&self, path: &str) -> Res<T> {
        self.http
            .get(self.url(path))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await
    }

    pub async fn health(&self) -> Res<()> {
        self.get::<serde_json::Value>("health").await.map(drop)
    }

    /// Default outcome for payouts whose account has no outcome of its own.
    pub async fn set_outcome(&self, outcome: Outcome) -> Res<()> {
        self.post("outcome", &outcome).await.map(drop)
    }

    /// Outcome for payouts to one `third_party_account_no`.
    pub async fn set_account_outcome(&self, account_no: &str, outcome: Outcome) -> Res<()> {
        self.post(&format!("outcome/{}", enc(account_no)), &outcome)
            .await
            .map(drop)
    }

    pub async fn clear_account_outcome(&self, account_no: &str) -> Res<()> {
        self.http
            .delete(self.url(&format!("outcome/{}", enc(account_no))))
            .send()
            .await?
            .error_for_status()
            .map(drop)
    }

    pub async fn set_settle_delay(&self, delay: Duration) -> Res<()> {
        let ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        self.post("settle-delay", &serde_json::json!({ "ms": ms }))
            .await
            .map(drop)
    }

    /// `endpoint`: a LeanX endpoint name (`create-payout-invoice`) or `*`.
    pub async fn inject_fault(&self, endpoint: &str, kind: FaultKind, times: Times) -> Res<()> {
        let spec = FaultSpec {
            endpoint: endpoint.to_string(),
            kind,
            times,
        };
        self.post("faults", &spec).await.map(drop)
    }

    pub async fn clear_faults(&self) -> Res<()> {
        self.http
            .delete(self.url("faults"))
            .send()
            .await?
            .error_for_status()
            .map(drop)
    }

    pub async fn set_callback_faults(&self, faults: CallbackFaults) -> Res<()> {
        self.post("callback-faults", &faults).await.map(drop)
    }

    /// Force a payout (by invoice_no or external_invoice_ref) to `SUCCESS` or `FAILED`.
    pub async fn settle(&self, id: &str, status: &str) -> Res<SimPayout> {
        let req = SettleRequest {
            id: id.to_string(),
            status: status.to_string(),
            error_description: None,
        };
        self.post("settle", &req).await?.json().await
    }

    /// Every LeanX request received and every callback attempt, oldest first.
    pub async fn calls(&self) -> Res<Vec<CallRecord>> {
        self.get("calls").await
    }

    /// Callback delivery attempts only.
    pub async fn callbacks(&self) -> Res<Vec<CallRecord>> {
        Ok(self
            .calls()
            .await?
            .into_iter()
            .filter(|c| c.kind == "callback")
            .collect())
    }

    /// Requests received per LeanX endpoint name (faulted and refused ones included).
    pub async fn counts(&self) -> Res<BTreeMap<String, u64>> {
        self.get("counts").await
    }

    pub async fn count(&self, endpoint: &str) -> Res<u64> {
        Ok(self.counts().await?.get(endpoint).copied().unwrap_or(0))
    }

    /// `create-payout-invoice` requests received carrying this external_invoice_ref.
    pub async fn create_calls_for_ref(&self, external_invoice_ref: &str) -> Res<u64> {
        let by_ref: BTreeMap<String, RefCounts> = self.get("counts/by-ref").await?;
        Ok(by_ref.get(external_invoice_ref).map_or(0, |c| c.calls))
    }

    /// Payouts recorded with this external_invoice_ref (more than 1 = a double send).
    pub async fn payouts_for_ref(&self, external_invoice_ref: &str) -> Res<u64> {
        let by_ref: BTreeMap<String, RefCounts> = self.get("counts/by-ref").await?;
        Ok(by_ref.get(external_invoice_ref).map_or(0, |c| c.payouts))
    }

    pub async fn payouts(&self) -> Res<Vec<SimPayout>> {
        self.get("payouts").await
    }

    /// By invoice_no or external_invoice_ref (the latest with that ref).
    pub async fn payout(&self, id: &str) -> Res<Option<SimPayout>> {
        let resp = self
            .http
            .get(self.url(&format!("payouts/{}", enc(id))))
            .send()
            .await?;
        if resp.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        resp.error_for_status()?.json().await.map(Some)
    }

    pub async fn set_balance(&self, prefund_balance: Decimal) -> Res<()> {
        self.post(
            "balance",
            &serde_json::json!({ "prefund_balance": prefund_balance }),
        )
        .await
        .map(drop)
    }

    /// The pool balance (`prefund_balance`).
    pub async fn balance(&self) -> Res<Decimal> {
        #[derive(Deserialize)]
        struct Balance {
            prefund_balance: Decimal,
        }
        Ok(self.get::<Balance>("balance").await?.prefund_balance)
    }

    /// How `check-verification-bank` answers for `account_no` from now on.
    pub async fn script_account(&self, account_no: &str, script: AccountScript) -> Res<()> {
        self.post(&format!("accounts/{}", enc(account_no)), &script)
            .await
            .map(drop)
    }

    /// Back to the default answer for `account_no`.
    pub async fn clear_account(&self, account_no: &str) -> Res<()> {
        self.http
            .delete(self.url(&format!("accounts/{}", enc(account_no))))
            .send()
            .await?
            .error_for_status()
            .map(drop)
    }

    /// Puts this raw `transaction_status` on a payout (by invoice_no or external_invoice_ref):
    /// no settlement, callback or refund.
    pub async fn set_transaction_status(&self, id: &str, status: &str) -> Res<SimPayout> {
        self.post(
            &format!("payouts/{}/status", enc(id)),
            &serde_json::json!({ "transaction_status": status }),
        )
        .await?
        .json()
        .await
    }

    /// Back to the start state: payouts, balance, log, faults, outcomes, settle delay.
    pub async fn reset(&self) -> Res<()> {
        self.post("reset", &serde_json::json!({})).await.map(drop)
    }
}

fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}
