//! The merchant's flow end to end (API.md "Additions"): which bank (`GET /payout-services`),
//! who holds the account (`POST /recipient-verifications`), the pool's balance (`GET /balance`),
//! and the recipient policy of `POST /payouts` — over real HTTP into the real function binaries,
//! with the local DynamoDB and the LeanX simulator.

use chrono::{DateTime, Duration as Days, Utc};
use leanx_payouts::store::RecipientVerifications;
use leanx_sim::control::{AccountScript, FaultKind, Times};
use payouts_e2e::stack::{Answer, Stack, StackOptions, payout_body};
use serde_json::{Value, json};
use std::time::Duration;

const SETTLE: Duration = Duration::from_secs(10);
const ACCOUNT: &str = "8011408168";

async fn verify(stack: &Stack, body: &Value) -> Answer {
    stack
        .post_json("/recipient-verifications", body.to_string())
        .await
}

async fn calls(stack: &Stack, endpoint: &str) -> u64 {
    stack.sim().count(endpoint).await.unwrap()
}

async fn holder(stack: &Stack, account: &str, name: &str) {
    stack
        .sim()
        .script_account(
            account,
            AccountScript::Holder {
                holder_name: name.into(),
                bic: None,
            },
        )
        .await
        .unwrap();
}

/// LeanX refuses every connection to `endpoint` before any byte is read.
async fn leanx_down(stack: &Stack, endpoint: &str) {
    stack
        .sim()
        .inject_fault(endpoint, FaultKind::DropBefore, Times::Always)
        .await
        .unwrap();
}

/// How many items the table holds: nothing at all means no write of any kind.
async fn items_in_table(stack: &Stack) -> i32 {
    stack
        .store
        .client()
        .scan()
        .table_name(&stack.table)
        .select(aws_sdk_dynamodb::types::Select::Count)
        .send()
        .await
        .expect("scan the test table")
        .count()
}

fn time(value: &Value) -> DateTime<Utc> {
    value
        .as_str()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .unwrap_or_else(|| panic!("not an RFC 3339 time: {value}"))
        .with_timezone(&Utc)
}

// ---------------------------------------------------------------- GET /payout-services

#[tokio::test]
async fn payout_services_are_listed_flat_and_sorted_by_name_with_cache_control() {
    let stack = Stack::start().await;
    let answer = stack.get_path("/payout-services").await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(answer.header("cache-control"), Some("max-age=300"));
    let services = answer.body["payout_services"].as_array().unwrap();
    assert_eq!(services.len(), 12, "{services:?}");
    let names: Vec<&str> = services
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted);
    let maybank = services
        .iter()
        .find(|s| s["payout_service_id"] == 23)
        .unwrap();
    assert_eq!(
        maybank,
        &json!({ "payout_service_id": 23, "name": "MALAYAN BANKING BERHAD",
            "unique_reference": "PAYOUT_MAYBANK_WEBPAY", "payment_service": "DUITNOW_ACCOUNT",
            "active": true })
    );
    let affin = services
        .iter()
        .find(|s| s["payout_service_id"] == 31)
        .unwrap();
    assert_eq!(affin["active"], false);
}

#[tokio::test]
async fn a_second_listing_is_served_from_the_cache_without_asking_leanx() {
    let stack = Stack::start().await;
    let first = stack.get_path("/payout-services").await;
    let second = stack.get_path("/payout-services").await;
    assert_eq!((first.status, second.status), (200, 200));
    assert_eq!(first.body, second.body);
    assert_eq!(calls(&stack, "list-payout-services").await, 1);
}

#[tokio::test]
async fn payout_services_are_503_when_leanx_is_down_and_nothing_is_cached() {
    let stack = Stack::start().await;
    leanx_down(&stack, "list-payout-services").await;
    let answer = stack.get_path("/payout-services").await;
    assert_eq!(answer.status, 503, "{:?}", answer.body);
    assert_eq!(answer.error_code(), Some("service_unavailable"));
    assert!(answer.header("retry-after").is_some());
}

#[tokio::test]
async fn a_cached_list_is_served_while_leanx_is_down() {
    let stack = Stack::start().await;
    assert_eq!(stack.get_path("/payout-services").await.status, 200);
    leanx_down(&stack, "list-payout-services").await;
    let answer = stack.get_path("/payout-services").await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(answer.body["payout_services"].as_array().unwrap().len(), 12);
}

// ---------------------------------------------------------------- POST /recipient-verifications

#[tokio::test]
async fn a_recipient_is_verified_matched_and_kept_for_thirty_days() {
    let stack = Stack::start().await;
    holder(&stack, "9011426016", "SITI BINTI ALI").await;
    let answer = verify(
        &stack,
        &json!({ "payout_service_id": 23, "third_party_account_no": "9011426016",
            "recipient_name": "Cik Siti bt. Ali" }),
    )
    .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let body = &answer.body;
    let id = body["verification_id"].as_str().unwrap();
    assert!(id.starts_with("rv_"), "{id}");
    assert_eq!(body["payout_service_id"], 23);
    assert_eq!(body["third_party_account_no"], "9011426016");
    assert_eq!(body["account_holder_name"], "SITI BINTI ALI");
    assert_eq!(body["bank_bic"], "MBBEMYKL");
    assert_eq!(body["name_match"], "exact");
    assert_eq!(body["name_score"], "1.00");
    assert_eq!(
        time(&body["expires_at"]) - time(&body["verified_at"]),
        Days::days(30)
    );
    let kept = stack
        .store
        .latest_for(23, "9011426016")
        .await
        .unwrap()
        .expect("the verification is kept");
    assert_eq!(kept.verification_id, id);
    assert_eq!(calls(&stack, "check-verification-bank").await, 1);
    let leaked: Vec<String> = stack
        .logs()
        .into_iter()
        .filter(|l| l.contains("9011426016"))
        .collect();
    assert!(leaked.is_empty(), "full account number in logs: {leaked:?}");
}

#[tokio::test]
async fn a_verification_without_a_name_is_not_checked() {
    let stack = Stack::start().await;
    let answer = verify(
        &stack,
        &json!({ "payout_service_id": 23, "third_party_account_no": ACCOUNT }),
    )
    .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(answer.body["account_holder_name"], "JOHN DOE");
    assert_eq!(answer.body["name_match"], "not_checked");
    assert_eq!(answer.body["name_score"], "0.00");
}

#[tokio::test]
async fn another_holder_is_answered_as_no_match() {
    let stack = Stack::start().await;
    holder(&stack, ACCOUNT, "SITI AMINAH BINTI OMAR").await;
    let answer = verify(
        &stack,
        &json!({ "payout_service_id": 23, "third_party_account_no": ACCOUNT,
            "recipient_name": "John Doe" }),
    )
    .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(answer.body["name_match"], "none");
    assert_eq!(answer.body["account_holder_name"], "SITI AMINAH BINTI OMAR");
}

#[tokio::test]
async fn an_unknown_account_is_422_account_not_found_and_nothing_is_kept() {
    let stack = Stack::start().await;
    stack
        .sim()
        .script_account("9011426017", AccountScript::NotFound)
        .await
        .unwrap();
    stack
        .sim()
        .script_account(
            "9011426018",
            AccountScript::Refuse {
                response_code: 4404,
                description: "ACCOUNT_NOT_FOUND".into(),
            },
        )
        .await
        .unwrap();
    for account in ["9011426017", "9011426018"] {
        let answer = verify(
            &stack,
            &json!({ "payout_service_id": 23, "third_party_account_no": account }),
        )
        .await;
        assert_eq!(answer.status, 422, "{account}: {:?}", answer.body);
        assert_eq!(answer.error_code(), Some("account_not_found"));
        assert_eq!(answer.error_field(), Some("third_party_account_no"));
    }
    assert_eq!(items_in_table(&stack).await, 0);
}

#[tokio::test]
async fn verification_is_503_with_retry_after_when_leanx_is_down() {
    let stack = Stack::start().await;
    leanx_down(&stack, "check-verification-bank").await;
    let answer = verify(
        &stack,
        &json!({ "payout_service_id": 23, "third_party_account_no": ACCOUNT }),
    )
    .await;
    assert_eq!(answer.status, 503, "{:?}", answer.body);
    assert_eq!(answer.error_code(), Some("service_unavailable"));
    assert!(answer.header("retry-after").is_some());
    assert_eq!(items_in_table(&stack).await, 0);
}

#[tokio::test]
async fn each_bad_verification_is_refused_naming_its_field_with_no_write_and_no_leanx_call() {
    let stack = Stack::start().await;
    let cases: Vec<(String, u16, Option<&str>)> = vec![
        (json!({ "third_party_account_no": ACCOUNT }).to_string(), 400, Some("payout_service_id")),
        (json!({ "payout_service_id": 0, "third_party_account_no": ACCOUNT }).to_string(), 400, Some("payout_service_id")),
        (json!({ "payout_service_id": "23", "third_party_account_no": ACCOUNT }).to_string(), 400, Some("payout_service_id")),
        (json!({ "payout_service_id": 23 }).to_string(), 400, Some("third_party_account_no")),
        (json!({ "payout_service_id": 23, "third_party_account_no": "1234" }).to_string(), 400, Some("third_party_account_no")),
        (json!({ "payout_service_id": 23, "third_party_account_no": "8011-408168" }).to_string(), 400, Some("third_party_account_no")),
        (json!({ "payout_service_id": 23, "third_party_account_no": ACCOUNT, "recipient_name": "  " }).to_string(), 400, Some("recipient_name")),
        (json!({ "payout_service_id": 23, "third_party_account_no": ACCOUNT, "recipient_name": "x".repeat(129) }).to_string(), 400, Some("recipient_name")),
        (json!({ "payout_service_id": 23, "third_party_account_no": ACCOUNT, "recipient_name": "John\u{202E}Doe" }).to_string(), 400, Some("recipient_name")),
        (json!({ "payout_service_id": 23, "third_party_account_no": ACCOUNT, "amount": "1.00" }).to_string(), 400, Some("amount")),
        ("not json".to_owned(), 400, None),
        (format!(r#"{{"payout_service_id":23,"third_party_account_no":"{ACCOUNT}","recipient_name":"{}"}}"#, " ".repeat(17 * 1024)), 413, None),
    ];
    for (body, status, field) in cases {
        let answer = stack
            .post_json("/recipient-verifications", body.clone())
            .await;
        let shown: String = body.chars().take(120).collect();
        assert_eq!(answer.status, status, "{shown}: {:?}", answer.body);
        let code = if status == 413 {
            "payload_too_large"
        } else {
            "invalid_request"
        };
        assert_eq!(answer.error_code(), Some(code), "{shown}");
        assert_eq!(answer.error_field(), field, "{shown}");
    }
    assert_eq!(calls(&stack, "check-verification-bank").await, 0);
    assert_eq!(items_in_table(&stack).await, 0);
}

// ---------------------------------------------------------------- GET /balance

#[tokio::test]
async fn the_balance_is_leanxs_in_exact_two_decimal_strings() {
    let stack = Stack::start().await;
    stack
        .sim()
        .set_balance("393.63".parse().unwrap())
        .await
        .unwrap();
    let before = stack.get_path("/balance").await;
    assert_eq!(before.status, 200, "{:?}", before.body);
    assert_eq!(
        before.body,
        json!({ "currency": "MYR", "transaction_balance": "0.00", "prefund_balance": "393.63",
            "total_transaction_as_of_today": 0 })
    );
    let mut body = payout_body("INV-BALANCE-1");
    body["amount"] = json!("13.05");
    assert_eq!(stack.create(&body).await.status, 201);
    stack
        .wait_for("INV-BALANCE-1", SETTLE, |p| p.status.is_final())
        .await;
    let after = stack.get_path("/balance").await;
    assert_eq!(after.status, 200, "{:?}", after.body);
    assert_eq!(
        after.body,
        json!({ "currency": "MYR", "transaction_balance": "13.05", "prefund_balance": "380.58",
            "total_transaction_as_of_today": 1 })
    );
}

#[tokio::test]
async fn the_balance_is_503_when_leanx_is_down() {
    let stack = Stack::start().await;
    leanx_down(&stack, "overall-balance").await;
    let answer = stack.get_path("/balance").await;
    assert_eq!(answer.status, 503, "{:?}", answer.body);
    assert_eq!(answer.error_code(), Some("service_unavailable"));
    assert!(answer.header("retry-after").is_some());
}

// ---------------------------------------------------------------- the recipient policy

/// A stack whose create-payout runs with `RECIPIENT_VERIFICATION=required`.
async fn requiring_verification(partial_match: &str) -> Stack {
    let env = |name: &str, value: &str| {
        (
            "create-payout".to_owned(),
            name.to_owned(),
            value.to_owned(),
        )
    };
    Stack::start_with(StackOptions {
        function_env: vec![
            env("RECIPIENT_VERIFICATION", "required"),
            env("RECIPIENT_PARTIAL_MATCH", partial_match),
        ],
        ..StackOptions::default()
    })
    .await
}

/// Nothing of the payout exists here or at LeanX.
async fn nothing_claimed_or_sent(stack: &Stack, external_ref: &str) {
    assert!(
        stack.stored(external_ref).await.is_none(),
        "{external_ref} was claimed"
    );
    assert_eq!(calls(stack, "create-payout-invoice").await, 0);
}

fn payout_to(external_ref: &str, recipient_name: &str) -> Value {
    let mut body = payout_body(external_ref);
    body["recipient_name"] = json!(recipient_name);
    body
}

#[tokio::test]
async fn required_refuses_another_holder_422_with_nothing_claimed_and_nothing_sent() {
    let stack = requiring_verification("allow").await;
    holder(&stack, ACCOUNT, "SITI AMINAH BINTI OMAR").await;
    let answer = stack.create(&payout_body("INV-MISMATCH")).await;
    assert_eq!(answer.status, 422, "{:?}", answer.body);
    assert_eq!(answer.error_code(), Some("recipient_mismatch"));
    assert_eq!(answer.error_field(), Some("recipient_name"));
    assert_eq!(
        answer.body["error"]["account_holder_name"],
        "SITI AMINAH BINTI OMAR"
    );
    assert_eq!(answer.body["error"]["name_match"], "none");
    nothing_claimed_or_sent(&stack, "INV-MISMATCH").await;
    assert_eq!(calls(&stack, "check-verification-bank").await, 1);
}

#[tokio::test]
async fn required_sends_an_exact_match_after_one_verification_and_reuses_it() {
    let stack = requiring_verification("deny").await;
    let first = stack
        .create(&payout_to("INV-EXACT-1", "Encik John Doe"))
        .await;
    assert_eq!(first.status, 201, "{:?}", first.body);
    assert_eq!(first.body["status"], "PROCESSING");
    let second = stack.create(&payout_body("INV-EXACT-2")).await;
    assert_eq!(second.status, 201, "{:?}", second.body);
    assert_eq!(calls(&stack, "check-verification-bank").await, 1);
    assert_eq!(calls(&stack, "create-payout-invoice").await, 2);
}

#[tokio::test]
async fn required_relies_on_a_verification_made_through_the_route() {
    let stack = requiring_verification("deny").await;
    let verified = verify(
        &stack,
        &json!({ "payout_service_id": 23, "third_party_account_no": ACCOUNT }),
    )
    .await;
    assert_eq!(verified.status, 200, "{:?}", verified.body);
    let created = stack.create(&payout_body("INV-VERIFIED")).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    assert_eq!(calls(&stack, "check-verification-bank").await, 1);
}

#[tokio::test]
async fn required_refuses_a_partial_match_when_partial_is_denied() {
    let stack = requiring_verification("deny").await;
    holder(&stack, ACCOUNT, "AHMAD FAUZI BIN ABDULLAH").await;
    let answer = stack
        .create(&payout_to("INV-PARTIAL-DENY", "Ahmad Fauzi"))
        .await;
    assert_eq!(answer.status, 422, "{:?}", answer.body);
    assert_eq!(answer.error_code(), Some("recipient_mismatch"));
    assert_eq!(answer.body["error"]["name_match"], "partial");
    nothing_claimed_or_sent(&stack, "INV-PARTIAL-DENY").await;
}

#[tokio::test]
async fn required_sends_a_partial_match_when_partial_is_allowed() {
    let stack = requiring_verification("allow").await;
    holder(&stack, ACCOUNT, "AHMAD FAUZI BIN ABDULLAH").await;
    let answer = stack
        .create(&payout_to("INV-PARTIAL-ALLOW", "Ahmad Fauzi"))
        .await;
    assert_eq!(answer.status, 201, "{:?}", answer.body);
    assert_eq!(calls(&stack, "create-payout-invoice").await, 1);
}

#[tokio::test]
async fn required_refuses_an_account_leanx_does_not_know() {
    let stack = requiring_verification("deny").await;
    stack
        .sim()
        .script_account(ACCOUNT, AccountScript::NotFound)
        .await
        .unwrap();
    let answer = stack.create(&payout_body("INV-NO-ACCOUNT")).await;
    assert_eq!(answer.status, 422, "{:?}", answer.body);
    assert_eq!(answer.error_code(), Some("account_not_found"));
    assert_eq!(answer.error_field(), Some("third_party_account_no"));
    nothing_claimed_or_sent(&stack, "INV-NO-ACCOUNT").await;
}

#[tokio::test]
async fn required_with_leanx_down_answers_503_with_nothing_claimed_or_sent() {
    let stack = requiring_verification("deny").await;
    leanx_down(&stack, "check-verification-bank").await;
    let answer = stack.create(&payout_body("INV-LEANX-DOWN")).await;
    assert_eq!(answer.status, 503, "{:?}", answer.body);
    assert_eq!(answer.error_code(), Some("service_unavailable"));
    assert!(answer.header("retry-after").is_some());
    nothing_claimed_or_sent(&stack, "INV-LEANX-DOWN").await;
    assert_eq!(items_in_table(&stack).await, 0);
}

#[tokio::test]
async fn a_bad_recipient_policy_value_stops_create_payout_at_start() {
    let stack = Stack::start_with(StackOptions {
        function_env: vec![(
            "create-payout".to_owned(),
            "RECIPIENT_VERIFICATION".to_owned(),
            "sometimes".to_owned(),
        )],
        ..StackOptions::default()
    })
    .await;
    let answer = stack.create(&payout_body("INV-BAD-POLICY")).await;
    assert!(answer.status >= 500, "{:?}", answer.body);
    assert!(
        stack
            .logs()
            .iter()
            .any(|l| l.contains("configuration error") && l.contains("RECIPIENT_VERIFICATION")),
        "no configuration error naming the variable"
    );
    nothing_claimed_or_sent(&stack, "INV-BAD-POLICY").await;
}
