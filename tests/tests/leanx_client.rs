//! The LeanX client against the project's LeanX simulator, over real HTTP: every endpoint and
//! every class of error the money path tells apart.

use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chrono::{Days, NaiveDate, Utc};
use leanx_payouts::domain::Amount;
use leanx_payouts::leanx::{
    BankVerification, CreatePayoutInvoice, LeanxClient, LeanxCredentials, LeanxError,
    LeanxSettings, PayoutTransaction, Secret,
};
use leanx_sim::control::{AccountScript, FaultKind, Outcome, Times};
use leanx_sim::{RunningSim, SimConfig};
use rust_decimal::Decimal;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const LOOPBACK: &str = "127.0.0.1:0";

async fn sim_with(config: SimConfig) -> RunningSim {
    leanx_sim::spawn(config, LOOPBACK.parse::<SocketAddr>().unwrap())
        .await
        .unwrap()
}

async fn sim() -> RunningSim {
    sim_with(SimConfig::default()).await
}

fn settings(sim: &RunningSim) -> LeanxSettings {
    let config = SimConfig::default();
    let mut settings = LeanxSettings::new(
        sim.base_url(),
        LeanxCredentials {
            auth_token: Secret::new(config.auth_token),
            hash_key: Secret::new(config.hash_key),
        },
    );
    settings.request_timeout = Duration::from_millis(800);
    settings.connect_timeout = Duration::from_millis(500);
    settings
}

fn client(sim: &RunningSim) -> LeanxClient {
    LeanxClient::new(settings(sim)).unwrap()
}

fn payout<'a>(external_ref: &'a str, amount: &str) -> CreatePayoutInvoice<'a> {
    CreatePayoutInvoice {
        virtual_pool_reference: leanx_sim::DEFAULT_POOL,
        payout_service_id: 23,
        amount: Amount::parse(amount).unwrap(),
        recipient_name: "John Doe",
        client_callback_url: "http://127.0.0.1:9/callbacks/leanx",
        third_party_account_no: "8011408168",
        external_invoice_ref: external_ref,
        recipient_reference: "Salary Nov",
    }
}

fn dec(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

#[tokio::test]
async fn lists_payout_services() {
    let sim = sim().await;
    let services = client(&sim).list_payout_services().await.unwrap();
    assert!(services.iter().any(|s| s.payout_service_id == 23));
}

#[tokio::test]
async fn payout_services_are_flattened_with_names_and_active_flags() {
    let sim = sim().await;
    let services = client(&sim).list_payout_services().await.unwrap();
    let mut ids: Vec<i64> = services.iter().map(|s| s.payout_service_id).collect();
    ids.sort_unstable();
    assert_eq!(ids, [23, 24, 25, 26, 27, 28, 29, 30, 31, 40, 41, 42]);
    let maybank = services.iter().find(|s| s.payout_service_id == 23).unwrap();
    assert_eq!(maybank.name, "MALAYAN BANKING BERHAD");
    assert_eq!(maybank.unique_reference, "PAYOUT_MAYBANK_WEBPAY");
    assert_eq!(maybank.payment_service, "DUITNOW_ACCOUNT");
    let inactive: Vec<i64> = services
        .iter()
        .filter(|s| !s.active)
        .map(|s| s.payout_service_id)
        .collect();
    assert_eq!(inactive, [31]);
}

#[tokio::test]
async fn a_lost_payout_services_answer_is_an_unknown_outcome() {
    let sim = sim().await;
    sim.control()
        .inject_fault(
            "list-payout-services",
            FaultKind::Http500Before,
            Times::Count(1),
        )
        .await
        .unwrap();
    let error = client(&sim).list_payout_services().await.unwrap_err();
    assert!(matches!(error, LeanxError::OutcomeUnknown(_)), "{error:?}");
}

#[tokio::test]
async fn creates_a_payout_and_sends_the_exact_amount() {
    let sim = sim().await;
    let accepted = client(&sim)
        .create_payout(&payout("INV-EXACT", "13.05"))
        .await
        .unwrap();
    assert!(accepted.invoice_no.starts_with("PAYOUT-"));
    let calls = sim.control().calls().await.unwrap();
    let create = calls
        .iter()
        .find(|c| c.endpoint == "create-payout-invoice")
        .unwrap();
    let raw = create.body.as_ref().unwrap().get();
    assert!(
        raw.contains(r#""amount":13.05"#),
        "amount must be an exact JSON number: {raw}"
    );
    assert!(raw.contains(r#""payout_service_id":23"#));
    let stored = sim.control().payout("INV-EXACT").await.unwrap().unwrap();
    assert_eq!(stored.amount, Decimal::from_str("13.05").unwrap());
}

#[tokio::test]
async fn looks_a_payout_up_by_ref_and_by_invoice_no_with_colons_encoded() {
    let sim = sim().await;
    let leanx = client(&sim);
    let accepted = leanx
        .create_payout(&payout("INV:2026:7", "99.99"))
        .await
        .unwrap();
    let by_ref = leanx.get_payout_transaction("INV:2026:7").await.unwrap();
    let by_invoice = leanx
        .get_payout_transaction(&accepted.invoice_no)
        .await
        .unwrap();
    assert_eq!(
        by_ref.payout_invoice_no.as_deref(),
        Some(accepted.invoice_no.as_str())
    );
    assert_eq!(
        by_invoice.merchant_invoice_id.as_deref(),
        Some("INV:2026:7")
    );
    assert_eq!(by_ref.value, Some(Decimal::from_str("99.99").unwrap()));
}

#[tokio::test]
async fn the_largest_amount_round_trips_exactly() {
    let sim = sim().await;
    sim.control()
        .set_balance(Decimal::from_str("200000000.00").unwrap())
        .await
        .unwrap();
    let leanx = client(&sim);
    leanx
        .create_payout(&payout("INV-MAX", "99999999.99"))
        .await
        .unwrap();
    let tx = leanx.get_payout_transaction("INV-MAX").await.unwrap();
    assert_eq!(tx.value.unwrap().to_string(), "99999999.99");
}

#[tokio::test]
async fn reports_settlement_status_and_failure_detail() {
    let sim = sim().await;
    sim.control()
        .set_account_outcome(
            "8011408168",
            Outcome::Failed {
                error_description: Some("ACCOUNT CLOSED".into()),
            },
        )
        .await
        .unwrap();
    let leanx = client(&sim);
    leanx.create_payout(&payout("INV-F", "1.00")).await.unwrap();
    let mut tx = leanx.get_payout_transaction("INV-F").await.unwrap();
    for _ in 0..50 {
        if tx.transaction_status != "PENDING" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        tx = leanx.get_payout_transaction("INV-F").await.unwrap();
    }
    assert_eq!(tx.transaction_status, "FAILED");
    assert_eq!(tx.error_text().as_deref(), Some("ACCOUNT CLOSED"));
}

#[tokio::test]
async fn a_known_account_is_found_with_its_holder_and_bank() {
    let sim = sim().await;
    let verification = client(&sim)
        .check_verification_bank(23, "8011408168")
        .await
        .unwrap();
    assert_eq!(
        verification,
        BankVerification::Found {
            account_holder_name: "JOHN DOE".into(),
            bank_bic: Some("MBBEMYKL".into()),
            account_no: "8011408168".into(),
        }
    );
}

#[tokio::test]
async fn a_scripted_holder_name_is_returned_as_the_bank_holds_it() {
    let sim = sim().await;
    sim.control()
        .script_account(
            "9011426016",
            AccountScript::Holder {
                holder_name: "NUR AISYAH BINTI ABDUL RAHMAN".into(),
                bic: Some("CIBBMYKL".into()),
            },
        )
        .await
        .unwrap();
    let verification = client(&sim)
        .check_verification_bank(24, "9011426016")
        .await
        .unwrap();
    assert_eq!(
        verification,
        BankVerification::Found {
            account_holder_name: "NUR AISYAH BINTI ABDUL RAHMAN".into(),
            bank_bic: Some("CIBBMYKL".into()),
            account_no: "9011426016".into(),
        }
    );
}

#[tokio::test]
async fn an_account_leanx_cannot_find_is_account_not_found() {
    let sim = sim().await;
    sim.control()
        .script_account("9011426016", AccountScript::NotFound)
        .await
        .unwrap();
    let verification = client(&sim)
        .check_verification_bank(23, "9011426016")
        .await
        .unwrap();
    assert_eq!(verification, BankVerification::AccountNotFound);
}

#[tokio::test]
async fn a_malformed_account_number_is_account_not_found() {
    let sim = sim().await;
    let verification = client(&sim)
        .check_verification_bank(23, "12")
        .await
        .unwrap();
    assert_eq!(verification, BankVerification::AccountNotFound);
}

#[tokio::test]
async fn a_refusal_naming_the_account_is_account_not_found() {
    let sim = sim().await;
    sim.control()
        .script_account(
            "9011426016",
            AccountScript::Refuse {
                response_code: 4566,
                description: "FAILED".into(),
            },
        )
        .await
        .unwrap();
    let verification = client(&sim)
        .check_verification_bank(23, "9011426016")
        .await
        .unwrap();
    assert_eq!(verification, BankVerification::AccountNotFound);
}

#[tokio::test]
async fn verification_with_an_unknown_service_is_service_not_found_not_an_unknown_account() {
    // LeanX refuses it (4569 INVALID_PAYOUT_SERVICE): the bank asked about, not the account.
    let sim = sim().await;
    let verification = client(&sim)
        .check_verification_bank(999, "8011408168")
        .await
        .unwrap();
    assert_eq!(verification, BankVerification::ServiceNotFound);
}

#[tokio::test]
async fn verification_with_an_inactive_service_is_service_not_found_not_an_unknown_account() {
    // LeanX refuses it (4569 INVALID_PAYOUT_SERVICE): the bank asked about, not the account.
    let sim = sim().await;
    let verification = client(&sim)
        .check_verification_bank(31, "8011408168")
        .await
        .unwrap();
    assert_eq!(verification, BankVerification::ServiceNotFound);
}

#[tokio::test]
async fn verification_sends_the_service_id_as_a_number_and_the_account_as_text() {
    let sim = sim().await;
    client(&sim)
        .check_verification_bank(23, "8011408168")
        .await
        .unwrap();
    let calls = sim.control().calls().await.unwrap();
    let call = calls
        .iter()
        .find(|c| c.endpoint == "check-verification-bank")
        .unwrap();
    assert_eq!(
        call.body_json().unwrap(),
        serde_json::json!({"payout_service_id": 23, "third_party_account_no": "8011408168"})
    );
}

async fn verify_under_fault(kind: FaultKind) -> LeanxError {
    let sim = sim().await;
    sim.control()
        .inject_fault("check-verification-bank", kind, Times::Count(1))
        .await
        .unwrap();
    client(&sim)
        .check_verification_bank(23, "8011408168")
        .await
        .unwrap_err()
}

#[tokio::test]
async fn a_lost_verification_answer_is_an_unknown_outcome_never_a_verdict() {
    let error = verify_under_fault(FaultKind::Http500After).await;
    assert!(matches!(error, LeanxError::OutcomeUnknown(_)), "{error:?}");
}

#[tokio::test]
async fn a_malformed_verification_answer_is_malformed_never_a_verdict() {
    let error = verify_under_fault(FaultKind::MalformedJson).await;
    assert!(matches!(error, LeanxError::Malformed(_)), "{error:?}");
}

#[tokio::test]
async fn an_unknown_code_to_a_verification_is_a_refusal_not_an_unknown_account() {
    let error = verify_under_fault(FaultKind::UnknownCode).await;
    assert!(
        matches!(&error, LeanxError::Refused { response_code, .. } if response_code == "9999"),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_rate_limit_on_a_verification_is_a_refusal_not_an_unknown_account() {
    let error = verify_under_fault(FaultKind::Refuse {
        response_code: 4290,
        description: "TOO_MANY_REQUESTS".into(),
    })
    .await;
    assert!(
        matches!(&error, LeanxError::Refused { response_code, .. } if response_code == "4290"),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_verification_past_the_timeout_is_an_unknown_outcome() {
    let error = verify_under_fault(FaultKind::Hang).await;
    assert!(matches!(error, LeanxError::OutcomeUnknown(_)), "{error:?}");
}

#[tokio::test]
async fn the_largest_prefund_balance_is_read_exactly() {
    let sim = sim().await;
    sim.control().set_balance(dec("99999999.99")).await.unwrap();
    let balance = client(&sim).overall_balance().await.unwrap();
    assert_eq!(balance.prefund_balance.to_string(), "99999999.99");
}

#[tokio::test]
async fn ten_sen_is_read_exactly() {
    let sim = sim().await;
    sim.control().set_balance(dec("0.10")).await.unwrap();
    let balance = client(&sim).overall_balance().await.unwrap();
    assert_eq!(balance.prefund_balance.to_string(), "0.10");
}

#[tokio::test]
async fn the_transaction_balance_and_count_follow_todays_payouts() {
    let sim = sim().await;
    let leanx = client(&sim);
    let before = leanx.overall_balance().await.unwrap();
    assert_eq!(before.transaction_balance, Decimal::ZERO);
    assert_eq!(before.total_transaction_as_of_today, 0);
    leanx
        .create_payout(&payout("INV-TB", "0.10"))
        .await
        .unwrap();
    let mut after = leanx.overall_balance().await.unwrap();
    for _ in 0..50 {
        if after.transaction_balance != Decimal::ZERO {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        after = leanx.overall_balance().await.unwrap();
    }
    assert_eq!(after.transaction_balance.to_string(), "0.10");
    assert_eq!(after.total_transaction_as_of_today, 1);
}

#[tokio::test]
async fn a_malformed_balance_answer_is_malformed_never_zero() {
    let sim = sim().await;
    sim.control()
        .inject_fault("overall-balance", FaultKind::MalformedJson, Times::Count(1))
        .await
        .unwrap();
    let error = client(&sim).overall_balance().await.unwrap_err();
    assert!(matches!(error, LeanxError::Malformed(_)), "{error:?}");
}

#[tokio::test]
async fn reads_the_balance_exactly_and_sees_it_drop() {
    let sim = sim().await;
    let leanx = client(&sim);
    let before = leanx.overall_balance().await.unwrap();
    leanx
        .create_payout(&payout("INV-BAL", "10.25"))
        .await
        .unwrap();
    let after = leanx.overall_balance().await.unwrap();
    assert_eq!(
        before.prefund_balance - after.prefund_balance,
        Decimal::from_str("10.25").unwrap()
    );
}

#[tokio::test]
async fn a_wrong_token_is_refused_with_leanx_code() {
    let sim = sim().await;
    let mut settings = settings(&sim);
    settings.credentials.auth_token = Secret::new("LP-OTHER-MM|another-uuid|x");
    let error = LeanxClient::new(settings)
        .unwrap()
        .overall_balance()
        .await
        .unwrap_err();
    assert!(
        matches!(&error, LeanxError::Refused { response_code, .. } if response_code == "5699"),
        "{error:?}"
    );
    assert!(!error.may_have_reached_leanx());
}

#[tokio::test]
async fn a_refused_payout_keeps_code_and_description() {
    let sim = sim().await;
    sim.control()
        .set_outcome(Outcome::Refuse {
            response_code: 4566,
            description: "FAILED".into(),
        })
        .await
        .unwrap();
    let error = client(&sim)
        .create_payout(&payout("INV-R", "1.00"))
        .await
        .unwrap_err();
    assert_eq!(
        error,
        LeanxError::Refused {
            response_code: "4566".into(),
            description: "FAILED".into()
        }
    );
}

#[tokio::test]
async fn an_unknown_id_is_refused() {
    let sim = sim().await;
    let error = client(&sim)
        .get_payout_transaction("NOPE")
        .await
        .unwrap_err();
    assert!(matches!(error, LeanxError::Refused { .. }), "{error:?}");
}

#[tokio::test]
async fn signed_requests_pass_when_leanx_requires_signatures() {
    let sim = sim_with(SimConfig {
        require_signature: true,
        ..SimConfig::default()
    })
    .await;
    let mut settings = settings(&sim);
    settings.sign_requests = true;
    assert!(
        LeanxClient::new(settings)
            .unwrap()
            .overall_balance()
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn unsigned_requests_are_refused_when_leanx_requires_signatures() {
    let sim = sim_with(SimConfig {
        require_signature: true,
        ..SimConfig::default()
    })
    .await;
    let error = client(&sim).overall_balance().await.unwrap_err();
    assert!(matches!(error, LeanxError::Refused { .. }), "{error:?}");
}

#[tokio::test]
async fn a_closed_port_is_not_sent() {
    let listener = std::net::TcpListener::bind(LOOPBACK).unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let sim = sim().await;
    let mut settings = settings(&sim);
    settings.base_url = format!("http://{addr}");
    let error = LeanxClient::new(settings)
        .unwrap()
        .create_payout(&payout("INV-C", "1.00"))
        .await
        .unwrap_err();
    assert!(matches!(error, LeanxError::NotSent(_)), "{error:?}");
    assert!(!error.may_have_reached_leanx());
}

async fn create_under_fault(kind: FaultKind) -> (LeanxError, u64) {
    let sim = sim().await;
    sim.control()
        .inject_fault("create-payout-invoice", kind, Times::Count(1))
        .await
        .unwrap();
    let error = client(&sim)
        .create_payout(&payout("INV-FAULT", "1.00"))
        .await
        .unwrap_err();
    let recorded = sim.control().payouts_for_ref("INV-FAULT").await.unwrap();
    (error, recorded)
}

#[tokio::test]
async fn a_500_after_leanx_recorded_it_is_an_unknown_outcome() {
    let (error, recorded) = create_under_fault(FaultKind::Http500After).await;
    assert!(matches!(error, LeanxError::OutcomeUnknown(_)), "{error:?}");
    assert_eq!(recorded, 1);
}

#[tokio::test]
async fn a_500_is_an_unknown_outcome_even_when_leanx_dropped_it() {
    let (error, recorded) = create_under_fault(FaultKind::Http500Before).await;
    assert!(error.may_have_reached_leanx(), "{error:?}");
    assert_eq!(recorded, 0);
}

#[tokio::test]
async fn a_hang_past_the_timeout_is_an_unknown_outcome() {
    let (error, _) = create_under_fault(FaultKind::Hang).await;
    assert!(matches!(error, LeanxError::OutcomeUnknown(_)), "{error:?}");
}

#[tokio::test]
async fn a_dropped_connection_is_an_unknown_outcome() {
    let (error, recorded) = create_under_fault(FaultKind::DropAfter).await;
    assert!(matches!(error, LeanxError::OutcomeUnknown(_)), "{error:?}");
    assert_eq!(recorded, 1);
}

#[tokio::test]
async fn malformed_json_is_malformed_and_may_have_reached_leanx() {
    let (error, _) = create_under_fault(FaultKind::MalformedJson).await;
    assert!(matches!(error, LeanxError::Malformed(_)), "{error:?}");
    assert!(error.may_have_reached_leanx());
}

#[tokio::test]
async fn an_unknown_response_code_is_a_refusal_with_that_code() {
    let (error, _) = create_under_fault(FaultKind::UnknownCode).await;
    assert!(
        matches!(&error, LeanxError::Refused { response_code, .. } if response_code == "9999"),
        "{error:?}"
    );
}

#[tokio::test]
async fn errors_never_carry_the_auth_token() {
    let (error, _) = create_under_fault(FaultKind::DropAfter).await;
    let text = format!("{error} {error:?}");
    assert!(!text.contains(leanx_sim::DEFAULT_AUTH_TOKEN.split('|').nth(2).unwrap()));
    assert!(!text.contains(leanx_sim::DEFAULT_HASH_KEY));
}

/// A loopback HTTP/1.1 server that reads each whole request (so that closing never resets a
/// connection with unread bytes), counts it and answers `answer`.
async fn raw_server(answer: String) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind(LOOPBACK).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let counter = counter.clone();
            let answer = answer.clone();
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                loop {
                    let Ok(n) = socket.read(&mut buf).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    request.extend_from_slice(&buf[..n]);
                    if let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&request[..end]).to_ascii_lowercase();
                        let length: usize = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .map(|v| v.trim().parse().unwrap())
                            .unwrap_or(0);
                        if request.len() >= end + 4 + length {
                            break;
                        }
                    }
                }
                counter.fetch_add(1, Ordering::SeqCst);
                let _ = socket.write_all(answer.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    (addr, hits)
}

#[tokio::test]
async fn a_redirect_is_not_followed_and_the_payout_outcome_is_unknown() {
    let accepted = r#"{"response_code":2000,"description":"SUCCESS","data":{"status":"SUCCESS","invoice_no":"PAYOUT-0000:000000-LEANX"}}"#;
    let (elsewhere, elsewhere_hits) = raw_server(format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{accepted}",
        accepted.len()
    ))
    .await;
    let (redirector, redirector_hits) = raw_server(format!(
        "HTTP/1.1 307 Temporary Redirect\r\nlocation: http://{elsewhere}/api/v1/merchant/create-payout-invoice\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    ))
    .await;
    let sim = sim().await;
    let mut settings = settings(&sim);
    settings.base_url = format!("http://{redirector}");
    let error = LeanxClient::new(settings)
        .unwrap()
        .create_payout(&payout("INV-REDIRECT", "1.00"))
        .await
        .unwrap_err();
    assert_eq!(redirector_hits.load(Ordering::SeqCst), 1);
    assert_eq!(elsewhere_hits.load(Ordering::SeqCst), 0);
    assert!(matches!(error, LeanxError::OutcomeUnknown(_)), "{error:?}");
    assert!(error.may_have_reached_leanx());
    assert!(error.to_string().contains("307"), "{error}");
}

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

/// Yesterday to tomorrow: today's payouts, whatever the hour.
async fn find(
    leanx: &LeanxClient,
    external_ref: &str,
) -> Result<Vec<PayoutTransaction>, LeanxError> {
    leanx
        .find_payout_transactions_by_ref(
            external_ref,
            today().checked_sub_days(Days::new(1)).unwrap(),
            today().checked_add_days(Days::new(1)).unwrap(),
        )
        .await
}

#[tokio::test]
async fn a_payout_is_found_by_its_ref_with_its_exact_value() {
    let sim = sim().await;
    let leanx = client(&sim);
    let accepted = leanx
        .create_payout(&payout("INV-LIST", "0.10"))
        .await
        .unwrap();
    let found = find(&leanx, "INV-LIST").await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].merchant_invoice_id.as_deref(), Some("INV-LIST"));
    assert_eq!(
        found[0].payout_invoice_no.as_deref(),
        Some(accepted.invoice_no.as_str())
    );
    assert_eq!(found[0].value.unwrap().to_string(), "0.10");
}

#[tokio::test]
async fn the_largest_amount_is_listed_exactly() {
    let sim = sim().await;
    sim.control()
        .set_balance(dec("200000000.00"))
        .await
        .unwrap();
    let leanx = client(&sim);
    leanx
        .create_payout(&payout("INV-LIST-MAX", "99999999.99"))
        .await
        .unwrap();
    let found = find(&leanx, "INV-LIST-MAX").await.unwrap();
    assert_eq!(found[0].value.unwrap().to_string(), "99999999.99");
}

#[tokio::test]
async fn a_ref_leanx_never_received_is_an_empty_list() {
    let sim = sim().await;
    let leanx = client(&sim);
    leanx
        .create_payout(&payout("INV-OTHER", "1.00"))
        .await
        .unwrap();
    assert!(find(&leanx, "INV-NEVER").await.unwrap().is_empty());
}

#[tokio::test]
async fn refs_that_merely_contain_the_ref_are_not_returned() {
    let sim = sim().await;
    let leanx = client(&sim);
    for r in ["INV-9", "INV-90", "INV-91", "XINV-9"] {
        leanx.create_payout(&payout(r, "1.00")).await.unwrap();
    }
    let found = find(&leanx, "INV-9").await.unwrap();
    let refs: Vec<_> = found
        .iter()
        .map(|t| t.merchant_invoice_id.as_deref().unwrap())
        .collect();
    assert_eq!(refs, ["INV-9"]);
}

#[tokio::test]
async fn a_ref_past_the_first_page_of_partial_matches_is_found() {
    let sim = sim().await;
    let leanx = client(&sim);
    leanx.create_payout(&payout("INV-7", "1.00")).await.unwrap();
    for i in 0..12 {
        leanx
            .create_payout(&payout(&format!("INV-7-{i:02}"), "1.00"))
            .await
            .unwrap();
    }
    let found = find(&leanx, "INV-7").await.unwrap();
    assert_eq!(found.len(), 1);
    let queries: Vec<_> = sim
        .control()
        .calls()
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.endpoint == "payout-transaction-list")
        .filter_map(|c| c.query)
        .collect();
    assert_eq!(queries, ["skip=0&limit=10", "skip=10&limit=10"]);
}

#[tokio::test]
async fn every_retry_of_a_ref_is_listed_newest_first() {
    let sim = sim().await;
    let leanx = client(&sim);
    let first = leanx
        .create_payout(&payout("INV-TWICE", "1.00"))
        .await
        .unwrap();
    let second = leanx
        .create_payout(&payout("INV-TWICE", "1.00"))
        .await
        .unwrap();
    let found = find(&leanx, "INV-TWICE").await.unwrap();
    let invoices: Vec<_> = found
        .iter()
        .map(|t| t.payout_invoice_no.clone().unwrap())
        .collect();
    assert_eq!(invoices, [second.invoice_no, first.invoice_no]);
}

#[tokio::test]
async fn payouts_outside_the_dates_are_not_listed() {
    let sim = sim().await;
    let leanx = client(&sim);
    leanx
        .create_payout(&payout("INV-OLD", "1.00"))
        .await
        .unwrap();
    let found = leanx
        .find_payout_transactions_by_ref(
            "INV-OLD",
            today().checked_sub_days(Days::new(10)).unwrap(),
            today().checked_sub_days(Days::new(2)).unwrap(),
        )
        .await
        .unwrap();
    assert!(found.is_empty());
}

#[tokio::test]
async fn the_list_request_is_the_documented_search_by_ref() {
    let sim = sim().await;
    client(&sim)
        .find_payout_transactions_by_ref(
            "INV:2026:7",
            NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
            NaiveDate::from_ymd_opt(2026, 12, 2).unwrap(),
        )
        .await
        .unwrap();
    let calls = sim.control().calls().await.unwrap();
    let call = calls
        .iter()
        .find(|c| c.endpoint == "payout-transaction-list")
        .unwrap();
    assert_eq!(call.query.as_deref(), Some("skip=0&limit=10"));
    assert_eq!(
        call.body_json().unwrap(),
        serde_json::json!({
            "start_date": "01-11-2026",
            "end_date": "02-12-2026",
            "record_status": 1,
            "search": {
                "search_enable": true,
                "search_key": "INV:2026:7",
                "search_column": "external_invoice_ref",
            },
            "sort": { "parameter_name": "created_at", "sort_type": "desc" },
        })
    );
}

#[tokio::test]
async fn signed_list_requests_pass_when_leanx_requires_signatures() {
    let sim = sim_with(SimConfig {
        require_signature: true,
        ..SimConfig::default()
    })
    .await;
    let mut settings = settings(&sim);
    settings.sign_requests = true;
    let leanx = LeanxClient::new(settings).unwrap();
    leanx
        .create_payout(&payout("INV-SIGNED", "1.00"))
        .await
        .unwrap();
    assert_eq!(find(&leanx, "INV-SIGNED").await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_date_range_that_ends_before_it_starts_is_never_sent() {
    let sim = sim().await;
    let error = client(&sim)
        .find_payout_transactions_by_ref(
            "INV-1",
            today(),
            today().checked_sub_days(Days::new(1)).unwrap(),
        )
        .await
        .unwrap_err();
    assert!(matches!(error, LeanxError::NotSent(_)), "{error:?}");
    assert_eq!(
        sim.control()
            .count("payout-transaction-list")
            .await
            .unwrap(),
        0
    );
}

async fn list_under_fault(kind: FaultKind) -> LeanxError {
    let sim = sim().await;
    let leanx = client(&sim);
    leanx
        .create_payout(&payout("INV-LF", "1.00"))
        .await
        .unwrap();
    sim.control()
        .inject_fault("payout-transaction-list", kind, Times::Count(1))
        .await
        .unwrap();
    find(&leanx, "INV-LF").await.unwrap_err()
}

#[tokio::test]
async fn a_lost_list_answer_is_an_unknown_outcome_never_an_empty_list() {
    let error = list_under_fault(FaultKind::Http500Before).await;
    assert!(matches!(error, LeanxError::OutcomeUnknown(_)), "{error:?}");
}

#[tokio::test]
async fn a_malformed_list_answer_is_malformed_never_an_empty_list() {
    let error = list_under_fault(FaultKind::MalformedJson).await;
    assert!(matches!(error, LeanxError::Malformed(_)), "{error:?}");
}

#[tokio::test]
async fn a_maintenance_answer_to_a_list_is_a_refusal_never_an_empty_list() {
    let error = list_under_fault(FaultKind::Refuse {
        response_code: 5000,
        description: "MAINTENANCE".into(),
    })
    .await;
    assert!(
        matches!(&error, LeanxError::Refused { response_code, .. } if response_code == "5000"),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_list_past_the_timeout_is_an_unknown_outcome() {
    let error = list_under_fault(FaultKind::Hang).await;
    assert!(matches!(error, LeanxError::OutcomeUnknown(_)), "{error:?}");
}
