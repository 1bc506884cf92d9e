//! The merchant's read endpoints of LeanX (LEANX.md, "More of LeanX"): the payout services,
//! bank account verification, the pool balance and the payout list. Each answer is read
//! exactly (money as decimals from the JSON text) and conservatively: a shape this client does
//! not recognise is [`LeanxError::Malformed`], never an empty list, a zero or a match.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::client::{CallFailure, LeanxClient, LeanxError, PayoutTransaction, decimal_from_raw};

/// `payout-transaction-list` page size (LEANX.md's `?skip=0&limit=10`).
const LIST_PAGE: usize = 10;
/// Pages read for one ref before giving up: LeanX's search may match by substring, and a
/// search that will not narrow is no evidence either way.
const LIST_MAX_PAGES: usize = 5;

/// One bank or e-wallet payouts can be sent to, from `list-payout-services`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayoutService {
    pub payout_service_id: i64,
    /// The bank's name as LeanX shows it.
    pub name: String,
    pub unique_reference: String,
    /// E.g. `DUITNOW_ACCOUNT`, `EWALLET`.
    pub payment_service: String,
    /// `record_status` is `ACTIVE` (any case); anything else, or none, is inactive.
    pub active: bool,
}

/// What `check-verification-bank` says of one account.
///
/// The rule (LEANX.md documents only the success shape):
/// - `Found`: a 2000 answer with `data.Success: true` and a non-empty `Result.CreditorName`,
///   whose `Result.OrgnThirdPartyAccountNo`, when present, is the account asked about
///   (compared on letters and digits only).
/// - `AccountNotFound`: a 2000 answer with `data.Success: false`; or a non-2000 answer whose
///   `description` and `breakdown_errors`, read together, name the account and say it is not
///   found, does not exist or is invalid (`describes_unknown_account` below).
/// - `ServiceNotFound`: a non-2000 answer saying the `payout_service_id` is invalid or inactive
///   (`describes_unknown_service` below): the merchant asked about a bank LeanX does not pay,
///   which is the request's fault, not LeanX being unavailable.
/// - Anything else is an error: other refusals stay [`LeanxError::Refused`], other shapes
///   (`Success: true` without a name, another account's name) are [`LeanxError::Malformed`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BankVerification {
    Found {
        /// `CreditorName`: upper case as the bank holds it; LeanX gives no match score.
        account_holder_name: String,
        /// `OrgnThirdPartyBankBICCode`, when LeanX sends it.
        bank_bic: Option<String>,
        /// `OrgnThirdPartyAccountNo`, or the account asked about when LeanX leaves it out.
        account_no: String,
    },
    AccountNotFound,
    ServiceNotFound,
}

/// `overall-balance`, exact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Balance {
    /// The transaction pool (`transaction_balance.value`).
    pub transaction_balance: Decimal,
    /// The payout fund pool, the one payouts are paid from; it must keep RM 2.00.
    pub prefund_balance: Decimal,
    pub total_transaction_as_of_today: i64,
}

impl LeanxClient {
    /// Every payout service of every channel group (`data.list.data[*].<CHANNEL>[]`), in
    /// LeanX's order within a channel; channels in name order. Duplicates are kept.
    pub async fn list_payout_services(&self) -> Result<Vec<PayoutService>, LeanxError> {
        let data: Box<RawValue> = self.call("list-payout-services", None, None).await?;
        services_from(&data).map_err(|e| malformed("list-payout-services", e))
    }

    /// Who holds `account_no` at the bank of `payout_service_id` (see [`BankVerification`]
    /// for how each answer is read). The account number goes in the body only.
    pub async fn check_verification_bank(
        &self,
        payout_service_id: i64,
        account_no: &str,
    ) -> Result<BankVerification, LeanxError> {
        let body = serde_json::json!({
            "payout_service_id": payout_service_id,
            "third_party_account_no": account_no,
        });
        let answer: Result<Box<RawValue>, CallFailure> = self
            .call_detailed(
                "check-verification-bank",
                None,
                Some(body.to_string().into_bytes()),
            )
            .await;
        match answer {
            Ok(data) => verification_from(&data, account_no)
                .map_err(|e| malformed("check-verification-bank", e)),
            Err(CallFailure {
                error: LeanxError::Refused { description, .. },
                breakdown,
            }) if describes_unknown_account(&format!("{description} {breakdown}"), account_no) => {
                Ok(BankVerification::AccountNotFound)
            }
            Err(CallFailure {
                error: LeanxError::Refused { description, .. },
                breakdown,
            }) if describes_unknown_service(&format!("{description} {breakdown}")) => {
                Ok(BankVerification::ServiceNotFound)
            }
            Err(failure) => Err(failure.error),
        }
    }

    /// Both pools' balances, exact; a missing field is malformed, never zero.
    pub async fn overall_balance(&self) -> Result<Balance, LeanxError> {
        let data: Box<RawValue> = self.call("overall-balance", None, None).await?;
        balance_from(&data).map_err(|e| malformed("overall-balance", e))
    }

    /// The payouts LeanX lists for `external_invoice_ref` created between the two dates
    /// (inclusive, LeanX's calendar: its zone is undocumented, so widen by a day each side),
    /// newest first. Only items whose ref equals `external_invoice_ref` exactly are returned
    /// (LeanX's search may match parts of refs). The list's shape is undocumented: the items
    /// are looked for under `data`, `data.list`, `data.list.data` or `data.data`; any other
    /// shape, or an item without a ref, is [`LeanxError::Malformed`] — never an empty list.
    /// More than 50 matches of the search is also an error: absence could not be shown.
    pub async fn find_payout_transactions_by_ref(
        &self,
        external_invoice_ref: &str,
        created_on_or_after: NaiveDate,
        until: NaiveDate,
    ) -> Result<Vec<PayoutTransaction>, LeanxError> {
        if until < created_on_or_after {
            return Err(LeanxError::NotSent(
                "payout-transaction-list: the date range ends before it starts".into(),
            ));
        }
        let body = serde_json::json!({
            "start_date": created_on_or_after.format("%d-%m-%Y").to_string(),
            "end_date": until.format("%d-%m-%Y").to_string(),
            "record_status": 1,
            "search": {
                "search_enable": true,
                "search_key": external_invoice_ref,
                "search_column": "external_invoice_ref",
            },
            "sort": { "parameter_name": "created_at", "sort_type": "desc" },
        })
        .to_string()
        .into_bytes();
        let mut found = Vec::new();
        for page in 0..LIST_MAX_PAGES {
            let query = format!("skip={}&limit={LIST_PAGE}", page * LIST_PAGE);
            let data: Box<RawValue> = self
                .call("payout-transaction-list", Some(query), Some(body.clone()))
                .await?;
            let (matching, listed) = transactions_from(&data, external_invoice_ref)
                .map_err(|e| malformed("payout-transaction-list", e))?;
            found.extend(matching);
            if listed < LIST_PAGE {
                return Ok(found);
            }
        }
        Err(malformed(
            "payout-transaction-list",
            format!(
                "the search still lists full pages after {} items",
                LIST_PAGE * LIST_MAX_PAGES
            ),
        ))
    }
}

fn malformed(endpoint: &str, why: String) -> LeanxError {
    LeanxError::Malformed(format!("{endpoint}: {why}"))
}

type Object = BTreeMap<String, Box<RawValue>>;

fn object(raw: &RawValue) -> Option<Object> {
    serde_json::from_str(raw.get()).ok()
}

fn array(raw: &RawValue) -> Option<Vec<Box<RawValue>>> {
    serde_json::from_str(raw.get()).ok()
}

/// An integer sent as a JSON number or a numeric string.
fn integer(raw: &RawValue) -> Option<i64> {
    raw.get().trim_matches('"').parse().ok()
}

/// A JSON string's value; `None` for null, absent or another type.
fn string(object: &Object, key: &str) -> Option<String> {
    serde_json::from_str::<Option<String>>(object.get(key)?.get()).ok()?
}

fn services_from(data: &RawValue) -> Result<Vec<PayoutService>, String> {
    #[derive(Deserialize)]
    struct Data {
        list: List,
    }
    #[derive(Deserialize)]
    struct List {
        data: Vec<Object>,
    }
    #[derive(Deserialize)]
    struct Service {
        payout_service_id: Box<RawValue>,
        name: String,
        unique_reference: String,
        payment_service: String,
        #[serde(default)]
        record_status: Option<String>,
    }
    let data: Data = serde_json::from_str(data.get())
        .map_err(|e| format!("no list.data array of channel groups: {e}"))?;
    let mut services = Vec::new();
    for group in data.list.data {
        for (channel, entries) in group {
            // Only arrays hold services; a count or label beside them is not one.
            let Some(entries) = array(&entries) else {
                continue;
            };
            for entry in entries {
                let service: Service = serde_json::from_str(entry.get())
                    .map_err(|e| format!("a {channel} service: {e}"))?;
                let payout_service_id = integer(&service.payout_service_id).ok_or_else(|| {
                    format!("a {channel} service: payout_service_id is not an integer")
                })?;
                services.push(PayoutService {
                    payout_service_id,
                    name: service.name,
                    unique_reference: service.unique_reference,
                    payment_service: service.payment_service,
                    active: service
                        .record_status
                        .is_some_and(|s| s.trim().eq_ignore_ascii_case("ACTIVE")),
                });
            }
        }
    }
    Ok(services)
}

fn verification_from(data: &RawValue, asked: &str) -> Result<BankVerification, String> {
    let data = object(data).ok_or("data is not an object")?;
    let success = data
        .get("Success")
        .and_then(|s| serde_json::from_str::<bool>(s.get()).ok())
        .ok_or("no boolean Success")?;
    if !success {
        return Ok(BankVerification::AccountNotFound);
    }
    let result = data
        .get("Result")
        .and_then(|r| object(r))
        .ok_or("Success without a Result object")?;
    let name = string(&result, "CreditorName")
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
        .ok_or("Success without a CreditorName")?;
    let account_no = match string(&result, "OrgnThirdPartyAccountNo") {
        Some(answered) if same_account(&answered, asked) => answered,
        Some(_) => return Err("the answer names another account".into()),
        None => asked.to_string(),
    };
    Ok(BankVerification::Found {
        account_holder_name: name,
        bank_bic: string(&result, "OrgnThirdPartyBankBICCode").filter(|b| !b.trim().is_empty()),
        account_no,
    })
}

fn same_account(a: &str, b: &str) -> bool {
    let plain = |s: &str| -> String {
        s.chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_uppercase())
            .collect()
    };
    plain(a) == plain(b)
}

/// Whether a refusal of `check-verification-bank` says the account does not exist. LeanX's
/// codes are undocumented, so this reads the text (description and breakdown), narrowly: it must name the account
/// (the word ACCOUNT, or the account number itself), say NOT FOUND, NOT EXIST or INVALID, and
/// name none of the merchant's own things (MERCHANT, POOL, TOKEN, UUID, SIGNATURE), so that
/// e.g. `INVALID_TOKEN` or "merchant account not found" stay refusals.
fn describes_unknown_account(description: &str, account_no: &str) -> bool {
    let words: Vec<String> = description
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_uppercase)
        .collect();
    let text = format!(" {} ", words.join(" "));
    let has = |word: &str| words.iter().any(|w| w == word);
    let digits: String = account_no.chars().filter(char::is_ascii_digit).collect();
    let names_account = has("ACCOUNT") || (digits.len() >= 5 && words.contains(&digits));
    let says_unknown = [" NOT FOUND ", " NOT EXIST", " INVALID "]
        .iter()
        .any(|p| text.contains(p))
        || has("NOTFOUND");
    let about_merchant = ["MERCHANT", "POOL", "TOKEN", "UUID", "SIGNATURE"]
        .iter()
        .any(|w| has(w));
    names_account && says_unknown && !about_merchant
}

/// Whether a refusal's text says the payout service is invalid, inactive or unknown
/// (e.g. `INVALID_PAYOUT_SERVICE`), and is not about the merchant's own credentials.
fn describes_unknown_service(description: &str) -> bool {
    let words: Vec<String> = description
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_uppercase)
        .collect();
    let has = |word: &str| words.iter().any(|w| w == word);
    let text = format!(" {} ", words.join(" "));
    let names_service = has("SERVICE");
    let says_unusable =
        has("INVALID") || has("INACTIVE") || text.contains(" NOT FOUND ") || has("UNKNOWN");
    let about_merchant = ["MERCHANT", "POOL", "TOKEN", "UUID", "SIGNATURE"]
        .iter()
        .any(|w| has(w));
    names_service && says_unusable && !about_merchant
}

fn balance_from(data: &RawValue) -> Result<Balance, String> {
    let data = object(data).ok_or("data is not an object")?;
    let required = |key: &str| -> Result<&RawValue, String> {
        data.get(key)
            .map(Box::as_ref)
            .filter(|v| v.get() != "null")
            .ok_or(format!("no {key}"))
    };
    // Documented as {"value": 26.05, ...}; a bare number is read the same.
    let transaction = required("transaction_balance")?;
    let transaction_balance = match object(transaction) {
        Some(inner) => inner
            .get("value")
            .filter(|v| v.get() != "null")
            .ok_or("no transaction_balance.value".to_string())
            .and_then(|v| decimal_from_raw(v))?,
        None => decimal_from_raw(transaction)?,
    };
    let prefund_balance = decimal_from_raw(required("prefund_balance")?)?;
    let total = required("total_transaction_as_of_today")?;
    let total_transaction_as_of_today =
        integer(total).ok_or("total_transaction_as_of_today is not an integer")?;
    Ok(Balance {
        transaction_balance,
        prefund_balance,
        total_transaction_as_of_today,
    })
}

/// The items of one list page whose ref is `wanted`, and how many items the page listed.
fn transactions_from(
    data: &RawValue,
    wanted: &str,
) -> Result<(Vec<PayoutTransaction>, usize), String> {
    let items = list_items(data)
        .ok_or("no array of transactions under data, data.list, data.list.data or data.data")?;
    let listed = items.len();
    let mut matching = Vec::new();
    for item in items {
        let fields = object(&item).ok_or("a listed transaction is not an object")?;
        let by_merchant_id = string(&fields, "merchant_invoice_id");
        let by_external_ref = string(&fields, "external_invoice_ref");
        let item_ref = match (by_merchant_id, by_external_ref) {
            (Some(a), Some(b)) if a != b => {
                return Err("a listed transaction carries two different refs".into());
            }
            (Some(r), _) | (None, Some(r)) => r,
            (None, None) => return Err("a listed transaction has no ref".into()),
        };
        if item_ref != wanted {
            continue;
        }
        let mut transaction: PayoutTransaction =
            serde_json::from_str(item.get()).map_err(|e| format!("a listed transaction: {e}"))?;
        transaction.merchant_invoice_id = Some(item_ref);
        matching.push(transaction);
    }
    Ok((matching, listed))
}

/// The first array among the places a list is usually put.
fn list_items(data: &RawValue) -> Option<Vec<Box<RawValue>>> {
    if let Some(items) = array(data) {
        return Some(items);
    }
    let data = object(data)?;
    let nested = |outer: &str, inner: &str| {
        data.get(outer)
            .and_then(|o| object(o))
            .and_then(|o| o.get(inner).and_then(|i| array(i)))
    };
    data.get("list")
        .and_then(|l| array(l))
        .or_else(|| nested("list", "data"))
        .or_else(|| data.get("data").and_then(|d| array(d)))
}

#[cfg(test)]
mod tests {
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
}
