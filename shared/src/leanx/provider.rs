//! The LeanX client as the use cases' provider ports.

use async_trait::async_trait;

use super::{
    AcceptedPayout, Balance, BankVerification, CreatePayoutInvoice, LeanxClient, LeanxError,
    PayoutService, PayoutTransaction,
};
use crate::usecases::{BankAccountCheck, PayoutProvider, PayoutServiceCatalog, PoolBalance};

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

#[async_trait]
impl BankAccountCheck for LeanxClient {
    async fn check_verification_bank(
        &self,
        payout_service_id: u32,
        account_no: &str,
    ) -> Result<BankVerification, LeanxError> {
        LeanxClient::check_verification_bank(self, payout_service_id.into(), account_no).await
    }
}

#[async_trait]
impl PayoutServiceCatalog for LeanxClient {
    async fn list_payout_services(&self) -> Result<Vec<PayoutService>, LeanxError> {
        LeanxClient::list_payout_services(self).await
    }
}

#[async_trait]
impl PoolBalance for LeanxClient {
    async fn overall_balance(&self) -> Result<Balance, LeanxError> {
        LeanxClient::overall_balance(self).await
    }
}
