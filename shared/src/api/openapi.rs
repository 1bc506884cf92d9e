//! docs/openapi.json, generated from the API's own types: the resources and the error body
//! (`#[derive(ToSchema)]` in `super`), each route's answers (the `#[utoipa::path]` on its
//! mapping in `super::responses`), and the `POST /payouts` body's rules, stated beside the
//! parser's own limits. `tools/openapi-gen` writes the file; a test fails when it is stale.
//!
//! Every merchant route is in it; LeanX's callback route is left out: it is LeanX's to call.

use std::borrow::Cow;

use utoipa::openapi::schema::{
    AdditionalProperties, ObjectBuilder, OneOfBuilder, Schema, SchemaFormat, SchemaType, Type,
};
use utoipa::openapi::{RefOr, ServerBuilder};
use utoipa::{OpenApi, PartialSchema, ToSchema};

use crate::domain::{
    BatchRequest, MAX_BATCH_BODY_BYTES, MAX_BATCH_ITEMS, MAX_BODY_BYTES, PayoutRequest,
    VerificationRequest,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "leanx-payouts",
        description = "Instant DuitNow payouts through LeanX, sent at most once. Every route is signed with AWS SigV4 (AWS_IAM) when deployed. Every error body is `{ \"error\": { \"code\", \"message\", \"field\"? } }`.",
        license(name = "MIT", identifier = "MIT"),
    ),
    paths(
        super::responses::create_payout,
        super::responses::get_payout,
        super::responses::list_payouts,
        super::responses::list_payout_services,
        super::responses::verify_recipient,
        super::responses::get_balance,
        super::responses::create_payout_batch,
        super::responses::get_payout_batch,
        super::responses::list_payout_batch_items,
    ),
    components(schemas(
        PayoutRequest,
        VerificationRequest,
        super::PayoutView,
        super::PayoutList,
        super::ErrorBody,
        super::merchant::PayoutServicesView,
        super::merchant::VerificationView,
        super::merchant::BalanceView,
        BatchRequest,
        super::batches::BatchView,
        crate::domain::ItemError,
    )),
    tags(
        (name = "payouts", description = "Create, read and list payouts"),
        (name = "merchant", description = "Which banks can be paid, who holds an account, the pool's balance"),
        (name = "batches", description = "Many payouts in one request (payroll, seller settlements)"),
    ),
)]
struct MerchantApi;

/// The document, pretty-printed, with a trailing newline (the file's exact bytes).
pub fn document() -> String {
    let mut api = MerchantApi::openapi();
    api.servers = Some(vec![
        ServerBuilder::new()
            .url("http://127.0.0.1:9000")
            .description(Some("make dev (cargo lambda watch)"))
            .build(),
    ]);
    let mut text = api
        .to_pretty_json()
        .expect("the OpenAPI document serialises");
    text.push('\n');
    text
}

fn payout_service_id() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(SchemaType::new(Type::Integer))
        .format(Some(SchemaFormat::KnownFormat(
            utoipa::openapi::KnownFormat::Int64,
        )))
        .minimum(Some(1))
        .maximum(Some(u32::MAX))
        .description(Some(
            "LeanX's id of the recipient's bank or e-wallet (GET /payout-services).",
        ))
}

fn account_no() -> ObjectBuilder {
    string(
        5,
        34,
        Some("^[0-9]{5,34}$"),
        "The recipient's account number.",
    )
}

fn recipient_name() -> ObjectBuilder {
    string(1, 128, None, "Trimmed; no control or invisible characters.")
}

fn string(min: usize, max: usize, pattern: Option<&str>, description: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(SchemaType::new(Type::String))
        .min_length(Some(min))
        .max_length(Some(max))
        .pattern(pattern)
        .description(Some(description))
}

/// The body `PayoutRequest::from_json` accepts (the limits are the parser's, in
/// `domain/request.rs` and `domain/amount.rs`).
impl PartialSchema for PayoutRequest {
    fn schema() -> RefOr<Schema> {
        let amount = OneOfBuilder::new()
            .item(string(
                1,
                11,
                Some(r"^(0|[1-9][0-9]{0,7})(\.[0-9]{1,2})?$"),
                "A decimal string: > 0, at most 2 decimals, at most 99999999.99; never rounded.",
            ))
            .item(
                ObjectBuilder::new()
                    .schema_type(SchemaType::new(Type::Number))
                    .exclusive_minimum(Some(0))
                    .maximum(Some(99_999_999.99))
                    .multiple_of(Some(0.01))
                    .description(Some("A JSON number, with the same rules (no exponent).")),
            )
            .description(Some("MYR, e.g. \"13.00\""));
        ObjectBuilder::new()
            .schema_type(SchemaType::new(Type::Object))
            .description(Some(format!(
                "A new payout (at most {} KiB of JSON). The pool and the callback URL come from configuration, never from the client.",
                MAX_BODY_BYTES / 1024
            )))
            .property(
                "external_invoice_ref",
                string(
                    1,
                    64,
                    Some(r"^[A-Za-z0-9_.:-]{1,64}$"),
                    "The merchant's reference: the idempotency key.",
                ),
            )
            .property("payout_service_id", payout_service_id())
            .property("amount", amount)
            .property("recipient_name", recipient_name())
            .property("third_party_account_no", account_no())
            .property(
                "recipient_reference",
                string(
                    1,
                    128,
                    None,
                    "Shown to the recipient; trimmed; no control or invisible characters.",
                ),
            )
            .required("external_invoice_ref")
            .required("payout_service_id")
            .required("amount")
            .required("recipient_name")
            .required("third_party_account_no")
            .required("recipient_reference")
            .additional_properties(Some(AdditionalProperties::FreeForm(false)))
            .into()
    }
}

impl ToSchema for PayoutRequest {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("PayoutRequest")
    }
}

/// The body `VerificationRequest::from_json` accepts: `POST /payouts`' rules for its fields.
impl PartialSchema for VerificationRequest {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(SchemaType::new(Type::Object))
            .description(Some(
                "An account to verify; with `recipient_name`, the holder's name is matched against it.",
            ))
            .property("payout_service_id", payout_service_id())
            .property("third_party_account_no", account_no())
            .property(
                "recipient_name",
                recipient_name().schema_type(SchemaType::from_iter([Type::String, Type::Null])),
            )
            .required("payout_service_id")
            .required("third_party_account_no")
            .additional_properties(Some(AdditionalProperties::FreeForm(false)))
            .into()
    }
}

impl ToSchema for VerificationRequest {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("VerificationRequest")
    }
}

/// The body `BatchRequest::from_json` accepts (limits from `domain/batch.rs`).
impl PartialSchema for BatchRequest {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(SchemaType::new(Type::Object))
            .description(Some(format!(
                "Many payouts in one request (at most {} MB of JSON): validated all or nothing; idempotent by `batch_ref`.",
                MAX_BATCH_BODY_BYTES / (1024 * 1024)
            )))
            .property(
                "batch_ref",
                string(
                    1,
                    64,
                    Some(r"^[A-Za-z0-9_.:-]{1,64}$"),
                    "The merchant's reference of the batch: its idempotency key.",
                ),
            )
            .property(
                "items",
                utoipa::openapi::schema::ArrayBuilder::new()
                    .items(PayoutRequest::schema())
                    .min_items(Some(1))
                    .max_items(Some(MAX_BATCH_ITEMS))
                    .description(Some(
                        "POST /payouts bodies; their `external_invoice_ref`s distinct.",
                    )),
            )
            .required("batch_ref")
            .required("items")
            .additional_properties(Some(AdditionalProperties::FreeForm(false)))
            .into()
    }
}

impl ToSchema for BatchRequest {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("PayoutBatchRequest")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_is_openapi_3_1_and_lists_the_merchant_routes() {
        let doc: serde_json::Value = serde_json::from_str(&document()).unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
        let paths = doc["paths"].as_object().unwrap();
        assert!(paths["/payouts"].get("post").is_some());
        assert!(paths["/payouts"].get("get").is_some());
        assert!(
            paths["/payouts/{external_invoice_ref}"]
                .get("get")
                .is_some()
        );
        for merchant in ["/payout-services", "/recipient-verifications", "/balance"] {
            assert!(paths.contains_key(merchant), "{merchant}");
        }
        assert!(!paths.contains_key("/callbacks/leanx"));
    }

    #[test]
    fn every_error_code_is_in_the_document() {
        let doc: serde_json::Value = serde_json::from_str(&document()).unwrap();
        let codes = &doc["components"]["schemas"]["ErrorCode"]["enum"];
        for code in [
            "invalid_request",
            "payload_too_large",
            "idempotency_conflict",
            "request_in_progress",
            "not_found",
            "account_not_found",
            "recipient_mismatch",
            "service_unavailable",
        ] {
            assert!(
                codes.as_array().unwrap().iter().any(|c| c == code),
                "{code}"
            );
        }
    }
}
