//! `GET /payout-services`: LeanX's `list-payout-services`, flattened (by the client) and sorted
//! by name, kept in the container so that LeanX is not asked on every request.
//!
//! A list younger than [`REFRESH_AFTER`] is served as it is. An older one is asked for again;
//! when LeanX cannot answer, a list younger than [`SERVE_AT_MOST`] is served instead, and only
//! with none is the answer "unavailable". The clock is the caller's, so the rule is testable.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use tracing::warn;

use crate::leanx::{LeanxError, PayoutService};

use super::provider::PayoutServiceCatalog;

/// A list this young is served without asking LeanX (API.md's `Cache-Control: max-age=300`).
pub const REFRESH_AFTER: Duration = Duration::minutes(5);
/// No list older than this is ever served (API.md: "at most 10 minutes old").
pub const SERVE_AT_MOST: Duration = Duration::minutes(10);

/// The list use case and its cache (one per container).
pub struct ListPayoutServices {
    provider: Arc<dyn PayoutServiceCatalog>,
    cache: Mutex<Option<CachedList>>,
}

#[derive(Clone)]
struct CachedList {
    fetched_at: DateTime<Utc>,
    services: Arc<Vec<PayoutService>>,
}

/// The services, sorted by name, as LeanX listed them at `fetched_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayoutServices {
    pub services: Arc<Vec<PayoutService>>,
    pub fetched_at: DateTime<Utc>,
}

#[derive(Debug, thiserror::Error)]
pub enum ListServicesError {
    /// LeanX could not answer and no list young enough is kept.
    #[error("LeanX cannot list its payout services and none are cached: {0}")]
    Unavailable(#[source] LeanxError),
}

impl ListPayoutServices {
    pub fn new(provider: Arc<dyn PayoutServiceCatalog>) -> ListPayoutServices {
        ListPayoutServices {
            provider,
            cache: Mutex::new(None),
        }
    }

    pub async fn run(&self, now: DateTime<Utc>) -> Result<PayoutServices, ListServicesError> {
        let cached = self.cached();
        let age = |c: &CachedList| now - c.fetched_at;
        // A list "from the future" (the clock went back) is not trusted as fresh.
        if let Some(c) = cached.as_ref().filter(|c| {
            let age = age(c);
            age >= Duration::zero() && age < REFRESH_AFTER
        }) {
            return Ok(c.answer());
        }
        match self.provider.list_payout_services().await {
            Ok(mut services) => {
                services.sort_by(|a, b| {
                    a.name
                        .cmp(&b.name)
                        .then(a.payout_service_id.cmp(&b.payout_service_id))
                });
                let fresh = CachedList {
                    fetched_at: now,
                    services: Arc::new(services),
                };
                *self.cache.lock().unwrap_or_else(|e| e.into_inner()) = Some(fresh.clone());
                Ok(fresh.answer())
            }
            Err(error) => match cached.filter(|c| {
                let age = age(c);
                age >= Duration::zero() && age < SERVE_AT_MOST
            }) {
                Some(c) => {
                    warn!(error = %error, "LeanX cannot list its payout services; serving the cached list");
                    Ok(c.answer())
                }
                None => Err(ListServicesError::Unavailable(error)),
            },
        }
    }

    fn cached(&self) -> Option<CachedList> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl CachedList {
    fn answer(&self) -> PayoutServices {
        PayoutServices {
            services: self.services.clone(),
            fetched_at: self.fetched_at,
        }
    }
}

#[cfg(test)]
mod tests;
