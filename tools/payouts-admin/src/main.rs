//! payouts-admin: operator commands on the payouts table.
//!
//! ```text
//! payouts-admin create-table [--table NAME]
//! payouts-admin unmatched-callbacks [--limit N] [--table NAME]
//! payouts-admin get REF [--table NAME]
//! payouts-admin replay-callback ID [--table NAME]
//! ```
//! The table defaults to `TABLE_NAME` (else `payouts`); the endpoint, region and credentials
//! come from the usual AWS environment (`AWS_ENDPOINT_URL_DYNAMODB` for a local server).

use std::process::ExitCode;
use std::sync::Arc;

use async_trait::async_trait;
use leanx_payouts::domain::{InvoiceRef, Payout, PayoutEvent, request::amount_from_json};
use leanx_payouts::leanx::{
    AcceptedPayout, CreatePayoutInvoice, LeanxError, PayoutTransaction, Secret,
};
use leanx_payouts::service::{PayoutProvider, Service, Timings};
use leanx_payouts::store::dynamo::dynamodb_client_from_env;
use leanx_payouts::store::schema::{self, TableCreation};
use leanx_payouts::store::{DynamoPayoutStore, PayoutStore, UnmatchedCallback};

const USAGE: &str = "\
usage: payouts-admin create-table [--table NAME]
       payouts-admin unmatched-callbacks [--limit N] [--table NAME]
       payouts-admin get REF [--table NAME]
       payouts-admin replay-callback ID [--table NAME]

replay-callback applies a kept (unmatched) success callback, by its id from
unmatched-callbacks, to the payout it names, with the function's own matching rules.
The table defaults to $TABLE_NAME, else `payouts`. AWS_ENDPOINT_URL_DYNAMODB points at a local server.";

const DEFAULT_LIMIT: usize = 100;

#[derive(Debug, PartialEq, Eq)]
enum Command {
    CreateTable {
        table: String,
    },
    UnmatchedCallbacks {
        table: String,
        limit: usize,
    },
    Get {
        table: String,
        external_invoice_ref: InvoiceRef,
    },
    ReplayCallback {
        table: String,
        id: String,
    },
    Help,
}

/// A refused command line: shown with the usage, exit code 2.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
struct UsageError(String);

fn parse(args: &[String], env_table: Option<String>) -> Result<Command, UsageError> {
    let mut table = env_table
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| "payouts".to_owned());
    let mut limit = DEFAULT_LIMIT;
    let mut positional = Vec::new();
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "-h" | "--help" | "help" => return Ok(Command::Help),
            "--table" => {
                table = rest
                    .next()
                    .filter(|t| !t.is_empty())
                    .ok_or_else(|| UsageError("--table needs a name".into()))?
                    .clone();
            }
            "--limit" => {
                limit = rest
                    .next()
                    .and_then(|n| n.parse::<usize>().ok())
                    .filter(|n| *n > 0)
                    .ok_or_else(|| UsageError("--limit needs a positive number".into()))?;
            }
            flag if flag.starts_with("--") => {
                return Err(UsageError(format!("unknown option {flag}")));
            }
            _ => positional.push(arg.as_str()),
        }
    }
    match positional.as_slice() {
        ["create-table"] => Ok(Command::CreateTable { table }),
        ["unmatched-callbacks"] => Ok(Command::UnmatchedCallbacks { table, limit }),
        ["get", reference] => {
            let external_invoice_ref =
                InvoiceRef::parse(reference).map_err(|e| UsageError(e.to_string()))?;
            Ok(Command::Get {
                table,
                external_invoice_ref,
            })
        }
        ["get"] => Err(UsageError("get needs a REF".into())),
        ["replay-callback", id] => Ok(Command::ReplayCallback {
            table,
            id: (*id).to_owned(),
        }),
        ["replay-callback"] => Err(UsageError("replay-callback needs an ID".into())),
        [] => Err(UsageError("no command given".into())),
        [command, ..] => Err(UsageError(format!(
            "unknown command or extra arguments: {command}"
        ))),
    }
}

/// A failed command: printed on stderr, exit code 1.
#[derive(Debug, thiserror::Error)]
enum AdminError {
    #[error(transparent)]
    Schema(#[from] schema::SchemaError),
    #[error(transparent)]
    Store(#[from] leanx_payouts::store::StoreError),
    #[error("cannot write JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("no payout {0}")]
    NotFound(InvoiceRef),
    #[error("no unmatched callback {0} (list them with unmatched-callbacks)")]
    NoSuchCallback(String),
    #[error("callback {id} not replayed: {reason}")]
    NotReplayable { id: String, reason: String },
}

/// Every kept callback is read to find one by id: they are few, and kept for this.
const REPLAY_SEARCH_LIMIT: usize = 100_000;

/// payouts-admin never calls LeanX: replaying changes only the table.
struct NoProvider;

#[async_trait]
impl PayoutProvider for NoProvider {
    async fn create_payout(
        &self,
        _payout: &CreatePayoutInvoice<'_>,
    ) -> Result<AcceptedPayout, LeanxError> {
        Err(LeanxError::NotSent(
            "payouts-admin never calls LeanX".into(),
        ))
    }
    async fn get_payout_transaction(&self, _id: &str) -> Result<PayoutTransaction, LeanxError> {
        Err(LeanxError::NotSent(
            "payouts-admin never calls LeanX".into(),
        ))
    }
}

/// The claims an unmatched callback was kept with (`Service::take_callback`).
#[derive(Debug, serde::Deserialize)]
struct KeptClaims {
    invoice_no: String,
    invoice_status: String,
    /// The amount's JSON text as LeanX sent it (`"13.00"` or `13.00`).
    #[serde(default)]
    amount: Option<String>,
}

/// The payout a kept callback names, if it now matches by the callback function's rules:
/// found by ref, else by invoice number; same amount; same invoice number if one is known.
async fn replay_target(
    store: &dyn PayoutStore,
    callback: &UnmatchedCallback,
) -> Result<(Payout, String), AdminError> {
    let refuse = |reason: String| AdminError::NotReplayable {
        id: callback.id.clone(),
        reason,
    };
    let claims: KeptClaims = serde_json::from_str(&callback.claims_json)?;
    if !claims.invoice_status.eq_ignore_ascii_case("SUCCESS") {
        return Err(refuse(format!(
            "status {} is not SUCCESS (failures are settled by the reconciler)",
            claims.invoice_status
        )));
    }
    let by_ref = match callback
        .external_invoice_ref
        .as_deref()
        .map(InvoiceRef::parse)
    {
        Some(Ok(r)) => store.get(&r).await?,
        _ => None,
    };
    let payout = match by_ref {
        Some(p) => Some(p),
        None => store.find_by_invoice_no(&claims.invoice_no).await?,
    };
    let Some(payout) = payout else {
        return Err(refuse(format!(
            "still no payout with ref {:?} or invoice_no {}",
            callback.external_invoice_ref.as_deref().unwrap_or(""),
            claims.invoice_no
        )));
    };
    if let Some(raw) = &claims.amount {
        let amount = serde_json::value::RawValue::from_string(raw.clone())
            .ok()
            .and_then(|raw| amount_from_json(&raw).ok());
        if amount != Some(payout.amount) {
            return Err(refuse(format!(
                "amount {raw} differs from payout {}'s {}",
                payout.external_invoice_ref, payout.amount
            )));
        }
    }
    if let Some(known) = payout.invoice_no.as_deref() {
        if known != claims.invoice_no {
            return Err(refuse(format!(
                "invoice_no {} differs from payout {}'s {known}",
                claims.invoice_no, payout.external_invoice_ref
            )));
        }
    }
    Ok((payout, claims.invoice_no))
}

async fn run(command: Command) -> Result<(), AdminError> {
    match command {
        Command::Help => println!("{USAGE}"),
        Command::CreateTable { table } => {
            let client = dynamodb_client_from_env().await;
            match schema::create_table(&client, &table).await? {
                TableCreation::Created => println!("created table {table}"),
                TableCreation::AlreadyExisted => println!("table {table} already exists"),
            }
        }
        Command::UnmatchedCallbacks { table, limit } => {
            let store = DynamoPayoutStore::new(dynamodb_client_from_env().await, table);
            for callback in store.unmatched_callbacks(limit).await? {
                println!("{}", serde_json::to_string(&callback)?);
            }
        }
        Command::Get {
            table,
            external_invoice_ref,
        } => {
            let store = DynamoPayoutStore::new(dynamodb_client_from_env().await, table);
            let payout = store
                .get(&external_invoice_ref)
                .await?
                .ok_or(AdminError::NotFound(external_invoice_ref))?;
            println!("{}", serde_json::to_string_pretty(&payout)?);
        }
        Command::ReplayCallback { table, id } => {
            let store = Arc::new(DynamoPayoutStore::new(
                dynamodb_client_from_env().await,
                table,
            ));
            let callback = store
                .unmatched_callbacks(REPLAY_SEARCH_LIMIT)
                .await?
                .into_iter()
                .find(|c| c.id == id)
                .ok_or_else(|| AdminError::NoSuchCallback(id.clone()))?;
            let (payout, invoice_no) = replay_target(store.as_ref(), &callback).await?;
            // The functions' own path for a status change: decided by the domain, written
            // conditionally with its history entry; a final payout is never changed.
            let service = Service {
                store: store.clone(),
                provider: Arc::new(NoProvider),
                virtual_pool_reference: String::new(),
                callback_url: String::new(),
                hash_key: Secret::new(String::new()),
                timings: Timings::default(),
            };
            let before = payout.status;
            let after = service
                .apply_event(
                    payout,
                    &PayoutEvent::CallbackSucceeded { invoice_no },
                    chrono::Utc::now(),
                )
                .await?;
            println!(
                "callback {id}: payout {} {before} -> {}",
                after.external_invoice_ref, after.status
            );
        }
    }
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = match parse(&args, std::env::var("TABLE_NAME").ok()) {
        Ok(command) => command,
        Err(e) => {
            eprintln!("payouts-admin: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("payouts-admin: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn table_comes_from_flag_then_env_then_default() {
        assert_eq!(
            parse(&args("create-table"), None),
            Ok(Command::CreateTable {
                table: "payouts".into()
            })
        );
        assert_eq!(
            parse(&args("create-table"), Some("from-env".into())),
            Ok(Command::CreateTable {
                table: "from-env".into()
            })
        );
        assert_eq!(
            parse(&args("create-table --table t1"), Some("from-env".into())),
            Ok(Command::CreateTable { table: "t1".into() })
        );
    }

    #[test]
    fn unmatched_callbacks_takes_a_positive_limit() {
        assert_eq!(
            parse(&args("unmatched-callbacks --limit 5"), None),
            Ok(Command::UnmatchedCallbacks {
                table: "payouts".into(),
                limit: 5
            })
        );
        assert!(parse(&args("unmatched-callbacks --limit 0"), None).is_err());
        assert!(parse(&args("unmatched-callbacks --limit x"), None).is_err());
    }

    #[test]
    fn get_needs_a_valid_ref() {
        assert!(matches!(
            parse(&args("get INV-1"), None),
            Ok(Command::Get { .. })
        ));
        assert!(parse(&args("get"), None).is_err());
        assert!(parse(&args("get bad/ref"), None).is_err());
        assert!(parse(&args("get A B"), None).is_err());
    }

    #[test]
    fn replay_callback_needs_an_id() {
        assert_eq!(
            parse(&args("replay-callback 6f1c --table t"), None),
            Ok(Command::ReplayCallback {
                table: "t".into(),
                id: "6f1c".into()
            })
        );
        assert!(parse(&args("replay-callback"), None).is_err());
        assert!(parse(&args("replay-callback a b"), None).is_err());
    }

    mod replay {
        use super::super::*;
        use chrono::{DateTime, Duration, Utc};
        use leanx_payouts::domain::{PayoutRequest, PayoutStatus};
        use leanx_payouts::store::{CreateOutcome, SaveOutcome, StoreError};
        use std::sync::Mutex;

        /// Just enough of a store for replay: payouts by ref, saved conditionally on version.
        #[derive(Default)]
        struct Memory(Mutex<Vec<Payout>>);

        #[async_trait]
        impl PayoutStore for Memory {
            async fn create_pending(&self, p: &Payout) -> Result<CreateOutcome, StoreError> {
                self.0.lock().unwrap().push(p.clone());
                Ok(CreateOutcome::Created)
            }
            async fn save(
                &self,
                current: &Payout,
                next: &Payout,
            ) -> Result<SaveOutcome, StoreError> {
                let mut all = self.0.lock().unwrap();
                let slot = all
                    .iter_mut()
                    .find(|p| p.external_invoice_ref == current.external_invoice_ref)
                    .ok_or_else(|| StoreError::Corrupt("gone".into()))?;
                if slot.version != current.version {
                    return Ok(SaveOutcome::Stale(Some(slot.clone())));
                }
                *slot = next.clone();
                Ok(SaveOutcome::Saved)
            }
            async fn get(&self, r: &InvoiceRef) -> Result<Option<Payout>, StoreError> {
                let all = self.0.lock().unwrap();
                Ok(all.iter().find(|p| &p.external_invoice_ref == r).cloned())
            }
            async fn find_by_invoice_no(&self, n: &str) -> Result<Option<Payout>, StoreError> {
                let all = self.0.lock().unwrap();
                Ok(all
                    .iter()
                    .find(|p| p.invoice_no.as_deref() == Some(n))
                    .cloned())
            }
            async fn due_for_check(
                &self,
                _now: DateTime<Utc>,
                _limit: usize,
            ) -> Result<Vec<Payout>, StoreError> {
                Ok(vec![])
            }
            async fn record_unmatched_callback(
                &self,
                _c: &UnmatchedCallback,
            ) -> Result<(), StoreError> {
                Ok(())
            }
            async fn unmatched_callbacks(
                &self,
                _limit: usize,
            ) -> Result<Vec<UnmatchedCallback>, StoreError> {
                Ok(vec![])
            }
        }

        fn now() -> DateTime<Utc> {
            DateTime::from_timestamp(1_800_000_000, 0).unwrap()
        }

        /// A payout LeanX accepted as PAYOUT-1, for 13.00.
        async fn processing(store: &Memory) -> Payout {
            let request = PayoutRequest::from_json(
                br#"{"external_invoice_ref":"INV-R","payout_service_id":23,"amount":"13.00",
                    "recipient_name":"John","third_party_account_no":"8011408168","recipient_reference":"R"}"#,
            )
            .unwrap();
            let claim = Payout::new_pending(&request, "o".into(), now(), Duration::seconds(30));
            store.create_pending(&claim).await.unwrap();
            let accepted = PayoutEvent::LeanxAccepted {
                invoice_no: "PAYOUT-1".into(),
            };
            let leanx_payouts::domain::Decision::Move(change) =
                leanx_payouts::domain::decide(&claim, &accepted)
            else {
                panic!("accepting a new payout is a move");
            };
            let next = claim.apply(&change, now());
            store.save(&claim, &next).await.unwrap();
            next
        }

        fn kept(
            ext_ref: Option<&str>,
            invoice_no: &str,
            status: &str,
            amount: &str,
        ) -> UnmatchedCallback {
            UnmatchedCallback {
                id: "cb-1".into(),
                received_at: now(),
                invoice_no: Some(invoice_no.into()),
                external_invoice_ref: ext_ref.map(str::to_owned),
                claims_json: serde_json::json!({
                    "invoice_no": invoice_no,
                    "invoice_status": status,
                    "amount": amount,
                    "external_invoice_ref": ext_ref,
                })
                .to_string(),
            }
        }

        #[tokio::test]
        async fn a_matching_success_is_found_by_ref_or_invoice_no() {
            let store = Memory::default();
            let payout = processing(&store).await;
            for callback in [
                kept(Some("INV-R"), "PAYOUT-1", "SUCCESS", r#""13.00""#),
                kept(None, "PAYOUT-1", "SUCCESS", "13.00"),
            ] {
                let (found, invoice_no) = replay_target(&store, &callback).await.unwrap();
                assert_eq!(found, payout);
                assert_eq!(invoice_no, "PAYOUT-1");
            }
        }

        #[tokio::test]
        async fn a_callback_that_still_disagrees_is_not_replayed() {
            let store = Memory::default();
            processing(&store).await;
            for callback in [
                kept(Some("INV-R"), "PAYOUT-1", "SUCCESS", r#""13.01""#),
                kept(Some("INV-R"), "PAYOUT-2", "SUCCESS", r#""13.00""#),
                kept(Some("INV-R"), "PAYOUT-1", "FAILED", r#""13.00""#),
                kept(Some("INV-NONE"), "PAYOUT-9", "SUCCESS", r#""13.00""#),
            ] {
                let error = replay_target(&store, &callback).await.unwrap_err();
                assert!(matches!(error, AdminError::NotReplayable { .. }), "{error}");
            }
        }

        #[tokio::test]
        async fn replay_settles_the_payout_through_the_domain() {
            let store = Arc::new(Memory::default());
            processing(&store).await;
            let callback = kept(Some("INV-R"), "PAYOUT-1", "SUCCESS", r#""13.00""#);
            let (payout, invoice_no) = replay_target(store.as_ref(), &callback).await.unwrap();
            let service = Service {
                store: store.clone(),
                provider: Arc::new(NoProvider),
                virtual_pool_reference: String::new(),
                callback_url: String::new(),
                hash_key: Secret::new(String::new()),
                timings: Timings::default(),
            };
            let after = service
                .apply_event(
                    payout,
                    &PayoutEvent::CallbackSucceeded { invoice_no },
                    now(),
                )
                .await
                .unwrap();
            assert_eq!(after.status, PayoutStatus::Succeeded);
            let stored = store
                .get(&after.external_invoice_ref)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(stored.status, PayoutStatus::Succeeded);
        }
    }

    #[test]
    fn unknown_input_is_refused() {
        assert!(parse(&args(""), None).is_err());
        assert!(parse(&args("drop-table"), None).is_err());
        assert!(parse(&args("create-table --force"), None).is_err());
        assert_eq!(parse(&args("--help"), None), Ok(Command::Help));
    }
}
