//! `leanx-sim`: the LeanX simulator as a process, for the local dev stack. Every flag falls back
//! to the environment variable the functions themselves read, so one `.env` configures both.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use leanx_sim::{
    DEFAULT_AUTH_TOKEN, DEFAULT_HASH_KEY, DEFAULT_POOL, SimConfig, parse_sign_requests,
};
use rust_decimal::Decimal;

/// A stateful LeanX payout API simulator on loopback (docs/simulator.md).
#[derive(Parser, Debug)]
#[command(name = "leanx-sim", version)]
struct Cli {
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, env = "LEANX_SIM_ADDR", default_value = "127.0.0.1:4010")]
    addr: SocketAddr,
    /// The only `auth-token` accepted.
    #[arg(
        long,
        env = "LEANX_AUTH_TOKEN",
        default_value = DEFAULT_AUTH_TOKEN,
        hide_default_value = true,
        hide_env_values = true
    )]
    auth_token: String,
    /// Key for request signatures and callback JWTs.
    #[arg(
        long,
        env = "LEANX_HASH_KEY",
        default_value = DEFAULT_HASH_KEY,
        hide_default_value = true,
        hide_env_values = true
    )]
    hash_key: String,
    /// The only `virtual_pool_reference` accepted.
    #[arg(long = "pool", env = "LEANX_VIRTUAL_POOL_REFERENCE", default_value = DEFAULT_POOL)]
    pool: String,
    /// Refuse requests without a valid x-signature. The variable takes true/false/1/0, as the
    /// functions read it; any other value is an error.
    #[arg(
        long,
        env = "LEANX_SIGN_REQUESTS",
        value_name = "BOOL",
        num_args = 0..=1,
        require_equals = true,
        default_value = "false",
        default_missing_value = "true",
        value_parser = parse_sign_requests
    )]
    require_signature: bool,
    /// The payout pool (`prefund_balance`) at start and after a reset, in ringgit.
    #[arg(long, env = "LEANX_SIM_PREFUND_BALANCE", default_value = "1000000.00")]
    prefund_balance: Decimal,
    /// Delay between a create's answer and its settlement.
    #[arg(long, env = "LEANX_SIM_SETTLE_DELAY_MS", default_value_t = 2000)]
    settle_delay_ms: u64,
}

impl Cli {
    fn config(&self) -> SimConfig {
        SimConfig {
            auth_token: self.auth_token.clone(),
            hash_key: self.hash_key.clone(),
            virtual_pool_reference: self.pool.clone(),
            require_signature: self.require_signature,
            settle_delay: Duration::from_millis(self.settle_delay_ms),
            initial_prefund_balance: self.prefund_balance,
            ..SimConfig::default()
        }
    }
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn main() -> ExitCode {
    forget_blank_variables();
    // Exits 2 with clap's message on a bad flag or variable, 0 after --help.
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("leanx-sim: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(cli))
}

/// The functions read a blank variable as unset (shared/src/config.rs); clap would read it as
/// an empty value, so blank `LEANX_*` variables are removed before parsing.
fn forget_blank_variables() {
    let blank: Vec<_> = std::env::vars_os()
        .filter(|(name, value)| {
            name.to_string_lossy().starts_with("LEANX_")
                && value.to_string_lossy().trim().is_empty()
        })
        .map(|(name, _)| name)
        .collect();
    for name in blank {
        // SAFETY: called first thing in `main`, before the runtime or any other thread exists,
        // so nothing can read the environment concurrently.
        unsafe { std::env::remove_var(name) };
    }
}

async fn run(cli: Cli) -> ExitCode {
    // JSON logs on stderr; stdout carries only the "listening" line for scripts to wait on.
    tracing_subscriber::fmt()
        .json()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let config = cli.config();
    // Debug of SimConfig redacts the token and hash key.
    tracing::info!(config = ?config, "starting");
    let sim = match leanx_sim::spawn(config, cli.addr).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("leanx-sim: cannot listen on {}: {e}", cli.addr);
            return ExitCode::FAILURE;
        }
    };
    println!("leanx-sim listening on {}", sim.base_url());
    shutdown_signal().await;
    tracing::info!("shutting down");
    sim.shutdown().await;
    ExitCode::SUCCESS
}
