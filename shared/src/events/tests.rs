use chrono::{DateTime, Duration, Utc};

use super::*;
use crate::domain::{Change, Failure, PayoutRequest};

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + seconds, 0).expect("valid time")
}

fn created() -> Payout {
    let request = PayoutRequest::from_json(
        br#"{"external_invoice_ref":"INV-EV-1","payout_service_id":23,"amount":"13.00",
            "recipient_name":"John","third_party_account_no":"8011408168","recipient_reference":"R"}"#,
    )
    .expect("valid request");
    Payout::new_pending(&request, "owner".into(), at(0), Duration::seconds(30))
}

fn change(to: PayoutStatus, cause: &'static str) -> Change {
    Change {
        to,
        invoice_no: Some("INV-LX-1".into()),
        failure: None,
        cause,
    }
}

#[test]
fn an_insert_gives_one_payout_pending_event() {
    let p = created();
    let events = events_of_change(None, Some(&p));
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_type, EventType::Pending);
    assert_eq!(events[0].data.version, 1);
    assert_eq!(events[0].data.payout, PayoutView::from(&p));
}

#[test]
fn bookkeeping_writes_give_no_event() {
    let p = created();
    let sent = p.start_send(at(1), Duration::seconds(60));
    let rescheduled = sent.rescheduled_check(at(2), None);
    assert!(events_of_change(Some(&p), Some(&sent)).is_empty());
    assert!(events_of_change(Some(&sent), Some(&rescheduled)).is_empty());
}

#[test]
fn each_status_change_gives_one_event_of_its_type_with_the_payout_after_it() {
    let p = created().start_send(at(1), Duration::seconds(60));
    let processing = p.apply(&change(PayoutStatus::Processing, "leanx_accepted"), at(2));
    let mut failed_change = change(PayoutStatus::Failed, "leanx_status");
    failed_change.failure = Some(Failure {
        code: "rejected".into(),
        message: "ACCOUNT CLOSED".into(),
    });
    let failed = processing.apply(&failed_change, at(3));

    let first = events_of_change(Some(&p), Some(&processing));
    let second = events_of_change(Some(&processing), Some(&failed));
    assert_eq!(first.len(), 1);
    assert_eq!(second.len(), 1);
    assert_eq!(first[0].event_type, EventType::Processing);
    assert_eq!(second[0].event_type, EventType::Failed);
    assert_eq!(second[0].data.version, failed.version);
    assert_eq!(second[0].data.payout.status, PayoutStatus::Failed);
    assert_eq!(second[0].created_at, "2027-01-15T08:00:03.000Z");
    assert_ne!(first[0].id, second[0].id);
}

#[test]
fn a_redelivered_record_gives_the_same_ids() {
    let p = created();
    let processing = p.apply(&change(PayoutStatus::Processing, "leanx_accepted"), at(2));
    let once = events_of_change(Some(&p), Some(&processing));
    let again = events_of_change(Some(&p), Some(&processing));
    assert_eq!(once, again);
    assert!(once[0].id.starts_with("evt_") && once[0].id.len() == 4 + 24);
}

#[test]
fn ids_differ_between_payouts_and_versions() {
    assert_ne!(event_id("INV-A", 2, 1), event_id("INV-B", 2, 1));
    assert_ne!(event_id("INV-A", 2, 1), event_id("INV-A", 3, 1));
    assert_eq!(event_id("INV-A", 2, 1), event_id("INV-A", 2, 1));
}

#[test]
fn a_deletion_gives_no_event() {
    let p = created();
    assert!(events_of_change(Some(&p), None).is_empty());
}

#[test]
fn the_event_json_has_the_api_md_shape() {
    let p = created();
    let json: serde_json::Value =
        serde_json::from_str(&events_of_change(None, Some(&p))[0].to_json()).expect("json");
    assert_eq!(json["type"], "payout.pending");
    assert_eq!(json["data"]["external_invoice_ref"], "INV-EV-1");
    assert_eq!(json["data"]["status"], "PENDING");
    assert_eq!(json["data"]["version"], 1);
    assert_eq!(json["data"]["amount"], "13.00");
    assert!(json["id"].as_str().is_some_and(|id| id.starts_with("evt_")));
}
