//! `agent`, `run-due` and `status`: the config's [[job]] schedules, run by a daemon or
//! one pass at a time, with their state kept on local disk.

mod child;
mod daemon;
mod due;
mod observe;
mod record;
mod settings;
mod state_file;
mod status;

use super::super::Context;
use super::super::output;
use child::RunResult;
use due::Decision;
use firedrill::agent::state::{AgentState, Outcome};
use firedrill::error::exit;
use firedrill::{Error, Result};
use settings::{Job, Settings};
use state_file::StateFile;
use tokio::sync::watch;

fn settings(ctx: &Context) -> Result<Settings> {
    let config = ctx.config().ok_or_else(|| {
        Error::Usage(
            "no config file: the schedules are [[job]] sections of the file given with --config FILE (or FIREDRILL_CONFIG)"
                .into(),
        )
    })?;
    Settings::from_config(config)
}

fn require_jobs(settings: &Settings) -> Result<()> {
    if settings.jobs.is_empty() {
        return Err(Error::Usage(format!(
            "{} declares no [[job]] sections: nothing to schedule",
            settings.config_path.display()
        )));
    }
    Ok(())
}

fn open_state(settings: &Settings) -> Result<StateFile> {
    StateFile::new(&settings.state_dir, settings.state_file())
}

/// Marks runs recorded as going on whose scheduler is gone, so they count as interrupted
/// and their slot is due again.
async fn repair_abandoned(settings: &Settings, state_file: &StateFile) -> Result<AgentState> {
    let (jobs, state_file) = (settings.jobs.clone(), state_file.clone());
    tokio::task::spawn_blocking(move || {
        let recorded = state_file.read()?;
        let mut abandoned = Vec::new();
        for job in jobs {
            let running = recorded.jobs.get(&job.name).is_some_and(|j| j.running);
            if running && state_file.try_job_lock(&job.name)?.is_some() {
                abandoned.push(job);
            }
        }
        state_file.update(|state| {
            let now = jiff::Timestamp::now();
            for job in &abandoned {
                record::abandoned(state, job, now);
            }
        })
    })
    .await
    .map_err(|e| Error::Other(format!("the state check stopped: {e}")))?
}

/// One run of `job` from start to recorded end: state before and after, and what the
/// run tells the metrics. The caller holds the job's lock.
async fn run_job(
    settings: &Settings,
    state_file: &StateFile,
    job: &Job,
    slot: Option<jiff::Timestamp>,
    missed: Option<firedrill::agent::state::MissedRecord>,
    stop: watch::Receiver<bool>,
) -> Result<RunResult> {
    let started = jiff::Timestamp::now();
    {
        let job = job.clone();
        state_file
            .update_async(move |state| record::started(state, &job, slot, missed.as_ref(), started))
            .await?;
    }
    eprintln!(
        "firedrill: job {} started: firedrill {}",
        job.name,
        job.command.join(" ")
    );
    let mut result = child::run(settings, job, stop.clone()).await;
    let end = jiff::Timestamp::now();
    let summary = result.summary.take();
    let bytes = summary
        .as_ref()
        .and_then(|s| observe::processed_bytes(job.kind, s));
    let drill = match (&summary, job.kind) {
        (Some(summary), "drill") => observe::drill_state(summary),
        _ => None,
    };
    let plan = summary
        .as_ref()
        .and_then(|s| observe::plan_state(job.kind, s));
    eprintln!(
        "firedrill: job {} ended: {} in {:.1} s{}",
        job.name,
        result.outcome.as_str(),
        result.seconds,
        result
            .error
            .as_ref()
            .map(|e| format!(": {e}"))
            .unwrap_or_default()
    );
    {
        let job = job.clone();
        let recorded = result.clone();
        state_file
            .update_async(move |state| {
                record::finished(state, &job, &recorded, bytes, end);
                if let Some((name, drill)) = drill {
                    state.drills.insert(name, drill);
                }
                if let Some(plan) = plan {
                    state.plan = Some(plan);
                }
            })
            .await?;
    }
    if changes_holdings(job.kind) && result.outcome != Outcome::Interrupted {
        refresh_stores(settings, state_file, stop).await;
    }
    Ok(result)
}

/// Jobs after which the stores hold something else (a drill stores its report).
fn changes_holdings(kind: &str) -> bool {
    matches!(kind, "backup" | "replicate" | "forget" | "prune" | "drill")
}

/// Records what every store holds, from `replicas --json`; on failure the previous view
/// stays (and its RPO lag keeps growing, as it should).
async fn refresh_stores(settings: &Settings, state_file: &StateFile, stop: watch::Receiver<bool>) {
    let result = child::run_command(
        settings,
        &settings.config_path,
        "replicas",
        &["replicas".to_string()],
        stop,
    )
    .await;
    let target = settings.rpo_target_seconds;
    let Some(stores) = result
        .summary
        .as_ref()
        .and_then(|s| observe::replicas(s, target))
    else {
        eprintln!(
            "firedrill: could not read the stores' holdings: {}",
            result.error.unwrap_or_else(|| "no summary".into())
        );
        return;
    };
    let saved = state_file
        .update_async(move |state| {
            state.replicas = stores;
            state.replicas_checked = Some(jiff::Timestamp::now());
        })
        .await;
    if let Err(e) = saved {
        eprintln!("firedrill: {e}");
    }
}

/// `firedrill status [--json]`.
pub async fn status(ctx: &Context) -> Result<i32> {
    let settings = settings(ctx)?;
    let state = firedrill::agent::state::AgentState::load(&settings.state_file())?;
    if ctx.cli.json {
        output::json(&status::status_json(
            &settings,
            &state,
            jiff::Timestamp::now(),
        ));
    } else {
        status::print(&settings, &state);
    }
    Ok(exit::SUCCESS)
}

fn exit_code(outcome: Outcome) -> i32 {
    match outcome {
        Outcome::Success => exit::SUCCESS,
        Outcome::Failure => exit::DAMAGE,
        Outcome::Error | Outcome::Interrupted => exit::FAILURE,
    }
}

/// `firedrill run-due`: one pass over the jobs, in config order.
pub async fn run_due(ctx: &Context, metrics_file: Option<&std::path::Path>) -> Result<i32> {
    let pass_started = jiff::Timestamp::now();
    let settings = settings(ctx)?;
    require_jobs(&settings)?;
    let state_file = open_state(&settings)?;
    if state_file.try_agent_lock()?.is_none() {
        return Err(Error::Usage(format!(
            "an agent is running on the state directory {}: it runs these jobs itself; use the agent or run-due, not both",
            settings.state_dir.display()
        )));
    }
    let (stopping_tx, stopping) = watch::channel(false);
    let (stop_tx, stop) = watch::channel(false);
    tokio::spawn(daemon::stop_after_signal(
        settings.stop_grace,
        stopping_tx,
        stop_tx,
    ));
    let mut state = repair_abandoned(&settings, &state_file).await?;
    let mut worst = Outcome::Success;
    let mut rows = Vec::new();
    for job in &settings.jobs {
        let now = jiff::Timestamp::now();
        let decision = due::decide(job, state.jobs.get(&job.name), now, settings.missed_after);
        let (action, outcome) = match decision {
            Decision::Baseline => {
                let job = job.clone();
                state = state_file
                    .update_async(move |s| record::baseline(s, &job, now))
                    .await?;
                ("first seen: counting from now".to_string(), None)
            }
            Decision::Wait { next } => {
                let job = job.clone();
                state = state_file
                    .update_async(move |s| record::waiting(s, &job, next))
                    .await?;
                ("not due".to_string(), None)
            }
            Decision::Skip { newest, missed } => {
                let (job, record) = (job.clone(), missed.clone());
                state = state_file
                    .update_async(move |s| record::skipped(s, &job, newest, &record))
                    .await?;
                (
                    format!("skipped {} missed slot(s) (policy skip)", missed.slots),
                    None,
                )
            }
            Decision::Run { slot, missed } => {
                let Some(_lock) = state_file.try_job_lock(&job.name)? else {
                    rows.push(row(job, "still running in another scheduler", None, &state));
                    continue;
                };
                if *stopping.borrow() {
                    break;
                }
                let result = run_job(
                    &settings,
                    &state_file,
                    job,
                    Some(slot),
                    missed,
                    stop.clone(),
                )
                .await?;
                state = state_file.read_async().await?;
                if result.outcome.severity() > worst.severity() {
                    worst = result.outcome;
                }
                ("ran".to_string(), Some(result.outcome))
            }
        };
        rows.push(row(job, &action, outcome, &state));
    }
    // Store holdings age like the agent's: read again when older than an hour, so a
    // daily schedule still reports fresh replica numbers.
    let checked = state_file.read_async().await?.replicas_checked;
    let stale = checked.is_none_or(|t| {
        jiff::Timestamp::now().duration_since(t)
            > jiff::SignedDuration::try_from(daemon::REFRESH_STORES_EVERY).unwrap_or_default()
    });
    if stale && !*stopping.borrow() {
        refresh_stores(&settings, &state_file, stop.clone()).await;
    }
    if let Some(path) = metrics_file {
        write_metrics(
            path,
            &settings,
            &state_file.read_async().await?,
            pass_started,
        )?;
    }
    if ctx.cli.json {
        output::json(&serde_json::json!({ "jobs": rows, "exit_code": exit_code(worst) }));
    } else {
        for r in &rows {
            println!(
                "{}: {}{}; next run {}",
                r["name"].as_str().unwrap_or(""),
                r["action"].as_str().unwrap_or(""),
                r["outcome"]
                    .as_str()
                    .map(|o| format!(" ({o})"))
                    .unwrap_or_default(),
                r["next_run"]
                    .as_str()
                    .and_then(|t| t.parse::<jiff::Timestamp>().ok())
                    .map(output::local_time)
                    .unwrap_or_else(|| "never".into())
            );
        }
    }
    Ok(exit_code(worst))
}

/// The metrics of the state, for a textfile collector: written beside the target and
/// renamed over it, so a scrape never reads half a file.
fn write_metrics(
    path: &std::path::Path,
    settings: &Settings,
    state: &AgentState,
    started: jiff::Timestamp,
) -> Result<()> {
    use std::io::Write;
    let text =
        firedrill::agent::metrics::render_classic(&firedrill::agent::metrics::MetricsInput {
            state,
            jobs: &job_metas(settings),
            started,
            config_reload_ok: true,
            config_loaded: started,
            now: jiff::Timestamp::now(),
            agent: false,
        });
    let fail = |e: std::io::Error| {
        Error::Other(format!(
            "cannot write the metrics file {}: {e}",
            path.display()
        ))
    };
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => std::path::Path::new("."),
    };
    let mut file = tempfile::NamedTempFile::new_in(dir).map_err(fail)?;
    file.write_all(text.as_bytes()).map_err(fail)?;
    // The collector runs as another user: the temporary file's 0600 would hide it.
    use std::os::unix::fs::PermissionsExt;
    file.as_file()
        .set_permissions(std::fs::Permissions::from_mode(0o644))
        .map_err(fail)?;
    file.persist(path).map_err(|e| fail(e.error))?;
    Ok(())
}

pub(super) fn job_metas(settings: &Settings) -> Vec<firedrill::agent::metrics::JobMeta> {
    settings
        .jobs
        .iter()
        .map(|j| firedrill::agent::metrics::JobMeta {
            name: j.name.clone(),
            kind: j.kind.to_string(),
        })
        .collect()
}

fn row(job: &Job, action: &str, outcome: Option<Outcome>, state: &AgentState) -> serde_json::Value {
    serde_json::json!({
        "name": job.name,
        "action": action,
        "outcome": outcome.map(|o| o.as_str()),
        "next_run": state.jobs.get(&job.name).and_then(|j| j.next_due),
    })
}

/// `firedrill agent`.
pub async fn agent(ctx: &Context) -> Result<i32> {
    let settings = settings(ctx)?;
    require_jobs(&settings)?;
    daemon::run(settings).await
}
