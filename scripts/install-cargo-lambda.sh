#!/usr/bin/env bash
# Installs cargo-lambda (and the zig it builds with) from PyPI into the project's .venv/.
# Idempotent: quiet when it is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO_LAMBDA_VERSION=1.9.2
if [ -x .venv/bin/cargo-lambda ] && .venv/bin/cargo-lambda lambda --version 2>/dev/null | grep -q "$CARGO_LAMBDA_VERSION"; then
  exit 0
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
echo "installing cargo-lambda $CARGO_LAMBDA_VERSION into .venv/ (from PyPI)" >&2
.venv/bin/pip install --quiet --disable-pip-version-check "cargo-lambda==$CARGO_LAMBDA_VERSION"
