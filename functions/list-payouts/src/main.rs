//! GET /payouts: a page of payouts, newest first, from the listing index (no LeanX call).

use lambda_http::{Error, Request, service_fn};
use leanx_payouts::api::responses;
use leanx_payouts::config::LeanxUse;
use leanx_payouts::runtime::{clients_from_env, init_tracing, query_pairs, to_response};

// One thread (see `leanx_payouts::runtime`, "One thread per container"): an execution
// environment serves one invocation at a time.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    init_tracing();
    let list = &clients_from_env(LeanxUse::TracksPayouts)
        .await
        .list_payouts();
    lambda_http::run(service_fn(move |request: Request| async move {
        let pairs = query_pairs(&request);
        let parameters = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()));
        let outcome = list.run(parameters, chrono::Utc::now()).await;
        Ok::<_, Error>(to_response(responses::list_payouts(outcome)))
    }))
    .await
}
