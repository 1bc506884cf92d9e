//! `make openapi`: writes docs/openapi.json from the service's own API types
//! (`leanx_payouts::api::openapi`). `--check` only compares, and fails when the file is stale.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let path = root
        .canonicalize()
        .unwrap_or(root)
        .join("docs/openapi.json");
    let generated = leanx_payouts::api::openapi::document();
    let check = std::env::args().any(|a| a == "--check");
    if check {
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        if current == generated {
            return ExitCode::SUCCESS;
        }
        eprintln!("{} is stale: run `make openapi`", path.display());
        return ExitCode::FAILURE;
    }
    if let Err(e) = std::fs::write(&path, generated) {
        eprintln!("cannot write {}: {e}", path.display());
        return ExitCode::FAILURE;
    }
    println!("wrote {}", path.display());
    ExitCode::SUCCESS
}
