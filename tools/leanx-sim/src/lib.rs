//! A stateful LeanX payout API simulator (the project's stripe-mock), written from
//! `LEANX.md` alone: it shares no types with the client, so a wrong field name on either side
//! shows up as a failure instead of agreeing with itself.
//!
//! `spawn` serves the LeanX endpoints under `/api/v1/merchant/` and scenario control under
//! `/__sim/` (see `control::SimControl` and docs/simulator.md).
//!
//! Modules, each depending only on those listed before it:
//! `wire` (exact JSON money, timestamps), `config`, `control` (public `/__sim/` types and
//! client), `callback_jwt`, `faults`, `call_log`, `state` (the world and its shared handle),
//! `callback_delivery`, `settlement`, `leanx` (the endpoints), `control_api` (the `/__sim/`
//! router), `http` (connections, faults on the wire).

mod call_log;
mod callback_delivery;
mod callback_jwt;
mod config;
pub mod control;
mod control_api;
mod faults;
mod http;
mod leanx;
mod settlement;
mod state;
mod wire;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use callback_jwt::SuccessCallback;
pub use config::{
    DEFAULT_AUTH_TOKEN, DEFAULT_HASH_KEY, DEFAULT_POOL, InvalidSignRequests, SimConfig,
    parse_sign_requests,
};
pub use control::SimControl;

/// A running simulator. Dropping it (or `shutdown`) stops the server, closes every
/// connection (hung ones included) and stops pending settlements and callbacks.
pub struct RunningSim {
    addr: SocketAddr,
    task: Option<JoinHandle<()>>,
    // Dropped with the sim: background tasks watch it to stop.
    _shutdown: watch::Sender<()>,
}

impl RunningSim {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// e.g. `http://127.0.0.1:4010` (no trailing slash).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A control client for this sim.
    pub fn control(&self) -> SimControl {
        SimControl::new(self.base_url())
    }

    /// Stops the server and waits for the accept loop to end.
    pub async fn shutdown(mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }
}

impl Drop for RunningSim {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Binds `addr` (`127.0.0.1:0` picks a free port) and serves in the background on the
/// current tokio runtime.
pub async fn spawn(config: SimConfig, addr: SocketAddr) -> std::io::Result<RunningSim> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let (tx, rx) = watch::channel(());
    let sim = state::Simulator::new(config, rx);
    let task = tokio::spawn(http::serve(listener, Arc::clone(&sim)));
    Ok(RunningSim {
        addr,
        task: Some(task),
        _shutdown: tx,
    })
}
