//! payouts-admin: operator commands on the payouts table (`--help` lists them).
//!
//! The table defaults to `TABLE_NAME` (else `payouts`); the endpoint, region and credentials
//! come from the usual AWS environment (`AWS_ENDPOINT_URL_DYNAMODB` for a local server), or,
//! with `--local`, from `make dev`'s local stack (DynamoDB on 127.0.0.1:8000, dummy keys).

mod dead_letters;
mod stream_failures;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use leanx_payouts::domain::{InvoiceRef, ValidationError};
use leanx_payouts::pipeline::publish::{EventBridgeSink, Publisher};
use leanx_payouts::store::schema::{self, TableCreation};
use leanx_payouts::store::{DynamoPayoutStore, PayoutStore};
use leanx_payouts::usecases::{Applied, ReplayOutcome, replay_kept_callback};

/// Where `make dev` serves its local DynamoDB (README).
const LOCAL_DYNAMODB: &str = "http://127.0.0.1:8000";

#[derive(Debug, Parser)]
#[command(
    name = "payouts-admin",
    about = "Operator commands on the payouts table."
)]
struct Cli {
    /// The payouts table.
    #[arg(long, global = true, env = "TABLE_NAME", default_value = "payouts")]
    table: String,
    /// Use `make dev`'s local stack: DynamoDB on 127.0.0.1:8000 with local keys.
    #[arg(long, global = true)]
    local: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand, PartialEq, Eq)]
enum Command {
    /// Create the payouts table (and its indexes) if it does not exist.
    CreateTable,
    /// List kept (unmatched) callbacks, newest first, one JSON object a line.
    UnmatchedCallbacks {
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
        limit: u32,
    },
    /// Print one payout with its history.
    Get {
        /// The payout's external_invoice_ref.
        #[arg(value_parser = parse_ref)]
        external_invoice_ref: InvoiceRef,
    },
    /// Apply a kept success callback, by its id from unmatched-callbacks, to the payout it
    /// names, with the callback function's own matching rules.
    ReplayCallback {
        id: String,
        /// This service's payout pool, compared with the callback's.
        #[arg(long, env = "LEANX_VIRTUAL_POOL_REFERENCE", default_value = "")]
        pool: String,
    },
    /// List the webhook events dead-lettered after 24 hours of failed deliveries, one JSON
    /// object a line (event id, type, payout ref, version).
    DeadLetters {
        /// The webhook dead-letter queue (stack output WebhookDeadLetterQueueUrl).
        #[arg(long, env = "WEBHOOK_DLQ_URL")]
        dlq_url: String,
    },
    /// Move dead-lettered webhook events back to the delivery queue (all, or one payout's).
    ReplayDeadLetters {
        #[arg(long, env = "WEBHOOK_DLQ_URL")]
        dlq_url: String,
        /// The delivery queue (stack output WebhookQueueUrl).
        #[arg(long, env = "WEBHOOK_QUEUE_URL")]
        queue_url: String,
        /// Only this payout's events.
        #[arg(long = "ref", value_parser = parse_ref)]
        external_invoice_ref: Option<InvoiceRef>,
    },
    /// List the stream failures: the pointers (shard, sequence numbers) publish-events' stream
    /// mapping sent to its on-failure queue, one JSON object a line.
    StreamFailures {
        /// The stream mapping's on-failure queue (stack output PublishEventsDeadLetterQueueUrl).
        #[arg(long, env = "STREAM_DLQ_URL")]
        dlq_url: String,
    },
    /// Re-publish the events of the stream records those pointers name (read back from the
    /// stream, within its 24-hour retention) with publish-events' own code: same event ids.
    /// Replayed pointers are deleted; expired ones are kept and reported (exit code 1).
    ReplayStreamFailures {
        #[arg(long, env = "STREAM_DLQ_URL")]
        dlq_url: String,
        /// The stack's event bus (stack output EventBusName).
        #[arg(long, env = "EVENT_BUS_NAME")]
        event_bus_name: String,
    },
}

fn parse_ref(text: &str) -> Result<InvoiceRef, ValidationError> {
    InvoiceRef::parse(text)
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
    #[error(transparent)]
    DeadLetters(#[from] dead_letters::DeadLetterError),
    #[error(transparent)]
    StreamFailures(#[from] stream_failures::StreamFailureError),
    #[error(
        "{0} stream failure(s) expired: the stream keeps records 24 hours, and a pointer names no \
         payout, so their events cannot be re-published with their ids. The payouts' histories \
         are intact: the merchant reads them with GET /payouts/{{ref}} (or the listing). The \
         pointers stay in the queue; delete them once handled."
    )]
    Expired(usize),
}

/// Every kept callback is read to find one by id: they are few, and kept for this.
const REPLAY_SEARCH_LIMIT: usize = 100_000;

async fn aws(local: bool) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if local {
        loader = loader
            .endpoint_url(LOCAL_DYNAMODB)
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                "local",
                "local",
                None,
                None,
                "payouts-admin --local",
            ));
    }
    loader.load().await
}

async fn run(cli: Cli) -> Result<(), AdminError> {
    let config = aws(cli.local).await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let table = cli.table;
    let store = DynamoPayoutStore::new(client.clone(), table.clone());
    match cli.command {
        Command::CreateTable => match schema::create_table(&client, &table).await? {
            TableCreation::Created => println!("created table {table}"),
            TableCreation::AlreadyExisted => println!("table {table} already exists"),
        },
        Command::UnmatchedCallbacks { limit } => {
            for callback in store.unmatched_callbacks(limit as usize).await? {
                println!("{}", serde_json::to_string(&callback)?);
            }
        }
        Command::Get {
            external_invoice_ref,
        } => {
            let payout = store
                .get(&external_invoice_ref)
                .await?
                .ok_or(AdminError::NotFound(external_invoice_ref))?;
            println!("{}", serde_json::to_string_pretty(&payout)?);
        }
        Command::ReplayCallback { id, pool } => {
            let callback = store
                .unmatched_callbacks(REPLAY_SEARCH_LIMIT)
                .await?
                .into_iter()
                .find(|c| c.id == id)
                .ok_or_else(|| AdminError::NoSuchCallback(id.clone()))?;
            match replay_kept_callback(&store, &callback, &pool, chrono::Utc::now()).await? {
                ReplayOutcome::Refused(reason) => {
                    return Err(AdminError::NotReplayable { id, reason });
                }
                ReplayOutcome::Applied(applied) => {
                    let verb = match &applied {
                        Applied::Moved(_) => "now",
                        Applied::Unchanged(_) => "already",
                        Applied::Contradicted(_) => "contradicted, stays",
                        Applied::Dropped(_) => "changed meanwhile, now",
                    };
                    let payout = applied.payout();
                    println!(
                        "callback {id}: payout {} {verb} {}",
                        payout.external_invoice_ref, payout.status
                    );
                }
            }
        }
        Command::DeadLetters { dlq_url } => {
            let sqs = aws_sdk_sqs::Client::new(&config);
            for letter in dead_letters::list(&sqs, &dlq_url).await? {
                println!("{}", serde_json::to_string(&letter)?);
            }
        }
        Command::ReplayDeadLetters {
            dlq_url,
            queue_url,
            external_invoice_ref,
        } => {
            let sqs = aws_sdk_sqs::Client::new(&config);
            let only = external_invoice_ref.as_ref().map(InvoiceRef::as_str);
            let moved = dead_letters::replay(&sqs, &dlq_url, &queue_url, only).await?;
            for letter in &moved {
                println!("{}", serde_json::to_string(letter)?);
            }
            eprintln!("replayed {} dead-lettered events", moved.len());
        }
        Command::StreamFailures { dlq_url } => {
            let sqs = aws_sdk_sqs::Client::new(&config);
            for p in stream_failures::list(&sqs, &dlq_url).await? {
                println!("{}", serde_json::to_string(&p)?);
            }
        }
        Command::ReplayStreamFailures {
            dlq_url,
            event_bus_name,
        } => {
            let sqs = aws_sdk_sqs::Client::new(&config);
            let streams = aws_sdk_dynamodbstreams::Client::new(&config);
            let publisher = Publisher {
                sink: EventBridgeSink {
                    client: aws_sdk_eventbridge::Client::new(&config),
                    bus_name: event_bus_name,
                },
            };
            let done = stream_failures::replay(&sqs, &streams, &publisher, &dlq_url).await?;
            let mut expired = 0;
            for outcome in &done {
                println!("{}", serde_json::to_string(outcome)?);
                if let stream_failures::Replay::Expired { pointer, reason } = outcome {
                    expired += 1;
                    eprintln!(
                        "stream records {}..{} of {}: {reason}",
                        pointer.start_sequence_number,
                        pointer.end_sequence_number,
                        pointer.shard_id
                    );
                }
            }
            eprintln!(
                "re-published the events of {} stream failure(s)",
                done.len() - expired
            );
            if expired > 0 {
                return Err(AdminError::Expired(expired));
            }
        }
    }
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
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
    use clap::CommandFactory;

    fn parse(line: &str) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("payouts-admin").chain(line.split_whitespace()))
    }

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn table_comes_from_the_flag_else_the_default() {
        // TABLE_NAME is not set in the test environment.
        assert_eq!(parse("create-table").unwrap().table, "payouts");
        assert_eq!(parse("create-table --table t2").unwrap().table, "t2");
        assert_eq!(parse("--table t3 get INV-1").unwrap().table, "t3");
    }

    #[test]
    fn unmatched_callbacks_takes_a_positive_limit() {
        assert_eq!(
            parse("unmatched-callbacks --limit 5").unwrap().command,
            Command::UnmatchedCallbacks { limit: 5 }
        );
        assert!(parse("unmatched-callbacks --limit 0").is_err());
        assert!(parse("unmatched-callbacks --limit x").is_err());
    }

    #[test]
    fn get_needs_a_valid_ref() {
        assert!(parse("get").is_err());
        assert!(parse("get bad/ref").is_err());
        assert!(matches!(
            parse("get INV-1").unwrap().command,
            Command::Get { .. }
        ));
    }

    #[test]
    fn replay_callback_needs_an_id() {
        assert!(parse("replay-callback").is_err());
        assert!(matches!(
            parse("replay-callback cb_1").unwrap().command,
            Command::ReplayCallback { .. }
        ));
    }

    #[test]
    fn replay_dead_letters_takes_the_queues_and_an_optional_valid_ref() {
        let all = parse("replay-dead-letters --dlq-url http://q/d --queue-url http://q/w").unwrap();
        assert!(matches!(
            all.command,
            Command::ReplayDeadLetters {
                external_invoice_ref: None,
                ..
            }
        ));
        let one = parse("replay-dead-letters --dlq-url d --queue-url w --ref INV-1").unwrap();
        assert!(matches!(
            one.command,
            Command::ReplayDeadLetters {
                external_invoice_ref: Some(_),
                ..
            }
        ));
        assert!(parse("replay-dead-letters --dlq-url d --queue-url w --ref bad/ref").is_err());
    }

    #[test]
    fn replay_stream_failures_takes_the_queue_and_the_bus() {
        assert!(matches!(
            parse("replay-stream-failures --dlq-url http://q/s --event-bus-name b")
                .unwrap()
                .command,
            Command::ReplayStreamFailures { .. }
        ));
        assert!(matches!(
            parse("stream-failures --dlq-url http://q/s")
                .unwrap()
                .command,
            Command::StreamFailures { .. }
        ));
    }

    #[test]
    fn local_selects_the_dev_stack() {
        assert!(parse("--local get INV-1").unwrap().local);
        assert!(!parse("get INV-1").unwrap().local);
    }

    #[test]
    fn unknown_input_is_refused() {
        assert!(parse("").is_err());
        assert!(parse("drop-table").is_err());
        assert!(parse("create-table --force").is_err());
        let help = parse("--help").unwrap_err();
        assert_eq!(help.kind(), clap::error::ErrorKind::DisplayHelp);
    }
}
