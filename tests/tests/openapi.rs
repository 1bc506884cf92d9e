//! docs/openapi.json: generated from the code (never stale), valid by an independent
//! validator, and true of the running service by an independent OpenAPI-driven tester
//! (schemathesis) against the local stack. The Python tools are installed into .venv by
//! scripts/openapi-tools.sh on first use; a test here never skips for want of them.

use std::path::PathBuf;

use payouts_e2e::stack::Stack;

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the repository")
        .to_path_buf()
}

/// Runs scripts/openapi-tools.sh with `args`; its combined output, failing the test (with the
/// output) when it does not succeed.
async fn openapi_tools(args: &[&str]) -> String {
    let output = tokio::process::Command::new("bash")
        .arg(repo_root().join("scripts/openapi-tools.sh"))
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .expect("scripts/openapi-tools.sh runs");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "openapi-tools.sh {args:?} failed ({}):\n{text}",
        output.status
    );
    text
}

#[test]
fn docs_openapi_json_is_the_document_the_code_generates() {
    let path = repo_root().join("docs/openapi.json");
    let written = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        written == leanx_payouts::api::openapi::document(),
        "{} is stale: run `make openapi`",
        path.display()
    );
}

#[tokio::test]
async fn docs_openapi_json_is_valid_openapi_by_openapi_spec_validator() {
    let output = openapi_tools(&["validate"]).await;
    assert!(output.contains("OK"), "{output}");
}

/// Random and edge-case requests to every merchant route of the document (real creates reach
/// the local LeanX simulator): no 5xx, no status code, header, content type or body the
/// document does not describe.
#[tokio::test]
async fn schemathesis_finds_no_server_error_and_nothing_undocumented_on_the_local_stack() {
    let stack = Stack::start().await;
    let front = stack.url("");
    let output = openapi_tools(&["schemathesis", &front]).await;
    println!("{output}");
    let logs = stack.logs().join("\n");
    assert!(
        !logs.contains("panicked"),
        "a function panicked under schemathesis:\n{logs}"
    );
}
