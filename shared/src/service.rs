//! The four use cases: create, look up, take LeanX's callback, reconcile. Each is plain async
//! logic over the two ports (payout store, payout provider), so a reader finds every rule of the
//! money flow here and in `domain`, and the Lambda glue stays thin.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use futures::StreamExt;
use tracing::{error, info, warn};

use crate::api::{ApiError, ApiResponse, mask_account};
use crate::domain::{
    Decision, ExistingClaim, InvoiceRef, LeanxTransactionStatus, MAX_BODY_BYTES, Payout,
    PayoutEvent, PayoutRequest, PayoutStatus, SendState, classify_existing, decide,
};
use crate::leanx::{
    AcceptedPayout, CallbackError, CreatePayoutInvoice, LeanxClient, LeanxError, PayoutTransaction,
    Secret, verify_callback,
};
use crate::store::{CreateOutcome, PayoutStore, SaveOutcome, StoreError, UnmatchedCallback};

/// The provider port: the two LeanX calls the money flow makes.
#[async_trait]
pub trait PayoutProvider: Send + Sync {
    async fn create_payout(
        &self,
        payout: &CreatePayoutInvoice<'_>,
    ) -> Result<AcceptedPayout, LeanxError>;
    async fn get_payout_transaction(&self, id: &str) -> Result<PayoutTransaction, LeanxError>;
}

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

/// Timing rules, configurable so tests need not wait 15 minutes.
#[derive(Debug, Clone)]
pub struct Timings {
    /// How long a claim is held before another request may take it over: the create
    /// function's timeout, so a live holder is never overtaken.
    pub claim_ttl: Duration,
    /// How long LeanX may not know a sent payout before it is declared not received.
    pub grace_period: Duration,
    /// A non-final payout older than this is refreshed from LeanX on GET.
    pub refresh_after: Duration,
}

impl Default for Timings {
    fn default() -> Self {
        Timings {
            claim_ttl: Duration::seconds(30),
            grace_period: Duration::minutes(15),
            refresh_after: Duration::seconds(5),
        }
    }
}

/// Everything a use case needs, built once per container.
#[derive(Clone)]
pub struct Service {
    pub store: Arc<dyn PayoutStore>,
    pub provider: Arc<dyn PayoutProvider>,
    pub virtual_pool_reference: String,
    pub callback_url: String,
    pub hash_key: Secret,
    pub timings: Timings,
}

/// How many times a write is re-decided after losing a race before giving up.
const MAX_RACE_RETRIES: usize = 8;

impl Service {
    /// Applies `event` to the payout: decide on the freshest copy, write conditionally, and on a
    /// lost race re-read and decide again. The only path by which a status ever changes.
    pub async fn apply_event(
        &self,
        mut current: Payout,
        event: &PayoutEvent,
        now: DateTime<Utc>,
    ) -> Result<Payout, StoreError> {
        for _ in 0..MAX_RACE_RETRIES {
            match decide(&current, event) {
                Decision::NoChange => return Ok(current),
                Decision::Contradiction { stored, reported } => {
                    error!(
                        external_invoice_ref = %current.external_invoice_ref,
                        invoice_no = current.invoice_no.as_deref().unwrap_or(""),
                        stored = %stored,
                        reported,
                        "LeanX reported an outcome that contradicts the payout's final status; nothing changed, an operator must check"
                    );
                    return Ok(current);
                }
                Decision::Move(change) => {
                    let next = current.apply(&change, now);
                    match self.store.save(&current, &next).await? {
                        SaveOutcome::Saved => {
                            info!(
                                external_invoice_ref = %next.external_invoice_ref,
                                from = %current.status,
                                to = %next.status,
                                cause = change.cause,
                                "payout status changed"
                            );
                            crate::metrics::status_changed(next.status);
                            return Ok(next);
                        }
                        SaveOutcome::Stale(Some(stored)) => current = stored,
                        SaveOutcome::Stale(None) => {
                            return Err(StoreError::Corrupt(
                                "payout vanished during an update".into(),
                            ));
                        }
                    }
                }
            }
        }
        Err(StoreError::Unavailable(
            "too many concurrent updates to one payout".into(),
        ))
    }

    /// `POST /payouts`.
    pub async fn create_payout(
        &self,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<ApiResponse, ApiError> {
        if body.len() > MAX_BODY_BYTES {
            return Err(ApiError::PayloadTooLarge);
        }
        let request = PayoutRequest::from_json(body)?;
        let owner = uuid::Uuid::new_v4().to_string();
        let claim = Payout::new_pending(&request, owner.clone(), now, self.timings.claim_ttl);
        let mut claimed = match self.store.create_pending(&claim).await? {
            CreateOutcome::Created => {
                crate::metrics::payout_created();
                claim
            }
            CreateOutcome::Exists(existing) => {
                match self
                    .claim_existing(existing, &claim.fingerprint, owner, now)
                    .await?
                {
                    Ok(taken) => taken,
                    Err(answer) => return answer,
                }
            }
        };
        info!(
            external_invoice_ref = %claimed.external_invoice_ref,
            amount = %claimed.amount,
            account = %mask_account(&claimed.third_party_account_no),
            "payout claimed"
        );

        crate::crashpoint::reached("create_after_claim");
        // The recovery point: from here on this payout is never sent again by anyone.
        let sending = claimed.start_send(now, self.timings.claim_ttl);
        match self.store.save(&claimed, &sending).await? {
            SaveOutcome::Saved => claimed = sending,
            // Someone else settled it first (e.g. the reconciler gave up on an expired claim).
            SaveOutcome::Stale(stored) => {
                let stored = stored.ok_or(ApiError::NotFound)?;
                return Ok(replayed(&stored));
            }
        }
        crate::crashpoint::reached("create_after_send_marked");
        let result = self.send_once(&claimed).await;
        crate::crashpoint::reached("create_after_send_answered");
        let event = match result {
            Ok(accepted) => PayoutEvent::LeanxAccepted {
                invoice_no: accepted.invoice_no,
            },
            Err(LeanxError::Refused {
                response_code,
                description,
            }) => PayoutEvent::LeanxRefused {
                response_code,
                description,
            },
            Err(error) => {
                // Lost answer (or never sent, after retries): stays PENDING; the reconciler asks
                // LeanX by external_invoice_ref. Never re-sent from here.
                warn!(
                    external_invoice_ref = %claimed.external_invoice_ref,
                    error = %error,
                    may_have_reached_leanx = error.may_have_reached_leanx(),
                    "payout send outcome unknown; left PENDING for the reconciler"
                );
                if !error.may_have_reached_leanx() {
                    return self.release_unsent(claimed, now).await;
                }
                return Ok(ApiResponse::payout(201, &claimed));
            }
        };
        let settled = self.apply_event(claimed, &event, now).await?;
        crate::crashpoint::reached("create_after_answer_recorded");
        Ok(ApiResponse::payout(201, &settled))
    }

    /// A ref already exists: conflict, in progress, replay, or take over an abandoned claim.
    async fn claim_existing(
        &self,
        mut existing: Payout,
        fingerprint: &str,
        owner: String,
        now: DateTime<Utc>,
    ) -> Result<Result<Payout, Result<ApiResponse, ApiError>>, ApiError> {
        for _ in 0..MAX_RACE_RETRIES {
            match classify_existing(&existing, fingerprint, now) {
                ExistingClaim::Conflict => return Ok(Err(Err(ApiError::IdempotencyConflict))),
                ExistingClaim::InProgress {
                    retry_after_seconds,
                } => {
                    return Ok(Err(Err(ApiError::RequestInProgress {
                        retry_after_seconds,
                    })));
                }
                ExistingClaim::Replay => return Ok(Err(Ok(replayed(&existing)))),
                ExistingClaim::TakeOver => {
                    let taken = existing.take_over(owner.clone(), now, self.timings.claim_ttl);
                    match self.store.save(&existing, &taken).await? {
                        SaveOutcome::Saved => {
                            info!(external_invoice_ref = %taken.external_invoice_ref, "took over an abandoned claim that never sent");
                            return Ok(Ok(taken));
                        }
                        SaveOutcome::Stale(Some(stored)) => existing = stored,
                        SaveOutcome::Stale(None) => return Err(ApiError::NotFound),
                    }
                }
            }
        }
        Err(ApiError::Unavailable(StoreError::Unavailable(
            "claim contention".into(),
        )))
    }

    /// The one `create-payout-invoice`. A connection that provably never opened is retried a
    /// couple of times here; nothing that may have reached LeanX ever is.
    async fn send_once(&self, payout: &Payout) -> Result<AcceptedPayout, LeanxError> {
        let request = CreatePayoutInvoice {
            virtual_pool_reference: &self.virtual_pool_reference,
            payout_service_id: payout.payout_service_id,
            amount: payout.amount,
            recipient_name: &payout.recipient_name,
            client_callback_url: &self.callback_url,
            third_party_account_no: &payout.third_party_account_no,
            external_invoice_ref: payout.external_invoice_ref.as_str(),
            recipient_reference: &payout.recipient_reference,
        };
        let mut attempt = 0;
        loop {
            match self.provider.create_payout(&request).await {
                Err(LeanxError::NotSent(_)) if attempt < 2 => {
                    attempt += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(100 * attempt)).await;
                }
                other => return other,
            }
        }
    }

    /// The send provably never left: undo the recovery point and free the claim, so that the
    /// merchant's retry sends it (exactly once), as API.md promises.
    async fn release_unsent(
        &self,
        sending: Payout,
        now: DateTime<Utc>,
    ) -> Result<ApiResponse, ApiError> {
        let mut released = sending.clone();
        released.version += 1;
        released.updated_at = now;
        released.send_state = SendState::NotStarted;
        released.send_started_at = None;
        released.claim_expires_at = now;
        released.next_check_at = Some(now + self.timings.grace_period);
        match self.store.save(&sending, &released).await? {
            SaveOutcome::Saved => Ok(ApiResponse::payout(201, &released)),
            SaveOutcome::Stale(stored) => Ok(ApiResponse::payout(201, &stored.unwrap_or(sending))),
        }
    }

    /// `GET /payouts/{ref}`: the stored payout, refreshed from LeanX when open and not fresh.
    pub async fn get_payout(
        &self,
        raw_ref: &str,
        now: DateTime<Utc>,
    ) -> Result<ApiResponse, ApiError> {
        let external_ref = InvoiceRef::parse(raw_ref)?;
        let payout = self
            .store
            .get(&external_ref)
            .await?
            .ok_or(ApiError::NotFound)?;
        let stale = now - payout.updated_at >= self.timings.refresh_after;
        if payout.status.is_final() || !stale || payout.send_state == SendState::NotStarted {
            return Ok(ApiResponse::payout(200, &payout));
        }
        match self
            .provider
            .get_payout_transaction(external_ref.as_str())
            .await
        {
            Ok(tx) => {
                let event = reported(&tx);
                let refreshed = self.apply_event(payout, &event, now).await?;
                Ok(ApiResponse::payout(200, &refreshed))
            }
            Err(error) => {
                warn!(external_invoice_ref = %external_ref, error = %error, "LeanX lookup failed; answering with the stored state");
                Ok(ApiResponse::payout(200, &payout))
            }
        }
    }

    /// `POST /callbacks/leanx`.
    pub async fn take_callback(
        &self,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<ApiResponse, ApiError> {
        let output = verify_callback(body, &self.hash_key).map_err(|e| {
            warn!(reason = %e, "callback rejected");
            crate::metrics::callback_rejected(&e);
            match e {
                CallbackError::TooLarge => ApiError::PayloadTooLarge,
                CallbackError::NotJson => ApiError::InvalidRequest(
                    crate::domain::ValidationError::body("callback body must be JSON"),
                ),
                CallbackError::NoData => {
                    ApiError::InvalidRequest(crate::domain::ValidationError::field(
                        "data",
                        "data must be the callback token",
                    ))
                }
                CallbackError::Untrusted(_) => ApiError::Unauthorized,
            }
        })?;
        let ok = ApiResponse {
            status: 200,
            headers: vec![],
            body: serde_json::json!({ "received": true }),
        };

        let by_ref = match output.external_invoice_ref().map(InvoiceRef::parse) {
            Some(Ok(r)) => self.store.get(&r).await?,
            _ => None,
        };
        let payout = match by_ref {
            Some(p) => Some(p),
            None => self.store.find_by_invoice_no(&output.invoice_no).await?,
        };
        let matched = payout.filter(|p| {
            output.amount().is_none_or(|a| a == p.amount)
                && p.invoice_no
                    .as_deref()
                    .is_none_or(|n| n == output.invoice_no)
        });
        let Some(payout) = matched else {
            let callback = UnmatchedCallback {
                id: uuid::Uuid::new_v4().to_string(),
                received_at: now,
                invoice_no: Some(output.invoice_no.clone()),
                external_invoice_ref: output.external_invoice_ref().map(str::to_owned),
                claims_json: serde_json::to_string(&serde_json::json!({
                    "invoice_no": output.invoice_no,
                    "invoice_status": output.invoice_status,
                    "amount": output.amount.as_ref().map(|a| a.get()),
                    "external_invoice_ref": output.external_invoice_ref(),
                }))
                .unwrap_or_default(),
            };
            error!(invoice_no = %output.invoice_no, external_invoice_ref = output.external_invoice_ref().unwrap_or(""), "verified callback matches no payout (or disagrees on amount or invoice_no); kept for an operator");
            self.store.record_unmatched_callback(&callback).await?;
            return Ok(ok);
        };
        if !output.is_success() {
            warn!(external_invoice_ref = %payout.external_invoice_ref, invoice_status = %output.invoice_status, "callback is not a success; ignored (failures are found by the reconciler)");
            return Ok(ok);
        }
        let event = PayoutEvent::CallbackSucceeded {
            invoice_no: output.invoice_no.clone(),
        };
        crate::crashpoint::reached("callback_before_update");
        self.apply_event(payout, &event, now).await?;
        crate::crashpoint::reached("callback_after_update");
        Ok(ok)
    }

    /// One reconciler pass over the payouts due for a check, at most `concurrency` at a time.
    pub async fn reconcile(
        &self,
        now: DateTime<Utc>,
        limit: usize,
        concurrency: usize,
    ) -> Result<ReconcileReport, StoreError> {
        let due = self.store.due_for_check(now, limit).await?;
        let lag_seconds = due
            .first()
            .and_then(|p| p.next_check_at)
            .map(|at| (now - at).num_seconds().max(0));
        let oldest_age_seconds = due.iter().map(|p| (now - p.created_at).num_seconds()).max();
        let outcomes: Vec<Outcome> = futures::stream::iter(due)
            .map(|payout| self.reconcile_one(payout, now))
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await;
        let mut report = ReconcileReport {
            lag_seconds,
            ..Default::default()
        };
        for outcome in outcomes {
            report.checked += 1;
            match outcome {
                Outcome::Settled(PayoutStatus::Succeeded) => report.succeeded += 1,
                Outcome::Settled(PayoutStatus::Failed) => report.failed += 1,
                Outcome::Settled(_) => report.progressed += 1,
                Outcome::Unchanged => report.unchanged += 1,
                Outcome::Error => report.errors += 1,
            }
        }
        crate::metrics::reconciled(report.lag_seconds, report.checked, oldest_age_seconds);
        Ok(report)
    }

    async fn reconcile_one(&self, payout: Payout, now: DateTime<Utc>) -> Outcome {
        let before = payout.status;
        match self.check_with_leanx(payout.clone(), now).await {
            Ok(after) if after.status != before => Outcome::Settled(after.status),
            Ok(_) => Outcome::Unchanged,
            Err(error) => {
                warn!(external_invoice_ref = %payout.external_invoice_ref, error = %error, "reconcile failed for this payout; retried next pass");
                Outcome::Error
            }
        }
    }

    /// Settles one open payout from LeanX's word, or backs off until the next check.
    async fn check_with_leanx(
        &self,
        payout: Payout,
        now: DateTime<Utc>,
    ) -> Result<Payout, StoreError> {
        if payout.status.is_final() {
            return Ok(payout);
        }
        let overdue = |since: DateTime<Utc>| now - since >= self.timings.grace_period;
        if payout.send_state == SendState::NotStarted {
            // Never sent, provably. A live claim is left alone; an abandoned one is closed once
            // the grace period is over (the merchant may retry until then).
            if payout.claim_expires_at <= now && overdue(payout.created_at) {
                return self
                    .apply_event(payout, &PayoutEvent::NotReceivedByProvider, now)
                    .await;
            }
            return self.back_off(payout, now).await;
        }
        match self
            .provider
            .get_payout_transaction(payout.external_invoice_ref.as_str())
            .await
        {
            Ok(tx) => {
                let event = reported(&tx);
                crate::crashpoint::reached("reconcile_before_update");
                let after = self.apply_event(payout.clone(), &event, now).await?;
                crate::crashpoint::reached("reconcile_after_update");
                if after.version == payout.version {
                    self.back_off(after, now).await
                } else {
                    Ok(after)
                }
            }
            Err(LeanxError::Refused {
                response_code,
                description,
            }) if !is_auth_failure(&response_code, &description) => {
                // LeanX does not know this ref.
                let sent_at = payout.send_started_at.unwrap_or(payout.created_at);
                if payout.status == PayoutStatus::Pending && overdue(sent_at) {
                    return self
                        .apply_event(payout, &PayoutEvent::NotReceivedByProvider, now)
                        .await;
                }
                if payout.status == PayoutStatus::Processing {
                    error!(external_invoice_ref = %payout.external_invoice_ref, response_code, "LeanX does not know a payout it accepted; an operator must check");
                }
                self.back_off(payout, now).await
            }
            Err(error) => {
                warn!(external_invoice_ref = %payout.external_invoice_ref, error = %error, "LeanX lookup failed; backing off");
                self.back_off(payout, now).await
            }
        }
    }

    async fn back_off(&self, payout: Payout, now: DateTime<Utc>) -> Result<Payout, StoreError> {
        let grace_deadline = (payout.status == PayoutStatus::Pending).then(|| {
            payout.send_started_at.unwrap_or(payout.created_at) + self.timings.grace_period
        });
        let next = payout.checked(now, grace_deadline);
        match self.store.save(&payout, &next).await? {
            SaveOutcome::Saved => Ok(next),
            SaveOutcome::Stale(stored) => Ok(stored.unwrap_or(payout)),
        }
    }
}

/// What a lookup at LeanX says, as an event.
fn reported(tx: &PayoutTransaction) -> PayoutEvent {
    PayoutEvent::LeanxReported {
        status: LeanxTransactionStatus::parse(&tx.transaction_status, tx.error_text()),
        invoice_no: tx.payout_invoice_no.clone().filter(|n| !n.is_empty()),
    }
}

/// A refusal that says our credentials are wrong rather than that the payout is unknown: it
/// must never be read as "LeanX never received it".
fn is_auth_failure(code: &str, description: &str) -> bool {
    let text = format!("{code} {description}").to_ascii_uppercase();
    code == "5699"
        || ["TOKEN", "UUID", "SIGNATURE", "FORBIDDEN", "UNAUTHORI"]
            .iter()
            .any(|w| text.contains(w))
}

fn replayed(payout: &Payout) -> ApiResponse {
    let mut response = ApiResponse::payout(200, payout);
    response
        .headers
        .push(("idempotent-replayed", "true".into()));
    response
}

enum Outcome {
    Settled(PayoutStatus),
    Unchanged,
    Error,
}

/// What one reconciler pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ReconcileReport {
    pub checked: usize,
    pub succeeded: usize,
    pub failed: usize,
    pub progressed: usize,
    pub unchanged: usize,
    pub errors: usize,
    /// How late the most overdue check was, in seconds.
    pub lag_seconds: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_refusals_are_not_read_as_unknown_payouts() {
        assert!(is_auth_failure("5699", "INVALID_UUID"));
        assert!(is_auth_failure("INVALID_TOKEN", ""));
        assert!(is_auth_failure("4001", "Requested endpoint is forbidden"));
        assert!(!is_auth_failure("4004", "TRANSACTION_NOT_FOUND"));
    }
}
