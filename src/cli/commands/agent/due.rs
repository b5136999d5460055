//! When a job runs: the decision both schedulers (the daemon and run-due) take for a job
//! at a given instant, from its schedule and what the state remembers. Kept free of I/O
//! so it can be tested against any clock.

use super::settings::{Job, Missed};
use firedrill::agent::schedule::jitter;
use firedrill::agent::state::{JobState, MissedRecord};
use jiff::Timestamp;
use std::time::Duration;

/// Counting missed slots stops here (a per-second schedule down for a year).
const MISSED_COUNT_LIMIT: u64 = 100_000;

#[derive(Clone, Debug, PartialEq)]
pub enum Decision {
    /// First sight of the job: slots count from now on.
    Baseline,
    /// Nothing to do before `next` (None: the schedule never fires again).
    Wait { next: Option<Timestamp> },
    /// Run now, for `slot`; `missed` when the slot is later than allowed.
    Run {
        slot: Timestamp,
        missed: Option<MissedRecord>,
    },
    /// Missed slots under the `skip` policy: record them, run at the next slot.
    Skip {
        newest: Timestamp,
        missed: MissedRecord,
    },
}

/// When slot `slot` of `job` fires, jitter included.
pub fn fire_time(job: &Job, slot: Timestamp) -> Timestamp {
    let delay = jitter(&job.name, slot, job.jitter);
    slot.checked_add(delay).unwrap_or(slot)
}

/// The job's next fire time after `after` (its last handled slot).
pub fn next_fire(job: &Job, after: Timestamp) -> Option<Timestamp> {
    job.schedule
        .next_after(after)
        .map(|slot| fire_time(job, slot))
}

pub fn decide(
    job: &Job,
    state: Option<&JobState>,
    now: Timestamp,
    missed_after: Duration,
) -> Decision {
    let Some(last_slot) = state.and_then(|s| s.last_slot) else {
        return Decision::Baseline;
    };
    let Some(first) = job.schedule.next_after(last_slot) else {
        return Decision::Wait { next: None };
    };
    let fires = fire_time(job, first);
    if fires > now {
        return Decision::Wait { next: Some(fires) };
    }
    let slots = job
        .schedule
        .slots_between(last_slot, now, MISSED_COUNT_LIMIT);
    let newest = slots.newest.unwrap_or(first);
    let late = now.duration_since(fires);
    let allowed = jiff::SignedDuration::try_from(missed_after).unwrap_or(jiff::SignedDuration::MAX);
    if late <= allowed {
        return Decision::Run {
            slot: newest,
            missed: None,
        };
    }
    let missed = MissedRecord {
        noticed: now,
        slots: slots.count.max(1),
        oldest: slots.oldest.unwrap_or(first),
        policy: job.missed.as_str().into(),
    };
    match job.missed {
        Missed::RunOnce => Decision::Run {
            slot: newest,
            missed: Some(missed),
        },
        Missed::Skip => Decision::Skip { newest, missed },
    }
}

#[cfg(test)]
#[path = "due_tests.rs"]
mod tests;
