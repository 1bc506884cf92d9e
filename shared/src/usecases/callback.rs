//! `POST /callbacks/leanx`: verify the token, bind its claims to the payout they name, and
//! settle it — or keep the callback, unapplied, for an operator. The operator's replay of a kept
//! callback ([`replay_kept_callback`]) uses the same matching.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tracing::{Instrument, error, warn};

use crate::crashpoint::{CrashPoint, reached};
use crate::domain::{CallbackClaims, InvoiceRef, LeanxTransactionStatus, Payout, PayoutEvent};
use crate::leanx::callback::token_id;
use crate::leanx::vocabulary::parse_transaction_status;
use crate::leanx::{CallbackError, Secret, verify_callback};
use crate::store::{PayoutStore, StoreError, UnmatchedCallback};

use super::apply_event::{Applied, Evidence, apply_event};
use super::provider::PayoutProvider;
use super::reconcile::apply_leanx_answer;

#[derive(Clone)]
pub struct TakeCallback {
    pub store: Arc<dyn PayoutStore>,
    /// Asked to confirm a callback for a payout whose LeanX invoice number is not known yet.
    pub provider: Arc<dyn PayoutProvider>,
    pub hash_key: Secret,
    /// This service's payout pool; a callback naming another is never applied. Empty: not
    /// compared.
    pub virtual_pool_reference: String,
}

// One value per call, moved straight to its caller: boxing would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum CallbackOutcome {
    /// Matched and applied (moved, or already in that state).
    Applied(Applied),
    /// Verified but not applied: kept for an operator with the reason.
    KeptUnmatched { reason: String },
    /// A verified callback that does not report success: failures are the reconciler's.
    NotASuccess,
}

#[derive(Debug, thiserror::Error)]
pub enum CallbackRejected {
    #[error(transparent)]
    Untrusted(#[from] CallbackError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The payout a callback's claims are bound to, or why there is none.
#[allow(clippy::large_enum_variant)] // one value per call, moved straight on
enum Binding {
    Bound(Payout),
    Unbound(String),
}

/// Finds the payout the claims name (by ref, else by invoice number) and checks that they
/// agree with it. The one home of callback-to-payout matching.
async fn bind(
    store: &dyn PayoutStore,
    claims: &CallbackClaims,
    pool: &str,
) -> Result<Binding, StoreError> {
    let by_ref = match claims
        .external_invoice_ref
        .as_deref()
        .map(InvoiceRef::parse)
    {
        Some(Ok(r)) => store.get(&r).await?,
        _ => None,
    };
    let payout = match by_ref {
        Some(p) => Some(p),
        None => store.find_by_invoice_no(&claims.invoice_no).await?,
    };
    let Some(payout) = payout else {
        return Ok(Binding::Unbound(
            "no payout with this external_invoice_ref or invoice_no".into(),
        ));
    };
    Ok(match claims.disagreement(&payout, pool) {
        Some(reason) => Binding::Unbound(reason),
        None => Binding::Bound(payout),
    })
}

impl TakeCallback {
    pub async fn run(
        &self,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<CallbackOutcome, CallbackRejected> {
        let output = verify_callback(body, &self.hash_key).inspect_err(|e| {
            warn!(reason = %e, "callback rejected");
            crate::metrics::callback_rejected(e);
        })?;
        let claims = output.claims();
        let span = tracing::info_span!(
            "leanx_callback",
            external_invoice_ref = claims.external_invoice_ref.as_deref().unwrap_or(""),
            invoice_no = %claims.invoice_no
        );
        self.take(claims, token_id(body), now)
            .instrument(span)
            .await
    }

    async fn take(
        &self,
        claims: CallbackClaims,
        id: String,
        now: DateTime<Utc>,
    ) -> Result<CallbackOutcome, CallbackRejected> {
        let payout = match bind(self.store.as_ref(), &claims, &self.virtual_pool_reference).await? {
            Binding::Bound(payout) => payout,
            Binding::Unbound(reason) => return Ok(self.keep(claims, id, reason, now).await?),
        };
        if !claims.is_success() {
            warn!(invoice_status = %claims.invoice_status, "callback is not a success; ignored (failures are found by the reconciler)");
            return Ok(CallbackOutcome::NotASuccess);
        }
        if payout.invoice_no.is_none() && !payout.status.is_final() {
            // LeanX's answer to the create was lost, so nothing binds this invoice number to
            // the payout yet: LeanX itself must confirm before anything is settled. (A final
            // payout is never moved by a callback: it can only be marked contradicted.)
            return self.confirm_then_apply(payout, claims, id, now).await;
        }
        let event = PayoutEvent::CallbackSucceeded {
            invoice_no: claims.invoice_no.clone(),
        };
        reached(CrashPoint::CallbackBeforeUpdate);
        let applied = apply_event(
            self.store.as_ref(),
            payout,
            &event,
            &Evidence::LeanxFact,
            now,
        )
        .await?;
        reached(CrashPoint::CallbackAfterUpdate);
        Ok(CallbackOutcome::Applied(applied))
    }

    async fn confirm_then_apply(
        &self,
        payout: Payout,
        claims: CallbackClaims,
        id: String,
        now: DateTime<Utc>,
    ) -> Result<CallbackOutcome, CallbackRejected> {
        let tx = match self
            .provider
            .get_payout_transaction(payout.external_invoice_ref.as_str())
            .await
        {
            Ok(tx) => tx,
            Err(e) => {
                let reason =
                    format!("LeanX could not confirm it ({e}); the reconciler settles the payout");
                return Ok(self.keep(claims, id, reason, now).await?);
            }
        };
        let invoice_agrees = tx
            .payout_invoice_no
            .as_deref()
            .is_none_or(|n| n.is_empty() || n == claims.invoice_no);
        let status = parse_transaction_status(&tx.transaction_status, tx.error_text());
        if !invoice_agrees || status != LeanxTransactionStatus::Success {
            let reason = format!(
                "LeanX does not confirm it: it reports {} for invoice_no {}",
                tx.transaction_status,
                tx.payout_invoice_no.as_deref().unwrap_or("(none)")
            );
            return Ok(self.keep(claims, id, reason, now).await?);
        }
        reached(CrashPoint::CallbackBeforeUpdate);
        let applied = apply_leanx_answer(self.store.as_ref(), payout, &tx, now).await?;
        reached(CrashPoint::CallbackAfterUpdate);
        Ok(CallbackOutcome::Applied(applied))
    }

    async fn keep(
        &self,
        claims: CallbackClaims,
        id: String,
        reason: String,
        now: DateTime<Utc>,
    ) -> Result<CallbackOutcome, StoreError> {
        error!(%reason, "verified callback not applied; kept for an operator");
        crate::metrics::callback_unmatched();
        let kept = UnmatchedCallback {
            id,
            received_at: now,
            reason: reason.clone(),
            claims,
        };
        self.store.record_unmatched_callback(&kept).await?;
        Ok(CallbackOutcome::KeptUnmatched { reason })
    }
}

/// What replaying a kept callback did.
// One value per call, moved straight to its caller: boxing would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum ReplayOutcome {
    Applied(Applied),
    /// Still not applicable, and why.
    Refused(String),
}

/// Applies a kept callback by the callback function's own rules, for an operator, without
/// LeanX: a payout whose invoice number is not known yet is left to the reconciler.
pub async fn replay_kept_callback(
    store: &dyn PayoutStore,
    kept: &UnmatchedCallback,
    pool: &str,
    now: DateTime<Utc>,
) -> Result<ReplayOutcome, StoreError> {
    let claims = &kept.claims;
    if !claims.is_success() {
        return Ok(ReplayOutcome::Refused(format!(
            "status {} is not SUCCESS (failures are settled by the reconciler)",
            claims.invoice_status
        )));
    }
    let payout = match bind(store, claims, pool).await? {
        Binding::Bound(payout) => payout,
        Binding::Unbound(reason) => return Ok(ReplayOutcome::Refused(reason)),
    };
    if payout.invoice_no.is_none() {
        return Ok(ReplayOutcome::Refused(
            "the payout's invoice_no is not known yet: only LeanX can confirm it (the reconciler asks)".into(),
        ));
    }
    let event = PayoutEvent::CallbackSucceeded {
        invoice_no: claims.invoice_no.clone(),
    };
    let applied = apply_event(store, payout, &event, &Evidence::LeanxFact, now).await?;
    Ok(ReplayOutcome::Applied(applied))
}

#[cfg(test)]
mod tests;
