//! `GET /payout-batches/{batch_ref}` and `GET /payout-batches/{batch_ref}/items`: a batch's
//! counts and amounts per status, and its items, read from the `by_batch` index (never a Scan).
//! Reads only: they never write a payout and never ask LeanX.

use std::sync::Arc;

use tracing::{Instrument, error, warn};

use crate::domain::{BatchItemsQuery, BatchRef, CursorKey, Payout, ValidationError};
use crate::store::{BatchItemsRequest, BatchStore, StoreError};

use super::accept_batch::BatchProgress;

#[derive(Debug, thiserror::Error)]
pub enum BatchReadError {
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error("no batch with this batch_ref")]
    NotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A batch's progress.
#[derive(Clone)]
pub struct GetBatch {
    pub batches: Arc<dyn BatchStore>,
}

impl GetBatch {
    pub async fn run(&self, batch_ref: &str) -> Result<BatchProgress, BatchReadError> {
        let batch_ref = BatchRef::parse(batch_ref)?;
        let span = tracing::info_span!("get_batch", batch_ref = %batch_ref);
        async {
            let batch = self
                .batches
                .get_batch(&batch_ref)
                .await?
                .ok_or(BatchReadError::NotFound)?;
            if let Some(tally) = &batch.final_tally {
                return Ok(BatchProgress {
                    tally: tally.clone(),
                    batch,
                });
            }
            let tally = self.batches.tally(&batch_ref).await?;
            let progress = BatchProgress { batch, tally };
            if progress.is_complete() {
                // Final statuses never change: later reads are one GetItem. Best effort.
                if let Err(e) = self.batches.keep_final_tally(&batch_ref, &progress.tally).await {
                    warn!(error = %e, "could not keep the complete batch's tally; read again next time");
                }
            }
            Ok(progress)
        }
        .instrument(span)
        .await
    }
}

/// A batch's items: a page in the batch's order, or all of them (CSV).
#[derive(Clone)]
pub struct ListBatchItems {
    pub batches: Arc<dyn BatchStore>,
    pub cursor_key: CursorKey,
}

/// Items of a batch, in its order, and the cursor of the next page if there is one.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchItemsPage {
    pub payouts: Vec<Payout>,
    pub next_cursor: Option<String>,
}

/// Items read per Query when the whole batch is read (CSV).
const WHOLE_BATCH_PAGE: usize = 1_000;

impl ListBatchItems {
    /// One page, after parsing the query's `(name, value)` pairs.
    pub async fn page<'a>(
        &self,
        batch_ref: &str,
        parameters: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<BatchItemsPage, BatchReadError> {
        let batch_ref = BatchRef::parse(batch_ref)?;
        let query = BatchItemsQuery::from_pairs(parameters)?;
        let span =
            tracing::info_span!("list_batch_items", batch_ref = %batch_ref, limit = query.limit);
        async {
            let after_index = query
                .cursor
                .as_deref()
                .map(|c| {
                    self.cursor_key
                        .open_batch_items(c, batch_ref.as_str(), &query)
                })
                .transpose()?;
            self.require_batch(&batch_ref).await?;
            let page = self
                .batches
                .batch_items(&BatchItemsRequest {
                    batch_ref: batch_ref.clone(),
                    status: query.status,
                    after_index,
                    limit: query.limit,
                })
                .await?;
            report_undecodable(&page.undecodable);
            let next_cursor = match (page.more, page.payouts.last().and_then(|p| p.batch_index)) {
                (true, Some(last)) => Some(self.cursor_key.seal_batch_items(
                    last,
                    batch_ref.as_str(),
                    &query,
                )),
                _ => None,
            };
            Ok(BatchItemsPage {
                payouts: page.payouts,
                next_cursor,
            })
        }
        .instrument(span)
        .await
    }

    /// Every item of the batch, in its order (`status` filters; `limit` and `cursor` do not
    /// apply to the whole batch and are refused).
    pub async fn all<'a>(
        &self,
        batch_ref: &str,
        parameters: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Vec<Payout>, BatchReadError> {
        let batch_ref = BatchRef::parse(batch_ref)?;
        let query = BatchItemsQuery::from_pairs(parameters)?;
        if query.cursor.is_some() {
            return Err(
                ValidationError::field("cursor", "the CSV is the whole batch: no cursor").into(),
            );
        }
        let span = tracing::info_span!("export_batch_items", batch_ref = %batch_ref);
        async {
            self.require_batch(&batch_ref).await?;
            let mut items = Vec::new();
            let mut after_index = None;
            loop {
                let page = self
                    .batches
                    .batch_items(&BatchItemsRequest {
                        batch_ref: batch_ref.clone(),
                        status: query.status,
                        after_index,
                        limit: WHOLE_BATCH_PAGE,
                    })
                    .await?;
                report_undecodable(&page.undecodable);
                after_index = page.payouts.last().and_then(|p| p.batch_index);
                items.extend(page.payouts);
                if !page.more || after_index.is_none() {
                    return Ok(items);
                }
            }
        }
        .instrument(span)
        .await
    }

    async fn require_batch(&self, batch_ref: &BatchRef) -> Result<(), BatchReadError> {
        match self.batches.get_batch(batch_ref).await? {
            Some(_) => Ok(()),
            None => Err(BatchReadError::NotFound),
        }
    }
}

fn report_undecodable(items: &[crate::store::UndecodableItem]) {
    for item in items {
        error!(key = %item.key, reason = %item.reason, "a batch item does not decode; skipped, an operator must look");
    }
    if !items.is_empty() {
        crate::metrics::undecodable_items(items.len());
    }
}

#[cfg(test)]
mod tests;
