//! The webhook queue (fed by the bus's rule) → each event POSTed to `MERCHANT_WEBHOOK_URL`,
//! signed per Standard Webhooks; undelivered messages are reported and backed off.

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use leanx_payouts::pipeline::deliver::Deliverer;
use leanx_payouts::runtime::init_tracing;

// One thread (see `leanx_payouts::runtime`, "One thread per container"): an execution
// environment serves one invocation at a time.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    init_tracing();
    let deliverer = &Deliverer::from_env().await.unwrap_or_else(|error| {
        eprintln!("configuration error: {error}");
        std::process::exit(1);
    });
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<_, Error>(deliverer.run(event.payload).await)
    }))
    .await
}
