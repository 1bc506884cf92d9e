//! The local DynamoDB-compatible server for tests, and fresh tables on it.
//!
//! [`local_endpoint`] uses `AWS_ENDPOINT_URL_DYNAMODB` when set; otherwise it starts (or reuses)
//! the moto server of `scripts/dynamodb-local.sh` once per test process. Every test gets its
//! own uniquely named table, so tests run in parallel without seeing each other's items.

use std::path::PathBuf;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use leanx_payouts::store::DynamoPayoutStore;
use leanx_payouts::store::schema;
use tokio::sync::OnceCell;

static ENDPOINT: OnceCell<String> = OnceCell::const_new();

/// The repository's `scripts/dynamodb-local.sh`.
pub fn script_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/dynamodb-local.sh")
}

/// The local DynamoDB endpoint URL, starting the local server if none is configured.
///
/// Panics (failing the test) with the script's output if the server cannot be started.
pub async fn local_endpoint() -> String {
    ENDPOINT
        .get_or_init(|| async {
            if let Ok(url) = std::env::var("AWS_ENDPOINT_URL_DYNAMODB")
                && !url.trim().is_empty()
            {
                return url.trim().to_owned();
            }
            start_local_server().await
        })
        .await
        .clone()
}

async fn start_local_server() -> String {
    let script = script_path();
    let output = tokio::process::Command::new("bash")
        .arg(&script)
        .args(["start", "--free-port"])
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{} start failed ({}):\n{stdout}\n{stderr}",
        script.display(),
        output.status
    );
    let url = stdout
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(str::trim)
        .unwrap_or_default();
    assert!(
        url.starts_with("http://"),
        "{} printed no endpoint:\n{stdout}\n{stderr}",
        script.display()
    );
    url.to_owned()
}

/// A client config for the local server: explicit endpoint, dummy static credentials and
/// region, so nothing from the developer's AWS setup is used (or leaked) by a test.
pub async fn local_config() -> aws_sdk_dynamodb::config::Builder {
    aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "local",
            "local",
            None,
            None,
            "payouts-e2e",
        ))
        .endpoint_url(local_endpoint().await)
}

/// A client for the local server.
pub async fn local_client() -> Client {
    Client::from_conf(local_config().await.build())
}

/// Creates a uniquely named payouts table with `client` and returns its name.
pub async fn fresh_table(client: &Client) -> String {
    let table = format!("payouts-test-{}", uuid::Uuid::new_v4());
    schema::create_table(client, &table)
        .await
        .unwrap_or_else(|e| panic!("cannot create table {table}: {e}"));
    table
}

/// A store on a new, empty table of the local server, the client it uses, and the table name.
pub async fn fresh_store() -> (DynamoPayoutStore, Client, String) {
    fresh_store_with(local_config().await.build()).await
}

/// Like [`fresh_store`], with a client built from `config` (e.g. one with an interceptor);
/// the table is created through that client too.
pub async fn fresh_store_with(
    config: aws_sdk_dynamodb::Config,
) -> (DynamoPayoutStore, Client, String) {
    let client = Client::from_conf(config);
    let table = fresh_table(&client).await;
    (
        DynamoPayoutStore::new(client.clone(), table.clone()),
        client,
        table,
    )
}
