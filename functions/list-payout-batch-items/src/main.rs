//! GET /payout-batches/{batch_ref}/items: a page of the batch's items, or (Accept: text/csv)
//! the whole batch as CSV, from the batch index (no LeanX call).

use lambda_http::{Error, Request, service_fn};
use leanx_payouts::api::responses;
use leanx_payouts::config::LeanxUse;
use leanx_payouts::runtime::{
    batch_ref, clients_from_env, init_tracing, query_pairs, to_response, to_text_response,
    wants_csv,
};

// One thread (see `leanx_payouts::runtime`, "One thread per container"): an execution
// environment serves one invocation at a time.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    init_tracing();
    let items = &clients_from_env(LeanxUse::TracksPayouts)
        .await
        .list_batch_items();
    lambda_http::run(service_fn(move |request: Request| async move {
        let batch = batch_ref(&request);
        let pairs = query_pairs(&request);
        let parameters = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()));
        if wants_csv(&request) {
            let outcome = items.all(&batch, parameters).await;
            return Ok::<_, Error>(to_text_response(responses::payout_batch_items_csv(outcome)));
        }
        let outcome = items.page(&batch, parameters).await;
        Ok(to_response(responses::list_payout_batch_items(outcome)))
    }))
    .await
}
