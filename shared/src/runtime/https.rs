//! The process's one HTTPS stack: one `rustls::ClientConfig` (*ring*, trust anchors compiled in),
//! made on first use and shared by the LeanX client, the webhook deliveries and the AWS SDK,
//! whose HTTP client here is the same reqwest stack (the SDK's own `aws-smithy-http-client`
//! cannot take a prepared `rustls::ClientConfig`: its `TlsContext` only takes a trust store of
//! native roots and PEM certificates, which it parses into a configuration of its own).
//!
//! Why, measured in docs/benchmarks.md ("Cold start levers"):
//! - `webpki-roots` holds the Mozilla trust anchors already in their parsed form, so no system
//!   store is read or parsed (a cold start used to parse it twice, reqwest's and the SDK's).
//!   The price: the roots follow the crate's release, not the system's store (Lambda's images
//!   have no other trust store the functions rely on).
//! - *ring*, not AWS-LC: AWS-LC's random generator seeds itself from CPU jitter the first time
//!   it is asked for bytes, about 25 ms of CPU in the first TLS handshake of every container;
//!   *ring* asks the kernel (`getrandom`). What it gives up: AWS-LC's post-quantum hybrid key
//!   exchange (X25519MLKEM768); the handshakes use X25519 (then P-256, P-384), as most TLS
//!   clients do today.

use std::path::Path;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::retry::ErrorKind;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use crate::config::ConfigError;

/// Names a PEM file of extra trust anchors. Only the benchmark sets it (its loopback TLS
/// terminator's certificate authority, made at run time, see docs/benchmarks.md); production
/// never sets it, and when it is unset nothing is read.
pub const EXTRA_ROOT_CA_FILE: &str = "PAYOUTS_EXTRA_ROOT_CA_FILE";

/// The trust anchors and the TLS configuration made from them on first use.
#[derive(Debug, Default)]
pub struct Tls {
    extra_roots: Vec<CertificateDer<'static>>,
    config: OnceLock<Arc<rustls::ClientConfig>>,
}

impl Tls {
    /// The compiled-in roots, plus those of [`EXTRA_ROOT_CA_FILE`] when it is set (read here,
    /// at start, so that a bad file stops the function before its first request).
    pub fn from_env(env: impl Fn(&str) -> Option<String>) -> Result<Tls, ConfigError> {
        let Some(path) = env(EXTRA_ROOT_CA_FILE).filter(|p| !p.trim().is_empty()) else {
            return Ok(Tls::default());
        };
        let invalid = |reason: String| ConfigError::Invalid {
            name: EXTRA_ROOT_CA_FILE,
            reason,
        };
        let extra_roots = CertificateDer::pem_file_iter(Path::new(&path))
            .map_err(|e| invalid(format!("cannot read {path}: {e}")))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| invalid(format!("{path} is not PEM certificates: {e}")))?;
        if extra_roots.is_empty() {
            return Err(invalid(format!("{path} holds no certificate")));
        }
        Ok(Tls {
            extra_roots,
            config: OnceLock::new(),
        })
    }

    /// The process's TLS configuration (HTTP/1.1 offered, the only version the clients
    /// speak), made once.
    pub fn config(&self) -> Arc<rustls::ClientConfig> {
        self.config
            .get_or_init(|| {
                let mut roots = rustls::RootCertStore {
                    roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
                };
                // Checked when read (`from_env`): a certificate that is no trust anchor is
                // skipped rather than stopping every request.
                roots.add_parsable_certificates(self.extra_roots.iter().cloned());
                let provider = Arc::new(rustls::crypto::ring::default_provider());
                let mut config = rustls::ClientConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .expect("ring supports rustls' default protocol versions")
                    .with_root_certificates(roots)
                    .with_no_client_auth();
                config.alpn_protocols = vec![b"http/1.1".to_vec()];
                Arc::new(config)
            })
            .clone()
    }

    /// A reqwest client builder over this configuration.
    pub fn reqwest_builder(&self) -> reqwest::ClientBuilder {
        reqwest::Client::builder().tls_backend_preconfigured((*self.config()).clone())
    }
}

/// The AWS SDK's HTTP client: a reqwest client over the process's [`Tls`], one per distinct
/// connect/read timeout the SDK asks for (in practice one), made on the first request.
#[derive(Debug)]
pub struct SdkHttpClient {
    tls: Arc<Tls>,
    connectors: RwLock<Vec<(TimeoutKey, SharedHttpConnector)>>,
}

type TimeoutKey = (Option<Duration>, Option<Duration>);

impl SdkHttpClient {
    pub fn new(tls: Arc<Tls>) -> SdkHttpClient {
        SdkHttpClient {
            tls,
            connectors: RwLock::new(Vec::new()),
        }
    }
}

impl HttpClient for SdkHttpClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        let key = (settings.connect_timeout(), settings.read_timeout());
        let cached = |list: &[(TimeoutKey, SharedHttpConnector)]| {
            list.iter().find(|(k, _)| *k == key).map(|(_, c)| c.clone())
        };
        if let Some(connector) = cached(&self.connectors.read().unwrap_or_else(|e| e.into_inner()))
        {
            return connector;
        }
        let mut list = self.connectors.write().unwrap_or_else(|e| e.into_inner());
        if let Some(connector) = cached(&list) {
            return connector;
        }
        // As the SDK's own client: no redirect followed, proxies from the environment.
        let mut builder = self
            .tls
            .reqwest_builder()
            .redirect(reqwest::redirect::Policy::none());
        if let Some(timeout) = key.0 {
            builder = builder.connect_timeout(timeout);
        }
        if let Some(timeout) = key.1 {
            builder = builder.read_timeout(timeout);
        }
        let connector = SharedHttpConnector::new(ReqwestConnector(builder.build()));
        list.push((key, connector.clone()));
        connector
    }

    // `validate_base_client_config` keeps its default (nothing): the connector is made on the
    // first request, not when a service client is built.

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        Some(ConnectorMetadata::new("reqwest", None))
    }
}

/// One SDK request over reqwest. A client that failed to build answers every request with
/// that error (the SDK reports it as a dispatch failure).
#[derive(Debug)]
struct ReqwestConnector(reqwest::Result<reqwest::Client>);

impl HttpConnector for ReqwestConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let client = match &self.0 {
            Ok(client) => client.clone(),
            Err(error) => {
                let error = ConnectorError::other(
                    format!("HTTP client set-up failed: {error}").into(),
                    None,
                );
                return HttpConnectorFuture::ready(Err(error));
            }
        };
        HttpConnectorFuture::new(async move {
            let method = reqwest::Method::from_bytes(request.method().as_bytes())
                .map_err(|e| ConnectorError::user(e.into()))?;
            let mut outgoing = client.request(method, request.uri());
            for (name, value) in request.headers().iter() {
                outgoing = outgoing.header(name, value);
            }
            // The SDK's DynamoDB and Secrets Manager requests carry their body in memory.
            let body = request.body().bytes().ok_or_else(|| {
                ConnectorError::user("a streaming request body is not supported".into())
            })?;
            let answer = outgoing
                .body(body.to_vec())
                .send()
                .await
                .map_err(connector_error)?;
            let status = StatusCode::try_from(answer.status().as_u16())
                .map_err(|e| ConnectorError::other(e.into(), None))?;
            let headers = answer.headers().clone();
            let bytes = answer.bytes().await.map_err(connector_error)?;
            let mut response = HttpResponse::new(status, SdkBody::from(bytes));
            for (name, value) in &headers {
                if let Ok(value) = value.to_str() {
                    // A header the SDK cannot hold is one it has no use for.
                    let _ = response
                        .headers_mut()
                        .try_append(name.as_str().to_owned(), value.to_owned());
                }
            }
            Ok(response)
        })
    }
}

/// Classified as the SDK's own client classifies them, so that its retries behave the same.
fn connector_error(error: reqwest::Error) -> ConnectorError {
    if error.is_timeout() {
        ConnectorError::timeout(error.into())
    } else if error.is_connect() || error.is_request() || error.is_body() {
        ConnectorError::io(error.into())
    } else {
        ConnectorError::other(error.into(), Some(ErrorKind::TransientError))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_with(path: &str) -> impl Fn(&str) -> Option<String> + '_ {
        move |name| (name == EXTRA_ROOT_CA_FILE).then(|| path.to_owned())
    }

    #[test]
    fn without_the_extra_roots_setting_nothing_is_read() {
        let tls = Tls::from_env(|_| None).unwrap();
        assert!(tls.extra_roots.is_empty());
    }

    #[test]
    fn an_unreadable_extra_roots_file_is_a_configuration_error_naming_the_setting() {
        let error = Tls::from_env(env_with("/nonexistent/ca.pem")).unwrap_err();
        assert!(
            matches!(error, ConfigError::Invalid { name, .. } if name == EXTRA_ROOT_CA_FILE),
            "{error:?}"
        );
    }

    #[test]
    fn an_extra_roots_file_without_a_certificate_is_a_configuration_error() {
        let path = std::env::temp_dir().join(format!("no-cert-{}.pem", std::process::id()));
        std::fs::write(&path, "not a certificate\n").unwrap();
        let error = Tls::from_env(env_with(path.to_str().unwrap())).unwrap_err();
        std::fs::remove_file(&path).unwrap();
        assert!(
            matches!(error, ConfigError::Invalid { name, .. } if name == EXTRA_ROOT_CA_FILE),
            "{error:?}"
        );
    }

    #[test]
    fn the_configuration_is_made_once_and_offers_http1() {
        let tls = Tls::default();
        let first = tls.config();
        assert!(Arc::ptr_eq(&first, &tls.config()));
        assert_eq!(first.alpn_protocols, vec![b"http/1.1".to_vec()]);
    }
}
