//! POST /payout-batches: validate every item, record each PENDING under the batch's claim and
//! queue it for send-batch-items. Sends nothing itself.

use lambda_http::{Error, Request, service_fn};
use leanx_payouts::api::responses;
use leanx_payouts::runtime::{body_bytes, init_tracing, store_clients_from_env, to_response};

// One thread (see `leanx_payouts::runtime`, "One thread per container"): an execution
// environment serves one invocation at a time.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    init_tracing();
    let accept = &store_clients_from_env().await.accept_batch();
    lambda_http::run(service_fn(move |request: Request| async move {
        let outcome = accept.run(body_bytes(&request), chrono::Utc::now()).await;
        Ok::<_, Error>(to_response(responses::create_payout_batch(outcome)))
    }))
    .await
}
