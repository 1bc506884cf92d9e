//! The provider ports: what the use cases ask of LeanX, one narrow trait per need. The adapter
//! is `crate::leanx::LeanxClient`; `crate::testing::ScriptedProvider` stands in for fast tests.

use async_trait::async_trait;

use crate::leanx::{
    AcceptedPayout, Balance, BankVerification, CreatePayoutInvoice, LeanxError, PayoutService,
    PayoutTransaction,
};

/// What the money flow asks of LeanX.
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

/// `check-verification-bank`: who holds an account (`POST /recipient-verifications`, and the
/// recipient policy of `POST /payouts`).
#[async_trait]
pub trait BankAccountCheck: Send + Sync {
    async fn check_verification_bank(
        &self,
        payout_service_id: u32,
        account_no: &str,
    ) -> Result<BankVerification, LeanxError>;
}

/// `list-payout-services`: the banks and e-wallets a payout can go to.
#[async_trait]
pub trait PayoutServiceCatalog: Send + Sync {
    async fn list_payout_services(&self) -> Result<Vec<PayoutService>, LeanxError>;
}

/// `overall-balance`: the pools' balances.
#[async_trait]
pub trait PoolBalance: Send + Sync {
    async fn overall_balance(&self) -> Result<Balance, LeanxError>;
}
