//! [`PayoutListing`] on DynamoDB: Queries on the `by_created` index, never a Scan.
//!
//! The index is partitioned by creation month (`schema::LIST_PK_PREFIX`), so a page walks the
//! months newest first, from the cursor's (or `created_to`'s, or the current) month down to
//! `created_from`'s (or `schema::FIRST_LISTED_MONTH`), one Query per month and page of it. The
//! bounds are the sort key's condition; `status` is a FilterExpression, which with a Limit can
//! return a short page (or none) while more items remain: the walk goes on until the page is
//! full or the range is exhausted, so a short page is never mistaken for the end.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Datelike, Months, NaiveDate, TimeDelta, Utc};

use super::dynamo::{page_limit, unavailable};
use super::items::{Item, fixed_width_time, list_pk, payout_from_item, string_attribute};
use super::schema::{BY_CREATED, FIRST_LISTED_MONTH, LIST_PK, LIST_SK, PK};
use super::{
    DynamoPayoutStore, ListRequest, ListedPage, PayoutListing, StoreError, UndecodableItem,
};

/// Below every `list_sk` (they start with a year's digits).
const BELOW_ANY_KEY: &str = "0";
/// Above every `list_sk`.
const ABOVE_ANY_KEY: &str = "~";

/// The first day of `at`'s month.
fn month_of(at: DateTime<Utc>) -> NaiveDate {
    at.date_naive().with_day(1).unwrap_or(at.date_naive())
}

fn first_listed_month() -> NaiveDate {
    let (year, month) = FIRST_LISTED_MONTH;
    NaiveDate::from_ymd_opt(year, month, 1).unwrap_or(NaiveDate::MIN)
}

/// The months to read, newest first, and the sort-key range within them.
struct Walk {
    newest: NaiveDate,
    oldest: NaiveDate,
    /// Inclusive bounds on `list_sk`. `high` is exclusive in effect: a `list_sk` is the time
    /// followed by `#ref`, so `list_sk <= "<time>"` holds exactly for earlier times, and the
    /// cursor's own item (`list_sk == high`) is dropped when read.
    low: String,
    high: String,
}

impl Walk {
    fn of(request: &ListRequest) -> Walk {
        let filter = &request.filter;
        let (newest, high) = match (&request.after, filter.created_to) {
            (Some(after), _) => (month_of(after.listed_at), after.to_key()),
            (None, Some(to)) => (
                month_of(to - TimeDelta::milliseconds(1)),
                fixed_width_time(to),
            ),
            // A day ahead: a payout stamped by a container whose clock runs ahead is still
            // found at a month's turn.
            (None, None) => (
                month_of(request.now + TimeDelta::days(1)),
                ABOVE_ANY_KEY.to_owned(),
            ),
        };
        let (oldest, low) = match filter.created_from {
            Some(from) => (month_of(from), fixed_width_time(from)),
            None => (first_listed_month(), BELOW_ANY_KEY.to_owned()),
        };
        // No payout was created before the first listed month or after tomorrow: a bound far
        // outside (`created_from=0336-…`, `created_to=9999-…`) must not cost a Query for each
        // empty month in between (schemathesis found the first one: thousands of Queries).
        Walk {
            newest: newest.min(month_of(request.now + TimeDelta::days(1))),
            oldest: oldest.max(first_listed_month()),
            low,
            high,
        }
    }
}

/// Items a Query evaluates at once when `status` filters them: DynamoDB applies Limit before the
/// filter, so a Limit of the page's size would take one round trip per few items when the
/// status is rare. Items read past a full page are dropped; the cursor is the last one kept.
const FILTERED_QUERY_LIMIT: usize = 200;

/// The Limit of the next Query when `missing` payouts are still wanted: one more than that
/// covers the cursor's own item, read again at the top.
fn query_limit(request: &ListRequest, missing: usize) -> usize {
    match request.filter.status {
        Some(_) => (missing + 1).max(FILTERED_QUERY_LIMIT),
        None => missing + 1,
    }
}

impl DynamoPayoutStore {
    /// Reads `month`'s partition newest first into `page` until it holds `want` payouts or the
    /// month is exhausted.
    async fn list_month(
        &self,
        request: &ListRequest,
        walk: &Walk,
        month: NaiveDate,
        want: usize,
        page: &mut ListedPage,
    ) -> Result<(), StoreError> {
        let after_key = request
            .after
            .as_ref()
            .map(|after| AttributeValue::S(after.to_key()));
        let month_key = list_pk(month.and_time(chrono::NaiveTime::MIN).and_utc());
        let mut start: Option<Item> = None;
        loop {
            let mut query = self
                .client()
                .query()
                .table_name(self.table_name())
                .index_name(BY_CREATED)
                .key_condition_expression("#pk = :month AND #sk BETWEEN :low AND :high")
                .expression_attribute_names("#pk", LIST_PK)
                .expression_attribute_names("#sk", LIST_SK)
                .expression_attribute_values(":month", string_attribute(month_key.clone()))
                .expression_attribute_values(":low", string_attribute(walk.low.clone()))
                .expression_attribute_values(":high", string_attribute(walk.high.clone()))
                .scan_index_forward(false)
                .limit(page_limit(query_limit(request, want - page.payouts.len())))
                .set_exclusive_start_key(start.take());
            if let Some(status) = request.filter.status {
                query = query
                    .filter_expression("#status = :status")
                    .expression_attribute_names("#status", "status")
                    .expression_attribute_values(":status", string_attribute(status.as_str()));
            }
            let output = query
                .send()
                .await
                .map_err(|e| unavailable("Query (by_created)", &e))?;
            for item in output.items() {
                if page.payouts.len() == want {
                    return Ok(());
                }
                if after_key.is_some() && item.get(LIST_SK) == after_key.as_ref() {
                    continue;
                }
                let key = match item.get(PK) {
                    Some(AttributeValue::S(pk)) => pk.clone(),
                    _ => "(no pk)".to_owned(),
                };
                match payout_from_item(item.clone()) {
                    // The key condition is at millisecond precision, as the filter is.
                    Ok(payout) if request.filter.admits(&payout) => page.payouts.push(payout),
                    Ok(_) => {}
                    // One bad item must not make every listing fail: skipped, and reported.
                    Err(e) => page.undecodable.push(UndecodableItem {
                        key,
                        reason: e.to_string(),
                    }),
                }
            }
            match output.last_evaluated_key() {
                Some(key) if !key.is_empty() && page.payouts.len() < want => {
                    start = Some(key.clone())
                }
                _ => return Ok(()),
            }
        }
    }
}

#[async_trait]
impl PayoutListing for DynamoPayoutStore {
    async fn list(&self, request: &ListRequest) -> Result<ListedPage, StoreError> {
        let walk = Walk::of(request);
        // One more than the page: whether it exists says if there is a next page.
        let want = request.limit + 1;
        let mut page = ListedPage::default();
        let mut month = walk.newest;
        while month >= walk.oldest && page.payouts.len() < want {
            self.list_month(request, &walk, month, want, &mut page)
                .await?;
            let Some(previous) = month.checked_sub_months(Months::new(1)) else {
                break;
            };
            month = previous;
        }
        page.more = page.payouts.len() > request.limit;
        page.payouts.truncate(request.limit);
        Ok(page)
    }
}
