//! The LeanX payout API client (LEANX.md). One method per endpoint; every answer is read
//! through LeanX's envelope, and every failure is classified by what it means for the money:
//! refused (nothing created), not sent (safe to retry), or unknown (never re-send: ask LeanX).

use std::str::FromStr;
use std::time::Duration;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::header::HeaderValue;
use reqwest::{RequestBuilder, Url, redirect};
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

    /// The base URL check [`LeanxClient::new`] makes, without building the HTTP client: for
    /// start-up, when the client itself is built on first use.
    pub fn check_base_url(&self) -> Result<(), LeanxError> {
        check_base_url(&self.base_url)
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
    /// LeanX answered something that is not its envelope, or data of a shape this client does
    /// not recognise (never read as an empty or negative answer).
    #[error("LeanX answered malformed data: {0}")]
    Malformed(String),
    /// The configured base URL is unusable: not an absolute http(s) URL, or plain HTTP to a
    /// host that is not loopback (the auth token would cross the network in clear text).
    /// Raised by [`LeanxClient::new`]; nothing was sent.
    #[error("LeanX base URL refused: {0}")]
    InvalidBaseUrl(String),
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

/// Reads a JSON number (or numeric string) as an exact decimal from its text.
pub(super) fn exact_decimal<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Decimal>, D::Error> {
    let raw: Option<Box<RawValue>> = Option::deserialize(d)?;
    match raw {
        None => Ok(None),
        Some(raw) if raw.get() == "null" => Ok(None),
        Some(raw) => decimal_from_raw(&raw)
            .map(Some)
            .map_err(serde::de::Error::custom),
    }
}

pub(super) fn decimal_from_raw(raw: &RawValue) -> Result<Decimal, String> {
    let text = raw.get();
    let text = text.trim_matches('"');
    Decimal::from_str(text)
        .or_else(|_| Decimal::from_scientific(text))
        .map_err(|_| format!("not a decimal number: {text}"))
}

/// LeanX's envelope; `token` and any other fields are ignored, whatever their type (`""` or
/// `null` both occur).
#[derive(Deserialize)]
struct Envelope {
    response_code: serde_json::Value,
    #[serde(default)]
    description: Option<serde_json::Value>,
    #[serde(default)]
    data: Option<Box<RawValue>>,
    #[serde(default)]
    breakdown_errors: Option<serde_json::Value>,
}

/// A failed call, with a refusal's `breakdown_errors` as text (empty when LeanX sent none):
/// [`LeanxError::Refused`] does not carry it, but a caller may need its reason.
pub(super) struct CallFailure {
    pub error: LeanxError,
    pub breakdown: String,
}

impl From<LeanxError> for CallFailure {
    fn from(error: LeanxError) -> CallFailure {
        CallFailure {
            error,
            breakdown: String::new(),
        }
    }
}

/// A JSON string's value, any other JSON's text, nothing for null.
fn text_of(value: Option<serde_json::Value>) -> String {
    match value {
        Some(serde_json::Value::String(s)) => s,
        Some(serde_json::Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

/// The LeanX payout API.
#[derive(Clone, Debug)]
pub struct LeanxClient {
    http: reqwest::Client,
    settings: LeanxSettings,
    /// Built once, marked sensitive so that no `Debug` of a request or header map shows it.
    auth_token: HeaderValue,
}

impl LeanxClient {
    /// Refuses a base URL that would send the auth token in clear text
    /// ([`LeanxError::InvalidBaseUrl`]). Redirects are never followed: one would re-post a
    /// payout and the auth token to wherever it points. TLS over a configuration of its own
    /// (`runtime::https::Tls`'s): for tools and tests; the functions share the process's one
    /// through [`LeanxClient::with_tls`].
    pub fn new(settings: LeanxSettings) -> Result<LeanxClient, LeanxError> {
        LeanxClient::with_tls(settings, &crate::runtime::https::Tls::default().config())
    }

    /// As [`LeanxClient::new`], over a TLS configuration the process already holds (the one the
    /// AWS SDK's requests use too), so that no trust store is loaded for LeanX.
    pub fn with_tls(
        settings: LeanxSettings,
        tls: &rustls::ClientConfig,
    ) -> Result<LeanxClient, LeanxError> {
        let builder = reqwest::Client::builder().tls_backend_preconfigured(tls.clone());
        LeanxClient::build(settings, builder)
    }

    fn build(
        settings: LeanxSettings,
        builder: reqwest::ClientBuilder,
    ) -> Result<LeanxClient, LeanxError> {
        check_base_url(&settings.base_url)?;
        let mut auth_token = HeaderValue::from_str(settings.credentials.auth_token.expose())
            .map_err(|_| {
                LeanxError::NotSent("the auth token is not a valid HTTP header value".into())
            })?;
        auth_token.set_sensitive(true);
        let http = builder
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.request_timeout)
            .redirect(redirect::Policy::none())
            .build()
            .map_err(|e| LeanxError::NotSent(format!("HTTP client set-up failed: {e}")))?;
        Ok(LeanxClient {
            http,
            settings,
            auth_token,
        })
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

    /// The signed POST of one endpoint, not yet sent.
    fn request(
        &self,
        endpoint: &str,
        query: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> Result<RequestBuilder, LeanxError> {
        let path = format!("{API_PREFIX}{endpoint}");
        let base = self.settings.base_url.trim_end_matches('/');
        let url = match query {
            Some(q) => format!("{base}{path}?{q}"),
            None => format!("{base}{path}"),
        };
        let mut request = self
            .http
            .post(&url)
            .header("auth-token", self.auth_token.clone())
            .header("content-type", "application/json");
        if self.settings.sign_requests {
            let now = chrono::Utc::now().timestamp();
            let nonce = uuid::Uuid::new_v4().to_string();
            let headers = signing::sign(&self.settings.credentials, "POST", &path, now, &nonce);
            // Valid for five minutes: as good as the token for a replay within them.
            let mut signature = HeaderValue::from_str(&headers.signature).map_err(|_| {
                LeanxError::NotSent("the request signature is not a header value".into())
            })?;
            signature.set_sensitive(true);
            request = request
                .header("x-timestamp", headers.timestamp)
                .header("x-nonce", headers.nonce)
                .header("x-signature", signature);
        }
        if let Some(body) = body {
            request = request.body(body);
        }
        Ok(request)
    }

    /// One call through LeanX's envelope: `data` of a 2000 answer as `T`, anything else
    /// classified by what it means for the money (see [`LeanxError`]).
    pub(super) async fn call<T: DeserializeOwned>(
        &self,
        endpoint: &str,
        query: Option<String>,
        body: Option<Vec<u8>>,
    ) -> Result<T, LeanxError> {
        self.call_detailed(endpoint, query, body)
            .await
            .map_err(|failure| failure.error)
    }

    /// [`LeanxClient::call`], keeping a refusal's `breakdown_errors`.
    pub(super) async fn call_detailed<T: DeserializeOwned>(
        &self,
        endpoint: &str,
        query: Option<String>,
        body: Option<Vec<u8>>,
    ) -> Result<T, CallFailure> {
        let request = self.request(endpoint, query.as_deref(), body)?;
        let response = request.send().await.map_err(classify_transport_error)?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(|e| {
            LeanxError::OutcomeUnknown(format!(
                "{endpoint}: reading the answer failed: {}",
                without_url(e)
            ))
        })?;
        // A redirect came from a server that got the whole request: whatever it is, it may
        // have acted on it (or forwarded it), so it is never read as "not sent".
        if status.is_redirection() {
            return Err(LeanxError::OutcomeUnknown(format!(
                "{endpoint}: HTTP {status}, a redirect (not followed)"
            ))
            .into());
        }
        if status.is_server_error() {
            return Err(LeanxError::OutcomeUnknown(format!("{endpoint}: HTTP {status}")).into());
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
            return Err(CallFailure {
                error: LeanxError::Refused {
                    response_code: code,
                    description: text_of(envelope.description),
                },
                breakdown: text_of(envelope.breakdown_errors),
            });
        }
        let data = envelope
            .data
            .ok_or_else(|| LeanxError::Malformed(format!("{endpoint}: success without data")))?;
        serde_json::from_str(data.get())
            .map_err(|e| LeanxError::Malformed(format!("{endpoint}: unexpected data: {e}")).into())
    }
}

/// HTTPS, or plain HTTP only to a loopback host (the simulator, local development).
fn check_base_url(base_url: &str) -> Result<(), LeanxError> {
    let url = Url::parse(base_url)
        .map_err(|e| LeanxError::InvalidBaseUrl(format!("not an absolute URL: {e}")))?;
    let host = url
        .host_str()
        .ok_or_else(|| LeanxError::InvalidBaseUrl("no host".into()))?;
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(host) => Ok(()),
        "http" => Err(LeanxError::InvalidBaseUrl(format!(
            "plain http to {host}: HTTPS is required except for loopback hosts"
        ))),
        other => Err(LeanxError::InvalidBaseUrl(format!(
            "scheme {other}: only https (or http to a loopback host)"
        ))),
    }
}

/// 127.0.0.0/8, ::1 and `localhost` itself (not its subdomains: those resolve through DNS).
/// `host` is as the URL parser normalised it: lower case, IPv6 in brackets.
fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => host == "localhost",
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
mod tests;
