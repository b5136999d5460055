//! `firedrill agent`: runs each job when due, never two runs of one job at once, and
//! serves /healthz, /status and /metrics. SIGHUP reloads the config (an invalid one is
//! refused and the old one kept); SIGTERM or SIGINT stops new runs, gives the running
//! ones `stop_grace` to finish, then stops them.

use super::due::{self, Decision};
use super::settings::{Job, Settings};
use super::state_file::StateFile;
use super::{record, refresh_stores, repair_abandoned, run_job, status};
use crate::cli::config::ConfigFile;
use firedrill::agent::http::{self, Endpoints, TriggerResult};
use firedrill::agent::metrics::{self, MetricsInput};
use firedrill::agent::state::AgentState;
use firedrill::error::exit;
use firedrill::{Error, Result};
use jiff::Timestamp;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{mpsc, watch};

/// The scheduler looks again at least this often, whatever the schedules say: a clock
/// change or a suspended host is then noticed within this delay.
const LOOK_EVERY: Duration = Duration::from_secs(30);
/// How often the stores' holdings are read again when no job changed them (run-due uses
/// the same age).
pub const REFRESH_STORES_EVERY: Duration = Duration::from_secs(3600);

/// What the HTTP endpoints see: a copy of the scheduler's view, updated as it changes.
struct View {
    settings: Settings,
    state: AgentState,
    running: HashSet<String>,
    started: Timestamp,
    reload_ok: bool,
    loaded: Timestamp,
    last_loop: std::time::Instant,
    state_error: Option<String>,
}

struct Shared {
    view: Mutex<View>,
    triggers: mpsc::UnboundedSender<String>,
}

impl Shared {
    fn view(&self) -> std::sync::MutexGuard<'_, View> {
        // A panic while holding the lock cannot leave the view half-changed in a way
        // that matters for reading it; keep serving.
        self.view.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Endpoints for Shared {
    fn health(&self) -> std::result::Result<(), String> {
        let view = self.view();
        if let Some(e) = &view.state_error {
            return Err(format!("cannot keep the job state: {e}"));
        }
        if view.last_loop.elapsed() > LOOK_EVERY * 4 {
            return Err("the scheduler loop has not run for over two minutes".into());
        }
        Ok(())
    }

    fn status(&self) -> serde_json::Value {
        let view = self.view();
        let mut value = status::status_json(&view.settings, &view.state, Timestamp::now());
        value["agent"] = serde_json::json!({
            "pid": std::process::id(),
            "started": view.started,
            "config_loaded": view.loaded,
            "config_reload_ok": view.reload_ok,
        });
        value
    }

    fn metrics(&self) -> String {
        let view = self.view();
        let jobs = super::job_metas(&view.settings);
        metrics::render(&MetricsInput {
            state: &view.state,
            jobs: &jobs,
            started: view.started,
            config_reload_ok: view.reload_ok,
            config_loaded: view.loaded,
            now: Timestamp::now(),
            agent: true,
        })
    }

    fn trigger_token(&self) -> Option<String> {
        let view = self.view();
        let name = view.settings.trigger_token_env.as_ref()?;
        std::env::var(name).ok().filter(|t| !t.is_empty())
    }

    fn trigger(&self, job: &str) -> TriggerResult {
        let view = self.view();
        if view.settings.job(job).is_none() {
            return TriggerResult::UnknownJob;
        }
        if view.running.contains(job) {
            return TriggerResult::AlreadyRunning;
        }
        match self.triggers.send(job.to_string()) {
            Ok(()) => TriggerResult::Started,
            Err(_) => TriggerResult::AlreadyRunning,
        }
    }
}

/// At the first SIGTERM or SIGINT flips `stopping` (take no new job), and `grace` later
/// `stop` (stop the running one). For run-due; the agent handles its signals in its loop.
pub async fn stop_after_signal(
    grace: Duration,
    stopping: watch::Sender<bool>,
    stop: watch::Sender<bool>,
) {
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        return;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    let _ = stopping.send(true);
    eprintln!(
        "firedrill: stopping: no new jobs; the running one has {} s to finish",
        grace.as_secs()
    );
    tokio::time::sleep(grace).await;
    let _ = stop.send(true);
}

fn signals() -> Result<(
    tokio::signal::unix::Signal,
    tokio::signal::unix::Signal,
    tokio::signal::unix::Signal,
)> {
    let listen =
        |kind| signal(kind).map_err(|e| Error::Other(format!("cannot listen for signals: {e}")));
    Ok((
        listen(SignalKind::terminate())?,
        listen(SignalKind::interrupt())?,
        listen(SignalKind::hangup())?,
    ))
}

pub async fn run(settings: Settings) -> Result<i32> {
    let state_file = StateFile::new(&settings.state_dir, settings.state_file())?;
    let Some(_agent_lock) = state_file.try_agent_lock()? else {
        return Err(Error::Usage(format!(
            "another agent is running on the state directory {}",
            settings.state_dir.display()
        )));
    };
    let (mut term, mut int, mut hup) = signals()?;
    let state = repair_abandoned(&settings, &state_file).await?;
    let (trigger_tx, mut triggers) = mpsc::unbounded_channel();
    let now = Timestamp::now();
    let shared = Arc::new(Shared {
        view: Mutex::new(View {
            settings: settings.clone(),
            state,
            running: HashSet::new(),
            started: now,
            reload_ok: true,
            loaded: now,
            last_loop: std::time::Instant::now(),
            state_error: None,
        }),
        triggers: trigger_tx,
    });
    let (server_stop_tx, server_stop) = watch::channel(false);
    let server = match settings.listen {
        Some(address) => {
            let listener = tokio::net::TcpListener::bind(address).await.map_err(|e| {
                Error::Usage(format!(
                    "cannot listen on {address}: {e}; set [agent] listen to a free address, or \"off\""
                ))
            })?;
            eprintln!(
                "firedrill: agent serving /healthz, /status and /metrics on http://{address}"
            );
            let mut stop = server_stop.clone();
            let endpoints: Arc<dyn Endpoints> = shared.clone();
            Some(tokio::spawn(http::serve(listener, endpoints, async move {
                let _ = stop.wait_for(|s| *s).await;
            })))
        }
        None => None,
    };
    eprintln!(
        "firedrill: agent started with {} job(s) from {}",
        settings.jobs.len(),
        settings.config_path.display()
    );

    let (done_tx, mut done) = mpsc::unbounded_channel();
    let mut scheduler = Scheduler {
        settings,
        state_file,
        shared: shared.clone(),
        stop: watch::channel(false),
        done: done_tx,
    };
    scheduler.spawn_refresh();
    let mut refresh_at = tokio::time::Instant::now() + REFRESH_STORES_EVERY;
    let mut stopping: Option<tokio::time::Instant> = None;
    let mut stop_sent = false;
    loop {
        if stopping.is_none() {
            scheduler.schedule_pass().await;
        }
        let running = shared.view().running.len();
        if stopping.is_some() && running == 0 {
            break;
        }
        let wake = tokio::time::Instant::now() + scheduler.sleep_for();
        tokio::select! {
            _ = tokio::time::sleep_until(wake) => {}
            Some(name) = done.recv() => {
                shared.view().running.remove(&name);
            }
            Some(name) = triggers.recv(), if stopping.is_none() => {
                scheduler.start_by_hand(&name);
            }
            _ = hup.recv() => scheduler.reload(),
            // The first SIGTERM/SIGINT starts the grace period; a second one ends it.
            _ = term.recv() => scheduler.on_stop_signal(&mut stopping, running),
            _ = int.recv() => scheduler.on_stop_signal(&mut stopping, running),
            _ = tokio::time::sleep_until(stopping.unwrap_or(wake)), if stopping.is_some() && !stop_sent => {
                eprintln!("firedrill: the grace period is over: stopping the running job(s)");
                let _ = scheduler.stop.0.send(true);
                stop_sent = true;
            }
            _ = tokio::time::sleep_until(refresh_at), if stopping.is_none() => {
                scheduler.spawn_refresh();
                refresh_at = tokio::time::Instant::now() + REFRESH_STORES_EVERY;
            }
        }
    }
    let _ = server_stop_tx.send(true);
    if let Some(server) = server {
        let _ = server.await;
    }
    eprintln!("firedrill: agent stopped");
    Ok(exit::SUCCESS)
}

struct Scheduler {
    settings: Settings,
    state_file: StateFile,
    shared: Arc<Shared>,
    /// Flipped when the grace period is over: running jobs are then stopped.
    stop: (watch::Sender<bool>, watch::Receiver<bool>),
    /// Told the name of each job whose run ended.
    done: mpsc::UnboundedSender<String>,
}

impl Scheduler {
    fn remember(&self, result: Result<AgentState>) {
        let mut view = self.shared.view();
        match result {
            Ok(state) => {
                view.state = state;
                view.state_error = None;
            }
            Err(e) => {
                eprintln!("firedrill: {e}");
                view.state_error = Some(e.to_string());
            }
        }
    }

    /// Changes the state on disk and in the view.
    async fn record(&self, change: impl FnOnce(&mut AgentState) + Send + 'static) {
        let saved = self.state_file.update_async(change).await;
        self.remember(saved);
    }

    /// Starts every job that is due and not running; records the others' next run.
    async fn schedule_pass(&mut self) {
        self.shared.view().last_loop = std::time::Instant::now();
        let state = self.shared.view().state.clone();
        let now = Timestamp::now();
        for job in self.settings.jobs.clone() {
            if self.shared.view().running.contains(&job.name) {
                continue;
            }
            let entry = state.jobs.get(&job.name);
            match due::decide(&job, entry, now, self.settings.missed_after) {
                Decision::Baseline => {
                    self.record(move |s| record::baseline(s, &job, now)).await;
                }
                Decision::Wait { next } => {
                    if entry.and_then(|e| e.next_due) != next {
                        self.record(move |s| record::waiting(s, &job, next)).await;
                    }
                }
                Decision::Skip { newest, missed } => {
                    eprintln!(
                        "firedrill: job {}: {} slot(s) missed since {}; policy skip: next at the next slot",
                        job.name, missed.slots, missed.oldest
                    );
                    self.record(move |s| record::skipped(s, &job, newest, &missed))
                        .await;
                }
                Decision::Run { slot, missed } => {
                    if let Some(missed) = &missed {
                        eprintln!(
                            "firedrill: job {}: {} slot(s) missed since {}; policy run-once: running now",
                            job.name, missed.slots, missed.oldest
                        );
                    }
                    self.start(job, Some(slot), missed);
                }
            }
        }
    }

    fn start_by_hand(&mut self, name: &str) {
        let Some(job) = self.settings.job(name).cloned() else {
            return;
        };
        if self.shared.view().running.contains(name) {
            return;
        }
        eprintln!("firedrill: job {name} triggered over HTTP");
        self.start(job, None, None);
    }

    fn start(
        &mut self,
        job: Job,
        slot: Option<Timestamp>,
        missed: Option<firedrill::agent::state::MissedRecord>,
    ) {
        {
            // /status shows the run at once; the state file follows from run_job.
            let mut view = self.shared.view();
            view.running.insert(job.name.clone());
            let entry = view.state.jobs.entry(job.name.clone()).or_default();
            entry.running = true;
            entry.last_start = Some(Timestamp::now());
        }
        let settings = self.settings.clone();
        let state_file = self.state_file.clone();
        let shared = self.shared.clone();
        let stop = self.stop.1.clone();
        let done = self.done.clone();
        tokio::spawn(async move {
            let lock = match state_file.try_job_lock(&job.name) {
                Ok(lock) => lock,
                Err(e) => {
                    eprintln!("firedrill: job {}: {e}", job.name);
                    None
                }
            };
            if lock.is_some() {
                if let Err(e) = run_job(&settings, &state_file, &job, slot, missed, stop).await {
                    // The state could not be kept (a full disk, say): pause the job
                    // rather than start it again at once, over and over.
                    eprintln!(
                        "firedrill: job {}: {e}; trying again in {} s",
                        job.name,
                        LOOK_EVERY.as_secs()
                    );
                    tokio::time::sleep(LOOK_EVERY).await;
                }
            } else {
                eprintln!(
                    "firedrill: job {} is running in another scheduler; this slot is skipped",
                    job.name
                );
                let name = job.name.clone();
                let _ = state_file
                    .update_async(move |s| {
                        let entry = s.jobs.entry(name).or_default();
                        entry.overlap_skipped_total += 1;
                        if let Some(slot) = slot {
                            entry.last_slot = Some(slot);
                        }
                    })
                    .await;
            }
            drop(lock);
            let state = state_file.read_async().await;
            let mut view = shared.view();
            match state {
                Ok(state) => view.state = state,
                Err(e) => view.state_error = Some(e.to_string()),
            }
            drop(view);
            let _ = done.send(job.name);
        });
    }

    fn spawn_refresh(&self) {
        let settings = self.settings.clone();
        let state_file = self.state_file.clone();
        let shared = self.shared.clone();
        let stop = self.stop.1.clone();
        tokio::spawn(async move {
            refresh_stores(&settings, &state_file, stop).await;
            if let Ok(state) = state_file.read_async().await {
                shared.view().state = state;
            }
        });
    }

    /// How long until the next job fires (at most [`LOOK_EVERY`]).
    fn sleep_for(&self) -> Duration {
        let view = self.shared.view();
        let now = Timestamp::now();
        self.settings
            .jobs
            .iter()
            .filter(|job| !view.running.contains(&job.name))
            .filter_map(|job| view.state.jobs.get(&job.name).and_then(|s| s.next_due))
            .map(|next| {
                let wait = next.duration_since(now);
                Duration::try_from(wait).unwrap_or(Duration::ZERO)
            })
            .min()
            .unwrap_or(LOOK_EVERY)
            .min(LOOK_EVERY)
    }

    fn on_stop_signal(&self, stopping: &mut Option<tokio::time::Instant>, running: usize) {
        let now = tokio::time::Instant::now();
        if stopping.is_some() {
            eprintln!("firedrill: second stop signal: the grace period ends now");
            *stopping = Some(now);
            return;
        }
        eprintln!(
            "firedrill: stopping: no new jobs; {running} running job(s) have {} s to finish (signal again to stop them now)",
            self.settings.stop_grace.as_secs()
        );
        *stopping = Some(now + self.settings.stop_grace);
    }

    /// SIGHUP: read and check the config again; keep the old one if the new one is bad.
    fn reload(&mut self) {
        let path = self.settings.config_path.clone();
        let loaded = ConfigFile::load(&path).and_then(|config| Settings::from_config(&config));
        let mut view = self.shared.view();
        view.loaded = Timestamp::now();
        match loaded {
            Ok(new) => {
                if new.listen != self.settings.listen || new.state_dir != self.settings.state_dir {
                    eprintln!(
                        "firedrill: config reloaded; a new listen address or state directory takes effect on restart"
                    );
                } else {
                    eprintln!(
                        "firedrill: config reloaded from {}: {} job(s)",
                        path.display(),
                        new.jobs.len()
                    );
                }
                let kept = Settings {
                    listen: self.settings.listen,
                    state_dir: self.settings.state_dir.clone(),
                    ..new
                };
                self.settings = kept.clone();
                view.settings = kept;
                view.reload_ok = true;
            }
            Err(e) => {
                eprintln!("firedrill: the new config is refused, the old one stays in use: {e}");
                view.reload_ok = false;
            }
        }
    }
}
