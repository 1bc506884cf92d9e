//! The LeanX endpoints: auth, validation and the `data` shapes of LEANX.md, answered in
//! LeanX's envelope. Pure request -> answer logic; transport and faults live in `server`.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use hyper::{HeaderMap, Method};
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::{Value, json, value::RawValue};
use sha2::Sha256;

use crate::config::merchant_uuid_of;
use crate::control::{Outcome, SimPayout};
use crate::state::{Shared, now};

pub(crate) const PREFIX: &str = "/api/v1/merchant/";

/// Refusal codes. LeanX's table is not public: apart from 4566 and 5699 these are the
/// simulator's own choices (docs/simulator.md lists them).
pub(crate) mod code {
    pub const SUCCESS: i64 = 2000;
    pub const FAILED: i64 = 4566;
    pub const INVALID_POOL: i64 = 4568;
    pub const INVALID_SERVICE: i64 = 4569;
    pub const INSUFFICIENT_POOL: i64 = 4570;
    pub const FORBIDDEN: i64 = 4003;
    pub const NOT_FOUND: i64 = 4004;
    pub const INVALID_UUID: i64 = 5699;
    pub const INVALID_TOKEN: i64 = 5698;
    pub const INVALID_SIGNATURE: i64 = 5697;
    pub const SIGNATURE_EXPIRED: i64 = 5696;
    pub const UNKNOWN: i64 = 9999;
}

/// The pool must keep this much after a payout.
const POOL_MINIMUM: Decimal = Decimal::from_parts(200, 0, 0, false, 2);
/// Decimal(10,2): 99,999,999.99 = 9,999,999,999 hundredths = 2 * 2^32 + 1,410,065,407.
const MAX_AMOUNT: Decimal = Decimal::from_parts(1_410_065_407, 2, 0, false, 2);
const SIGNATURE_WINDOW_SECS: i64 = 300;

/// (payout_service_id, name, BIC, payment_service)
const SERVICES: &[(i64, &str, &str, &str)] = &[
    (1, "Maybank", "MBBEMYKL", "DUITNOW_ACCOUNT"),
    (2, "CIMB Bank", "CIBBMYKL", "DUITNOW_ACCOUNT"),
    (3, "Public Bank", "PBBEMYKL", "DUITNOW_ACCOUNT"),
    (4, "RHB Bank", "RHBBMYKL", "DUITNOW_ACCOUNT"),
    (5, "Hong Leong Bank", "HLBBMYKL", "DUITNOW_ACCOUNT"),
    (6, "AmBank", "ARBKMYKL", "DUITNOW_ACCOUNT"),
    (7, "Bank Islam", "BIMBMYKL", "DUITNOW_ACCOUNT"),
    (8, "Bank Rakyat", "BKRMMYKL", "DUITNOW_ACCOUNT"),
    (9, "Bank Simpanan Nasional", "BSNAMYK1", "DUITNOW_ACCOUNT"),
    (10, "Affin Bank", "PHBMMYKL", "DUITNOW_ACCOUNT"),
    (11, "Alliance Bank", "MFBBMYKL", "DUITNOW_ACCOUNT"),
    (12, "OCBC Bank", "OCBCMYKL", "DUITNOW_ACCOUNT"),
    (13, "HSBC Bank", "HBMBMYKL", "DUITNOW_ACCOUNT"),
    (14, "UOB Bank", "UOVBMYKL", "DUITNOW_ACCOUNT"),
    (15, "Standard Chartered", "SCBLMYKX", "DUITNOW_ACCOUNT"),
    (16, "Bank Muamalat", "BMMBMYKL", "DUITNOW_ACCOUNT"),
    (17, "Agrobank", "AGOBMYK1", "DUITNOW_ACCOUNT"),
    (18, "Al Rajhi Bank", "RJHIMYKL", "DUITNOW_ACCOUNT"),
    (19, "MBSB Bank", "AFBQMYKL", "DUITNOW_ACCOUNT"),
    (20, "Kuwait Finance House", "KFHOMYKL", "DUITNOW_ACCOUNT"),
    (21, "Citibank", "CITIMYKL", "DUITNOW_ACCOUNT"),
    (22, "Bank of China", "BKCHMYKL", "DUITNOW_ACCOUNT"),
    (23, "Touch 'n Go eWallet", "TNGDMYNB", "EWALLET"),
    (24, "Boost", "BOOSMYK2", "EWALLET"),
    (25, "GrabPay", "GRABMYK2", "EWALLET"),
    (26, "ShopeePay", "SHPEMYK2", "EWALLET"),
    (27, "MAE by Maybank", "MBBEMYKL", "EWALLET"),
    (28, "BigPay", "BIGPMYK2", "EWALLET"),
    (29, "AEON Bank", "AEONMYK2", "DUITNOW_ACCOUNT"),
    (30, "GXBank", "GXSPMYKL", "DUITNOW_ACCOUNT"),
];

fn service(id: i64) -> Option<&'static (i64, &'static str, &'static str, &'static str)> {
    SERVICES.iter().find(|s| s.0 == id)
}

pub(crate) struct Refusal {
    pub code: i64,
    pub description: String,
    pub breakdown: Option<String>,
}

fn refuse(code: i64, description: &str) -> Refusal {
    Refusal {
        code,
        description: description.to_string(),
        breakdown: None,
    }
}

/// 4566 FAILED with the reason in `breakdown_errors`.
fn failed(why: impl Into<String>) -> Refusal {
    Refusal {
        code: code::FAILED,
        description: "FAILED".into(),
        breakdown: Some(why.into()),
    }
}

/// A created payout whose scenario outcome must be applied once the answer is out.
pub(crate) struct Created {
    pub invoice_no: String,
    pub outcome: Outcome,
    pub delay: Duration,
}

pub(crate) struct Processed {
    pub code: i64,
    pub body: Vec<u8>,
    pub created: Option<Created>,
}

/// An exact JSON number with two decimals (amounts and balances).
pub(crate) fn money(d: Decimal) -> Box<RawValue> {
    let mut d = d;
    d.rescale(2);
    RawValue::from_string(d.to_string()).unwrap_or_else(|_| RawValue::NULL.to_owned())
}

fn micros(t: chrono::NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
}

#[derive(Serialize)]
struct Envelope {
    response_code: i64,
    description: String,
    app_version: &'static str,
    talk_to_server_before: String,
    data: Box<RawValue>,
    breakdown_errors: Value,
    token: Value,
    // Not in LeanX's docs: clients must ignore fields they do not know.
    request_id: String,
}

pub(crate) fn envelope(
    shared: &Shared,
    code: i64,
    description: &str,
    data: Box<RawValue>,
    breakdown: Option<String>,
) -> Vec<u8> {
    let seq = {
        let mut inner = shared.lock();
        inner.envelope_seq += 1;
        inner.envelope_seq
    };
    // Real LeanX sends both "" and null here; alternate so clients must accept both.
    let (empty_breakdown, token) = if seq % 2 == 0 {
        (json!(""), Value::Null)
    } else {
        (Value::Null, json!(""))
    };
    let env = Envelope {
        response_code: code,
        description: description.to_string(),
        app_version: "/api/v1",
        talk_to_server_before: micros(now()),
        data,
        breakdown_errors: breakdown.map_or(empty_breakdown, Value::String),
        token,
        request_id: uuid::Uuid::new_v4().to_string(),
    };
    serde_json::to_vec(&env).unwrap_or_default()
}

fn raw(v: &impl Serialize) -> Box<RawValue> {
    serde_json::value::to_raw_value(v).unwrap_or_else(|_| RawValue::NULL.to_owned())
}

/// Handles one call to `endpoint` (the path after `/api/v1/merchant/`).
pub(crate) fn process(
    shared: &Arc<Shared>,
    method: &Method,
    endpoint: &str,
    headers: &HeaderMap,
    query: Option<&str>,
    body: &[u8],
) -> Processed {
    let result = route(shared, method, endpoint, headers, query, body);
    match result {
        Ok((data, created)) => Processed {
            code: code::SUCCESS,
            body: envelope(shared, code::SUCCESS, "SUCCESS", data, None),
            created,
        },
        Err(r) => Processed {
            code: r.code,
            body: envelope(
                shared,
                r.code,
                &r.description,
                RawValue::NULL.to_owned(),
                r.breakdown,
            ),
            created: None,
        },
    }
}

type Answer = Result<(Box<RawValue>, Option<Created>), Refusal>;

fn route(
    shared: &Arc<Shared>,
    method: &Method,
    endpoint: &str,
    headers: &HeaderMap,
    query: Option<&str>,
    body: &[u8],
) -> Answer {
    const KNOWN: [&str; 5] = [
        "list-payout-services",
        "create-payout-invoice",
        "get-payout-transaction-by-id",
        "check-verification-bank",
        "overall-balance",
    ];
    if method != Method::POST || !KNOWN.contains(&endpoint) {
        return Err(refuse(code::FORBIDDEN, "Requested endpoint is forbidden"));
    }
    auth(shared, method, &format!("{PREFIX}{endpoint}"), headers)?;
    match endpoint {
        "list-payout-services" => Ok((list_services(), None)),
        "create-payout-invoice" => create(shared, body),
        "get-payout-transaction-by-id" => get_transaction(shared, query).map(|d| (d, None)),
        "check-verification-bank" => verify_bank(body).map(|d| (d, None)),
        _ => Ok((balance(shared), None)),
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn auth(shared: &Shared, method: &Method, path: &str, headers: &HeaderMap) -> Result<(), Refusal> {
    let cfg = &shared.config;
    let token = header(headers, "auth-token").unwrap_or("");
    if token != cfg.auth_token {
        return Err(match merchant_uuid_of(token) {
            Some(uuid) if uuid != cfg.merchant_uuid() => refuse(code::INVALID_UUID, "INVALID_UUID"),
            _ => refuse(code::INVALID_TOKEN, "INVALID_TOKEN"),
        });
    }
    if !cfg.require_signature {
        return Ok(());
    }
    let (Some(ts), Some(nonce), Some(sig)) = (
        header(headers, "x-timestamp"),
        header(headers, "x-nonce"),
        header(headers, "x-signature"),
    ) else {
        return Err(refuse(code::INVALID_SIGNATURE, "INVALID_SIGNATURE"));
    };
    let Ok(ts_secs) = ts.parse::<i64>() else {
        return Err(refuse(code::INVALID_SIGNATURE, "INVALID_SIGNATURE"));
    };
    if (chrono::Utc::now().timestamp() - ts_secs).abs() > SIGNATURE_WINDOW_SECS {
        return Err(refuse(code::SIGNATURE_EXPIRED, "SIGNATURE_EXPIRED"));
    }
    if nonce.is_empty() || sig != signature(cfg, method.as_str(), path, ts, nonce) {
        return Err(refuse(code::INVALID_SIGNATURE, "INVALID_SIGNATURE"));
    }
    Ok(())
}

/// Lowercase hex HMAC-SHA256 of `METHOD|UUID|URL_PATH|TIMESTAMP|AUTH_TOKEN|NONCE`.
fn signature(cfg: &crate::SimConfig, method: &str, path: &str, ts: &str, nonce: &str) -> String {
    let msg = format!(
        "{method}|{}|{path}|{ts}|{}|{nonce}",
        cfg.merchant_uuid(),
        cfg.auth_token
    );
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(cfg.hash_key.as_bytes()) else {
        return String::new();
    };
    mac.update(msg.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

fn list_services() -> Box<RawValue> {
    let items: Vec<Value> = SERVICES
        .iter()
        .map(|(id, name, bic, kind)| {
            json!({
                "payout_service_id": id,
                "payment_model_reference": "B2C",
                "unique_reference": format!("SWITCH_PAYOUT_WEBPAY_{id:03}"),
                "payment_service": kind,
                "name": name,
                "bic_code": bic,
                "record_status": "ACTIVE",
            })
        })
        .collect();
    raw(
        &json!({ "list": { "data": [ { "SWITCH_PAYOUT_WEBPAY": items } ], "total": SERVICES.len() } }),
    )
}

type Fields = BTreeMap<String, Box<RawValue>>;

fn fields(body: &[u8]) -> Result<Fields, Refusal> {
    serde_json::from_slice(body).map_err(|_| failed("body must be a JSON object"))
}

/// A present, non-empty JSON string.
fn req_str(f: &Fields, key: &str) -> Result<String, Refusal> {
    opt_str(f, key)?
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| failed(format!("{key} is required")))
}

fn opt_str(f: &Fields, key: &str) -> Result<Option<String>, Refusal> {
    match f.get(key) {
        None => Ok(None),
        Some(r) if r.get() == "null" => Ok(None),
        Some(r) => serde_json::from_str::<String>(r.get())
            .map(Some)
            .map_err(|_| failed(format!("{key} must be a string"))),
    }
}

/// A JSON integer; a string such as `"1"` is refused, as LeanX does.
fn req_int(f: &Fields, key: &str) -> Result<i64, Refusal> {
    let r = f
        .get(key)
        .ok_or_else(|| failed(format!("{key} is required")))?;
    r.get()
        .parse::<i64>()
        .map_err(|_| failed(format!("{key} must be a number")))
}

/// The amount from the raw JSON number text, never through a float.
fn req_amount(f: &Fields) -> Result<Decimal, Refusal> {
    let r = f
        .get("amount")
        .ok_or_else(|| failed("amount is required"))?;
    let text = r.get();
    if !text.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
        return Err(failed("amount must be a number"));
    }
    let parsed = if text.contains(['e', 'E']) {
        Decimal::from_scientific(text)
    } else {
        Decimal::from_str(text)
    };
    let amount = parsed.map_err(|_| failed("amount is out of range"))?;
    if amount <= Decimal::ZERO || amount > MAX_AMOUNT {
        return Err(failed("amount must be > 0 and at most 99999999.99"));
    }
    if amount.normalize().scale() > 2 {
        return Err(failed("amount must have at most 2 decimal places"));
    }
    let mut amount = amount;
    amount.rescale(2);
    Ok(amount)
}

/// `PAYOUT-A9D5:174307-LEANX`: four hex digits, the time of day, a fixed suffix.
fn invoice_no(existing: &[SimPayout]) -> String {
    loop {
        let r = uuid::Uuid::new_v4().as_bytes()[0..2].to_vec();
        let candidate = format!(
            "PAYOUT-{:02X}{:02X}:{}-LEANX",
            r[0],
            r[1],
            now().format("%H%M%S")
        );
        if !existing.iter().any(|p| p.invoice_no == candidate) {
            return candidate;
        }
    }
}

fn create(shared: &Arc<Shared>, body: &[u8]) -> Answer {
    let f = fields(body)?;
    let pool = req_str(&f, "virtual_pool_reference")?;
    let service_id = req_int(&f, "payout_service_id")?;
    let amount = req_amount(&f)?;
    let recipient_name = req_str(&f, "recipient_name")?;
    let client_callback_url = req_str(&f, "client_callback_url")?;
    let account = req_str(&f, "third_party_account_no")?;
    let recipient_reference = req_str(&f, "recipient_reference")?;
    let external_invoice_ref = opt_str(&f, "external_invoice_ref")?;
    if pool != shared.config.virtual_pool_reference {
        return Err(refuse(code::INVALID_POOL, "INVALID_VIRTUAL_POOL_REFERENCE"));
    }
    if service(service_id).is_none() {
        return Err(refuse(code::INVALID_SERVICE, "INVALID_PAYOUT_SERVICE"));
    }

    let mut inner = shared.lock();
    let outcome = inner
        .account_outcomes
        .get(&account)
        .unwrap_or(&inner.default_outcome)
        .clone();
    if let Outcome::Refuse {
        response_code,
        description,
    } = &outcome
    {
        return Err(refuse(*response_code, description));
    }
    if inner.balance - amount < POOL_MINIMUM {
        return Err(Refusal {
            code: code::INSUFFICIENT_POOL,
            description: "INSUFFICIENT_POOL_BALANCE".into(),
            breakdown: Some("the pool must keep at least RM 2.00 after the payout".into()),
        });
    }
    let at = now();
    let payout = SimPayout {
        id: inner.next_id,
        invoice_no: invoice_no(&inner.payouts),
        external_invoice_ref,
        amount,
        payout_service_id: service_id,
        recipient_name,
        third_party_account_no: account,
        recipient_reference,
        client_callback_url,
        virtual_pool_reference: pool,
        transaction_status: "PENDING".into(),
        error_description: None,
        bank_reference_no: None,
        outcome: outcome.clone(),
        created_at: at,
        updated_at: at,
    };
    inner.next_id += 1;
    inner.balance -= amount;
    let invoice = payout.invoice_no.clone();
    inner.payouts.push(payout);
    let delay = inner.settle_delay;
    drop(inner);
    tracing::info!(invoice_no = %invoice, "payout created");
    Ok((
        raw(&json!({ "status": "SUCCESS", "invoice_no": invoice })),
        Some(Created {
            invoice_no: invoice,
            outcome,
            delay,
        }),
    ))
}

/// The `_id` query parameter, percent-decoded.
pub(crate) fn query_id(query: Option<&str>) -> Option<String> {
    query?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == "_id").then(|| {
            percent_encoding::percent_decode_str(&v.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned()
        })
    })
}

#[derive(Serialize)]
struct TransactionData {
    payout_invoice_no: String,
    merchant_invoice_id: Option<String>,
    id: u64,
    payout_account_number: String,
    transaction_fee: Box<RawValue>,
    account_id: u64,
    record_status: &'static str,
    updated_at: String,
    switch_invoice_id: String,
    transaction_invoice_no: String,
    transaction_status: String,
    value: Box<RawValue>,
    switch_transaction_fee: Box<RawValue>,
    api_key: &'static str,
    created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_description: Option<String>,
    // Not in LEANX.md's list: clients must ignore fields they do not know.
    payout_service_id: i64,
    bank_reference_no: Option<String>,
}

fn get_transaction(shared: &Shared, query: Option<&str>) -> Result<Box<RawValue>, Refusal> {
    let id = query_id(query).ok_or_else(|| failed("_id is required"))?;
    let mut inner = shared.lock();
    let p = inner
        .find_mut(&id)
        .ok_or_else(|| refuse(code::NOT_FOUND, "TRANSACTION_NOT_FOUND"))?;
    let data = TransactionData {
        payout_invoice_no: p.invoice_no.clone(),
        merchant_invoice_id: p.external_invoice_ref.clone(),
        id: p.id,
        payout_account_number: p.third_party_account_no.clone(),
        transaction_fee: money(Decimal::ZERO),
        account_id: 1001,
        record_status: "ACTIVE",
        updated_at: p.updated_at.format("%Y-%m-%dT%H:%M:%S").to_string(),
        switch_invoice_id: format!("SW{:010}", p.id),
        transaction_invoice_no: format!("TXN-{}", p.invoice_no),
        transaction_status: p.transaction_status.clone(),
        value: money(p.amount),
        switch_transaction_fee: money(Decimal::ZERO),
        api_key: "00000000-5151-4000-8000-000000000001",
        created_at: micros(p.created_at),
        error_description: p.error_description.clone(),
        payout_service_id: p.payout_service_id,
        bank_reference_no: p.bank_reference_no.clone(),
    };
    Ok(raw(&data))
}

fn verify_bank(body: &[u8]) -> Result<Box<RawValue>, Refusal> {
    let f = fields(body)?;
    let service_id = req_int(&f, "payout_service_id")?;
    let account = req_str(&f, "third_party_account_no")?;
    let Some((_, _, bic, _)) = service(service_id) else {
        return Err(refuse(code::INVALID_SERVICE, "INVALID_PAYOUT_SERVICE"));
    };
    if !(5..=34).contains(&account.len()) || !account.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(raw(&json!({ "Success": false, "Result": null })));
    }
    let last4 = &account[account.len() - 4..];
    Ok(raw(&json!({
        "Success": true,
        "Result": {
            "OrgnThirdPartyBankBICCode": bic,
            "OrgnThirdPartyAccountNo": account,
            "CreditorName": format!("SIM RECIPIENT {last4}"),
        }
    })))
}

#[derive(Serialize)]
struct BalanceData {
    transaction_balance: TransactionBalance,
    prefund_balance: Box<RawValue>,
    total_transaction_as_of_today: usize,
}

#[derive(Serialize)]
struct TransactionBalance {
    value: Box<RawValue>,
    currency: &'static str,
}

fn balance(shared: &Shared) -> Box<RawValue> {
    let inner = shared.lock();
    let today = now().date();
    let todays: Vec<&SimPayout> = inner
        .payouts
        .iter()
        .filter(|p| p.created_at.date() == today)
        .collect();
    let succeeded: Decimal = todays
        .iter()
        .filter(|p| p.transaction_status == "SUCCESS")
        .map(|p| p.amount)
        .sum();
    raw(&BalanceData {
        transaction_balance: TransactionBalance {
            value: money(succeeded),
            currency: "MYR",
        },
        prefund_balance: money(inner.balance),
        total_transaction_as_of_today: todays.len(),
    })
}

/// external_invoice_ref of a create body, for the per-ref counts.
pub(crate) fn external_ref(body: &[u8]) -> Option<String> {
    opt_str(&fields(body).ok()?, "external_invoice_ref").ok()?
}
