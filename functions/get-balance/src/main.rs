//! GET /balance: the payout pool's balance, LeanX's `overall-balance`, exact.

use lambda_http::{Error, Request, service_fn};
use leanx_payouts::api::responses;
use leanx_payouts::config::LeanxUse;
use leanx_payouts::runtime::{clients_from_env, init_tracing, to_response};

// One thread (see `leanx_payouts::runtime`, "One thread per container"): an execution
// environment serves one invocation at a time.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    init_tracing();
    let balance = &clients_from_env(LeanxUse::TracksPayouts)
        .await
        .get_balance();
    lambda_http::run(service_fn(move |_request: Request| async move {
        Ok::<_, Error>(to_response(responses::get_balance(balance.run().await)))
    }))
    .await
}
