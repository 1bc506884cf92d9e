//! Each use case's outcome (and error) as the HTTP answer API.md gives for it.

use crate::leanx::Balance;
use crate::usecases::{
    BalanceError, CallbackOutcome, CallbackRejected, CreateError, CreateOutcome, ListServicesError,
    LookupError, LookupOutcome, PayoutServices, VerifyError, VerifyOutcome,
};

use super::merchant::{BalanceView, PayoutServiceView, PayoutServicesView, VerificationView};
use super::{ApiError, ApiResponse};

/// How long a client is asked to wait after LeanX could not answer a read.
const RETRY_AFTER_PROVIDER_SECONDS: u64 = 5;
/// API.md: `GET /payout-services` answers `Cache-Control: max-age=300`.
pub const PAYOUT_SERVICES_CACHE_CONTROL: &str = "max-age=300";
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
        }
        | CreateOutcome::RecipientUnverified {
            retry_after_seconds,
        } => Err(ApiError::LeanxUnreachable {
            retry_after_seconds,
        }),
        CreateOutcome::RecipientMismatch {
            account_holder_name,
            name_match,
        } => Err(ApiError::RecipientMismatch {
            account_holder_name,
            name_match,
        }),
        CreateOutcome::AccountNotFound => Err(ApiError::AccountNotFound),
    }
}

/// `GET /payout-services`.
pub fn list_payout_services(
    result: Result<PayoutServices, ListServicesError>,
) -> Result<ApiResponse, ApiError> {
    let list = result?;
    let view = PayoutServicesView {
        payout_services: list.services.iter().map(PayoutServiceView::from).collect(),
    };
    Ok(ApiResponse {
        status: 200,
        headers: vec![("cache-control", PAYOUT_SERVICES_CACHE_CONTROL.into())],
        body: serde_json::to_value(view).unwrap_or_default(),
    })
}

/// `POST /recipient-verifications`.
pub fn verify_recipient(
    result: Result<VerifyOutcome, VerifyError>,
) -> Result<ApiResponse, ApiError> {
    match result? {
        VerifyOutcome::Verified(verification) => Ok(ApiResponse {
            status: 200,
            headers: vec![],
            body: serde_json::to_value(VerificationView::from(&verification)).unwrap_or_default(),
        }),
        VerifyOutcome::AccountNotFound => Err(ApiError::AccountNotFound),
    }
}

/// `GET /balance`.
pub fn get_balance(result: Result<Balance, BalanceError>) -> Result<ApiResponse, ApiError> {
    let balance = result?;
    Ok(ApiResponse {
        status: 200,
        headers: vec![],
        body: serde_json::to_value(BalanceView::from(&balance)).unwrap_or_default(),
    })
}

impl From<ListServicesError> for ApiError {
    fn from(e: ListServicesError) -> Self {
        match e {
            ListServicesError::Unavailable(_) => ApiError::ProviderUnavailable {
                retry_after_seconds: RETRY_AFTER_PROVIDER_SECONDS,
            },
        }
    }
}

impl From<VerifyError> for ApiError {
    fn from(e: VerifyError) -> Self {
        match e {
            VerifyError::TooLarge => ApiError::PayloadTooLarge,
            VerifyError::Invalid(v) => ApiError::InvalidRequest(v),
            VerifyError::Provider(_) => ApiError::ProviderUnavailable {
                retry_after_seconds: RETRY_AFTER_PROVIDER_SECONDS,
            },
            VerifyError::Store(s) => ApiError::Unavailable(s),
        }
    }
}

impl From<BalanceError> for ApiError {
    fn from(e: BalanceError) -> Self {
        match e {
            BalanceError::Unavailable(_) => ApiError::ProviderUnavailable {
                retry_after_seconds: RETRY_AFTER_PROVIDER_SECONDS,
            },
        }
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
