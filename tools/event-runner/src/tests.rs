use std::collections::HashMap;

use aws_sdk_dynamodbstreams::types::{OperationType, Record, StreamRecord, StreamViewType};
use chrono::{DateTime, Duration};
use leanx_payouts::domain::{Payout, PayoutRequest};
use leanx_payouts::store::payout_to_item;

use super::*;

#[test]
fn a_batch_handed_over_in_full_advances_past_it() {
    assert_eq!(next_step(7, None, 0, 3), Next::Advance(7));
}

#[test]
fn a_reported_failure_checkpoints_before_it_and_retries_from_it() {
    let answer = Ok(json!({"batchItemFailures": [{"itemIdentifier": "103"}]}));
    let at = failed_position(&["101", "102", "103", "104"], &answer);
    assert_eq!(at, Some(2));
    assert_eq!(next_step(4, at, 0, 3), Next::Advance(2));
}

#[test]
fn an_error_or_an_unknown_sequence_number_fails_the_whole_batch() {
    assert_eq!(
        failed_position(&["1", "2"], &Err("crashed".into())),
        Some(0)
    );
    let unknown = Ok(json!({"batchItemFailures": [{"itemIdentifier": "9"}]}));
    assert_eq!(failed_position(&["1", "2"], &unknown), Some(0));
    assert_eq!(
        failed_position(&["1", "2"], &Ok(json!({"batchItemFailures": []}))),
        None
    );
    // An answer that is no batch response reports nothing failed (Lambda's reading too).
    assert_eq!(failed_position(&["1"], &Ok(Value::Null)), None);
}

#[test]
fn a_failing_batch_is_retried_then_bisected_then_its_lone_record_dead_lettered() {
    assert_eq!(next_step(10, Some(0), 0, 2), Next::Retry);
    assert_eq!(next_step(10, Some(0), 1, 2), Next::Retry);
    assert_eq!(next_step(10, Some(0), 2, 2), Next::Bisect(5));
    assert_eq!(next_step(5, Some(0), 2, 2), Next::Bisect(3));
    assert_eq!(next_step(1, Some(0), 2, 2), Next::DeadLetterFirst);
}

fn payout() -> Payout {
    let request = PayoutRequest::from_json(
        br#"{"external_invoice_ref":"INV-RUN-1","payout_service_id":23,"amount":"13.00",
            "recipient_name":"John","third_party_account_no":"8011408168","recipient_reference":"R"}"#,
    )
    .expect("valid request");
    let now = DateTime::from_timestamp(1_800_000_000, 0).expect("valid time");
    Payout::new_pending(&request, "owner".into(), now, Duration::seconds(30))
}

/// The same value in the streams SDK's type (as GetRecords returns it).
fn streams_value(v: &aws_sdk_dynamodb::types::AttributeValue) -> StreamValue {
    use aws_sdk_dynamodb::types::AttributeValue as A;
    match v {
        A::S(s) => StreamValue::S(s.clone()),
        A::N(n) => StreamValue::N(n.clone()),
        A::Bool(b) => StreamValue::Bool(*b),
        A::M(m) => StreamValue::M(
            m.iter()
                .map(|(k, v)| (k.clone(), streams_value(v)))
                .collect(),
        ),
        A::L(l) => StreamValue::L(l.iter().map(streams_value).collect()),
        _ => StreamValue::Null(true),
    }
}

#[test]
fn stream_records_are_handed_over_in_lambdas_shape_and_decode_to_the_payout() {
    let p = payout();
    let item: HashMap<String, StreamValue> = payout_to_item(&p)
        .expect("maps")
        .iter()
        .map(|(k, v)| (k.clone(), streams_value(v)))
        .collect();
    let keys: HashMap<String, StreamValue> = item
        .iter()
        .filter(|(k, _)| *k == "pk" || *k == "sk")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let record = Record::builder()
        .event_id("e1")
        .event_name(OperationType::Insert)
        .aws_region("us-east-1")
        .dynamodb(
            StreamRecord::builder()
                .set_keys(Some(keys))
                .set_new_image(Some(item))
                .sequence_number("100")
                .size_bytes(300)
                .stream_view_type(StreamViewType::NewAndOldImages)
                .build(),
        )
        .build();
    let json = lambda_record(&record, "arn:aws:dynamodb:us-east-1:1:table/t/stream/x");
    let lambda: aws_lambda_events::event::dynamodb::EventRecord =
        serde_json::from_value(json).expect("Lambda's DynamoDB stream record");
    assert_eq!(lambda.event_name, "INSERT");
    assert_eq!(lambda.change.sequence_number.as_deref(), Some("100"));
    let images = leanx_payouts::pipeline::publish::payout_images(&lambda)
        .expect("decodes")
        .expect("a payout item");
    assert_eq!(images, (None, Some(p)));
}
