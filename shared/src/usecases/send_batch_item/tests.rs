use std::sync::Arc;

use chrono::Duration;

use super::*;
use crate::config::Timings;
use crate::domain::{
    PartialMatch, PayoutRequest, PayoutStatus, RecipientPolicy, SendState, VerificationMode,
};
use crate::leanx::{AcceptedPayout, LeanxError};
use crate::testing::{InMemoryStore, InMemoryVerifications, ScriptedProvider, payout_body, t0};
use crate::usecases::{PayoutDestination, RecipientCheck};

fn sender(
    store: &Arc<InMemoryStore>,
    leanx: &Arc<ScriptedProvider>,
    policy: RecipientPolicy,
) -> SendBatchItem {
    SendBatchItem {
        create: CreatePayout {
            store: store.clone(),
            provider: leanx.clone(),
            destination: PayoutDestination {
                virtual_pool_reference: "VA-1".into(),
                callback_url: "http://127.0.0.1/callbacks/leanx".into(),
            },
            timings: Timings::default(),
            recipients: RecipientCheck {
                policy,
                accounts: leanx.clone(),
                verifications: Arc::new(InMemoryVerifications::new()),
            },
        },
    }
}

fn queued(store: &InMemoryStore, reference: &str) -> QueuedItemMessage {
    let request = PayoutRequest::from_json(&payout_body(reference)).unwrap();
    store.put(Payout::new_batch_item(
        &request,
        "B-1",
        0,
        t0(),
        Duration::hours(6),
    ));
    QueuedItemMessage {
        batch_ref: "B-1".into(),
        external_invoice_ref: reference.into(),
    }
}

fn accepted(invoice_no: &str) -> Result<AcceptedPayout, LeanxError> {
    Ok(AcceptedPayout {
        status: Some("SUCCESS".into()),
        invoice_no: invoice_no.into(),
    })
}

fn world() -> (Arc<InMemoryStore>, Arc<ScriptedProvider>) {
    (
        Arc::new(InMemoryStore::new()),
        Arc::new(ScriptedProvider::new()),
    )
}

#[tokio::test]
async fn a_queued_item_is_sent_once_and_recorded_processing() {
    let (store, leanx) = world();
    let message = queued(&store, "S-1");
    leanx.answer_create(accepted("PAYOUT-1"));
    let outcome = sender(&store, &leanx, RecipientPolicy::default())
        .run(&message, t0())
        .await
        .unwrap();
    let ItemSendOutcome::Sent(payout) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(payout.status, PayoutStatus::Processing);
    assert_eq!(payout.batch_ref.as_deref(), Some("B-1"));
    assert_eq!(leanx.sent(), ["S-1"]);
}

#[tokio::test]
async fn a_second_delivery_of_the_same_item_sends_nothing() {
    let (store, leanx) = world();
    let message = queued(&store, "S-1");
    leanx.answer_create(accepted("PAYOUT-1"));
    let send = sender(&store, &leanx, RecipientPolicy::default());
    send.run(&message, t0()).await.unwrap();
    let again = send
        .run(&message, t0() + Duration::seconds(1))
        .await
        .unwrap();
    assert_eq!(again, ItemSendOutcome::AlreadyDone);
    assert_eq!(leanx.sent().len(), 1);
}

#[tokio::test]
async fn a_lost_answer_leaves_the_item_pending_send_started_and_it_is_never_resent() {
    let (store, leanx) = world();
    let message = queued(&store, "S-1");
    leanx.answer_create(Err(LeanxError::OutcomeUnknown("timed out".into())));
    let send = sender(&store, &leanx, RecipientPolicy::default());
    let first = send.run(&message, t0()).await.unwrap();
    let ItemSendOutcome::Sent(payout) = first else {
        panic!("{first:?}")
    };
    assert_eq!(
        (payout.status, payout.send_state),
        (PayoutStatus::Pending, SendState::Started)
    );
    let again = send.run(&message, t0() + Duration::hours(7)).await.unwrap();
    assert_eq!(again, ItemSendOutcome::AlreadyDone);
    assert_eq!(
        leanx.sent().len(),
        1,
        "asked about by the reconciler, never re-sent"
    );
}

#[tokio::test]
async fn a_send_that_never_left_is_retried_by_the_queue_and_then_sent_once() {
    let (store, leanx) = world();
    let message = queued(&store, "S-1");
    for _ in 0..3 {
        leanx.answer_create(Err(LeanxError::NotSent("connection refused".into())));
    }
    leanx.answer_create(accepted("PAYOUT-1"));
    let send = sender(&store, &leanx, RecipientPolicy::default());
    let first = send.run(&message, t0()).await.unwrap();
    assert!(
        matches!(first, ItemSendOutcome::RetryLater { .. }),
        "{first:?}"
    );
    let released = store.stored("S-1").unwrap();
    assert_eq!(released.send_state, SendState::NotStarted);
    let second = send
        .run(&message, t0() + Duration::seconds(60))
        .await
        .unwrap();
    assert!(
        matches!(second, ItemSendOutcome::Sent(ref p) if p.status == PayoutStatus::Processing),
        "{second:?}"
    );
    assert_eq!(store.stored("S-1").unwrap().claim_owner, "batch:B-1");
}

#[tokio::test]
async fn an_item_a_post_payouts_request_holds_waits_for_it() {
    let (store, leanx) = world();
    let message = queued(&store, "S-1");
    let mut held = store.stored("S-1").unwrap();
    held.claim_owner = "a-create-request".into();
    held.claim_expires_at = t0() + Duration::seconds(20);
    store.put(held);
    let outcome = sender(&store, &leanx, RecipientPolicy::default())
        .run(&message, t0())
        .await
        .unwrap();
    assert!(
        matches!(outcome, ItemSendOutcome::RetryLater { .. }),
        "{outcome:?}"
    );
    assert!(leanx.sent().is_empty());
}

#[tokio::test]
async fn an_item_the_reconciler_closed_as_never_sent_is_not_sent() {
    let (store, leanx) = world();
    let message = queued(&store, "S-1");
    let mut closed = store.stored("S-1").unwrap();
    closed.status = PayoutStatus::Failed;
    store.put(closed);
    let outcome = sender(&store, &leanx, RecipientPolicy::default())
        .run(&message, t0())
        .await
        .unwrap();
    assert_eq!(outcome, ItemSendOutcome::AlreadyDone);
    assert!(leanx.sent().is_empty());
}

#[tokio::test]
async fn a_recipient_mismatch_under_the_required_policy_fails_the_item_unsent() {
    let (store, leanx) = world();
    let message = queued(&store, "S-1");
    leanx.answer_holder("SITI AMINAH BINTI ABDULLAH");
    let policy = RecipientPolicy {
        verification: VerificationMode::Required,
        partial_match: PartialMatch::Deny,
    };
    let outcome = sender(&store, &leanx, policy)
        .run(&message, t0())
        .await
        .unwrap();
    let ItemSendOutcome::Refused(payout) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(payout.status, PayoutStatus::Failed);
    assert_eq!(payout.failure.unwrap().code, "recipient_mismatch");
    assert_eq!(payout.send_state, SendState::NotStarted);
    assert!(leanx.sent().is_empty(), "nothing sent");
}

#[tokio::test]
async fn a_write_racing_the_recovery_point_does_not_drop_the_item_it_is_sent_once() {
    let (store, leanx) = world();
    let message = queued(&store, "S-1");
    // The reconciler's bookkeeping lands between our read and our recovery point.
    store.interfere_before_next_save(|p| {
        p.version += 1;
        p.check_attempts += 1;
    });
    leanx.answer_create(accepted("PAYOUT-1"));
    let outcome = sender(&store, &leanx, RecipientPolicy::default())
        .run(&message, t0())
        .await
        .unwrap();
    assert!(
        matches!(outcome, ItemSendOutcome::Sent(ref p) if p.status == PayoutStatus::Processing),
        "{outcome:?}"
    );
    assert_eq!(leanx.sent(), ["S-1"]);
}
