//! What the emulator is given: the functions, the routes, the options; and what it can fail with.

use std::path::PathBuf;
use std::time::Duration;

use hyper::Method;
use serde_json::Value;

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

#[derive(Debug)]
pub struct Options {
    /// Per-invocation limit, counted from the moment the event is queued (so a cold start counts).
    pub timeout: Duration,
    /// Processes (execution environments) per function; requests beyond that queue.
    pub instances: usize,
    /// Start every process in `start` (surfaces a bad binary early) instead of on first use.
    pub prewarm: bool,
    /// The front's listener, already bound: pass one (see [`bind_loopback`]) when the functions
    /// must know their own public URL before they start (e.g. a callback URL). `None` binds a
    /// free loopback port. Binding first and handing the socket over leaves no window in which
    /// another process could take the port.
    pub front: Option<std::net::TcpListener>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            timeout: Duration::from_secs(30),
            instances: 1,
            prewarm: true,
            front: None,
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

/// A listener on a free loopback port, ready to hand to [`Options::front`]; read its address
/// with `local_addr()` first to tell the functions their public URL.
pub fn bind_loopback() -> std::io::Result<std::net::TcpListener> {
    std::net::TcpListener::bind("127.0.0.1:0")
}
