//! How each scheduling event changes a job's remembered state. Shared by the daemon and
//! run-due so both leave the same record.

use super::child::RunResult;
use super::due::next_fire;
use super::settings::Job;
use firedrill::agent::state::{AgentState, JobState, MissedRecord, Outcome};
use jiff::Timestamp;

fn entry<'a>(state: &'a mut AgentState, job: &Job) -> &'a mut JobState {
    let entry = state.jobs.entry(job.name.clone()).or_default();
    entry.kind = job.kind.to_string();
    entry
}

fn note_missed(entry: &mut JobState, missed: Option<&MissedRecord>) {
    if let Some(missed) = missed {
        entry.missed_total += missed.slots;
        entry.last_missed = Some(missed.clone());
    }
}

/// First sight of a job: its slots count from now.
pub fn baseline(state: &mut AgentState, job: &Job, now: Timestamp) {
    let entry = entry(state, job);
    entry.last_slot = Some(now);
    entry.next_due = next_fire(job, now);
}

pub fn waiting(state: &mut AgentState, job: &Job, next: Option<Timestamp>) {
    entry(state, job).next_due = next;
}

pub fn skipped(state: &mut AgentState, job: &Job, newest: Timestamp, missed: &MissedRecord) {
    let entry = entry(state, job);
    note_missed(entry, Some(missed));
    entry.last_slot = Some(newest);
    entry.next_due = next_fire(job, newest);
}

/// A run begins; `slot` is None for a run triggered by hand, which leaves the schedule
/// as it was.
pub fn started(
    state: &mut AgentState,
    job: &Job,
    slot: Option<Timestamp>,
    missed: Option<&MissedRecord>,
    now: Timestamp,
) {
    let entry = entry(state, job);
    note_missed(entry, missed);
    entry.running = true;
    entry.runner_pid = Some(std::process::id());
    entry.running_slot = slot;
    entry.last_start = Some(now);
}

pub fn finished(
    state: &mut AgentState,
    job: &Job,
    result: &RunResult,
    bytes: Option<u64>,
    end: Timestamp,
) {
    let entry = entry(state, job);
    let slot = entry.running_slot.take();
    entry.running = false;
    entry.runner_pid = None;
    entry.last_end = Some(end);
    entry.last_outcome = Some(result.outcome);
    entry.last_exit_code = result.exit_code;
    entry.last_duration_seconds = Some(result.seconds);
    entry.last_bytes = bytes;
    entry.last_error = result.error.clone();
    match result.outcome {
        Outcome::Success => entry.last_success = Some(end),
        _ => entry.last_failure = Some(end),
    }
    *entry
        .runs
        .entry(result.outcome.as_str().into())
        .or_default() += 1;
    // A run by hand covers from its start; a scheduled one from its slot.
    if result.outcome != Outcome::Interrupted
        && let Some(from) = slot.or(entry.last_start)
    {
        // Slots that came while it ran are dropped, never run back to back.
        let overlapped = job.schedule.slots_between(from, end, 100_000);
        entry.overlap_skipped_total += overlapped.count;
        if let Some(done) = overlapped.newest.or(slot) {
            entry.last_slot = Some(entry.last_slot.map_or(done, |last| last.max(done)));
        }
    }
    if let Some(last) = entry.last_slot {
        entry.next_due = next_fire(job, last);
    }
}

/// A run recorded as going on, whose scheduler is gone (its job lock is free).
pub fn abandoned(state: &mut AgentState, job: &Job, now: Timestamp) {
    let entry = entry(state, job);
    if !entry.running {
        return;
    }
    entry.running = false;
    entry.runner_pid = None;
    entry.running_slot = None;
    entry.last_end = Some(now);
    entry.last_outcome = Some(Outcome::Interrupted);
    entry.last_failure = Some(now);
    entry.last_error = Some("the scheduler stopped while the job ran".into());
    *entry
        .runs
        .entry(Outcome::Interrupted.as_str().into())
        .or_default() += 1;
}

#[cfg(test)]
#[path = "record_tests.rs"]
mod tests;
