//! docs/openapi.json, generated from the API's own types: the resources and the error body
//! (`#[derive(ToSchema)]` in `super`), each route's answers (the `#[utoipa::path]` on its
//! mapping in `super::responses`), and the `POST /payouts` body's rules, stated beside the
//! parser's own limits. `tools/openapi-gen` writes the file; a test fails when it is stale.
//!
//! LeanX's callback route is left out: it is LeanX's to call, not the merchant's.

use std::borrow::Cow;

use utoipa::openapi::schema::{
    AdditionalProperties, ObjectBuilder, OneOfBuilder, Schema, SchemaFormat, SchemaType, Type,
};
use utoipa::openapi::{RefOr, ServerBuilder};
use utoipa::{OpenApi, PartialSchema, ToSchema};

use crate::domain::{MAX_BODY_BYTES, PayoutRequest};

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
    ),
    components(schemas(
        PayoutRequest,
        super::PayoutView,
        super::PayoutList,
        super::ErrorBody,
    )),
    tags((name = "payouts", description = "Create, read and list payouts")),
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
            .property(
                "payout_service_id",
                ObjectBuilder::new()
                    .schema_type(SchemaType::new(Type::Integer))
                    .format(Some(SchemaFormat::KnownFormat(
                        utoipa::openapi::KnownFormat::Int64,
                    )))
                    .minimum(Some(1))
                    .maximum(Some(u32::MAX))
                    .description(Some("LeanX's id of the recipient's bank or e-wallet.")),
            )
            .property("amount", amount)
            .property(
                "recipient_name",
                string(
                    1,
                    128,
                    None,
                    "Trimmed; no control or invisible characters.",
                ),
            )
            .property(
                "third_party_account_no",
                string(5, 34, Some("^[0-9]{5,34}$"), "The recipient's account number."),
            )
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
            "service_unavailable",
        ] {
            assert!(
                codes.as_array().unwrap().iter().any(|c| c == code),
                "{code}"
            );
        }
    }
}
