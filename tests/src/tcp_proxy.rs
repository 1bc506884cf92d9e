//! A loopback TCP proxy a test can make "unreachable" for a while: the functions talk to the
//! local DynamoDB through it, so one test can take the store away from its own functions
//! without stopping the one moto server every other test shares.
//!
//! [`TcpProxy::set_down`] cuts every open connection and resets each new one at once (the
//! client sees a connection reset, as when a server is gone); [`TcpProxy::set_up`] forwards
//! again. Bytes are forwarded untouched.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub struct TcpProxy {
    addr: SocketAddr,
    up: watch::Sender<bool>,
    refused: Arc<AtomicU64>,
    accept: JoinHandle<()>,
}

impl TcpProxy {
    /// Starts forwarding from a free loopback port to `upstream` (`host:port` or a URL).
    pub async fn start(upstream: &str) -> TcpProxy {
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("proxy binds loopback");
        let addr = listener.local_addr().expect("proxy addr");
        let (up, up_rx) = watch::channel(true);
        let refused = Arc::new(AtomicU64::new(0));
        let refused_in_loop = refused.clone();
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if !*up_rx.borrow() {
                    refused_in_loop.fetch_add(1, Ordering::Relaxed);
                    reset(client);
                    continue;
                }
                let mut down = up_rx.clone();
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(&upstream).await else {
                        reset(client);
                        return;
                    };
                    let mut client = client;
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = down.wait_for(|up| !*up) => reset(client),
                    }
                });
            }
        });
        TcpProxy {
            addr,
            up,
            refused,
            accept,
        }
    }

    /// `http://127.0.0.1:PORT`, to give the functions as their DynamoDB endpoint.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The store becomes unreachable: open connections are cut, new ones reset.
    pub fn set_down(&self) {
        self.up.send_replace(false);
    }

    /// The store is reachable again.
    pub fn set_up(&self) {
        self.up.send_replace(true);
    }

    /// Connections reset while down.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.up.send_replace(false);
    }
}

/// Closes with RST (linger 0) rather than FIN, like a host that is gone.
fn reset(stream: TcpStream) {
    let _ = stream.set_zero_linger();
    drop(stream);
}
