//! LeanX with scripted answers.

use std::collections::VecDeque;
use std::sync::Mutex;

use async_trait::async_trait;

use crate::leanx::{
    AcceptedPayout, Balance, BankVerification, CreatePayoutInvoice, LeanxError, PayoutService,
    PayoutTransaction,
};
use crate::usecases::{BankAccountCheck, PayoutProvider, PayoutServiceCatalog, PoolBalance};

/// A LeanX whose answers are scripted, in order, per call; it records every send.
#[derive(Default)]
pub struct ScriptedProvider {
    creates: Mutex<VecDeque<Result<AcceptedPayout, LeanxError>>>,
    lookups: Mutex<VecDeque<Result<PayoutTransaction, LeanxError>>>,
    listings: Mutex<VecDeque<Result<Vec<PayoutTransaction>, LeanxError>>>,
    listings_made: Mutex<usize>,
    sent: Mutex<Vec<String>>,
    lookups_made: Mutex<usize>,
    verifications: Mutex<VecDeque<Result<BankVerification, LeanxError>>>,
    verified: Mutex<Vec<(u32, String)>>,
    services: Mutex<VecDeque<Result<Vec<PayoutService>, LeanxError>>>,
    service_lists: Mutex<usize>,
    balances: Mutex<VecDeque<Result<Balance, LeanxError>>>,
}

impl ScriptedProvider {
    pub fn new() -> ScriptedProvider {
        ScriptedProvider::default()
    }

    /// The next `create-payout-invoice` answers this.
    pub fn answer_create(&self, answer: Result<AcceptedPayout, LeanxError>) -> &Self {
        self.creates.lock().unwrap().push_back(answer);
        self
    }

    /// The next `get-payout-transaction-by-id` answers this.
    pub fn answer_lookup(&self, answer: Result<PayoutTransaction, LeanxError>) -> &Self {
        self.lookups.lock().unwrap().push_back(answer);
        self
    }

    /// The next `payout-transaction-list` search answers this. Unscripted, it lists nothing.
    pub fn answer_listing(&self, answer: Result<Vec<PayoutTransaction>, LeanxError>) -> &Self {
        self.listings.lock().unwrap().push_back(answer);
        self
    }

    pub fn listings_made(&self) -> usize {
        *self.listings_made.lock().unwrap()
    }

    /// The next `check-verification-bank` answers this.
    pub fn answer_verification(&self, answer: Result<BankVerification, LeanxError>) -> &Self {
        self.verifications.lock().unwrap().push_back(answer);
        self
    }

    /// The next `check-verification-bank` finds `holder` at the account asked about.
    pub fn answer_holder(&self, holder: &str) -> &Self {
        self.answer_verification(Ok(BankVerification::Found {
            account_holder_name: holder.into(),
            bank_bic: Some("MBBEMYKL".into()),
            account_no: String::new(),
        }))
    }

    /// Every `check-verification-bank` asked, as (payout_service_id, account).
    pub fn verified(&self) -> Vec<(u32, String)> {
        self.verified.lock().unwrap().clone()
    }

    /// The next `list-payout-services` answers this.
    pub fn answer_services(&self, answer: Result<Vec<PayoutService>, LeanxError>) -> &Self {
        self.services.lock().unwrap().push_back(answer);
        self
    }

    /// How many times `list-payout-services` was asked.
    pub fn service_lists(&self) -> usize {
        *self.service_lists.lock().unwrap()
    }

    /// The next `overall-balance` answers this.
    pub fn answer_balance(&self, answer: Result<Balance, LeanxError>) -> &Self {
        self.balances.lock().unwrap().push_back(answer);
        self
    }

    /// The refs of every create that was attempted, in order (a `NotSent` answer included).
    pub fn sent(&self) -> Vec<String> {
        self.sent.lock().unwrap().clone()
    }

    pub fn lookups_made(&self) -> usize {
        *self.lookups_made.lock().unwrap()
    }

    /// A lookup answer with this `transaction_status` and invoice number.
    pub fn transaction(status: &str, invoice_no: Option<&str>) -> PayoutTransaction {
        serde_json::from_value(serde_json::json!({
            "transaction_status": status,
            "payout_invoice_no": invoice_no,
        }))
        .expect("a valid transaction")
    }

    /// LeanX's refusal with this code.
    pub fn refusal(code: &str, description: &str) -> LeanxError {
        LeanxError::Refused {
            response_code: code.into(),
            description: description.into(),
        }
    }
}

#[async_trait]
impl PayoutProvider for ScriptedProvider {
    async fn create_payout(
        &self,
        payout: &CreatePayoutInvoice<'_>,
    ) -> Result<AcceptedPayout, LeanxError> {
        self.sent
            .lock()
            .unwrap()
            .push(payout.external_invoice_ref.to_owned());
        self.creates
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or_else(|| Err(LeanxError::OutcomeUnknown("no scripted answer".into())))
    }

    async fn get_payout_transaction(&self, _id: &str) -> Result<PayoutTransaction, LeanxError> {
        *self.lookups_made.lock().unwrap() += 1;
        self.lookups
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or_else(|| Err(LeanxError::OutcomeUnknown("no scripted answer".into())))
    }

    async fn list_payout_transactions_by_ref(
        &self,
        _external_invoice_ref: &str,
        _created_on_or_after: chrono::NaiveDate,
        _until: chrono::NaiveDate,
    ) -> Result<Vec<PayoutTransaction>, LeanxError> {
        *self.listings_made.lock().unwrap() += 1;
        self.listings
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or_else(|| Ok(vec![]))
    }
}

/// Unscripted calls answer as a LeanX that cannot be reached.
fn unscripted<T>() -> Result<T, LeanxError> {
    Err(LeanxError::NotSent("no scripted answer".into()))
}

#[async_trait]
impl BankAccountCheck for ScriptedProvider {
    async fn check_verification_bank(
        &self,
        payout_service_id: u32,
        account_no: &str,
    ) -> Result<BankVerification, LeanxError> {
        self.verified
            .lock()
            .unwrap()
            .push((payout_service_id, account_no.to_owned()));
        let answer = self.verifications.lock().unwrap().pop_front();
        match answer.unwrap_or_else(unscripted) {
            Ok(BankVerification::Found {
                account_holder_name,
                bank_bic,
                ..
            }) => Ok(BankVerification::Found {
                account_holder_name,
                bank_bic,
                account_no: account_no.to_owned(),
            }),
            other => other,
        }
    }
}

#[async_trait]
impl PayoutServiceCatalog for ScriptedProvider {
    async fn list_payout_services(&self) -> Result<Vec<PayoutService>, LeanxError> {
        *self.service_lists.lock().unwrap() += 1;
        let answer = self.services.lock().unwrap().pop_front();
        answer.unwrap_or_else(unscripted)
    }
}

#[async_trait]
impl PoolBalance for ScriptedProvider {
    async fn overall_balance(&self) -> Result<Balance, LeanxError> {
        let answer = self.balances.lock().unwrap().pop_front();
        answer.unwrap_or_else(unscripted)
    }
}
