use super::*;
use PayoutStatus::*;

fn payout(status: PayoutStatus) -> Payout {
    sample_payout(status)
}

#[test]
fn allowed_transitions_are_exactly_the_forward_ones() {
    let allowed = [
        (Pending, Processing),
        (Pending, Succeeded),
        (Pending, Failed),
        (Processing, Succeeded),
        (Processing, Failed),
    ];
    for from in PayoutStatus::ALL {
        for to in PayoutStatus::ALL {
            assert_eq!(
                from.can_move_to(to),
                allowed.contains(&(from, to)),
                "{from} -> {to}"
            );
        }
    }
}

#[test]
fn apply_records_history_and_stops_checks_once_final() {
    let p = payout(Pending);
    let now = p.created_at + Duration::seconds(1);
    let callback = crate::domain::PayoutEvent::CallbackSucceeded {
        invoice_no: "PAYOUT-1".into(),
    };
    let crate::domain::Decision::Move(change) = crate::domain::decide(&p, &callback) else {
        panic!()
    };
    let next = p.apply(&change, now);
    assert_eq!(next.status, Succeeded);
    assert_eq!(next.version, p.version + 1);
    assert_eq!(next.next_check_at, None);
    assert_eq!(next.history.len(), 2);
    assert_eq!(next.history[1].from, Some(Pending));
    assert_eq!(next.history[1].to, Succeeded);
}

#[test]
fn start_send_is_a_recovery_point_checked_after_the_grace() {
    let p = payout(Pending);
    let next = p.start_send(p.created_at, Duration::seconds(60));
    assert_eq!(next.send_state, SendState::Started);
    assert_eq!(
        next.next_check_at,
        Some(p.created_at + Duration::seconds(60))
    );
    assert_eq!(next.status, Pending);
}

#[test]
fn an_unsent_payout_is_released_for_the_retry_to_take_over() {
    let p = payout(Pending).start_send(sample_payout(Pending).created_at, Duration::seconds(30));
    let now = p.created_at + Duration::seconds(1);
    let released = p.release_unsent(now, Duration::seconds(900));
    assert_eq!(released.send_state, SendState::NotStarted);
    assert_eq!(released.send_started_at, None);
    assert_eq!(released.claim_expires_at, now);
    assert_eq!(released.version, p.version + 1);
    assert_eq!(released.status, Pending);
}

fn rule() -> NotReceivedRule {
    NotReceivedRule {
        grace_period: Duration::seconds(900),
        lookups_required: 3,
        lookup_spacing: Duration::seconds(60),
    }
}

fn sent() -> Payout {
    let p = payout(Pending);
    p.start_send(p.created_at, Duration::seconds(30))
}

#[test]
fn one_not_found_answer_is_never_enough() {
    let p = sent();
    let later = p.created_at + Duration::hours(2);
    let once = p.not_found_by_leanx(later, &rule());
    assert_eq!(once.not_found_lookups, 1);
    assert!(!once.not_received_is_due(later + Duration::hours(1), &rule()));
}

#[test]
fn not_found_answers_closer_than_the_spacing_count_once() {
    let p = sent();
    let t = p.created_at;
    let a = p.not_found_by_leanx(t, &rule());
    let b = a.not_found_by_leanx(t + Duration::seconds(10), &rule());
    assert_eq!(b.not_found_lookups, 1);
    let c = b.not_found_by_leanx(t + Duration::seconds(60), &rule());
    assert_eq!(c.not_found_lookups, 2);
}

#[test]
fn enough_not_found_answers_must_also_span_the_grace_period() {
    let p = sent();
    let t = p.created_at;
    let mut q = p.clone();
    for i in 0..3 {
        q = q.not_found_by_leanx(t + Duration::seconds(60 * i), &rule());
    }
    assert_eq!(q.not_found_lookups, 3);
    assert!(!q.not_received_is_due(t + Duration::seconds(899), &rule()));
    assert!(q.not_received_is_due(t + Duration::seconds(900), &rule()));
}

#[test]
fn a_processing_payout_is_never_due_for_not_received() {
    let mut q = sent();
    let t = q.created_at;
    for i in 0..5 {
        q = q.not_found_by_leanx(t + Duration::seconds(300 * i), &rule());
    }
    q.status = Processing;
    assert!(!q.not_received_is_due(t + Duration::hours(3), &rule()));
}

#[test]
fn a_not_found_check_is_never_scheduled_past_the_verdict_deadline() {
    let p = sent();
    let t = p.created_at;
    let mut q = p.clone();
    q.check_attempts = 20; // a long back-off
    let next = q.not_found_by_leanx(t, &rule());
    assert_eq!(next.next_check_at, Some(t + Duration::seconds(600)));
    // Near the deadline the next answer must still count: one spacing later.
    let near = next.not_found_by_leanx(t + Duration::seconds(880), &rule());
    assert_eq!(near.next_check_at, Some(t + Duration::seconds(940)));
}

#[test]
fn checks_are_never_scheduled_past_the_grace_deadline() {
    let p = payout(Pending);
    let deadline = p.created_at + Duration::seconds(10);
    let next = p.rescheduled_check(p.created_at, Some(deadline));
    assert_eq!(next.next_check_at, Some(deadline));
    let late = p.rescheduled_check(deadline + Duration::seconds(1), Some(deadline));
    assert_eq!(late.next_check_at, Some(deadline + Duration::seconds(61)));
}

#[test]
fn rescheduled_checks_back_off() {
    let p = payout(Processing);
    let once = p.rescheduled_check(p.created_at, None);
    let twice = once.rescheduled_check(p.created_at, None);
    assert_eq!(twice.check_attempts, 2);
    assert_eq!(
        twice.next_check_at,
        Some(p.created_at + Duration::seconds(120))
    );
}

#[test]
fn back_off_doubles_and_caps_at_ten_minutes() {
    assert_eq!(next_check_delay(0), Duration::seconds(30));
    assert_eq!(next_check_delay(1), Duration::seconds(60));
    assert_eq!(next_check_delay(4), Duration::seconds(480));
    assert_eq!(next_check_delay(5), Duration::seconds(600));
    assert_eq!(next_check_delay(u32::MAX), Duration::seconds(600));
}
