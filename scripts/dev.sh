#!/usr/bin/env bash
# The whole local stack, in one command (README: `make dev`):
#   local DynamoDB (moto, from PyPI) -> the payouts table -> the LeanX simulator on :4010
#   -> `cargo lambda watch` serving API.md's routes on http://127.0.0.1:9000
#   -> the reconciler invoked every RECONCILE_EVERY seconds, as EventBridge would
#   -> the event pipeline: the table's stream, the event bus, its rule and the webhook queue on
#      moto; tools/event-runner as Lambda's event source mappings (stream -> publish-events,
#      queue -> deliver-webhooks) and a local merchant endpoint on :$RECEIVER_PORT that verifies
#      and prints each event.
# Ctrl-C stops everything it started. Installs what is missing (cargo-lambda, moto) first.
set -euo pipefail
cd "$(dirname "$0")/.."

PORT=${PORT:-9000}
SIM_PORT=${SIM_PORT:-4010}
DYNAMODB_PORT=${DYNAMODB_PORT:-8000}
RECONCILE_EVERY=${RECONCILE_EVERY:-10}
RECEIVER_PORT=${RECEIVER_PORT:-9100}
# Local only, not a secret: the receiver below verifies with it.
DEV_WEBHOOK_SECRET='whsec_bG9jYWwtZGV2LXdlYmhvb2stc2VjcmV0LTAwMDA='

scripts/dynamodb-local.sh install
scripts/install-cargo-lambda.sh
export PATH="$PWD/.venv/bin:$PATH"
mkdir -p .run

started_dynamodb=0
scripts/dynamodb-local.sh endpoint >/dev/null 2>&1 || started_dynamodb=1
# Each component runs in a session of its own (setsid), so that stopping it also stops what it
# started (cargo lambda watch runs the functions as its children); a non-interactive shell's
# background jobs would ignore Ctrl-C otherwise.
groups=()
start() {
  local log=$1
  shift
  setsid "$@" >"$log" 2>&1 &
  groups+=("$!")
}
cleanup() {
  trap - EXIT INT TERM
  echo "stopping the local stack" >&2
  for group in "${groups[@]}"; do
    kill -TERM -- "-$group" 2>/dev/null || true
  done
  if [ "$started_dynamodb" = 1 ]; then
    scripts/dynamodb-local.sh stop >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
endpoint=$(scripts/dynamodb-local.sh start --port "$DYNAMODB_PORT" | tail -n 1)

echo "building the workspace (cargo lambda watch would otherwise compile on the first request)" >&2
cargo build --workspace --bins

# The functions' environment (lambda-emulator's stack description, as the tests and the bench
# use it), with local credentials shared by the simulator and the functions. Not secrets:
# local only.
target/debug/lambda-stack dev-env \
  --table payouts \
  --dynamodb-endpoint "$endpoint" \
  --api-url "http://127.0.0.1:$PORT" \
  --leanx-base-url "http://127.0.0.1:$SIM_PORT" \
  --leanx-auth-token 'LP-DEV00001-MM|6f1c2a0e-8b9d-4c3e-a1f2-0d9e8c7b6a50|d3v0nly' \
  --leanx-hash-key local-dev-hash-key \
  --leanx-virtual-pool-reference VA-SIM-POOL-PAYOUT \
  --payout-grace-period-seconds 60 \
  --refresh-after-seconds 2 \
  > .run/dev.env

# The event pipeline's resources on moto (template.yaml declares the same in AWS), and the
# event functions' settings. moto serves EventBridge and SQS on the DynamoDB endpoint.
AWS_ENDPOINT_URL="$endpoint" AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_REGION=us-east-1 \
  target/debug/event-runner set-up --prefix payouts > .run/events.env
{
  cat .run/events.env
  echo "AWS_ENDPOINT_URL_EVENTBRIDGE='$endpoint'"
  echo "AWS_ENDPOINT_URL_SQS='$endpoint'"
  echo "MERCHANT_WEBHOOK_URL='http://127.0.0.1:$RECEIVER_PORT/webhooks'"
  echo "MERCHANT_WEBHOOK_SECRET='$DEV_WEBHOOK_SECRET'"
  echo "WEBHOOK_RETRY_BASE_SECONDS='2'"
} >> .run/dev.env
set -a
# shellcheck source=/dev/null # written just above
. .run/dev.env
set +a

cargo run -q -p payouts-admin -- create-table

start .run/leanx-sim.log target/debug/leanx-sim --addr "127.0.0.1:$SIM_PORT" --settle-delay-ms 2000 --require-signature
start .run/watch.log cargo lambda watch -A 127.0.0.1 -P "$PORT" --env-file .run/dev.env

up=0
for _ in $(seq 1 120); do
  # A lookup of a ref nobody uses: a 404 from get-payout means the router and functions are up.
  if curl -s -o /dev/null "http://127.0.0.1:$PORT/payouts/startup-probe" && curl -s -o /dev/null "http://127.0.0.1:$SIM_PORT/__sim/health"; then
    up=1
    break
  fi
  sleep 1
done
if [ "$up" != 1 ]; then
  echo "the local stack did not come up; last lines of its logs:" >&2
  tail -n 20 .run/watch.log .run/leanx-sim.log >&2
  exit 1
fi

# The schedule: what EventBridge does every minute when deployed, here every RECONCILE_EVERY s.
start .run/reconciler.log bash -c "while sleep $RECONCILE_EVERY; do
    curl -s -X POST http://127.0.0.1:$PORT/2015-03-31/functions/reconcile-payouts/invocations \
      -d '{\"source\":\"aws.events\",\"detail-type\":\"Scheduled Event\",\"detail\":{}}'; echo
  done"

# Lambda's event source mappings, locally: the stream and the queue, polled, the functions
# invoked through cargo lambda watch's Invoke API.
start .run/event-runner.log env AWS_ENDPOINT_URL="$endpoint" \
  target/debug/event-runner run --table payouts --invoke-url "http://127.0.0.1:$PORT" \
  --webhook-queue-url "$WEBHOOK_QUEUE_URL" --stream-dlq-url "$STREAM_DLQ_URL" \
  --batch-queue-url "$BATCH_QUEUE_URL"
# The merchant's endpoint: prints each verified event on this terminal.
setsid target/debug/event-runner receive --addr "127.0.0.1:$RECEIVER_PORT" --secret "$DEV_WEBHOOK_SECRET" &
groups+=("$!")

cat <<MSG

leanx-payouts is running locally:
  API (cargo lambda watch)   http://127.0.0.1:$PORT      logs: .run/watch.log
  LeanX simulator            http://127.0.0.1:$SIM_PORT  logs: .run/leanx-sim.log
  DynamoDB (moto)            $endpoint  table: payouts
  reconciler                 every ${RECONCILE_EVERY}s
  events                     stream -> publish-events -> bus -> queue -> deliver-webhooks
                             logs: .run/event-runner.log, .run/watch.log
  batches                    create-payout-batch -> queue -> send-batch-items (BATCH_SEND_RATE 10/s)
  webhook receiver           http://127.0.0.1:$RECEIVER_PORT  (verified events are printed below)

Which bank, who holds the account, the pool's balance:
  curl -s http://127.0.0.1:$PORT/payout-services
  curl -s -X POST http://127.0.0.1:$PORT/recipient-verifications -H 'content-type: application/json' \\
    -d '{"payout_service_id":23,"third_party_account_no":"8011408168","recipient_name":"John Doe"}'
  curl -s http://127.0.0.1:$PORT/balance

Pay out RM 13.00 (settles after 2 s; the simulator then calls back):
  curl -s -X POST http://127.0.0.1:$PORT/payouts -H 'content-type: application/json' \\
    -d '{"external_invoice_ref":"INV-DEMO-1","payout_service_id":23,"amount":"13.00","recipient_name":"John Doe","third_party_account_no":"8011408168","recipient_reference":"Salary Nov"}'
  curl -s http://127.0.0.1:$PORT/payouts/INV-DEMO-1

A payout LeanX fails (no callback; the reconciler finds it):
  curl -s -X POST http://127.0.0.1:$SIM_PORT/__sim/outcome/9999900000 -H 'content-type: application/json' \\
    -d '{"outcome":"FAILED","error_description":"ACCOUNT CLOSED"}'
  curl -s -X POST http://127.0.0.1:$PORT/payouts -H 'content-type: application/json' \\
    -d '{"external_invoice_ref":"INV-DEMO-2","payout_service_id":23,"amount":"5.00","recipient_name":"Jane Doe","third_party_account_no":"9999900000","recipient_reference":"Refund"}'
  sleep $((RECONCILE_EVERY + 3)); curl -s http://127.0.0.1:$PORT/payouts/INV-DEMO-2

Each payout's events arrive below as they happen, e.g.
  payout.pending INV-DEMO-1 v1 evt_…
  payout.processing INV-DEMO-1 v3 evt_…
  payout.succeeded INV-DEMO-1 v4 evt_…

This month's payouts, newest first, two a page (pass next_cursor back as cursor):
  curl -s "http://127.0.0.1:$PORT/payouts?created_from=$(date -u +%Y-%m)-01T00:00:00Z&limit=2"

A 3-item payroll in one request, its progress, and its CSV:
  curl -s -X POST http://127.0.0.1:$PORT/payout-batches -H 'content-type: application/json' -d '{"batch_ref":"PAYROLL-DEMO","items":[
    {"external_invoice_ref":"PAY-DEMO-1","payout_service_id":23,"amount":"2500.00","recipient_name":"Siti Aminah","third_party_account_no":"8011408168","recipient_reference":"Salary Nov"},
    {"external_invoice_ref":"PAY-DEMO-2","payout_service_id":23,"amount":"3100.50","recipient_name":"Tan Ah Kow","third_party_account_no":"8011408169","recipient_reference":"Salary Nov"},
    {"external_invoice_ref":"PAY-DEMO-3","payout_service_id":23,"amount":"1980.25","recipient_name":"Muthu a/l Rajan","third_party_account_no":"8011408170","recipient_reference":"Salary Nov"}]}'
  curl -s http://127.0.0.1:$PORT/payout-batches/PAYROLL-DEMO
  curl -s -H 'accept: text/csv' http://127.0.0.1:$PORT/payout-batches/PAYROLL-DEMO/items

Press Ctrl-C to stop everything.
MSG
wait
