//! Runs one job as a child `firedrill` process. A child keeps a crash, a leak or a stuck
//! network call of one job from taking the scheduler down, and runs exactly the command
//! an operator would type. Its JSON summary (stdout) is kept for metrics; its messages
//! (stderr) are passed on line by line, prefixed with the job's name.

use super::settings::{Job, Settings};
use firedrill::agent::state::Outcome;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::Command;
use tokio::sync::watch;

/// More JSON than any summary needs: a child printing more is cut, not buffered.
const STDOUT_LIMIT: u64 = 16 << 20;
/// After SIGTERM, how long a stopped job has before it is killed.
const TERM_TO_KILL: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct RunResult {
    pub outcome: Outcome,
    pub exit_code: Option<i32>,
    pub seconds: f64,
    /// The child's JSON summary, when it printed one.
    pub summary: Option<serde_json::Value>,
    pub error: Option<String>,
}

/// Runs `job` to its end, or until `stop` turns true: then the child gets SIGTERM, and
/// SIGKILL if it is still there [`TERM_TO_KILL`] later.
pub async fn run(settings: &Settings, job: &Job, stop: watch::Receiver<bool>) -> RunResult {
    let config = job.config.as_deref().unwrap_or(&settings.config_path);
    run_command(settings, config, &job.name, &job.command, stop).await
}

/// Runs `firedrill --config CONFIG <args>` with the scheduler's global options; `label`
/// prefixes its messages.
pub async fn run_command(
    settings: &Settings,
    config: &std::path::Path,
    label: &str,
    args: &[String],
    mut stop: watch::Receiver<bool>,
) -> RunResult {
    let started = Instant::now();
    let failed = |error: String| RunResult {
        outcome: Outcome::Error,
        exit_code: None,
        seconds: started.elapsed().as_secs_f64(),
        summary: None,
        error: Some(error),
    };
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => return failed(format!("cannot find the firedrill executable: {e}")),
    };
    let mut command = Command::new(exe);
    command
        .arg("--config")
        .arg(config)
        .args(["--json", "--quiet"])
        .args(args)
        .env(
            "FIREDRILL_LOCK_WAIT",
            format!("{}s", settings.lock_wait.as_secs()),
        )
        // The config file names the repository; a stray --repo from the environment
        // must not send a scheduled job elsewhere.
        .env_remove("FIREDRILL_REPO")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group: a Ctrl-C on the agent's terminal reaches the agent,
        // which decides when the job stops, and not the job directly.
        .process_group(0)
        .kill_on_drop(true);
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => return failed(format!("cannot start the job: {e}")),
    };
    let stdout = child.stdout.take().map(|out| {
        tokio::spawn(async move {
            let mut kept = Vec::new();
            let mut out = out;
            let _ = (&mut out).take(STDOUT_LIMIT).read_to_end(&mut kept).await;
            // Keep draining, so a chatty child never blocks on a full pipe.
            let _ = tokio::io::copy(&mut out, &mut tokio::io::sink()).await;
            String::from_utf8_lossy(&kept).into_owned()
        })
    });
    let last_line = child.stderr.take().map(|err| {
        let name = label.to_string();
        tokio::spawn(async move {
            let mut lines = BufReader::new(err).lines();
            let mut last = None;
            while let Ok(Some(line)) = lines.next_line().await {
                eprintln!("[{name}] {line}");
                if !line.trim().is_empty() {
                    last = Some(line);
                }
            }
            last
        })
    });
    let mut stopped = false;
    let status = loop {
        tokio::select! {
            status = child.wait() => break status,
            changed = stop.changed(), if !stopped => {
                if changed.is_err() || *stop.borrow() {
                    stopped = true;
                    terminate(&mut child).await;
                }
            }
        }
    };
    let summary = match stdout {
        Some(task) => task.await.ok().and_then(|text| last_json(&text)),
        None => None,
    };
    let last_line = match last_line {
        Some(task) => task.await.ok().flatten(),
        None => None,
    };
    let seconds = started.elapsed().as_secs_f64();
    let status = match status {
        Ok(status) => status,
        Err(e) => return failed(format!("lost track of the job: {e}")),
    };
    let exit_code = status.code();
    let outcome = match exit_code {
        _ if stopped => Outcome::Interrupted,
        Some(0) => Outcome::Success,
        Some(1) => Outcome::Failure,
        _ => Outcome::Error,
    };
    let error = match outcome {
        Outcome::Success => None,
        Outcome::Interrupted => Some("stopped by the scheduler's shutdown".into()),
        _ => Some(
            summary
                .as_ref()
                .and_then(|s| s.get("error").and_then(|e| e.as_str()).map(str::to_string))
                .or(last_line)
                .unwrap_or_else(|| describe(status)),
        ),
    };
    RunResult {
        outcome,
        exit_code,
        seconds,
        summary,
        error,
    }
}

async fn terminate(child: &mut tokio::process::Child) {
    if let Some(pid) = child.id().and_then(|pid| i32::try_from(pid).ok()) {
        // SAFETY: kill(2) on our own child's pid; no memory is involved.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
    }
    if tokio::time::timeout(TERM_TO_KILL, child.wait())
        .await
        .is_err()
    {
        let _ = child.kill().await;
    }
}

fn describe(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with code {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        _ => "ended without an exit code".into(),
    }
}

/// Commands print one pretty-printed JSON document; anything before it (there should be
/// nothing) is skipped.
fn last_json(text: &str) -> Option<serde_json::Value> {
    let start = text.find('{')?;
    serde_json::from_str(text[start..].trim()).ok()
}
