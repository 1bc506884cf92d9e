//! The whole service on loopback, for end-to-end tests: the four real function binaries under
//! the Lambda Runtime API emulator (routes as API Gateway serves them), a fresh table in the
//! local DynamoDB, and the LeanX simulator with its callbacks aimed at the callback route.

use std::net::SocketAddr;
use std::time::Duration;

use leanx_payouts::domain::{InvoiceRef, Payout};
use leanx_payouts::store::{DynamoPayoutStore, PayoutStore};
use leanx_sim::control::SimControl;
use leanx_sim::{RunningSim, SimConfig};
use serde_json::Value;

use crate::dynamodb;
use crate::lambda_emulator::{
    Emulator, FunctionSpec, Method, Options, Route, scheduled_event, target_binary,
};

pub const FUNCTIONS: [&str; 4] = [
    "create-payout",
    "get-payout",
    "leanx-callback",
    "reconcile-payouts",
];

/// Knobs a scenario may turn; the defaults are quick but realistic.
#[derive(Debug, Clone)]
pub struct StackOptions {
    pub claim_ttl_seconds: u32,
    pub grace_period_seconds: u32,
    pub refresh_after_seconds: u32,
    pub leanx_timeout_ms: u32,
    pub sign_requests: bool,
    /// Execution environments per function (concurrency).
    pub instances: usize,
    pub sim: SimConfig,
    /// Extra environment for one function only, as `(function, name, value)`; applied after
    /// the common variables, so it overrides them (e.g. a crash point for `create-payout`).
    pub function_env: Vec<(String, String, String)>,
    /// The DynamoDB endpoint the functions use, when it is not the local server itself (e.g. a
    /// [`crate::tcp_proxy::TcpProxy`] in front of it); the test's own `Stack::store` always
    /// talks to the local server directly.
    pub functions_dynamodb_endpoint: Option<String>,
}

impl Default for StackOptions {
    fn default() -> Self {
        StackOptions {
            claim_ttl_seconds: 30,
            grace_period_seconds: 900,
            refresh_after_seconds: 5,
            leanx_timeout_ms: 1_500,
            sign_requests: true,
            instances: 1,
            sim: SimConfig {
                require_signature: true,
                ..SimConfig::default()
            },
            function_env: Vec::new(),
            functions_dynamodb_endpoint: None,
        }
    }
}

pub struct Stack {
    pub emulator: Emulator,
    pub sim: RunningSim,
    pub store: DynamoPayoutStore,
    pub table: String,
    pub http: reqwest::Client,
}

impl Stack {
    pub async fn start() -> Stack {
        Stack::start_with(StackOptions::default()).await
    }

    pub async fn start_with(options: StackOptions) -> Stack {
        let (store, _client, table) = dynamodb::fresh_store().await;
        let endpoint = dynamodb::local_endpoint().await;
        let sim = leanx_sim::spawn(options.sim.clone(), "127.0.0.1:0".parse().unwrap())
            .await
            .expect("simulator starts");
        let front = free_loopback_addr();
        let env: Vec<(String, String)> = vec![
            ("TABLE_NAME".into(), table.clone()),
            (
                "AWS_ENDPOINT_URL_DYNAMODB".into(),
                options
                    .functions_dynamodb_endpoint
                    .clone()
                    .unwrap_or(endpoint),
            ),
            ("AWS_ACCESS_KEY_ID".into(), "local".into()),
            ("AWS_SECRET_ACCESS_KEY".into(), "local".into()),
            ("AWS_REGION".into(), "us-east-1".into()),
            ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
            ("LEANX_BASE_URL".into(), sim.base_url()),
            ("LEANX_AUTH_TOKEN".into(), options.sim.auth_token.clone()),
            ("LEANX_HASH_KEY".into(), options.sim.hash_key.clone()),
            (
                "LEANX_VIRTUAL_POOL_REFERENCE".into(),
                options.sim.virtual_pool_reference.clone(),
            ),
            (
                "LEANX_SIGN_REQUESTS".into(),
                options.sign_requests.to_string(),
            ),
            (
                "CALLBACK_URL".into(),
                format!("http://{front}/callbacks/leanx"),
            ),
            (
                "CLAIM_TTL_SECONDS".into(),
                options.claim_ttl_seconds.to_string(),
            ),
            (
                "PAYOUT_GRACE_PERIOD_SECONDS".into(),
                options.grace_period_seconds.to_string(),
            ),
            (
                "REFRESH_AFTER_SECONDS".into(),
                options.refresh_after_seconds.to_string(),
            ),
            (
                "LEANX_TIMEOUT_MS".into(),
                options.leanx_timeout_ms.to_string(),
            ),
            // "Not received" needs several recognised not-found answers spanning the grace
            // period; the tests' grace periods are seconds, so two answers, any spacing.
            ("NOT_FOUND_LOOKUPS_REQUIRED".into(), "2".into()),
            ("NOT_FOUND_LOOKUP_SPACING_SECONDS".into(), "0".into()),
            ("RUST_LOG".into(), "info".into()),
        ];
        let functions = FUNCTIONS
            .iter()
            .map(|name| {
                let binary = target_binary(name);
                assert!(
                    binary.exists(),
                    "{} is missing: the end-to-end tests drive the real function binaries; run `make test` \
                     (or `cargo build --workspace --bins` first)",
                    binary.display()
                );
                let spec =
                    env.iter().fold(FunctionSpec::new(*name, binary), |spec, (k, v)| spec.env(k, v));
                options
                    .function_env
                    .iter()
                    .filter(|(function, _, _)| function == name)
                    .fold(spec, |spec, (_, k, v)| spec.env(k, v))
            })
            .collect();
        let routes = vec![
            Route::new(Method::POST, "/payouts", "create-payout"),
            Route::new(Method::GET, "/payouts/{external_invoice_ref}", "get-payout"),
            Route::new(Method::POST, "/callbacks/leanx", "leanx-callback"),
        ];
        let emulator = Emulator::start_with(
            functions,
            routes,
            Options {
                instances: options.instances,
                front_addr: Some(front),
                ..Options::default()
            },
        )
        .await
        .expect("emulator starts");
        Stack {
            emulator,
            sim,
            store,
            table,
            http: reqwest::Client::new(),
        }
    }

    pub fn sim(&self) -> SimControl {
        self.sim.control()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.emulator.base_url())
    }

    /// `POST /payouts` with a raw body; the answer's status, headers and JSON body.
    pub async fn create_raw(&self, body: impl Into<reqwest::Body>) -> Answer {
        self.post_json("/payouts", body).await
    }

    pub async fn create(&self, body: &Value) -> Answer {
        self.create_raw(body.to_string()).await
    }

    pub async fn get(&self, external_ref: &str) -> Answer {
        let response = self
            .http
            .get(self.url(&format!("/payouts/{external_ref}")))
            .send()
            .await
            .expect("front answers");
        Answer::read(response).await
    }

    pub async fn callback_raw(&self, body: impl Into<reqwest::Body>) -> Answer {
        self.post_json("/callbacks/leanx", body).await
    }

    async fn post_json(&self, path: &str, body: impl Into<reqwest::Body>) -> Answer {
        let response = self
            .http
            .post(self.url(path))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("front answers");
        Answer::read(response).await
    }

    /// One scheduled reconciler run; its report.
    pub async fn reconcile(&self) -> Value {
        self.emulator
            .invoke_raw(
                "reconcile-payouts",
                scheduled_event("reconcile-payouts-every-minute"),
            )
            .await
            .expect("reconciler runs")
    }

    pub async fn stored(&self, external_ref: &str) -> Option<Payout> {
        self.store
            .get(&InvoiceRef::parse(external_ref).unwrap())
            .await
            .expect("store answers")
    }

    /// Waits until the stored payout satisfies `done`, up to `limit`.
    pub async fn wait_for(
        &self,
        external_ref: &str,
        limit: Duration,
        done: impl Fn(&Payout) -> bool,
    ) -> Payout {
        let started = std::time::Instant::now();
        loop {
            if let Some(p) = self.stored(external_ref).await {
                if done(&p) {
                    return p;
                }
                if started.elapsed() > limit {
                    panic!("payout {external_ref} still {:?} after {limit:?}", p.status);
                }
            } else if started.elapsed() > limit {
                panic!("payout {external_ref} never stored");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Every log line the functions wrote.
    pub fn logs(&self) -> Vec<String> {
        self.emulator.all_logs()
    }
}

/// A port nobody listens on right now, for the front: the functions' CALLBACK_URL must name it
/// before they start.
fn free_loopback_addr() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("loopback");
    listener.local_addr().expect("addr")
}

/// An HTTP answer, read whole.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Answer {
    async fn read(response: reqwest::Response) -> Answer {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.unwrap_or_default();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into()));
        Answer {
            status,
            headers,
            body,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn error_code(&self) -> Option<&str> {
        self.body["error"]["code"].as_str()
    }

    pub fn error_field(&self) -> Option<&str> {
        self.body["error"]["field"].as_str()
    }
}

/// API.md's example request under another ref.
pub fn payout_body(external_ref: &str) -> Value {
    serde_json::json!({
        "external_invoice_ref": external_ref,
        "payout_service_id": 23,
        "amount": "13.00",
        "recipient_name": "John Doe",
        "third_party_account_no": "8011408168",
        "recipient_reference": "Salary Nov"
    })
}
