# The two commands a newcomer needs (README): `make dev` and `make test`.
.PHONY: dev test lint sim fmt

dev:  ## Start the whole local stack: DynamoDB, LeanX simulator, the functions on :9000, the reconciler.
	scripts/dev.sh

test: ## Run every test (installs and starts what it needs, stops what it started).
	scripts/test.sh

lint: ## Formatting and clippy, as CI runs them.
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

sim:  ## Only the LeanX simulator, on 127.0.0.1:4010.
	cargo run -p leanx-sim --release
