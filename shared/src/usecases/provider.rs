//! The provider port: what the money flow asks of LeanX. The adapter is
//! `crate::leanx::LeanxClient`; `crate::testing::ScriptedProvider` stands in for fast tests.

use async_trait::async_trait;

use crate::leanx::{AcceptedPayout, CreatePayoutInvoice, LeanxError, PayoutTransaction};

#[async_trait]
pub trait PayoutProvider: Send + Sync {
    /// `create-payout-invoice`: the one send.
    async fn create_payout(
        &self,
        payout: &CreatePayoutInvoice<'_>,
    ) -> Result<AcceptedPayout, LeanxError>;

    /// `get-payout-transaction-by-id`, by `external_invoice_ref` or `invoice_no`.
    async fn get_payout_transaction(&self, id: &str) -> Result<PayoutTransaction, LeanxError>;
}
