//! The whole service on loopback, for end-to-end tests: the real function binaries under the
//! Lambda emulator, with the functions, routes and environment of the workspace's stack
//! description (`lambda_emulator::stack`), a fresh table in the local DynamoDB, and the LeanX
//! simulator with its callbacks aimed at the callback route.

use std::sync::LazyLock;
use std::time::Duration;

use lambda_emulator::stack::{
    AwsAccess, CALLBACK_FUNCTION, LeanxAccess, StackDescription, StackEnv, Timing,
};
use lambda_emulator::{
    Emulator, FunctionSpec, Options, bind_loopback, scheduled_event, target_binary,
};
use leanx_payouts::domain::{InvoiceRef, Payout};
use leanx_payouts::store::{DynamoPayoutStore, PayoutStore};
use leanx_sim::control::SimControl;
use leanx_sim::{RunningSim, SimConfig};
use serde_json::Value;

use crate::dynamodb;

/// The stack's functions and routes, read once from the workspace manifest.
static DESCRIPTION: LazyLock<StackDescription> =
    LazyLock::new(|| StackDescription::load().expect("the workspace manifest describes the stack"));

static FUNCTION_NAMES: LazyLock<Vec<&'static str>> =
    LazyLock::new(|| DESCRIPTION.functions().iter().map(String::as_str).collect());

/// The stack's functions (the workspace members under `functions/`), for scenarios that
/// configure each of them: `for f in FUNCTIONS` or `FUNCTIONS.iter()`.
pub const FUNCTIONS: Functions = Functions;

#[derive(Debug, Clone, Copy)]
pub struct Functions;

impl Functions {
    pub fn iter(self) -> std::slice::Iter<'static, &'static str> {
        FUNCTION_NAMES.iter()
    }
}

impl IntoIterator for Functions {
    type Item = &'static str;
    type IntoIter = std::iter::Copied<std::slice::Iter<'static, &'static str>>;

    fn into_iter(self) -> Self::IntoIter {
        FUNCTION_NAMES.iter().copied()
    }
}

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
    /// Each invocation's limit (Lambda's timeout; API Gateway answers 504 past 30 s). A test
    /// whose work is bound by the local stand-in's speed (moto is a single Python process, far
    /// slower than DynamoDB) may raise it, and says so.
    pub invocation_timeout: Duration,
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
            invocation_timeout: Duration::from_secs(30),
        }
    }
}

pub struct Stack {
    pub emulator: Emulator,
    pub sim: RunningSim,
    pub store: DynamoPayoutStore,
    pub table: String,
    pub http: reqwest::Client,
    /// This stack's batch queue on the local stand-in (`create-payout-batch` enqueues there;
    /// nothing reads it unless a test runs the queue mapping, see tests/batches.rs).
    pub batch_queue_url: String,
}

/// A fresh SQS queue on the local stand-in (moto serves SQS on the DynamoDB endpoint).
pub async fn fresh_queue(prefix: &str, visibility_timeout_seconds: u32) -> String {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(dynamodb::local_endpoint().await)
        .credentials_provider(aws_sdk_sqs::config::Credentials::new(
            "local", "local", None, None, "stack",
        ))
        .load()
        .await;
    aws_sdk_sqs::Client::new(&config)
        .create_queue()
        .queue_name(format!("{prefix}-{}", uuid::Uuid::new_v4().simple()))
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout,
            visibility_timeout_seconds.to_string(),
        )
        .send()
        .await
        .expect("a queue on the local stand-in")
        .queue_url()
        .expect("a queue URL")
        .to_owned()
}

impl Stack {
    pub async fn start() -> Stack {
        Stack::start_with(StackOptions::default()).await
    }

    pub async fn start_with(options: StackOptions) -> Stack {
        let (store, _client, table) = dynamodb::fresh_store().await;
        let endpoint = dynamodb::local_endpoint().await;
        let batch_queue_url = fresh_queue("batch-send", 3).await;
        let sim = leanx_sim::spawn(options.sim.clone(), "127.0.0.1:0".parse().unwrap())
            .await
            .expect("simulator starts");
        // Bound before the functions start, which must know their callback URL.
        let front = bind_loopback().expect("loopback");
        let front_url = format!("http://{}", front.local_addr().expect("front addr"));
        let env = StackEnv {
            table: table.clone(),
            dynamodb_endpoint: options
                .functions_dynamodb_endpoint
                .clone()
                .unwrap_or_else(|| endpoint.clone()),
            aws: AwsAccess::Local,
            leanx: LeanxAccess {
                base_url: sim.base_url(),
                auth_token: options.sim.auth_token.clone(),
                hash_key: options.sim.hash_key.clone(),
                virtual_pool_reference: options.sim.virtual_pool_reference.clone(),
                sign_requests: options.sign_requests,
            },
            callback_url: DESCRIPTION
                .url_of(&front_url, CALLBACK_FUNCTION)
                .expect("a route to the callback function"),
            timing: Timing {
                claim_ttl_seconds: Some(options.claim_ttl_seconds),
                payout_grace_period_seconds: Some(options.grace_period_seconds),
                refresh_after_seconds: Some(options.refresh_after_seconds),
                leanx_timeout_ms: Some(options.leanx_timeout_ms),
                // "Not received" needs several recognised not-found answers spanning the grace
                // period; the tests' grace periods are seconds, so two answers, any spacing.
                not_found_lookups_required: Some(2),
                not_found_lookup_spacing_seconds: Some(0),
            },
            rust_log: "info".into(),
        }
        .vars();
        let env: Vec<(String, String)> = env
            .into_iter()
            .chain([
                ("BATCH_QUEUE_URL".to_owned(), batch_queue_url.clone()),
                ("AWS_ENDPOINT_URL_SQS".to_owned(), endpoint.clone()),
            ])
            .collect();
        let functions = FUNCTIONS
            .into_iter()
            .map(|name| {
                let binary = target_binary(name);
                assert!(
                    binary.exists(),
                    "{} is missing: the end-to-end tests drive the real function binaries; run `make test` \
                     (or `cargo build --workspace --bins` first)",
                    binary.display()
                );
                let spec =
                    env.iter().fold(FunctionSpec::new(name, binary), |spec, (k, v)| spec.env(k, v));
                options
                    .function_env
                    .iter()
                    .filter(|(function, _, _)| function == name)
                    .fold(spec, |spec, (_, k, v)| spec.env(k, v))
            })
            .collect();
        let emulator = Emulator::start_with(
            functions,
            DESCRIPTION.routes().to_vec(),
            Options {
                instances: options.instances,
                timeout: options.invocation_timeout,
                front: Some(front),
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
            batch_queue_url,
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
        self.get_path(&format!("/payouts/{external_ref}")).await
    }

    /// `GET /payouts` with `query` (`""` or `"?limit=2&…"`).
    pub async fn list(&self, query: &str) -> Answer {
        self.get_path(&format!("/payouts{query}")).await
    }

    pub async fn callback_raw(&self, body: impl Into<reqwest::Body>) -> Answer {
        self.post_json("/callbacks/leanx", body).await
    }

    /// `GET` of any path of the API; the answer's status, headers and JSON body.
    pub async fn get_path(&self, path: &str) -> Answer {
        let response = self
            .http
            .get(self.url(path))
            .send()
            .await
            .expect("front answers");
        Answer::read(response).await
    }

    /// `POST` of a JSON body to any path of the API.
    pub async fn post_json(&self, path: &str, body: impl Into<reqwest::Body>) -> Answer {
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
