//! Each use case's outcome (and error) as the HTTP answer API.md gives for it. The
//! `#[utoipa::path]` on each function is that answer as docs/openapi.json states it
//! (`super::openapi`): keep the two in step when an outcome changes.

use crate::usecases::{
    CallbackOutcome, CallbackRejected, CreateError, CreateOutcome, ListError, LookupError,
    LookupOutcome, PayoutPage,
};

use super::{ApiError, ApiResponse};
// Named by the `#[utoipa::path]` attributes below.
#[allow(unused_imports)]
use super::{ErrorBody, PayoutList, PayoutView};
use crate::domain::{PayoutRequest, PayoutStatus, ValidationError};
use crate::leanx::CallbackError;

/// `POST /payouts`.
#[utoipa::path(
    post,
    path = "/payouts",
    operation_id = "create_payout",
    tag = "payouts",
    request_body(content = PayoutRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "New payout recorded and sent to LeanX: PROCESSING, or FAILED if LeanX refused it, or PENDING if LeanX's answer was lost.", body = PayoutView),
        (status = 200, description = "The same request again: the current payout.", body = PayoutView,
            headers(("Idempotent-Replayed" = String, description = "Always `true`."))),
        (status = 400, description = "`invalid_request`: bad JSON or a field out of bounds (`field` names it).", body = ErrorBody),
        (status = 409, description = "`idempotency_conflict`: another body was sent under this `external_invoice_ref`; or `request_in_progress`: the first request is still in flight (with `Retry-After`).", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait (with `request_in_progress` only)."))),
        (status = 413, description = "`payload_too_large`: the body is over 16 KiB.", body = ErrorBody),
        (status = 503, description = "`service_unavailable`: the store or LeanX could not be reached before anything was sent; retry the same request.", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait before retrying."))),
    )
)]
pub fn create_payout(result: Result<CreateOutcome, CreateError>) -> Result<ApiResponse, ApiError> {
    match result? {
        CreateOutcome::Created(payout) => Ok(ApiResponse::payout(201, &payout)),
        CreateOutcome::Replayed(payout) => {
            let mut response = ApiResponse::payout(200, &payout);
            response
                .headers
                .push(("idempotent-replayed", "true".into()));
            Ok(response)
        }
        CreateOutcome::InProgress {
            retry_after_seconds,
        } => Err(ApiError::RequestInProgress {
            retry_after_seconds,
        }),
        CreateOutcome::Conflict => Err(ApiError::IdempotencyConflict),
        CreateOutcome::NotSent {
            retry_after_seconds,
        } => Err(ApiError::LeanxUnreachable {
            retry_after_seconds,
        }),
    }
}

/// `GET /payouts/{ref}`.
#[utoipa::path(
    get,
    path = "/payouts/{external_invoice_ref}",
    operation_id = "get_payout",
    tag = "payouts",
    params(("external_invoice_ref" = String, Path, description = "The merchant's reference the payout was created with.")),
    responses(
        (status = 200, description = "The payout, refreshed from LeanX while it is open.", body = PayoutView),
        (status = 400, description = "`invalid_request`: not a valid `external_invoice_ref`.", body = ErrorBody),
        (status = 404, description = "`not_found`: no payout with this reference.", body = ErrorBody),
        (status = 503, description = "`service_unavailable`: the store could not be reached.", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait before retrying."))),
    )
)]
pub fn get_payout(result: Result<LookupOutcome, LookupError>) -> Result<ApiResponse, ApiError> {
    match result? {
        LookupOutcome::Found(payout) => Ok(ApiResponse::payout(200, &payout)),
        LookupOutcome::NotFound => Err(ApiError::NotFound),
    }
}

/// `GET /payouts`.
#[utoipa::path(
    get,
    path = "/payouts",
    operation_id = "list_payouts",
    tag = "payouts",
    params(
        ("status" = Option<PayoutStatus>, Query, description = "Only payouts in this status."),
        ("created_from" = Option<String>, Query, format = DateTime, description = "Only payouts created at or after this instant (RFC 3339; compared to the millisecond)."),
        ("created_to" = Option<String>, Query, format = DateTime, description = "Only payouts created before this instant (RFC 3339; exclusive; later than `created_from`)."),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 100, description = "Page size, 1-100; 50 when absent."),
        ("cursor" = Option<String>, Query, min_length = 1, max_length = 256, description = "`next_cursor` of the previous page, with the same filters."),
    ),
    responses(
        (status = 200, description = "A page of payouts, newest first.", body = PayoutList),
        (status = 400, description = "`invalid_request`: a bad, unknown or repeated parameter, or a cursor this service did not issue for these filters (`field` names it).", body = ErrorBody),
        (status = 503, description = "`service_unavailable`: the store could not be reached.", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait before retrying."))),
    )
)]
pub fn list_payouts(result: Result<PayoutPage, ListError>) -> Result<ApiResponse, ApiError> {
    let page = result?;
    Ok(ApiResponse::payouts(&page.payouts, page.next_cursor))
}

/// `POST /callbacks/leanx`: every verified callback is acknowledged, applied or kept.
pub fn leanx_callback(
    result: Result<CallbackOutcome, CallbackRejected>,
) -> Result<ApiResponse, ApiError> {
    result?;
    Ok(ApiResponse {
        status: 200,
        headers: vec![],
        body: serde_json::json!({ "received": true }),
    })
}

impl From<CreateError> for ApiError {
    fn from(e: CreateError) -> Self {
        match e {
            CreateError::TooLarge => ApiError::PayloadTooLarge,
            CreateError::Invalid(v) => ApiError::InvalidRequest(v),
            CreateError::Store(s) => ApiError::Unavailable(s),
        }
    }
}

impl From<ListError> for ApiError {
    fn from(e: ListError) -> Self {
        match e {
            ListError::Invalid(v) => ApiError::InvalidRequest(v),
            ListError::Store(s) => ApiError::Unavailable(s),
        }
    }
}

impl From<LookupError> for ApiError {
    fn from(e: LookupError) -> Self {
        match e {
            LookupError::InvalidRef(v) => ApiError::InvalidRequest(v),
            LookupError::Store(s) => ApiError::Unavailable(s),
        }
    }
}

impl From<CallbackRejected> for ApiError {
    fn from(e: CallbackRejected) -> Self {
        match e {
            CallbackRejected::Store(s) => ApiError::Unavailable(s),
            CallbackRejected::Untrusted(CallbackError::TooLarge) => ApiError::PayloadTooLarge,
            CallbackRejected::Untrusted(CallbackError::NotJson) => {
                ApiError::InvalidRequest(ValidationError::body("callback body must be JSON"))
            }
            CallbackRejected::Untrusted(CallbackError::NoData) => ApiError::InvalidRequest(
                ValidationError::field("data", "data must be the callback token"),
            ),
            CallbackRejected::Untrusted(CallbackError::Untrusted(_)) => ApiError::Unauthorized,
        }
    }
}
