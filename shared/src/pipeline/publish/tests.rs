use std::sync::Mutex;

use chrono::{DateTime, Duration};
use serde_json::{Value, json};

use super::*;
use crate::domain::{Change, PayoutRequest, PayoutStatus};
use crate::pipeline::dynamodb_json;
use crate::store::payout_to_item;

fn payout(reference: &str) -> Payout {
    let request = PayoutRequest::from_json(
        json!({"external_invoice_ref": reference, "payout_service_id": 23, "amount": "13.00",
            "recipient_name": "John", "third_party_account_no": "8011408168", "recipient_reference": "R"})
        .to_string()
        .as_bytes(),
    )
    .expect("valid request");
    let now = DateTime::from_timestamp(1_800_000_000, 0).expect("valid time");
    Payout::new_pending(&request, "owner".into(), now, Duration::seconds(30))
}

fn processing(p: &Payout) -> Payout {
    p.apply(
        &Change {
            to: PayoutStatus::Processing,
            invoice_no: Some("LX-1".into()),
            failure: None,
            cause: "leanx_accepted",
        },
        p.updated_at + Duration::seconds(1),
    )
}

fn image(p: Option<&Payout>) -> Value {
    p.map_or(Value::Null, |p| {
        dynamodb_json(&payout_to_item(p).expect("maps"))
    })
}

fn record(sequence: u32, old: Option<&Payout>, new: Option<&Payout>) -> Value {
    let keys_of = new
        .or(old)
        .map(|p| format!("PAYOUT#{}", p.external_invoice_ref));
    let mut change = json!({
        "ApproximateCreationDateTime": 1_800_000_000.0,
        "Keys": {"pk": {"S": keys_of}, "sk": {"S": "PAYOUT"}},
        "SequenceNumber": sequence.to_string(),
        "SizeBytes": 100,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    });
    if old.is_some() {
        change["OldImage"] = image(old);
    }
    if new.is_some() {
        change["NewImage"] = image(new);
    }
    json!({
        "eventID": format!("e{sequence}"),
        "eventName": if old.is_none() { "INSERT" } else { "MODIFY" },
        "awsRegion": "us-east-1",
        "eventSource": "aws:dynamodb",
        "dynamodb": change,
    })
}

fn stream(records: Vec<Value>) -> StreamEvent {
    serde_json::from_value(json!({ "Records": records })).expect("a stream event")
}

/// A bus that refuses the entries whose event ids it is told to, `times` times each.
#[derive(Default)]
struct Bus {
    calls: Mutex<Vec<Vec<Event>>>,
    refuse: Mutex<Vec<(String, u32)>>,
}

#[async_trait]
impl EventSink for Bus {
    async fn put(&self, events: &[Event]) -> Vec<Option<String>> {
        self.calls.lock().unwrap().push(events.to_vec());
        let mut refuse = self.refuse.lock().unwrap();
        events
            .iter()
            .map(
                |e| match refuse.iter_mut().find(|(id, n)| *id == e.id && *n > 0) {
                    Some((_, n)) => {
                        *n -= 1;
                        Some("InternalFailure".into())
                    }
                    None => None,
                },
            )
            .collect()
    }
}

impl Bus {
    fn accepted(&self) -> Vec<Event> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .flatten()
            .cloned()
            .collect()
    }
}

#[tokio::test]
async fn each_status_change_is_put_once_and_bookkeeping_is_not() {
    let p = payout("INV-P-1");
    let sent = p.start_send(p.updated_at, Duration::seconds(60));
    let accepted = processing(&sent);
    let publisher = Publisher {
        sink: Bus::default(),
    };
    let answer = publisher
        .run(stream(vec![
            record(1, None, Some(&p)),
            record(2, Some(&p), Some(&sent)),
            record(3, Some(&sent), Some(&accepted)),
        ]))
        .await;
    assert_eq!(answer, BatchResponse::default());
    let types: Vec<_> = publisher
        .sink
        .accepted()
        .iter()
        .map(|e| e.event_type)
        .collect();
    assert_eq!(
        types,
        vec![
            crate::events::EventType::Pending,
            crate::events::EventType::Processing
        ]
    );
}

#[tokio::test]
async fn items_that_are_not_payouts_are_ignored() {
    let mut unmatched = record(1, None, Some(&payout("INV-P-2")));
    unmatched["dynamodb"]["Keys"]["pk"] = json!({"S": "UNMATCHED"});
    let publisher = Publisher {
        sink: Bus::default(),
    };
    assert_eq!(
        publisher.run(stream(vec![unmatched])).await,
        BatchResponse::default()
    );
    assert!(publisher.sink.accepted().is_empty());
}

#[tokio::test]
async fn puts_at_most_ten_entries_a_call() {
    let payouts: Vec<_> = (0..23).map(|i| payout(&format!("INV-B-{i}"))).collect();
    let records = payouts
        .iter()
        .enumerate()
        .map(|(i, p)| record(i as u32 + 1, None, Some(p)))
        .collect();
    let publisher = Publisher {
        sink: Bus::default(),
    };
    publisher.run(stream(records)).await;
    let sizes: Vec<_> = publisher
        .sink
        .calls
        .lock()
        .unwrap()
        .iter()
        .map(Vec::len)
        .collect();
    assert_eq!(sizes, vec![10, 10, 3]);
}

#[tokio::test]
async fn a_refused_entry_is_retried_and_then_accepted() {
    let p = payout("INV-R-1");
    let id = events_of_change(None, Some(&p))[0].id.clone();
    let publisher = Publisher {
        sink: Bus::default(),
    };
    publisher.sink.refuse.lock().unwrap().push((id.clone(), 1));
    assert_eq!(
        publisher.run(stream(vec![record(1, None, Some(&p))])).await,
        BatchResponse::default()
    );
    assert_eq!(publisher.sink.calls.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn an_entry_refused_every_time_reports_its_record_so_the_stream_retries_from_it() {
    let a = payout("INV-F-1");
    let b = payout("INV-F-2");
    let id_b = events_of_change(None, Some(&b))[0].id.clone();
    let publisher = Publisher {
        sink: Bus::default(),
    };
    publisher
        .sink
        .refuse
        .lock()
        .unwrap()
        .push((id_b, PUT_ATTEMPTS));
    let answer = publisher
        .run(stream(vec![
            record(7, None, Some(&a)),
            record(8, None, Some(&b)),
        ]))
        .await;
    assert_eq!(answer, BatchResponse::failing(["8".to_string()]));
}

#[tokio::test]
async fn a_corrupt_payout_image_is_reported_as_the_failed_record() {
    let good = payout("INV-C-1");
    let mut bad = record(5, None, Some(&payout("INV-C-2")));
    bad["dynamodb"]["NewImage"]["amount"] = json!({"S": "not money"});
    let publisher = Publisher {
        sink: Bus::default(),
    };
    let answer = publisher
        .run(stream(vec![record(4, None, Some(&good)), bad]))
        .await;
    assert_eq!(answer, BatchResponse::failing(["5".to_string()]));
    assert_eq!(publisher.sink.accepted().len(), 1);
}
