//! The provider port: what the money flow asks of LeanX. The adapter is
//! `crate::runtime::wiring::LeanxOnFirstUse` (the LeanX client, built on first use);
//! `crate::testing::ScriptedProvider` stands in for fast tests.

use async_trait::async_trait;
use chrono::NaiveDate;

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

    /// `payout-transaction-list` searched by ref, created between the two dates: the second
    /// source asked before a payout is declared not received. An empty list is an answer; a
    /// shape that cannot be read is an error, never an empty list.
    async fn list_payout_transactions_by_ref(
        &self,
        external_invoice_ref: &str,
        created_on_or_after: NaiveDate,
        until: NaiveDate,
    ) -> Result<Vec<PayoutTransaction>, LeanxError>;
}
