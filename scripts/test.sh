#!/usr/bin/env bash
# Runs every test of the project. Installs what is missing (the local DynamoDB server from PyPI
# into .venv/), starts it on a free loopback port unless one is already running, builds the
# function binaries the end-to-end tests drive, runs the whole workspace's tests, and stops the
# DynamoDB server if it started it. The LeanX simulator is started by the tests themselves.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/dynamodb-local.sh install

started=0
if ! scripts/dynamodb-local.sh endpoint >/dev/null 2>&1; then
  started=1
fi
endpoint=$(scripts/dynamodb-local.sh start --free-port | tail -n 1)
if [ "$started" = 1 ]; then
  trap 'scripts/dynamodb-local.sh stop >/dev/null 2>&1 || true' EXIT
fi

export AWS_ENDPOINT_URL_DYNAMODB="$endpoint"
export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true
echo "local DynamoDB at $endpoint"

# The end-to-end tests run the real function binaries as Lambda processes.
cargo build --workspace --bins
mkdir -p .run
cargo test --workspace "$@" 2>&1 | tee .run/test.log
# One closing line for the whole run (cargo prints one per test binary, the last often a
# doc-test binary with nothing in it).
awk '/^test result:/ { p += $4; f += $6 } END { printf "all tests: %d passed, %d failed\n", p, f }' .run/test.log
