//! What is measured: per binary, `runs` process starts (init, the first invocation, the warm
//! ones with the process's own CPU clock), peak memory, and the DynamoDB and LeanX requests per
//! operation; and the callback function's throughput under a burst.

use std::path::Path;
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use lambda_emulator::Emulator;
use leanx_payouts::domain::{InvoiceRef, PayoutStatus};
use leanx_payouts::store::PayoutStore;
use serde_json::json;

use crate::BenchResult;
use crate::args::Args;
use crate::procfs;
use crate::proxy::{self, Counts};
use crate::report::mib;
use crate::stats::{median, median_u64, ms, percentile};
use crate::world::{BASELINE, Ledger, Op, World};

/// One process start of one function.
#[derive(Default)]
pub struct Run {
    pub init: Duration,
    pub init_cpu: Duration,
    pub first: Duration,
    pub first_cpu: Duration,
    pub warm_handler: Vec<Duration>,
    pub warm_cpu: Vec<Duration>,
    pub peak_rss: u64,
}

/// Everything measured for one function.
#[derive(Default)]
pub struct Measured {
    pub runs: Vec<Run>,
    pub ops: u64,
    pub dynamodb: Counts,
    pub leanx: Counts,
    pub zip: Option<u64>,
}

impl Measured {
    pub fn inits(&self) -> Vec<Duration> {
        self.runs.iter().map(|r| r.init).collect()
    }
    pub fn warm_handler(&self) -> Vec<Duration> {
        self.runs
            .iter()
            .flat_map(|r| r.warm_handler.clone())
            .collect()
    }
    pub fn warm_cpu(&self) -> Vec<Duration> {
        self.runs.iter().flat_map(|r| r.warm_cpu.clone()).collect()
    }
    pub fn per_op(&self, total: u64) -> f64 {
        if self.ops == 0 {
            0.0
        } else {
            total as f64 / self.ops as f64
        }
    }
}

/// `runs` process starts of one function; in each: init, the first invocation, then the warm
/// ones with the process's CPU clock read between invocations. `extra` more operations follow
/// the last run, unmeasured (the payouts for the burst).
pub async fn measure(
    args: &Args,
    world: &World,
    ledger: &mut Ledger,
    op: Op,
    extra: usize,
) -> BenchResult<Measured> {
    let name = op.function();
    let emulator = world.emulator(args, name, 1).await?;
    let mut measured = Measured::default();
    let warm = args.warm_per_run();
    prime(&emulator, name).await?;
    for run in 0..args.runs {
        emulator.kill(name).await.map_err(|e| e.to_string())?;
        emulator
            .wait_ready(name, Duration::from_secs(30))
            .await
            .map_err(|e| e.to_string())?;
        let pid = emulator.pid(name).ok_or("no process")?;
        let stats = emulator.stats(name).map_err(|e| e.to_string())?;
        let init = stats
            .inits
            .last()
            .and_then(|i| i.init_duration())
            .ok_or("no init record")?;
        let cpu = || procfs::cpu_time(pid).unwrap_or_default();
        let init_cpu = cpu();

        let (before, leanx_before) = world.counts().await?;
        world.op(&emulator, ledger, op).await?;
        let mut marks = vec![cpu()];
        for _ in 0..warm {
            world.op(&emulator, ledger, op).await?;
            marks.push(cpu());
        }
        // The tail of the last invocation (posting its answer, polling for the next event).
        tokio::time::sleep(Duration::from_millis(20)).await;
        if let Some(last) = marks.last_mut() {
            *last = cpu();
        }
        let (after, leanx_after) = world.counts().await?;
        add(&mut measured.dynamodb, &proxy::diff(&after, &before));
        add(
            &mut measured.leanx,
            &proxy::diff(&leanx_after, &leanx_before),
        );
        measured.ops += 1 + warm as u64;

        let invocations = emulator.stats(name).map_err(|e| e.to_string())?.invocations;
        let mine = &invocations[invocations.len().saturating_sub(warm + 1)..];
        let handler: Vec<Duration> = mine
            .iter()
            .map(|i| i.handler_duration().unwrap_or_default())
            .collect();
        let peak_rss = procfs::status_bytes(pid, "VmHWM").unwrap_or(0);
        measured.runs.push(Run {
            init,
            init_cpu,
            first: handler[0],
            first_cpu: marks[0].saturating_sub(init_cpu),
            warm_handler: handler[1..].to_vec(),
            warm_cpu: marks
                .windows(2)
                .map(|w| w[1].saturating_sub(w[0]))
                .collect(),
            peak_rss,
        });
        println!(
            "  {name} run {}: init {:.2} ms, first {:.2} ms, warm p50 {:.3} ms, own CPU p50 {:.3} ms, peak RSS {:.1} MiB",
            run + 1,
            ms(init),
            ms(handler[0]),
            ms(median(&handler[1..])),
            ms(median(&measured.runs[run].warm_cpu)),
            mib(peak_rss)
        );
    }
    for _ in 0..extra {
        world.op(&emulator, ledger, op).await?;
    }
    emulator.shutdown().await;
    Ok(measured)
}

/// One unmeasured process start (the emulator's prewarm): the first start after a build pays
/// for reading the fresh binary into the page cache, which says nothing about the function.
async fn prime(emulator: &Emulator, name: &str) -> BenchResult<()> {
    emulator
        .wait_ready(name, Duration::from_secs(30))
        .await
        .map_err(|e| e.to_string())
}

/// Init and the resident set right after it, `runs` process starts per binary, nothing invoked.
pub async fn init_only(args: &Args, world: &World) -> BenchResult<()> {
    let mut base = None;
    for name in std::iter::once(BASELINE).chain(Op::MEASURED.map(Op::function)) {
        if !args.selects(name) {
            continue;
        }
        let emulator = world.emulator(args, name, 1).await?;
        let (mut inits, mut cpus, mut rss) = (Vec::new(), Vec::new(), Vec::new());
        prime(&emulator, name).await?;
        for _ in 0..args.runs {
            emulator.kill(name).await.map_err(|e| e.to_string())?;
            emulator
                .wait_ready(name, Duration::from_secs(30))
                .await
                .map_err(|e| e.to_string())?;
            let pid = emulator.pid(name).ok_or("no process")?;
            let stats = emulator.stats(name).map_err(|e| e.to_string())?;
            inits.push(
                stats
                    .inits
                    .last()
                    .and_then(|i| i.init_duration())
                    .ok_or("no init")?,
            );
            cpus.push(procfs::cpu_time(pid).unwrap_or_default());
            rss.push(procfs::status_bytes(pid, "VmHWM").unwrap_or(0));
        }
        emulator.shutdown().await;
        let init = ms(median(&inits));
        let base_init = *base.get_or_insert(init);
        println!(
            "{name}: init median {init:.2} ms ({:.2}x), init CPU {:.2} ms, RSS after init {:.1} MiB; runs {:?}",
            init / base_init,
            ms(median(&cpus)),
            mib(median_u64(&rss)),
            inits
                .iter()
                .map(|d| format!("{:.2}", ms(*d)))
                .collect::<Vec<_>>()
        );
    }
    Ok(())
}

fn add(total: &mut Counts, more: &Counts) {
    for (k, v) in more {
        *total.entry(k.clone()).or_insert(0) += v;
    }
}

pub struct Burst {
    pub callbacks: usize,
    pub instances: usize,
    pub concurrency: usize,
    pub elapsed: Duration,
    pub errors: usize,
    pub succeeded: usize,
    pub lost: Vec<String>,
    pub writes: u64,
    pub reads: u64,
    pub p50: Duration,
    pub p99: Duration,
}

/// The callback function under a burst of distinct payouts' callbacks, `burst_instances`
/// execution environments, warmed first; then every payout is read back.
pub async fn burst(args: &Args, world: &World, ledger: &mut Ledger) -> BenchResult<Burst> {
    let name = "leanx-callback";
    let targets: Vec<(String, String)> = ledger.created[ledger.next_callback..]
        .iter()
        .take(args.burst)
        .cloned()
        .collect();
    if targets.len() < args.burst {
        return Err("not enough payouts created for the burst".into());
    }
    ledger.next_callback += targets.len();
    let emulator = world.emulator(args, name, args.burst_instances).await?;
    emulator
        .wait_ready(name, Duration::from_secs(30))
        .await
        .map_err(|e| e.to_string())?;
    let tokens: Vec<String> = targets
        .iter()
        .map(|(r, n)| Ok(json!({ "data": world.token(r, n)? }).to_string()))
        .collect::<BenchResult<_>>()?;
    let concurrency = args.burst_instances * 4;
    let (before, _) = world.counts().await?;
    let front = world.callback_url(&emulator)?;
    let started = Instant::now();
    let answers: Vec<(u16, Duration)> = futures::stream::iter(tokens)
        .map(|body| {
            let request = world
                .http
                .post(&front)
                .header("content-type", "application/json")
                .body(body);
            async move {
                let t = Instant::now();
                let status = match request.send().await {
                    Ok(r) => {
                        let status = r.status().as_u16();
                        let _ = r.bytes().await;
                        status
                    }
                    Err(_) => 0,
                };
                (status, t.elapsed())
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let elapsed = started.elapsed();
    let (after, _) = world.counts().await?;
    let counts = proxy::diff(&after, &before);
    let errors = answers.iter().filter(|(s, _)| *s != 200).count();
    let latencies: Vec<Duration> = answers.iter().map(|(_, d)| *d).collect();
    emulator.shutdown().await;

    let mut lost = Vec::new();
    let mut succeeded = 0;
    for (external_ref, _) in &targets {
        let parsed = InvoiceRef::parse(external_ref).map_err(|e| e.to_string())?;
        let payout = world
            .store
            .get(&parsed)
            .await
            .map_err(|e| format!("reading back {external_ref}: {e}"))?;
        match payout {
            Some(p)
                if p.status == PayoutStatus::Succeeded
                    && p.history.last().is_some_and(|h| {
                        h.from == Some(PayoutStatus::Processing) && h.to == PayoutStatus::Succeeded
                    }) =>
            {
                succeeded += 1;
                ledger.finals.push(external_ref.clone());
            }
            _ => lost.push(external_ref.clone()),
        }
    }
    Ok(Burst {
        callbacks: targets.len(),
        instances: args.burst_instances,
        concurrency,
        elapsed,
        errors,
        succeeded,
        lost,
        writes: proxy::writes(&counts),
        reads: proxy::reads(&counts),
        p50: median(&latencies),
        p99: percentile(&latencies, 99.0),
    })
}

/// `target/lambda/<name>/bootstrap.zip`, as `cargo lambda build --release --arm64
/// --output-format zip` leaves it.
pub fn zip_size(zip_dir: &Path, name: &str) -> Option<u64> {
    std::fs::metadata(zip_dir.join(name).join("bootstrap.zip"))
        .ok()
        .map(|m| m.len())
}
