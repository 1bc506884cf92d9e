//! The `/__sim/` scenario-control API: its wire types (shared by the server and the client in
//! this crate only) and a small typed client for other crates' tests.

mod client;

pub use client::SimControl;

use chrono::NaiveDateTime;
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

/// What the simulator does with the next accepted `create-payout-invoice`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Outcome {
    /// Settles SUCCESS after the settle delay and posts the callback.
    Success,
    /// Settles FAILED after the settle delay (balance refunded, no callback).
    Failed {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error_description: Option<String>,
    },
    /// Stays PENDING until settled through `/__sim/settle`.
    Pending,
    /// Becomes STATUS_PENDING_APPROVAL and stays so until settled through `/__sim/settle`.
    StatusPendingApproval,
    /// After the settle delay, `transaction_status` becomes this string as is (e.g.
    /// `REVERSED`, `Success`): no callback, no refund. For clients meeting a status they do
    /// not know.
    RawStatus { transaction_status: String },
    /// The create itself is refused with this code; nothing is recorded.
    Refuse {
        response_code: i64,
        description: String,
    },
}

/// A fault on a LeanX endpoint, consumed by the next matching calls.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum FaultKind {
    /// Wait `ms`, then handle the call normally.
    #[serde(rename = "latency")]
    Latency { ms: u64 },
    /// Answer 500 without handling the call (LeanX never got it).
    #[serde(rename = "http_500_before")]
    Http500Before,
    /// Handle the call (a create is recorded), then answer 500 (the answer is lost).
    #[serde(rename = "http_500_after")]
    Http500After,
    /// Handle the call, then never answer (connection held open).
    #[serde(rename = "hang")]
    Hang,
    /// Close the connection without a response, before handling the call.
    #[serde(rename = "drop_before")]
    DropBefore,
    /// Handle the call, then close the connection without a response.
    #[serde(rename = "drop_after")]
    DropAfter,
    /// Handle the call, then answer 200 with a body that is not JSON.
    #[serde(rename = "malformed_json")]
    MalformedJson,
    /// Answer an envelope with response_code 9999 without handling the call.
    #[serde(rename = "unknown_code")]
    UnknownCode,
    /// Answer an envelope with this code and description without handling the call (e.g.
    /// 4290 `TOO_MANY_REQUESTS`, 5000 `MAINTENANCE`).
    #[serde(rename = "refuse")]
    Refuse {
        response_code: i64,
        description: String,
    },
}

/// How many calls a fault applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Times {
    /// The next N matching calls.
    Count(u32),
    /// Every matching call until the faults are cleared.
    Always,
}

// On the wire: a number, or the string "always".
impl Serialize for Times {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Times::Count(n) => s.serialize_u32(*n),
            Times::Always => s.serialize_str("always"),
        }
    }
}

impl<'de> Deserialize<'de> for Times {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Wire {
            N(u32),
            S(String),
        }
        match Wire::deserialize(d)? {
            Wire::N(n) => Ok(Times::Count(n)),
            Wire::S(s) if s == "always" => Ok(Times::Always),
            Wire::S(s) => Err(serde::de::Error::custom(format!(
                "times must be a number or \"always\", not {s:?}"
            ))),
        }
    }
}

/// Body of `POST /__sim/faults`. `endpoint` is a LeanX endpoint name or `*` for any.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultSpec {
    pub endpoint: String,
    #[serde(flatten)]
    pub kind: FaultKind,
    /// Absent means 1.
    #[serde(default = "one_time")]
    pub times: Times,
}

fn one_time() -> Times {
    Times::Count(1)
}

/// Faults applied to every callback until changed or reset.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallbackFaults {
    /// Deliveries per settled payout (1 = normal; 3 = the same callback three times).
    #[serde(default = "one")]
    pub duplicate: u32,
    /// Wait before each delivery.
    #[serde(default)]
    pub delay_ms: u64,
    /// Never send callbacks.
    #[serde(default)]
    pub drop: bool,
}

fn one() -> u32 {
    1
}

impl Default for CallbackFaults {
    fn default() -> Self {
        CallbackFaults {
            duplicate: 1,
            delay_ms: 0,
            drop: false,
        }
    }
}

/// One entry of the call log: a LeanX request received, or a callback delivery attempt.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CallRecord {
    pub seq: u64,
    pub at: NaiveDateTime,
    /// `request` or `callback`.
    pub kind: String,
    /// LeanX endpoint name (`create-payout-invoice`, ...); `callback` for deliveries.
    pub endpoint: String,
    #[serde(default)]
    pub query: Option<String>,
    /// The request (or callback) body as received; non-JSON bodies as a JSON string.
    /// Kept raw so amounts stay exact. Headers (and so the auth token) are never stored.
    #[serde(default)]
    pub body: Option<Box<RawValue>>,
    /// `pending` while in flight, then e.g. `answered 2000`, `refused 4566`,
    /// `fault http_500_after`, `delivered 200`, `failed: ...`.
    pub outcome: String,
    #[serde(default)]
    pub response_code: Option<i64>,
    #[serde(default)]
    pub fault: Option<String>,
    #[serde(default)]
    pub external_invoice_ref: Option<String>,
    #[serde(default)]
    pub invoice_no: Option<String>,
    /// Callback deliveries: 1-based attempt number and the receiver's HTTP status.
    #[serde(default)]
    pub attempt: Option<u32>,
    #[serde(default)]
    pub http_status: Option<u16>,
}

impl CallRecord {
    /// The body as a `serde_json::Value` (numbers become f64: use `body` for exact amounts).
    pub fn body_json(&self) -> Option<serde_json::Value> {
        self.body
            .as_ref()
            .and_then(|b| serde_json::from_str(b.get()).ok())
    }
}

/// A payout as the simulator holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimPayout {
    pub id: u64,
    pub invoice_no: String,
    pub external_invoice_ref: Option<String>,
    /// Exact; a string on the control API.
    pub amount: Decimal,
    pub payout_service_id: i64,
    pub recipient_name: String,
    pub third_party_account_no: String,
    pub recipient_reference: String,
    pub client_callback_url: String,
    pub virtual_pool_reference: String,
    /// `PENDING`, `STATUS_PENDING_APPROVAL`, `SUCCESS` or `FAILED`.
    pub transaction_status: String,
    pub error_description: Option<String>,
    pub bank_reference_no: Option<String>,
    /// The scenario outcome chosen at create time.
    pub outcome: Outcome,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// Body of `POST /__sim/settle`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SettleRequest {
    /// invoice_no or external_invoice_ref.
    pub id: String,
    /// `SUCCESS` or `FAILED`.
    pub status: String,
    #[serde(default)]
    pub error_description: Option<String>,
}

/// Per-ref counters of `GET /__sim/counts/by-ref`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct RefCounts {
    pub calls: u64,
    pub payouts: u64,
}

/// How `check-verification-bank` answers for one account (`POST /__sim/accounts/{account}`).
///
/// On the wire: `{"holder_name":"SITI BINTI ALI","bic":"MBBEMYKL"}` (`"answer":"HOLDER"` may
/// be given; `bic` defaults to the bank's), `{"answer":"NOT_FOUND"}`, or
/// `{"answer":"REFUSE","response_code":4404,"description":"ACCOUNT_NOT_FOUND"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "answer", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AccountScript {
    /// `Success: true` with this `CreditorName` (as given) and BIC.
    Holder {
        holder_name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bic: Option<String>,
    },
    /// `Success: false, Result: null`: the bank holds no such account.
    NotFound,
    /// A non-2000 envelope whose `breakdown_errors` names the account.
    Refuse {
        response_code: i64,
        description: String,
    },
}

impl<'de> Deserialize<'de> for AccountScript {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Wire {
            #[serde(default)]
            answer: Option<String>,
            #[serde(default)]
            holder_name: Option<String>,
            #[serde(default)]
            bic: Option<String>,
            #[serde(default)]
            response_code: Option<i64>,
            #[serde(default)]
            description: Option<String>,
        }
        use serde::de::Error;
        let w = Wire::deserialize(d)?;
        match w.answer.as_deref() {
            None | Some("HOLDER") => Ok(AccountScript::Holder {
                holder_name: w
                    .holder_name
                    .filter(|n| !n.trim().is_empty())
                    .ok_or_else(|| D::Error::custom("holder_name is required"))?,
                bic: w.bic,
            }),
            Some("NOT_FOUND") => Ok(AccountScript::NotFound),
            Some("REFUSE") => match w.response_code {
                Some(code) if code != 2000 => Ok(AccountScript::Refuse {
                    response_code: code,
                    description: w
                        .description
                        .unwrap_or_else(|| "ACCOUNT_NOT_FOUND".to_string()),
                }),
                _ => Err(D::Error::custom(
                    "REFUSE needs a response_code other than 2000",
                )),
            },
            Some(other) => Err(D::Error::custom(format!(
                "answer must be HOLDER, NOT_FOUND or REFUSE, not {other:?}"
            ))),
        }
    }
}
