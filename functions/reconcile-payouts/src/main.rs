//! Scheduled every minute: LeanX never pushes failures, so open payouts are asked about.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use leanx_payouts::config::LeanxUse;
use leanx_payouts::runtime::{clients_from_env, init_tracing};
use leanx_payouts::usecases::{ReconcileError, ReconcileReport};

// One thread (see `leanx_payouts::runtime`, "One thread per container"): an execution
// environment serves one invocation at a time.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    init_tracing();
    let reconciler = &clients_from_env(LeanxUse::TracksPayouts).await.reconciler();
    lambda_runtime::run(service_fn(
        move |_event: LambdaEvent<serde_json::Value>| async move {
            let report: Result<ReconcileReport, ReconcileError> =
                reconciler.run(chrono::Utc::now()).await;
            report
        },
    ))
    .await
}
