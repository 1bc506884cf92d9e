//! GET /payouts/{external_invoice_ref}: the payout, refreshed from LeanX while it is open.

use lambda_http::{Error, Request, service_fn};
use leanx_payouts::api::responses;
use leanx_payouts::config::LeanxUse;
use leanx_payouts::runtime::{clients_from_env, init_tracing, payout_ref, to_response};

// One thread (see `leanx_payouts::runtime`, "One thread per container"): an execution
// environment serves one invocation at a time.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    init_tracing();
    let lookup = &clients_from_env(LeanxUse::TracksPayouts)
        .await
        .lookup_payout();
    lambda_http::run(service_fn(move |request: Request| async move {
        let outcome = lookup.run(&payout_ref(&request), chrono::Utc::now()).await;
        Ok::<_, Error>(to_response(responses::get_payout(outcome)))
    }))
    .await
}
