//! The table's stream (NEW_AND_OLD_IMAGES) → each status change as an event on the stack's
//! EventBridge bus (API.md "Events"); partial batch failures name the record to retry from.

use aws_lambda_events::event::dynamodb::Event;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use leanx_payouts::pipeline::publish::Publisher;
use leanx_payouts::runtime::init_tracing;

// One thread (see `leanx_payouts::runtime`, "One thread per container"): an execution
// environment serves one invocation at a time.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    init_tracing();
    let publisher = &Publisher::from_env().await.unwrap_or_else(|error| {
        eprintln!("configuration error: {error}");
        std::process::exit(1);
    });
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Event>| async move {
        Ok::<_, Error>(publisher.run(event.payload).await)
    }))
    .await
}
