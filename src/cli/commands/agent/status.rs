//! `firedrill status` and the agent's /status: each job with its schedule, last run and
//! next run, then the stores and drills as last seen.

use super::super::super::output::local_time;
use super::settings::Settings;
use firedrill::agent::state::{AgentState, JobState};
use jiff::Timestamp;
use serde_json::{Value, json};

pub fn status_json(settings: &Settings, state: &AgentState, now: Timestamp) -> Value {
    let default = JobState::default();
    let jobs: Vec<Value> = settings
        .jobs
        .iter()
        .map(|job| {
            let s = state.jobs.get(&job.name).unwrap_or(&default);
            json!({
                "name": job.name,
                "kind": job.kind,
                "command": job.command,
                "schedule": job.schedule.expression(),
                "timezone": job.schedule.timezone(),
                "jitter_seconds": job.jitter.as_secs(),
                "missed_policy": job.missed.as_str(),
                "running": s.running,
                "next_run": s.next_due.or_else(|| super::due::next_fire(job, now)),
                "last_start": s.last_start,
                "last_end": s.last_end,
                "last_outcome": s.last_outcome.map(|o| o.as_str()),
                "last_exit_code": s.last_exit_code,
                "last_duration_seconds": s.last_duration_seconds,
                "last_bytes": s.last_bytes,
                "last_error": s.last_error,
                "last_success": s.last_success,
                "last_failure": s.last_failure,
                "runs": s.runs,
                "missed_total": s.missed_total,
                "overlap_skipped_total": s.overlap_skipped_total,
                "last_missed": s.last_missed,
            })
        })
        .collect();
    json!({
        "now": now,
        "config": settings.config_path.display().to_string(),
        "state_file": settings.state_file().display().to_string(),
        "jobs": jobs,
        "stores": state.replicas,
        "stores_checked": state.replicas_checked,
        "drills": state.drills,
        "plan": state.plan,
    })
}

fn when(t: Option<Timestamp>) -> String {
    t.map(local_time).unwrap_or_else(|| "-".into())
}

pub fn print(settings: &Settings, state: &AgentState) {
    if settings.jobs.is_empty() {
        println!(
            "no jobs: {} has no [[job]] sections",
            settings.config_path.display()
        );
    }
    let default = JobState::default();
    for job in &settings.jobs {
        let s = state.jobs.get(&job.name).unwrap_or(&default);
        println!(
            "{} ({}): \"{}\" {}",
            job.name,
            job.kind,
            job.schedule.expression(),
            job.schedule.timezone()
        );
        let last = match (s.running, s.last_outcome) {
            (true, _) => format!("running since {}", when(s.last_start)),
            (false, Some(outcome)) => format!(
                "{} at {} after {:.1} s",
                outcome.as_str(),
                when(s.last_end),
                s.last_duration_seconds.unwrap_or(0.0)
            ),
            (false, None) => "never ran".into(),
        };
        println!("  last run:  {last}");
        if let Some(error) = &s.last_error
            && !s.running
        {
            println!("  why:       {error}");
        }
        let next = s
            .next_due
            .or_else(|| super::due::next_fire(job, Timestamp::now()));
        println!("  next run:  {}", when(next));
        println!("  last success: {}", when(s.last_success));
        if let Some(missed) = &s.last_missed {
            println!(
                "  missed:    {} slot(s) from {} (noticed {}, policy {})",
                missed.slots,
                local_time(missed.oldest),
                local_time(missed.noticed),
                missed.policy
            );
        }
        if s.overlap_skipped_total > 0 {
            println!(
                "  skipped:   {} slot(s) while the previous run was still going",
                s.overlap_skipped_total
            );
        }
    }
    if let Some(plan) = &state.plan {
        println!(
            "plan: {} (judged {})",
            if plan.met { "MET" } else { "NOT MET" },
            local_time(plan.checked)
        );
        for rule in &plan.unmet {
            println!("  not satisfied: {rule}");
        }
    }
    for (name, drill) in &state.drills {
        let report = drill
            .report_id
            .as_ref()
            .map(|id| format!(" (report {})", id.chars().take(8).collect::<String>()))
            .unwrap_or_default();
        println!(
            "drill {name}: {} at {}{report}",
            drill.verdict,
            local_time(drill.finished)
        );
    }
}
