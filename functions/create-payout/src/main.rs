//! POST /payouts: validate, claim the ref, send to LeanX at most once, record the answer.

use lambda_http::{Error, Request, service_fn};
use leanx_payouts::config::Needs;
use leanx_payouts::runtime::{body_bytes, init_tracing, service_from_env, to_response};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let service = &service_from_env(Needs::Sending).await;
    lambda_http::run(service_fn(move |request: Request| async move {
        let result = service
            .create_payout(body_bytes(&request), chrono::Utc::now())
            .await;
        Ok::<_, Error>(to_response(result))
    }))
    .await
}
