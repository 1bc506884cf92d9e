//! `make bench`: the four release function binaries, and a hello-world `lambda_http` baseline
//! built with the same profile, each run under the Lambda emulator (`lambda-emulator`) against
//! the local DynamoDB (through a counting proxy) and the LeanX simulator. Measures init, first
//! and warm invocation latency, own CPU per invocation, peak RSS, DynamoDB requests and LeanX
//! calls per operation, the zipped arm64 package size, and the callback throughput; prints the
//! table and writes it into `docs/benchmarks.md` between its generated-section markers.
//!
//! Figures are reported, never asserted: the machine is shared and noisy. Only loopback is used.
//!
//! - `args`: the command line;
//! - `world`: the local services, the functions under the emulator, and the operations;
//! - `measure`: process starts, invocations, CPU, memory and request counts, and the burst;
//! - `events`: the event pipeline end to end, status change -> merchant endpoint;
//! - `report`: the table and `docs/benchmarks.md`;
//! - `tls`: `--tls`, the loopback TLS terminators and their certificate authority;
//! - `batch`: the batch run (one batch accepted, sent at the configured rate, settled).

mod args;
mod batch;
mod events;
mod measure;
mod procfs;
mod proxy;
mod report;
mod stats;
mod tls;
mod world;

use std::collections::BTreeMap;
use std::time::Instant;

use args::Args;
use measure::{Measured, burst, init_only, measure, zip_size};
use world::{BASELINE, Ledger, Op, World};

type BenchResult<T> = Result<T, String>;

#[tokio::main]
async fn main() {
    if let Err(error) = run().await {
        eprintln!("lambda-bench: {error}");
        std::process::exit(1);
    }
}

async fn run() -> BenchResult<()> {
    let args = Args::parse();
    let started = Instant::now();
    let pipeline: &[&str] = if args.measures_events() {
        &events::PIPELINE_FUNCTIONS
    } else {
        &[]
    };
    for name in Op::MEASURED
        .map(Op::function)
        .iter()
        .chain([&BASELINE])
        .chain(pipeline)
    {
        if !args.selects(name) && !pipeline.contains(name) && name != &BASELINE {
            continue;
        }
        let binary = args.bin_dir.join(name);
        if !binary.exists() {
            return Err(format!(
                "{} is missing: build the release binaries first (`make bench` does)",
                binary.display()
            ));
        }
    }
    for (needs, from) in [(Op::Callback, Op::Create), (Op::Get, Op::Callback)] {
        if args.selects(needs.function()) && !args.selects(from.function()) {
            return Err(format!(
                "--only {}: it needs {} (its payouts come from it)",
                needs.function(),
                from.function()
            ));
        }
    }
    let world = World::start(&args).await?;
    println!(
        "lambda-bench: table {} via counting proxy {}, simulator {}; {} runs x {} warm calls",
        world.table,
        world.dynamodb_url(),
        world.leanx_url(),
        args.runs,
        args.warm_per_run()
    );
    if args.init_only {
        return init_only(&args, &world).await;
    }
    let mut ledger = Ledger::new();
    let mut results: BTreeMap<&'static str, Measured> = BTreeMap::new();
    let mut burst_result = None;
    for op in [
        Op::Hello,
        Op::Create,
        Op::Callback,
        Op::Get,
        Op::List,
        Op::Reconcile,
        Op::Services,
        Op::Verify,
        Op::Balance,
    ] {
        if !args.selects(op.function()) {
            continue;
        }
        if op == Op::Reconcile && args.burst > 0 {
            // Before the reconciler: it must find nothing open (its measured tick is the idle one).
            burst_result = Some(burst(&args, &world, &mut ledger).await?);
        }
        let extra = if op == Op::Create { args.burst } else { 0 };
        let measured = measure(&args, &world, &mut ledger, op, extra).await?;
        report::print_function(op, &measured);
        results.insert(op.function(), measured);
    }
    let burst = burst_result;
    let events = if args.measures_events() {
        let measured = events::event_latency(&args, &world).await?;
        report::print_events(&measured);
        Some(measured)
    } else {
        None
    };
    for (name, measured) in &mut results {
        measured.zip = zip_size(&args.zip_dir, name);
    }
    if args.batch_items > 0 && !args.tls {
        for name in batch::FUNCTIONS {
            if !args.bin_dir.join(name).exists() {
                return Err(format!(
                    "{name} is missing: build the release binaries first"
                ));
            }
        }
        let figures = batch::run(&args, &world).await?;
        let section = batch::render(&figures);
        println!("\n{section}");
        if let Some(out) = &args.out {
            batch::write(out, &section)?;
        }
    }
    let report = report::render(
        &args,
        &results,
        burst.as_ref(),
        events.as_ref(),
        started.elapsed(),
    );
    println!("\n{report}");
    if let Some(out) = &args.out {
        report::write_report(out, &report, args.tls)?;
        println!("lambda-bench: wrote {}", out.display());
    }
    Ok(())
}
