//! `event-runner`: Lambda's event source mappings for a local stack (docs/operations.md,
//! README "Events locally"), and a local webhook receiver.
//!
//!   event-runner run --table payouts --invoke-url http://127.0.0.1:9000 \
//!       [--webhook-queue-url URL] [--stream-dlq-url URL] [--batch-queue-url URL]
//!   event-runner receive --addr 127.0.0.1:9100   # secret from MERCHANT_WEBHOOK_SECRET
//!   event-runner set-up --prefix payouts          # the bus, rule and queues, on moto

use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};
use event_runner::receiver::{Inbox, serve};
use event_runner::{HttpInvoke, QueueMapping, QueueSettings, StreamMapping, StreamSettings};
use leanx_payouts::events::signing::SigningKeys;

#[derive(Parser)]
#[command(
    about = "Lambda's event source mappings locally (stream and queue → functions), and a webhook receiver"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Polls the table's stream and the webhook queue and invokes the functions with their
    /// batches, as the deployed event source mappings do. AWS endpoints and credentials come
    /// from the usual environment (e.g. AWS_ENDPOINT_URL for moto).
    Run {
        #[arg(long, env = "TABLE_NAME")]
        table: String,
        /// Base URL of Lambda's Invoke API (`cargo lambda watch`).
        #[arg(long)]
        invoke_url: String,
        /// The queue the bus's rule feeds; without it only the stream is polled.
        #[arg(long, env = "WEBHOOK_QUEUE_URL")]
        webhook_queue_url: Option<String>,
        /// The batch queue (`send-batch-items`' trigger); without it batches are not sent.
        #[arg(long, env = "BATCH_QUEUE_URL")]
        batch_queue_url: Option<String>,
        /// The stream mapping's on-failure destination.
        #[arg(long)]
        stream_dlq_url: Option<String>,
        #[arg(long, default_value_t = 100)]
        stream_batch_size: usize,
        #[arg(long, default_value_t = 3)]
        maximum_retry_attempts: u32,
        #[arg(long, default_value_t = 200)]
        poll_ms: u64,
    },
    /// Creates the pipeline's bus, rule, queues and dead-letter queues on a local AWS
    /// stand-in (moto), as template.yaml does in AWS; prints them as env-file lines.
    SetUp {
        #[arg(long, default_value = "payouts")]
        prefix: String,
        #[arg(long, default_value_t = 120)]
        visibility_timeout_seconds: u32,
        #[arg(long, default_value_t = 13)]
        max_receive_count: u32,
    },
    /// A local merchant endpoint: verifies each delivery and prints its event.
    Receive {
        #[arg(long, default_value = "127.0.0.1:9100")]
        addr: String,
        /// `whsec_…` (several space-separated during a rotation).
        #[arg(long, env = "MERCHANT_WEBHOOK_SECRET", hide_env_values = true)]
        secret: String,
    },
}

#[tokio::main]
async fn main() {
    if let Err(error) = run(Cli::parse()).await {
        eprintln!("event-runner: {error}");
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    match cli.command {
        Command::Receive { addr, secret } => {
            let keys = SigningKeys::parse(&secret)?;
            let listener = tokio::net::TcpListener::bind(&addr).await?;
            eprintln!("receiver: listening on http://{addr}");
            serve(listener, keys, Arc::new(Inbox::printing())).await;
            Ok(())
        }
        Command::SetUp {
            prefix,
            visibility_timeout_seconds,
            max_receive_count,
        } => {
            let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
                .load()
                .await;
            let made = event_runner::local::set_up(
                &config,
                &prefix,
                &event_runner::local::QueueShape {
                    visibility_timeout_seconds,
                    max_receive_count,
                },
            )
            .await?;
            println!("EVENT_BUS_NAME='{}'", made.bus_name);
            println!("WEBHOOK_QUEUE_URL='{}'", made.webhook_queue_url);
            println!("WEBHOOK_DLQ_URL='{}'", made.webhook_dlq_url);
            println!("STREAM_DLQ_URL='{}'", made.stream_dlq_url);
            println!("BATCH_QUEUE_URL='{}'", made.batch_queue_url);
            println!("BATCH_DLQ_URL='{}'", made.batch_dlq_url);
            Ok(())
        }
        Command::Run {
            table,
            invoke_url,
            webhook_queue_url,
            batch_queue_url,
            stream_dlq_url,
            stream_batch_size,
            maximum_retry_attempts,
            poll_ms,
        } => {
            let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
                .load()
                .await;
            let invoke = HttpInvoke {
                base_url: invoke_url,
                http: reqwest::Client::new(),
            };
            let mut stream = StreamMapping::new(
                &config,
                &table,
                StreamSettings {
                    function: "publish-events".into(),
                    batch_size: stream_batch_size,
                    maximum_retry_attempts,
                    on_failure_queue_url: stream_dlq_url,
                },
            )
            .await?;
            let queue = match webhook_queue_url {
                Some(queue_url) => Some(
                    QueueMapping::new(
                        &config,
                        QueueSettings {
                            function: "deliver-webhooks".into(),
                            queue_url,
                            batch_size: 10,
                        },
                    )
                    .await?,
                ),
                None => None,
            };
            let batch_queue = match batch_queue_url {
                Some(queue_url) => Some(
                    QueueMapping::new(
                        &config,
                        QueueSettings {
                            function: "send-batch-items".into(),
                            queue_url,
                            // As template.yaml's mapping: one message (five items) at a time.
                            batch_size: 1,
                        },
                    )
                    .await?,
                ),
                None => None,
            };
            eprintln!(
                "event-runner: polling the stream of {table}{}{}",
                if queue.is_some() {
                    ", the webhook queue"
                } else {
                    ""
                },
                if batch_queue.is_some() {
                    ", the batch queue"
                } else {
                    ""
                }
            );
            let batch_loop = async {
                let Some(batch_queue) = &batch_queue else {
                    return std::future::pending::<()>().await;
                };
                loop {
                    if let Err(error) = batch_queue.poll_once(&invoke, Duration::from_secs(1)).await
                    {
                        eprintln!("event-runner: {error}");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            };
            let pause = Duration::from_millis(poll_ms);
            let queue_loop = async {
                let Some(queue) = &queue else {
                    return std::future::pending::<()>().await;
                };
                loop {
                    if let Err(error) = queue.poll_once(&invoke, Duration::from_secs(1)).await {
                        eprintln!("event-runner: {error}");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            };
            let stream_loop = async {
                loop {
                    match stream.poll_once(&invoke).await {
                        Ok(0) => tokio::time::sleep(pause).await,
                        Ok(_) => {}
                        Err(error) => {
                            eprintln!("event-runner: {error}");
                            tokio::time::sleep(Duration::from_secs(1)).await;
                        }
                    }
                }
            };
            tokio::join!(queue_loop, stream_loop, batch_loop);
            Ok(())
        }
    }
}
