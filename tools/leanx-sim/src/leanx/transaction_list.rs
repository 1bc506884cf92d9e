//! `payout-transaction-list?skip=&limit=`: the merchant's payouts, filtered, searched, sorted
//! and paged. LeanX documents the request only; the `data` shape is the simulator's own guess
//! (docs/simulator.md), so clients must use it as second evidence only.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::transactions::{TransactionData, transaction_data};
use super::{Refusal, failed};
use crate::control::SimPayout;
use crate::state::Simulator;
use crate::wire::raw;

const DEFAULT_LIMIT: usize = 10;
const MAX_LIMIT: usize = 100;

#[derive(Deserialize)]
struct ListRequest {
    start_date: String,
    end_date: String,
    #[serde(default)]
    record_status: Option<i64>,
    #[serde(default)]
    search: Option<Search>,
    #[serde(default)]
    sort: Option<Sort>,
}

#[derive(Deserialize)]
struct Search {
    #[serde(default)]
    search_enable: bool,
    #[serde(default)]
    search_key: Option<String>,
    #[serde(default)]
    search_column: Option<String>,
}

#[derive(Deserialize)]
struct Sort {
    #[serde(default)]
    parameter_name: Option<String>,
    #[serde(default)]
    sort_type: Option<String>,
}

/// `data`: one page, each entry shaped as `get-payout-transaction-by-id`'s `data`.
#[derive(Serialize)]
struct ListData {
    list: Vec<TransactionData>,
    /// Matching payouts across all pages.
    total: usize,
    skip: usize,
    limit: usize,
}

/// A search column, by the names LeanX's and the merchant's fields go by.
fn column(name: &str) -> Result<fn(&SimPayout) -> Option<&str>, Refusal> {
    Ok(match name {
        "external_invoice_ref" | "merchant_invoice_id" => |p| p.external_invoice_ref.as_deref(),
        "invoice_no" | "payout_invoice_no" => |p| Some(p.invoice_no.as_str()),
        "third_party_account_no" | "payout_account_number" => {
            |p| Some(p.third_party_account_no.as_str())
        }
        "transaction_status" => |p| Some(p.transaction_status.as_str()),
        other => return Err(failed(format!("unknown search_column {other:?}"))),
    })
}

fn date(field: &str, text: &str) -> Result<NaiveDate, Refusal> {
    NaiveDate::parse_from_str(text, "%d-%m-%Y")
        .map_err(|_| failed(format!("{field} must be DD-MM-YYYY")))
}

/// `skip` and `limit` from the query string.
fn paging(query: Option<&str>) -> Result<(usize, usize), Refusal> {
    let (mut skip, mut limit) = (0, DEFAULT_LIMIT);
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let n = || {
            v.parse::<usize>()
                .map_err(|_| failed(format!("{k} must be a whole number")))
        };
        match k {
            "skip" => skip = n()?,
            "limit" => limit = n()?,
            _ => {}
        }
    }
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(failed(format!("limit must be 1 to {MAX_LIMIT}")));
    }
    Ok((skip, limit))
}

pub(super) fn list(
    sim: &Simulator,
    query: Option<&str>,
    body: &[u8],
) -> Result<Box<RawValue>, Refusal> {
    let (skip, limit) = paging(query)?;
    let req: ListRequest =
        serde_json::from_slice(body).map_err(|e| failed(format!("bad request body: {e}")))?;
    let (start, end) = (
        date("start_date", &req.start_date)?,
        date("end_date", &req.end_date)?,
    );
    // Every payout the sim holds is an ACTIVE record (record_status 1).
    let active = match req.record_status {
        None | Some(1) => true,
        Some(0) => false,
        Some(other) => return Err(failed(format!("record_status {other} is not 0 or 1"))),
    };
    let search = match req.search {
        Some(s) if s.search_enable => {
            let key = s.search_key.unwrap_or_default().to_lowercase();
            let column = column(s.search_column.as_deref().unwrap_or(""))?;
            Some((key, column))
        }
        _ => None,
    };
    let sort = req.sort.unwrap_or(Sort {
        parameter_name: None,
        sort_type: None,
    });
    let descending = match sort.sort_type.as_deref().unwrap_or("desc") {
        "desc" => true,
        "asc" => false,
        other => return Err(failed(format!("sort_type {other:?} is not asc or desc"))),
    };
    let by = sort.parameter_name.unwrap_or_else(|| "created_at".into());
    if !matches!(by.as_str(), "created_at" | "updated_at" | "value") {
        return Err(failed(format!("cannot sort by {by:?}")));
    }

    let state = sim.lock();
    let mut found: Vec<&SimPayout> = state
        .payouts
        .iter()
        .filter(|p| active && (start..=end).contains(&p.created_at.date()))
        .filter(|p| match &search {
            // A substring match, as a search box would: "INV-1" also finds "INV-10".
            Some((key, column)) => column(p).is_some_and(|v| v.to_lowercase().contains(key)),
            None => true,
        })
        .collect();
    // Stable sort: payouts created in the same microsecond keep their creation order.
    found.sort_by(|a, b| match by.as_str() {
        "updated_at" => a.updated_at.cmp(&b.updated_at),
        "value" => a.amount.cmp(&b.amount),
        _ => a.created_at.cmp(&b.created_at),
    });
    if descending {
        found.reverse();
    }
    let total = found.len();
    let page: Vec<_> = found
        .into_iter()
        .skip(skip)
        .take(limit)
        .map(transaction_data)
        .collect();
    Ok(raw(&ListData {
        list: page,
        total,
        skip,
        limit,
    }))
}
