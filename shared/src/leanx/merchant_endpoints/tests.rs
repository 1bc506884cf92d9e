use super::*;

fn raw(text: &str) -> Box<RawValue> {
    RawValue::from_string(text.to_string()).unwrap()
}

#[test]
fn services_of_every_channel_group_are_flattened() {
    let data = raw(r#"{"list":{"data":[
            {"SWITCH_PAYOUT_WEBPAY":[
                {"payout_service_id":1,"name":"Maybank","unique_reference":"U1","payment_service":"DUITNOW_ACCOUNT","record_status":"ACTIVE","extra":true},
                {"payout_service_id":"2","name":"CIMB","unique_reference":"U2","payment_service":"DUITNOW_ACCOUNT","record_status":"INACTIVE"}],
             "SWITCH_PAYOUT_EWALLET":[
                {"payout_service_id":23,"name":"TNG","unique_reference":"U23","payment_service":"EWALLET"}],
             "count":3},
            {"OTHER":[{"payout_service_id":40,"name":"X","unique_reference":"U40","payment_service":"P","record_status":"active"}]}
        ],"total":4}}"#);
    let services = services_from(&data).unwrap();
    let ids: Vec<(i64, bool)> = services
        .iter()
        .map(|s| (s.payout_service_id, s.active))
        .collect();
    assert_eq!(ids, [(23, false), (1, true), (2, false), (40, true)]);
    assert_eq!(services[1].name, "Maybank");
    assert_eq!(services[1].unique_reference, "U1");
    assert_eq!(services[1].payment_service, "DUITNOW_ACCOUNT");
}

#[test]
fn a_service_without_a_name_is_malformed() {
    let data = raw(
        r#"{"list":{"data":[{"C":[{"payout_service_id":1,"unique_reference":"U","payment_service":"P"}]}]}}"#,
    );
    assert!(services_from(&data).is_err());
}

#[test]
fn a_fractional_service_id_is_malformed() {
    let data = raw(
        r#"{"list":{"data":[{"C":[{"payout_service_id":1.5,"name":"N","unique_reference":"U","payment_service":"P"}]}]}}"#,
    );
    assert!(services_from(&data).is_err());
}

#[test]
fn a_services_answer_without_the_list_is_malformed() {
    assert!(services_from(&raw(r#"{"data":[]}"#)).is_err());
}

#[test]
fn a_verified_account_gives_holder_bic_and_account() {
    let data = raw(
        r#"{"Success":true,"Result":{"OrgnThirdPartyBankBICCode":"MBBEMYKL","OrgnThirdPartyAccountNo":"9011426016","CreditorName":"AHMAD BIN ALI"}}"#,
    );
    assert_eq!(
        verification_from(&data, "9011426016").unwrap(),
        BankVerification::Found {
            account_holder_name: "AHMAD BIN ALI".into(),
            bank_bic: Some("MBBEMYKL".into()),
            account_no: "9011426016".into(),
        }
    );
}

#[test]
fn success_false_is_account_not_found() {
    let data = raw(r#"{"Success":false,"Result":null}"#);
    assert_eq!(
        verification_from(&data, "123").unwrap(),
        BankVerification::AccountNotFound
    );
}

#[test]
fn success_without_a_holder_name_is_never_a_match() {
    for data in [
        r#"{"Success":true,"Result":null}"#,
        r#"{"Success":true,"Result":{"CreditorName":"  "}}"#,
        r#"{"Success":true,"Result":{"CreditorName":null}}"#,
        r#"{"Success":"true","Result":{"CreditorName":"A"}}"#,
        r#"{"Result":{"CreditorName":"A"}}"#,
        r#"null"#,
    ] {
        assert!(verification_from(&raw(data), "123456").is_err(), "{data}");
    }
}

#[test]
fn a_holder_name_for_another_account_is_never_a_match() {
    let data = raw(
        r#"{"Success":true,"Result":{"OrgnThirdPartyAccountNo":"9011426017","CreditorName":"A"}}"#,
    );
    assert!(verification_from(&data, "9011426016").is_err());
}

#[test]
fn the_account_number_is_compared_without_separators() {
    let data = raw(
        r#"{"Success":true,"Result":{"OrgnThirdPartyAccountNo":"9011-4260 16","CreditorName":"A"}}"#,
    );
    assert!(matches!(
        verification_from(&data, "901142601 6").unwrap(),
        BankVerification::Found { bank_bic: None, .. }
    ));
}

#[test]
fn refusals_naming_an_unknown_account_are_recognised() {
    for description in [
        "ACCOUNT_NOT_FOUND",
        "Account not found",
        "INVALID ACCOUNT NUMBER",
        "Account does not exist",
        "ACCOUNT NOTFOUND",
        "Beneficiary account invalid",
        "9011426016 not found",
        "FAILED account 9011426016 not found",
    ] {
        assert!(
            describes_unknown_account(description, "9011426016"),
            "{description}"
        );
    }
}

#[test]
fn other_refusals_are_not_an_unknown_account() {
    for description in [
        "FAILED",
        "INVALID_TOKEN",
        "INVALID_UUID",
        "INVALID_PAYOUT_SERVICE",
        "Requested endpoint is forbidden",
        "MERCHANT ACCOUNT NOT FOUND",
        "INVALID_VIRTUAL_POOL_REFERENCE account",
        "ACCOUNT SUSPENDED",
        "TRANSACTION_NOT_FOUND",
        "Bank timeout for account",
        "SERVICE INVALIDATED ACCOUNT",
        "INVALID_TOKEN account 9011426016 not found",
        "INVALID_PAYOUT_SERVICE payout service 31 is INACTIVE",
        "",
    ] {
        assert!(
            !describes_unknown_account(description, "9011426016"),
            "{description}"
        );
    }
}

#[test]
fn refusals_of_the_payout_service_are_recognised_and_no_others() {
    for description in [
        "INVALID_PAYOUT_SERVICE",
        "INVALID_PAYOUT_SERVICE payout service 31 is INACTIVE",
        "Payout service not found",
    ] {
        assert!(describes_unknown_service(description), "{description}");
    }
    for description in [
        "FAILED",
        "INVALID_TOKEN",
        "ACCOUNT_NOT_FOUND",
        "Requested endpoint is forbidden",
        "SERVICE UNAVAILABLE",
        "INVALID_UUID service",
        "",
    ] {
        assert!(!describes_unknown_service(description), "{description}");
    }
}

#[test]
fn balances_are_read_exactly() {
    let data = raw(
        r#"{"transaction_balance":{"value":0.10,"currency":"MYR"},"prefund_balance":99999999.99,"total_transaction_as_of_today":7}"#,
    );
    let balance = balance_from(&data).unwrap();
    assert_eq!(balance.transaction_balance.to_string(), "0.10");
    assert_eq!(balance.prefund_balance.to_string(), "99999999.99");
    assert_eq!(balance.total_transaction_as_of_today, 7);
}

#[test]
fn a_missing_balance_is_malformed_not_zero() {
    for data in [
        r#"{"transaction_balance":{"value":1.00},"total_transaction_as_of_today":0}"#,
        r#"{"transaction_balance":{"value":1.00},"prefund_balance":null,"total_transaction_as_of_today":0}"#,
        r#"{"transaction_balance":{},"prefund_balance":1.00,"total_transaction_as_of_today":0}"#,
        r#"{"transaction_balance":{"value":1.00},"prefund_balance":1.00}"#,
        r#"{"transaction_balance":{"value":1.00},"prefund_balance":1.00,"total_transaction_as_of_today":1.5}"#,
        r#"{"transaction_balance":{"value":"abc"},"prefund_balance":1.00,"total_transaction_as_of_today":0}"#,
    ] {
        assert!(balance_from(&raw(data)).is_err(), "{data}");
    }
}

const TX: &str = r#"{"merchant_invoice_id":"INV-1","payout_invoice_no":"PAYOUT-1","transaction_status":"SUCCESS","value":0.10}"#;

#[test]
fn transactions_are_found_wherever_the_list_is() {
    for shape in [
        format!("[{TX}]"),
        format!(r#"{{"list":[{TX}],"total":1}}"#),
        format!(r#"{{"list":{{"data":[{TX}]}}}}"#),
        format!(r#"{{"data":[{TX}]}}"#),
    ] {
        let (found, listed) = transactions_from(&raw(&shape), "INV-1").unwrap();
        assert_eq!(listed, 1, "{shape}");
        assert_eq!(found.len(), 1, "{shape}");
        assert_eq!(found[0].value.unwrap().to_string(), "0.10");
    }
}

#[test]
fn an_empty_list_is_an_empty_answer() {
    let (found, listed) = transactions_from(&raw(r#"{"list":[]}"#), "INV-1").unwrap();
    assert!(found.is_empty());
    assert_eq!(listed, 0);
}

#[test]
fn an_unrecognised_list_shape_is_malformed_not_empty() {
    for shape in [
        r#"{}"#,
        r#"null"#,
        r#"{"items":[]}"#,
        r#"{"list":{"rows":[]}}"#,
        r#""none""#,
    ] {
        assert!(transactions_from(&raw(shape), "INV-1").is_err(), "{shape}");
    }
}

#[test]
fn only_the_exact_ref_is_kept_from_a_partial_search() {
    let data = raw(
        r#"[{"external_invoice_ref":"INV-10","transaction_status":"SUCCESS"},
            {"external_invoice_ref":"INV-1","transaction_status":"FAILED","value":99999999.99}]"#,
    );
    let (found, listed) = transactions_from(&data, "INV-1").unwrap();
    assert_eq!(listed, 2);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].transaction_status, "FAILED");
    assert_eq!(found[0].merchant_invoice_id.as_deref(), Some("INV-1"));
    assert_eq!(found[0].value.unwrap().to_string(), "99999999.99");
}

#[test]
fn a_listed_transaction_without_a_ref_is_malformed() {
    let data = raw(r#"[{"transaction_status":"SUCCESS"}]"#);
    assert!(transactions_from(&data, "INV-1").is_err());
}

#[test]
fn a_matching_transaction_without_a_status_is_malformed() {
    let data = raw(r#"[{"merchant_invoice_id":"INV-1"}]"#);
    assert!(transactions_from(&data, "INV-1").is_err());
}
