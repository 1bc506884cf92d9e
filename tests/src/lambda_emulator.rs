//! A local stand-in for AWS Lambda + an API Gateway HTTP API, so the end-to-end tests can drive the
//! REAL function binaries (separate processes built by cargo) over real HTTP, without AWS.
//!
//! - Each function binary runs as a child process that talks to a **Runtime API** server we host
//!   (`GET /2018-06-01/runtime/invocation/next`, `POST .../invocation/{id}/response|error`,
//!   `POST .../init/error`): the same protocol the `lambda_runtime` crate speaks in production, so
//!   nothing in the function is mocked.
//! - An HTTP **front** matches requests against routes (`GET /payouts/{external_invoice_ref}`),
//!   turns them into API Gateway HTTP API payload v2.0 events and turns the function's answer back
//!   into an HTTP response, with API Gateway's failure modes (502 on function error or crash, 504
//!   on timeout).
//! - One invocation at a time per process, like one Lambda execution environment; extra requests
//!   queue. A dead or timed-out process is replaced by a fresh one (a new cold start) on the next
//!   invocation. `kill` SIGKILLs processes for crash tests; `stats` exposes init and invocation
//!   timings for the benchmark.

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::fs::File;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use http_body_util::{BodyExt as _, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderName, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt as _, AsyncRead, BufReader};
use tokio::net::TcpListener;
use tokio::process::Command;
use tokio::sync::{Notify, mpsc, oneshot, watch};
use tokio::task::{JoinHandle, JoinSet};

pub use hyper::Method;

const ACCOUNT_ID: &str = "123456789012";
const REGION: &str = "us-east-1";

/// A function binary to run, with extra environment variables (they override the defaults).
#[derive(Debug, Clone)]
pub struct FunctionSpec {
    pub name: String,
    pub binary: PathBuf,
    pub env: Vec<(String, String)>,
}

impl FunctionSpec {
    pub fn new(name: impl Into<String>, binary: impl Into<PathBuf>) -> Self {
        FunctionSpec {
            name: name.into(),
            binary: binary.into(),
            env: Vec::new(),
        }
    }

    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }
}

/// An HTTP API route: `{name}` segments become path parameters, a final `{name+}` takes the rest
/// of the path, method `ANY` matches every method.
#[derive(Debug, Clone)]
pub struct Route {
    pub method: Method,
    pub path_template: String,
    pub function: String,
}

impl Route {
    pub fn new(
        method: Method,
        path_template: impl Into<String>,
        function: impl Into<String>,
    ) -> Self {
        Route {
            method,
            path_template: path_template.into(),
            function: function.into(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Options {
    /// Per-invocation limit, counted from the moment the event is queued (so a cold start counts).
    pub timeout: Duration,
    /// Processes (execution environments) per function; requests beyond that queue.
    pub instances: usize,
    /// Start every process in `start` (surfaces a bad binary early) instead of on first use.
    pub prewarm: bool,
    /// Where the front listens; `None` picks a free loopback port. Set it when the functions
    /// must know their own public URL before they start (e.g. a callback URL).
    pub front_addr: Option<SocketAddr>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            timeout: Duration::from_secs(30),
            instances: 1,
            prewarm: true,
            front_addr: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    #[error("unknown function `{0}`")]
    UnknownFunction(String),
    #[error("cannot spawn `{function}` from {binary:?}: {source}")]
    Spawn {
        function: String,
        binary: PathBuf,
        source: std::io::Error,
    },
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("function `{function}` reported an error: {body}")]
    FunctionError { function: String, body: Value },
    #[error("function `{function}` process died during the invocation ({status})")]
    Crashed { function: String, status: String },
    #[error("function `{function}` timed out after {timeout:?}")]
    Timeout { function: String, timeout: Duration },
    #[error("function `{function}` answered something that is not JSON: {detail}")]
    BadResponse { function: String, detail: String },
    #[error("function `{function}` was not ready within {timeout:?}")]
    NotReady { function: String, timeout: Duration },
    #[error("emulator task failed: {0}")]
    Internal(String),
}

pub type Result<T, E = EmulatorError> = std::result::Result<T, E>;

/// One process start: `first_next_at - spawned_at` is the cold-start (init) duration.
#[derive(Debug, Clone)]
pub struct InitRecord {
    pub instance: usize,
    pub pid: Option<u32>,
    pub spawned_at: Instant,
    pub first_next_at: Option<Instant>,
}

impl InitRecord {
    pub fn init_duration(&self) -> Option<Duration> {
        self.first_next_at.map(|t| t - self.spawned_at)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvocationOutcome {
    Success,
    FunctionError,
    Crashed,
    Timeout,
}

#[derive(Debug, Clone)]
pub struct InvocationRecord {
    pub instance: usize,
    pub request_id: String,
    pub outcome: InvocationOutcome,
    /// When the invocation was asked for (before waiting for a free process or a cold start).
    pub queued_at: Instant,
    /// When the process took the event from `invocation/next`.
    pub handed_out_at: Option<Instant>,
    /// When the response/error was posted, or the crash/timeout noticed.
    pub finished_at: Instant,
}

impl InvocationRecord {
    /// Time inside the function: event handed out -> response posted.
    pub fn handler_duration(&self) -> Option<Duration> {
        self.handed_out_at.map(|t| self.finished_at - t)
    }

    /// What a caller waits: queueing, cold start if any, and the handler.
    pub fn total_duration(&self) -> Duration {
        self.finished_at - self.queued_at
    }
}

#[derive(Debug, Clone, Default)]
pub struct FunctionStats {
    pub inits: Vec<InitRecord>,
    pub invocations: Vec<InvocationRecord>,
}

/// `target/<profile>/<name>`, next to the running test binary: where cargo puts binaries of
/// other packages (e.g. the functions), which `env!("CARGO_BIN_EXE_..")` cannot name.
pub fn target_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    let mut dir = exe.parent().map(PathBuf::from).unwrap_or_default();
    if dir.ends_with("deps") {
        dir.pop(); // test executables live in target/<profile>/deps
    }
    dir.join(name)
}

/// An EventBridge "Scheduled Event", as the scheduled reconciler receives it.
pub fn scheduled_event(rule_name: &str) -> Value {
    let now = chrono::Utc::now();
    json!({
        "version": "0",
        "id": uuid::Uuid::new_v4().to_string(),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": now.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        "region": REGION,
        "resources": [format!("arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/{rule_name}")],
        "detail": {}
    })
}

pub struct Emulator {
    shared: Arc<Shared>,
    addr: SocketAddr,
    front: JoinHandle<()>,
}

struct Shared {
    functions: HashMap<String, Arc<Function>>,
    routes: Vec<Route>,
    timeout: Duration,
    logs: Arc<Logs>,
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
        let dir = std::env::var_os("E2E_LOG_DIR").map(PathBuf::from);
        if let Some(dir) = &dir {
            std::fs::create_dir_all(dir)?;
        }
        let logs = Arc::new(Logs {
            lines: Mutex::new(Vec::new()),
            files: Mutex::new(HashMap::new()),
            dir,
        });
        let instances = options.instances.max(1);
        let functions: HashMap<_, _> = functions
            .into_iter()
            .map(|spec| {
                let (idle_tx, idle_rx) = mpsc::unbounded_channel();
                for index in 0..instances {
                    let _ = idle_tx.send(index);
                }
                let function = Function {
                    instances: (0..instances)
                        .map(|index| Instance {
                            index,
                            process: Mutex::new(None),
                        })
                        .collect(),
                    idle_tx,
                    idle_rx: tokio::sync::Mutex::new(idle_rx),
                    stats: Arc::new(Mutex::new(FunctionStats::default())),
                    logs: logs.clone(),
                    spec,
                };
                (function.spec.name.clone(), Arc::new(function))
            })
            .collect();
        if options.prewarm {
            for function in functions.values() {
                for instance in &function.instances {
                    instance.ensure_running(function)?;
                }
            }
        }
        let front_addr = options
            .front_addr
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
        let listener = TcpListener::bind(front_addr).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            functions,
            routes,
            timeout: options.timeout,
            logs,
        });
        let front_shared = shared.clone();
        let front = tokio::spawn(serve(listener, move |peer| {
            let shared = front_shared.clone();
            move |req| handle_front(shared.clone(), peer, req)
        }));
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
        let bytes = invoke(&self.shared, function, Bytes::from(event.to_string())).await?;
        serde_json::from_slice(&bytes).map_err(|e| EmulatorError::BadResponse {
            function: function.to_owned(),
            detail: e.to_string(),
        })
    }

    /// Everything a function's processes wrote to stdout/stderr, line by line, plus the
    /// emulator's own `[emulator] ...` notes (exits, reported errors).
    pub fn logs(&self, function: &str) -> Vec<String> {
        let lines = self.shared.logs.lines.lock().unwrap();
        lines
            .iter()
            .filter(|(f, _)| f == function)
            .map(|(_, l)| l.clone())
            .collect()
    }

    /// All functions' lines in arrival order, as `name: line`.
    pub fn all_logs(&self) -> Vec<String> {
        let lines = self.shared.logs.lines.lock().unwrap();
        lines.iter().map(|(f, l)| format!("{f}: {l}")).collect()
    }

    /// SIGKILLs every live process of `function` and waits until they are gone. An invocation
    /// in flight fails (502); the next one starts a fresh process.
    pub async fn kill(&self, function: &str) -> Result<()> {
        let mut exits = Vec::new();
        for instance in &self.function(function)?.instances {
            let mut process = instance.process.lock().unwrap();
            if let Some(p) = process.as_mut() {
                if let Some(kill) = p.kill.take() {
                    let _ = kill.send(());
                }
                exits.push(p.exited.clone());
            }
        }
        for mut exited in exits {
            let _ = tokio::time::timeout(Duration::from_secs(10), exited.wait_for(Option::is_some))
                .await;
        }
        Ok(())
    }

    /// The pid of the first instance's live process.
    pub fn pid(&self, function: &str) -> Option<u32> {
        self.pids(function).into_iter().next()
    }

    pub fn pids(&self, function: &str) -> Vec<u32> {
        let Ok(function) = self.function(function) else {
            return Vec::new();
        };
        function
            .instances
            .iter()
            .filter_map(|i| {
                i.process
                    .lock()
                    .unwrap()
                    .as_ref()
                    .filter(|p| p.exited.borrow().is_none())?
                    .pid
            })
            .collect()
    }

    /// How many of `function`'s processes hold an event they have not answered yet (lets a crash
    /// test kill a process truly mid-invocation).
    pub fn in_flight(&self, function: &str) -> usize {
        let Ok(function) = self.function(function) else {
            return 0;
        };
        let busy = |i: &Instance| {
            let process = i.process.lock().unwrap();
            process
                .as_ref()
                .is_some_and(|p| p.api.slot.lock().unwrap().in_flight.is_some())
        };
        function.instances.iter().filter(|i| busy(i)).count()
    }

    pub fn stats(&self, function: &str) -> Result<FunctionStats> {
        Ok(self.function(function)?.stats.lock().unwrap().clone())
    }

    /// Starts missing processes and waits until each polls `invocation/next` (init done).
    pub async fn wait_ready(&self, function: &str, timeout: Duration) -> Result<()> {
        let f = self.function(function)?;
        let deadline = Instant::now() + timeout;
        loop {
            let mut ready = true;
            for instance in &f.instances {
                let (api, _) = instance.ensure_running(f)?;
                ready &= f.stats.lock().unwrap().inits[api.init_record]
                    .first_next_at
                    .is_some();
            }
            if ready {
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
        self.shared
            .functions
            .get(name)
            .ok_or_else(|| EmulatorError::UnknownFunction(name.to_owned()))
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

struct Logs {
    lines: Mutex<Vec<(String, String)>>,
    files: Mutex<HashMap<String, File>>,
    dir: Option<PathBuf>,
}

impl Logs {
    fn push(&self, function: &str, line: String) {
        if let Some(dir) = &self.dir {
            let mut files = self.files.lock().unwrap();
            if !files.contains_key(function) {
                let path = dir.join(format!("{function}.log"));
                if let Ok(file) = File::options().create(true).append(true).open(path) {
                    files.insert(function.to_owned(), file);
                }
            }
            if let Some(file) = files.get_mut(function) {
                let _ = writeln!(file, "{line}");
            }
        }
        self.lines.lock().unwrap().push((function.to_owned(), line));
    }
}

struct Function {
    spec: FunctionSpec,
    instances: Vec<Instance>,
    /// Indexes of free instances. Waiters queue on the (FIFO-fair) tokio mutex around the
    /// receiver, so concurrent requests are served in arrival order.
    idle_tx: mpsc::UnboundedSender<usize>,
    idle_rx: tokio::sync::Mutex<mpsc::UnboundedReceiver<usize>>,
    stats: Arc<Mutex<FunctionStats>>,
    logs: Arc<Logs>,
}

/// One execution environment: at most one live process at a time.
struct Instance {
    index: usize,
    process: Mutex<Option<Process>>,
}

/// A running child plus the Runtime API server dedicated to it. Giving each process its own
/// server (torn down with it) means a dead process's pending long-poll can never swallow an event
/// meant for its replacement.
struct Process {
    pid: Option<u32>,
    api: Arc<RuntimeApi>,
    /// `Some(exit status)` once the child is gone.
    exited: watch::Receiver<Option<String>>,
    /// Sending (or dropping) this makes the watcher task SIGKILL the child.
    kill: Option<oneshot::Sender<()>>,
    server: JoinHandle<()>,
}

impl Drop for Process {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Releases an instance back to the idle queue even if the invocation future is dropped.
struct Release<'a>(&'a mpsc::UnboundedSender<usize>, usize);

impl Drop for Release<'_> {
    fn drop(&mut self) {
        let _ = self.0.send(self.1);
    }
}

enum Ending {
    Replied(Reply),
    Exited(String),
    TimedOut,
}

async fn invoke(shared: &Arc<Shared>, function: &str, payload: Bytes) -> Result<Bytes> {
    let f = shared
        .functions
        .get(function)
        .ok_or_else(|| EmulatorError::UnknownFunction(function.to_owned()))?;
    let (f, timeout) = (f.clone(), shared.timeout);
    // A task of its own, so a caller giving up (client disconnect) cannot leave a process half-way.
    tokio::spawn(async move { f.invoke(payload, timeout).await })
        .await
        .unwrap_or_else(|e| Err(EmulatorError::Internal(e.to_string())))
}

impl Function {
    async fn invoke(&self, payload: Bytes, timeout: Duration) -> Result<Bytes> {
        let queued_at = Instant::now();
        let deadline = tokio::time::Instant::now() + timeout;
        let index = self
            .idle_rx
            .lock()
            .await
            .recv()
            .await
            .expect("Function owns idle_tx");
        let _release = Release(&self.idle_tx, index);
        let instance = &self.instances[index];
        let (api, mut exited) = instance.ensure_running(self)?;

        let request_id = uuid::Uuid::new_v4().to_string();
        let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
        let deadline_ms =
            chrono::Utc::now().timestamp_millis().max(0) as u64 + remaining.as_millis() as u64;
        let (reply_tx, reply_rx) = oneshot::channel();
        api.slot.lock().unwrap().queued = Some(Pending {
            request_id: request_id.clone(),
            payload,
            deadline_ms,
            reply: reply_tx,
        });
        api.wake.notify_one();

        let ending = tokio::select! {
            biased;
            Ok(reply) = reply_rx => Ending::Replied(reply),
            status = exited.wait_for(Option::is_some) => {
                Ending::Exited(status.ok().and_then(|s| s.clone()).unwrap_or_else(|| "watcher gone".into()))
            }
            _ = tokio::time::sleep_until(deadline) => Ending::TimedOut,
        };
        let handed_out_at = match &ending {
            Ending::Replied(reply) => Some(reply.handed_out_at),
            _ => api
                .slot
                .lock()
                .unwrap()
                .in_flight
                .as_ref()
                .map(|f| f.handed_out_at),
        };
        let (outcome, finished_at, result) = match ending {
            Ending::Replied(Reply {
                ok: true,
                body,
                posted_at,
                ..
            }) => (InvocationOutcome::Success, posted_at, Ok(body)),
            Ending::Replied(Reply {
                body, posted_at, ..
            }) => {
                let body = serde_json::from_slice(&body)
                    .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
                let err = EmulatorError::FunctionError {
                    function: self.spec.name.clone(),
                    body,
                };
                (InvocationOutcome::FunctionError, posted_at, Err(err))
            }
            Ending::Exited(status) => {
                instance
                    .process
                    .lock()
                    .unwrap()
                    .take_if(|p| Arc::ptr_eq(&p.api, &api));
                let err = EmulatorError::Crashed {
                    function: self.spec.name.clone(),
                    status,
                };
                (InvocationOutcome::Crashed, Instant::now(), Err(err))
            }
            Ending::TimedOut => {
                // Lambda resets the execution environment after a timeout: kill it, and the next
                // invocation gets a fresh process.
                instance
                    .process
                    .lock()
                    .unwrap()
                    .take_if(|p| Arc::ptr_eq(&p.api, &api));
                self.logs.push(
                    &self.spec.name,
                    format!("[emulator] invocation {request_id} timed out after {timeout:?}"),
                );
                let err = EmulatorError::Timeout {
                    function: self.spec.name.clone(),
                    timeout,
                };
                (InvocationOutcome::Timeout, Instant::now(), Err(err))
            }
        };
        self.stats
            .lock()
            .unwrap()
            .invocations
            .push(InvocationRecord {
                instance: index,
                request_id,
                outcome,
                queued_at,
                handed_out_at,
                finished_at,
            });
        result
    }
}

impl Instance {
    /// The live process, or a freshly spawned one if there is none or it has exited.
    fn ensure_running(
        &self,
        f: &Function,
    ) -> Result<(Arc<RuntimeApi>, watch::Receiver<Option<String>>)> {
        let mut process = self.process.lock().unwrap();
        if let Some(p) = process.as_ref().filter(|p| p.exited.borrow().is_none()) {
            return Ok((p.api.clone(), p.exited.clone()));
        }
        *process = None; // tears down the dead process's Runtime API server first
        let p = self.spawn(f)?;
        let handles = (p.api.clone(), p.exited.clone());
        *process = Some(p);
        Ok(handles)
    }

    fn spawn(&self, f: &Function) -> Result<Process> {
        let name = f.spec.name.clone();
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let api_addr = listener.local_addr()?;
        let listener = TcpListener::from_std(listener)?;

        let mut cmd = Command::new(&f.spec.binary);
        cmd.env_remove("AWS_LAMBDA_MAX_CONCURRENCY")
            .env("AWS_LAMBDA_RUNTIME_API", api_addr.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", &name)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
            .env(
                "AWS_LAMBDA_LOG_STREAM_NAME",
                format!("emulator/{}/{}", self.index, uuid::Uuid::new_v4()),
            )
            .env("AWS_REGION", REGION)
            .env("AWS_DEFAULT_REGION", REGION)
            .env("_HANDLER", &name)
            .envs(f.spec.env.iter().map(|(k, v)| (k, v)))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true);
        let spawned_at = Instant::now();
        let mut child = cmd.spawn().map_err(|source| EmulatorError::Spawn {
            function: name.clone(),
            binary: f.spec.binary.clone(),
            source,
        })?;
        let pid = child.id();
        let init_record = {
            let mut stats = f.stats.lock().unwrap();
            stats.inits.push(InitRecord {
                instance: self.index,
                pid,
                spawned_at,
                first_next_at: None,
            });
            stats.inits.len() - 1
        };
        if let Some(out) = child.stdout.take() {
            tokio::spawn(pump_lines(out, f.logs.clone(), name.clone()));
        }
        if let Some(err) = child.stderr.take() {
            tokio::spawn(pump_lines(err, f.logs.clone(), name.clone()));
        }

        let api = Arc::new(RuntimeApi {
            function: name.clone(),
            arn: format!("arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}"),
            slot: Mutex::new(Slot::default()),
            wake: Notify::new(),
            stats: f.stats.clone(),
            init_record,
            logs: f.logs.clone(),
        });
        let server_api = api.clone();
        let server = tokio::spawn(serve(listener, move |_| {
            let api = server_api.clone();
            move |req| handle_runtime(api.clone(), req)
        }));

        let (exit_tx, exit_rx) = watch::channel(None);
        let (kill_tx, kill_rx) = oneshot::channel::<()>();
        let logs = f.logs.clone();
        tokio::spawn(async move {
            let finished = tokio::select! {
                status = child.wait() => Some(status),
                _ = kill_rx => None, // asked to kill, or the Process was dropped
            };
            let status = match finished {
                Some(status) => status,
                None => {
                    let _ = child.start_kill();
                    child.wait().await
                }
            };
            let status = status.map_or_else(|e| format!("wait failed: {e}"), |s| s.to_string());
            logs.push(
                &name,
                format!("[emulator] process {} exited: {status}", pid.unwrap_or(0)),
            );
            let _ = exit_tx.send(Some(status));
        });
        Ok(Process {
            pid,
            api,
            exited: exit_rx,
            kill: Some(kill_tx),
            server,
        })
    }
}

async fn pump_lines(stream: impl AsyncRead + Unpin, logs: Arc<Logs>, function: String) {
    // Byte lines, not `lines()`: one non-UTF-8 line must not end the capture.
    let mut reader = BufReader::new(stream);
    let mut line = Vec::new();
    while reader
        .read_until(b'\n', &mut line)
        .await
        .is_ok_and(|n| n > 0)
    {
        let text = String::from_utf8_lossy(&line);
        logs.push(&function, text.trim_end_matches(['\n', '\r']).to_owned());
        line.clear();
    }
}

/// Accepts HTTP/1 connections, one task per connection. The tasks live in a `JoinSet`, so
/// aborting the server task also drops every open connection (and any pending long-poll).
async fn serve<S, H, F>(listener: TcpListener, make_handler: S)
where
    S: Fn(SocketAddr) -> H,
    H: Fn(Request<Incoming>) -> F + Send + 'static,
    F: Future<Output = Result<Response<Full<Bytes>>, Infallible>> + Send + 'static,
{
    let mut connections = JoinSet::new();
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let handler = make_handler(peer);
        connections.spawn(async move {
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service_fn(handler))
                .await;
        });
        while connections.try_join_next().is_some() {}
    }
}

/// The Runtime API state of one process: at most one queued event and one in flight.
struct RuntimeApi {
    function: String,
    arn: String,
    slot: Mutex<Slot>,
    wake: Notify,
    stats: Arc<Mutex<FunctionStats>>,
    init_record: usize,
    logs: Arc<Logs>,
}

#[derive(Default)]
struct Slot {
    queued: Option<Pending>,
    in_flight: Option<InFlight>,
}

struct Pending {
    request_id: String,
    payload: Bytes,
    deadline_ms: u64,
    reply: oneshot::Sender<Reply>,
}

struct InFlight {
    request_id: String,
    handed_out_at: Instant,
    reply: oneshot::Sender<Reply>,
}

struct Reply {
    ok: bool,
    body: Bytes,
    handed_out_at: Instant,
    posted_at: Instant,
}

fn respond(status: StatusCode, body: Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    response
}

async fn handle_runtime(
    api: Arc<RuntimeApi>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_owned();
    let route = path
        .strip_prefix("/2018-06-01/runtime/")
        .unwrap_or_default();
    let accepted = || respond(StatusCode::ACCEPTED, json!({"status": "OK"}));
    Ok(match (req.method().clone(), route) {
        (Method::GET, "invocation/next") => api.next().await,
        (Method::POST, "init/error") => {
            let body = req
                .into_body()
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            api.logs.push(
                &api.function,
                format!("[emulator] init error: {}", String::from_utf8_lossy(&body)),
            );
            accepted()
        }
        (Method::POST, route) => {
            let parts = route
                .strip_prefix("invocation/")
                .and_then(|r| r.rsplit_once('/'));
            let Some((request_id, kind @ ("response" | "error"))) = parts else {
                return Ok(respond(
                    StatusCode::NOT_FOUND,
                    json!({"errorMessage": "unknown path"}),
                ));
            };
            let request_id = request_id.to_owned();
            let body = req
                .into_body()
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            if kind == "error" {
                let text = String::from_utf8_lossy(&body);
                api.logs.push(
                    &api.function,
                    format!("[emulator] invocation {request_id} error: {text}"),
                );
            }
            let mut slot = api.slot.lock().unwrap();
            match slot.in_flight.take_if(|f| f.request_id == request_id) {
                Some(f) => {
                    let reply = Reply {
                        ok: kind == "response",
                        body,
                        handed_out_at: f.handed_out_at,
                        posted_at: Instant::now(),
                    };
                    let _ = f.reply.send(reply);
                    accepted()
                }
                None => respond(
                    StatusCode::BAD_REQUEST,
                    json!({"errorMessage": "invalid request id", "errorType": "InvalidRequestID"}),
                ),
            }
        }
        _ => respond(
            StatusCode::NOT_FOUND,
            json!({"errorMessage": "unknown path"}),
        ),
    })
}

impl RuntimeApi {
    /// Long-poll: waits for the next event and hands it out with the Lambda headers.
    async fn next(&self) -> Response<Full<Bytes>> {
        if let Some(init) = self.stats.lock().unwrap().inits.get_mut(self.init_record) {
            init.first_next_at.get_or_insert_with(Instant::now);
        }
        loop {
            let taken = {
                let mut slot = self.slot.lock().unwrap();
                slot.queued.take().map(|p| {
                    let handed_out_at = Instant::now();
                    slot.in_flight = Some(InFlight {
                        request_id: p.request_id.clone(),
                        handed_out_at,
                        reply: p.reply,
                    });
                    (p.request_id, p.payload, p.deadline_ms)
                })
            };
            if let Some((request_id, payload, deadline_ms)) = taken {
                let trace = format!(
                    "Root=1-{:08x}-{};Parent={};Sampled=0",
                    chrono::Utc::now().timestamp(),
                    &uuid::Uuid::new_v4().simple().to_string()[..24],
                    &uuid::Uuid::new_v4().simple().to_string()[..16]
                );
                let mut response = Response::new(Full::new(payload));
                let headers = response.headers_mut();
                let mut set = |name: &'static str, value: String| {
                    if let Ok(value) = HeaderValue::from_str(&value) {
                        headers.insert(name, value);
                    }
                };
                set("content-type", "application/json".into());
                set("lambda-runtime-aws-request-id", request_id);
                set("lambda-runtime-deadline-ms", deadline_ms.to_string());
                set("lambda-runtime-invoked-function-arn", self.arn.clone());
                set("lambda-runtime-trace-id", trace);
                return response;
            }
            // `notify_one` stores a permit if nobody waits yet, so an event queued between the
            // check above and this await is not missed.
            self.wake.notified().await;
        }
    }
}

async fn handle_front(
    shared: Arc<Shared>,
    peer: SocketAddr,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let request_id = BASE64.encode(&uuid::Uuid::new_v4().as_bytes()[..10]);
    let (parts, body) = req.into_parts();
    let mut response = match body.collect().await {
        Err(_) => respond(StatusCode::BAD_REQUEST, json!({"message": "Bad Request"})),
        Ok(body) => match match_route(&shared.routes, &parts.method, parts.uri.path()) {
            None => respond(
                StatusCode::NOT_FOUND,
                json!({"error": {"code": "not_found", "message": "no route"}}),
            ),
            Some((route, params)) => {
                let event = http_event(route, &params, &parts, &body.to_bytes(), peer, &request_id);
                match invoke(&shared, &route.function, Bytes::from(event.to_string())).await {
                    Ok(payload) => lambda_to_http(&payload).unwrap_or_else(|| {
                        respond(
                            StatusCode::BAD_GATEWAY,
                            json!({"message": "Internal Server Error"}),
                        )
                    }),
                    Err(EmulatorError::Timeout { .. }) => respond(
                        StatusCode::GATEWAY_TIMEOUT,
                        json!({"message": "Endpoint request timed out"}),
                    ),
                    Err(_) => respond(
                        StatusCode::BAD_GATEWAY,
                        json!({"message": "Internal Server Error"}),
                    ),
                }
            }
        },
    };
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("apigw-requestid", value);
    }
    Ok(response)
}

/// The matching route with the fewest parameters (literal segments win, like API Gateway).
fn match_route<'r>(
    routes: &'r [Route],
    method: &Method,
    path: &str,
) -> Option<(&'r Route, Vec<(String, String)>)> {
    routes
        .iter()
        .filter(|r| r.method == method || r.method.as_str() == "ANY")
        .filter_map(|r| match_template(&r.path_template, path).map(|params| (r, params)))
        .min_by_key(|(r, params)| (params.len(), r.path_template.contains("+}")))
}

fn match_template(template: &str, path: &str) -> Option<Vec<(String, String)>> {
    let template: Vec<&str> = template.trim_start_matches('/').split('/').collect();
    let path: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let mut params = Vec::new();
    for (i, segment) in template.iter().enumerate() {
        match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(name) if name.ends_with('+') => {
                let rest = path.get(i..)?.join("/");
                params.push((name.trim_end_matches('+').to_owned(), decode(&rest, false)));
                return (!rest.is_empty()).then_some(params);
            }
            Some(name) => {
                let value = path.get(i).filter(|v| !v.is_empty())?;
                params.push((name.to_owned(), decode(value, false)));
            }
            None if path.get(i) == Some(segment) => {}
            None => return None,
        }
    }
    (template.len() == path.len()).then_some(params)
}

fn decode(s: &str, plus_is_space: bool) -> String {
    let s = if plus_is_space {
        s.replace('+', " ")
    } else {
        s.to_owned()
    };
    percent_encoding::percent_decode_str(&s)
        .decode_utf8_lossy()
        .into_owned()
}

/// Builds an API Gateway HTTP API payload format 2.0 event.
fn http_event(
    route: &Route,
    params: &[(String, String)],
    parts: &hyper::http::request::Parts,
    body: &[u8],
    peer: SocketAddr,
    request_id: &str,
) -> Value {
    // HTTP API lower-cases header names, joins repeated headers with commas and moves cookies
    // out of the headers into `cookies`.
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    let mut cookies = Vec::new();
    for (name, value) in &parts.headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        if name == hyper::header::COOKIE {
            cookies.extend(
                value
                    .split(';')
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(str::to_owned),
            );
            continue;
        }
        headers
            .entry(name.as_str().to_owned())
            .and_modify(|v| *v = format!("{v},{value}"))
            .or_insert(value);
    }
    headers.insert("x-forwarded-for".into(), peer.ip().to_string());
    headers.insert("x-forwarded-proto".into(), "http".into());
    let host = headers
        .get("host")
        .cloned()
        .unwrap_or_else(|| "localhost".into());
    headers
        .entry("x-forwarded-port".into())
        .or_insert_with(|| host.rsplit_once(':').map_or("80", |(_, p)| p).into());

    let raw_query = parts.uri.query().unwrap_or_default();
    let mut query: BTreeMap<String, String> = BTreeMap::new();
    for pair in raw_query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (decode(k, true), decode(v, true));
        query
            .entry(k)
            .and_modify(|old| *old = format!("{old},{v}"))
            .or_insert(v);
    }

    let route_key = format!("{} {}", route.method, route.path_template);
    let now = chrono::Utc::now();
    let mut event = json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": parts.uri.path(),
        "rawQueryString": raw_query,
        "headers": headers,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": "e2eemulator",
            "domainName": host,
            "domainPrefix": host.split('.').next().unwrap_or_default(),
            "http": {
                "method": parts.method.as_str(),
                "path": parts.uri.path(),
                "protocol": format!("{:?}", parts.version),
                "sourceIp": peer.ip().to_string(),
                "userAgent": headers.get("user-agent").cloned().unwrap_or_default(),
            },
            "requestId": request_id,
            "routeKey": route_key,
            "stage": "$default",
            "time": now.format("%d/%b/%Y:%H:%M:%S %z").to_string(),
            "timeEpoch": now.timestamp_millis(),
        },
        "isBase64Encoded": false,
    });
    // API Gateway leaves these keys out rather than sending empty values.
    if !cookies.is_empty() {
        event["cookies"] = json!(cookies);
    }
    if !query.is_empty() {
        event["queryStringParameters"] = json!(query);
    }
    if !params.is_empty() {
        event["pathParameters"] = json!(params.iter().cloned().collect::<BTreeMap<_, _>>());
    }
    if !body.is_empty() {
        match std::str::from_utf8(body) {
            Ok(text) => event["body"] = json!(text),
            Err(_) => {
                event["body"] = json!(BASE64.encode(body));
                event["isBase64Encoded"] = json!(true);
            }
        }
    }
    event
}

/// Turns the function's result into the HTTP response, as API Gateway does for payload 2.0:
/// an object with `statusCode` is a response description, any other JSON is a 200 JSON body.
/// `None` (-> 502) when it cannot be interpreted.
fn lambda_to_http(payload: &[u8]) -> Option<Response<Full<Bytes>>> {
    let value: Value = serde_json::from_slice(payload).ok()?;
    let Some(obj) = value.as_object().filter(|o| o.contains_key("statusCode")) else {
        return Some(respond(StatusCode::OK, value));
    };
    let status = StatusCode::from_u16(u16::try_from(obj["statusCode"].as_u64()?).ok()?).ok()?;
    let body = match obj.get("body") {
        Some(Value::String(body)) if obj.get("isBase64Encoded") == Some(&Value::Bool(true)) => {
            BASE64.decode(body).ok()?
        }
        Some(Value::String(body)) => body.clone().into_bytes(),
        _ => Vec::new(),
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    let mut add = |name: &str, value: &Value| {
        let value = value
            .as_str()
            .map_or_else(|| value.to_string(), str::to_owned);
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            headers.append(name, value);
        }
    };
    for (name, value) in obj
        .get("headers")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        add(name, value);
    }
    for (name, values) in obj
        .get("multiValueHeaders")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        for value in values.as_array().into_iter().flatten() {
            add(name, value);
        }
    }
    for cookie in obj
        .get("cookies")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        add("set-cookie", cookie);
    }
    Some(response)
}
