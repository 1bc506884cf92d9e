//! The reconciler: LeanX never pushes failures, so every open payout is asked about until it
//! is final. A payout is declared not received only on strong evidence: a claim that provably
//! never sent and was abandoned, or several recognised "not found" answers over the grace
//! period — never one ambiguous answer, never for a payout LeanX accepted.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use tracing::{Instrument, error, warn};

use crate::config::{ReconcileLimits, Timings};
use crate::crashpoint::{CrashPoint, reached};
use crate::domain::{LeanxTransactionStatus, Payout, PayoutEvent, PayoutStatus, SendState};
use crate::leanx::vocabulary::{
    is_credential_refusal, is_recognised_not_found, parse_transaction_status,
};
use crate::leanx::{LeanxError, PayoutTransaction};
use crate::store::{PayoutStore, SaveOutcome, StoreError};

use super::apply_event::{Applied, Evidence, apply_event};
use super::provider::PayoutProvider;

#[derive(Clone)]
pub struct Reconciler {
    pub store: Arc<dyn PayoutStore>,
    pub provider: Arc<dyn PayoutProvider>,
    pub timings: Timings,
    pub limits: ReconcileLimits,
    /// LeanX's refusal codes that mean "no such payout" (configuration).
    pub not_found_codes: Vec<String>,
}

/// What one reconciler pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ReconcileReport {
    pub checked: usize,
    pub succeeded: usize,
    pub failed: usize,
    pub progressed: usize,
    pub unchanged: usize,
    pub errors: usize,
    /// Due items that did not decode: skipped, logged with their key.
    pub undecodable: usize,
    /// How late the most overdue check was, in seconds.
    pub lag_seconds: Option<i64>,
}

/// The pass could not read the due payouts at all (a single payout's failure is counted in the
/// report instead).
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("cannot read the payouts due for a check: {0}")]
    Store(#[from] StoreError),
}

impl From<ReconcileError> for lambda_runtime::Diagnostic {
    fn from(error: ReconcileError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: "ReconcileError".into(),
            error_message: error.to_string(),
        }
    }
}

enum Outcome {
    Settled(PayoutStatus),
    Unchanged,
    Error,
}

impl Reconciler {
    /// One pass over the payouts due for a check, at most `limits.concurrency` at a time.
    pub async fn run(&self, now: DateTime<Utc>) -> Result<ReconcileReport, ReconcileError> {
        let due = self.store.due_for_check(now, self.limits.batch).await?;
        for item in &due.undecodable {
            error!(key = %item.key, reason = %item.reason, "a due item does not decode; skipped, an operator must look");
        }
        if !due.undecodable.is_empty() {
            crate::metrics::undecodable_items(due.undecodable.len());
        }
        let payouts = due.payouts;
        let lag_seconds = payouts
            .first()
            .and_then(|p| p.next_check_at)
            .map(|at| (now - at).num_seconds().max(0));
        let oldest_age_seconds = payouts
            .iter()
            .map(|p| (now - p.created_at).num_seconds())
            .max();
        let outcomes: Vec<Outcome> = futures::stream::iter(payouts)
            .map(|payout| {
                let span = tracing::info_span!(
                    "reconcile_payout",
                    external_invoice_ref = %payout.external_invoice_ref
                );
                self.reconcile_one(payout, now).instrument(span)
            })
            .buffer_unordered(self.limits.concurrency.max(1))
            .collect()
            .await;
        let mut report = ReconcileReport {
            lag_seconds,
            undecodable: due.undecodable.len(),
            ..Default::default()
        };
        for outcome in outcomes {
            report.checked += 1;
            match outcome {
                Outcome::Settled(PayoutStatus::Succeeded) => report.succeeded += 1,
                Outcome::Settled(PayoutStatus::Failed) => report.failed += 1,
                Outcome::Settled(_) => report.progressed += 1,
                Outcome::Unchanged => report.unchanged += 1,
                Outcome::Error => report.errors += 1,
            }
        }
        crate::metrics::reconciled(report.lag_seconds, report.checked, oldest_age_seconds);
        Ok(report)
    }

    async fn reconcile_one(&self, payout: Payout, now: DateTime<Utc>) -> Outcome {
        let before = payout.status;
        match self.check_with_leanx(payout, now).await {
            Ok(after) if after.status != before => Outcome::Settled(after.status),
            Ok(_) => Outcome::Unchanged,
            Err(error) => {
                warn!(error = %error, "reconcile failed for this payout; retried next pass");
                Outcome::Error
            }
        }
    }

    /// Settles one open payout from LeanX's word, or backs off until the next check.
    async fn check_with_leanx(
        &self,
        payout: Payout,
        now: DateTime<Utc>,
    ) -> Result<Payout, StoreError> {
        if payout.status.is_final() {
            return Ok(payout);
        }
        if payout.send_state == SendState::NotStarted {
            // Never sent, provably. A live claim is left alone; an abandoned one is closed once
            // the grace period is over (the merchant may retry, and take it over, until then).
            let overdue = now - payout.created_at >= self.timings.grace_period;
            if payout.claim_expires_at <= now && overdue {
                return self.declare_not_received(payout, now).await;
            }
            return self.back_off(payout, now).await;
        }
        match self
            .provider
            .get_payout_transaction(payout.external_invoice_ref.as_str())
            .await
        {
            Ok(tx) => {
                reached(CrashPoint::ReconcileBeforeUpdate);
                let applied = apply_leanx_answer(self.store.as_ref(), payout, &tx, now).await?;
                reached(CrashPoint::ReconcileAfterUpdate);
                match applied {
                    Applied::Moved(after) => Ok(after),
                    Applied::Unchanged(after) | Applied::Contradicted(after) => {
                        self.back_off(after, now).await
                    }
                    Applied::Dropped(after) => Ok(after),
                }
            }
            Err(LeanxError::Refused {
                response_code,
                description,
            }) if is_recognised_not_found(&response_code, &description, &self.not_found_codes) => {
                self.weigh_not_found(payout, now).await
            }
            Err(LeanxError::Refused {
                response_code,
                description,
            }) => {
                // Never evidence of absence: a rate limit, maintenance, bad credentials, or a
                // code nobody has seen. Counted, and asked again later.
                if is_credential_refusal(&response_code, &description) {
                    error!(response_code, "LeanX refused our credentials on a lookup");
                } else {
                    warn!(
                        response_code,
                        description,
                        "LeanX answered a refusal that is not a recognised not-found; backing off"
                    );
                }
                crate::metrics::unrecognised_leanx_answer();
                self.back_off(payout, now).await
            }
            Err(error) => {
                warn!(error = %error, "LeanX lookup failed; backing off");
                self.back_off(payout, now).await
            }
        }
    }

    /// LeanX answered a recognised "not found": count it, and declare the payout not received
    /// once the answers are enough.
    async fn weigh_not_found(
        &self,
        payout: Payout,
        now: DateTime<Utc>,
    ) -> Result<Payout, StoreError> {
        if payout.status == PayoutStatus::Processing {
            error!("LeanX does not know a payout it accepted; an operator must check");
            return self.back_off(payout, now).await;
        }
        let rule = self.timings.not_received_rule();
        let counted = payout.not_found_by_leanx(now, &rule);
        let counted = match self.store.save(&payout, &counted).await? {
            SaveOutcome::Saved => counted,
            // Someone moved it meanwhile: this answer is about a payout that no longer is.
            SaveOutcome::Stale(stored) => return Ok(stored.unwrap_or(payout)),
        };
        if counted.not_received_is_due(now, &rule) {
            return self.confirm_with_the_list_then_declare(counted, now).await;
        }
        Ok(counted)
    }

    /// The lookups say "not found" often enough; before the verdict, LeanX's transaction list
    /// is searched by ref as a second source. Only an empty list confirms; a listed payout is
    /// LeanX's word that it holds it; an error is no evidence either way.
    async fn confirm_with_the_list_then_declare(
        &self,
        payout: Payout,
        now: DateTime<Utc>,
    ) -> Result<Payout, StoreError> {
        let from = (payout.created_at - chrono::Duration::days(1)).date_naive();
        let until = (now + chrono::Duration::days(1)).date_naive();
        match self
            .provider
            .list_payout_transactions_by_ref(payout.external_invoice_ref.as_str(), from, until)
            .await
        {
            Ok(listed) if listed.is_empty() => self.declare_not_received(payout, now).await,
            Ok(listed) => {
                error!(
                    "LeanX's lookup says not found but its transaction list holds the payout; settled from the list"
                );
                let applied =
                    apply_leanx_answer(self.store.as_ref(), payout, &listed[0], now).await?;
                match applied {
                    Applied::Moved(after) | Applied::Dropped(after) => Ok(after),
                    Applied::Unchanged(after) | Applied::Contradicted(after) => {
                        self.back_off(after, now).await
                    }
                }
            }
            Err(error) => {
                if let LeanxError::Refused { .. } = &error {
                    crate::metrics::unrecognised_leanx_answer();
                }
                warn!(error = %error, "LeanX's transaction list could not confirm the payout is unknown; backing off");
                self.back_off(payout, now).await
            }
        }
    }

    /// The verdict, judged on `payout` as read: written only if the payout is still exactly so.
    async fn declare_not_received(
        &self,
        payout: Payout,
        now: DateTime<Utc>,
    ) -> Result<Payout, StoreError> {
        let evidence = Evidence::judged_on(&payout);
        let event = PayoutEvent::NotReceivedByProvider {
            judged_send_state: payout.send_state,
        };
        reached(CrashPoint::ReconcileBeforeVerdict);
        let applied = apply_event(self.store.as_ref(), payout, &event, &evidence, now).await?;
        Ok(applied.into_payout())
    }

    /// Nothing settled: ask again later, never later than a PENDING payout's grace deadline.
    async fn back_off(&self, payout: Payout, now: DateTime<Utc>) -> Result<Payout, StoreError> {
        let grace_deadline = (payout.status == PayoutStatus::Pending).then(|| {
            payout.send_started_at.unwrap_or(payout.created_at) + self.timings.grace_period
        });
        let next = payout.rescheduled_check(now, grace_deadline);
        match self.store.save(&payout, &next).await? {
            SaveOutcome::Saved => Ok(next),
            SaveOutcome::Stale(stored) => Ok(stored.unwrap_or(payout)),
        }
    }
}

/// Applies what LeanX answered about a payout: its word is a fact, re-decided after a lost race.
pub(crate) async fn apply_leanx_answer(
    store: &dyn PayoutStore,
    payout: Payout,
    answer: &PayoutTransaction,
    now: DateTime<Utc>,
) -> Result<Applied, StoreError> {
    apply_event(
        store,
        payout,
        &reported_event(answer),
        &Evidence::LeanxFact,
        now,
    )
    .await
}

/// What a lookup at LeanX says, as an event. A status the code does not know is logged with its
/// raw value and counted: it still proves LeanX holds the payout, but never settles it.
pub(crate) fn reported_event(tx: &PayoutTransaction) -> PayoutEvent {
    let status = parse_transaction_status(&tx.transaction_status, tx.error_text());
    if let LeanxTransactionStatus::Other(raw) = &status {
        error!(transaction_status = %raw, "LeanX reported a transaction_status this service does not know; the payout stays open");
        crate::metrics::unknown_leanx_status();
    }
    PayoutEvent::LeanxReported {
        status,
        invoice_no: tx.payout_invoice_no.clone().filter(|n| !n.is_empty()),
    }
}

#[cfg(test)]
mod tests;
