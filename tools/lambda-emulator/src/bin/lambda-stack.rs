//! The stack description (`lambda_emulator::stack`) for shell scripts: `make dev` writes its
//! functions' env file with `dev-env`, `make bench` builds the functions `functions` lists.

use clap::{Parser, Subcommand};
use lambda_emulator::stack::{
    AwsAccess, CALLBACK_FUNCTION, LeanxAccess, StackDescription, StackEnv, Timing,
};

#[derive(Parser)]
#[command(about = "The workspace's Lambda stack: its functions, routes and environment")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The function names (= binary and package names), one a line.
    Functions,
    /// The routes, `METHOD PATH FUNCTION` one a line.
    Routes,
    /// The functions' environment as an env file (`NAME='value'` lines) on stdout.
    DevEnv(Box<DevEnv>),
}

#[derive(clap::Args)]
struct DevEnv {
    #[arg(long, default_value = "payouts")]
    table: String,
    #[arg(long, env = "AWS_ENDPOINT_URL_DYNAMODB")]
    dynamodb_endpoint: String,
    /// The API's base URL (`cargo lambda watch`): the callback URL is its callback route.
    #[arg(long)]
    api_url: String,
    #[arg(long)]
    leanx_base_url: String,
    #[arg(long)]
    leanx_auth_token: String,
    #[arg(long)]
    leanx_hash_key: String,
    #[arg(long)]
    leanx_virtual_pool_reference: String,
    /// Send requests to LeanX unsigned.
    #[arg(long)]
    unsigned: bool,
    #[arg(long)]
    claim_ttl_seconds: Option<u32>,
    #[arg(long)]
    payout_grace_period_seconds: Option<u32>,
    #[arg(long)]
    refresh_after_seconds: Option<u32>,
    #[arg(long)]
    leanx_timeout_ms: Option<u32>,
    #[arg(long, default_value = "info")]
    rust_log: String,
}

fn main() {
    if let Err(error) = run(Cli::parse()) {
        eprintln!("lambda-stack: {error}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    let stack = StackDescription::load()?;
    match cli.command {
        Command::Functions => {
            for function in stack.functions() {
                println!("{function}");
            }
        }
        Command::Routes => {
            for route in stack.routes() {
                println!(
                    "{} {} {}",
                    route.method, route.path_template, route.function
                );
            }
        }
        Command::DevEnv(args) => {
            let args = *args;
            let callback_url = stack
                .url_of(&args.api_url, CALLBACK_FUNCTION)
                .ok_or("the manifest has no route to the callback function")?;
            let env = StackEnv {
                table: args.table,
                dynamodb_endpoint: args.dynamodb_endpoint,
                aws: AwsAccess::Local,
                leanx: LeanxAccess {
                    base_url: args.leanx_base_url,
                    auth_token: args.leanx_auth_token,
                    hash_key: args.leanx_hash_key,
                    virtual_pool_reference: args.leanx_virtual_pool_reference,
                    sign_requests: !args.unsigned,
                },
                callback_url,
                timing: Timing {
                    claim_ttl_seconds: args.claim_ttl_seconds,
                    payout_grace_period_seconds: args.payout_grace_period_seconds,
                    refresh_after_seconds: args.refresh_after_seconds,
                    leanx_timeout_ms: args.leanx_timeout_ms,
                    ..Timing::default()
                },
                rust_log: args.rust_log,
            };
            print!("{}", env.env_file()?);
        }
    }
    Ok(())
}
