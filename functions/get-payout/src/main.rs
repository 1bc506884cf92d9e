//! GET /payouts/{external_invoice_ref}: the payout, refreshed from LeanX while it is open.

use lambda_http::{Error, Request, service_fn};
use leanx_payouts::config::Needs;
use leanx_payouts::runtime::{init_tracing, payout_ref, service_from_env, to_response};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let service = &service_from_env(Needs::Tracking).await;
    lambda_http::run(service_fn(move |request: Request| async move {
        let result = service
            .get_payout(&payout_ref(&request), chrono::Utc::now())
            .await;
        Ok::<_, Error>(to_response(result))
    }))
    .await
}
