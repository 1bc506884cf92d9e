//! payouts-admin: operator commands on the payouts table.
//!
//! ```text
//! payouts-admin create-table [--table NAME]
//! payouts-admin unmatched-callbacks [--limit N] [--table NAME]
//! payouts-admin get REF [--table NAME]
//! ```
//! The table defaults to `TABLE_NAME` (else `payouts`); the endpoint, region and credentials
//! come from the usual AWS environment (`AWS_ENDPOINT_URL_DYNAMODB` for a local server).

use std::process::ExitCode;

use leanx_payouts::domain::InvoiceRef;
use leanx_payouts::store::dynamo::dynamodb_client_from_env;
use leanx_payouts::store::schema::{self, TableCreation};
use leanx_payouts::store::{DynamoPayoutStore, PayoutStore};

const USAGE: &str = "\
usage: payouts-admin create-table [--table NAME]
       payouts-admin unmatched-callbacks [--limit N] [--table NAME]
       payouts-admin get REF [--table NAME]

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
    fn unknown_input_is_refused() {
        assert!(parse(&args(""), None).is_err());
        assert!(parse(&args("drop-table"), None).is_err());
        assert!(parse(&args("create-table --force"), None).is_err());
        assert_eq!(parse(&args("--help"), None), Ok(Command::Help));
    }
}
