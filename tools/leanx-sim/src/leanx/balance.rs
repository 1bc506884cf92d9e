//! `overall-balance`: the payout pool and today's transactions.

use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::value::RawValue;

use crate::control::SimPayout;
use crate::state::Simulator;
use crate::wire::{money, now, raw};

#[derive(Serialize)]
struct BalanceData {
    transaction_balance: TransactionBalance,
    prefund_balance: Box<RawValue>,
    total_transaction_as_of_today: usize,
}

#[derive(Serialize)]
struct TransactionBalance {
    value: Box<RawValue>,
    currency: &'static str,
}

pub(super) fn overall(sim: &Simulator) -> Box<RawValue> {
    let state = sim.lock();
    let today = now().date();
    let todays: Vec<&SimPayout> = state
        .payouts
        .iter()
        .filter(|p| p.created_at.date() == today)
        .collect();
    let succeeded: Decimal = todays
        .iter()
        .filter(|p| p.transaction_status == "SUCCESS")
        .map(|p| p.amount)
        .sum();
    raw(&BalanceData {
        transaction_balance: TransactionBalance {
            value: money(succeeded),
            currency: "MYR",
        },
        prefund_balance: money(state.balance),
        total_transaction_as_of_today: todays.len(),
    })
}
