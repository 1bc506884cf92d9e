//! Lambda glue shared by the four binaries: logging, wiring from configuration, and the
//! translation between API Gateway HTTP events and the use cases.

use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use lambda_http::{Body, Request, RequestExt, Response};

use crate::api::{ApiError, ApiResponse};
use crate::config::{Config, ConfigError, Needs, load_credentials};
use crate::leanx::{
    AcceptedPayout, CreatePayoutInvoice, LeanxClient, LeanxError, LeanxSettings, PayoutTransaction,
};
use crate::service::{PayoutProvider, Service};
use crate::store::DynamoPayoutStore;

/// JSON logs, one object per line, with the Lambda request id from the runtime's span and the
/// function's name (`AWS_LAMBDA_FUNCTION_NAME`) as a top-level `function` field.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let function = std::env::var("AWS_LAMBDA_FUNCTION_NAME").ok();
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .with_ansi(false)
        .with_writer(LineTagger::new(function.as_deref()))
        .init();
}

/// Writes each JSON log line to stdout with `"function":"<name>",` added as its first field.
/// The fmt layer formats an event completely and writes it with one `write_all` on a writer it
/// makes for that event, so the first byte a writer sees is the line's opening brace.
#[derive(Debug, Clone)]
struct LineTagger {
    /// `"function":"<name>",` (JSON-escaped), or empty when the name is unknown.
    prefix: Arc<str>,
}

impl LineTagger {
    fn new(function: Option<&str>) -> LineTagger {
        let prefix = match function.filter(|f| !f.is_empty()) {
            Some(name) => format!("\"function\":{},", serde_json::Value::from(name)),
            None => String::new(),
        };
        LineTagger {
            prefix: prefix.into(),
        }
    }
}

/// The writer for one event.
struct TaggedLine<W> {
    prefix: Arc<str>,
    at_start: bool,
    out: W,
}

impl<W: std::io::Write> std::io::Write for TaggedLine<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if std::mem::take(&mut self.at_start) && !self.prefix.is_empty() {
            if let Some(rest) = buf.strip_prefix(b"{") {
                self.out.write_all(b"{")?;
                self.out.write_all(self.prefix.as_bytes())?;
                self.out.write_all(rest)?;
                return Ok(buf.len());
            }
        }
        self.out.write_all(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LineTagger {
    type Writer = TaggedLine<std::io::StdoutLock<'static>>;

    fn make_writer(&'a self) -> Self::Writer {
        TaggedLine {
            prefix: self.prefix.clone(),
            at_start: true,
            out: std::io::stdout().lock(),
        }
    }
}

/// Builds the service once per container. A configuration error ends the process with one line
/// naming the setting, before the function takes any request.
pub async fn service_from_env(needs: Needs) -> Service {
    match try_service_from_env(needs).await {
        Ok(service) => service,
        Err(error) => {
            eprintln!("configuration error: {error}");
            std::process::exit(1);
        }
    }
}

async fn try_service_from_env(needs: Needs) -> Result<Service, ConfigError> {
    let env = |name: &str| std::env::var(name).ok();
    let config = Config::from_env(env, needs)?;
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(OnFirstRequest(sdk_https_client()));
    if env("AWS_ACCESS_KEY_ID").is_some() && env("AWS_SECRET_ACCESS_KEY").is_some() {
        // Lambda always puts the function's credentials in the environment, where the default
        // chain would find them first anyway. Naming that provider skips building the rest of
        // the chain, whose web-identity provider makes an STS client at once, and with it the
        // TLS set-up (the system's root certificates, read and parsed).
        loader = loader.credentials_provider(
            aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
        );
    }
    let aws = loader.load().await;
    let credentials = load_credentials(&config, env, Some(&aws)).await?;
    let mut settings = LeanxSettings::new(config.leanx_base_url.clone(), credentials.clone());
    settings.sign_requests = config.sign_requests;
    settings.request_timeout = config.leanx_timeout;
    let provider = LazyLeanx {
        settings,
        client: OnceLock::new(),
    };
    let store = DynamoPayoutStore::new(
        aws_sdk_dynamodb::Client::new(&aws),
        config.table_name.clone(),
    );
    Ok(Service {
        store: Arc::new(store),
        provider: Arc::new(provider),
        virtual_pool_reference: config.virtual_pool_reference,
        callback_url: config.callback_url,
        hash_key: credentials.hash_key,
        timings: config.timings,
    })
}

/// What the SDK builds as its default HTTPS client (hyper 1, rustls with AWS-LC, the system's
/// root certificates, proxy settings from the environment).
fn sdk_https_client() -> SharedHttpClient {
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    use aws_smithy_http_client::{Builder, ConnectorBuilder, proxy::ProxyConfig};
    Builder::new().build_with_connector_fn(|settings, components| {
        let mut connector =
            ConnectorBuilder::default().tls_provider(Provider::Rustls(CryptoMode::AwsLc));
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(ProxyConfig::from_env()));
        connector.build()
    })
}

/// The SDK's default HTTPS client, with its connector (TLS configuration and the system's root
/// certificates, read and parsed) made on the first request instead of when a service client is
/// built: that set-up was most of a function's init. Made once per container and cached by the
/// SDK per connector settings, so the DynamoDB and Secrets Manager clients share it.
#[derive(Debug)]
struct OnFirstRequest(SharedHttpClient);

impl HttpClient for OnFirstRequest {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        self.0.http_connector(settings, components)
    }

    // `validate_base_client_config` keeps its default (nothing): the wrapped client's own
    // builds a connector there, eagerly.

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        self.0.connector_metadata()
    }
}

/// The LeanX client, built on its first use. Its HTTP stack (TLS configuration, root
/// certificates) is the costliest part of a cold start after the AWS SDK's, and only
/// `create-payout` calls LeanX on its usual path: `get-payout` and `reconcile-payouts` only for
/// open payouts, `leanx-callback` never. Built once per container; later calls only read it.
struct LazyLeanx {
    settings: LeanxSettings,
    client: OnceLock<Result<LeanxClient, LeanxError>>,
}

impl LazyLeanx {
    fn client(&self) -> Result<&LeanxClient, LeanxError> {
        self.client
            .get_or_init(|| LeanxClient::new(self.settings.clone()))
            .as_ref()
            .map_err(Clone::clone)
    }
}

#[async_trait]
impl PayoutProvider for LazyLeanx {
    async fn create_payout(
        &self,
        payout: &CreatePayoutInvoice<'_>,
    ) -> Result<AcceptedPayout, LeanxError> {
        // A set-up failure is `NotSent`: nothing left, so the claim is released as usual.
        self.client()?.create_payout(payout).await
    }

    async fn get_payout_transaction(&self, id: &str) -> Result<PayoutTransaction, LeanxError> {
        self.client()?.get_payout_transaction(id).await
    }
}

/// The configuration the reconciler's batch needs beside the service.
pub fn reconcile_limits() -> (usize, usize) {
    Config::from_env(|n| std::env::var(n).ok(), Needs::Tracking)
        .map(|c| (c.reconcile_batch, c.reconcile_concurrency))
        .unwrap_or((100, 8))
}

/// Turns a use case's result into the HTTP response API Gateway returns.
pub fn to_response(result: Result<ApiResponse, ApiError>) -> Response<Body> {
    let (status, headers, body) = match result {
        Ok(ok) => (ok.status, ok.headers, ok.body),
        Err(error) => {
            if let ApiError::Unavailable(cause) = &error {
                tracing::error!(error = %cause, "request failed: payout store unavailable");
            }
            (error.status_code(), error.headers(), error.body())
        }
    };
    let mut builder = Response::builder()
        .status(status)
        .header("content-type", "application/json");
    for (name, value) in headers {
        builder = builder.header(name, value);
    }
    builder
        .body(Body::Text(body.to_string()))
        .unwrap_or_else(|_| Response::new(Body::Text(String::new())))
}

/// The `{external_invoice_ref}` path segment: API Gateway's path parameter, or the raw path's
/// last segment where a local router does not fill path parameters.
pub fn payout_ref(request: &Request) -> String {
    if let Some(value) = request.path_parameters().first("external_invoice_ref") {
        return value.to_owned();
    }
    let path = request.raw_http_path();
    let tail = path.strip_prefix("/payouts/").unwrap_or("");
    percent_encoding::percent_decode_str(tail)
        .decode_utf8_lossy()
        .into_owned()
}

/// The request body's bytes, however the event carried them.
pub fn body_bytes(request: &Request) -> &[u8] {
    request.body().as_ref()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Request {
        let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(path).unwrap();
        lambda_http::request::from_str(&text).unwrap()
    }

    #[test]
    fn get_payout_reads_the_ref_from_the_path_parameter() {
        assert_eq!(
            payout_ref(&fixture("apigw-v2-get-payout.json")),
            "INV-2026:0001"
        );
    }

    #[test]
    fn get_payout_falls_back_to_the_raw_path() {
        let mut request = fixture("apigw-v2-get-payout.json");
        request = request.with_path_parameters(std::collections::HashMap::<String, String>::new());
        assert_eq!(payout_ref(&request), "INV-2026:0001");
    }

    #[test]
    fn create_payout_reads_a_base64_encoded_body() {
        let request = fixture("apigw-v2-create-payout-base64.json");
        let parsed = crate::domain::PayoutRequest::from_json(body_bytes(&request)).unwrap();
        assert_eq!(parsed.amount.to_client_string(), "13.00");
    }

    #[test]
    fn callback_body_reaches_the_verifier_as_sent() {
        let request = fixture("apigw-v2-leanx-callback.json");
        let body: serde_json::Value = serde_json::from_slice(body_bytes(&request)).unwrap();
        assert_eq!(body["response_code"], 2100);
    }

    #[test]
    fn log_lines_start_with_the_function_name() {
        use std::io::Write;
        let tagger = LineTagger::new(Some("stack-GetPayout\"1"));
        let mut line = TaggedLine {
            prefix: tagger.prefix.clone(),
            at_start: true,
            out: Vec::new(),
        };
        line.write_all(br#"{"level":"INFO","span":{"requestId":"r-1"}}"#)
            .unwrap();
        line.write_all(b"\n").unwrap();
        let text = String::from_utf8(line.out).unwrap();
        let v: serde_json::Value = serde_json::from_str(text.trim_end()).unwrap();
        assert_eq!(v["function"], "stack-GetPayout\"1");
        assert_eq!(v["span"]["requestId"], "r-1");
        assert!(text.starts_with(r#"{"function":"#));

        let untagged = LineTagger::new(None);
        let mut line = TaggedLine {
            prefix: untagged.prefix.clone(),
            at_start: true,
            out: Vec::new(),
        };
        line.write_all(br#"{"level":"INFO"}"#).unwrap();
        assert_eq!(line.out, br#"{"level":"INFO"}"#);
    }

    #[test]
    fn errors_become_json_responses_with_their_headers() {
        let response = to_response(Err(ApiError::RequestInProgress {
            retry_after_seconds: 2,
        }));
        assert_eq!(response.status(), 409);
        assert_eq!(response.headers()["retry-after"], "2");
        assert_eq!(response.headers()["content-type"], "application/json");
        let body: serde_json::Value = serde_json::from_slice(response.body().as_ref()).unwrap();
        assert_eq!(body["error"]["code"], "request_in_progress");
    }
}
