//! The baseline of `make bench`: the smallest useful `lambda_http` function (answers a fixed
//! JSON body), built with the workspace's release profile like the payout functions.

use lambda_http::{Body, Error, Request, Response, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::run(service_fn(|_request: Request| async {
        Response::builder()
            .status(200)
            .header("content-type", "application/json")
            .body(Body::Text(r#"{"hello":"world"}"#.to_owned()))
            .map_err(Error::from)
    }))
    .await
}
