//! Non-HTTP events and where the function binaries are.

use std::path::PathBuf;

use serde_json::{Value, json};

use crate::{ACCOUNT_ID, REGION};

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
