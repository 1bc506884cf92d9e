//! What the emulator records per function: each process start and each invocation, with their
//! timings (the benchmark reads them, the tests check outcomes).

use std::time::{Duration, Instant};

/// One process start: `first_next_at - spawned_at` is the cold-start (init) duration.
#[derive(Debug, Clone)]
pub struct InitRecord {
    pub instance: usize,
    pub pid: Option<u32>,
    pub spawned_at: Instant,
    pub first_next_at: Option<Instant>,
}

impl InitRecord {
    pub fn init_duration(&self) -> Option<Duration> {
        self.first_next_at.map(|t| t - self.spawned_at)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvocationOutcome {
    Success,
    FunctionError,
    Crashed,
    Timeout,
}

#[derive(Debug, Clone)]
pub struct InvocationRecord {
    pub instance: usize,
    pub request_id: String,
    pub outcome: InvocationOutcome,
    /// When the invocation was asked for (before waiting for a free process or a cold start).
    pub queued_at: Instant,
    /// When the process took the event from `invocation/next`.
    pub handed_out_at: Option<Instant>,
    /// When the response/error was posted, or the crash/timeout noticed.
    pub finished_at: Instant,
}

impl InvocationRecord {
    /// Time inside the function: event handed out -> response posted.
    pub fn handler_duration(&self) -> Option<Duration> {
        self.handed_out_at.map(|t| self.finished_at - t)
    }

    /// What a caller waits: queueing, cold start if any, and the handler.
    pub fn total_duration(&self) -> Duration {
        self.finished_at - self.queued_at
    }
}

#[derive(Debug, Clone, Default)]
pub struct FunctionStats {
    pub inits: Vec<InitRecord>,
    pub invocations: Vec<InvocationRecord>,
}
