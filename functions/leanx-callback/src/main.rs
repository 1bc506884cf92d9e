//! POST /callbacks/leanx: LeanX's signed success callback.

use lambda_http::{Error, Request, service_fn};
use leanx_payouts::api::responses;
use leanx_payouts::config::LeanxUse;
use leanx_payouts::runtime::{body_bytes, clients_from_env, init_tracing, to_response};

// One thread (see `leanx_payouts::runtime`, "One thread per container"): an execution
// environment serves one invocation at a time.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    init_tracing();
    let take = &clients_from_env(LeanxUse::TracksPayouts)
        .await
        .take_callback();
    lambda_http::run(service_fn(move |request: Request| async move {
        let outcome = take.run(body_bytes(&request), chrono::Utc::now()).await;
        Ok::<_, Error>(to_response(responses::leanx_callback(outcome)))
    }))
    .await
}
