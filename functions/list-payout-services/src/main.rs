//! GET /payout-services: LeanX's payout services, sorted by name, cached in the container.

use lambda_http::{Error, Request, service_fn};
use leanx_payouts::api::responses;
use leanx_payouts::config::LeanxUse;
use leanx_payouts::runtime::{clients_from_env, init_tracing, to_response};

// One thread (see `leanx_payouts::runtime`, "One thread per container"): an execution
// environment serves one invocation at a time.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    init_tracing();
    let list = &clients_from_env(LeanxUse::TracksPayouts)
        .await
        .list_payout_services();
    lambda_http::run(service_fn(move |_request: Request| async move {
        let outcome = list.run(chrono::Utc::now()).await;
        Ok::<_, Error>(to_response(responses::list_payout_services(outcome)))
    }))
    .await
}
