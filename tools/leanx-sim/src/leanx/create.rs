//! `create-payout-invoice`: validate, record the payout as PENDING, take it from the pool.

use std::sync::Arc;

use rust_decimal::Decimal;
use serde_json::json;
use serde_json::value::RawValue;

use super::body::{fields, opt_str, req_amount, req_int, req_str};
use super::{Created, Refusal, code, payout_services, refuse};
use crate::control::{Outcome, SimPayout};
use crate::state::Simulator;
use crate::wire::{now, raw};

/// The pool must keep this much after a payout.
const POOL_MINIMUM: Decimal = Decimal::from_parts(200, 0, 0, false, 2);

/// `PAYOUT-A9D5:174307-LEANX`: four hex digits, the time of day, a fixed suffix.
fn new_invoice_no(existing: &[SimPayout]) -> String {
    loop {
        let r = uuid::Uuid::new_v4().as_bytes()[0..2].to_vec();
        let candidate = format!(
            "PAYOUT-{:02X}{:02X}:{}-LEANX",
            r[0],
            r[1],
            now().format("%H%M%S")
        );
        if !existing.iter().any(|p| p.invoice_no == candidate) {
            return candidate;
        }
    }
}

pub(super) fn create(
    sim: &Arc<Simulator>,
    body: &[u8],
) -> Result<(Box<RawValue>, Option<Created>), Refusal> {
    let f = fields(body)?;
    let pool = req_str(&f, "virtual_pool_reference")?;
    let service_id = req_int(&f, "payout_service_id")?;
    let amount = req_amount(&f)?;
    let recipient_name = req_str(&f, "recipient_name")?;
    let client_callback_url = req_str(&f, "client_callback_url")?;
    let account = req_str(&f, "third_party_account_no")?;
    let recipient_reference = req_str(&f, "recipient_reference")?;
    let external_invoice_ref = opt_str(&f, "external_invoice_ref")?;
    if pool != sim.config.virtual_pool_reference {
        return Err(refuse(code::INVALID_POOL, "INVALID_VIRTUAL_POOL_REFERENCE"));
    }
    payout_services::usable(service_id)?;

    let mut state = sim.lock();
    let outcome = state.outcome_for(&account);
    if let Outcome::Refuse {
        response_code,
        description,
    } = &outcome
    {
        return Err(refuse(*response_code, description));
    }
    if state.balance - amount < POOL_MINIMUM {
        return Err(Refusal {
            code: code::INSUFFICIENT_POOL,
            description: "INSUFFICIENT_POOL_BALANCE".into(),
            breakdown: Some("the pool must keep at least RM 2.00 after the payout".into()),
        });
    }
    let at = now();
    let payout = SimPayout {
        id: state.next_payout_id,
        invoice_no: new_invoice_no(&state.payouts),
        external_invoice_ref,
        amount,
        payout_service_id: service_id,
        recipient_name,
        third_party_account_no: account,
        recipient_reference,
        client_callback_url,
        virtual_pool_reference: pool,
        transaction_status: "PENDING".into(),
        error_description: None,
        bank_reference_no: None,
        outcome: outcome.clone(),
        created_at: at,
        updated_at: at,
    };
    state.next_payout_id += 1;
    state.balance -= amount;
    let invoice_no = payout.invoice_no.clone();
    state.payouts.push(payout);
    let delay = state.settle_delay;
    drop(state);
    tracing::info!(invoice_no = %invoice_no, "payout created");
    Ok((
        raw(&json!({ "status": "SUCCESS", "invoice_no": invoice_no })),
        Some(Created {
            invoice_no,
            outcome,
            delay,
        }),
    ))
}
