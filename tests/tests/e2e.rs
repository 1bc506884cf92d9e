//! The service end to end: real HTTP into the real function binaries (under a Lambda Runtime
//! API emulator routing as API Gateway does), a real local DynamoDB, the LeanX simulator.

use std::time::Duration;

use futures::future::join_all;
use leanx_payouts::domain::{PayoutStatus, SendState};
use leanx_sim::SuccessCallback;
use leanx_sim::control::{CallbackFaults, FaultKind, Outcome, Times};
use payouts_e2e::stack::{Stack, StackOptions, payout_body};
use serde_json::{Value, json};

const SETTLE: Duration = Duration::from_secs(10);

/// The success callback LeanX would send for this payout (leanx-sim's own token builder).
fn callback(external_ref: &str, invoice_no: &str, amount: &str) -> SuccessCallback {
    SuccessCallback::new(invoice_no, external_ref, amount.parse().unwrap())
}

#[tokio::test]
async fn happy_path_create_callback_succeeded_and_lookup_agrees() {
    let stack = Stack::start().await;
    let created = stack.create(&payout_body("INV-HAPPY-1")).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    assert_eq!(created.body["status"], "PROCESSING");
    assert_eq!(created.body["amount"], "13.00");
    assert_eq!(created.body["currency"], "MYR");
    let invoice_no = created.body["invoice_no"].as_str().unwrap().to_owned();

    let settled = stack
        .wait_for("INV-HAPPY-1", SETTLE, |p| p.status.is_final())
        .await;
    assert_eq!(settled.status, PayoutStatus::Succeeded);
    assert_eq!(settled.invoice_no.as_deref(), Some(invoice_no.as_str()));
    let path: Vec<_> = settled.history.iter().map(|h| (h.from, h.to)).collect();
    assert_eq!(
        path,
        vec![
            (None, PayoutStatus::Pending),
            (Some(PayoutStatus::Pending), PayoutStatus::Processing),
            (Some(PayoutStatus::Processing), PayoutStatus::Succeeded)
        ]
    );

    let looked_up = stack.get("INV-HAPPY-1").await;
    assert_eq!(looked_up.status, 200);
    assert_eq!(looked_up.body["status"], "SUCCEEDED");
    assert_eq!(looked_up.body["invoice_no"], invoice_no);
    assert_eq!(stack.sim().count("create-payout-invoice").await.unwrap(), 1);
    let alarms: Vec<_> = stack
        .logs()
        .into_iter()
        .filter(|l| l.contains("\"level\":\"ERROR\""))
        .collect();
    assert!(
        alarms.is_empty(),
        "a clean payout raised errors: {alarms:?}"
    );
}

#[tokio::test]
async fn a_repeat_is_replayed_without_a_second_send() {
    let stack = Stack::start().await;
    assert_eq!(stack.create(&payout_body("INV-REPLAY")).await.status, 201);
    let again = stack.create(&payout_body("INV-REPLAY")).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.body["external_invoice_ref"], "INV-REPLAY");
    assert_eq!(
        stack
            .sim()
            .create_calls_for_ref("INV-REPLAY")
            .await
            .unwrap(),
        1
    );
}

#[tokio::test]
async fn thirty_concurrent_identical_creates_send_exactly_once() {
    let stack = Stack::start_with(StackOptions {
        instances: 4,
        ..StackOptions::default()
    })
    .await;
    stack
        .sim()
        .inject_fault(
            "create-payout-invoice",
            FaultKind::Latency { ms: 300 },
            Times::Count(1),
        )
        .await
        .unwrap();
    let body = payout_body("INV-RACE");
    let answers = join_all((0..30).map(|_| stack.create(&body))).await;
    let mut by_status = std::collections::BTreeMap::new();
    for answer in &answers {
        *by_status.entry(answer.status).or_insert(0) += 1;
        match answer.status {
            201 | 200 => assert_eq!(answer.body["external_invoice_ref"], "INV-RACE"),
            409 => {
                assert_eq!(answer.error_code(), Some("request_in_progress"));
                assert!(answer.header("retry-after").is_some());
            }
            other => panic!("unexpected {other}: {:?}", answer.body),
        }
    }
    assert_eq!(by_status.get(&201), Some(&1), "{by_status:?}");
    assert_eq!(
        stack.sim().create_calls_for_ref("INV-RACE").await.unwrap(),
        1
    );
}

#[tokio::test]
async fn same_ref_with_another_body_conflicts_and_sends_nothing() {
    let stack = Stack::start().await;
    assert_eq!(stack.create(&payout_body("INV-CONFLICT")).await.status, 201);
    let mut other = payout_body("INV-CONFLICT");
    other["amount"] = json!("14.00");
    let answer = stack.create(&other).await;
    assert_eq!(answer.status, 409);
    assert_eq!(answer.error_code(), Some("idempotency_conflict"));
    assert_eq!(
        stack
            .sim()
            .create_calls_for_ref("INV-CONFLICT")
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        stack
            .stored("INV-CONFLICT")
            .await
            .unwrap()
            .amount
            .to_client_string(),
        "13.00"
    );
}

#[tokio::test]
async fn every_bad_input_is_refused_naming_its_field_and_changes_nothing() {
    let stack = Stack::start().await;
    let cases: Vec<(&str, Value, Option<&str>)> = vec![
        (
            "missing ref",
            {
                let mut b = payout_body("x");
                b.as_object_mut().unwrap().remove("external_invoice_ref");
                b
            },
            Some("external_invoice_ref"),
        ),
        (
            "ref alphabet",
            payout_body("INV/../1"),
            Some("external_invoice_ref"),
        ),
        (
            "three decimals",
            {
                let mut b = payout_body("INV-BAD-1");
                b["amount"] = json!("13.005");
                b
            },
            Some("amount"),
        ),
        (
            "exponent",
            {
                let mut b = payout_body("INV-BAD-2");
                b["amount"] = json!("1e3");
                b
            },
            Some("amount"),
        ),
        (
            "zero",
            {
                let mut b = payout_body("INV-BAD-3");
                b["amount"] = json!(0);
                b
            },
            Some("amount"),
        ),
        (
            "too large",
            {
                let mut b = payout_body("INV-BAD-4");
                b["amount"] = json!("100000000.00");
                b
            },
            Some("amount"),
        ),
        (
            "service id string",
            {
                let mut b = payout_body("INV-BAD-5");
                b["payout_service_id"] = json!("23");
                b
            },
            Some("payout_service_id"),
        ),
        (
            "account letters",
            {
                let mut b = payout_body("INV-BAD-6");
                b["third_party_account_no"] = json!("80114O8168");
                b
            },
            Some("third_party_account_no"),
        ),
        (
            "name control char",
            {
                let mut b = payout_body("INV-BAD-7");
                b["recipient_name"] = json!("A\u{0000}B");
                b
            },
            Some("recipient_name"),
        ),
        (
            "empty reference",
            {
                let mut b = payout_body("INV-BAD-8");
                b["recipient_reference"] = json!(" ");
                b
            },
            Some("recipient_reference"),
        ),
        (
            "unknown field",
            {
                let mut b = payout_body("INV-BAD-9");
                b["client_callback_url"] = json!("https://evil.test");
                b
            },
            Some("client_callback_url"),
        ),
    ];
    for (name, body, field) in cases {
        let answer = stack.create(&body).await;
        assert_eq!(answer.status, 400, "{name}: {:?}", answer.body);
        assert_eq!(answer.error_code(), Some("invalid_request"), "{name}");
        assert_eq!(answer.error_field(), field, "{name}");
        if let Some(r) = body["external_invoice_ref"].as_str() {
            if leanx_payouts::domain::InvoiceRef::parse(r).is_ok() {
                assert!(
                    stack.stored(r).await.is_none(),
                    "{name}: an item was written"
                );
            }
        }
    }
    for (name, raw) in [
        ("not json", "{not json"),
        ("array", "[1]"),
        ("duplicate key", r#"{"amount":"1.00","amount":"2.00"}"#),
    ] {
        let answer = stack.create_raw(raw).await;
        assert_eq!(answer.status, 400, "{name}");
        assert_eq!(answer.error_code(), Some("invalid_request"), "{name}");
    }
    let huge = format!(r#"{{"recipient_name":"{}"}}"#, "x".repeat(17 * 1024));
    let answer = stack.create_raw(huge).await;
    assert_eq!(
        (answer.status, answer.error_code()),
        (413, Some("payload_too_large"))
    );
    assert_eq!(
        stack.sim().count("create-payout-invoice").await.unwrap(),
        0,
        "LeanX was called"
    );
}

#[tokio::test]
async fn get_refuses_a_ref_outside_the_alphabet_and_404s_an_unknown_one() {
    let stack = Stack::start().await;
    let answer = stack.get("INV%2F..%2Fetc").await;
    assert_eq!(
        (answer.status, answer.error_field()),
        (400, Some("external_invoice_ref"))
    );
    let answer = stack.get("INV-NOPE").await;
    assert_eq!(
        (answer.status, answer.error_code()),
        (404, Some("not_found"))
    );
}

#[tokio::test]
async fn a_leanx_refusal_fails_the_payout_with_its_code() {
    let stack = Stack::start().await;
    stack
        .sim()
        .set_outcome(Outcome::Refuse {
            response_code: 4566,
            description: "FAILED".into(),
        })
        .await
        .unwrap();
    let answer = stack.create(&payout_body("INV-REFUSED")).await;
    assert_eq!(answer.status, 201);
    assert_eq!(answer.body["status"], "FAILED");
    assert_eq!(answer.body["failure"]["code"], "leanx_4566");
}

#[tokio::test]
async fn a_lost_answer_stays_pending_then_the_reconciler_settles_it_without_resending() {
    let stack = Stack::start_with(StackOptions {
        claim_ttl_seconds: 1,
        ..StackOptions::default()
    })
    .await;
    stack
        .sim()
        .set_callback_faults(CallbackFaults {
            drop: true,
            ..CallbackFaults::default()
        })
        .await
        .unwrap();
    stack
        .sim()
        .inject_fault(
            "create-payout-invoice",
            FaultKind::Http500After,
            Times::Count(1),
        )
        .await
        .unwrap();
    let answer = stack.create(&payout_body("INV-LOST")).await;
    assert_eq!(
        (answer.status, answer.body["status"].as_str()),
        (201, Some("PENDING"))
    );
    assert_eq!(
        stack.stored("INV-LOST").await.unwrap().send_state,
        SendState::Started
    );

    let retry = stack.create(&payout_body("INV-LOST")).await;
    assert!(matches!(retry.status, 200 | 409), "{:?}", retry.body);

    tokio::time::sleep(Duration::from_millis(1_100)).await;
    stack.reconcile().await;
    let settled = stack.stored("INV-LOST").await.unwrap();
    assert_eq!(settled.status, PayoutStatus::Succeeded, "{settled:?}");
    assert_eq!(
        stack.sim().create_calls_for_ref("INV-LOST").await.unwrap(),
        1
    );
}

#[tokio::test]
async fn accept_then_hang_stays_pending_and_settles_to_leanx_truth() {
    let stack = Stack::start_with(StackOptions {
        claim_ttl_seconds: 1,
        ..StackOptions::default()
    })
    .await;
    stack
        .sim()
        .set_callback_faults(CallbackFaults {
            drop: true,
            ..CallbackFaults::default()
        })
        .await
        .unwrap();
    stack
        .sim()
        .set_outcome(Outcome::Failed {
            error_description: Some("ACCOUNT CLOSED".into()),
        })
        .await
        .unwrap();
    stack
        .sim()
        .inject_fault("create-payout-invoice", FaultKind::Hang, Times::Count(1))
        .await
        .unwrap();
    let answer = stack.create(&payout_body("INV-HANG")).await;
    assert_eq!(
        (answer.status, answer.body["status"].as_str()),
        (201, Some("PENDING"))
    );

    tokio::time::sleep(Duration::from_millis(1_100)).await;
    stack.reconcile().await;
    let settled = stack.stored("INV-HANG").await.unwrap();
    assert_eq!(settled.status, PayoutStatus::Failed);
    assert_eq!(settled.failure.unwrap().code, "leanx_failed");
    assert_eq!(
        stack.sim().create_calls_for_ref("INV-HANG").await.unwrap(),
        1
    );
}

#[tokio::test]
async fn a_payout_leanx_never_received_fails_after_the_grace_period() {
    let stack = Stack::start_with(StackOptions {
        claim_ttl_seconds: 1,
        grace_period_seconds: 2,
        ..StackOptions::default()
    })
    .await;
    stack
        .sim()
        .inject_fault(
            "create-payout-invoice",
            FaultKind::Http500Before,
            Times::Count(1),
        )
        .await
        .unwrap();
    let answer = stack.create(&payout_body("INV-NEVER")).await;
    assert_eq!(answer.body["status"], "PENDING");

    tokio::time::sleep(Duration::from_millis(1_100)).await;
    stack.reconcile().await;
    assert_eq!(
        stack.stored("INV-NEVER").await.unwrap().status,
        PayoutStatus::Pending,
        "failed before the grace period"
    );

    tokio::time::sleep(Duration::from_secs(2)).await;
    stack.reconcile().await;
    stack.reconcile().await;
    let failed = stack.stored("INV-NEVER").await.unwrap();
    assert_eq!(failed.status, PayoutStatus::Failed, "{failed:?}");
    assert_eq!(failed.failure.unwrap().code, "not_received_by_provider");
    assert_eq!(stack.sim().payouts_for_ref("INV-NEVER").await.unwrap(), 0);
    assert_eq!(
        stack.sim().create_calls_for_ref("INV-NEVER").await.unwrap(),
        1
    );
}

#[tokio::test]
async fn a_failure_leanx_never_pushes_is_found_by_the_reconciler() {
    let stack = Stack::start_with(StackOptions {
        refresh_after_seconds: 3600,
        ..StackOptions::default()
    })
    .await;
    stack
        .sim()
        .set_account_outcome(
            "8011408168",
            Outcome::Failed {
                error_description: Some("ACCOUNT CLOSED".into()),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        stack.create(&payout_body("INV-FAILS")).await.body["status"],
        "PROCESSING"
    );
    // Due 30 s after acceptance; the reconciler is asked as if that time had come.
    let mut payout = stack.stored("INV-FAILS").await.unwrap();
    let due_now = payout.clone();
    payout.next_check_at = Some(chrono::Utc::now() - chrono::Duration::seconds(1));
    payout.version += 1;
    use leanx_payouts::store::PayoutStore;
    stack.store.save(&due_now, &payout).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let report = stack.reconcile().await;
    assert_eq!(report["failed"], 1, "{report}");
    let failed = stack.stored("INV-FAILS").await.unwrap();
    assert_eq!(failed.status, PayoutStatus::Failed);
    assert_eq!(failed.failure.as_ref().unwrap().message, "ACCOUNT CLOSED");
    assert_eq!(
        stack.get("INV-FAILS").await.body["failure"]["code"],
        "leanx_failed"
    );
    assert!(
        stack.sim().callbacks().await.unwrap().is_empty(),
        "LeanX pushes no failure"
    );
}

#[tokio::test]
async fn get_refreshes_an_open_payout_from_leanx() {
    let stack = Stack::start_with(StackOptions {
        refresh_after_seconds: 0,
        ..StackOptions::default()
    })
    .await;
    stack
        .sim()
        .set_callback_faults(CallbackFaults {
            drop: true,
            ..CallbackFaults::default()
        })
        .await
        .unwrap();
    assert_eq!(
        stack.create(&payout_body("INV-REFRESH")).await.body["status"],
        "PROCESSING"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let answer = stack.get("INV-REFRESH").await;
    assert_eq!(answer.body["status"], "SUCCEEDED", "{:?}", answer.body);
    assert_eq!(
        stack.stored("INV-REFRESH").await.unwrap().status,
        PayoutStatus::Succeeded
    );
}

#[tokio::test]
async fn get_answers_the_stored_state_when_leanx_is_down() {
    let stack = Stack::start_with(StackOptions {
        refresh_after_seconds: 0,
        ..StackOptions::default()
    })
    .await;
    stack.sim().set_outcome(Outcome::Pending).await.unwrap();
    assert_eq!(
        stack.create(&payout_body("INV-DOWN")).await.body["status"],
        "PROCESSING"
    );
    stack
        .sim()
        .inject_fault(
            "get-payout-transaction-by-id",
            FaultKind::Http500Before,
            Times::Always,
        )
        .await
        .unwrap();
    let answer = stack.get("INV-DOWN").await;
    assert_eq!(
        (answer.status, answer.body["status"].as_str()),
        (200, Some("PROCESSING"))
    );
}

#[tokio::test]
async fn forged_callbacks_are_refused_and_change_nothing() {
    let stack = Stack::start().await;
    stack.sim().set_outcome(Outcome::Pending).await.unwrap();
    let created = stack.create(&payout_body("INV-FORGE")).await;
    let invoice_no = created.body["invoice_no"].as_str().unwrap();
    let claims = callback("INV-FORGE", invoice_no, "13.00");
    let wrong_key = claims.jwt("not-the-hash-key").unwrap();
    let alg_none = {
        use base64::Engine;
        let e = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        format!(
            "{}.{}.",
            e(r#"{"alg":"none","typ":"JWT"}"#),
            e(&claims.claims_json())
        )
    };
    let tampered = {
        let good = claims.jwt(leanx_sim::DEFAULT_HASH_KEY).unwrap();
        let mut parts: Vec<&str> = good.split('.').collect();
        use base64::Engine;
        let forged = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(callback("INV-FORGE", invoice_no, "99.00").claims_json());
        parts[1] = &forged;
        parts.join(".")
    };
    for token in [wrong_key, alg_none, tampered] {
        let answer = stack
            .callback_raw(json!({ "data": token }).to_string())
            .await;
        assert_eq!(
            (answer.status, answer.error_code()),
            (401, Some("unauthorized"))
        );
    }
    assert_eq!(stack.callback_raw("not json").await.status, 400);
    assert_eq!(stack.callback_raw("{}").await.status, 400);
    assert_eq!(
        stack
            .callback_raw(format!(r#"{{"data":"{}"}}"#, "a".repeat(17 * 1024)))
            .await
            .status,
        413
    );
    let stored = stack.stored("INV-FORGE").await.unwrap();
    assert_eq!(
        (stored.status, stored.history.len()),
        (PayoutStatus::Processing, 2)
    );
}

#[tokio::test]
async fn duplicate_callbacks_make_one_transition_and_one_history_entry() {
    let stack = Stack::start().await;
    stack
        .sim()
        .set_callback_faults(CallbackFaults {
            duplicate: 3,
            ..CallbackFaults::default()
        })
        .await
        .unwrap();
    stack.create(&payout_body("INV-DUP")).await;
    let settled = stack
        .wait_for("INV-DUP", SETTLE, |p| p.status.is_final())
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let callbacks = stack.sim().callbacks().await.unwrap();
    assert!(callbacks.len() >= 3, "{callbacks:?}");
    let after = stack.stored("INV-DUP").await.unwrap();
    assert_eq!(after, settled);
    assert_eq!(
        after
            .history
            .iter()
            .filter(|h| h.to == PayoutStatus::Succeeded)
            .count(),
        1
    );
}

#[tokio::test]
async fn a_success_callback_for_a_failed_payout_changes_nothing_and_is_logged() {
    let stack = Stack::start().await;
    stack
        .sim()
        .set_outcome(Outcome::Refuse {
            response_code: 4570,
            description: "INSUFFICIENT_POOL_BALANCE".into(),
        })
        .await
        .unwrap();
    stack.create(&payout_body("INV-CONTRA")).await;
    let token = callback("INV-CONTRA", "PAYOUT-X:1-LEANX", "13.00")
        .jwt(leanx_sim::DEFAULT_HASH_KEY)
        .unwrap();
    let answer = stack
        .callback_raw(json!({ "data": token }).to_string())
        .await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        stack.stored("INV-CONTRA").await.unwrap().status,
        PayoutStatus::Failed
    );
    // Issue 11, finding 5: the contradiction is visible on the resource.
    let seen = stack.get("INV-CONTRA").await;
    assert_eq!(seen.body["status"], "FAILED");
    assert_eq!(
        seen.body["attention"]["code"], "contradicted_by_leanx",
        "{seen:?}"
    );
    assert_eq!(seen.body["attention"]["reported"], "SUCCESS");
    let logs = stack.logs();
    assert!(
        logs.iter().any(|l| l.contains("\"level\":\"ERROR\"")
            && l.contains("INV-CONTRA")
            && l.contains("contradicts")),
        "no error-level event naming the payout"
    );
}

#[tokio::test]
async fn an_unmatched_callback_is_kept_for_an_operator() {
    let stack = Stack::start().await;
    let body = callback("INV-GHOST", "PAYOUT-GHOST:1-LEANX", "5.00")
        .body(leanx_sim::DEFAULT_HASH_KEY)
        .unwrap();
    let answer = stack.callback_raw(body).await;
    assert_eq!(answer.status, 200);
    use leanx_payouts::store::PayoutStore;
    let kept = stack.store.unmatched_callbacks(10).await.unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].claims.invoice_no, "PAYOUT-GHOST:1-LEANX");
}

#[tokio::test]
async fn no_log_line_holds_a_secret_or_a_full_account_number() {
    let stack = Stack::start().await;
    stack.create(&payout_body("INV-LOGS")).await;
    stack
        .wait_for("INV-LOGS", SETTLE, |p| p.status.is_final())
        .await;
    stack
        .callback_raw(json!({ "data": "abc.def.ghi" }).to_string())
        .await;
    stack.get("INV-LOGS").await;
    stack.reconcile().await;
    let logs = stack.logs();
    assert!(
        logs.iter().any(|l| l.contains("INV-LOGS")),
        "the functions' logs were not captured"
    );
    let token_secret = leanx_sim::DEFAULT_AUTH_TOKEN.split('|').nth(2).unwrap();
    for line in &logs {
        assert!(!line.contains(token_secret), "auth token in: {line}");
        assert!(
            !line.contains(leanx_sim::DEFAULT_HASH_KEY),
            "hash key in: {line}"
        );
        assert!(
            !line.contains("8011408168"),
            "full account number in: {line}"
        );
    }
}

/// Issue 11, finding 8: a payout left PENDING by a lost answer (LeanX never recorded it), then a
/// success callback signed with the right Hash Key naming its ref, as a second stack sharing the
/// credentials would send. It is acknowledged, never applied: LeanX does not confirm it.
#[tokio::test]
async fn a_valid_callback_for_a_payout_leanx_never_recorded_is_kept_not_applied() {
    let stack = Stack::start().await;
    stack
        .sim()
        .inject_fault(
            "create-payout-invoice",
            FaultKind::Http500Before,
            Times::Count(1),
        )
        .await
        .unwrap();
    let answer = stack.create(&payout_body("INV-NOT-OURS")).await;
    assert_eq!(answer.body["status"], "PENDING", "{answer:?}");
    let body = callback("INV-NOT-OURS", "PAYOUT-ELSEWHERE:1-LEANX", "13.00")
        .body(leanx_sim::DEFAULT_HASH_KEY)
        .unwrap();
    for _ in 0..3 {
        assert_eq!(stack.callback_raw(body.clone()).await.status, 200);
    }
    let payout = stack.stored("INV-NOT-OURS").await.unwrap();
    assert_eq!(payout.status, PayoutStatus::Pending, "{payout:?}");
    use leanx_payouts::store::PayoutStore;
    let kept = stack.store.unmatched_callbacks(10).await.unwrap();
    assert_eq!(kept.len(), 1, "a replayed token is kept once: {kept:?}");
    assert!(kept[0].reason.contains("confirm"), "{kept:?}");
}

/// Issue 11, finding 4: LeanX unreachable before any byte left (nothing listens on its port):
/// 503 `service_unavailable` with `Retry-After`, nothing sent, and the claim left free for the
/// merchant's retry to take over and send (the retry itself is `usecases::create` unit-tested).
#[tokio::test]
async fn a_send_that_never_left_answers_503_and_frees_the_claim() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let nowhere = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let stack = Stack::start_with(StackOptions {
        function_env: vec![("create-payout".into(), "LEANX_BASE_URL".into(), nowhere)],
        ..StackOptions::default()
    })
    .await;
    let answer = stack.create(&payout_body("INV-NEVER-LEFT")).await;
    assert_eq!(answer.status, 503, "{answer:?}");
    assert_eq!(answer.error_code(), Some("service_unavailable"));
    assert!(answer.header("retry-after").is_some(), "{answer:?}");
    let stored = stack.stored("INV-NEVER-LEFT").await.unwrap();
    assert_eq!(
        (stored.status, stored.send_state),
        (PayoutStatus::Pending, SendState::NotStarted)
    );
    assert!(
        stored.claim_expires_at <= chrono::Utc::now(),
        "the claim is free"
    );
    assert_eq!(
        stack
            .sim()
            .create_calls_for_ref("INV-NEVER-LEFT")
            .await
            .unwrap(),
        0
    );
}
