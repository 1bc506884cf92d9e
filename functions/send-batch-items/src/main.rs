//! The batch queue → each item sent through the same at-most-once path as POST /payouts,
//! paced to this container's share of BATCH_SEND_RATE; items not sent now are reported back to
//! the queue.

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use leanx_payouts::config::LeanxUse;
use leanx_payouts::runtime::{clients_from_env, init_tracing};

// One thread (see `leanx_payouts::runtime`, "One thread per container"): an execution
// environment serves one invocation at a time.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    init_tracing();
    let sender = &clients_from_env(LeanxUse::CreatesPayouts)
        .await
        .item_sender();
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<_, Error>(sender.run(event.payload).await)
    }))
    .await
}
