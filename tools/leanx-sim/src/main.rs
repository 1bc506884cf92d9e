//! `leanx-sim`: the LeanX simulator as a process, for the local dev stack.
//! Args are hand-parsed (no clap) to keep the build light.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use leanx_sim::SimConfig;

const USAGE: &str = "usage: leanx-sim [--addr HOST:PORT] [--auth-token TOKEN] [--hash-key KEY] \
[--pool VA-...] [--require-signature] [--settle-delay-ms MS]
env: LEANX_SIM_ADDR (127.0.0.1:4010), LEANX_AUTH_TOKEN, LEANX_HASH_KEY, \
LEANX_VIRTUAL_POOL_REFERENCE, LEANX_SIGN_REQUESTS=true, LEANX_SIM_SETTLE_DELAY_MS (2000)";

struct Args {
    addr: SocketAddr,
    config: SimConfig,
}

fn parse_args() -> Result<Args, String> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let mut config = SimConfig::default();
    let mut addr = env("LEANX_SIM_ADDR").unwrap_or_else(|| "127.0.0.1:4010".into());
    let mut delay_ms = env("LEANX_SIM_SETTLE_DELAY_MS").unwrap_or_else(|| "2000".into());
    if let Some(v) = env("LEANX_AUTH_TOKEN") {
        config.auth_token = v;
    }
    if let Some(v) = env("LEANX_HASH_KEY") {
        config.hash_key = v;
    }
    if let Some(v) = env("LEANX_VIRTUAL_POOL_REFERENCE") {
        config.virtual_pool_reference = v;
    }
    config.require_signature = env("LEANX_SIGN_REQUESTS").is_some_and(|v| v == "true");

    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        // Accept both `--flag value` and `--flag=value`.
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) => (f.to_string(), Some(v.to_string())),
            None => (arg.clone(), None),
        };
        if flag == "--require-signature" {
            config.require_signature = inline.as_deref().is_none_or(|v| v == "true");
            continue;
        }
        if flag == "--help" || flag == "-h" {
            return Err(String::new());
        }
        const WITH_VALUE: [&str; 5] = [
            "--addr",
            "--auth-token",
            "--hash-key",
            "--pool",
            "--settle-delay-ms",
        ];
        if !WITH_VALUE.contains(&flag.as_str()) {
            return Err(format!("unknown argument {flag}"));
        }
        let value = match inline.or_else(|| args.next()) {
            Some(v) => v,
            None => return Err(format!("{flag} needs a value")),
        };
        match flag.as_str() {
            "--addr" => addr = value,
            "--auth-token" => config.auth_token = value,
            "--hash-key" => config.hash_key = value,
            "--pool" => config.virtual_pool_reference = value,
            "--settle-delay-ms" => delay_ms = value,
            _ => return Err(format!("unknown argument {flag}")),
        }
    }
    let addr = addr
        .parse()
        .map_err(|_| format!("invalid address {addr:?}"))?;
    let ms: u64 = delay_ms
        .parse()
        .map_err(|_| format!("invalid settle delay {delay_ms:?}"))?;
    config.settle_delay = Duration::from_millis(ms);
    Ok(Args { addr, config })
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

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("leanx-sim: {e}");
            }
            eprintln!("{USAGE}");
            return if e.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            };
        }
    };
    // JSON logs on stderr; stdout carries only the "listening" line for scripts to wait on.
    tracing_subscriber::fmt()
        .json()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    // Debug of SimConfig redacts the token and hash key.
    tracing::info!(config = ?args.config, "starting");
    let sim = match leanx_sim::spawn(args.config, args.addr).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("leanx-sim: cannot listen on {}: {e}", args.addr);
            return ExitCode::FAILURE;
        }
    };
    println!("leanx-sim listening on {}", sim.base_url());
    shutdown_signal().await;
    tracing::info!("shutting down");
    sim.shutdown().await;
    ExitCode::SUCCESS
}
