//! POST /callbacks/leanx: LeanX's signed success callback.

use lambda_http::{Error, Request, service_fn};
use leanx_payouts::config::Needs;
use leanx_payouts::runtime::{body_bytes, init_tracing, service_from_env, to_response};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let service = &service_from_env(Needs::Tracking).await;
    lambda_http::run(service_fn(move |request: Request| async move {
        let result = service
            .take_callback(body_bytes(&request), chrono::Utc::now())
            .await;
        Ok::<_, Error>(to_response(result))
    }))
    .await
}
