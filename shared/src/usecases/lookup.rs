//! `GET /payouts/{ref}`: the stored payout, refreshed from LeanX while open and not fresh.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tracing::{Instrument, warn};

use crate::config::Timings;
use crate::domain::{InvoiceRef, Payout, SendState, ValidationError};
use crate::store::{PayoutStore, StoreError};

use super::provider::PayoutProvider;
use super::reconcile::apply_leanx_answer;

#[derive(Clone)]
pub struct LookupPayout {
    pub store: Arc<dyn PayoutStore>,
    pub provider: Arc<dyn PayoutProvider>,
    pub timings: Timings,
}

// One value per call, moved straight to its caller: boxing would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum LookupOutcome {
    Found(Payout),
    NotFound,
}

#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    #[error(transparent)]
    InvalidRef(#[from] ValidationError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl LookupPayout {
    pub async fn run(
        &self,
        raw_ref: &str,
        now: DateTime<Utc>,
    ) -> Result<LookupOutcome, LookupError> {
        let external_ref = InvoiceRef::parse(raw_ref)?;
        let span = tracing::info_span!("get_payout", external_invoice_ref = %external_ref);
        self.lookup(external_ref, now).instrument(span).await
    }

    async fn lookup(
        &self,
        external_ref: InvoiceRef,
        now: DateTime<Utc>,
    ) -> Result<LookupOutcome, LookupError> {
        let Some(payout) = self.store.get(&external_ref).await? else {
            return Ok(LookupOutcome::NotFound);
        };
        let fresh = now - payout.updated_at < self.timings.refresh_after;
        if payout.status.is_final() || fresh || payout.send_state == SendState::NotStarted {
            return Ok(LookupOutcome::Found(payout));
        }
        match self
            .provider
            .get_payout_transaction(external_ref.as_str())
            .await
        {
            Ok(tx) => {
                let applied = apply_leanx_answer(self.store.as_ref(), payout, &tx, now).await?;
                Ok(LookupOutcome::Found(applied.into_payout()))
            }
            // A "not found" is the reconciler's to weigh, over several lookups: never here.
            Err(error) => {
                warn!(error = %error, "LeanX lookup failed; answering with the stored state");
                Ok(LookupOutcome::Found(payout))
            }
        }
    }
}

#[cfg(test)]
mod tests;
