//! The DynamoDB payout store against a real local DynamoDB-compatible server (moto), one fresh
//! table per test.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::interceptors::{
    AfterDeserializationInterceptorContextRef, BeforeSerializationInterceptorContextMut,
    BeforeTransmitInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_sdk_dynamodb::operation::get_item::{GetItemInput, GetItemOutput};
use aws_sdk_dynamodb::operation::put_item::{PutItemInput, PutItemOutput};
use aws_sdk_dynamodb::operation::query::{QueryInput, QueryOutput};
use aws_sdk_dynamodb::types::{AttributeValue, ConsumedCapacity, ReturnConsumedCapacity};
use chrono::{DateTime, Datelike, Duration, Utc};
use leanx_payouts::domain::CallbackClaims;
use leanx_payouts::domain::{
    Decision, ExistingClaim, LeanxTransactionStatus, Payout, PayoutEvent, PayoutRequest, SendState,
    classify_existing, decide,
};
use leanx_payouts::domain::{ListFilter, ListPosition, PayoutStatus};
use leanx_payouts::store::{
    ClaimOutcome, ListRequest, ListedPage, PayoutListing, PayoutStore, SaveOutcome, StoreError,
    UnmatchedCallback,
};
use payouts_e2e::dynamodb::{fresh_store, fresh_store_with, local_config};
use rust_decimal::Decimal;

const CLAIM_TTL: Duration = Duration::seconds(30);
const GRACE: Duration = Duration::seconds(60);

fn request(reference: &str, amount: &str, recipient: &str) -> PayoutRequest {
    let body = serde_json::json!({
        "external_invoice_ref": reference,
        "payout_service_id": 23,
        "amount": amount,
        "recipient_name": recipient,
        "third_party_account_no": "8011408168",
        "recipient_reference": "Salary Nov",
    });
    PayoutRequest::from_json(body.to_string().as_bytes()).expect("valid request")
}

fn pending(reference: &str, owner: &str, at: DateTime<Utc>) -> Payout {
    Payout::new_pending(
        &request(reference, "13.00", "John Doe"),
        owner.into(),
        at,
        CLAIM_TTL,
    )
}

/// Whole seconds, so due-time comparisons are exact at the index's millisecond precision.
fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(Utc::now().timestamp(), 0).expect("valid time")
}

fn moved(current: &Payout, event: PayoutEvent, at: DateTime<Utc>) -> Payout {
    match decide(current, &event) {
        Decision::Move(change) => current.apply(&change, at),
        other => panic!("{event:?} on {} did not move: {other:?}", current.status),
    }
}

fn accepted(invoice_no: &str) -> PayoutEvent {
    PayoutEvent::LeanxAccepted {
        invoice_no: invoice_no.into(),
    }
}

fn succeeded(invoice_no: &str) -> PayoutEvent {
    PayoutEvent::CallbackSucceeded {
        invoice_no: invoice_no.into(),
    }
}

fn reported_failed() -> PayoutEvent {
    PayoutEvent::LeanxReported {
        status: LeanxTransactionStatus::Failed {
            detail: Some("bank rejected".into()),
        },
        invoice_no: None,
    }
}

async fn create(store: &impl PayoutStore, payout: &Payout) {
    assert_eq!(
        store.create_pending(payout).await.expect("create"),
        ClaimOutcome::Created
    );
}

async fn save(store: &impl PayoutStore, current: &Payout, next: &Payout) {
    assert_eq!(
        store.save(current, next).await.expect("save"),
        SaveOutcome::Saved
    );
}

/// A payout created, marked sent and accepted by LeanX: PROCESSING with `invoice_no`.
async fn processing(
    store: &impl PayoutStore,
    reference: &str,
    invoice_no: &str,
    at: DateTime<Utc>,
) -> Payout {
    let created = pending(reference, "owner", at);
    create(store, &created).await;
    let sending = created.start_send(at, GRACE);
    save(store, &created, &sending).await;
    let processing = moved(&sending, accepted(invoice_no), at);
    save(store, &sending, &processing).await;
    processing
}

async fn raw_item(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    reference: &str,
) -> HashMap<String, AttributeValue> {
    client
        .get_item()
        .table_name(table)
        .key("pk", AttributeValue::S(format!("PAYOUT#{reference}")))
        .key("sk", AttributeValue::S("PAYOUT".into()))
        .consistent_read(true)
        .send()
        .await
        .expect("raw GetItem")
        .item
        .expect("item exists")
}

#[tokio::test]
async fn second_create_of_the_same_payout_returns_the_stored_one() {
    let (store, _, _) = fresh_store().await;
    let at = now();
    let first = pending("INV-1", "first-request", at);
    create(&store, &first).await;

    let again = pending("INV-1", "second-request", at + Duration::seconds(2));
    let ClaimOutcome::Exists(stored) = store.create_pending(&again).await.expect("create") else {
        panic!("a second create must not succeed");
    };
    assert_eq!(stored, first, "the first claim is kept, untouched");
    assert_eq!(stored.fingerprint, again.fingerprint);
}

#[tokio::test]
async fn create_with_another_body_under_the_same_ref_returns_the_stored_payout_to_conflict_with() {
    let (store, _, _) = fresh_store().await;
    let at = now();
    let first = pending("INV-1", "first-request", at);
    create(&store, &first).await;

    let other = Payout::new_pending(
        &request("INV-1", "14.00", "Jane Roe"),
        "second".into(),
        at,
        CLAIM_TTL,
    );
    let ClaimOutcome::Exists(stored) = store.create_pending(&other).await.expect("create") else {
        panic!("a second create must not succeed");
    };
    assert_eq!(stored, first);
    assert_ne!(stored.fingerprint, other.fingerprint);
    assert_eq!(
        classify_existing(&stored, &other.fingerprint, at),
        ExistingClaim::Conflict
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_creates_of_one_ref_make_exactly_one_claim() {
    let (store, _, _) = fresh_store().await;
    let at = now();
    let attempts: Vec<Payout> = (0..50)
        .map(|i| pending("INV-RACE", &format!("owner-{i}"), at))
        .collect();
    let outcomes = futures::future::join_all(attempts.iter().map(|p| {
        let store = store.clone();
        let p = p.clone();
        tokio::spawn(async move { store.create_pending(&p).await })
    }))
    .await;

    let mut winners = Vec::new();
    let mut stored_owners = Vec::new();
    for (i, outcome) in outcomes.into_iter().enumerate() {
        match outcome.expect("task").expect("create") {
            ClaimOutcome::Created => winners.push(format!("owner-{i}")),
            ClaimOutcome::Exists(stored) => stored_owners.push(stored.claim_owner),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one create wins: {winners:?}");
    assert!(
        stored_owners.iter().all(|o| *o == winners[0]),
        "every loser sees the winner's claim"
    );
    let stored = store
        .get(&attempts[0].external_invoice_ref)
        .await
        .expect("get")
        .expect("stored");
    assert_eq!(stored.claim_owner, winners[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_take_overs_of_an_expired_claim_let_exactly_one_win() {
    let (store, _, _) = fresh_store().await;
    let at = now();
    let abandoned = pending("INV-1", "vanished", at);
    create(&store, &abandoned).await;

    let later = abandoned.claim_expires_at + Duration::seconds(1);
    assert_eq!(
        classify_existing(&abandoned, &abandoned.fingerprint, later),
        ExistingClaim::TakeOver
    );
    let by_a = abandoned.take_over("taker-a".into(), later, CLAIM_TTL);
    let by_b = abandoned.take_over("taker-b".into(), later, CLAIM_TTL);
    let (a, b) = tokio::join!(store.save(&abandoned, &by_a), store.save(&abandoned, &by_b));
    let (a, b) = (a.expect("save a"), b.expect("save b"));

    let (winner, loser_saw) = match (a, b) {
        (SaveOutcome::Saved, SaveOutcome::Stale(seen)) => (by_a, seen),
        (SaveOutcome::Stale(seen), SaveOutcome::Saved) => (by_b, seen),
        other => panic!("exactly one take-over must win, got {other:?}"),
    };
    assert_eq!(
        loser_saw.as_ref(),
        Some(&winner),
        "the loser is told who holds the claim"
    );
    assert_eq!(
        store.get(&winner.external_invoice_ref).await.expect("get"),
        Some(winner)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_succeeded_and_failed_from_one_read_settle_once() {
    let (store, _, _) = fresh_store().await;
    let at = now();
    let read = processing(&store, "INV-1", "PAYOUT-1", at).await;

    let done_at = at + Duration::seconds(5);
    let success = moved(&read, succeeded("PAYOUT-1"), done_at);
    let failure = moved(&read, reported_failed(), done_at);
    let (s, f) = tokio::join!(store.save(&read, &success), store.save(&read, &failure));
    let winner = match (s.expect("save success"), f.expect("save failure")) {
        (SaveOutcome::Saved, SaveOutcome::Stale(Some(seen))) => {
            assert_eq!(seen, success);
            success
        }
        (SaveOutcome::Stale(Some(seen)), SaveOutcome::Saved) => {
            assert_eq!(seen, failure);
            failure
        }
        other => panic!("exactly one final state must win, got {other:?}"),
    };
    let stored = store
        .get(&read.external_invoice_ref)
        .await
        .expect("get")
        .expect("stored");
    assert_eq!(stored, winner);
    let finals = stored.history.iter().filter(|h| h.to.is_final()).count();
    assert_eq!(finals, 1, "one final history entry: {:?}", stored.history);
    assert_eq!(stored.history.len(), 3, "created, accepted, settled");
}

#[tokio::test]
async fn a_final_payout_refuses_a_save_from_a_stale_read() {
    let (store, _, _) = fresh_store().await;
    let at = now();
    let read = processing(&store, "INV-1", "PAYOUT-1", at).await;
    let settled = moved(&read, succeeded("PAYOUT-1"), at + Duration::seconds(1));
    save(&store, &read, &settled).await;

    // A reconciler still holding the PROCESSING read tries to write its bookkeeping, then a FAILED.
    let checked = read.rescheduled_check(at + Duration::seconds(2), None);
    assert_eq!(
        store.save(&read, &checked).await.expect("save"),
        SaveOutcome::Stale(Some(settled.clone()))
    );
    let failed = moved(&read, reported_failed(), at + Duration::seconds(2));
    assert_eq!(
        store.save(&read, &failed).await.expect("save"),
        SaveOutcome::Stale(Some(settled.clone()))
    );
    assert_eq!(
        store.get(&read.external_invoice_ref).await.expect("get"),
        Some(settled)
    );
}

#[tokio::test]
async fn a_second_start_send_from_a_stale_copy_is_stale() {
    let (store, _, _) = fresh_store().await;
    let at = now();
    let created = pending("INV-1", "owner", at);
    create(&store, &created).await;
    let first = created.start_send(at, GRACE);
    save(&store, &created, &first).await;

    let second = created.start_send(at + Duration::seconds(1), GRACE);
    let SaveOutcome::Stale(Some(stored)) = store.save(&created, &second).await.expect("save")
    else {
        panic!("a second send from the same read must be refused");
    };
    assert_eq!(stored, first);
    assert_eq!(stored.send_state, SendState::Started);
}

#[tokio::test]
async fn save_refuses_a_next_state_that_is_not_the_following_version() {
    let (store, _, _) = fresh_store().await;
    let at = now();
    let created = pending("INV-1", "owner", at);
    create(&store, &created).await;
    let skipped = created.start_send(at, GRACE).start_send(at, GRACE);
    assert!(matches!(
        store.save(&created, &skipped).await,
        Err(StoreError::Corrupt(_))
    ));
    let mut other_ref = created.start_send(at, GRACE);
    other_ref.external_invoice_ref = pending("INV-2", "owner", at).external_invoice_ref;
    assert!(matches!(
        store.save(&created, &other_ref).await,
        Err(StoreError::Corrupt(_))
    ));
    assert_eq!(
        store.get(&created.external_invoice_ref).await.expect("get"),
        Some(created)
    );
}

#[tokio::test]
async fn get_of_an_unknown_ref_is_none() {
    let (store, _, _) = fresh_store().await;
    let unknown = pending("INV-NOPE", "owner", now()).external_invoice_ref;
    assert_eq!(store.get(&unknown).await.expect("get"), None);
}

#[tokio::test]
async fn due_for_check_returns_open_due_payouts_oldest_first_within_limit() {
    let (store, _, _) = fresh_store().await;
    let at = now();
    // new_pending schedules the first check at created + CLAIM_TTL.
    let due_at = |ago: i64| at - Duration::seconds(ago) - CLAIM_TTL;
    let oldest = pending("INV-OLDEST", "o", due_at(180));
    let middle = pending("INV-MIDDLE", "o", due_at(120));
    let newest = pending("INV-NEWEST", "o", due_at(60));
    let future = pending("INV-FUTURE", "o", at + Duration::seconds(300));
    let settled = pending("INV-SETTLED", "o", due_at(240));
    // Written out of order, so the order seen is the index's.
    for p in [&newest, &future, &oldest, &settled, &middle] {
        create(&store, p).await;
    }
    let was_due = store.due_for_check(at, 10).await.expect("due").payouts;
    assert!(
        was_due
            .iter()
            .any(|p| p.external_invoice_ref == settled.external_invoice_ref)
    );
    let final_settled = moved(&settled, reported_failed(), at);
    save(&store, &settled, &final_settled).await;

    let refs = |payouts: Vec<Payout>| {
        payouts
            .into_iter()
            .map(|p| p.external_invoice_ref.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        refs(store.due_for_check(at, 10).await.expect("due").payouts),
        ["INV-OLDEST", "INV-MIDDLE", "INV-NEWEST"]
    );
    assert_eq!(
        refs(store.due_for_check(at, 2).await.expect("due").payouts),
        ["INV-OLDEST", "INV-MIDDLE"]
    );
    assert!(
        store
            .due_for_check(at, 0)
            .await
            .expect("due")
            .payouts
            .is_empty()
    );
    let all = store
        .due_for_check(at + Duration::seconds(3600), 10)
        .await
        .expect("due")
        .payouts;
    assert_eq!(
        refs(all),
        ["INV-OLDEST", "INV-MIDDLE", "INV-NEWEST", "INV-FUTURE"]
    );
    // Full payouts come back from the index, equal to what was written.
    assert_eq!(
        store.due_for_check(at, 1).await.expect("due").payouts,
        [oldest]
    );
}

#[tokio::test]
async fn find_by_invoice_no_finds_a_payout_once_accepted_and_not_before() {
    let (store, _, _) = fresh_store().await;
    let at = now();
    let created = pending("INV-1", "owner", at);
    create(&store, &created).await;
    assert_eq!(
        store
            .find_by_invoice_no("PAYOUT-A9D5:174307-LEANX")
            .await
            .expect("find"),
        None
    );

    let sending = created.start_send(at, GRACE);
    save(&store, &created, &sending).await;
    let accepted = moved(&sending, accepted("PAYOUT-A9D5:174307-LEANX"), at);
    save(&store, &sending, &accepted).await;
    assert_eq!(
        store
            .find_by_invoice_no("PAYOUT-A9D5:174307-LEANX")
            .await
            .expect("find"),
        Some(accepted)
    );
    assert_eq!(
        store
            .find_by_invoice_no("PAYOUT-OTHER")
            .await
            .expect("find"),
        None
    );
}

#[tokio::test]
async fn item_layout_keeps_sparse_index_attributes_absent_until_they_apply() {
    let (store, client, table) = fresh_store().await;
    let at = now();
    let created = pending("INV-1", "owner", at);
    create(&store, &created).await;
    let item = raw_item(&client, &table, "INV-1").await;
    assert!(
        !item.contains_key("invoice_no"),
        "absent, never NULL: {item:?}"
    );
    assert_eq!(item.get("due_pk"), Some(&AttributeValue::S("OPEN".into())));
    let due = (at + CLAIM_TTL)
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string();
    assert_eq!(item.get("due_at"), Some(&AttributeValue::S(due)));
    assert_eq!(item.get("version"), Some(&AttributeValue::N("1".into())));
    assert!(matches!(item.get("history"), Some(AttributeValue::L(h)) if h.len() == 1));

    let processing = processing_from(&store, &created, at).await;
    let settled = moved(&processing, succeeded("PAYOUT-1"), at);
    save(&store, &processing, &settled).await;
    let item = raw_item(&client, &table, "INV-1").await;
    assert_eq!(
        item.get("invoice_no"),
        Some(&AttributeValue::S("PAYOUT-1".into()))
    );
    assert!(
        !item.contains_key("due_pk") && !item.contains_key("due_at"),
        "final drops out: {item:?}"
    );
    assert_eq!(
        item.get("status"),
        Some(&AttributeValue::S("SUCCEEDED".into()))
    );
    assert!(matches!(item.get("history"), Some(AttributeValue::L(h)) if h.len() == 3));
}

async fn processing_from(store: &impl PayoutStore, created: &Payout, at: DateTime<Utc>) -> Payout {
    let sending = created.start_send(at, GRACE);
    save(store, created, &sending).await;
    let processing = moved(&sending, accepted("PAYOUT-1"), at);
    save(store, &sending, &processing).await;
    processing
}

#[tokio::test]
async fn extreme_amounts_round_trip_exactly() {
    let (store, client, table) = fresh_store().await;
    let at = now();
    for (reference, amount) in [
        ("INV-MAX", "99999999.99"),
        ("INV-MIN", "0.01"),
        ("INV-TENTH", "0.1"),
    ] {
        let p = Payout::new_pending(
            &request(reference, amount, "John Doe"),
            "o".into(),
            at,
            CLAIM_TTL,
        );
        create(&store, &p).await;
        let stored = store
            .get(&p.external_invoice_ref)
            .await
            .expect("get")
            .expect("stored");
        assert_eq!(stored.amount, p.amount);
        assert_eq!(
            stored.amount.to_client_string(),
            p.amount.to_client_string()
        );
        let expected = if amount == "0.1" { "0.10" } else { amount };
        let item = raw_item(&client, &table, reference).await;
        assert_eq!(
            item.get("amount"),
            Some(&AttributeValue::S(expected.into())),
            "stored as text"
        );
    }
}

#[tokio::test]
async fn unmatched_callbacks_are_kept_and_listed_newest_first() {
    let (store, _, _) = fresh_store().await;
    let at = now();
    let callbacks: Vec<UnmatchedCallback> = (0..3)
        .map(|i| UnmatchedCallback {
            id: format!("cb-{i}"),
            received_at: at + Duration::milliseconds(1500 * i),
            reason: "no payout with this external_invoice_ref or invoice_no".into(),
            claims: CallbackClaims {
                invoice_no: format!("PAYOUT-ORPHAN-{i}"),
                invoice_status: "SUCCESS".into(),
                amount: Some(r#""1.00""#.into()),
                external_invoice_ref: (i != 1).then(|| format!("INV-UNKNOWN-{i}")),
                virtual_pool_reference: None,
                recipient_reference: None,
                third_party_account_no: None,
                payout_service_id: None,
            },
        })
        .collect();
    for callback in &callbacks {
        store
            .record_unmatched_callback(callback)
            .await
            .expect("record");
    }
    let newest_first: Vec<_> = callbacks.iter().rev().cloned().collect();
    assert_eq!(
        store.unmatched_callbacks(10).await.expect("list"),
        newest_first
    );
    assert_eq!(
        store.unmatched_callbacks(2).await.expect("list"),
        newest_first[..2]
    );
    // A replayed token (same id) is the same record, never a second one.
    let mut replayed = callbacks[0].clone();
    replayed.received_at = at + Duration::seconds(60);
    store
        .record_unmatched_callback(&replayed)
        .await
        .expect("record a replay");
    assert_eq!(
        store.unmatched_callbacks(10).await.expect("list"),
        newest_first
    );
    // They are kept apart from payouts: never found as one by invoice number.
    assert_eq!(
        store
            .find_by_invoice_no("PAYOUT-ORPHAN-0")
            .await
            .expect("find"),
        None
    );
    assert!(
        store
            .due_for_check(at + Duration::days(1), 10)
            .await
            .expect("due")
            .payouts
            .is_empty()
    );
}

/// Counts every HTTP request the SDK sends (retries included) and asks DynamoDB for the
/// capacity each consumed.
#[derive(Debug, Clone, Default)]
struct Meter(Arc<Mutex<Metered>>);

#[derive(Debug, Default)]
struct Metered {
    /// `x-amz-target` of every request sent, e.g. `DynamoDB_20120810.PutItem`.
    requests: Vec<String>,
    /// Capacity units each answered request consumed, as DynamoDB wrote them.
    capacity: Vec<(String, Decimal)>,
}

impl Meter {
    fn reset(&self) {
        let mut m = self.0.lock().expect("meter lock");
        m.requests.clear();
        m.capacity.clear();
    }

    fn take(&self) -> (Vec<String>, Vec<(String, Decimal)>) {
        let mut m = self.0.lock().expect("meter lock");
        (
            std::mem::take(&mut m.requests),
            std::mem::take(&mut m.capacity),
        )
    }
}

fn units(capacity: Option<&ConsumedCapacity>) -> Option<Decimal> {
    // Through text, so the SDK's float becomes an exact decimal without float arithmetic here.
    capacity
        .and_then(|c| c.capacity_units())
        .and_then(|u| Decimal::from_str(&u.to_string()).ok())
}

impl Intercept for Meter {
    fn name(&self) -> &'static str {
        "Meter"
    }

    fn modify_before_serialization(
        &self,
        context: &mut BeforeSerializationInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let input = context.input_mut();
        let total = Some(ReturnConsumedCapacity::Total);
        if let Some(put) = input.downcast_mut::<PutItemInput>() {
            put.return_consumed_capacity = total;
        } else if let Some(get) = input.downcast_mut::<GetItemInput>() {
            get.return_consumed_capacity = total;
        } else if let Some(query) = input.downcast_mut::<QueryInput>() {
            query.return_consumed_capacity = total;
        }
        Ok(())
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let target = context
            .request()
            .headers()
            .get("x-amz-target")
            .unwrap_or("?")
            .to_owned();
        self.0.lock().expect("meter lock").requests.push(target);
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Ok(output) = context.output_or_error() else {
            return Ok(());
        };
        let measured = if let Some(o) = output.downcast_ref::<PutItemOutput>() {
            units(o.consumed_capacity()).map(|u| ("PutItem", u))
        } else if let Some(o) = output.downcast_ref::<GetItemOutput>() {
            units(o.consumed_capacity()).map(|u| ("GetItem", u))
        } else if let Some(o) = output.downcast_ref::<QueryOutput>() {
            units(o.consumed_capacity()).map(|u| ("Query", u))
        } else {
            None
        };
        if let Some((operation, units)) = measured {
            self.0
                .lock()
                .expect("meter lock")
                .capacity
                .push((operation.to_owned(), units));
        }
        Ok(())
    }
}

#[tokio::test]
async fn happy_path_takes_exactly_five_requests() {
    let meter = Meter::default();
    let (store, _, _) =
        fresh_store_with(local_config().await.interceptor(meter.clone()).build()).await;
    meter.reset();

    let at = now();
    let created = pending("INV-HAPPY", "owner", at);
    create(&store, &created).await;
    let sending = created.start_send(at, GRACE);
    save(&store, &created, &sending).await;
    let processing = moved(&sending, accepted("PAYOUT-1"), at);
    save(&store, &sending, &processing).await;
    let settled = moved(&processing, succeeded("PAYOUT-1"), at);
    save(&store, &processing, &settled).await;
    assert_eq!(
        store.get(&created.external_invoice_ref).await.expect("get"),
        Some(settled)
    );

    let (requests, capacity) = meter.take();
    let write_units: Decimal = capacity
        .iter()
        .filter(|(op, _)| op == "PutItem")
        .map(|(_, u)| *u)
        .sum();
    let read_units: Decimal = capacity
        .iter()
        .filter(|(op, _)| op != "PutItem")
        .map(|(_, u)| *u)
        .sum();
    println!("happy path: {} requests {requests:?}", requests.len());
    println!(
        "consumed capacity per request: {capacity:?}; total write {write_units}, read {read_units}"
    );
    let item = raw_item(store.client(), store.table_name(), "INV-HAPPY").await;
    let bytes: usize = item
        .iter()
        .map(|(name, value)| name.len() + item_bytes(value))
        .sum();
    println!("final payout item: about {bytes} bytes (DynamoDB's size rules)");
    let operations: Vec<&str> = requests
        .iter()
        .map(|t| t.rsplit('.').next().unwrap_or(t))
        .collect();
    assert_eq!(
        operations,
        ["PutItem", "PutItem", "PutItem", "PutItem", "GetItem"]
    );
}

/// An item's size by DynamoDB's rules (names + values; numbers about one byte per two digits;
/// 3 bytes per list or map plus 1 per element), to read WCU on real DynamoDB off the report.
fn item_bytes(value: &AttributeValue) -> usize {
    match value {
        AttributeValue::S(text) => text.len(),
        AttributeValue::N(number) => number.len().div_ceil(2) + 1,
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::L(items) => 3 + items.iter().map(|v| 1 + item_bytes(v)).sum::<usize>(),
        AttributeValue::M(fields) => {
            3 + fields
                .iter()
                .map(|(k, v)| 1 + k.len() + item_bytes(v))
                .sum::<usize>()
        }
        _ => 0,
    }
}

#[tokio::test]
async fn a_create_retried_after_it_landed_is_still_ours() {
    let (store, _, _) = fresh_store().await;
    let claim = pending("INV-RETRY", "only-request", now());
    create(&store, &claim).await;
    // What the SDK's automatic retry does when the first answer was lost.
    assert_eq!(
        store.create_pending(&claim).await.expect("create"),
        ClaimOutcome::Created
    );
}

#[tokio::test]
async fn a_save_retried_after_it_landed_is_still_saved() {
    let (store, _, _) = fresh_store().await;
    let at = now();
    let claim = pending("INV-RETRY-SAVE", "only-request", at);
    create(&store, &claim).await;
    let sending = claim.start_send(at, CLAIM_TTL);
    assert_eq!(
        store.save(&claim, &sending).await.expect("save"),
        SaveOutcome::Saved
    );
    assert_eq!(
        store.save(&claim, &sending).await.expect("save"),
        SaveOutcome::Saved
    );
    // Another writer's change from the same read is still stale.
    let other = claim.take_over("someone-else".into(), at, CLAIM_TTL);
    assert!(matches!(
        store.save(&claim, &other).await.expect("save"),
        SaveOutcome::Stale(Some(stored)) if stored == sending
    ));
}

/// Issue 11, finding 7: one item on the due index that does not decode as a payout is returned
/// as undecodable, with its key; the other due payouts still come back.
#[tokio::test]
async fn an_undecodable_due_item_is_reported_with_its_key_and_the_others_still_come_back() {
    let (store, client, table) = fresh_store().await;
    let at = now();
    let good = pending("INV-GOOD", "o", at - Duration::seconds(60));
    create(&store, &good).await;
    client
        .put_item()
        .table_name(&table)
        .item("pk", AttributeValue::S("PAYOUT#INV-BROKEN".into()))
        .item("sk", AttributeValue::S("PAYOUT".into()))
        .item("due_pk", AttributeValue::S("OPEN".into()))
        .item(
            "due_at",
            AttributeValue::S("2000-01-01T00:00:00.000Z".into()),
        )
        .item("status", AttributeValue::S("NOT_A_STATUS".into()))
        .send()
        .await
        .expect("put a corrupt item");
    let due = store.due_for_check(at, 10).await.expect("due");
    assert_eq!(due.payouts, vec![good]);
    assert_eq!(due.undecodable.len(), 1, "{due:?}");
    assert_eq!(due.undecodable[0].key, "PAYOUT#INV-BROKEN");
}

// ---------------------------------------------------------------- GET /payouts: by_created

/// One page of a listing, as of now.
async fn list_page(
    store: &impl PayoutListing,
    filter: &ListFilter,
    after: Option<ListPosition>,
    limit: usize,
) -> ListedPage {
    store
        .list(&ListRequest {
            filter: filter.clone(),
            after,
            limit,
            now: now(),
        })
        .await
        .expect("list")
}

/// Every page of a listing, newest first, read through `list` alone.
async fn list_all(store: &impl PayoutListing, filter: ListFilter, limit: usize) -> Vec<String> {
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let ListedPage { payouts, more, .. } = list_page(store, &filter, after.take(), limit).await;
        assert!(payouts.len() <= limit);
        seen.extend(payouts.iter().map(|p| p.external_invoice_ref.to_string()));
        match (more, payouts.last()) {
            (true, Some(last)) => after = Some(ListPosition::of(last)),
            _ => return seen,
        }
    }
}

/// Payouts `INV-L-000`, `INV-L-001`, … created `days_apart` days apart, the last one now.
async fn created_over_days(store: &impl PayoutStore, count: usize, days_apart: i64) -> Vec<Payout> {
    let mut made = Vec::new();
    for i in 0..count {
        let at = now() - Duration::days(days_apart * (count - 1 - i) as i64);
        let payout = pending(&format!("INV-L-{i:03}"), "owner", at);
        create(store, &payout).await;
        made.push(payout);
    }
    made
}

#[tokio::test]
async fn listing_walks_the_months_newest_first_with_queries_only() {
    let meter = Meter::default();
    let (store, _, _) =
        fresh_store_with(local_config().await.interceptor(meter.clone()).build()).await;
    // Nine payouts 20 days apart: spread over five or six month partitions.
    created_over_days(&store, 9, 20).await;
    meter.reset();

    let seen = list_all(&store, ListFilter::default(), 2).await;

    let expected: Vec<String> = (0..9).rev().map(|i| format!("INV-L-{i:03}")).collect();
    assert_eq!(seen, expected);
    let (requests, _) = meter.take();
    assert!(!requests.is_empty());
    assert!(
        requests.iter().all(|t| t.ends_with(".Query")),
        "listing made other requests than Query: {requests:?}"
    );
}

/// With a FilterExpression DynamoDB applies Limit before the filter, so a Query page can come
/// back short or empty while more matches remain: the page is still filled, across Queries.
#[tokio::test]
async fn a_status_filter_still_fills_the_page_past_short_query_pages() {
    let (store, _, _) = fresh_store().await;
    // 410 payouts, three of them FAILED, far apart: more than one Query apart.
    let made = created_over_days(&store, 410, 0).await;
    for i in [400, 150, 5] {
        let sending = made[i].start_send(now(), GRACE);
        save(&store, &made[i], &sending).await;
        let failed = moved(&sending, reported_failed(), now());
        save(&store, &sending, &failed).await;
    }
    let filter = ListFilter {
        status: Some(PayoutStatus::Failed),
        ..ListFilter::default()
    };
    let first = list_page(&store, &filter, None, 2).await;
    assert_eq!(first.payouts.len(), 2);
    assert!(first.more);
    assert_eq!(
        list_all(&store, filter, 2).await,
        ["INV-L-400", "INV-L-150", "INV-L-005"]
    );
}

#[tokio::test]
async fn creation_bounds_select_from_inclusive_to_exclusive_across_months() {
    let (store, _, _) = fresh_store().await;
    let made = created_over_days(&store, 6, 25).await;
    let filter = ListFilter {
        status: None,
        created_from: Some(made[1].created_at),
        created_to: Some(made[4].created_at),
    };
    assert_eq!(
        list_all(&store, filter, 10).await,
        ["INV-L-003", "INV-L-002", "INV-L-001"]
    );
}

/// An item written before `by_created` existed (no listing attributes) is not listed; its next
/// write, which rewrites the whole item, puts it on the index.
#[tokio::test]
async fn a_payout_stored_before_the_index_joins_it_on_its_next_write() {
    let (store, client, table) = fresh_store().await;
    let at = now();
    let old = pending("INV-OLD", "owner", at);
    create(&store, &old).await;
    client
        .update_item()
        .table_name(&table)
        .key("pk", AttributeValue::S("PAYOUT#INV-OLD".into()))
        .key("sk", AttributeValue::S("PAYOUT".into()))
        .update_expression("REMOVE list_pk, list_sk")
        .send()
        .await
        .expect("strip the listing attributes");
    assert!(list_all(&store, ListFilter::default(), 10).await.is_empty());

    let sending = old.start_send(at, GRACE);
    save(&store, &old, &sending).await;
    assert_eq!(
        list_all(&store, ListFilter::default(), 10).await,
        ["INV-OLD"]
    );
}

#[tokio::test]
async fn a_listed_item_that_does_not_decode_is_reported_and_the_others_still_come_back() {
    let (store, client, table) = fresh_store().await;
    let good = pending("INV-GOOD", "owner", now());
    create(&store, &good).await;
    client
        .put_item()
        .table_name(&table)
        .item("pk", AttributeValue::S("PAYOUT#INV-BROKEN".into()))
        .item("sk", AttributeValue::S("PAYOUT".into()))
        .item(
            "list_pk",
            AttributeValue::S(format!("PAYOUT#{}", now().format("%Y-%m"))),
        )
        .item(
            "list_sk",
            AttributeValue::S("0000-broken#INV-BROKEN".into()),
        )
        .send()
        .await
        .expect("raw PutItem");
    let page = list_page(&store, &ListFilter::default(), None, 10).await;
    assert_eq!(page.payouts, vec![good]);
    assert_eq!(page.undecodable.len(), 1);
    assert_eq!(page.undecodable[0].key, "PAYOUT#INV-BROKEN");
}

/// No payout exists before January 2026 or after tomorrow: bounds far outside cost one Query per
/// month where a payout can be, not one per month back to the year 336 (found by schemathesis).
#[tokio::test]
async fn bounds_far_in_the_past_and_future_query_only_the_months_payouts_can_be_in() {
    let meter = Meter::default();
    let (store, _, _) =
        fresh_store_with(local_config().await.interceptor(meter.clone()).build()).await;
    let only = pending("INV-ONLY", "owner", now());
    create(&store, &only).await;
    meter.reset();
    let filter = ListFilter {
        status: None,
        created_from: Some("0336-04-18T18:08:47Z".parse().unwrap()),
        created_to: Some("9999-12-31T00:00:00Z".parse().unwrap()),
    };
    assert_eq!(list_all(&store, filter, 50).await, ["INV-ONLY"]);
    let (requests, _) = meter.take();
    let months_since_2026 = (now().year() - 2026) * 12 + now().month() as i32 + 1;
    assert!(
        requests.len() <= months_since_2026 as usize,
        "{} Queries for {months_since_2026} months",
        requests.len()
    );
}
