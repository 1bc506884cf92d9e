//! Scheduled every minute: LeanX never pushes failures, so open payouts are asked about.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use leanx_payouts::config::Needs;
use leanx_payouts::runtime::{init_tracing, reconcile_limits, service_from_env};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let service = &service_from_env(Needs::Tracking).await;
    let (batch, concurrency) = reconcile_limits();
    lambda_runtime::run(service_fn(
        move |_event: LambdaEvent<serde_json::Value>| async move {
            let report = service
                .reconcile(chrono::Utc::now(), batch, concurrency)
                .await?;
            Ok::<_, Error>(serde_json::to_value(report)?)
        },
    ))
    .await
}
