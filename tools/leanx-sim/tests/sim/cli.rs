//! The `leanx-sim` binary: flags, their `LEANX_*` variables and `--help`.

use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const VARIABLES: [&str; 7] = [
    "LEANX_SIM_ADDR",
    "LEANX_AUTH_TOKEN",
    "LEANX_HASH_KEY",
    "LEANX_VIRTUAL_POOL_REFERENCE",
    "LEANX_SIGN_REQUESTS",
    "LEANX_SIM_SETTLE_DELAY_MS",
    "LEANX_SIM_PREFUND_BALANCE",
];

/// The binary on a free port, with none of the caller's `LEANX_*` variables.
fn leanx_sim(env: &[(&str, &str)], args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_leanx-sim"));
    for name in VARIABLES {
        cmd.env_remove(name);
    }
    cmd.envs(env.iter().copied())
        .args(["--addr", "127.0.0.1:0"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    cmd
}

/// Starts it and waits for its "listening" line; returns the child and its base URL.
async fn started(mut cmd: Command) -> (Child, String) {
    let mut child = cmd.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .expect("the sim printed nothing")
        .unwrap()
        .expect("the sim exited before listening");
    let base = line
        .strip_prefix("leanx-sim listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();
    (child, base)
}

/// response_code of an unsigned `overall-balance` with `token`.
async fn unsigned_call(base: &str, token: &str) -> Value {
    reqwest::Client::new()
        .post(format!("{base}/api/v1/merchant/overall-balance"))
        .header("auth-token", token)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["response_code"]
        .clone()
}

async fn unsigned_code_with(env: &[(&str, &str)], args: &[&str]) -> Value {
    let (_child, base) = started(leanx_sim(env, args)).await;
    unsigned_call(&base, leanx_sim::DEFAULT_AUTH_TOKEN).await
}

#[tokio::test]
async fn help_names_every_flag_and_its_variable() {
    let out = leanx_sim(&[], &["--help"]).output().await.unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for flag in [
        "--addr",
        "--auth-token",
        "--hash-key",
        "--pool",
        "--require-signature",
        "--settle-delay-ms",
        "--prefund-balance",
    ] {
        assert!(help.contains(flag), "{flag} missing from:\n{help}");
    }
    for name in VARIABLES {
        assert!(help.contains(name), "{name} missing from:\n{help}");
    }
}

#[tokio::test]
async fn an_invalid_leanx_sign_requests_stops_the_sim_with_an_error() {
    let mut cmd = leanx_sim(&[("LEANX_SIGN_REQUESTS", "yes")], &[]);
    let out = cmd.stderr(Stdio::piped()).output().await.unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("LEANX_SIGN_REQUESTS"), "{stderr}");
}

#[tokio::test]
async fn leanx_sign_requests_true_or_1_in_any_case_requires_signatures() {
    for value in ["TRUE", "true", "1"] {
        let code = unsigned_code_with(&[("LEANX_SIGN_REQUESTS", value)], &[]).await;
        assert_eq!(code, 5697, "LEANX_SIGN_REQUESTS={value}");
    }
}

#[tokio::test]
async fn leanx_sign_requests_false_0_or_blank_serves_unsigned_calls() {
    for value in ["False", "0", "", " "] {
        let code = unsigned_code_with(&[("LEANX_SIGN_REQUESTS", value)], &[]).await;
        assert_eq!(code, 2000, "LEANX_SIGN_REQUESTS={value:?}");
    }
}

#[tokio::test]
async fn the_require_signature_flag_wins_over_the_variable() {
    let env = [("LEANX_SIGN_REQUESTS", "true")];
    assert_eq!(
        unsigned_code_with(&env, &["--require-signature=false"]).await,
        2000
    );
    assert_eq!(
        unsigned_code_with(&[], &["--require-signature"]).await,
        5697
    );
}

#[tokio::test]
async fn the_auth_token_comes_from_its_variable_and_blank_means_the_default() {
    let token = "LP-VARS0001-MM|6f1c9a2e-4b7d-4e21-9a3f-1c2d3e4f5a6b|abc";
    let (_child, base) = started(leanx_sim(&[("LEANX_AUTH_TOKEN", token)], &[])).await;
    assert_eq!(unsigned_call(&base, token).await, 2000);
    let blank = [("LEANX_AUTH_TOKEN", ""), ("LEANX_SIM_SETTLE_DELAY_MS", "")];
    assert_eq!(unsigned_code_with(&blank, &[]).await, 2000);
}

async fn prefund_balance(base: &str) -> String {
    let text = reqwest::Client::new()
        .post(format!("{base}/api/v1/merchant/overall-balance"))
        .header("auth-token", leanx_sim::DEFAULT_AUTH_TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    crate::support::raw_data_field(&text, "prefund_balance")
}

#[tokio::test]
async fn the_prefund_balance_comes_from_its_flag_or_variable_exactly() {
    let (_a, flag) = started(leanx_sim(&[], &["--prefund-balance", "393.63"])).await;
    assert_eq!(prefund_balance(&flag).await, "393.63");
    let env = [("LEANX_SIM_PREFUND_BALANCE", "0.1")];
    let (_b, var) = started(leanx_sim(&env, &[])).await;
    assert_eq!(prefund_balance(&var).await, "0.10");
}
