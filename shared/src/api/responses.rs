//! Each use case's outcome (and error) as the HTTP answer API.md gives for it.

use crate::usecases::{
    CallbackOutcome, CallbackRejected, CreateError, CreateOutcome, LookupError, LookupOutcome,
};

use super::{ApiError, ApiResponse};
use crate::domain::ValidationError;
use crate::leanx::CallbackError;

/// `POST /payouts`.
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
pub fn get_payout(result: Result<LookupOutcome, LookupError>) -> Result<ApiResponse, ApiError> {
    match result? {
        LookupOutcome::Found(payout) => Ok(ApiResponse::payout(200, &payout)),
        LookupOutcome::NotFound => Err(ApiError::NotFound),
    }
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
