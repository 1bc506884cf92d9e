use chrono::Duration;
use rust_decimal::Decimal;
use serde_json::json;

use super::*;
use crate::domain::payout::sample_payout;

fn item(reference: &str, amount: &str) -> serde_json::Value {
    json!({
        "external_invoice_ref": reference, "payout_service_id": 23, "amount": amount,
        "recipient_name": "Siti Aminah", "third_party_account_no": "8011408168",
        "recipient_reference": "Salary"
    })
}

fn body(batch_ref: &str, items: Vec<serde_json::Value>) -> Vec<u8> {
    serde_json::to_vec(&json!({ "batch_ref": batch_ref, "items": items })).unwrap()
}

fn item_errors(result: Result<BatchRequest, BatchInvalid>) -> Vec<ItemError> {
    match result {
        Err(BatchInvalid::Items(items)) => items,
        other => panic!("expected item errors, got {other:?}"),
    }
}

fn body_error(result: Result<BatchRequest, BatchInvalid>) -> ValidationError {
    match result {
        Err(BatchInvalid::Body(error)) => error,
        other => panic!("expected a body error, got {other:?}"),
    }
}

#[test]
fn a_valid_batch_keeps_every_item_in_the_merchants_order() {
    let batch = BatchRequest::from_json(&body(
        "PAYROLL-2026-11",
        vec![item("S-1", "10.00"), item("S-2", "20.50"), item("S-3", "1")],
    ))
    .unwrap();
    assert_eq!(batch.batch_ref.as_str(), "PAYROLL-2026-11");
    let refs: Vec<&str> = batch
        .items
        .iter()
        .map(|i| i.external_invoice_ref.as_str())
        .collect();
    assert_eq!(refs, ["S-1", "S-2", "S-3"]);
}

#[test]
fn every_invalid_item_is_listed_with_its_index_field_and_message() {
    let mut bad_amount = item("S-2", "0");
    bad_amount["amount"] = json!("-1.00");
    let mut no_name = item("S-4", "5.00");
    no_name.as_object_mut().unwrap().remove("recipient_name");
    let errors = item_errors(BatchRequest::from_json(&body(
        "B-1",
        vec![
            item("S-1", "1.00"),
            bad_amount,
            item("S-3", "1.00"),
            no_name,
        ],
    )));
    let listed: Vec<(usize, Option<&str>, &str)> = errors
        .iter()
        .map(|e| (e.index, e.field.as_deref(), e.code))
        .collect();
    assert_eq!(
        listed,
        [
            (1, Some("amount"), ITEM_INVALID),
            (3, Some("recipient_name"), ITEM_INVALID)
        ]
    );
    assert!(errors[1].message.contains("recipient_name"));
}

#[test]
fn a_ref_repeated_inside_the_batch_is_invalid_naming_the_later_item() {
    let errors = item_errors(BatchRequest::from_json(&body(
        "B-1",
        vec![
            item("S-1", "1.00"),
            item("S-2", "1.00"),
            item("S-1", "2.00"),
        ],
    )));
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].index, 2);
    assert_eq!(errors[0].code, ITEM_DUPLICATE_REF);
    assert_eq!(errors[0].field.as_deref(), Some("external_invoice_ref"));
    assert!(errors[0].message.contains("item 0"));
}

#[test]
fn an_item_that_is_not_an_object_is_listed_not_fatal() {
    let errors = item_errors(BatchRequest::from_json(&body(
        "B-1",
        vec![item("S-1", "1.00"), json!("S-2"), json!(null)],
    )));
    assert_eq!(errors.iter().map(|e| e.index).collect::<Vec<_>>(), [1, 2]);
}

#[test]
fn five_thousand_items_are_accepted_and_one_more_is_refused_naming_items() {
    let items = |n: usize| (0..n).map(|i| item(&format!("S-{i}"), "1.00")).collect();
    assert_eq!(
        BatchRequest::from_json(&body("B-1", items(MAX_BATCH_ITEMS)))
            .unwrap()
            .items
            .len(),
        MAX_BATCH_ITEMS
    );
    let error = body_error(BatchRequest::from_json(&body(
        "B-1",
        items(MAX_BATCH_ITEMS + 1),
    )));
    assert_eq!(error.field.as_deref(), Some("items"));
}

#[test]
fn an_empty_batch_is_refused_naming_items() {
    let error = body_error(BatchRequest::from_json(&body("B-1", vec![])));
    assert_eq!(error.field.as_deref(), Some("items"));
}

#[test]
fn a_bad_batch_ref_is_refused_naming_batch_ref() {
    for bad in ["", "has space", &"x".repeat(65)] {
        let error = body_error(BatchRequest::from_json(&body(bad, vec![item("S-1", "1")])));
        assert_eq!(error.field.as_deref(), Some("batch_ref"), "{bad:?}");
    }
}

#[test]
fn unknown_repeated_and_missing_top_level_fields_are_refused_by_name() {
    let unknown = br#"{"batch_ref":"B","items":[],"notify":true}"#;
    assert_eq!(
        body_error(BatchRequest::from_json(unknown))
            .field
            .as_deref(),
        Some("notify")
    );
    let repeated = br#"{"batch_ref":"B","batch_ref":"C","items":[]}"#;
    assert_eq!(
        body_error(BatchRequest::from_json(repeated))
            .field
            .as_deref(),
        Some("batch_ref")
    );
    let missing = br#"{"batch_ref":"B"}"#;
    assert_eq!(
        body_error(BatchRequest::from_json(missing))
            .field
            .as_deref(),
        Some("items")
    );
    let not_a_list = br#"{"batch_ref":"B","items":{}}"#;
    assert_eq!(
        body_error(BatchRequest::from_json(not_a_list))
            .field
            .as_deref(),
        Some("items")
    );
}

#[test]
fn the_fingerprint_ignores_key_order_spacing_and_amount_spelling() {
    let a = BatchRequest::from_json(&body("B-1", vec![item("S-1", "13.00")])).unwrap();
    let b = BatchRequest::from_json(
        br#"{ "items": [ {"recipient_reference":"Salary","third_party_account_no":"8011408168",
            "recipient_name":"Siti Aminah","amount":13,"payout_service_id":23,
            "external_invoice_ref":"S-1"} ], "batch_ref": "B-1" }"#,
    )
    .unwrap();
    assert_eq!(a.fingerprint(), b.fingerprint());
}

#[test]
fn the_fingerprint_changes_with_any_item_the_order_or_the_ref() {
    let base =
        BatchRequest::from_json(&body("B-1", vec![item("S-1", "1.00"), item("S-2", "2.00")]))
            .unwrap();
    let others = [
        body("B-1", vec![item("S-1", "1.00"), item("S-2", "2.01")]),
        body("B-1", vec![item("S-2", "2.00"), item("S-1", "1.00")]),
        body("B-2", vec![item("S-1", "1.00"), item("S-2", "2.00")]),
    ];
    for other in others {
        assert_ne!(
            BatchRequest::from_json(&other).unwrap().fingerprint(),
            base.fingerprint()
        );
    }
}

#[test]
fn the_total_is_the_exact_sum_of_the_items() {
    let batch = BatchRequest::from_json(&body(
        "B-1",
        vec![
            item("S-1", "0.10"),
            item("S-2", "0.20"),
            item("S-3", "0.01"),
        ],
    ))
    .unwrap();
    assert_eq!(batch.total_amount(), Decimal::new(31, 2));
    assert_eq!(Batch::new(&batch, crate::testing::t0()).item_count, 3);
}

#[test]
fn a_tally_counts_and_sums_each_status_exactly() {
    let mut tally = BatchTally::default();
    tally.add(PayoutStatus::Succeeded, Decimal::new(1010, 2));
    tally.add(PayoutStatus::Succeeded, Decimal::new(20, 2));
    tally.add(PayoutStatus::Failed, Decimal::new(5, 2));
    assert_eq!(tally.items, 3);
    assert_eq!(tally.count(PayoutStatus::Succeeded), 2);
    assert_eq!(tally.amount(PayoutStatus::Succeeded), Decimal::new(1030, 2));
    assert_eq!(tally.total_amount(), Decimal::new(1035, 2));
    assert_eq!(tally.open_items(), 0);
}

#[test]
fn a_batch_is_complete_only_when_accepted_every_item_recorded_and_none_open() {
    let request =
        BatchRequest::from_json(&body("B-1", vec![item("S-1", "1.00"), item("S-2", "1.00")]))
            .unwrap();
    let mut batch = Batch::new(&request, crate::testing::t0());
    let mut done = BatchTally::default();
    done.add(PayoutStatus::Succeeded, Decimal::ONE);
    done.add(PayoutStatus::Failed, Decimal::ONE);
    assert!(!batch.is_complete(&done), "still accepting");
    batch.state = BatchState::Accepted;
    assert!(batch.is_complete(&done));
    let mut one_recorded = BatchTally::default();
    one_recorded.add(PayoutStatus::Succeeded, Decimal::ONE);
    assert!(!batch.is_complete(&one_recorded));
    let mut one_open = BatchTally::default();
    one_open.add(PayoutStatus::Succeeded, Decimal::ONE);
    one_open.add(PayoutStatus::Processing, Decimal::ONE);
    assert!(!batch.is_complete(&one_open));
}

#[test]
fn a_kept_tally_reads_back_with_its_amounts_as_exact_strings() {
    let mut tally = BatchTally::default();
    tally.add(PayoutStatus::Succeeded, Decimal::new(123456789, 2));
    let text = serde_json::to_value(&tally).unwrap();
    assert_eq!(text["amounts"][2], "1234567.89");
    assert_eq!(serde_json::from_value::<BatchTally>(text).unwrap(), tally);
}

fn request(reference: &str, amount: &str) -> PayoutRequest {
    PayoutRequest::from_json(&serde_json::to_vec(&item(reference, amount)).unwrap()).unwrap()
}

#[test]
fn an_existing_payout_with_the_same_body_joins_or_is_ours_or_belongs_elsewhere() {
    let ours = BatchRef::parse("B-1").unwrap();
    let asked = request("S-1", "1.00");
    let made_alone = Payout::new_pending(
        &asked,
        "o".into(),
        crate::testing::t0(),
        Duration::seconds(30),
    );
    assert_eq!(
        classify_existing_item(&made_alone, &asked, &ours),
        ExistingItem::Joins
    );
    let in_ours = made_alone.joined_batch("B-1", 0, crate::testing::t0());
    assert_eq!(
        classify_existing_item(&in_ours, &asked, &ours),
        ExistingItem::Ours
    );
    let in_other = made_alone.joined_batch("B-0", 4, crate::testing::t0());
    assert_eq!(
        classify_existing_item(&in_other, &asked, &ours),
        ExistingItem::InOtherBatch("B-0".into())
    );
    assert_eq!(
        classify_existing_item(&made_alone, &request("S-1", "1.01"), &ours),
        ExistingItem::Conflict
    );
}

#[test]
fn a_queued_item_is_sent_under_the_batch_claim_and_never_once_sending_started() {
    let now = crate::testing::t0();
    let asked = request("S-1", "1.00");
    let queued = Payout::new_batch_item(&asked, "B-1", 0, now, Duration::hours(6));
    assert_eq!(queued.claim_owner, "batch:B-1");
    assert_eq!(queued.next_check_at, Some(now + Duration::hours(6)));
    assert_eq!(classify_queued_item(&queued, now), QueuedItem::Send);
    let sending = queued.start_send(now, Duration::minutes(15));
    assert_eq!(classify_queued_item(&sending, now), QueuedItem::Done);
}

#[test]
fn a_queued_item_whose_claim_expired_unsent_is_taken_over() {
    let now = crate::testing::t0();
    let queued = Payout::new_batch_item(&request("S-1", "1.00"), "B-1", 0, now, Duration::hours(6));
    let released = queued
        .start_send(now, Duration::minutes(15))
        .release_unsent(now, Duration::minutes(15));
    assert_eq!(classify_queued_item(&released, now), QueuedItem::TakeOver);
}

#[test]
fn a_queued_item_claimed_by_a_live_post_payouts_waits() {
    let now = crate::testing::t0();
    let mut item =
        Payout::new_batch_item(&request("S-1", "1.00"), "B-1", 0, now, Duration::hours(6));
    item.claim_owner = "a-create-request".into();
    item.claim_expires_at = now + Duration::seconds(10);
    assert_eq!(
        classify_queued_item(&item, now),
        QueuedItem::Wait {
            retry_after_seconds: 10
        }
    );
}

#[test]
fn a_final_queued_item_is_done() {
    for status in [
        PayoutStatus::Processing,
        PayoutStatus::Succeeded,
        PayoutStatus::Failed,
    ] {
        assert_eq!(
            classify_queued_item(&sample_payout(status), crate::testing::t0()),
            QueuedItem::Done
        );
    }
}
