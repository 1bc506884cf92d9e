//! A local stand-in for AWS Lambda + an API Gateway HTTP API, so the end-to-end tests and the
//! benchmark can drive the REAL function binaries (separate processes built by cargo) over real
//! HTTP, without AWS. Three jobs, one module each:
//!
//! - `supervisor`: each function binary runs as child processes, one per execution
//!   environment, one invocation at a time each; extra requests queue. A dead or timed-out
//!   process is replaced by a fresh one (a new cold start) on the next invocation. `kill`
//!   SIGKILLs processes for crash tests; `stats` exposes init and invocation timings for the
//!   benchmark.
//! - `runtime_api`: the **Runtime API** server each process talks to
//!   (`GET /2018-06-01/runtime/invocation/next`, `POST .../invocation/{id}/response|error`,
//!   `POST .../init/error`): the same protocol the `lambda_runtime` crate speaks in production,
//!   so nothing in the function is mocked.
//! - `front`: the HTTP **front** matches requests against routes
//!   (`GET /payouts/{external_invoice_ref}`), turns them into API Gateway HTTP API payload v2.0
//!   events and turns the function's answer back into an HTTP response, with API Gateway's
//!   failure modes (502 on function error or crash, 504 on timeout).
//!
//! [`stack`] reads this workspace's own stack (its functions, routes and environment) from the
//! workspace manifest, for the tests, the benchmark and `make dev`.

mod config;
mod events;
mod front;
mod http;
mod runtime_api;
pub mod stack;
mod stats;
mod supervisor;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use hyper::body::Bytes;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use config::{EmulatorError, FunctionSpec, Options, Result, Route, bind_loopback};
pub use events::{scheduled_event, target_binary};
pub use hyper::Method;
pub use stats::{FunctionStats, InitRecord, InvocationOutcome, InvocationRecord};

use supervisor::{Function, Logs};

const ACCOUNT_ID: &str = "123456789012";
const REGION: &str = "us-east-1";

pub struct Emulator {
    shared: Arc<EmulatorState>,
    addr: SocketAddr,
    front: JoinHandle<()>,
}

/// What the front and the invoke API share: the functions by name, the routes to them.
pub(crate) struct EmulatorState {
    pub(crate) functions: HashMap<String, Arc<Function>>,
    pub(crate) routes: Vec<Route>,
    pub(crate) timeout: Duration,
    pub(crate) logs: Arc<Logs>,
}

impl Emulator {
    pub async fn start(functions: Vec<FunctionSpec>, routes: Vec<Route>) -> Result<Emulator> {
        Self::start_with(functions, routes, Options::default()).await
    }

    pub async fn start_with(
        functions: Vec<FunctionSpec>,
        routes: Vec<Route>,
        options: Options,
    ) -> Result<Emulator> {
        if let Some(route) = routes
            .iter()
            .find(|r| !functions.iter().any(|f| f.name == r.function))
        {
            return Err(EmulatorError::UnknownFunction(route.function.clone()));
        }
        let logs = Arc::new(Logs::new(
            std::env::var_os("E2E_LOG_DIR").map(PathBuf::from),
        )?);
        let instances = options.instances.max(1);
        let functions: HashMap<_, _> = functions
            .into_iter()
            .map(|spec| {
                let function = Function::new(spec, instances, logs.clone());
                (function.spec.name.clone(), Arc::new(function))
            })
            .collect();
        if options.prewarm {
            for function in functions.values() {
                function.start_all()?;
            }
        }
        let listener = match options.front {
            Some(listener) => listener,
            None => bind_loopback()?,
        };
        listener.set_nonblocking(true)?;
        let listener = TcpListener::from_std(listener)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(EmulatorState {
            functions,
            routes,
            timeout: options.timeout,
            logs,
        });
        let front = tokio::spawn(front::serve(listener, shared.clone()));
        Ok(Emulator {
            shared,
            addr,
            front,
        })
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Invokes a function with any JSON event (e.g. [`scheduled_event`]) and returns its result.
    pub async fn invoke_raw(&self, function: &str, event: Value) -> Result<Value> {
        let bytes = self
            .shared
            .invoke(function, Bytes::from(event.to_string()))
            .await?;
        serde_json::from_slice(&bytes).map_err(|e| EmulatorError::BadResponse {
            function: function.to_owned(),
            detail: e.to_string(),
        })
    }

    /// Everything a function's processes wrote to stdout/stderr, line by line, plus the
    /// emulator's own `[emulator] ...` notes (exits, reported errors).
    pub fn logs(&self, function: &str) -> Vec<String> {
        self.shared.logs.of(function)
    }

    /// All functions' lines in arrival order, as `name: line`.
    pub fn all_logs(&self) -> Vec<String> {
        self.shared.logs.all()
    }

    /// SIGKILLs every live process of `function` and waits until they are gone. An invocation
    /// in flight fails (502); the next one starts a fresh process.
    pub async fn kill(&self, function: &str) -> Result<()> {
        self.function(function)?.kill_all().await;
        Ok(())
    }

    /// The pid of the first instance's live process.
    pub fn pid(&self, function: &str) -> Option<u32> {
        self.pids(function).into_iter().next()
    }

    pub fn pids(&self, function: &str) -> Vec<u32> {
        self.function(function)
            .map(|f| f.pids())
            .unwrap_or_default()
    }

    /// How many of `function`'s processes hold an event they have not answered yet (lets a crash
    /// test kill a process truly mid-invocation).
    pub fn in_flight(&self, function: &str) -> usize {
        self.function(function).map_or(0, |f| f.in_flight())
    }

    pub fn stats(&self, function: &str) -> Result<FunctionStats> {
        Ok(self.function(function)?.stats.lock().unwrap().clone())
    }

    /// Starts missing processes and waits until each polls `invocation/next` (init done).
    pub async fn wait_ready(&self, function: &str, timeout: Duration) -> Result<()> {
        let f = self.function(function)?;
        let deadline = Instant::now() + timeout;
        loop {
            if f.all_ready()? {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(EmulatorError::NotReady {
                    function: function.to_owned(),
                    timeout,
                });
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Stops the front and kills every process, waiting for them to exit.
    pub async fn shutdown(self) {
        self.front.abort();
        for name in self.shared.functions.keys() {
            let _ = self.kill(name).await;
        }
    }

    fn function(&self, name: &str) -> Result<&Arc<Function>> {
        self.shared.function(name)
    }
}

impl EmulatorState {
    pub(crate) fn function(&self, name: &str) -> Result<&Arc<Function>> {
        self.functions
            .get(name)
            .ok_or_else(|| EmulatorError::UnknownFunction(name.to_owned()))
    }

    /// One invocation, in a task of its own, so a caller giving up (client disconnect) cannot
    /// leave a process half-way.
    pub(crate) async fn invoke(&self, function: &str, payload: Bytes) -> Result<Bytes> {
        let (f, timeout) = (self.function(function)?.clone(), self.timeout);
        tokio::spawn(async move { f.invoke(payload, timeout).await })
            .await
            .unwrap_or_else(|e| Err(EmulatorError::Internal(e.to_string())))
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.front.abort();
        // Dropping a `Process` drops its kill sender, which makes its watcher task SIGKILL the
        // child; `kill_on_drop` covers the case where the runtime is shutting down instead.
        for function in self.shared.functions.values() {
            for instance in &function.instances {
                // Never panic in drop (a test may already be panicking): ignore poisoning.
                let mut process = instance
                    .process
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                process.take();
            }
        }
    }
}
