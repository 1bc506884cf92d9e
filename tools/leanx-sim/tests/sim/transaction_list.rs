//! `payout-transaction-list`: LEANX.md's request; the answer shape is the simulator's guess.

use leanx_sim::control::{FaultKind, Outcome, Times};
use serde_json::{Value, json};

use crate::support::*;

fn today() -> String {
    chrono::Utc::now().format("%d-%m-%Y").to_string()
}

/// LEANX.md's body for today, searching `column` for `key` when given.
fn list_body(search: Option<(&str, &str)>) -> Value {
    let (enable, key, column) = match search {
        Some((column, key)) => (true, key, column),
        None => (false, "", ""),
    };
    json!({
        "start_date": today(), "end_date": today(), "record_status": 1,
        "search": { "search_enable": enable, "search_key": key, "search_column": column },
        "sort": { "parameter_name": "created_at", "sort_type": "desc" },
    })
}

async fn list(s: &Sim, query: &str, body: &Value) -> Value {
    s.call(
        &format!("payout-transaction-list?{query}"),
        Some(body.to_string()),
    )
    .await
}

fn refs(v: &Value) -> Vec<String> {
    v["data"]["list"]
        .as_array()
        .unwrap_or_else(|| panic!("no list: {v}"))
        .iter()
        .map(|p| p["merchant_invoice_id"].as_str().unwrap().to_string())
        .collect()
}

async fn three_payouts(s: &Sim) -> Vec<String> {
    let mut invoices = Vec::new();
    for r in ["INV-1", "INV-2", "INV-10"] {
        invoices.push(s.create_ok(r, "1.00").await);
    }
    invoices
}

#[tokio::test]
async fn searching_external_invoice_ref_finds_that_payout() {
    let s = start().await;
    three_payouts(&s).await;
    let v = list(
        &s,
        "skip=0&limit=10",
        &list_body(Some(("external_invoice_ref", "INV-2"))),
    )
    .await;
    assert_eq!(v["response_code"], 2000, "{v}");
    assert_eq!(refs(&v), ["INV-2"]);
    assert_eq!(v["data"]["total"], 1);
}

#[tokio::test]
async fn searching_invoice_no_finds_that_payout() {
    let s = start().await;
    let invoices = three_payouts(&s).await;
    let v = list(
        &s,
        "skip=0&limit=10",
        &list_body(Some(("invoice_no", &invoices[1]))),
    )
    .await;
    assert_eq!(refs(&v), ["INV-2"]);
    assert_eq!(
        v["data"]["list"][0]["payout_invoice_no"],
        invoices[1].as_str()
    );
}

#[tokio::test]
async fn search_is_a_substring_match_so_clients_must_compare_exactly() {
    let s = start().await;
    three_payouts(&s).await;
    let v = list(
        &s,
        "skip=0&limit=10",
        &list_body(Some(("external_invoice_ref", "inv-1"))),
    )
    .await;
    assert_eq!(refs(&v), ["INV-10", "INV-1"]);
}

#[tokio::test]
async fn entries_are_shaped_like_a_lookup_with_exact_values() {
    let s = start().await;
    s.ctl.set_outcome(Outcome::Pending).await.unwrap();
    s.create_ok("INV-EXACT", "99999.99").await;
    let text = s
        .call_text(
            "payout-transaction-list?skip=0&limit=10",
            Some(list_body(None).to_string()),
        )
        .await;
    assert!(text.contains(r#""value":99999.99"#), "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    let entry = &v["data"]["list"][0];
    let lookup = s.get("INV-EXACT").await;
    for field in [
        "payout_invoice_no",
        "merchant_invoice_id",
        "transaction_status",
        "value",
        "created_at",
    ] {
        assert_eq!(entry[field], lookup["data"][field], "{field}");
    }
}

#[tokio::test]
async fn skip_and_limit_page_newest_first_and_total_counts_all() {
    let s = start().await;
    three_payouts(&s).await;
    let first = list(&s, "skip=0&limit=2", &list_body(None)).await;
    let second = list(&s, "skip=2&limit=2", &list_body(None)).await;
    assert_eq!(refs(&first), ["INV-10", "INV-2"]);
    assert_eq!(refs(&second), ["INV-1"]);
    assert_eq!(
        (
            first["data"]["total"].clone(),
            second["data"]["total"].clone()
        ),
        (json!(3), json!(3))
    );
}

#[tokio::test]
async fn sort_type_asc_lists_oldest_first() {
    let s = start().await;
    three_payouts(&s).await;
    let mut body = list_body(None);
    body["sort"]["sort_type"] = json!("asc");
    assert_eq!(
        refs(&list(&s, "skip=0&limit=10", &body).await),
        ["INV-1", "INV-2", "INV-10"]
    );
}

#[tokio::test]
async fn payouts_outside_the_date_range_are_not_listed() {
    let s = start().await;
    three_payouts(&s).await;
    let mut body = list_body(None);
    body["start_date"] = json!("01-01-2020");
    body["end_date"] = json!("31-12-2020");
    let v = list(&s, "skip=0&limit=10", &body).await;
    assert_eq!(v["response_code"], 2000);
    assert!(refs(&v).is_empty());
    assert_eq!(v["data"]["total"], 0);
}

#[tokio::test]
async fn a_date_not_in_dd_mm_yyyy_is_refused_4566() {
    let s = start().await;
    let mut body = list_body(None);
    body["start_date"] = json!("2026-12-01");
    assert_eq!(
        list(&s, "skip=0&limit=10", &body).await["response_code"],
        4566
    );
}

#[tokio::test]
async fn an_unknown_search_column_is_refused_4566() {
    let s = start().await;
    let body = list_body(Some(("recipient_name", "John")));
    assert_eq!(
        list(&s, "skip=0&limit=10", &body).await["response_code"],
        4566
    );
}

#[tokio::test]
async fn a_disabled_search_ignores_its_key() {
    let s = start().await;
    three_payouts(&s).await;
    let mut body = list_body(Some(("external_invoice_ref", "INV-2")));
    body["search"]["search_enable"] = json!(false);
    assert_eq!(refs(&list(&s, "skip=0&limit=10", &body).await).len(), 3);
}

#[tokio::test]
async fn list_calls_are_counted_and_faulted_like_any_call() {
    let s = start().await;
    s.ctl
        .inject_fault(
            "payout-transaction-list",
            FaultKind::UnknownCode,
            Times::Count(1),
        )
        .await
        .unwrap();
    assert_eq!(
        list(&s, "skip=0&limit=10", &list_body(None)).await["response_code"],
        9999
    );
    assert_eq!(
        list(&s, "skip=0&limit=10", &list_body(None)).await["response_code"],
        2000
    );
    assert_eq!(s.ctl.count("payout-transaction-list").await.unwrap(), 2);
}
