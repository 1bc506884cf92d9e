//! The LeanX client against the project's LeanX simulator, over real HTTP: every endpoint and
//! every class of error the money path tells apart.

use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use leanx_payouts::domain::Amount;
use leanx_payouts::leanx::{
    CreatePayoutInvoice, LeanxClient, LeanxCredentials, LeanxError, LeanxSettings, Secret,
};
use leanx_sim::control::{FaultKind, Outcome, Times};
use leanx_sim::{RunningSim, SimConfig};
use rust_decimal::Decimal;

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

#[tokio::test]
async fn lists_payout_services() {
    let sim = sim().await;
    let services = client(&sim).list_payout_services().await.unwrap();
    assert!(services.iter().any(|s| s.payout_service_id == 23));
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
async fn verifies_a_bank_account() {
    let sim = sim().await;
    let verification = client(&sim)
        .check_verification_bank(23, "8011408168")
        .await
        .unwrap();
    assert!(verification.success);
    assert!(verification.result.unwrap().creditor_name.is_some());
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
