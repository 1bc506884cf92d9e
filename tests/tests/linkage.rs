//! What the function binaries link, read from cargo's dependency graph of the functions alone
//! (as `make bench` and a deployment build them, without the tools' and tests' features).
//!
//! Why: the workspace's own test build unifies features across every package, so a tool that
//! turns on the SDK's `default-https-client` or reqwest's AWS-LC provider would hide, in every
//! other test, that a function links a second TLS stack (AWS-LC seeds its random generator from
//! CPU jitter: ~25 ms of CPU in each container's first handshake; docs/benchmarks.md) or that it
//! builds SDK clients on an HTTP client other than the process's one (shared/src/runtime/https.rs).

use std::process::Command;

use lambda_emulator::stack::StackDescription;

/// `cargo tree -i <package>` over every function: the chains that pull `package` in, or None.
fn who_pulls_in(package: &str) -> Option<String> {
    let stack = StackDescription::load().expect("the workspace manifest describes the stack");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["tree", "--quiet", "--edges", "normal", "--invert", package]);
    for function in stack.functions() {
        command.args(["--package", function]);
    }
    let output = command.output().expect("cargo tree runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() && stderr.contains("did not match any packages") {
        return None;
    }
    assert!(output.status.success(), "cargo tree failed: {stderr}");
    Some(String::from_utf8_lossy(&output.stdout).into_owned())
}

#[test]
fn no_function_links_aws_lc() {
    for package in ["aws-lc-rs", "aws-lc-sys"] {
        assert_eq!(who_pulls_in(package), None, "{package} is linked");
    }
}

#[test]
fn no_function_links_the_aws_sdks_own_http_client() {
    assert_eq!(who_pulls_in("aws-smithy-http-client"), None);
}

#[test]
fn the_functions_tls_is_rustls_over_ring() {
    let chains = who_pulls_in("ring").expect("ring is linked");
    assert!(chains.contains("rustls"), "{chains}");
}

#[test]
fn no_function_links_http2() {
    // HTTP/1.1 only (root Cargo.toml, reqwest): h2 was 0.38 MB of each binary's code.
    assert_eq!(who_pulls_in("h2"), None);
}

#[test]
fn no_function_links_a_regex_engine_for_log_filters() {
    // tracing-subscriber's `env-filter` (0.23 MB of code); `Targets` reads RUST_LOG instead.
    for package in ["matchers", "regex-automata"] {
        assert_eq!(who_pulls_in(package), None, "{package} is linked");
    }
}

#[test]
fn no_function_links_a_jwt_algorithm_beyond_hs256() {
    // shared/src/leanx/hs256.rs is jsonwebtoken's provider; its backends link every algorithm.
    for package in ["rsa", "p256", "p384", "ed25519-dalek"] {
        assert_eq!(who_pulls_in(package), None, "{package} is linked");
    }
}
