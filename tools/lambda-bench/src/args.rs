//! The command line (`lambda-bench --help`); every flag can also come from the environment.

use std::path::{Path, PathBuf};

use clap::{Parser, ValueEnum};

#[derive(Parser, Debug)]
#[command(
    name = "lambda-bench",
    about = "Benchmarks the release function binaries against a hello-world baseline under the Lambda emulator.",
    after_help = "--warm is the total number of warm invocations per function, spread over the runs (process starts)."
)]
pub struct Args {
    /// Where the release binaries are (this program's own directory: target/release)
    #[arg(long, env = "BENCH_BIN_DIR", default_value_os_t = exe_dir())]
    pub bin_dir: PathBuf,
    /// Where `cargo lambda build --output-format zip` left the packages
    #[arg(long, env = "BENCH_ZIP_DIR", default_value_os_t = exe_dir().parent().unwrap_or(Path::new("")).join("lambda"))]
    pub zip_dir: PathBuf,
    /// What the packages in --zip-dir were built for: `arm64` (what the stack deploys), or
    /// `x86-64` when `make bench` could not install the aarch64 standard library and zipped the
    /// x86_64 release binaries instead, as a proxy for the size.
    #[arg(long, env = "BENCH_ZIP_ARCH", value_enum, default_value_t = ZipArch::Arm64)]
    pub zip_arch: ZipArch,
    /// Write the report into this file, between its generated-section markers (docs/benchmarks.md).
    #[arg(long, env = "BENCH_OUT")]
    pub out: Option<PathBuf>,
    /// Measured process starts per binary (at least 1).
    #[arg(long, env = "BENCH_RUNS", default_value_t = 7)]
    pub runs: usize,
    /// Warm invocations per binary in all (at least 1).
    #[arg(long, env = "BENCH_WARM", default_value_t = 1000)]
    pub warm: usize,
    /// Callbacks in the throughput burst (0 skips it).
    #[arg(long, env = "BENCH_BURST", default_value_t = 1000)]
    pub burst: usize,
    /// Execution environments of the callback function during the burst (at least 1).
    #[arg(long, env = "BENCH_BURST_INSTANCES", default_value_t = 4)]
    pub burst_instances: usize,
    /// Payouts sent through the event pipeline (create, then LeanX's success callback: three
    /// status changes each) to measure status change -> merchant endpoint; 0 skips it. Not in
    /// the --tls run.
    #[arg(long, env = "BENCH_EVENTS", default_value_t = 50)]
    pub events: usize,
    /// The command the report says produced it.
    #[arg(long, env = "BENCH_COMMAND", default_value = "make bench")]
    pub command: String,
    /// Only start each binary `runs` times and report init (quick lever experiments).
    #[arg(long, env = "BENCH_INIT_ONLY")]
    pub init_only: bool,
    /// HTTPS on the DynamoDB and LeanX legs: loopback TLS terminators with a certificate
    /// authority made at run time, trusted by the functions through PAYOUTS_EXTRA_ROOT_CA_FILE.
    /// The report goes into its own section of --out.
    #[arg(long, env = "BENCH_TLS")]
    pub tls: bool,
    /// Items of the batch run (0 skips it): one batch accepted, sent and settled.
    #[arg(long, env = "BENCH_BATCH_ITEMS", default_value_t = 5000)]
    pub batch_items: usize,
    /// `BATCH_SEND_RATE` of the batch run (sends per second in all).
    #[arg(long, env = "BENCH_BATCH_RATE", default_value_t = 25)]
    pub batch_rate: u32,
    /// `send-batch-items` at once in the batch run (the queue mapping's maximum concurrency).
    #[arg(long, env = "BENCH_BATCH_CONCURRENCY", default_value_t = 2)]
    pub batch_concurrency: u32,
    /// Measure only these functions (comma-separated names) beside the baseline, for quick lever
    /// experiments; `leanx-callback` needs `create-payout` (its payouts come
    /// from it; `get-payout` also needs `leanx-callback`, which makes them final; the burst runs
    /// only with `reconcile-payouts`). Empty: every function.
    #[arg(long, env = "BENCH_ONLY", value_delimiter = ',')]
    pub only: Vec<String>,
    /// The local DynamoDB (`scripts/with-local-dynamodb.sh` sets it).
    #[arg(long, env = "AWS_ENDPOINT_URL_DYNAMODB")]
    pub dynamodb_endpoint: String,
}

impl Args {
    /// The command line, with the counts that must be positive raised to 1.
    pub fn parse() -> Args {
        let mut args = <Args as Parser>::parse();
        args.runs = args.runs.max(1);
        args.warm = args.warm.max(1);
        args.burst_instances = args.burst_instances.max(1);
        args
    }

    /// The event pipeline's phase runs in the plain run only (the --tls run measures TLS).
    pub fn measures_events(&self) -> bool {
        self.events > 0 && !self.tls && !self.init_only
    }

    /// Whether `--only` leaves this function in (the baseline always is).
    pub fn selects(&self, function: &str) -> bool {
        self.only.is_empty()
            || function == crate::world::BASELINE
            || self.only.iter().any(|f| f == function)
    }

    pub fn warm_per_run(&self) -> usize {
        self.warm.div_ceil(self.runs)
    }
}

/// `target/release` when run from there: where the release binaries are.
fn exe_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
        .unwrap_or_default()
}

/// The architecture of the zipped packages the report gives the size of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ZipArch {
    Arm64,
    #[value(name = "x86-64")]
    X86_64,
}

impl ZipArch {
    /// The report's row for the package size.
    pub fn row_label(self) -> &'static str {
        match self {
            ZipArch::Arm64 => "zipped arm64 package",
            ZipArch::X86_64 => "zipped package (x86_64 release binary: arm64 not built here)",
        }
    }
}
