//! `GET /balance`: LeanX's `overall-balance`, exact.

use std::sync::Arc;

use crate::leanx::{Balance, LeanxError};

use super::provider::PoolBalance;

#[derive(Clone)]
pub struct GetBalance {
    pub provider: Arc<dyn PoolBalance>,
}

#[derive(Debug, thiserror::Error)]
pub enum BalanceError {
    /// LeanX unreachable, or an answer this service cannot read (never shown as a zero).
    #[error("LeanX cannot tell the balance: {0}")]
    Unavailable(#[source] LeanxError),
}

impl GetBalance {
    pub async fn run(&self) -> Result<Balance, BalanceError> {
        self.provider.overall_balance().await.map_err(|error| {
            tracing::warn!(error = %error, "overall-balance failed");
            BalanceError::Unavailable(error)
        })
    }
}

#[cfg(test)]
mod tests;
