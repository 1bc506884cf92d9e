//! The LeanX client as the money flow's provider port.

use async_trait::async_trait;

use super::{AcceptedPayout, CreatePayoutInvoice, LeanxClient, LeanxError, PayoutTransaction};
use crate::usecases::PayoutProvider;

#[async_trait]
impl PayoutProvider for LeanxClient {
    async fn create_payout(
        &self,
        payout: &CreatePayoutInvoice<'_>,
    ) -> Result<AcceptedPayout, LeanxError> {
        LeanxClient::create_payout(self, payout).await
    }

    async fn get_payout_transaction(&self, id: &str) -> Result<PayoutTransaction, LeanxError> {
        LeanxClient::get_payout_transaction(self, id).await
    }
}
