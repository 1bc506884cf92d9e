#!/usr/bin/env bash
# Installs cargo-lambda (and the zig it builds with) from PyPI into the project's .venv/.
# Idempotent: quiet when it is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO_LAMBDA_VERSION=1.9.2
# (Captured first: `grep -q` closing the pipe early would fail the check under pipefail.)
installed=$(.venv/bin/cargo-lambda lambda --version 2>/dev/null || true)
case "$installed" in
  *" $CARGO_LAMBDA_VERSION "*) exit 0 ;;
esac
[ -x .venv/bin/python ] || python3 -m venv .venv
echo "installing cargo-lambda $CARGO_LAMBDA_VERSION into .venv/ (from PyPI)" >&2
.venv/bin/pip install --quiet --disable-pip-version-check "cargo-lambda==$CARGO_LAMBDA_VERSION"
