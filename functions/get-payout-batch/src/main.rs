//! GET /payout-batches/{batch_ref}: the batch's counts and amounts per status (no LeanX call).

use lambda_http::{Error, Request, service_fn};
use leanx_payouts::api::responses;
use leanx_payouts::runtime::{batch_ref, init_tracing, store_clients_from_env, to_response};

// One thread (see `leanx_payouts::runtime`, "One thread per container"): an execution
// environment serves one invocation at a time.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    init_tracing();
    let get = &store_clients_from_env().await.get_batch();
    lambda_http::run(service_fn(move |request: Request| async move {
        let outcome = get.run(&batch_ref(&request)).await;
        Ok::<_, Error>(to_response(responses::get_payout_batch(outcome)))
    }))
    .await
}
