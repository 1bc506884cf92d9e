//! Moving payouts to their final status: by their scenario outcome once the create answer is
//! out, or by hand through `/__sim/settle`.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;

use crate::callback_delivery;
use crate::control::{Outcome, SimPayout};
use crate::state::Simulator;
use crate::wire::now;

pub(crate) enum SettleError {
    NotFound,
    AlreadyFinal(String),
}

/// Moves a non-final payout to SUCCESS or FAILED (refunding the pool on FAILED) and posts the
/// success callback. `status` must be `SUCCESS` or `FAILED`.
pub(crate) fn settle(
    sim: &Arc<Simulator>,
    id: &str,
    status: &str,
    error_description: Option<String>,
) -> Result<SimPayout, SettleError> {
    let (payout, balance) = {
        let mut state = sim.lock();
        let p = state.find_payout_mut(id).ok_or(SettleError::NotFound)?;
        if matches!(p.transaction_status.as_str(), "SUCCESS" | "FAILED") {
            return Err(SettleError::AlreadyFinal(p.transaction_status.clone()));
        }
        p.transaction_status = status.to_string();
        p.updated_at = now();
        if status == "FAILED" {
            p.error_description =
                Some(error_description.unwrap_or_else(|| "INVALID ACCOUNT NUMBER".to_string()));
        } else {
            p.bank_reference_no = Some(format!(
                "{}SIMBMYKL010O{:08}",
                p.updated_at.format("%Y%m%d"),
                p.id
            ));
        }
        let payout = p.clone();
        if status == "FAILED" {
            state.balance += payout.amount;
        }
        (payout, state.balance)
    };
    tracing::info!(invoice_no = %payout.invoice_no, status, "payout settled");
    if status == "SUCCESS" {
        callback_delivery::send(sim, &payout, balance);
    }
    Ok(payout)
}

/// Applies the payout's scenario outcome once `written` resolves (the create answer was
/// written or the connection ended), after the settle delay for SUCCESS/FAILED.
pub(crate) fn schedule(
    sim: &Arc<Simulator>,
    invoice_no: String,
    outcome: Outcome,
    delay: Duration,
    written: oneshot::Receiver<()>,
) {
    let me = Arc::clone(sim);
    sim.spawn_bg(async move {
        let _ = written.await;
        // Hyper drops the body just before flushing it; a moment's grace keeps the
        // settlement (and its callback) behind the create answer on the wire.
        tokio::time::sleep(Duration::from_millis(20)).await;
        match outcome {
            Outcome::Success | Outcome::Failed { .. } => {
                tokio::time::sleep(delay).await;
                let (status, detail) = match outcome {
                    Outcome::Failed { error_description } => ("FAILED", error_description),
                    _ => ("SUCCESS", None),
                };
                // Already settled by hand, or reset: nothing to do.
                let _ = settle(&me, &invoice_no, status, detail);
            }
            Outcome::StatusPendingApproval => {
                let mut state = me.lock();
                if let Some(p) = state.find_payout_mut(&invoice_no) {
                    if p.transaction_status == "PENDING" {
                        p.transaction_status = "STATUS_PENDING_APPROVAL".into();
                        p.updated_at = now();
                    }
                }
            }
            Outcome::RawStatus { transaction_status } => {
                tokio::time::sleep(delay).await;
                let mut state = me.lock();
                if let Some(p) = state.find_payout_mut(&invoice_no) {
                    p.transaction_status = transaction_status;
                    p.updated_at = now();
                }
            }
            Outcome::Pending | Outcome::Refuse { .. } => {}
        }
    });
}
