//! Recipient verifications in memory.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;

use crate::domain::RecipientVerification;
use crate::store::{RecipientVerifications, StoreError};

/// Recipient verifications in memory: the latest per account (as DynamoDB's `LATEST` item, a
/// later one never replaced by an earlier), and every one saved.
#[derive(Default)]
pub struct InMemoryVerifications {
    latest: Mutex<BTreeMap<(u32, String), RecipientVerification>>,
    saved: Mutex<Vec<RecipientVerification>>,
    /// When set, every call fails as DynamoDB unreachable.
    down: Mutex<bool>,
}

impl InMemoryVerifications {
    pub fn new() -> InMemoryVerifications {
        InMemoryVerifications::default()
    }

    /// Every verification saved, in order.
    pub fn saved(&self) -> Vec<RecipientVerification> {
        self.saved.lock().unwrap().clone()
    }

    /// Makes every later call fail as an unreachable store.
    pub fn go_down(&self) {
        *self.down.lock().unwrap() = true;
    }

    fn check_up(&self) -> Result<(), StoreError> {
        if *self.down.lock().unwrap() {
            return Err(StoreError::Unavailable("scripted outage".into()));
        }
        Ok(())
    }
}

#[async_trait]
impl RecipientVerifications for InMemoryVerifications {
    async fn save(&self, verification: &RecipientVerification) -> Result<(), StoreError> {
        self.check_up()?;
        self.saved.lock().unwrap().push(verification.clone());
        let key = (
            verification.payout_service_id,
            verification.third_party_account_no.clone(),
        );
        let mut latest = self.latest.lock().unwrap();
        if latest
            .get(&key)
            .is_none_or(|kept| kept.verified_at <= verification.verified_at)
        {
            latest.insert(key, verification.clone());
        }
        Ok(())
    }

    async fn latest_for(
        &self,
        payout_service_id: u32,
        third_party_account_no: &str,
    ) -> Result<Option<RecipientVerification>, StoreError> {
        self.check_up()?;
        Ok(self
            .latest
            .lock()
            .unwrap()
            .get(&(payout_service_id, third_party_account_no.to_owned()))
            .cloned())
    }
}
