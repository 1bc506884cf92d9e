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
mod tests;
