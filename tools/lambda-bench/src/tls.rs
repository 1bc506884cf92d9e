//! `--tls`: HTTPS on the DynamoDB and LeanX legs, so that the functions' TLS set-up and
//! handshakes show. A certificate authority made at run time (rcgen) signs one certificate for
//! `127.0.0.1` (and `localhost`); a loopback terminator (tokio-rustls) in front of the counting proxy and another
//! in front of the simulator decrypt and pass the bytes on. The functions trust the authority
//! through `PAYOUTS_EXTRA_ROOT_CA_FILE`, a setting only this benchmark sets.

use std::path::PathBuf;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

use crate::BenchResult;

/// The authority's certificate (in a file the functions read) and the server configuration
/// every terminator presents.
pub struct LocalCa {
    pub ca_file: PathBuf,
    /// The system's bundle plus the authority, for `SSL_CERT_FILE`: binaries that read the
    /// system's store instead (those before issue 15, for a comparison) then trust it too, and
    /// still read and parse as many certificates as in AWS.
    pub system_bundle_file: PathBuf,
    server: Arc<rustls::ServerConfig>,
}

/// The system's bundle where Debian/Ubuntu and Amazon Linux keep it.
const SYSTEM_BUNDLES: [&str; 2] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
];

impl LocalCa {
    pub fn new() -> BenchResult<LocalCa> {
        let e = |e: rcgen::Error| format!("local certificate authority: {e}");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(e)?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "lambda-bench local CA");
        let ca =
            CertifiedIssuer::self_signed(ca_params, KeyPair::generate().map_err(e)?).map_err(e)?;
        let leaf_key = KeyPair::generate().map_err(e)?;
        let leaf = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .map_err(e)?
            .signed_by(&leaf_key, &ca)
            .map_err(e)?;
        let ca_file = std::env::temp_dir().join(format!(
            "lambda-bench-ca-{}.pem",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::write(&ca_file, ca.pem()).map_err(|e| format!("{}: {e}", ca_file.display()))?;
        let system = SYSTEM_BUNDLES
            .iter()
            .find_map(|path| std::fs::read_to_string(path).ok())
            .unwrap_or_default();
        let system_bundle_file = ca_file.with_extension("bundle.pem");
        std::fs::write(&system_bundle_file, format!("{system}\n{}", ca.pem()))
            .map_err(|e| format!("{}: {e}", system_bundle_file.display()))?;
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        // No ALPN offered: the functions speak HTTP/1.1 to moto and the simulator, as over plain
        // HTTP.
        let server = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_no_client_auth()
            .with_single_cert(vec![leaf.der().clone(), ca.der().clone()], key)
            .map_err(|e| format!("terminator certificate: {e}"))?;
        Ok(LocalCa {
            ca_file,
            system_bundle_file,
            server: Arc::new(server),
        })
    }

    /// A terminator on a free loopback port in front of `upstream` (`http://127.0.0.1:PORT`).
    pub async fn terminate(&self, upstream: &str) -> BenchResult<Terminator> {
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| format!("TLS terminator: {e}"))?;
        let port = listener
            .local_addr()
            .map_err(|e| format!("TLS terminator: {e}"))?
            .port();
        let acceptor = TlsAcceptor::from(self.server.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (acceptor, upstream) = (acceptor.clone(), upstream.clone());
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(stream).await else {
                        return;
                    };
                    let Ok(mut plain) = TcpStream::connect(upstream.as_str()).await else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                });
            }
        });
        Ok(Terminator { port, task })
    }
}

impl Drop for LocalCa {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.ca_file);
        let _ = std::fs::remove_file(&self.system_bundle_file);
    }
}

pub struct Terminator {
    port: u16,
    task: tokio::task::JoinHandle<()>,
}

impl Terminator {
    pub fn url(&self) -> String {
        // The certificate names 127.0.0.1 too: no name lookup, no attempt on ::1 first.
        format!("https://127.0.0.1:{}", self.port)
    }
}

impl Drop for Terminator {
    fn drop(&mut self) {
        self.task.abort();
    }
}
