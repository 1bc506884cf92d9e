//! `GET /payouts`: one page of payouts, newest first, and the sealed cursor for the next.
//! A read only: it never writes and never asks LeanX (a listed payout may be staler than
//! `GET /payouts/{ref}`, which refreshes an open one).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tracing::{Instrument, error};

use crate::domain::{CursorKey, ListPosition, ListQuery, Payout, ValidationError};
use crate::store::{ListRequest, PayoutListing, StoreError};

#[derive(Clone)]
pub struct ListPayouts {
    pub store: Arc<dyn PayoutListing>,
    pub cursor_key: CursorKey,
}

/// One page: its payouts, newest first, and the cursor of the next page if there is one.
#[derive(Debug, Clone, PartialEq)]
pub struct PayoutPage {
    pub payouts: Vec<Payout>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ListError {
    /// A query parameter (or the cursor) was refused; it names itself.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ListPayouts {
    /// Lists after parsing the query's `(name, value)` pairs.
    pub async fn run<'a>(
        &self,
        parameters: impl IntoIterator<Item = (&'a str, &'a str)>,
        now: DateTime<Utc>,
    ) -> Result<PayoutPage, ListError> {
        let query = ListQuery::from_pairs(parameters)?;
        let span = tracing::info_span!(
            "list_payouts",
            status = query.filter.status.map(|s| s.as_str()),
            limit = query.limit,
            resumed = query.cursor.is_some()
        );
        self.list(query, now).instrument(span).await
    }

    async fn list(&self, query: ListQuery, now: DateTime<Utc>) -> Result<PayoutPage, ListError> {
        let after = query
            .cursor
            .as_deref()
            .map(|cursor| self.cursor_key.open(cursor, &query.filter))
            .transpose()?;
        let page = self
            .store
            .list(&ListRequest {
                filter: query.filter.clone(),
                after,
                limit: query.limit,
                now,
            })
            .await?;
        for item in &page.undecodable {
            error!(key = %item.key, reason = %item.reason, "a listed item does not decode; skipped, an operator must look");
        }
        if !page.undecodable.is_empty() {
            crate::metrics::undecodable_items(page.undecodable.len());
        }
        let next_cursor = match (page.more, page.payouts.last()) {
            (true, Some(last)) => {
                Some(self.cursor_key.seal(&ListPosition::of(last), &query.filter))
            }
            _ => None,
        };
        Ok(PayoutPage {
            payouts: page.payouts,
            next_cursor,
        })
    }
}

#[cfg(test)]
mod tests;
