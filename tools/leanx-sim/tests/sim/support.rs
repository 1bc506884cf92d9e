//! Helpers shared by the simulator's tests: a sim per test, LeanX calls over real HTTP, a
//! callback receiver. Answers are read as `serde_json::Value` (or raw JSON text where
//! exactness matters), never through types shared with the server.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use leanx_sim::{RunningSim, SimConfig, SimControl};
use serde_json::Value;
use serde_json::value::RawValue;
use sha2::Sha256;

pub const POOL: &str = "VA-SIM-POOL-PAYOUT";
pub const ACCOUNT: &str = "8011408168";

pub fn local() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

pub struct Sim {
    pub sim: RunningSim,
    pub cfg: SimConfig,
    pub http: reqwest::Client,
    pub ctl: SimControl,
}

pub async fn start_with(cfg: SimConfig) -> Sim {
    let sim = leanx_sim::spawn(cfg.clone(), local()).await.unwrap();
    let ctl = sim.control();
    Sim {
        sim,
        cfg,
        http: reqwest::Client::new(),
        ctl,
    }
}

pub async fn start() -> Sim {
    start_with(SimConfig::default()).await
}

impl Sim {
    pub fn url(&self, endpoint: &str) -> String {
        format!("{}/api/v1/merchant/{endpoint}", self.sim.base_url())
    }

    pub fn post(&self, endpoint: &str) -> reqwest::RequestBuilder {
        self.http
            .post(self.url(endpoint))
            .header("auth-token", &self.cfg.auth_token)
    }

    /// POSTs a raw JSON text body (so amounts are sent exactly) and returns the answer text.
    pub async fn call_text(&self, endpoint: &str, body: Option<String>) -> String {
        let mut req = self.post(endpoint);
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 200);
        resp.text().await.unwrap()
    }

    pub async fn call(&self, endpoint: &str, body: Option<String>) -> Value {
        serde_json::from_str(&self.call_text(endpoint, body).await).unwrap()
    }

    pub async fn create(&self, reference: &str, amount: &str) -> Value {
        self.call(
            "create-payout-invoice",
            Some(create_body(
                reference,
                amount,
                ACCOUNT,
                "http://127.0.0.1:9/cb",
            )),
        )
        .await
    }

    pub async fn create_ok(&self, reference: &str, amount: &str) -> String {
        let v = self.create(reference, amount).await;
        assert_eq!(v["response_code"], 2000, "{v}");
        v["data"]["invoice_no"].as_str().unwrap().to_string()
    }

    pub async fn get_text(&self, id: &str) -> String {
        let resp = self
            .post(&format!("get-payout-transaction-by-id?_id={}", encode(id)))
            .send()
            .await
            .unwrap();
        resp.text().await.unwrap()
    }

    pub async fn get(&self, id: &str) -> Value {
        serde_json::from_str(&self.get_text(id).await).unwrap()
    }

    pub async fn status_of(&self, id: &str) -> String {
        self.get(id).await["data"]["transaction_status"]
            .as_str()
            .unwrap_or("?")
            .to_string()
    }

    pub async fn wait_status(&self, id: &str, want: &str) {
        for _ in 0..200 {
            if self.status_of(id).await == want {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("{id} never reached {want}: {}", self.get(id).await);
    }
}

pub fn encode(id: &str) -> String {
    percent_encoding::utf8_percent_encode(id, percent_encoding::NON_ALPHANUMERIC).to_string()
}

pub fn create_body(reference: &str, amount: &str, account: &str, callback: &str) -> String {
    create_body_with(reference, amount, account, callback, "23")
}

/// Built as text so `amount` and `payout_service_id` go out exactly as written.
pub fn create_body_with(
    reference: &str,
    amount: &str,
    account: &str,
    callback: &str,
    service: &str,
) -> String {
    format!(
        r#"{{"virtual_pool_reference":"{POOL}","payout_service_id":{service},"amount":{amount},"recipient_name":"John Doe","client_callback_url":"{callback}","third_party_account_no":"{account}","external_invoice_ref":"{reference}","recipient_reference":"Salary Nov"}}"#
    )
}

/// The raw JSON text of `data.<field>` in an answer.
pub fn raw_data_field(answer: &str, field: &str) -> String {
    let env: BTreeMap<String, Box<RawValue>> = serde_json::from_str(answer).unwrap();
    let data: BTreeMap<String, Box<RawValue>> = serde_json::from_str(env["data"].get()).unwrap();
    data[field].get().to_string()
}

pub fn sign(cfg: &SimConfig, path: &str, ts: &str, nonce: &str) -> String {
    let uuid = cfg.auth_token.split('|').nth(1).unwrap();
    let msg = format!("POST|{uuid}|{path}|{ts}|{}|{nonce}", cfg.auth_token);
    let mut mac = Hmac::<Sha256>::new_from_slice(cfg.hash_key.as_bytes()).unwrap();
    mac.update(msg.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// A callback receiver answering the scripted statuses in turn (then 200).
pub struct Receiver {
    pub url: String,
    got: Arc<Mutex<Vec<Value>>>,
}

impl Receiver {
    pub fn bodies(&self) -> Vec<Value> {
        self.got.lock().unwrap().clone()
    }

    pub async fn wait_for(&self, n: usize) -> Vec<Value> {
        for _ in 0..250 {
            if self.bodies().len() >= n {
                return self.bodies();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("expected {n} callbacks, got {:?}", self.bodies());
    }
}

pub async fn receiver(script: Vec<u16>) -> Receiver {
    use axum::{Json, Router, http::StatusCode, routing::post};
    let got = Arc::new(Mutex::new(Vec::new()));
    let script = Arc::new(Mutex::new(VecDeque::from(script)));
    let g = Arc::clone(&got);
    let app = Router::new().route(
        "/cb",
        post(move |Json(v): Json<Value>| {
            let (g, script) = (Arc::clone(&g), Arc::clone(&script));
            async move {
                g.lock().unwrap().push(v);
                let s = script.lock().unwrap().pop_front().unwrap_or(200);
                StatusCode::from_u16(s).unwrap()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind(local()).await.unwrap();
    let url = format!("http://{}/cb", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Receiver { url, got }
}

pub fn decode_jwt(token: &str, key: &str) -> Value {
    let mut v = Validation::new(Algorithm::HS256);
    v.required_spec_claims.clear();
    v.validate_exp = false;
    jsonwebtoken::decode::<Value>(token, &DecodingKey::from_secret(key.as_bytes()), &v)
        .unwrap()
        .claims
}
