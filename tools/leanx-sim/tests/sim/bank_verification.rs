//! `check-verification-bank`: account holders, scripted through `/__sim/accounts`.

use leanx_sim::control::{AccountScript, FaultKind, Times};
use serde_json::{Value, json};

use crate::support::*;

async fn verify(s: &Sim, service: i64, account: &str) -> Value {
    let body = json!({ "payout_service_id": service, "third_party_account_no": account });
    s.call("check-verification-bank", Some(body.to_string()))
        .await
}

#[tokio::test]
async fn an_unscripted_account_is_held_by_john_doe_at_the_banks_bic() {
    let s = start().await;
    let v = verify(&s, 23, "9011426016").await;
    assert_eq!(v["response_code"], 2000);
    assert_eq!(
        v["data"],
        json!({ "Success": true, "Result": {
            "OrgnThirdPartyBankBICCode": "MBBEMYKL",
            "OrgnThirdPartyAccountNo": "9011426016",
            "CreditorName": "JOHN DOE",
        }})
    );
}

#[tokio::test]
async fn a_scripted_holder_is_answered_with_its_name_and_bic() {
    let s = start().await;
    s.ctl
        .script_account(
            "9011426016",
            AccountScript::Holder {
                holder_name: "SITI NURHALIZA BINTI TARUDIN".into(),
                bic: Some("CIBBMYKL".into()),
            },
        )
        .await
        .unwrap();
    let r = &verify(&s, 23, "9011426016").await["data"]["Result"];
    assert_eq!(r["CreditorName"], "SITI NURHALIZA BINTI TARUDIN");
    assert_eq!(r["OrgnThirdPartyBankBICCode"], "CIBBMYKL");
    let other = &verify(&s, 23, "9011426017").await["data"]["Result"];
    assert_eq!(
        other["CreditorName"], "JOHN DOE",
        "other accounts keep the default"
    );
}

#[tokio::test]
async fn a_holder_script_is_plain_json_and_its_bic_defaults_to_the_banks() {
    let s = start().await;
    let resp = s
        .http
        .post(format!("{}/__sim/accounts/9011426016", s.sim.base_url()))
        .body(r#"{"holder_name":"AH KOW"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let r = &verify(&s, 24, "9011426016").await["data"]["Result"];
    assert_eq!(r["CreditorName"], "AH KOW");
    assert_eq!(r["OrgnThirdPartyBankBICCode"], "CIBBMYKL");
}

#[tokio::test]
async fn an_account_scripted_not_found_answers_success_false() {
    let s = start().await;
    s.ctl
        .script_account("9011426016", AccountScript::NotFound)
        .await
        .unwrap();
    let v = verify(&s, 23, "9011426016").await;
    assert_eq!(v["response_code"], 2000);
    assert_eq!(v["data"], json!({ "Success": false, "Result": null }));
}

#[tokio::test]
async fn an_account_scripted_refused_answers_its_code_naming_the_account() {
    let s = start().await;
    s.ctl
        .script_account(
            "9011426016",
            AccountScript::Refuse {
                response_code: 4404,
                description: "ACCOUNT_NOT_FOUND".into(),
            },
        )
        .await
        .unwrap();
    let v = verify(&s, 23, "9011426016").await;
    assert_eq!(v["response_code"], 4404);
    assert_eq!(v["description"], "ACCOUNT_NOT_FOUND");
    assert!(v["data"].is_null());
    assert!(
        v["breakdown_errors"]
            .as_str()
            .unwrap()
            .contains("9011426016"),
        "{v}"
    );
}

#[tokio::test]
async fn a_malformed_account_number_is_not_found() {
    let s = start().await;
    let v = verify(&s, 23, "12AB").await;
    assert_eq!(v["data"], json!({ "Success": false, "Result": null }));
}

#[tokio::test]
async fn clearing_a_script_restores_the_default_holder() {
    let s = start().await;
    s.ctl
        .script_account("9011426016", AccountScript::NotFound)
        .await
        .unwrap();
    s.ctl.clear_account("9011426016").await.unwrap();
    let v = verify(&s, 23, "9011426016").await;
    assert_eq!(v["data"]["Result"]["CreditorName"], "JOHN DOE");
}

#[tokio::test]
async fn a_script_without_holder_name_or_with_an_unknown_answer_is_refused() {
    let s = start().await;
    let url = format!("{}/__sim/accounts/9011426016", s.sim.base_url());
    for body in [
        r#"{"bic":"MBBEMYKL"}"#,
        r#"{"answer":"MAYBE"}"#,
        r#"{"answer":"REFUSE"}"#,
    ] {
        let resp = s.http.post(&url).body(body).send().await.unwrap();
        assert_eq!(resp.status(), 400, "{body}");
    }
}

#[tokio::test]
async fn the_inactive_service_cannot_verify() {
    let s = start().await;
    let v = verify(&s, 31, "9011426016").await;
    assert_eq!(v["response_code"], 4569);
}

#[tokio::test]
async fn verifications_are_counted_and_faulted_like_any_call() {
    let s = start().await;
    s.ctl
        .inject_fault(
            "check-verification-bank",
            FaultKind::DropBefore,
            Times::Count(1),
        )
        .await
        .unwrap();
    let body = json!({ "payout_service_id": 23, "third_party_account_no": "9011426016" });
    let dropped = s
        .post("check-verification-bank")
        .body(body.to_string())
        .send()
        .await;
    assert!(dropped.is_err());
    assert_eq!(verify(&s, 23, "9011426016").await["response_code"], 2000);
    assert_eq!(s.ctl.count("check-verification-bank").await.unwrap(), 2);
    let calls = s.ctl.calls().await.unwrap();
    assert_eq!(calls[0].fault.as_deref(), Some("drop_before"));
}
