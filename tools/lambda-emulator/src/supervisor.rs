//! The process supervisor: each function's execution environments, one child process each at a
//! time, started on demand (a cold start), one invocation at a time, replaced when they die or
//! time out; their output captured line by line.

use std::collections::HashMap;
use std::fs::File;
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hyper::body::Bytes;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt as _, AsyncRead, BufReader};
use tokio::net::TcpListener;
use tokio::process::Command;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use crate::runtime_api::{Pending, Reply, RuntimeApi};
use crate::{
    ACCOUNT_ID, EmulatorError, FunctionSpec, FunctionStats, InitRecord, InvocationOutcome,
    InvocationRecord, REGION, Result, http,
};

/// Every line the processes wrote, by function, in arrival order; also appended to
/// `<dir>/<function>.log` when a directory is given (`E2E_LOG_DIR`).
pub(crate) struct Logs {
    lines: Mutex<Vec<(String, String)>>,
    files: Mutex<HashMap<String, File>>,
    dir: Option<PathBuf>,
}

impl Logs {
    pub(crate) fn new(dir: Option<PathBuf>) -> std::io::Result<Logs> {
        if let Some(dir) = &dir {
            std::fs::create_dir_all(dir)?;
        }
        Ok(Logs {
            lines: Mutex::new(Vec::new()),
            files: Mutex::new(HashMap::new()),
            dir,
        })
    }

    pub(crate) fn of(&self, function: &str) -> Vec<String> {
        let lines = self.lines.lock().unwrap();
        lines
            .iter()
            .filter(|(f, _)| f == function)
            .map(|(_, l)| l.clone())
            .collect()
    }

    pub(crate) fn all(&self) -> Vec<String> {
        let lines = self.lines.lock().unwrap();
        lines.iter().map(|(f, l)| format!("{f}: {l}")).collect()
    }

    pub(crate) fn push(&self, function: &str, line: String) {
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

pub(crate) struct Function {
    pub(crate) spec: FunctionSpec,
    pub(crate) instances: Vec<Instance>,
    /// Indexes of free instances. Waiters queue on the (FIFO-fair) tokio mutex around the
    /// receiver, so concurrent requests are served in arrival order.
    idle_tx: mpsc::UnboundedSender<usize>,
    idle_rx: tokio::sync::Mutex<mpsc::UnboundedReceiver<usize>>,
    pub(crate) stats: Arc<Mutex<FunctionStats>>,
    logs: Arc<Logs>,
}

/// One execution environment: at most one live process at a time.
pub(crate) struct Instance {
    index: usize,
    pub(crate) process: Mutex<Option<Process>>,
}

/// A running child plus the Runtime API server dedicated to it. Giving each process its own
/// server (torn down with it) means a dead process's pending long-poll can never swallow an event
/// meant for its replacement.
pub(crate) struct Process {
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

impl Function {
    pub(crate) fn new(spec: FunctionSpec, instances: usize, logs: Arc<Logs>) -> Function {
        let (idle_tx, idle_rx) = mpsc::unbounded_channel();
        for index in 0..instances {
            let _ = idle_tx.send(index);
        }
        Function {
            instances: (0..instances)
                .map(|index| Instance {
                    index,
                    process: Mutex::new(None),
                })
                .collect(),
            idle_tx,
            idle_rx: tokio::sync::Mutex::new(idle_rx),
            stats: Arc::new(Mutex::new(FunctionStats::default())),
            logs,
            spec,
        }
    }

    /// Starts every instance's process that is not running.
    pub(crate) fn start_all(&self) -> Result<()> {
        for instance in &self.instances {
            instance.ensure_running(self)?;
        }
        Ok(())
    }

    /// Starts missing processes; whether every one has polled `invocation/next` (init done).
    pub(crate) fn all_ready(&self) -> Result<bool> {
        let mut ready = true;
        for instance in &self.instances {
            let (api, _) = instance.ensure_running(self)?;
            ready &= self.stats.lock().unwrap().inits[api.init_record]
                .first_next_at
                .is_some();
        }
        Ok(ready)
    }

    /// SIGKILLs every live process and waits (up to 10 s each) until it is gone.
    pub(crate) async fn kill_all(&self) {
        let mut exits = Vec::new();
        for instance in &self.instances {
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
    }

    pub(crate) fn pids(&self) -> Vec<u32> {
        self.instances
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

    /// How many processes hold an event they have not answered yet.
    pub(crate) fn in_flight(&self) -> usize {
        let busy = |i: &Instance| {
            let process = i.process.lock().unwrap();
            process.as_ref().is_some_and(|p| p.api.is_busy())
        };
        self.instances.iter().filter(|i| busy(i)).count()
    }

    pub(crate) async fn invoke(&self, payload: Bytes, timeout: Duration) -> Result<Bytes> {
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
        api.queue(Pending {
            request_id: request_id.clone(),
            payload,
            deadline_ms,
            reply: reply_tx,
        });

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
            _ => api.handed_out_at(),
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

        let api = Arc::new(RuntimeApi::new(
            name.clone(),
            format!("arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}"),
            f.stats.clone(),
            init_record,
            f.logs.clone(),
        ));
        let server = tokio::spawn(http::serve(listener, {
            let api = api.clone();
            move |_| {
                let api = api.clone();
                move |req| crate::runtime_api::handle(api.clone(), req)
            }
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
