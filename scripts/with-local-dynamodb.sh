#!/usr/bin/env bash
# Runs a command against the local DynamoDB: installs moto (PyPI, into .venv/) if missing, starts
# it on a free loopback port unless one is already running, exports AWS_ENDPOINT_URL_DYNAMODB,
# runs the command, and stops the server afterwards only if it started it here.
#   scripts/with-local-dynamodb.sh COMMAND [ARGS...]
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
echo "local DynamoDB at $endpoint" >&2
"$@"
