//! The LeanX payout API client (LEANX.md). One method per endpoint; every answer is read
//! through LeanX's envelope, and every failure is classified by what it means for the money:
//! refused (nothing created), not sent (safe to retry), or unknown (never re-send: ask LeanX).

use std::str::FromStr;
use std::time::Duration;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use super::secret::LeanxCredentials;
use super::signing;
use crate::domain::Amount;

const API_PREFIX: &str = "/api/v1/merchant/";
/// Query-string encoding for `_id`: everything but unreserved characters (`:` included).
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Where LeanX is and how long to wait for it.
#[derive(Debug, Clone)]
pub struct LeanxSettings {
    pub base_url: String,
    pub credentials: LeanxCredentials,
    pub sign_requests: bool,
    pub connect_timeout: Duration,
    /// The whole request, first byte to last; past it the outcome of a send is unknown.
    pub request_timeout: Duration,
}

impl LeanxSettings {
    pub fn new(base_url: impl Into<String>, credentials: LeanxCredentials) -> LeanxSettings {
        LeanxSettings {
            base_url: base_url.into(),
            credentials,
            sign_requests: false,
            connect_timeout: Duration::from_secs(3),
            request_timeout: Duration::from_secs(10),
        }
    }
}

/// What can go wrong talking to LeanX, by what it means for a payout.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LeanxError {
    /// LeanX answered with a non-2000 `response_code`: it did not do what was asked.
    #[error("LeanX refused the request: {response_code} {description}")]
    Refused {
        response_code: String,
        description: String,
    },
    /// The connection failed before any byte of the request left: safe to retry.
    #[error("LeanX could not be reached: {0}")]
    NotSent(String),
    /// The request may have reached LeanX but its answer was lost (timeout, reset, 5xx).
    #[error("LeanX's answer was lost: {0}")]
    OutcomeUnknown(String),
    /// LeanX answered something that is not its envelope.
    #[error("LeanX answered malformed data: {0}")]
    Malformed(String),
}

impl LeanxError {
    /// Whether LeanX may have acted on the request. For `create-payout-invoice` such an error
    /// must never be retried: the payout stays PENDING until LeanX is asked about it.
    pub fn may_have_reached_leanx(&self) -> bool {
        matches!(
            self,
            LeanxError::OutcomeUnknown(_) | LeanxError::Malformed(_)
        )
    }
}

/// The body of `create-payout-invoice`.
#[derive(Debug, Clone)]
pub struct CreatePayoutInvoice<'a> {
    pub virtual_pool_reference: &'a str,
    pub payout_service_id: u32,
    pub amount: Amount,
    pub recipient_name: &'a str,
    pub client_callback_url: &'a str,
    pub third_party_account_no: &'a str,
    pub external_invoice_ref: &'a str,
    pub recipient_reference: &'a str,
}

#[derive(serde::Serialize)]
struct CreatePayoutInvoiceBody<'a> {
    virtual_pool_reference: &'a str,
    payout_service_id: u32,
    /// The exact JSON number, e.g. `13.00`: written from the decimal's text, never a float.
    amount: Box<RawValue>,
    recipient_name: &'a str,
    client_callback_url: &'a str,
    third_party_account_no: &'a str,
    external_invoice_ref: &'a str,
    recipient_reference: &'a str,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AcceptedPayout {
    #[serde(default)]
    pub status: Option<String>,
    pub invoice_no: String,
}

/// `get-payout-transaction-by-id`'s `data`. Fields LeanX's docs list but this service does not
/// use are not kept; unknown ones are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PayoutTransaction {
    #[serde(default)]
    pub payout_invoice_no: Option<String>,
    #[serde(default)]
    pub merchant_invoice_id: Option<String>,
    pub transaction_status: String,
    #[serde(default, deserialize_with = "exact_decimal")]
    pub value: Option<Decimal>,
    #[serde(default, deserialize_with = "exact_decimal")]
    pub transaction_fee: Option<Decimal>,
    #[serde(default)]
    pub updated_at: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
    /// LeanX's error detail for a FAILED payout; its field name is not documented, so the
    /// usual candidates are tried.
    #[serde(
        default,
        alias = "error_description",
        alias = "error_message",
        alias = "error"
    )]
    pub error_detail: Option<serde_json::Value>,
}

impl PayoutTransaction {
    pub fn error_text(&self) -> Option<String> {
        match &self.error_detail {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(s)) if s.is_empty() => None,
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            Some(other) => Some(other.to_string()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PayoutService {
    pub payout_service_id: u32,
    #[serde(default)]
    pub payment_model_reference: Option<String>,
    #[serde(default)]
    pub unique_reference: Option<String>,
    #[serde(default)]
    pub payment_service: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub record_status: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct BankVerification {
    #[serde(rename = "Success")]
    pub success: bool,
    #[serde(rename = "Result", default)]
    pub result: Option<BankVerificationResult>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct BankVerificationResult {
    #[serde(rename = "OrgnThirdPartyBankBICCode", default)]
    pub bank_bic_code: Option<String>,
    #[serde(rename = "OrgnThirdPartyAccountNo", default)]
    pub account_no: Option<String>,
    #[serde(rename = "CreditorName", default)]
    pub creditor_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Balance {
    pub transaction_balance: Decimal,
    pub prefund_balance: Decimal,
}

/// Reads a JSON number (or numeric string) as an exact decimal from its text.
fn exact_decimal<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
    let raw: Option<Box<RawValue>> = Option::deserialize(d)?;
    match raw {
        None => Ok(None),
        Some(raw) if raw.get() == "null" => Ok(None),
        Some(raw) => decimal_from_raw(&raw)
            .map(Some)
            .map_err(serde::de::Error::custom),
    }
}

fn decimal_from_raw(raw: &RawValue) -> Result<Decimal, String> {
    let text = raw.get();
    let text = text.trim_matches('"');
    Decimal::from_str(text)
        .or_else(|_| Decimal::from_scientific(text))
        .map_err(|_| format!("not a decimal number: {text}"))
}

/// LeanX's envelope; `breakdown_errors`, `token` and any other fields are ignored, whatever
/// their type (`""` or `null` both occur).
#[derive(Deserialize)]
struct Envelope {
    response_code: serde_json::Value,
    #[serde(default)]
    description: Option<serde_json::Value>,
    #[serde(default)]
    data: Option<Box<RawValue>>,
}

/// The LeanX payout API.
#[derive(Clone, Debug)]
pub struct LeanxClient {
    http: reqwest::Client,
    settings: LeanxSettings,
}

impl LeanxClient {
    pub fn new(settings: LeanxSettings) -> Result<LeanxClient, LeanxError> {
        let http = reqwest::Client::builder()
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.request_timeout)
            .build()
            .map_err(|e| LeanxError::NotSent(format!("HTTP client set-up failed: {e}")))?;
        Ok(LeanxClient { http, settings })
    }

    pub async fn list_payout_services(&self) -> Result<Vec<PayoutService>, LeanxError> {
        #[derive(Deserialize)]
        struct Data {
            list: List,
        }
        #[derive(Deserialize)]
        struct List {
            data: Vec<Group>,
        }
        #[derive(Deserialize)]
        struct Group {
            #[serde(rename = "SWITCH_PAYOUT_WEBPAY", default)]
            services: Vec<PayoutService>,
        }
        let data: Data = self.call("list-payout-services", None, None).await?;
        Ok(data
            .list
            .data
            .into_iter()
            .flat_map(|g| g.services)
            .collect())
    }

    /// Sends one payout. Never call this twice for one `external_invoice_ref`: on an error for
    /// which [`LeanxError::may_have_reached_leanx`] holds, ask with
    /// [`LeanxClient::get_payout_transaction`] instead.
    pub async fn create_payout(
        &self,
        payout: &CreatePayoutInvoice<'_>,
    ) -> Result<AcceptedPayout, LeanxError> {
        let body = CreatePayoutInvoiceBody {
            virtual_pool_reference: payout.virtual_pool_reference,
            payout_service_id: payout.payout_service_id,
            amount: payout.amount.to_json_number(),
            recipient_name: payout.recipient_name,
            client_callback_url: payout.client_callback_url,
            third_party_account_no: payout.third_party_account_no,
            external_invoice_ref: payout.external_invoice_ref,
            recipient_reference: payout.recipient_reference,
        };
        let body = serde_json::to_vec(&body).map_err(|e| LeanxError::NotSent(e.to_string()))?;
        self.call("create-payout-invoice", None, Some(body)).await
    }

    /// Looks a payout up by LeanX's `invoice_no` or the merchant's `external_invoice_ref`.
    pub async fn get_payout_transaction(&self, id: &str) -> Result<PayoutTransaction, LeanxError> {
        let query = format!("_id={}", utf8_percent_encode(id, QUERY_VALUE));
        self.call("get-payout-transaction-by-id", Some(query), None)
            .await
    }

    pub async fn check_verification_bank(
        &self,
        payout_service_id: u32,
        third_party_account_no: &str,
    ) -> Result<BankVerification, LeanxError> {
        let body = serde_json::json!({
            "payout_service_id": payout_service_id,
            "third_party_account_no": third_party_account_no,
        });
        self.call(
            "check-verification-bank",
            None,
            Some(body.to_string().into_bytes()),
        )
        .await
    }

    pub async fn overall_balance(&self) -> Result<Balance, LeanxError> {
        #[derive(Deserialize)]
        struct Data {
            transaction_balance: TransactionBalance,
            #[serde(deserialize_with = "exact_decimal")]
            prefund_balance: Option<Decimal>,
        }
        #[derive(Deserialize)]
        struct TransactionBalance {
            #[serde(deserialize_with = "exact_decimal")]
            value: Option<Decimal>,
        }
        let data: Data = self.call("overall-balance", None, None).await?;
        Ok(Balance {
            transaction_balance: data.transaction_balance.value.unwrap_or_default(),
            prefund_balance: data.prefund_balance.unwrap_or_default(),
        })
    }

    async fn call<T: DeserializeOwned>(
        &self,
        endpoint: &str,
        query: Option<String>,
        body: Option<Vec<u8>>,
    ) -> Result<T, LeanxError> {
        let path = format!("{API_PREFIX}{endpoint}");
        let url = match &query {
            Some(q) => format!("{}{path}?{q}", self.settings.base_url.trim_end_matches('/')),
            None => format!("{}{path}", self.settings.base_url.trim_end_matches('/')),
        };
        let credentials = &self.settings.credentials;
        let mut request = self
            .http
            .post(&url)
            .header("auth-token", credentials.auth_token.expose())
            .header("content-type", "application/json");
        if self.settings.sign_requests {
            let now = chrono::Utc::now().timestamp();
            let nonce = uuid::Uuid::new_v4().to_string();
            let headers = signing::sign(credentials, "POST", &path, now, &nonce);
            request = request
                .header("x-timestamp", headers.timestamp)
                .header("x-nonce", headers.nonce)
                .header("x-signature", headers.signature);
        }
        if let Some(body) = body {
            request = request.body(body);
        }
        let response = request.send().await.map_err(classify_transport_error)?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(|e| {
            LeanxError::OutcomeUnknown(format!(
                "{endpoint}: reading the answer failed: {}",
                without_url(e)
            ))
        })?;
        if status.is_server_error() {
            return Err(LeanxError::OutcomeUnknown(format!(
                "{endpoint}: HTTP {status}"
            )));
        }
        let envelope: Envelope = serde_json::from_slice(&bytes).map_err(|e| {
            LeanxError::Malformed(format!(
                "{endpoint}: HTTP {status}, not LeanX's envelope: {e}"
            ))
        })?;
        let code = match &envelope.response_code {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        if code != "2000" {
            let description = match envelope.description {
                Some(serde_json::Value::String(s)) => s,
                Some(serde_json::Value::Null) | None => String::new(),
                Some(other) => other.to_string(),
            };
            return Err(LeanxError::Refused {
                response_code: code,
                description,
            });
        }
        let data = envelope
            .data
            .ok_or_else(|| LeanxError::Malformed(format!("{endpoint}: success without data")))?;
        serde_json::from_str(data.get())
            .map_err(|e| LeanxError::Malformed(format!("{endpoint}: unexpected data: {e}")))
    }
}

/// A connection that never opened sent nothing; anything later may have reached LeanX.
fn classify_transport_error(error: reqwest::Error) -> LeanxError {
    if error.is_connect() || error.is_builder() {
        LeanxError::NotSent(without_url(error))
    } else {
        LeanxError::OutcomeUnknown(without_url(error))
    }
}

/// reqwest's messages carry the URL, whose query may hold a payout reference; the error chain
/// is enough to diagnose, and never holds the auth token (a header, never printed).
fn without_url(error: reqwest::Error) -> String {
    let error = error.without_url();
    let mut text = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_with_colons_are_url_encoded() {
        let encoded = utf8_percent_encode("PAYOUT-A9D5:174307-LEANX", QUERY_VALUE).to_string();
        assert_eq!(encoded, "PAYOUT-A9D5%3A174307-LEANX");
    }

    #[test]
    fn transaction_value_is_read_exactly() {
        let data = r#"{"transaction_status":"SUCCESS","value":99999999.99,"transaction_fee":"0.50","extra":1}"#;
        let tx: PayoutTransaction = serde_json::from_str(data).unwrap();
        assert_eq!(tx.value.unwrap().to_string(), "99999999.99");
        assert_eq!(tx.transaction_fee.unwrap().to_string(), "0.50");
    }

    #[test]
    fn only_unknown_outcomes_may_have_reached_leanx() {
        assert!(LeanxError::OutcomeUnknown("t".into()).may_have_reached_leanx());
        assert!(LeanxError::Malformed("m".into()).may_have_reached_leanx());
        assert!(!LeanxError::NotSent("c".into()).may_have_reached_leanx());
        let refused = LeanxError::Refused {
            response_code: "4566".into(),
            description: "FAILED".into(),
        };
        assert!(!refused.may_have_reached_leanx());
    }
}
