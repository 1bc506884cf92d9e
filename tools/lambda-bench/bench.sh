#!/usr/bin/env bash
# `make bench`: builds the stack's functions and the hello-world baseline with the release profile,
# packages them as zipped arm64 Lambda bundles (cargo lambda, for the size figure), then runs the
# harness, which prints the table and writes it into docs/benchmarks.md. Starts the local
# DynamoDB (moto) unless one runs, and stops it if it started it. Loopback only.
#
#   make bench                         # everything
#   BENCH_ZIP=0 make bench             # skip the arm64 packaging (sizes from an earlier build)
#   (without rustup's aarch64 standard library, installed here when it can be, the x86_64
#   release binaries are zipped instead, and the report says so)
#   BENCH_ARGS="--runs 3 --warm 300" make bench
#   BENCH_TLS_RUN=0 make bench         # skip the second run, with TLS on the DynamoDB and LeanX legs
#   BENCH_BATCH_ITEMS=0 make bench     # skip the batch run (5,000 items at BENCH_BATCH_RATE=25 per second)
#   BENCH_EVENTS=0 make bench          # skip the event pipeline's status change -> endpoint latency
#   BENCH_ONLY=create-payout,leanx-callback make bench   # only these functions beside the baseline
set -euo pipefail
cd "$(dirname "$0")/../.."

# Two builds: the harness (emulator, simulator, proxy) must not unify its dependencies'
# features into the measured binaries, which are built exactly as they are deployed.
echo "bench: release build of the harness" >&2
cargo build --release -p lambda-bench -p lambda-emulator

# The stack's functions, as the workspace manifest describes them (lambda-emulator's stack).
functions=$(target/release/lambda-stack functions)
packages=()
for function in $functions; do
  packages+=(-p "$function")
done
packages+=(-p hello-baseline)

echo "bench: release build of the functions and the baseline" >&2
cargo build --release "${packages[@]}"

zip_args=()
if [ "${BENCH_ZIP:-1}" = 1 ]; then
  scripts/install-cargo-lambda.sh
  # cargo lambda cross-links with zig, but needs the aarch64 standard library from rustup.
  if rustup target list --installed 2>/dev/null | grep -qx aarch64-unknown-linux-gnu \
    || timeout 300 rustup target add aarch64-unknown-linux-gnu >&2; then
    echo "bench: zipped arm64 packages (cargo lambda build --release --arm64 --output-format zip)" >&2
    PATH="$PWD/.venv/bin:$PATH" cargo lambda build --release --arm64 --output-format zip "${packages[@]}"
  else
    # No aarch64 standard library to be had: the x86_64 release binaries just built, zipped as
    # cargo lambda zips them (one `bootstrap`, deflate), as a proxy for the size. The report
    # says which it is.
    echo "bench: no aarch64 target here; zipping the x86_64 release binaries as the size proxy" >&2
    python3 - target/release target/lambda-x86_64 "${packages[@]}" <<'PY'
import os, sys, zipfile
bin_dir, out_dir, names = sys.argv[1], sys.argv[2], sys.argv[3:][1::2]
for name in names:
    os.makedirs(os.path.join(out_dir, name), exist_ok=True)
    info = zipfile.ZipInfo("bootstrap")
    info.external_attr = 0o100755 << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    with open(os.path.join(bin_dir, name), "rb") as binary, \
         zipfile.ZipFile(os.path.join(out_dir, name, "bootstrap.zip"), "w") as archive:
        archive.writestr(info, binary.read())
PY
    zip_args=(--zip-dir target/lambda-x86_64 --zip-arch x86-64)
  fi
fi

# Only the endpoint is exported (scripts/with-local-dynamodb.sh): the functions inherit this
# environment, and must see what Lambda gives them (their own env credentials, the instance
# metadata service not disabled).
# shellcheck disable=SC2086 # BENCH_ARGS is a list of flags
scripts/with-local-dynamodb.sh target/release/lambda-bench --out docs/benchmarks.md --command "make bench" "${zip_args[@]}" ${BENCH_ARGS:-}
if [ "${BENCH_TLS_RUN:-1}" = 1 ]; then
  # The same functions with HTTPS to DynamoDB and LeanX (loopback terminators, a certificate
  # authority made at run time): its own section of docs/benchmarks.md. No burst: the plain run
  # measured the throughput.
  echo "bench: second run, TLS on the DynamoDB and LeanX legs (--tls)" >&2
  # shellcheck disable=SC2086
  scripts/with-local-dynamodb.sh target/release/lambda-bench --out docs/benchmarks.md --command "make bench (second run: --tls --burst 0)" --tls --burst 0 "${zip_args[@]}" ${BENCH_ARGS:-}
fi
