//! The world the functions run in: the local DynamoDB table (through the counting proxy), the
//! LeanX simulator, each function under the Lambda emulator with the stack's routes and
//! environment (`lambda_emulator::stack`), and the operation each one is measured with
//! (`ops`).

use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use lambda_emulator::stack::{
    AwsAccess, CALLBACK_FUNCTION, LeanxAccess, StackDescription, StackEnv, Timing,
};
use lambda_emulator::{Emulator, FunctionSpec, Method, Options, Route, bind_loopback};
use leanx_payouts::store::{DynamoPayoutStore, schema};
use leanx_sim::control::Outcome;
use leanx_sim::{RunningSim, SimConfig, SuccessCallback};
use serde_json::Value;

use crate::BenchResult;
use crate::args::Args;
use crate::proxy::{CountingProxy, Counts};
use crate::tls::{LocalCa, Terminator};

mod ops;

pub use ops::{Ledger, Op};

/// The baseline binary: a hello-world `lambda_http` function.
pub const BASELINE: &str = "hello-baseline";

/// The local services every function talks to.
pub struct World {
    pub sim: RunningSim,
    sim_config: SimConfig,
    pub proxy: CountingProxy,
    pub store: DynamoPayoutStore,
    pub table: String,
    pub http: reqwest::Client,
    stack: StackDescription,
    /// `--tls`: the authority and the terminators in front of the proxy and the simulator.
    tls: Option<(LocalCa, Terminator, Terminator)>,
}

impl World {
    pub async fn start(args: &Args) -> BenchResult<World> {
        let stack = StackDescription::load().map_err(|e| e.to_string())?;
        if let Some(op) = Op::MEASURED
            .iter()
            .find(|op| !stack.functions().iter().any(|f| f == op.function()))
        {
            return Err(format!(
                "{} is not a function of the stack (a member under functions/)",
                op.function()
            ));
        }
        let endpoint = args.dynamodb_endpoint.clone();
        let (store, table) = fresh_table(&endpoint).await?;
        let proxy = CountingProxy::start(endpoint)
            .await
            .map_err(|e| format!("counting proxy: {e}"))?;
        let sim_config = SimConfig {
            require_signature: true,
            ..SimConfig::default()
        };
        let sim = leanx_sim::spawn(sim_config.clone(), SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .map_err(|e| format!("simulator: {e}"))?;
        // LeanX accepts every payout and leaves it open: the benchmark sends the callbacks
        // itself, so that each one is measured and none arrives on its own.
        sim.control()
            .set_outcome(Outcome::Pending)
            .await
            .map_err(|e| format!("simulator outcome: {e}"))?;
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| e.to_string())?;
        let tls = if args.tls {
            let ca = LocalCa::new()?;
            let dynamodb = ca.terminate(&proxy.url()).await?;
            let leanx = ca.terminate(&sim.base_url()).await?;
            Some((ca, dynamodb, leanx))
        } else {
            None
        };
        Ok(World {
            tls,
            sim,
            sim_config,
            proxy,
            store,
            table,
            http,
            stack,
        })
    }

    /// The functions' configuration, as in Lambda: env credentials present, the instance
    /// metadata service not disabled (it is never reached: the env provider answers first);
    /// each function's own timing defaults.
    fn env(&self, callback_url: String) -> Vec<(String, String)> {
        self.env_on(&self.table, callback_url)
    }

    /// [`World::env`] on another table (the event pipeline's phase has its own).
    fn env_on(&self, table: &str, callback_url: String) -> Vec<(String, String)> {
        let cfg = &self.sim_config;
        let mut vars = StackEnv {
            table: table.to_owned(),
            dynamodb_endpoint: self.dynamodb_url(),
            aws: AwsAccess::AsInLambda,
            leanx: LeanxAccess {
                base_url: self.leanx_url(),
                auth_token: cfg.auth_token.clone(),
                hash_key: cfg.hash_key.clone(),
                virtual_pool_reference: cfg.virtual_pool_reference.clone(),
                sign_requests: true,
            },
            callback_url,
            timing: Timing::default(),
            rust_log: "info".into(),
        }
        .vars();
        if let Some((ca, _, _)) = &self.tls {
            vars.push((
                leanx_payouts::runtime::https::EXTRA_ROOT_CA_FILE.to_owned(),
                ca.ca_file.display().to_string(),
            ));
            // Read only by binaries that load the system's store (none since issue 15): lets
            // the bench compare them (`--bin-dir`) over TLS at the system store's full cost.
            vars.push((
                "SSL_CERT_FILE".to_owned(),
                ca.system_bundle_file.display().to_string(),
            ));
        }
        vars
    }

    /// Where the functions reach DynamoDB: the counting proxy, or its TLS terminator.
    pub fn dynamodb_url(&self) -> String {
        match &self.tls {
            Some((_, dynamodb, _)) => dynamodb.url(),
            None => self.proxy.url(),
        }
    }

    /// Where the functions reach LeanX: the simulator, or its TLS terminator.
    pub fn leanx_url(&self) -> String {
        match &self.tls {
            Some((_, _, leanx)) => leanx.url(),
            None => self.sim.base_url(),
        }
    }

    /// An emulator's front, bound first (the functions must know their callback URL before
    /// they start), and the callback route on it.
    fn front(&self) -> BenchResult<(TcpListener, String)> {
        let front = bind_loopback().map_err(|e| e.to_string())?;
        let front_url = format!("http://{}", front.local_addr().map_err(|e| e.to_string())?);
        let callback_url = self
            .stack
            .url_of(&front_url, CALLBACK_FUNCTION)
            .ok_or("the stack has no route to the callback function")?;
        Ok((front, callback_url))
    }

    /// One function (or the baseline) under its own emulator, with the stack's routes to it.
    pub async fn emulator(
        &self,
        args: &Args,
        name: &str,
        instances: usize,
    ) -> BenchResult<Emulator> {
        let (front, callback_url) = self.front()?;
        let spec = self.env(callback_url).into_iter().fold(
            FunctionSpec::new(name, args.bin_dir.join(name)),
            |s, (k, v)| s.env(k, v),
        );
        let routes = match name {
            BASELINE => vec![Route::new(Method::GET, "/hello", name)],
            _ => self.stack.routes_of(name),
        };
        Emulator::start_with(
            vec![spec],
            routes,
            Options {
                instances,
                prewarm: true,
                front: Some(front),
                timeout: Duration::from_secs(30),
            },
        )
        .await
        .map_err(|e| format!("emulator for {name}: {e}"))
    }

    /// Several functions under one emulator, on `table`: the stack's routes to them, each with
    /// the stack's environment plus its own `extra` variables (the event pipeline's phase, the
    /// batch run), `instances` execution environments each.
    pub async fn emulator_of(
        &self,
        args: &Args,
        table: &str,
        functions: &[(&str, Vec<(String, String)>)],
        instances: usize,
        timeout: Duration,
    ) -> BenchResult<Emulator> {
        let (front, callback_url) = self.front()?;
        let mut specs = Vec::new();
        let mut routes = Vec::new();
        for (name, extra) in functions {
            let vars = self.env_on(table, callback_url.clone());
            specs.push(vars.into_iter().chain(extra.iter().cloned()).fold(
                FunctionSpec::new(*name, args.bin_dir.join(name)),
                |s, (k, v)| s.env(k, v),
            ));
            routes.extend(self.stack.routes_of(name));
        }
        Emulator::start_with(
            specs,
            routes,
            Options {
                instances,
                prewarm: true,
                front: Some(front),
                timeout,
            },
        )
        .await
        .map_err(|e| {
            format!(
                "emulator for {}: {e}",
                functions.first().map_or("", |f| f.0)
            )
        })
    }

    /// LeanX's success callback for the bench's RM 13.00 payout, built by the simulator's own
    /// builder (one place makes callback tokens for the sim, the tests and the bench).
    pub fn token(&self, external_ref: &str, invoice_no: &str) -> BenchResult<String> {
        SuccessCallback {
            virtual_pool_reference: self.sim_config.virtual_pool_reference.clone(),
            ..SuccessCallback::new(
                invoice_no,
                external_ref,
                rust_decimal::Decimal::new(1300, 2),
            )
        }
        .jwt(&self.sim_config.hash_key)
        .map_err(|e| e.to_string())
    }

    /// The callback route on `emulator`'s front.
    pub fn callback_url(&self, emulator: &Emulator) -> BenchResult<String> {
        self.stack
            .url_of(&emulator.base_url(), CALLBACK_FUNCTION)
            .ok_or_else(|| "the stack has no route to the callback function".into())
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> BenchResult<(u16, Value)> {
        let response = request.send().await.map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await.map_err(|e| e.to_string())?;
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        Ok((status, body))
    }

    pub async fn counts(&self) -> BenchResult<(Counts, Counts)> {
        let leanx = self
            .sim
            .control()
            .counts()
            .await
            .map_err(|e| format!("simulator counts: {e}"))?;
        Ok((self.proxy.counts(), leanx))
    }
}

/// A new payouts table on the local DynamoDB, and a store on it (as the tests' harness makes
/// them: static local credentials, nothing from the developer's AWS setup).
pub async fn fresh_table(endpoint: &str) -> BenchResult<(DynamoPayoutStore, String)> {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "local",
            "local",
            None,
            None,
            "lambda-bench",
        ))
        .endpoint_url(endpoint)
        .build();
    let client = aws_sdk_dynamodb::Client::from_conf(config);
    let table = format!("payouts-test-{}", uuid::Uuid::new_v4());
    schema::create_table(&client, &table)
        .await
        .map_err(|e| format!("cannot create table {table}: {e}"))?;
    Ok((DynamoPayoutStore::new(client, table.clone()), table))
}
