//! POST /payouts: validate, claim the ref, send to LeanX at most once, record the answer.

use lambda_http::{Error, Request, service_fn};
use leanx_payouts::api::responses;
use leanx_payouts::config::LeanxUse;
use leanx_payouts::runtime::{body_bytes, clients_from_env, init_tracing, to_response};

// One thread (see `leanx_payouts::runtime`, "One thread per container"): an execution
// environment serves one invocation at a time.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    init_tracing();
    let create = &clients_from_env(LeanxUse::CreatesPayouts)
        .await
        .create_payout();
    lambda_http::run(service_fn(move |request: Request| async move {
        let outcome = create.run(body_bytes(&request), chrono::Utc::now()).await;
        Ok::<_, Error>(to_response(responses::create_payout(outcome)))
    }))
    .await
}
