use super::*;
use crate::cli::commands::agent::settings::Missed;
use firedrill::agent::schedule::JobSchedule;
use std::time::Duration;

fn every_minute() -> Job {
    Job {
        name: "j".into(),
        kind: "verify",
        command: vec!["verify".into()],
        config: None,
        schedule: JobSchedule::parse("* * * * *", "UTC").unwrap(),
        jitter: Duration::ZERO,
        missed: Missed::RunOnce,
    }
}

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn ended(outcome: Outcome) -> RunResult {
    RunResult {
        outcome,
        exit_code: Some(0),
        seconds: 1.0,
        summary: None,
        error: None,
    }
}

fn after_run(slot: Option<&str>, start: &str, end: &str, outcome: Outcome) -> JobState {
    let job = every_minute();
    let mut state = AgentState::new();
    baseline(&mut state, &job, at("2026-11-29T09:59:30Z"));
    started(&mut state, &job, slot.map(at), None, at(start));
    finished(&mut state, &job, &ended(outcome), Some(7), at(end));
    state.jobs["j"].clone()
}

#[test]
fn slots_that_come_during_a_run_are_dropped_and_counted() {
    let job = after_run(
        Some("2026-11-29T10:00:00Z"),
        "2026-11-29T10:00:00Z",
        "2026-11-29T10:03:30Z",
        Outcome::Success,
    );
    assert_eq!(job.overlap_skipped_total, 3);
    assert_eq!(job.last_slot, Some(at("2026-11-29T10:03:00Z")));
    assert_eq!(job.next_due, Some(at("2026-11-29T10:04:00Z")));
    assert_eq!(job.runs["success"], 1);
    assert_eq!(job.last_bytes, Some(7));
    assert!(!job.running);
}

#[test]
fn an_interrupted_run_leaves_its_slot_due() {
    let job = after_run(
        Some("2026-11-29T10:00:00Z"),
        "2026-11-29T10:00:00Z",
        "2026-11-29T10:00:20Z",
        Outcome::Interrupted,
    );
    assert_eq!(job.last_slot, Some(at("2026-11-29T09:59:30Z")));
    assert_eq!(job.next_due, Some(at("2026-11-29T10:00:00Z")));
    assert_eq!(job.last_failure, Some(at("2026-11-29T10:00:20Z")));
    assert_eq!(job.runs["interrupted"], 1);
}

#[test]
fn a_run_by_hand_keeps_the_schedule_but_drops_slots_it_overlapped() {
    let job = after_run(
        None,
        "2026-11-29T10:00:30Z",
        "2026-11-29T10:02:10Z",
        Outcome::Failure,
    );
    assert_eq!(job.overlap_skipped_total, 2);
    assert_eq!(job.last_slot, Some(at("2026-11-29T10:02:00Z")));
    let quick = after_run(
        None,
        "2026-11-29T09:59:40Z",
        "2026-11-29T09:59:50Z",
        Outcome::Success,
    );
    assert_eq!(quick.overlap_skipped_total, 0);
    assert_eq!(
        quick.last_slot,
        Some(at("2026-11-29T09:59:30Z")),
        "the next slot still runs"
    );
}
