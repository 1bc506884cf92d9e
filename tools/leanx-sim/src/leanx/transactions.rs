//! `get-payout-transaction-by-id`: one payout as LeanX reports it.

use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::value::RawValue;

use super::{Refusal, code, failed, refuse};
use crate::control::SimPayout;
use crate::state::Simulator;
use crate::wire::{micros, money, raw, seconds};

/// The `_id` query parameter, percent-decoded.
fn query_id(query: Option<&str>) -> Option<String> {
    query?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == "_id").then(|| {
            percent_encoding::percent_decode_str(&v.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned()
        })
    })
}

/// `data` of `get-payout-transaction-by-id`, and each entry of `payout-transaction-list`.
#[derive(Serialize)]
pub(super) struct TransactionData {
    payout_invoice_no: String,
    merchant_invoice_id: Option<String>,
    id: u64,
    payout_account_number: String,
    transaction_fee: Box<RawValue>,
    account_id: u64,
    record_status: &'static str,
    updated_at: String,
    switch_invoice_id: String,
    transaction_invoice_no: String,
    transaction_status: String,
    value: Box<RawValue>,
    switch_transaction_fee: Box<RawValue>,
    api_key: &'static str,
    created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_description: Option<String>,
    // Not in LEANX.md's list: clients must ignore fields they do not know.
    payout_service_id: i64,
    bank_reference_no: Option<String>,
}

pub(super) fn transaction_data(p: &SimPayout) -> TransactionData {
    TransactionData {
        payout_invoice_no: p.invoice_no.clone(),
        merchant_invoice_id: p.external_invoice_ref.clone(),
        id: p.id,
        payout_account_number: p.third_party_account_no.clone(),
        transaction_fee: money(Decimal::ZERO),
        account_id: 1001,
        record_status: "ACTIVE",
        updated_at: seconds(p.updated_at),
        switch_invoice_id: format!("SW{:010}", p.id),
        transaction_invoice_no: format!("TXN-{}", p.invoice_no),
        transaction_status: p.transaction_status.clone(),
        value: money(p.amount),
        switch_transaction_fee: money(Decimal::ZERO),
        api_key: "00000000-5151-4000-8000-000000000001",
        created_at: micros(p.created_at),
        error_description: p.error_description.clone(),
        payout_service_id: p.payout_service_id,
        bank_reference_no: p.bank_reference_no.clone(),
    }
}

pub(super) fn by_id(sim: &Simulator, query: Option<&str>) -> Result<Box<RawValue>, Refusal> {
    let id = query_id(query).ok_or_else(|| failed("_id is required"))?;
    let mut state = sim.lock();
    let p = state
        .find_payout_mut(&id)
        .ok_or_else(|| refuse(code::NOT_FOUND, "TRANSACTION_NOT_FOUND"))?;
    Ok(raw(&transaction_data(p)))
}
