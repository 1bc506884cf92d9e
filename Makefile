# The two commands a newcomer needs (README): `make dev` and `make test`.
.PHONY: dev test lint sim fmt bench fuzz reliability openapi

dev:  ## Start the whole local stack: DynamoDB, LeanX simulator, the functions on :9000, the reconciler.
	scripts/dev.sh

test: ## Run every test (installs and starts what it needs, stops what it started).
	scripts/test.sh

lint: ## Formatting and clippy, as CI runs them.
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

openapi: ## Regenerate docs/openapi.json from the API's types (a test fails when it is stale).
	cargo run -q -p openapi-gen

sim:  ## Only the LeanX simulator, on 127.0.0.1:4010.
	cargo run -p leanx-sim --release

bench: ## Benchmarks (not part of `make test`): release builds, then writes docs/benchmarks.md.
	tools/lambda-bench/bench.sh

FUZZ_SECONDS ?= 60
FUZZ_TARGETS := request_parser amount_parser callback_decoder

fuzz: ## Fuzz the request, amount and callback parsers, FUZZ_SECONDS (60) each (not in CI).
	@command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
	@mkdir -p .run
	@set -e; cd fuzz; for t in $(FUZZ_TARGETS); do \
	  mkdir -p corpus/$$t; \
	  echo "fuzzing $$t for $(FUZZ_SECONDS) s"; \
	  RUSTC_BOOTSTRAP=1 cargo fuzz run $$t corpus/$$t seeds/$$t -- \
	    -max_total_time=$(FUZZ_SECONDS) -max_len=20000 -print_final_stats=1 \
	    > ../.run/fuzz-$$t.log 2>&1 || { tail -n 60 ../.run/fuzz-$$t.log; exit 1; }; \
	  grep -E '^(Done|stat::number_of_executed_units)' ../.run/fuzz-$$t.log | sed "s/^/$$t: /"; \
	done

reliability: ## Crash points, fault matrix, model test, hostile input and the load test; rewrites docs/reliability.md.
	cargo build --workspace --bins
	scripts/with-local-dynamodb.sh env AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local \
	  AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true \
	  cargo test -p payouts-e2e --features load --test crash_points --test fault_matrix --test model \
	  --test hostile --test load -- --nocapture
