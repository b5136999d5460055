use super::*;
use firedrill::agent::schedule::JobSchedule;
use firedrill::agent::state::JobState;

fn job(schedule: &str, missed: Missed, jitter: Duration) -> Job {
    Job {
        name: "nightly".into(),
        kind: "backup",
        command: vec!["backup".into(), "/srv".into()],
        config: None,
        schedule: JobSchedule::parse(schedule, "UTC").unwrap(),
        jitter,
        missed,
    }
}

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn last(slot: &str) -> JobState {
    JobState {
        last_slot: Some(at(slot)),
        ..JobState::default()
    }
}

const HOUR: Duration = Duration::from_secs(3600);
const QUARTER: Duration = Duration::from_secs(900);

#[test]
fn a_job_never_seen_starts_counting_from_now() {
    let job = job("0 2 * * *", Missed::RunOnce, Duration::ZERO);
    let now = at("2026-11-29T10:00:00Z");
    assert_eq!(decide(&job, None, now, QUARTER), Decision::Baseline);
}

#[test]
fn waits_for_the_next_slot() {
    let job = job("0 2 * * *", Missed::RunOnce, Duration::ZERO);
    let state = last("2026-11-29T02:00:00Z");
    let decision = decide(&job, Some(&state), at("2026-11-29T10:00:00Z"), QUARTER);
    assert_eq!(
        decision,
        Decision::Wait {
            next: Some(at("2026-11-30T02:00:00Z"))
        }
    );
}

#[test]
fn runs_a_slot_that_just_came() {
    let job = job("0 2 * * *", Missed::Skip, Duration::ZERO);
    let state = last("2026-11-29T02:00:00Z");
    let decision = decide(&job, Some(&state), at("2026-11-30T02:00:05Z"), QUARTER);
    assert_eq!(
        decision,
        Decision::Run {
            slot: at("2026-11-30T02:00:00Z"),
            missed: None
        }
    );
}

#[test]
fn jitter_delays_the_run_and_is_the_same_every_time() {
    let job = job("0 2 * * *", Missed::RunOnce, HOUR);
    let state = last("2026-11-29T02:00:00Z");
    let slot = at("2026-11-30T02:00:00Z");
    let fires = fire_time(&job, slot);
    assert!(
        fires >= slot && fires < at("2026-11-30T03:00:00Z"),
        "{fires}"
    );
    assert_eq!(fires, fire_time(&job, slot));
    let just_before = fires
        .checked_sub(jiff::SignedDuration::from_secs(1))
        .unwrap();
    if just_before >= slot {
        assert_eq!(
            decide(&job, Some(&state), just_before, QUARTER),
            Decision::Wait { next: Some(fires) }
        );
    }
    assert!(matches!(
        decide(&job, Some(&state), fires, QUARTER),
        Decision::Run { missed: None, .. }
    ));
}

#[test]
fn slots_missed_while_down_run_once_under_run_once() {
    let job = job("0 2 * * *", Missed::RunOnce, Duration::ZERO);
    let state = last("2026-11-26T02:00:00Z");
    let now = at("2026-11-29T10:00:00Z");
    let Decision::Run {
        slot,
        missed: Some(missed),
    } = decide(&job, Some(&state), now, QUARTER)
    else {
        panic!("expected a run with a missed record");
    };
    assert_eq!(slot, at("2026-11-29T02:00:00Z"));
    assert_eq!(missed.slots, 3);
    assert_eq!(missed.oldest, at("2026-11-27T02:00:00Z"));
    assert_eq!(missed.policy, "run-once");
    assert_eq!(missed.noticed, now);
}

#[test]
fn slots_missed_while_down_are_recorded_and_not_run_under_skip() {
    let job = job("0 2 * * *", Missed::Skip, Duration::ZERO);
    let state = last("2026-11-27T02:00:00Z");
    let Decision::Skip { newest, missed } =
        decide(&job, Some(&state), at("2026-11-29T10:00:00Z"), QUARTER)
    else {
        panic!("expected a skip");
    };
    assert_eq!(newest, at("2026-11-29T02:00:00Z"));
    assert_eq!(missed.slots, 2);
    assert_eq!(missed.policy, "skip");
}

#[test]
fn a_slot_late_by_less_than_missed_after_is_not_missed() {
    let job = job("0 2 * * *", Missed::Skip, Duration::ZERO);
    let state = last("2026-11-28T02:00:00Z");
    assert!(matches!(
        decide(&job, Some(&state), at("2026-11-29T02:14:00Z"), QUARTER),
        Decision::Run { missed: None, .. }
    ));
    assert!(matches!(
        decide(&job, Some(&state), at("2026-11-29T02:16:00Z"), QUARTER),
        Decision::Skip { .. }
    ));
}

#[test]
fn a_schedule_that_has_ended_waits_forever() {
    let job = job("0 0 0 1 1 * 2020", Missed::RunOnce, Duration::ZERO);
    let state = last("2026-01-01T00:00:00Z");
    assert_eq!(
        decide(&job, Some(&state), at("2026-11-29T10:00:00Z"), QUARTER),
        Decision::Wait { next: None }
    );
}
