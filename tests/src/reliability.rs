//! Shared checks for the reliability tests (crash points, fault matrix, model, load): what
//! "never lost, never sent twice, never misreported" means for one payout, a merchant client
//! that retries as API.md tells it to, and the generated sections of `docs/reliability.md`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use leanx_payouts::domain::{Payout, PayoutStatus};
use leanx_payouts::store::{PayoutStore, SaveOutcome};
use serde_json::Value;

use crate::stack::{Answer, Stack};

/// The history of a payout is consistent: it starts with its creation (PENDING), every entry
/// starts where the previous one ended, every step is a forward transition, no transition is
/// recorded twice, and the last entry is the current status.
pub fn check_history(payout: &Payout) -> Result<(), String> {
    let history = &payout.history;
    let first = history.first().ok_or("empty history")?;
    if first.from.is_some() || first.to != PayoutStatus::Pending {
        return Err(format!("history does not start with creation: {first:?}"));
    }
    for pair in history.windows(2) {
        let (previous, entry) = (&pair[0], &pair[1]);
        if entry.from != Some(previous.to) {
            return Err(format!("entry {entry:?} does not follow {previous:?}"));
        }
        if !previous.to.can_move_to(entry.to) {
            return Err(format!("backward or repeated step {entry:?}"));
        }
    }
    let last = history.last().map(|h| h.to);
    if last != Some(payout.status) {
        return Err(format!(
            "status {} but history ends at {last:?}",
            payout.status
        ));
    }
    Ok(())
}

/// A status only moves forward: `before` → `after` is staying put or a transition.
pub fn moved_forward(before: PayoutStatus, after: PayoutStatus) -> bool {
    before == after || before.can_move_to(after)
}

/// What LeanX (the simulator) holds for a ref: `None` when it never recorded a payout.
pub async fn leanx_status(stack: &Stack, external_ref: &str) -> Option<String> {
    stack
        .sim()
        .payout(external_ref)
        .await
        .expect("simulator answers")
        .map(|p| p.transaction_status)
}

/// How the payout ended relative to LeanX's truth, as one short word for the tables.
pub fn outcome_label(payout: &Payout) -> String {
    match (&payout.status, &payout.failure) {
        (PayoutStatus::Failed, Some(failure)) => format!("FAILED {}", failure.code),
        (status, _) => status.to_string(),
    }
}

/// Checks the payout against LeanX's truth: settled as LeanX settled it, or FAILED
/// `not_received_by_provider` (or refused, `leanx_<code>`) where LeanX holds no payout.
pub async fn check_matches_leanx(stack: &Stack, payout: &Payout) -> Result<(), String> {
    let external_ref = payout.external_invoice_ref.as_str();
    let leanx = leanx_status(stack, external_ref).await;
    let ok = match leanx.as_deref() {
        Some("SUCCESS") => payout.status == PayoutStatus::Succeeded,
        Some("FAILED") => {
            payout.status == PayoutStatus::Failed
                && payout
                    .failure
                    .as_ref()
                    .is_some_and(|f| f.code == "leanx_failed")
        }
        Some(_) => !payout.status.is_final(),
        None => {
            payout.status == PayoutStatus::Failed
                && payout.failure.as_ref().is_some_and(|f| {
                    f.code == leanx_payouts::domain::payout::NOT_RECEIVED_BY_PROVIDER
                        || f.code.starts_with("leanx_") && f.code != "leanx_failed"
                })
        }
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{external_ref}: stored {} but LeanX holds {leanx:?}",
            outcome_label(payout)
        ))
    }
}

/// Sends requests at most once to LeanX per ref: the simulator's count of creates for it.
pub async fn creates_for(stack: &Stack, external_ref: &str) -> u64 {
    stack
        .sim()
        .create_calls_for_ref(external_ref)
        .await
        .expect("simulator answers")
}

/// Makes an open payout due for the reconciler now (as if its next check had come), by a
/// conditional write like any other: a lost race re-reads and tries again.
pub async fn make_due(stack: &Stack, external_ref: &str) {
    for _ in 0..8 {
        let Some(current) = stack.stored(external_ref).await else {
            return;
        };
        if current.status.is_final() {
            return;
        }
        let mut due = current.clone();
        due.version += 1;
        due.next_check_at = Some(chrono::Utc::now() - chrono::Duration::seconds(1));
        match stack
            .store
            .save(&current, &due)
            .await
            .expect("store answers")
        {
            SaveOutcome::Saved => return,
            SaveOutcome::Stale(_) => continue,
        }
    }
}

/// A merchant client as API.md asks it to behave: on 409 `request_in_progress` or 503 it waits
/// (`Retry-After`, at most `max_wait`) and sends the same request again; on 502/504 (the
/// function died or timed out) it retries too. Returns every answer, the last one final
/// (2xx, or any other error), within `limit`.
pub async fn create_with_retries(
    stack: &Stack,
    body: &Value,
    limit: Duration,
    max_wait: Duration,
) -> Vec<Answer> {
    let started = Instant::now();
    let mut answers = Vec::new();
    for _ in 0..200 {
        let answer = stack.create(body).await;
        let again = matches!(answer.status, 409 | 502 | 503 | 504)
            && answer.error_code() != Some("idempotency_conflict");
        let wait = answer
            .header("retry-after")
            .and_then(|v| v.parse::<u64>().ok())
            .map(Duration::from_secs)
            .unwrap_or(Duration::from_millis(200))
            .min(max_wait);
        answers.push(answer);
        if !again || started.elapsed() > limit {
            break;
        }
        tokio::time::sleep(wait).await;
    }
    answers
}

/// Runs reconciler passes (making the ref due before each, a quarter second apart) until the
/// payout is final or `limit` has passed; the reconciler's own failures (e.g. the store away)
/// count as passes. Returns the payout and the passes run.
pub async fn reconcile_until_final(
    stack: &Stack,
    external_ref: &str,
    limit: Duration,
) -> (Payout, usize) {
    let started = Instant::now();
    let mut passes = 0;
    for _ in 0..1_000 {
        let payout = stack.stored(external_ref).await.expect("payout stored");
        if payout.status.is_final() || started.elapsed() > limit {
            return (payout, passes);
        }
        make_due(stack, external_ref).await;
        let _ = try_reconcile(stack).await;
        passes += 1;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    (
        stack.stored(external_ref).await.expect("payout stored"),
        passes,
    )
}

/// One reconciler run; `Err` with the reason when the function failed (crash, store away).
pub async fn try_reconcile(stack: &Stack) -> Result<Value, String> {
    stack
        .emulator
        .invoke_raw(
            "reconcile-payouts",
            lambda_emulator::scheduled_event("reconcile-payouts-every-minute"),
        )
        .await
        .map_err(|e| e.to_string())
}

/// Waits until `stderr` of `function` shows `needle` (e.g. a pause point), up to `limit`.
pub async fn wait_for_log(stack: &Stack, function: &str, needle: &str, limit: Duration) -> bool {
    let started = Instant::now();
    while started.elapsed() < limit {
        if stack
            .emulator
            .logs(function)
            .iter()
            .any(|l| l.contains(needle))
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    false
}

/// `docs/reliability.md` in the repository.
pub fn doc_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/reliability.md")
}

/// Replaces the generated section `name` of `docs/reliability.md` (between
/// `<!-- BEGIN GENERATED name -->` and `<!-- END GENERATED name -->`), leaving the rest as is.
pub fn write_doc_section(name: &str, content: &str) {
    let path = doc_path();
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let begin = format!("<!-- BEGIN GENERATED {name} -->");
    let end = format!("<!-- END GENERATED {name} -->");
    let section = format!("{begin}\n{}\n{end}", content.trim_end());
    let updated = match (text.find(&begin), text.find(&end)) {
        (Some(b), Some(e)) if e > b => {
            format!("{}{section}{}", &text[..b], &text[e + end.len()..])
        }
        _ => format!("{}\n\n{section}\n", text.trim_end()),
    };
    if updated != text {
        std::fs::write(&path, updated)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    }
}
