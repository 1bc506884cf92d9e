//! A local merchant endpoint: verifies each delivery's Standard Webhooks signature with the
//! merchant's secret, answers 2xx to a valid one (401 otherwise), and keeps and prints what it
//! received. Receivers dedupe by `webhook-id` (delivery is at least once); this one marks repeats.

use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use leanx_payouts::events::signing::SigningKeys;
use serde_json::Value;

/// How far `webhook-timestamp` may be from now (replay protection, as the standard suggests).
pub const TOLERANCE_SECONDS: i64 = 5 * 60;

/// One verified delivery.
#[derive(Debug, Clone)]
pub struct Received {
    pub webhook_id: String,
    pub timestamp: i64,
    pub signature: String,
    pub body: String,
    pub event: Value,
    pub duplicate: bool,
    /// When it arrived (for the end-to-end latency: minus the event's `created_at`).
    pub received_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Default)]
pub struct Inbox {
    pub received: Mutex<Vec<Received>>,
    /// Non-zero: answer this status instead of accepting (a test's endpoint "failing").
    pub fail_with: AtomicU16,
    /// Valid deliveries answered with `fail_with`.
    pub failed: AtomicUsize,
    /// Print each verified event on stdout.
    pub print: bool,
}

impl Inbox {
    pub fn printing() -> Inbox {
        Inbox {
            print: true,
            ..Inbox::default()
        }
    }

    pub fn deliveries(&self) -> Vec<Received> {
        self.received
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

struct Endpoint {
    keys: SigningKeys,
    inbox: Arc<Inbox>,
}

/// Whether `header` (`v1,<sig> v1,<sig>…`) holds a signature one of `keys` makes.
pub fn verify(keys: &SigningKeys, id: &str, timestamp: i64, body: &str, header: &str) -> bool {
    let expected = keys.signature_header(id, timestamp, body);
    let expected: Vec<&str> = expected.split(' ').collect();
    header.split(' ').any(|given| expected.contains(&given))
}

async fn take(
    State(endpoint): State<Arc<Endpoint>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    };
    let (id, signature) = (
        text("webhook-id").to_owned(),
        text("webhook-signature").to_owned(),
    );
    let Ok(timestamp) = text("webhook-timestamp").parse::<i64>() else {
        return StatusCode::BAD_REQUEST;
    };
    let Ok(body) = String::from_utf8(body.to_vec()) else {
        return StatusCode::BAD_REQUEST;
    };
    let fresh = (chrono::Utc::now().timestamp() - timestamp).abs() <= TOLERANCE_SECONDS;
    if !fresh || !verify(&endpoint.keys, &id, timestamp, &body, &signature) {
        eprintln!("receiver: refused a delivery with a bad signature or timestamp ({id})");
        return StatusCode::UNAUTHORIZED;
    }
    let status = endpoint.inbox.fail_with.load(Ordering::SeqCst);
    if status != 0 {
        endpoint.inbox.failed.fetch_add(1, Ordering::SeqCst);
        return StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    }
    let event: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let mut received = endpoint
        .inbox
        .received
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let duplicate = received.iter().any(|r| r.webhook_id == id);
    if endpoint.inbox.print {
        println!(
            "{} {} v{} {}{}",
            event["type"].as_str().unwrap_or("?"),
            event["data"]["external_invoice_ref"]
                .as_str()
                .unwrap_or("?"),
            event["data"]["version"],
            id,
            if duplicate {
                " (duplicate, ignored)"
            } else {
                ""
            }
        );
    }
    received.push(Received {
        webhook_id: id,
        timestamp,
        signature,
        body,
        event,
        duplicate,
        received_at: chrono::Utc::now(),
    });
    StatusCode::NO_CONTENT
}

/// Serves the endpoint (any path) on `listener` until the task is dropped.
pub async fn serve(listener: tokio::net::TcpListener, keys: SigningKeys, inbox: Arc<Inbox>) {
    let app = axum::Router::new()
        .route("/", axum::routing::post(take))
        .route("/{*path}", axum::routing::post(take))
        .with_state(Arc::new(Endpoint { keys, inbox }));
    let _ = axum::serve(listener, app).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const OTHER: &str = "whsec_c2VjcmV0LW9mLWEtcm90YXRlZC1lbmRwb2ludA==";

    #[test]
    fn a_delivery_verifies_with_its_secret_even_among_rotation_signatures() {
        let signer = SigningKeys::parse(&format!("{OTHER} {SECRET}")).unwrap();
        let header = signer.signature_header("evt_1", 1_700_000_000, "{}");
        let mine = SigningKeys::parse(SECRET).unwrap();
        assert!(verify(&mine, "evt_1", 1_700_000_000, "{}", &header));
    }

    #[test]
    fn a_delivery_signed_with_another_secret_or_altered_is_refused() {
        let signer = SigningKeys::parse(OTHER).unwrap();
        let header = signer.signature_header("evt_1", 1_700_000_000, "{}");
        let mine = SigningKeys::parse(SECRET).unwrap();
        assert!(!verify(&mine, "evt_1", 1_700_000_000, "{}", &header));
        let own = mine.signature_header("evt_1", 1_700_000_000, "{}");
        assert!(!verify(&mine, "evt_1", 1_700_000_000, "{ }", &own));
        assert!(!verify(&mine, "evt_2", 1_700_000_000, "{}", &own));
    }
}
