#!/usr/bin/env bash
# Runs every test of the project (`make test`). Installs what is missing (the local DynamoDB
# server from PyPI into .venv/), runs against a local DynamoDB started for the run unless one is
# already up (stopped again afterwards), builds the function binaries the end-to-end tests
# drive, and runs the whole workspace's tests. The LeanX simulator is started by the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${LOCAL_DYNAMODB_RUN:-}" != 1 ]; then
  LOCAL_DYNAMODB_RUN=1 exec scripts/with-local-dynamodb.sh "$0" "$@"
fi

export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true

# The end-to-end tests run the real function binaries as Lambda processes.
cargo build --workspace --bins
mkdir -p .run
cargo test --workspace "$@" 2>&1 | tee .run/test.log
# One closing line for the whole run (cargo prints one per test binary, the last often a
# doc-test binary with nothing in it).
awk '/^test result:/ { p += $4; f += $6 } END { printf "all tests: %d passed, %d failed\n", p, f }' .run/test.log
