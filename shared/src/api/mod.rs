//! What clients see: the payout resource, and every use case's outcome and error mapped to
//! HTTP, in one place (`responses.rs` maps outcomes; this file the resource and the errors).

pub mod batches;
pub mod merchant;
pub mod openapi;
pub mod responses;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::{
    Attention, Failure, ItemError, NameMatch, NameVerdict, Payout, PayoutStatus, ValidationError,
};
use crate::store::StoreError;
use crate::usecases::QueueError;

/// API.md's payout resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(as = Payout)]
pub struct PayoutView {
    #[schema(pattern = r"^[A-Za-z0-9_.:-]{1,64}$", example = "INV-2026-0001")]
    pub external_invoice_ref: String,
    pub status: PayoutStatus,
    /// Always exactly two decimals.
    #[schema(pattern = r"^[0-9]+\.[0-9]{2}$", example = "13.00")]
    pub amount: String,
    #[schema(value_type = String, pattern = "^MYR$", example = "MYR")]
    pub currency: &'static str,
    #[schema(format = Int64, minimum = 1, maximum = 4294967295_u64)]
    pub payout_service_id: u32,
    pub recipient_name: String,
    pub third_party_account_no: String,
    pub recipient_reference: String,
    /// LeanX's invoice number, once LeanX accepted the payout.
    pub invoice_no: Option<String>,
    pub failure: Option<Failure>,
    /// Set when LeanX contradicted the payout's final status: an operator must look.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attention: Option<AttentionView>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

/// `{ "code": "contradicted_by_leanx", "reported": "SUCCESS", "at": "…" }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(as = Attention)]
pub struct AttentionView {
    pub code: String,
    pub reported: String,
    #[schema(format = DateTime)]
    pub at: String,
}

/// `GET /payouts`: a page of payouts, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct PayoutList {
    pub payouts: Vec<PayoutView>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// Every error body: `{ "error": { "code", "message", "field"? } }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ErrorDetail {
    pub code: ErrorCode,
    /// For people; never a secret.
    pub message: String,
    /// The field or query parameter at fault, where one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// `recipient_mismatch` only: who holds the account, as LeanX names them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_holder_name: Option<String>,
    /// `recipient_mismatch` only: how well that name matches `recipient_name`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name_match: Option<NameVerdict>,
    /// `recipient_mismatch` only: the match score, 0.00-1.00.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(pattern = r"^[01]\.[0-9]{2}$")]
    pub name_score: Option<String>,
    /// `POST /payout-batches` only: every refused item (`field` is then `items`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub items: Option<Vec<ItemError>>,
}

/// API.md's error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    InvalidRequest,
    PayloadTooLarge,
    IdempotencyConflict,
    RequestInProgress,
    NotFound,
    Unauthorized,
    AccountNotFound,
    RecipientMismatch,
    ServiceUnavailable,
}

impl From<&Attention> for AttentionView {
    fn from(a: &Attention) -> Self {
        AttentionView {
            code: a.code.clone(),
            reported: a.reported.clone(),
            at: millis(a.at),
        }
    }
}

fn millis(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

impl From<&Payout> for PayoutView {
    fn from(p: &Payout) -> Self {
        PayoutView {
            external_invoice_ref: p.external_invoice_ref.to_string(),
            status: p.status,
            amount: p.amount.to_client_string(),
            currency: "MYR",
            payout_service_id: p.payout_service_id,
            recipient_name: p.recipient_name.clone(),
            third_party_account_no: p.third_party_account_no.clone(),
            recipient_reference: p.recipient_reference.clone(),
            invoice_no: p.invoice_no.clone(),
            failure: p.failure.clone(),
            attention: p.attention.as_ref().map(AttentionView::from),
            created_at: millis(p.created_at),
            updated_at: millis(p.updated_at),
        }
    }
}

/// Every refusal the service makes, with its HTTP status and API.md error code.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    InvalidRequest(ValidationError),
    #[error("body must be at most 16 KiB")]
    PayloadTooLarge,
    #[error("body must be at most 6 MB")]
    BatchTooLarge,
    /// A batch with invalid items: every one listed; nothing recorded.
    #[error("{} of the batch's items are invalid; nothing was recorded", .0.len())]
    BatchItemsInvalid(Vec<ItemError>),
    /// Items whose refs exist as other payouts (another body, or another batch).
    #[error("{} of the batch's items conflict with existing payouts; nothing was sent", .0.len())]
    ItemConflicts(Vec<ItemError>),
    #[error("no batch with this batch_ref")]
    BatchNotFound,
    #[error("a different request was already made with this external_invoice_ref")]
    IdempotencyConflict,
    #[error("the first request with this external_invoice_ref is still in progress")]
    RequestInProgress { retry_after_seconds: u64 },
    #[error("no payout with this external_invoice_ref")]
    NotFound,
    #[error("callback signature invalid")]
    Unauthorized,
    /// Storage failed: nothing is known to have changed; the client may retry the same request.
    #[error("the payout store is unavailable; retry the same request")]
    Unavailable(#[source] StoreError),
    /// The batch queue did not take a batch's items: the batch stays accepting and the same
    /// request finishes it. Answered word for word as [`ApiError::Unavailable`] (clients were
    /// told no different before it had a variant of its own); the cause is never in the
    /// message.
    #[error("the payout store is unavailable; retry the same request")]
    QueueUnavailable(#[source] QueueError),
    /// LeanX could not be reached before anything was sent: nothing was sent, and the same
    /// request may be retried after `retry_after_seconds`.
    #[error("LeanX is unreachable; nothing was sent, retry the same request")]
    LeanxUnreachable { retry_after_seconds: u64 },
    /// A read of LeanX (payout services, verification, balance) got no usable answer.
    #[error("LeanX could not be reached or gave no usable answer; retry later")]
    ProviderUnavailable { retry_after_seconds: u64 },
    /// LeanX does not know the account at that bank.
    #[error("LeanX knows no such account at this payout service")]
    AccountNotFound,
    /// The recipient policy refused the payout: the account's holder is someone else.
    #[error("the account holder's name does not match recipient_name; nothing was sent")]
    RecipientMismatch {
        account_holder_name: String,
        name_match: NameMatch,
    },
}

impl ApiError {
    pub fn status_code(&self) -> u16 {
        match self {
            ApiError::InvalidRequest(_) | ApiError::BatchItemsInvalid(_) => 400,
            ApiError::Unauthorized => 401,
            ApiError::NotFound | ApiError::BatchNotFound => 404,
            ApiError::IdempotencyConflict
            | ApiError::ItemConflicts(_)
            | ApiError::RequestInProgress { .. } => 409,
            ApiError::PayloadTooLarge | ApiError::BatchTooLarge => 413,
            ApiError::AccountNotFound | ApiError::RecipientMismatch { .. } => 422,
            ApiError::Unavailable(_)
            | ApiError::QueueUnavailable(_)
            | ApiError::LeanxUnreachable { .. }
            | ApiError::ProviderUnavailable { .. } => 503,
        }
    }

    pub fn error_code(&self) -> ErrorCode {
        match self {
            ApiError::InvalidRequest(_) | ApiError::BatchItemsInvalid(_) => {
                ErrorCode::InvalidRequest
            }
            ApiError::PayloadTooLarge | ApiError::BatchTooLarge => ErrorCode::PayloadTooLarge,
            ApiError::IdempotencyConflict | ApiError::ItemConflicts(_) => {
                ErrorCode::IdempotencyConflict
            }
            ApiError::RequestInProgress { .. } => ErrorCode::RequestInProgress,
            ApiError::NotFound | ApiError::BatchNotFound => ErrorCode::NotFound,
            ApiError::Unauthorized => ErrorCode::Unauthorized,
            ApiError::AccountNotFound => ErrorCode::AccountNotFound,
            ApiError::RecipientMismatch { .. } => ErrorCode::RecipientMismatch,
            ApiError::Unavailable(_)
            | ApiError::QueueUnavailable(_)
            | ApiError::LeanxUnreachable { .. }
            | ApiError::ProviderUnavailable { .. } => ErrorCode::ServiceUnavailable,
        }
    }

    /// The code as it appears in the body, e.g. `invalid_request`.
    pub fn code(&self) -> &'static str {
        match self.error_code() {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::IdempotencyConflict => "idempotency_conflict",
            ErrorCode::RequestInProgress => "request_in_progress",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::AccountNotFound => "account_not_found",
            ErrorCode::RecipientMismatch => "recipient_mismatch",
            ErrorCode::ServiceUnavailable => "service_unavailable",
        }
    }

    /// `{ "error": { "code", "message", "field"? } }`. Messages are ours, never a secret.
    /// A `recipient_mismatch` also carries `account_holder_name`, `name_match` and `name_score`.
    pub fn body(&self) -> serde_json::Value {
        let mut detail = ErrorDetail {
            code: self.error_code(),
            message: self.to_string(),
            field: None,
            account_holder_name: None,
            name_match: None,
            name_score: None,
            items: None,
        };
        match self {
            ApiError::BatchItemsInvalid(items) | ApiError::ItemConflicts(items) => {
                detail.field = Some("items".into());
                detail.items = Some(items.clone());
            }
            ApiError::InvalidRequest(ValidationError { field, .. }) => detail.field = field.clone(),
            ApiError::AccountNotFound => detail.field = Some("third_party_account_no".into()),
            ApiError::RecipientMismatch {
                account_holder_name,
                name_match,
            } => {
                detail.field = Some("recipient_name".into());
                detail.account_holder_name = Some(account_holder_name.clone());
                detail.name_match = Some(name_match.verdict);
                detail.name_score = Some(merchant::two_decimals(name_match.score));
            }
            _ => {}
        }
        serde_json::to_value(ErrorBody { error: detail }).unwrap_or_default()
    }

    pub fn headers(&self) -> Vec<(&'static str, String)> {
        match self {
            ApiError::RequestInProgress {
                retry_after_seconds,
            } => {
                vec![("retry-after", retry_after_seconds.to_string())]
            }
            ApiError::Unavailable(_) | ApiError::QueueUnavailable(_) => {
                vec![("retry-after", "1".into())]
            }
            ApiError::LeanxUnreachable {
                retry_after_seconds,
            }
            | ApiError::ProviderUnavailable {
                retry_after_seconds,
            } => vec![("retry-after", retry_after_seconds.to_string())],
            _ => vec![],
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::Unavailable(e)
    }
}

impl From<ValidationError> for ApiError {
    fn from(e: ValidationError) -> Self {
        ApiError::InvalidRequest(e)
    }
}

/// A successful answer with a text body of its own type (a batch's CSV).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextResponse {
    pub content_type: &'static str,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

/// A successful answer: status code, extra headers, JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiResponse {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: serde_json::Value,
}

impl ApiResponse {
    pub fn payout(status: u16, payout: &Payout) -> ApiResponse {
        ApiResponse {
            status,
            headers: vec![],
            body: serde_json::to_value(PayoutView::from(payout)).unwrap_or_default(),
        }
    }

    pub fn payouts(payouts: &[Payout], next_cursor: Option<String>) -> ApiResponse {
        let list = PayoutList {
            payouts: payouts.iter().map(PayoutView::from).collect(),
            next_cursor,
        };
        ApiResponse {
            status: 200,
            headers: vec![],
            body: serde_json::to_value(list).unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_carry_status_code_and_field() {
        let e = ApiError::InvalidRequest(ValidationError::field(
            "amount",
            "amount must be greater than 0",
        ));
        assert_eq!(e.status_code(), 400);
        assert_eq!(
            e.body(),
            serde_json::json!({"error": {"code": "invalid_request", "message": "amount must be greater than 0", "field": "amount"}})
        );
        let e = ApiError::RequestInProgress {
            retry_after_seconds: 3,
        };
        assert_eq!((e.status_code(), e.code()), (409, "request_in_progress"));
        assert_eq!(e.headers(), vec![("retry-after", "3".to_string())]);
        assert!(ApiError::NotFound.body()["error"].get("field").is_none());
    }

    #[test]
    fn a_recipient_mismatch_carries_the_holder_and_the_match() {
        let e = ApiError::RecipientMismatch {
            account_holder_name: "SITI AMINAH".into(),
            name_match: crate::domain::match_names("John Doe", "SITI AMINAH"),
        };
        assert_eq!((e.status_code(), e.code()), (422, "recipient_mismatch"));
        let body = e.body();
        assert_eq!(body["error"]["account_holder_name"], "SITI AMINAH");
        assert_eq!(body["error"]["name_match"], "none");
        assert_eq!(body["error"]["name_score"], "0.00");
        assert_eq!(body["error"]["field"], "recipient_name");
    }

    #[test]
    fn an_unknown_account_names_the_account_field() {
        let e = ApiError::AccountNotFound;
        assert_eq!((e.status_code(), e.code()), (422, "account_not_found"));
        assert_eq!(e.body()["error"]["field"], "third_party_account_no");
    }

    #[test]
    fn leanx_unavailable_for_a_read_is_503_with_retry_after() {
        let e = ApiError::ProviderUnavailable {
            retry_after_seconds: 5,
        };
        assert_eq!((e.status_code(), e.code()), (503, "service_unavailable"));
        assert_eq!(e.headers(), vec![("retry-after", "5".to_string())]);
    }
}
