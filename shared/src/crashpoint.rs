//! Crash and pause points for the reliability tests (`tests/tests/crash_points.rs`,
//! `tests/tests/fault_matrix.rs`): named places on the money path where a test can make the
//! real function process die, or stop for a while, at an exact step.
//!
//! **Inert unless configured.** The environment is read once, on the first call; with none of
//! the variables below set, [`reached`] does nothing (one `OnceLock` read). Production never sets
//! them.
//!
//! - `PAYOUTS_CRASH_POINT=<name>`: when the code reaches the point `<name>`, the process writes
//!   one line to stderr and aborts at once (`std::process::abort`: no destructor, no pending
//!   write, no answer to the runtime: the same as a SIGKILL for everything outside the process).
//! - `PAYOUTS_CRASH_ONCE=<file>`: with a crash point, fire only once across restarts of the
//!   function: the crash happens only if this file can be created (it did not exist yet), so the
//!   next process of the same function runs normally.
//! - `PAYOUTS_PAUSE_POINT=<name>:<milliseconds>`: at the point `<name>`, write one line to stderr
//!   (`payouts pause point <name> reached`) and block that long, so a test can take a dependency
//!   away (e.g. DynamoDB) at that exact step.
//!
//! The points, in the order a request meets them:
//!
//! | point | where |
//! |---|---|
//! | `create_after_claim` | `create_payout`: the claim (PENDING, send not started) is written |
//! | `create_after_send_marked` | the recovery point "send started" is written; the request has not left |
//! | `create_after_send_answered` | LeanX answered (or the send failed); nothing recorded yet |
//! | `create_after_answer_recorded` | the answer is recorded; the HTTP answer is not sent |
//! | `callback_before_update` | `take_callback`: verified and matched, the status not yet written |
//! | `callback_after_update` | the status change is written; LeanX has no answer yet |
//! | `reconcile_before_update` | `check_with_leanx`: LeanX answered the lookup, nothing written |
//! | `reconcile_after_update` | the lookup's result is written |
//! | `reconcile_before_verdict` | the reconciler judged a payout not received; the verdict is not yet written |
//! | `accept_batch_half_recorded` | `accept_batch`: half of the batch's items are recorded and queued; the batch is still accepting |
//! | `publish_after_first_put` | `publish-events`: the first PutEvents of a stream batch answered; the rest not sent |

use std::io::Write as _;
use std::sync::OnceLock;

struct Plan {
    crash: Option<String>,
    crash_once: Option<String>,
    pause: Option<(String, u64)>,
}

fn plan() -> &'static Plan {
    static PLAN: OnceLock<Plan> = OnceLock::new();
    PLAN.get_or_init(|| {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        Plan {
            crash: var("PAYOUTS_CRASH_POINT"),
            crash_once: var("PAYOUTS_CRASH_ONCE"),
            pause: var("PAYOUTS_PAUSE_POINT").and_then(|v| {
                let (name, ms) = v.rsplit_once(':')?;
                Some((name.to_owned(), ms.trim().parse().ok()?))
            }),
        }
    })
}

/// A named place on the money path. An enum, so that a misspelt point cannot compile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrashPoint {
    CreateAfterClaim,
    CreateAfterSendMarked,
    CreateAfterSendAnswered,
    CreateAfterAnswerRecorded,
    CallbackBeforeUpdate,
    CallbackAfterUpdate,
    ReconcileBeforeUpdate,
    ReconcileAfterUpdate,
    ReconcileBeforeVerdict,
    PublishAfterFirstPut,
    AcceptBatchHalfRecorded,
}

impl CrashPoint {
    pub const ALL: [CrashPoint; 11] = [
        CrashPoint::CreateAfterClaim,
        CrashPoint::CreateAfterSendMarked,
        CrashPoint::CreateAfterSendAnswered,
        CrashPoint::CreateAfterAnswerRecorded,
        CrashPoint::CallbackBeforeUpdate,
        CrashPoint::CallbackAfterUpdate,
        CrashPoint::ReconcileBeforeUpdate,
        CrashPoint::ReconcileAfterUpdate,
        CrashPoint::ReconcileBeforeVerdict,
        CrashPoint::PublishAfterFirstPut,
        CrashPoint::AcceptBatchHalfRecorded,
    ];

    /// The name the environment variables use.
    pub const fn name(self) -> &'static str {
        match self {
            CrashPoint::CreateAfterClaim => "create_after_claim",
            CrashPoint::CreateAfterSendMarked => "create_after_send_marked",
            CrashPoint::CreateAfterSendAnswered => "create_after_send_answered",
            CrashPoint::CreateAfterAnswerRecorded => "create_after_answer_recorded",
            CrashPoint::CallbackBeforeUpdate => "callback_before_update",
            CrashPoint::CallbackAfterUpdate => "callback_after_update",
            CrashPoint::ReconcileBeforeUpdate => "reconcile_before_update",
            CrashPoint::ReconcileAfterUpdate => "reconcile_after_update",
            CrashPoint::ReconcileBeforeVerdict => "reconcile_before_verdict",
            CrashPoint::PublishAfterFirstPut => "publish_after_first_put",
            CrashPoint::AcceptBatchHalfRecorded => "accept_batch_half_recorded",
        }
    }
}

/// Marks the point on the money path: crashes or pauses here if a test asked for it.
pub fn reached(point: CrashPoint) {
    let name = point.name();
    let plan = plan();
    if let Some((point, ms)) = &plan.pause
        && point == name
    {
        say(&format!("payouts pause point {name} reached"));
        std::thread::sleep(std::time::Duration::from_millis(*ms));
    }
    if plan.crash.as_deref() != Some(name) {
        return;
    }
    if let Some(marker) = &plan.crash_once {
        let first = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(marker)
            .is_ok();
        if !first {
            return;
        }
    }
    say(&format!("payouts crash point {name} reached; aborting"));
    std::process::abort();
}

fn say(line: &str) {
    let _ = std::io::stdout().flush();
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{line}");
    let _ = err.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unset_point_does_nothing() {
        // The test process sets none of the variables: reaching any point returns.
        for point in CrashPoint::ALL {
            reached(point);
        }
    }

    #[test]
    fn point_names_are_distinct() {
        let mut names: Vec<_> = CrashPoint::ALL.iter().map(|p| p.name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), CrashPoint::ALL.len());
    }
}
