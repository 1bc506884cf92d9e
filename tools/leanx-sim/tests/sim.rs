//! The simulator over real HTTP: LeanX answers are read as `serde_json::Value` (or raw JSON
//! text where exactness matters), never through types shared with the server.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use leanx_sim::control::{CallbackFaults, FaultKind, Outcome, Times};
use leanx_sim::{RunningSim, SimConfig, SimControl};
use rust_decimal::Decimal;
use serde_json::value::RawValue;
use serde_json::{Value, json};
use sha2::Sha256;

const POOL: &str = "VA-SIM-POOL-PAYOUT";
const ACCOUNT: &str = "8011408168";

fn local() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

struct Sim {
    sim: RunningSim,
    cfg: SimConfig,
    http: reqwest::Client,
    ctl: SimControl,
}

async fn start_with(cfg: SimConfig) -> Sim {
    let sim = leanx_sim::spawn(cfg.clone(), local()).await.unwrap();
    let ctl = sim.control();
    Sim {
        sim,
        cfg,
        http: reqwest::Client::new(),
        ctl,
    }
}

async fn start() -> Sim {
    start_with(SimConfig::default()).await
}

impl Sim {
    fn url(&self, endpoint: &str) -> String {
        format!("{}/api/v1/merchant/{endpoint}", self.sim.base_url())
    }

    fn post(&self, endpoint: &str) -> reqwest::RequestBuilder {
        self.http
            .post(self.url(endpoint))
            .header("auth-token", &self.cfg.auth_token)
    }

    /// POSTs a raw JSON text body (so amounts are sent exactly) and returns the answer text.
    async fn call_text(&self, endpoint: &str, body: Option<String>) -> String {
        let mut req = self.post(endpoint);
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 200);
        resp.text().await.unwrap()
    }

    async fn call(&self, endpoint: &str, body: Option<String>) -> Value {
        serde_json::from_str(&self.call_text(endpoint, body).await).unwrap()
    }

    async fn create(&self, reference: &str, amount: &str) -> Value {
        self.call(
            "create-payout-invoice",
            Some(create_body(
                reference,
                amount,
                ACCOUNT,
                "http://127.0.0.1:9/cb",
            )),
        )
        .await
    }

    async fn create_ok(&self, reference: &str, amount: &str) -> String {
        let v = self.create(reference, amount).await;
        assert_eq!(v["response_code"], 2000, "{v}");
        v["data"]["invoice_no"].as_str().unwrap().to_string()
    }

    async fn get_text(&self, id: &str) -> String {
        let resp = self
            .post(&format!("get-payout-transaction-by-id?_id={}", encode(id)))
            .send()
            .await
            .unwrap();
        resp.text().await.unwrap()
    }

    async fn get(&self, id: &str) -> Value {
        serde_json::from_str(&self.get_text(id).await).unwrap()
    }

    async fn status_of(&self, id: &str) -> String {
        self.get(id).await["data"]["transaction_status"]
            .as_str()
            .unwrap_or("?")
            .to_string()
    }

    async fn wait_status(&self, id: &str, want: &str) {
        for _ in 0..200 {
            if self.status_of(id).await == want {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("{id} never reached {want}: {}", self.get(id).await);
    }
}

fn encode(id: &str) -> String {
    percent_encoding::utf8_percent_encode(id, percent_encoding::NON_ALPHANUMERIC).to_string()
}

fn create_body(reference: &str, amount: &str, account: &str, callback: &str) -> String {
    create_body_with(reference, amount, account, callback, "23")
}

/// Built as text so `amount` and `payout_service_id` go out exactly as written.
fn create_body_with(
    reference: &str,
    amount: &str,
    account: &str,
    callback: &str,
    service: &str,
) -> String {
    format!(
        r#"{{"virtual_pool_reference":"{POOL}","payout_service_id":{service},"amount":{amount},"recipient_name":"John Doe","client_callback_url":"{callback}","third_party_account_no":"{account}","external_invoice_ref":"{reference}","recipient_reference":"Salary Nov"}}"#
    )
}

/// The raw JSON text of `data.<field>` in an answer.
fn raw_data_field(answer: &str, field: &str) -> String {
    let env: BTreeMap<String, Box<RawValue>> = serde_json::from_str(answer).unwrap();
    let data: BTreeMap<String, Box<RawValue>> = serde_json::from_str(env["data"].get()).unwrap();
    data[field].get().to_string()
}

fn sign(cfg: &SimConfig, path: &str, ts: &str, nonce: &str) -> String {
    let uuid = cfg.auth_token.split('|').nth(1).unwrap();
    let msg = format!("POST|{uuid}|{path}|{ts}|{}|{nonce}", cfg.auth_token);
    let mut mac = Hmac::<Sha256>::new_from_slice(cfg.hash_key.as_bytes()).unwrap();
    mac.update(msg.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// A callback receiver answering the scripted statuses in turn (then 200).
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Value>>>,
}

impl Receiver {
    fn bodies(&self) -> Vec<Value> {
        self.got.lock().unwrap().clone()
    }

    async fn wait_for(&self, n: usize) -> Vec<Value> {
        for _ in 0..250 {
            if self.bodies().len() >= n {
                return self.bodies();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("expected {n} callbacks, got {:?}", self.bodies());
    }
}

async fn receiver(script: Vec<u16>) -> Receiver {
    use axum::{Json, Router, http::StatusCode, routing::post};
    let got = Arc::new(Mutex::new(Vec::new()));
    let script = Arc::new(Mutex::new(VecDeque::from(script)));
    let g = Arc::clone(&got);
    let app = Router::new().route(
        "/cb",
        post(move |Json(v): Json<Value>| {
            let (g, script) = (Arc::clone(&g), Arc::clone(&script));
            async move {
                g.lock().unwrap().push(v);
                let s = script.lock().unwrap().pop_front().unwrap_or(200);
                StatusCode::from_u16(s).unwrap()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind(local()).await.unwrap();
    let url = format!("http://{}/cb", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Receiver { url, got }
}

fn decode_jwt(token: &str, key: &str) -> Value {
    let mut v = Validation::new(Algorithm::HS256);
    v.required_spec_claims.clear();
    v.validate_exp = false;
    jsonwebtoken::decode::<Value>(token, &DecodingKey::from_secret(key.as_bytes()), &v)
        .unwrap()
        .claims
}

// ---- envelope and endpoint shapes ----

#[tokio::test]
async fn list_payout_services_lists_banks_and_ewallets() {
    let s = start().await;
    let v = s.call("list-payout-services", None).await;
    assert_eq!(v["response_code"], 2000);
    assert_eq!(v["description"], "SUCCESS");
    let items = v["data"]["list"]["data"][0]["SWITCH_PAYOUT_WEBPAY"]
        .as_array()
        .unwrap();
    assert!(items.len() >= 20);
    assert!(items.iter().any(|i| i["name"] == "Maybank"));
    for i in items {
        assert!(i["payout_service_id"].is_u64());
        assert_eq!(i["payment_model_reference"], "B2C");
        assert_eq!(i["record_status"], "ACTIVE");
        assert!(i["unique_reference"].is_string() && i["payment_service"].is_string());
    }
}

#[tokio::test]
async fn envelope_has_leanx_fields_and_varies_empty_and_null() {
    let s = start().await;
    let a = s.call("overall-balance", None).await;
    let b = s.call("overall-balance", None).await;
    for v in [&a, &b] {
        assert_eq!(v["app_version"], "/api/v1");
        let ts = v["talk_to_server_before"].as_str().unwrap();
        chrono::NaiveDateTime::parse_from_str(ts, "%Y-%m-%dT%H:%M:%S%.6f").unwrap();
        assert_eq!(ts.len(), 26, "microseconds, no zone: {ts}");
        assert!(v["request_id"].is_string(), "an undocumented extra field");
    }
    assert_ne!(a["token"], b["token"]);
    assert_ne!(a["breakdown_errors"], b["breakdown_errors"]);
    for field in ["token", "breakdown_errors"] {
        let seen = [&a[field], &b[field]];
        assert!(seen.contains(&&Value::Null) && seen.contains(&&json!("")));
    }
}

#[tokio::test]
async fn create_answers_status_and_invoice_no() {
    let s = start().await;
    let v = s.create("INV-1", "13.00").await;
    assert_eq!(v["response_code"], 2000);
    assert_eq!(v["data"]["status"], "SUCCESS");
    let inv = v["data"]["invoice_no"].as_str().unwrap();
    let re = inv
        .strip_prefix("PAYOUT-")
        .unwrap()
        .strip_suffix("-LEANX")
        .unwrap();
    let (hex4, digits) = re.split_once(':').unwrap();
    assert_eq!(hex4.len(), 4);
    assert!(hex4.chars().all(|c| c.is_ascii_hexdigit()));
    assert!(digits.len() == 6 && digits.chars().all(|c| c.is_ascii_digit()));
}

#[tokio::test]
async fn transaction_has_every_leanx_field() {
    let s = start().await;
    s.ctl.set_outcome(Outcome::Pending).await.unwrap();
    let inv = s.create_ok("INV-1", "13.00").await;
    let v = s.get(&inv).await;
    assert_eq!(v["response_code"], 2000);
    let d = &v["data"];
    for f in [
        "payout_invoice_no",
        "merchant_invoice_id",
        "id",
        "payout_account_number",
        "transaction_fee",
        "account_id",
        "record_status",
        "updated_at",
        "switch_invoice_id",
        "transaction_invoice_no",
        "transaction_status",
        "value",
        "switch_transaction_fee",
        "api_key",
        "created_at",
    ] {
        assert!(!d[f].is_null(), "missing {f}: {d}");
    }
    assert_eq!(d["payout_invoice_no"], inv.as_str());
    assert_eq!(d["merchant_invoice_id"], "INV-1");
    assert_eq!(d["payout_account_number"], ACCOUNT);
    assert_eq!(d["transaction_status"], "PENDING");
    assert!(d["value"].is_number());
    let updated = d["updated_at"].as_str().unwrap();
    chrono::NaiveDateTime::parse_from_str(updated, "%Y-%m-%dT%H:%M:%S").unwrap();
    assert_eq!(updated.len(), 19, "no zone, no micros: {updated}");
}

#[tokio::test]
async fn check_verification_bank_returns_account_holder() {
    let s = start().await;
    let body = r#"{"payout_service_id":1,"third_party_account_no":"9011426016"}"#;
    let v = s.call("check-verification-bank", Some(body.into())).await;
    assert_eq!(v["response_code"], 2000);
    assert_eq!(v["data"]["Success"], true);
    let r = &v["data"]["Result"];
    assert_eq!(r["OrgnThirdPartyBankBICCode"], "MBBEMYKL");
    assert_eq!(r["OrgnThirdPartyAccountNo"], "9011426016");
    assert!(r["CreditorName"].as_str().unwrap().len() > 3);
}

#[tokio::test]
async fn overall_balance_reflects_payouts() {
    let s = start().await;
    let before = s.call_text("overall-balance", None).await;
    assert_eq!(raw_data_field(&before, "prefund_balance"), "1000000.00");
    s.create_ok("INV-1", "13.05").await;
    let after = s.call_text("overall-balance", None).await;
    assert_eq!(raw_data_field(&after, "prefund_balance"), "999986.95");
    let v: Value = serde_json::from_str(&after).unwrap();
    assert!(v["data"]["transaction_balance"]["value"].is_number());
    assert_eq!(v["data"]["total_transaction_as_of_today"], 1);
}

#[tokio::test]
async fn unknown_endpoint_is_forbidden() {
    let s = start().await;
    let v = s.call("create-payout", None).await;
    assert_ne!(v["response_code"], 2000);
    assert_eq!(v["description"], "Requested endpoint is forbidden");
}

// ---- auth ----

#[tokio::test]
async fn missing_auth_token_is_refused() {
    let s = start().await;
    let resp = s.http.post(s.url("overall-balance")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["response_code"], 5698);
    assert_eq!(v["description"], "INVALID_TOKEN");
}

#[tokio::test]
async fn other_merchant_uuid_is_refused_invalid_uuid() {
    let s = start().await;
    let v: Value = s
        .http
        .post(s.url("overall-balance"))
        .header(
            "auth-token",
            "LP-PROD0001-MM|11111111-2222-4333-8444-555555555555|abcdef",
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["response_code"], 5699);
    assert_eq!(v["description"], "INVALID_UUID");
}

async fn signed_call(s: &Sim, ts: i64, tamper: bool) -> Value {
    let path = "/api/v1/merchant/overall-balance";
    let ts = ts.to_string();
    let nonce = uuid::Uuid::new_v4().to_string();
    let mut sig = sign(&s.cfg, path, &ts, &nonce);
    if tamper {
        sig.replace_range(0..1, if sig.starts_with('0') { "1" } else { "0" });
    }
    s.post("overall-balance?ignored=1")
        .header("x-timestamp", ts)
        .header("x-nonce", nonce)
        .header("x-signature", sig)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn signing() -> SimConfig {
    SimConfig {
        require_signature: true,
        ..SimConfig::default()
    }
}

#[tokio::test]
async fn valid_signature_is_accepted() {
    let s = start_with(signing()).await;
    let v = signed_call(&s, chrono::Utc::now().timestamp(), false).await;
    assert_eq!(v["response_code"], 2000, "{v}");
}

#[tokio::test]
async fn wrong_signature_is_refused() {
    let s = start_with(signing()).await;
    let v = signed_call(&s, chrono::Utc::now().timestamp(), true).await;
    assert_eq!(v["response_code"], 5697);
}

#[tokio::test]
async fn missing_signature_is_refused_when_required() {
    let s = start_with(signing()).await;
    let v = s.call("overall-balance", None).await;
    assert_eq!(v["response_code"], 5697);
}

#[tokio::test]
async fn stale_signature_timestamp_is_refused() {
    let s = start_with(signing()).await;
    let v = signed_call(&s, chrono::Utc::now().timestamp() - 301, false).await;
    assert_eq!(v["response_code"], 5696);
}

// ---- create validation ----

#[tokio::test]
async fn string_payout_service_id_is_refused_4566() {
    let s = start().await;
    let body = create_body_with("INV-1", "13.00", ACCOUNT, "http://x/cb", "\"23\"");
    let v = s.call("create-payout-invoice", Some(body)).await;
    assert_eq!(v["response_code"], 4566);
    assert_eq!(v["description"], "FAILED");
    assert!(s.ctl.payouts().await.unwrap().is_empty());
}

#[tokio::test]
async fn string_amount_is_refused_4566() {
    let s = start().await;
    let v = s.create("INV-1", "\"13.00\"").await;
    assert_eq!(v["response_code"], 4566);
}

#[tokio::test]
async fn amount_with_three_decimals_is_refused() {
    let s = start().await;
    let v = s.create("INV-1", "13.005").await;
    assert_eq!(v["response_code"], 4566);
}

#[tokio::test]
async fn missing_required_field_is_refused() {
    let s = start().await;
    let body = create_body("INV-1", "13.00", ACCOUNT, "http://x/cb")
        .replace("\"recipient_name\":\"John Doe\",", "");
    let v = s.call("create-payout-invoice", Some(body)).await;
    assert_eq!(v["response_code"], 4566);
}

#[tokio::test]
async fn wrong_pool_is_refused() {
    let s = start().await;
    let body =
        create_body("INV-1", "13.00", ACCOUNT, "http://x/cb").replace(POOL, "VA-OTHER-PAYOUT");
    let v = s.call("create-payout-invoice", Some(body)).await;
    assert_eq!(v["response_code"], 4568);
}

#[tokio::test]
async fn unknown_payout_service_is_refused() {
    let s = start().await;
    let body = create_body_with("INV-1", "13.00", ACCOUNT, "http://x/cb", "999");
    let v = s.call("create-payout-invoice", Some(body)).await;
    assert_eq!(v["response_code"], 4569);
}

#[tokio::test]
async fn exact_amounts_round_trip() {
    let s = start_with(SimConfig {
        initial_prefund_balance: Decimal::new(20_000_000_000, 2),
        ..SimConfig::default()
    })
    .await;
    for amount in ["13.05", "99999999.99", "0.10"] {
        let inv = s.create_ok(&format!("INV-{amount}"), amount).await;
        let text = s.get_text(&inv).await;
        assert_eq!(raw_data_field(&text, "value"), amount);
    }
}

#[tokio::test]
async fn pool_must_keep_two_ringgit() {
    let s = start_with(SimConfig {
        initial_prefund_balance: Decimal::new(1500, 2),
        ..SimConfig::default()
    })
    .await;
    let v = s.create("INV-1", "13.01").await;
    assert_eq!(v["response_code"], 4570);
    s.create_ok("INV-2", "13.00").await;
    let text = s.call_text("overall-balance", None).await;
    assert_eq!(raw_data_field(&text, "prefund_balance"), "2.00");
}

#[tokio::test]
async fn same_ref_twice_creates_two_payouts() {
    let s = start().await;
    let a = s.create_ok("INV-1", "13.00").await;
    let b = s.create_ok("INV-1", "13.00").await;
    assert_ne!(a, b);
    assert_eq!(s.ctl.payouts_for_ref("INV-1").await.unwrap(), 2);
}

// ---- lookup ----

#[tokio::test]
async fn lookup_by_invoice_no_with_colon() {
    let s = start().await;
    let inv = s.create_ok("INV-1", "13.00").await;
    assert!(inv.contains(':'));
    let v = s.get(&inv).await;
    assert_eq!(v["data"]["payout_invoice_no"], inv.as_str());
}

#[tokio::test]
async fn lookup_by_external_ref_url_encoded() {
    let s = start().await;
    let inv = s.create_ok("ORDER:2026:0001", "13.00").await;
    let text = s.get_text("ORDER:2026:0001").await;
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["data"]["payout_invoice_no"], inv.as_str());
    assert_eq!(v["data"]["merchant_invoice_id"], "ORDER:2026:0001");
    let calls = s.ctl.calls().await.unwrap();
    assert!(
        calls
            .iter()
            .any(|c| c.query.as_deref() == Some("_id=ORDER%3A2026%3A0001"))
    );
}

#[tokio::test]
async fn unknown_id_is_refused_4004() {
    let s = start().await;
    let v = s.get("NO-SUCH-REF").await;
    assert_eq!(v["response_code"], 4004);
}

// ---- outcomes and callbacks ----

#[tokio::test]
async fn success_settles_and_posts_verifiable_jwt_callback() {
    let s = start().await;
    let rx = receiver(vec![]).await;
    let body = create_body("INV-CB", "13.05", ACCOUNT, &rx.url);
    let v = s.call("create-payout-invoice", Some(body)).await;
    let inv = v["data"]["invoice_no"].as_str().unwrap().to_string();
    s.wait_status(&inv, "SUCCESS").await;
    let got = rx.wait_for(1).await;
    assert_eq!(got[0]["response_code"], 2100);
    let claims = decode_jwt(got[0]["data"].as_str().unwrap(), &s.cfg.hash_key);
    let o = &claims["output"];
    assert!(claims.get("exp").is_none() && claims.get("iat").is_none());
    assert_eq!(o["invoice_no"], inv.as_str());
    assert_eq!(o["invoice_status"], "SUCCESS");
    assert_eq!(o["invoice_status_id"], 2);
    assert_eq!(o["amount"], "13.05");
    assert_eq!(o["payout_service_id"], 23);
    assert_eq!(o["client_callback_url"], rx.url.as_str());
    assert_eq!(o["error_description"], json!([]));
    assert_eq!(o["client_data"]["virtual_pool_reference"], POOL);
    assert_eq!(o["client_data"]["external_invoice_ref"], "INV-CB");
    assert_eq!(o["client_data"]["recipient_reference"], "Salary Nov");
    assert_eq!(o["bank_response"]["Success"], true);
    assert_eq!(o["bank_response"]["Result"]["PaymentStatus"], "ACSP");
    assert!(o["bank_response"]["Result"]["BankReferenceNo"].is_string());
    assert!(o["bank_response"]["Result"]["DisplayName"].is_string());
    assert!(o["payout_payment"]["item"]["balance"].is_number());
    assert!(o["client_transaction_details"].is_null());
}

#[tokio::test]
async fn callback_jwt_does_not_verify_with_another_key() {
    let s = start().await;
    let rx = receiver(vec![]).await;
    s.call(
        "create-payout-invoice",
        Some(create_body("INV-1", "1.00", ACCOUNT, &rx.url)),
    )
    .await;
    let got = rx.wait_for(1).await;
    let mut v = Validation::new(Algorithm::HS256);
    v.required_spec_claims.clear();
    let wrong = DecodingKey::from_secret(b"not-the-hash-key");
    assert!(jsonwebtoken::decode::<Value>(got[0]["data"].as_str().unwrap(), &wrong, &v).is_err());
}

#[tokio::test]
async fn failed_settles_with_error_refund_and_no_callback() {
    let s = start().await;
    let rx = receiver(vec![]).await;
    s.ctl
        .set_outcome(Outcome::Failed {
            error_description: Some("ACCOUNT CLOSED".into()),
        })
        .await
        .unwrap();
    let v = s
        .call(
            "create-payout-invoice",
            Some(create_body("INV-F", "13.00", ACCOUNT, &rx.url)),
        )
        .await;
    let inv = v["data"]["invoice_no"].as_str().unwrap().to_string();
    s.wait_status(&inv, "FAILED").await;
    assert_eq!(
        s.get(&inv).await["data"]["error_description"],
        "ACCOUNT CLOSED"
    );
    let text = s.call_text("overall-balance", None).await;
    assert_eq!(raw_data_field(&text, "prefund_balance"), "1000000.00");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(rx.bodies().is_empty());
    assert!(s.ctl.callbacks().await.unwrap().is_empty());
}

#[tokio::test]
async fn pending_stays_until_forced_success() {
    let s = start().await;
    let rx = receiver(vec![]).await;
    s.ctl.set_outcome(Outcome::Pending).await.unwrap();
    s.call(
        "create-payout-invoice",
        Some(create_body("INV-P", "5.00", ACCOUNT, &rx.url)),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(s.status_of("INV-P").await, "PENDING");
    assert!(rx.bodies().is_empty());
    let p = s.ctl.settle("INV-P", "SUCCESS").await.unwrap();
    assert_eq!(p.transaction_status, "SUCCESS");
    assert_eq!(s.status_of("INV-P").await, "SUCCESS");
    rx.wait_for(1).await;
}

#[tokio::test]
async fn pending_approval_stays_until_forced_failed() {
    let s = start().await;
    s.ctl
        .set_outcome(Outcome::StatusPendingApproval)
        .await
        .unwrap();
    s.create_ok("INV-A", "5.00").await;
    s.wait_status("INV-A", "STATUS_PENDING_APPROVAL").await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(s.status_of("INV-A").await, "STATUS_PENDING_APPROVAL");
    s.ctl.settle("INV-A", "FAILED").await.unwrap();
    assert_eq!(s.status_of("INV-A").await, "FAILED");
    assert!(
        s.ctl.settle("INV-A", "SUCCESS").await.is_err(),
        "final stays final"
    );
}

#[tokio::test]
async fn refuse_outcome_refuses_and_records_nothing() {
    let s = start().await;
    s.ctl
        .set_outcome(Outcome::Refuse {
            response_code: 4599,
            description: "DAILY_LIMIT".into(),
        })
        .await
        .unwrap();
    let v = s.create("INV-R", "5.00").await;
    assert_eq!(v["response_code"], 4599);
    assert_eq!(v["description"], "DAILY_LIMIT");
    assert!(s.ctl.payouts().await.unwrap().is_empty());
}

#[tokio::test]
async fn account_outcome_overrides_default() {
    let s = start().await;
    s.ctl
        .set_account_outcome(
            "1234567890",
            Outcome::Failed {
                error_description: None,
            },
        )
        .await
        .unwrap();
    let body = create_body("INV-X", "5.00", "1234567890", "http://127.0.0.1:9/cb");
    s.call("create-payout-invoice", Some(body)).await;
    s.create_ok("INV-Y", "5.00").await;
    s.wait_status("INV-X", "FAILED").await;
    s.wait_status("INV-Y", "SUCCESS").await;
}

#[tokio::test]
async fn settle_delay_keeps_payout_pending_until_it_passes() {
    let s = start().await;
    s.ctl
        .set_settle_delay(Duration::from_millis(400))
        .await
        .unwrap();
    s.create_ok("INV-D", "5.00").await;
    assert_eq!(s.status_of("INV-D").await, "PENDING");
    s.wait_status("INV-D", "SUCCESS").await;
}

#[tokio::test]
async fn callback_is_retried_until_receiver_accepts() {
    let s = start().await;
    let rx = receiver(vec![500, 503]).await;
    s.call(
        "create-payout-invoice",
        Some(create_body("INV-1", "1.00", ACCOUNT, &rx.url)),
    )
    .await;
    rx.wait_for(3).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let attempts = s.ctl.callbacks().await.unwrap();
    let statuses: Vec<_> = attempts
        .iter()
        .map(|c| (c.attempt, c.http_status))
        .collect();
    assert_eq!(
        statuses,
        vec![
            (Some(1), Some(500)),
            (Some(2), Some(503)),
            (Some(3), Some(200))
        ]
    );
    assert_eq!(rx.bodies().len(), 3);
}

#[tokio::test]
async fn callback_to_unreachable_receiver_is_logged_per_attempt() {
    let s = start_with(SimConfig {
        callback_retries: 2,
        callback_backoff: Duration::from_millis(10),
        ..SimConfig::default()
    })
    .await;
    s.create_ok("INV-1", "1.00").await;
    for _ in 0..100 {
        if s.ctl.callbacks().await.unwrap().len() == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let attempts = s.ctl.callbacks().await.unwrap();
    assert_eq!(attempts.len(), 3);
    assert!(attempts.iter().all(|c| c.outcome.starts_with("failed")));
}

#[tokio::test]
async fn callback_fault_duplicate_sends_each_callback_n_times() {
    let s = start().await;
    let rx = receiver(vec![]).await;
    s.ctl
        .set_callback_faults(CallbackFaults {
            duplicate: 3,
            ..CallbackFaults::default()
        })
        .await
        .unwrap();
    s.call(
        "create-payout-invoice",
        Some(create_body("INV-1", "1.00", ACCOUNT, &rx.url)),
    )
    .await;
    let got = rx.wait_for(3).await;
    assert!(got.iter().all(|b| b == &got[0]));
}

#[tokio::test]
async fn callback_fault_drop_never_sends() {
    let s = start().await;
    let rx = receiver(vec![]).await;
    s.ctl
        .set_callback_faults(CallbackFaults {
            drop: true,
            ..CallbackFaults::default()
        })
        .await
        .unwrap();
    let v = s
        .call(
            "create-payout-invoice",
            Some(create_body("INV-1", "1.00", ACCOUNT, &rx.url)),
        )
        .await;
    s.wait_status(v["data"]["invoice_no"].as_str().unwrap(), "SUCCESS")
        .await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(rx.bodies().is_empty());
}

#[tokio::test]
async fn callback_fault_delay_holds_the_callback() {
    let s = start().await;
    let rx = receiver(vec![]).await;
    s.ctl
        .set_callback_faults(CallbackFaults {
            delay_ms: 500,
            ..CallbackFaults::default()
        })
        .await
        .unwrap();
    let v = s
        .call(
            "create-payout-invoice",
            Some(create_body("INV-1", "1.00", ACCOUNT, &rx.url)),
        )
        .await;
    s.wait_status(v["data"]["invoice_no"].as_str().unwrap(), "SUCCESS")
        .await;
    assert!(rx.bodies().is_empty());
    rx.wait_for(1).await;
}

// ---- faults ----

#[tokio::test]
async fn fault_latency_delays_then_answers() {
    let s = start().await;
    s.ctl
        .inject_fault(
            "overall-balance",
            FaultKind::Latency { ms: 300 },
            Times::Count(1),
        )
        .await
        .unwrap();
    let t = std::time::Instant::now();
    let v = s.call("overall-balance", None).await;
    assert!(t.elapsed() >= Duration::from_millis(300));
    assert_eq!(v["response_code"], 2000);
}

#[tokio::test]
async fn a_payout_whose_client_gave_up_still_settles() {
    let s = start().await;
    s.ctl
        .inject_fault(
            "create-payout-invoice",
            FaultKind::Latency { ms: 300 },
            Times::Count(1),
        )
        .await
        .unwrap();
    let impatient = s
        .post("create-payout-invoice")
        .timeout(Duration::from_millis(100))
        .header("content-type", "application/json")
        .body(create_body(
            "INV-GAVE-UP",
            "1.00",
            ACCOUNT,
            "http://127.0.0.1:9/cb",
        ))
        .send()
        .await;
    assert!(impatient.is_err(), "the client timed out");
    let calls = s.ctl.calls().await.unwrap();
    let create = calls
        .iter()
        .find(|c| c.endpoint == "create-payout-invoice")
        .unwrap();
    assert_eq!(
        create.fault.as_deref(),
        Some("latency 300ms"),
        "the log says it was faulted"
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    s.wait_status("INV-GAVE-UP", "SUCCESS").await;
}

#[tokio::test]
async fn fault_http_500_before_records_nothing() {
    let s = start().await;
    s.ctl
        .inject_fault(
            "create-payout-invoice",
            FaultKind::Http500Before,
            Times::Count(1),
        )
        .await
        .unwrap();
    let resp = s
        .post("create-payout-invoice")
        .body(create_body("INV-1", "1.00", ACCOUNT, "http://x/cb"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 500);
    assert!(s.ctl.payouts().await.unwrap().is_empty());
    assert_eq!(s.ctl.create_calls_for_ref("INV-1").await.unwrap(), 1);
}

#[tokio::test]
async fn fault_http_500_after_records_the_payout() {
    let s = start().await;
    s.ctl
        .inject_fault(
            "create-payout-invoice",
            FaultKind::Http500After,
            Times::Count(1),
        )
        .await
        .unwrap();
    let resp = s
        .post("create-payout-invoice")
        .body(create_body("INV-1", "1.00", ACCOUNT, "http://x/cb"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 500);
    assert_eq!(s.ctl.payouts_for_ref("INV-1").await.unwrap(), 1);
    assert_eq!(s.get("INV-1").await["response_code"], 2000);
}

#[tokio::test]
async fn fault_hang_records_and_never_answers() {
    let s = start().await;
    s.ctl
        .inject_fault("create-payout-invoice", FaultKind::Hang, Times::Count(1))
        .await
        .unwrap();
    let r = s
        .post("create-payout-invoice")
        .timeout(Duration::from_millis(400))
        .body(create_body("INV-1", "1.00", ACCOUNT, "http://x/cb"))
        .send()
        .await;
    assert!(r.unwrap_err().is_timeout());
    assert_eq!(s.ctl.payouts_for_ref("INV-1").await.unwrap(), 1);
}

#[tokio::test]
async fn dropping_the_sim_closes_a_hung_connection() {
    let s = start().await;
    s.ctl
        .inject_fault("overall-balance", FaultKind::Hang, Times::Count(1))
        .await
        .unwrap();
    let req = s
        .post("overall-balance")
        .timeout(Duration::from_secs(5))
        .send();
    let pending = tokio::spawn(req);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let t = std::time::Instant::now();
    s.sim.shutdown().await;
    let r = pending.await.unwrap();
    assert!(r.is_err());
    assert!(t.elapsed() < Duration::from_secs(2));
}

async fn assert_connection_dropped(s: &Sim) {
    let r = s
        .post("create-payout-invoice")
        .body(create_body("INV-1", "1.00", ACCOUNT, "http://x/cb"))
        .send()
        .await;
    let e = r.unwrap_err();
    assert!(!e.is_timeout() && e.status().is_none(), "{e:?}");
}

#[tokio::test]
async fn fault_drop_before_closes_without_response_or_payout() {
    let s = start().await;
    s.ctl
        .inject_fault(
            "create-payout-invoice",
            FaultKind::DropBefore,
            Times::Count(1),
        )
        .await
        .unwrap();
    assert_connection_dropped(&s).await;
    assert!(s.ctl.payouts().await.unwrap().is_empty());
}

#[tokio::test]
async fn fault_drop_after_closes_without_response_but_records() {
    let s = start().await;
    s.ctl
        .inject_fault(
            "create-payout-invoice",
            FaultKind::DropAfter,
            Times::Count(1),
        )
        .await
        .unwrap();
    assert_connection_dropped(&s).await;
    assert_eq!(s.ctl.payouts_for_ref("INV-1").await.unwrap(), 1);
    s.wait_status("INV-1", "SUCCESS").await;
}

#[tokio::test]
async fn fault_malformed_json_answers_200_non_json_after_recording() {
    let s = start().await;
    s.ctl
        .inject_fault(
            "create-payout-invoice",
            FaultKind::MalformedJson,
            Times::Count(1),
        )
        .await
        .unwrap();
    let resp = s
        .post("create-payout-invoice")
        .body(create_body("INV-1", "1.00", ACCOUNT, "http://x/cb"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.unwrap();
    assert!(serde_json::from_str::<Value>(&text).is_err());
    assert_eq!(s.ctl.payouts_for_ref("INV-1").await.unwrap(), 1);
}

#[tokio::test]
async fn fault_unknown_code_answers_9999_without_recording() {
    let s = start().await;
    s.ctl
        .inject_fault(
            "create-payout-invoice",
            FaultKind::UnknownCode,
            Times::Count(1),
        )
        .await
        .unwrap();
    let v = s.create("INV-1", "1.00").await;
    assert_eq!(v["response_code"], 9999);
    assert!(s.ctl.payouts().await.unwrap().is_empty());
}

#[tokio::test]
async fn fault_is_consumed_by_the_next_n_calls() {
    let s = start().await;
    s.ctl
        .inject_fault("overall-balance", FaultKind::UnknownCode, Times::Count(2))
        .await
        .unwrap();
    let codes: Vec<Value> = futures_codes(&s, 3).await;
    assert_eq!(codes, vec![json!(9999), json!(9999), json!(2000)]);
}

#[tokio::test]
async fn fault_always_applies_until_cleared() {
    let s = start().await;
    s.ctl
        .inject_fault("*", FaultKind::UnknownCode, Times::Always)
        .await
        .unwrap();
    assert_eq!(futures_codes(&s, 3).await, vec![json!(9999); 3]);
    s.ctl.clear_faults().await.unwrap();
    assert_eq!(futures_codes(&s, 1).await, vec![json!(2000)]);
}

async fn futures_codes(s: &Sim, n: usize) -> Vec<Value> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(s.call("overall-balance", None).await["response_code"].clone());
    }
    out
}

// ---- call log and control ----

#[tokio::test]
async fn counts_per_endpoint_and_per_ref() {
    let s = start().await;
    s.create_ok("INV-1", "1.00").await;
    s.create_ok("INV-1", "1.00").await;
    s.create_ok("INV-2", "1.00").await;
    s.call("overall-balance", None).await;
    let counts = s.ctl.counts().await.unwrap();
    assert_eq!(counts["create-payout-invoice"], 3);
    assert_eq!(s.ctl.count("overall-balance").await.unwrap(), 1);
    assert_eq!(s.ctl.count("check-verification-bank").await.unwrap(), 0);
    assert_eq!(s.ctl.create_calls_for_ref("INV-1").await.unwrap(), 2);
    assert_eq!(s.ctl.create_calls_for_ref("INV-2").await.unwrap(), 1);
}

#[tokio::test]
async fn call_log_keeps_bodies_exact_and_never_the_auth_token() {
    let s = start().await;
    s.create_ok("INV-1", "13.05").await;
    let calls = s.ctl.calls().await.unwrap();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].endpoint, "create-payout-invoice");
    assert!(calls[0].outcome.contains("2000"));
    assert!(
        calls[0]
            .body
            .as_ref()
            .unwrap()
            .get()
            .contains("\"amount\":13.05")
    );
    let all = reqwest::get(format!("{}/__sim/calls", s.sim.base_url()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let secret = s.cfg.auth_token.split('|').nth(2).unwrap();
    assert!(!all.contains(secret));
}

#[tokio::test]
async fn reset_clears_payouts_balance_and_log() {
    let s = start().await;
    s.ctl.set_outcome(Outcome::Pending).await.unwrap();
    s.create_ok("INV-1", "100.00").await;
    s.ctl.reset().await.unwrap();
    assert!(s.ctl.payouts().await.unwrap().is_empty());
    assert!(s.ctl.calls().await.unwrap().is_empty());
    s.create_ok("INV-2", "1.00").await;
    s.wait_status("INV-2", "SUCCESS").await;
    let p = s.ctl.payout("INV-2").await.unwrap().unwrap();
    assert_eq!(p.amount, Decimal::new(100, 2));
}

#[tokio::test]
async fn set_balance_replaces_the_pool_balance() {
    let s = start().await;
    s.ctl.set_balance(Decimal::new(1234, 2)).await.unwrap();
    let text = s.call_text("overall-balance", None).await;
    assert_eq!(raw_data_field(&text, "prefund_balance"), "12.34");
    assert_eq!(s.create("INV-1", "10.35").await["response_code"], 4570);
}
