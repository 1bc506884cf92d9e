//! Wiring from configuration: the clients a container builds once (the payout store, the LeanX
//! client, the Hash Key) and the use cases over them. A configuration error ends the process
//! with one line naming the setting, before the function takes any request.

use std::sync::{Arc, OnceLock};

use async_trait::async_trait;

use super::https::{SdkHttpClient, Tls};
use crate::config::{Config, ConfigError, LeanxUse, load_credentials};
use crate::domain::CursorKey;
use crate::leanx::{
    AcceptedPayout, Balance, BankVerification, CreatePayoutInvoice, LeanxClient, LeanxError,
    LeanxSettings, PayoutService, PayoutTransaction, Secret,
};
use crate::pipeline::send_items::{ItemSender, Pacer, SqsItemQueue};
use crate::store::DynamoPayoutStore;
use crate::usecases::{
    AcceptBatch, BankAccountCheck, CreatePayout, GetBalance, GetBatch, ListBatchItems,
    ListPayoutServices, ListPayouts, LookupPayout, PayoutDestination, PayoutProvider,
    PayoutServiceCatalog, PoolBalance, RecipientCheck, Reconciler, SendBatchItem, TakeCallback,
    VerifyRecipient,
};

/// What a container builds once, from which each function takes its one use case.
pub struct Clients {
    pub config: Config,
    pub store: Arc<DynamoPayoutStore>,
    pub leanx: Arc<LeanxOnFirstUse>,
    pub hash_key: Secret,
}

impl Clients {
    pub fn create_payout(&self) -> CreatePayout {
        CreatePayout {
            store: self.store.clone(),
            provider: self.leanx.clone(),
            destination: PayoutDestination {
                virtual_pool_reference: self.config.virtual_pool_reference.clone(),
                callback_url: self.config.callback_url.clone(),
            },
            timings: self.config.timings.clone(),
            recipients: RecipientCheck {
                policy: self.config.recipient_policy,
                accounts: self.leanx.clone(),
                verifications: self.store.clone(),
            },
        }
    }

    pub fn list_payout_services(&self) -> ListPayoutServices {
        ListPayoutServices::new(self.leanx.clone())
    }

    pub fn verify_recipient(&self) -> VerifyRecipient {
        VerifyRecipient {
            accounts: self.leanx.clone(),
            verifications: self.store.clone(),
        }
    }

    pub fn get_balance(&self) -> GetBalance {
        GetBalance {
            provider: self.leanx.clone(),
        }
    }

    pub fn lookup_payout(&self) -> LookupPayout {
        LookupPayout {
            store: self.store.clone(),
            provider: self.leanx.clone(),
            timings: self.config.timings.clone(),
        }
    }

    /// GET /payouts: the store's listing only; cursors sealed under a key derived from the Hash
    /// Key, so every container (and a redeploy) opens the cursors any other one issued.
    pub fn list_payouts(&self) -> ListPayouts {
        ListPayouts {
            store: self.store.clone(),
            cursor_key: CursorKey::derive(self.hash_key.expose().as_bytes()),
        }
    }

    /// The batch's items; cursors sealed as GET /payouts' are.
    pub fn list_batch_items(&self) -> ListBatchItems {
        ListBatchItems {
            batches: self.store.clone(),
            cursor_key: CursorKey::derive(self.hash_key.expose().as_bytes()),
        }
    }

    /// send-batch-items: the create path, paced to this container's share of the rate.
    pub fn item_sender(&self) -> ItemSender {
        ItemSender {
            send: SendBatchItem {
                create: self.create_payout(),
            },
            pacer: Pacer::share_of(
                self.config.batch_send_rate,
                self.config.batch_send_concurrency,
            ),
        }
    }

    pub fn take_callback(&self) -> TakeCallback {
        TakeCallback {
            store: self.store.clone(),
            provider: self.leanx.clone(),
            hash_key: self.hash_key.clone(),
            virtual_pool_reference: self.config.virtual_pool_reference.clone(),
        }
    }

    pub fn reconciler(&self) -> Reconciler {
        Reconciler {
            store: self.store.clone(),
            provider: self.leanx.clone(),
            timings: self.config.timings.clone(),
            limits: self.config.reconcile,
            not_found_codes: self.config.leanx_not_found_codes.clone(),
        }
    }
}

/// What a function that never calls LeanX builds (`LeanxUse::Never`): the payout store and the
/// AWS configuration, no LeanX client and no credentials.
pub struct StoreClients {
    pub config: Config,
    pub store: Arc<DynamoPayoutStore>,
    pub aws: aws_config::SdkConfig,
}

impl StoreClients {
    /// POST /payout-batches: the store and the batch queue (`BATCH_QUEUE_URL`, required).
    pub fn accept_batch(&self) -> AcceptBatch {
        if self.config.batch_queue_url.is_empty() {
            eprintln!("configuration error: missing required setting BATCH_QUEUE_URL");
            std::process::exit(1);
        }
        AcceptBatch {
            payouts: self.store.clone(),
            batches: self.store.clone(),
            queue: Arc::new(SqsItemQueue::new(
                aws_sdk_sqs::Client::new(&self.aws),
                self.config.batch_queue_url.clone(),
            )),
            queue_ttl: self.config.timings.batch_queue_ttl,
        }
    }

    pub fn get_batch(&self) -> GetBatch {
        GetBatch {
            batches: self.store.clone(),
        }
    }
}

/// Builds the clients once per container, or ends the process naming the bad setting.
pub async fn clients_from_env(leanx_use: LeanxUse) -> Clients {
    or_exit(try_clients_from_env(leanx_use).await)
}

/// As [`clients_from_env`], for a function that never calls LeanX: the secret is not read.
pub async fn store_clients_from_env() -> StoreClients {
    let env = |name: &str| std::env::var(name).ok();
    or_exit(
        try_store_clients(env, LeanxUse::Never)
            .await
            .map(|(clients, _)| clients),
    )
}

fn or_exit<T>(result: Result<T, ConfigError>) -> T {
    result.unwrap_or_else(|error| {
        eprintln!("configuration error: {error}");
        std::process::exit(1);
    })
}

/// The configuration, the store and the AWS configuration over the process's TLS (returned too,
/// for the LeanX client).
async fn try_store_clients(
    env: impl Fn(&str) -> Option<String> + Copy,
    leanx_use: LeanxUse,
) -> Result<(StoreClients, Arc<Tls>), ConfigError> {
    let config = Config::from_env(env, leanx_use)?;
    // One TLS configuration for the process, made on the first HTTPS request and shared by the
    // SDK's clients and the LeanX client.
    let tls = Arc::new(Tls::from_env(env)?);
    let aws = aws_sdk_config(env, tls.clone()).await;
    let store = DynamoPayoutStore::new(
        aws_sdk_dynamodb::Client::new(&aws),
        config.table_name.clone(),
    );
    let store = Arc::new(store);
    Ok((StoreClients { config, store, aws }, tls))
}

async fn try_clients_from_env(leanx_use: LeanxUse) -> Result<Clients, ConfigError> {
    let env = |name: &str| std::env::var(name).ok();
    let (StoreClients { config, store, aws }, tls) = try_store_clients(env, leanx_use).await?;
    // The secret's one read, over the same AWS configuration; the client is not kept.
    let credentials = load_credentials(&config, env, Some(&aws)).await?;
    let mut settings = LeanxSettings::new(config.leanx_base_url.clone(), credentials.clone());
    settings.sign_requests = config.sign_requests;
    settings.request_timeout = config.leanx_timeout;
    // The client is built on first use; a base URL it would refuse (plain http to a remote
    // host, not a URL) must stop the function at start, not on its first payout.
    settings
        .check_base_url()
        .map_err(|e| ConfigError::Invalid {
            name: "LEANX_BASE_URL",
            reason: e.to_string(),
        })?;
    Ok(Clients {
        config,
        store,
        leanx: Arc::new(LeanxOnFirstUse {
            settings,
            tls,
            client: OnceLock::new(),
        }),
        hash_key: credentials.hash_key,
    })
}

/// The AWS SDK's configuration in a function: every SDK request over the process's [`Tls`]
/// (the SDK's crates are built without an HTTP client of their own, so this is the only one).
pub async fn aws_sdk_config(
    env: impl Fn(&str) -> Option<String>,
    tls: Arc<Tls>,
) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(SdkHttpClient::new(tls));
    if env("AWS_ACCESS_KEY_ID").is_some() && env("AWS_SECRET_ACCESS_KEY").is_some() {
        // Lambda always puts the function's credentials in the environment, where the default
        // chain would find them first anyway. Naming that provider skips building the rest of
        // the chain, whose web-identity provider makes an STS client at once.
        loader = loader.credentials_provider(
            aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
        );
    }
    if let Some(region) = env("AWS_REGION").filter(|r| !r.is_empty()) {
        // Lambda sets it; naming it skips the default region chain (and its IMDS provider).
        loader = loader.region(aws_config::Region::new(region));
    }
    loader.load().await
}

/// The LeanX client, built on its first use over the process's TLS configuration. Only
/// `create-payout` calls LeanX on its usual path: `get-payout` and `reconcile-payouts` only for
/// open payouts, `leanx-callback` only to confirm a callback for a payout whose answer was
/// lost. Built once per container; later calls only read it.
pub struct LeanxOnFirstUse {
    settings: LeanxSettings,
    tls: Arc<Tls>,
    client: OnceLock<Result<LeanxClient, LeanxError>>,
}

impl LeanxOnFirstUse {
    fn client(&self) -> Result<&LeanxClient, LeanxError> {
        self.client
            .get_or_init(|| LeanxClient::with_tls(self.settings.clone(), &self.tls.config()))
            .as_ref()
            .map_err(Clone::clone)
    }
}

#[async_trait]
impl PayoutProvider for LeanxOnFirstUse {
    async fn create_payout(
        &self,
        payout: &CreatePayoutInvoice<'_>,
    ) -> Result<AcceptedPayout, LeanxError> {
        // A set-up failure is `NotSent`: nothing left, so the claim is released as usual.
        self.client()?.create_payout(payout).await
    }

    async fn get_payout_transaction(&self, id: &str) -> Result<PayoutTransaction, LeanxError> {
        self.client()?.get_payout_transaction(id).await
    }

    async fn list_payout_transactions_by_ref(
        &self,
        external_invoice_ref: &str,
        created_on_or_after: chrono::NaiveDate,
        until: chrono::NaiveDate,
    ) -> Result<Vec<PayoutTransaction>, LeanxError> {
        self.client()?
            .find_payout_transactions_by_ref(external_invoice_ref, created_on_or_after, until)
            .await
    }
}

#[async_trait]
impl BankAccountCheck for LeanxOnFirstUse {
    async fn check_verification_bank(
        &self,
        payout_service_id: u32,
        account_no: &str,
    ) -> Result<BankVerification, LeanxError> {
        self.client()?
            .check_verification_bank(payout_service_id.into(), account_no)
            .await
    }
}

#[async_trait]
impl PayoutServiceCatalog for LeanxOnFirstUse {
    async fn list_payout_services(&self) -> Result<Vec<PayoutService>, LeanxError> {
        self.client()?.list_payout_services().await
    }
}

#[async_trait]
impl PoolBalance for LeanxOnFirstUse {
    async fn overall_balance(&self) -> Result<Balance, LeanxError> {
        self.client()?.overall_balance().await
    }
}

#[cfg(test)]
mod tests {
    use aws_smithy_runtime_api::client::http::HttpClient;

    use super::*;

    #[tokio::test]
    async fn the_sdk_sends_over_the_process_https_stack() {
        let env = |name: &str| {
            match name {
                "AWS_ACCESS_KEY_ID" => Some("key"),
                "AWS_SECRET_ACCESS_KEY" => Some("secret"),
                "AWS_REGION" => Some("ap-southeast-1"),
                _ => None,
            }
            .map(str::to_owned)
        };
        let aws = aws_sdk_config(env, Arc::new(Tls::default())).await;
        let client = aws.http_client().expect("an HTTP client is set");
        // The SDK's own client (when a tool's feature links it) names itself otherwise.
        assert_eq!(
            client.connector_metadata().map(|m| m.name().into_owned()),
            Some("reqwest".to_owned())
        );
    }
}
