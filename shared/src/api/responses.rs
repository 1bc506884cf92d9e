//! Each use case's outcome (and error) as the HTTP answer API.md gives for it. The
//! `#[utoipa::path]` on each function is that answer as docs/openapi.json states it
//! (`super::openapi`): keep the two in step when an outcome changes.

use crate::leanx::Balance;
use crate::usecases::{
    AcceptError, AcceptOutcome, BalanceError, BatchItemsPage, BatchProgress, BatchReadError,
    CallbackOutcome, CallbackRejected, CreateError, CreateOutcome, ListError, ListServicesError,
    LookupError, LookupOutcome, PayoutPage, PayoutServices, VerifyError, VerifyOutcome,
    unknown_payout_service,
};

use super::batches::{BatchView, items_csv};
use super::merchant::{BalanceView, PayoutServiceView, PayoutServicesView, VerificationView};
use super::{ApiError, ApiResponse, TextResponse};
// Named by the `#[utoipa::path]` attributes below.
#[allow(unused_imports)]
use super::{ErrorBody, PayoutList, PayoutView};
use crate::domain::{
    BatchInvalid, BatchRequest, Payout, PayoutRequest, PayoutStatus, ValidationError,
    VerificationRequest,
};

/// How long a client is asked to wait after LeanX could not answer a read.
const RETRY_AFTER_PROVIDER_SECONDS: u64 = 5;
/// API.md: `GET /payout-services` answers `Cache-Control: max-age=300`.
pub const PAYOUT_SERVICES_CACHE_CONTROL: &str = "max-age=300";
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
        (status = 422, description = "With `RECIPIENT_VERIFICATION=required`: `recipient_mismatch` (the account holder is someone else: `account_holder_name`, `name_match`, `name_score`), or `account_not_found`; nothing claimed, nothing sent.", body = ErrorBody),
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
#[utoipa::path(
    get,
    path = "/payout-services",
    operation_id = "list_payout_services",
    tag = "merchant",
    responses(
        (status = 200, description = "The banks and e-wallets that can be paid, sorted by name (cached, at most 10 minutes old).", body = PayoutServicesView,
            headers(("Cache-Control" = String, description = "`max-age=300`."))),
        (status = 503, description = "`service_unavailable`: LeanX could not be reached and nothing is cached.", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait before retrying."))),
    )
)]
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
#[utoipa::path(
    post,
    path = "/recipient-verifications",
    operation_id = "verify_recipient",
    tag = "merchant",
    request_body(content = VerificationRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Who holds the account, and how well the name matches; kept 30 days.", body = VerificationView),
        (status = 400, description = "`invalid_request`: bad JSON, a field out of bounds, or a `payout_service_id` LeanX does not pay (`field` names it).", body = ErrorBody),
        (status = 413, description = "`payload_too_large`: the body is over 16 KiB.", body = ErrorBody),
        (status = 422, description = "`account_not_found`: LeanX knows no such account at this payout service.", body = ErrorBody),
        (status = 503, description = "`service_unavailable`: LeanX or the store could not be reached.", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait before retrying."))),
    )
)]
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
        VerifyOutcome::ServiceNotFound => Err(ApiError::InvalidRequest(unknown_payout_service())),
    }
}

/// `GET /balance`.
#[utoipa::path(
    get,
    path = "/balance",
    operation_id = "get_balance",
    tag = "merchant",
    responses(
        (status = 200, description = "The payout pool's balance, money as exact decimal strings.", body = BalanceView),
        (status = 503, description = "`service_unavailable`: LeanX could not be reached.", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait before retrying."))),
    )
)]
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

fn batch_response(status: u16, progress: &BatchProgress) -> ApiResponse {
    ApiResponse {
        status,
        headers: vec![],
        body: serde_json::to_value(BatchView::from(progress)).unwrap_or_default(),
    }
}

/// `POST /payout-batches`.
#[utoipa::path(
    post,
    path = "/payout-batches",
    operation_id = "create_payout_batch",
    tag = "batches",
    request_body(content = BatchRequest, content_type = "application/json"),
    responses(
        (status = 202, description = "Every item recorded PENDING and queued; they are sent at most `BATCH_SEND_RATE` per second, each at most once.", body = BatchView),
        (status = 200, description = "The same batch again: as it stands.", body = BatchView,
            headers(("Idempotent-Replayed" = String, description = "Always `true`."))),
        (status = 400, description = "`invalid_request`: bad JSON, a bad `batch_ref` or `items` (`field` names it), or invalid items: `items` lists every one (`index`, `field`, `code`, `message`); nothing recorded.", body = ErrorBody),
        (status = 409, description = "`idempotency_conflict`: another batch under this `batch_ref`; or items whose refs exist as other payouts (`items` lists them).", body = ErrorBody),
        (status = 413, description = "`payload_too_large`: the body is over 6 MB.", body = ErrorBody),
        (status = 503, description = "`service_unavailable`: the store or the queue could not be reached; retry the same request (it finishes the batch, never duplicating an item).", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait before retrying."))),
    )
)]
pub fn create_payout_batch(
    result: Result<AcceptOutcome, AcceptError>,
) -> Result<ApiResponse, ApiError> {
    match result? {
        AcceptOutcome::Accepted(progress) => Ok(batch_response(202, &progress)),
        AcceptOutcome::Replayed(progress) => {
            let mut response = batch_response(200, &progress);
            response
                .headers
                .push(("idempotent-replayed", "true".into()));
            Ok(response)
        }
        AcceptOutcome::Conflict => Err(ApiError::IdempotencyConflict),
        AcceptOutcome::ItemConflicts(items) => Err(ApiError::ItemConflicts(items)),
    }
}

/// `GET /payout-batches/{batch_ref}`.
#[utoipa::path(
    get,
    path = "/payout-batches/{batch_ref}",
    operation_id = "get_payout_batch",
    tag = "batches",
    params(("batch_ref" = String, Path, description = "The merchant's reference of the batch.", pattern = r"^[A-Za-z0-9_.:-]{1,64}$")),
    responses(
        (status = 200, description = "The batch: counts and amounts per status, `complete` once every item is final.", body = BatchView),
        (status = 400, description = "`invalid_request`: not a valid `batch_ref` (`field` names it).", body = ErrorBody),
        (status = 404, description = "`not_found`: no batch with this `batch_ref`.", body = ErrorBody),
        (status = 503, description = "`service_unavailable`: the store could not be reached.", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait before retrying."))),
    )
)]
pub fn get_payout_batch(
    result: Result<BatchProgress, BatchReadError>,
) -> Result<ApiResponse, ApiError> {
    Ok(batch_response(200, &result?))
}

/// `GET /payout-batches/{batch_ref}/items` (JSON).
#[utoipa::path(
    get,
    path = "/payout-batches/{batch_ref}/items",
    operation_id = "list_payout_batch_items",
    tag = "batches",
    params(
        ("batch_ref" = String, Path, description = "The merchant's reference of the batch.", pattern = r"^[A-Za-z0-9_.:-]{1,64}$"),
        ("status" = Option<PayoutStatus>, Query, description = "Only items in this status."),
        ("limit" = Option<u32>, Query, description = "Items per page, 1-100 (default 50).", minimum = 1, maximum = 100),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page (JSON only)."),
    ),
    responses(
        (status = 200, description = "A page of the batch's items as payout resources, in the batch's order; with `Accept: text/csv`, the whole batch as CSV (`external_invoice_ref,amount,recipient_name,third_party_account_no,status,failure_code,invoice_no,updated_at`, accounts masked).",
            content(
                (PayoutList = "application/json"),
                (String = "text/csv"),
            )),
        (status = 400, description = "`invalid_request`: a bad parameter or a cursor not issued for this batch and filter (`field` names it).", body = ErrorBody),
        (status = 404, description = "`not_found`: no batch with this `batch_ref`.", body = ErrorBody),
        (status = 503, description = "`service_unavailable`: the store could not be reached.", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait before retrying."))),
    )
)]
pub fn list_payout_batch_items(
    result: Result<BatchItemsPage, BatchReadError>,
) -> Result<ApiResponse, ApiError> {
    let page = result?;
    Ok(ApiResponse::payouts(&page.payouts, page.next_cursor))
}

/// `GET /payout-batches/{batch_ref}/items` with `Accept: text/csv`: the whole batch.
pub fn payout_batch_items_csv(
    result: Result<Vec<Payout>, BatchReadError>,
) -> Result<TextResponse, ApiError> {
    let items = result?;
    Ok(TextResponse {
        content_type: "text/csv; charset=utf-8",
        headers: vec![],
        body: items_csv(&items),
    })
}

impl From<AcceptError> for ApiError {
    fn from(e: AcceptError) -> Self {
        match e {
            AcceptError::TooLarge => ApiError::BatchTooLarge,
            AcceptError::Invalid(BatchInvalid::Body(e)) => ApiError::InvalidRequest(e),
            AcceptError::Invalid(BatchInvalid::Items(items)) => ApiError::BatchItemsInvalid(items),
            AcceptError::Store(e) => ApiError::Unavailable(e),
            AcceptError::Queue(e) => ApiError::QueueUnavailable(e),
        }
    }
}

impl From<BatchReadError> for ApiError {
    fn from(e: BatchReadError) -> Self {
        match e {
            BatchReadError::Invalid(e) => ApiError::InvalidRequest(e),
            BatchReadError::NotFound => ApiError::BatchNotFound,
            BatchReadError::Store(e) => ApiError::Unavailable(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreError;
    use crate::usecases::QueueError;

    /// What a client sees: status, headers and body.
    fn answer(e: &ApiError) -> (u16, Vec<(&'static str, String)>, serde_json::Value) {
        (e.status_code(), e.headers(), e.body())
    }

    #[test]
    fn a_queue_outage_is_answered_503_as_a_store_outage_without_its_cause() {
        let queue_url = "https://sqs.ap-southeast-1.amazonaws.com/123456789012/batch-send";
        let cause = QueueError::Unavailable(format!("dispatch failure sending to {queue_url}"));
        let e = create_payout_batch(Err(AcceptError::Queue(cause))).expect_err("refused");
        assert!(matches!(e, ApiError::QueueUnavailable(_)), "{e:?}");
        let (status, headers, body) = answer(&e);
        assert_eq!(status, 503);
        assert_eq!(headers, vec![("retry-after", "1".to_string())]);
        assert_eq!(
            body,
            serde_json::json!({"error": {"code": "service_unavailable",
                "message": "the payout store is unavailable; retry the same request"}})
        );
        assert!(!body.to_string().contains("sqs"), "{body}");
        let store_outage = ApiError::from(AcceptError::Store(StoreError::Unavailable("x".into())));
        assert_eq!((status, headers, body), answer(&store_outage));
    }
}
