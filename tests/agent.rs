//! The scheduler against real time: `agent` runs jobs on short schedules, never overlaps
//! a job with itself, follows the missed-run policy, stops cleanly on SIGTERM, keeps its
//! config when a reload is bad, and serves /metrics that the Prometheus project's own
//! parser reads back with the values of known runs. `run-due` exit codes too.

mod common;

use common::{Env, PASSWORD, Run, random_bytes, write};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const TOKEN: &str = "trigger-secret-token";

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A repository with one data directory, and a config with the given extra text.
struct Site {
    env: Env,
    data: PathBuf,
    port: u16,
}

impl Site {
    fn new(data_bytes: usize) -> Site {
        let env = Env::new();
        env.init();
        let data = env.path("data");
        let files = 8;
        for i in 0..files {
            write(
                &data.join(format!("f{i}.bin")),
                &random_bytes(data_bytes / files, i as u64),
            );
        }
        std::fs::create_dir_all(env.path("drills")).unwrap();
        Site {
            env,
            data,
            port: free_port(),
        }
    }

    fn config_path(&self) -> PathBuf {
        self.env.path("firedrill.toml")
    }

    /// Writes the config: repository, plan, [agent] with `agent_extra`, then `jobs`.
    fn configure(&self, agent_extra: &str, jobs: &str) {
        let text = format!(
            r#"
[repository]
location = "repo"
password_env = "FIREDRILL_PASSWORD"

[plan]
rto = "1h"
rpo = "2h"

[agent]
listen = "127.0.0.1:{port}"
state_dir = "state"
trigger_token_env = "FIREDRILL_TRIGGER_TOKEN"
{agent_extra}

{jobs}
"#,
            port = self.port
        );
        std::fs::write(self.config_path(), text).unwrap();
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(common::bin());
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.env.dir.path())
            .env("FIREDRILL_PASSWORD", PASSWORD)
            .env("FIREDRILL_TRIGGER_TOKEN", TOKEN)
            .arg("--config")
            .arg(self.config_path());
        cmd
    }

    fn run(&self, args: &[&str]) -> Run {
        self.command().args(args).output().unwrap().into()
    }

    fn start_agent(&self) -> Agent {
        let log = self.env.path(&format!("agent-{}.log", free_port()));
        let child = self
            .command()
            .arg("agent")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let agent = Agent {
            child,
            port: self.port,
            log,
        };
        agent.wait_for("the HTTP server", Duration::from_secs(20), || {
            http(agent.port, "GET", "/healthz", None).is_some_and(|(code, _)| code == 200)
        });
        agent
    }

    fn state(&self) -> Value {
        let text = std::fs::read_to_string(self.env.path("state/agent-state.json"))
            .unwrap_or_else(|_| "{}".into());
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    fn drill(&self, name: &str, text: &str) {
        std::fs::write(self.env.path(&format!("drills/{name}.toml")), text).unwrap();
    }
}

struct Agent {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Agent {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    #[track_caller]
    fn wait_for(&self, what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
        let start = Instant::now();
        while start.elapsed() < limit {
            if done() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("timed out waiting for {what}\nagent log:\n{}", self.log());
    }

    fn status(&self) -> Value {
        let (code, body) = http(self.port, "GET", "/status", None).expect("GET /status");
        assert_eq!(code, 200, "{body}");
        serde_json::from_str(&body).unwrap()
    }

    fn job<'a>(status: &'a Value, name: &str) -> &'a Value {
        status["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|j| j["name"] == name)
            .unwrap_or_else(|| panic!("no job {name} in {status}"))
    }

    fn signal(&self, signal: i32) {
        // SAFETY: kill(2) on our own child.
        unsafe {
            libc::kill(self.child.id() as i32, signal);
        }
    }

    /// Waits for the agent to exit; its exit code.
    fn wait_exit(&mut self, limit: Duration) -> i32 {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code().unwrap_or(-1);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the agent did not exit\n{}", self.log());
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 request; (status, body), or None if nothing listens.
fn http(port: u16, method: &str, path: &str, token: Option<&str>) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Content-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let code = response.split(' ').nth(1)?.parse().ok()?;
    let body = response.split_once("\r\n\r\n")?.1.to_string();
    Some((code, body))
}

/// /metrics read by prometheus_client's OpenMetrics parser (it rejects malformed
/// exposition); every sample as (name, labels, value).
fn metrics(port: u16) -> Vec<(String, Value, f64)> {
    let (code, body) = http(port, "GET", "/metrics", None).expect("GET /metrics");
    assert_eq!(code, 200, "{body}");
    parse_exposition(&body, "prometheus_client.openmetrics.parser")
}

/// Parses exposition text with one of prometheus_client's parsers (the OpenMetrics one,
/// or `prometheus_client.parser` for the classic text format).
fn parse_exposition(body: &str, parser: &str) -> Vec<(String, Value, f64)> {
    let script = format!(
        r#"
import json, sys
from {parser} import text_string_to_metric_families
out = []
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        out.append([s.name, s.labels, s.value])
print(json.dumps(out))
"#
    );
    let mut python = Command::new("python3")
        .args(["-c", &script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 (infra/local/install installs prometheus-client)");
    python
        .stdin
        .take()
        .unwrap()
        .write_all(body.as_bytes())
        .unwrap();
    let out = python.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the Prometheus parser refused /metrics: {}\n{body}",
        String::from_utf8_lossy(&out.stderr)
    );
    let samples: Vec<(String, Value, f64)> = serde_json::from_slice(&out.stdout).unwrap();
    samples
}

#[track_caller]
fn sample(samples: &[(String, Value, f64)], name: &str, labels: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .find(|(n, l, _)| n == name && labels.iter().all(|(k, v)| l[*k] == *v))
        .map(|(_, _, v)| *v)
        .unwrap_or_else(|| panic!("no sample {name} {labels:?} in {samples:?}"))
}

fn has_sample(samples: &[(String, Value, f64)], name: &str, labels: &[(&str, &str)]) -> bool {
    samples
        .iter()
        .any(|(n, l, _)| n == name && labels.iter().all(|(k, v)| l[*k] == *v))
}

fn seconds_of(value: &Value) -> f64 {
    let t: jiff::Timestamp = value.as_str().unwrap().parse().unwrap();
    t.as_millisecond() as f64 / 1000.0
}

const YEARLY: &str = r#"schedule = "0 0 1 1 *""#;

impl Site {
    /// A site whose one job, "nightly", backs up its data once a year: it runs when
    /// triggered.
    fn with_backup_job(data_bytes: usize, agent_extra: &str) -> Site {
        let site = Site::new(data_bytes);
        site.configure(
            agent_extra,
            &format!(
                "[[job]]\nname = \"nightly\"\ncommand = [\"backup\", \"{}\"]\n{YEARLY}\n",
                site.data.display()
            ),
        );
        site
    }
}

impl Agent {
    /// Triggers `job` over HTTP and waits until it runs.
    fn run_now(&self, job: &str) {
        let (code, body) =
            http(self.port, "POST", &format!("/trigger/{job}"), Some(TOKEN)).unwrap();
        assert_eq!(code, 202, "{body}");
        self.wait_for("the job to start", Duration::from_secs(20), || {
            Agent::job(&self.status(), job)["running"] == true
        });
    }
}

#[test]
fn metrics_report_the_values_of_known_runs_and_the_trigger_needs_its_token() {
    let site = Site::new(2_000_000);
    site.drill(
        "restore-check",
        "[source]\nstore = \"primary\"\n[targets]\nrto = \"30m\"\nrpo = \"45m\"\n",
    );
    site.configure(
        "",
        &format!(
            "[[job]]\nname = \"nightly\"\ncommand = [\"backup\", \"{}\"]\n{YEARLY}\n\n\
             [[job]]\nname = \"weekly-drill\"\ncommand = [\"drill\", \"run\", \"restore-check\"]\n{YEARLY}\n",
            site.data.display()
        ),
    );
    let agent = site.start_agent();

    assert_eq!(
        http(agent.port, "POST", "/trigger/nightly", None)
            .unwrap()
            .0,
        401
    );
    assert_eq!(
        http(agent.port, "POST", "/trigger/nightly", Some("wrong"))
            .unwrap()
            .0,
        401
    );
    assert_eq!(
        http(agent.port, "POST", "/trigger/nope", Some(TOKEN))
            .unwrap()
            .0,
        404
    );
    assert_eq!(
        http(agent.port, "POST", "/trigger/nightly", Some(TOKEN))
            .unwrap()
            .0,
        202
    );
    agent.wait_for("the backup", Duration::from_secs(60), || {
        Agent::job(&agent.status(), "nightly")["last_outcome"] == "success"
    });
    assert_eq!(
        http(agent.port, "POST", "/trigger/weekly-drill", Some(TOKEN))
            .unwrap()
            .0,
        202
    );
    agent.wait_for("the drill", Duration::from_secs(60), || {
        Agent::job(&agent.status(), "weekly-drill")["last_outcome"] == "success"
    });
    // The stores are read again after each job; the drill stored its report.
    agent.wait_for("the stores' holdings", Duration::from_secs(30), || {
        let status = agent.status();
        let drill_end = &Agent::job(&status, "weekly-drill")["last_end"];
        status["stores_checked"].is_string()
            && seconds_of(&status["stores_checked"]) > seconds_of(drill_end)
    });

    let status = agent.status();
    let samples = metrics(agent.port);
    let backup = Agent::job(&status, "nightly");
    let job = [("job_name", "nightly"), ("kind", "backup")];
    assert_eq!(
        sample(&samples, "firedrill_job_last_processed_bytes", &job),
        2_000_000.0,
        "the first backup reads every byte"
    );
    assert_eq!(sample(&samples, "firedrill_job_last_exit_code", &job), 0.0);
    assert_eq!(sample(&samples, "firedrill_job_running", &job), 0.0);
    assert_eq!(
        sample(
            &samples,
            "firedrill_job_runs_total",
            &[("job_name", "nightly"), ("outcome", "success")]
        ),
        1.0
    );
    assert_eq!(
        sample(&samples, "firedrill_job_last_duration_seconds", &job),
        backup["last_duration_seconds"].as_f64().unwrap()
    );
    let success = sample(
        &samples,
        "firedrill_job_last_success_timestamp_seconds",
        &job,
    );
    assert!((success - seconds_of(&backup["last_success"])).abs() < 0.01);
    assert!(
        !has_sample(
            &samples,
            "firedrill_job_last_failure_timestamp_seconds",
            &job
        ),
        "a job that never failed has no failure time"
    );
    let next = sample(&samples, "firedrill_job_next_run_timestamp_seconds", &job);
    assert!((next - seconds_of(&backup["next_run"])).abs() < 0.01);

    let drill = [("drill", "restore-check")];
    assert_eq!(sample(&samples, "firedrill_drill_last_passed", &drill), 1.0);
    assert_eq!(
        sample(
            &samples,
            "firedrill_drill_verdict",
            &[("drill", "restore-check"), ("verdict", "PASS")]
        ),
        1.0
    );
    assert_eq!(
        sample(
            &samples,
            "firedrill_drill_verdict",
            &[("drill", "restore-check"), ("verdict", "FAIL")]
        ),
        0.0
    );
    assert_eq!(
        sample(&samples, "firedrill_drill_rto_target_seconds", &drill),
        1800.0
    );
    assert_eq!(
        sample(&samples, "firedrill_drill_rpo_target_seconds", &drill),
        2700.0
    );
    assert_eq!(
        sample(&samples, "firedrill_drill_restored_bytes", &drill),
        2_000_000.0
    );
    let drill_state = &status["drills"]["restore-check"];
    let listed = site.run(&["--json", "report", "list"]).ok().json();
    assert_eq!(drill_state["report_id"], listed[0]["id"], "{drill_state}");
    assert_eq!(
        sample(&samples, "firedrill_drill_rto_seconds", &drill),
        drill_state["rto_seconds"].as_f64().unwrap()
    );

    let replicas = site.run(&["--json", "replicas"]).ok().json();
    let primary = &replicas["stores"][0];
    let store = [("replica", "primary"), ("role", "primary")];
    assert_eq!(sample(&samples, "firedrill_replica_up", &store), 1.0);
    assert_eq!(
        sample(&samples, "firedrill_replica_objects", &store),
        primary["objects"].as_f64().unwrap()
    );
    assert_eq!(
        sample(&samples, "firedrill_replica_bytes", &store),
        primary["bytes"].as_f64().unwrap()
    );
    assert_eq!(
        sample(&samples, "firedrill_replica_rpo_target_seconds", &store),
        7200.0
    );
    let lag = sample(&samples, "firedrill_replica_rpo_lag_seconds", &store);
    assert!((0.0..120.0).contains(&lag), "lag {lag}");
    assert_eq!(
        sample(&samples, "firedrill_agent_config_last_reload_success", &[]),
        1.0
    );

    let (code, body) = http(agent.port, "GET", "/healthz", None).unwrap();
    assert_eq!((code, body.trim()), (200, "ok"));
}

#[test]
fn a_schedule_every_two_seconds_runs_its_job_again_and_again() {
    let site = Site::new(200_000);
    site.configure(
        "",
        &format!(
            "[[job]]\nname = \"often\"\ncommand = [\"backup\", \"{}\"]\nschedule = \"*/2 * * * * *\"\n",
            site.data.display()
        ),
    );
    let agent = site.start_agent();
    agent.wait_for("three runs", Duration::from_secs(40), || {
        Agent::job(&agent.status(), "often")["runs"]["success"]
            .as_u64()
            .is_some_and(|n| n >= 3)
    });
    let snapshots = site.run(&["--json", "snapshots"]).ok().json();
    assert!(snapshots.as_array().unwrap().len() >= 3, "{snapshots}");
    let status = agent.status();
    let job = Agent::job(&status, "often");
    let next: jiff::Timestamp = job["next_run"].as_str().unwrap().parse().unwrap();
    assert_eq!(next.as_second() % 2, 0, "fires on even seconds: {next}");
    assert_eq!(next.subsec_nanosecond(), 0);
}

#[test]
fn a_slow_job_never_overlaps_itself() {
    let site = Site::new(100_000);
    site.drill(
        "slow",
        "[source]\nstore = \"primary\"\n[checks.command]\nrun = [\"sleep\", \"4\"]\ntimeout = \"1m\"\n",
    );
    site.env.run(&["backup", site.data.to_str().unwrap()]).ok();
    site.configure(
        "",
        "[[job]]\nname = \"slow-drill\"\ncommand = [\"drill\", \"run\", \"slow\"]\nschedule = \"* * * * * *\"\n",
    );
    let agent = site.start_agent();
    agent.wait_for("two finished runs", Duration::from_secs(60), || {
        Agent::job(&agent.status(), "slow-drill")["runs"]["success"]
            .as_u64()
            .is_some_and(|n| n >= 2)
    });
    let status = agent.status();
    let job = Agent::job(&status, "slow-drill");
    assert!(
        job["overlap_skipped_total"].as_u64().unwrap() >= 6,
        "every second's slot during a 4-second run is dropped: {job}"
    );
    drop(agent);
    // The reports kept in the repository: no two runs overlapped in time.
    let reports = site.run(&["--json", "report", "list"]).ok().json();
    let mut spans: Vec<(f64, f64)> = reports
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (seconds_of(&r["started"]), seconds_of(&r["finished"])))
        .collect();
    assert!(spans.len() >= 2, "{reports}");
    spans.sort_by(|a, b| a.0.total_cmp(&b.0));
    for pair in spans.windows(2) {
        assert!(pair[0].1 <= pair[1].0, "runs overlapped: {spans:?}");
    }
}

#[test]
fn missed_slots_follow_each_jobs_policy_after_a_restart() {
    let site = Site::new(100_000);
    site.configure(
        "missed_after = \"1s\"",
        &format!(
            "[[job]]\nname = \"catch-up\"\ncommand = [\"backup\", \"{}\"]\nschedule = \"*/2 * * * * *\"\nmissed = \"run-once\"\n\n\
             [[job]]\nname = \"skipper\"\ncommand = [\"verify\"]\nschedule = \"*/2 * * * * *\"\nmissed = \"skip\"\n",
            site.data.display()
        ),
    );
    // The first pass only starts the clock.
    let first = site.run(&["--json", "run-due"]).ok().json();
    assert!(
        first["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|j| j["outcome"].is_null()),
        "{first}"
    );
    // The scheduler is "down" for five seconds: at least two slots of each job pass.
    std::thread::sleep(Duration::from_secs(5));
    site.run(&["run-due"]).ok();
    let status = site.run(&["--json", "status"]).ok().json();
    let catch_up = Agent::job(&status, "catch-up");
    assert_eq!(catch_up["runs"]["success"], 1, "{catch_up}");
    assert!(
        catch_up["last_missed"]["slots"].as_u64().unwrap() >= 2,
        "{catch_up}"
    );
    assert_eq!(catch_up["last_missed"]["policy"], "run-once");
    let skipper = Agent::job(&status, "skipper");
    assert!(skipper["runs"].as_object().unwrap().is_empty(), "{skipper}");
    assert!(skipper["missed_total"].as_u64().unwrap() >= 2, "{skipper}");
    assert_eq!(skipper["last_missed"]["policy"], "skip");
    let snapshots = site.run(&["--json", "snapshots"]).ok().json();
    assert_eq!(
        snapshots.as_array().unwrap().len(),
        1,
        "run once, not once per slot"
    );
}

#[test]
fn sigterm_lets_the_running_job_finish_within_the_grace_period() {
    let site = Site::with_backup_job(16_000_000, "stop_grace = \"2m\"");
    let mut agent = site.start_agent();
    agent.run_now("nightly");
    agent.signal(libc::SIGTERM);
    assert_eq!(
        agent.wait_exit(Duration::from_secs(120)),
        0,
        "{}",
        agent.log()
    );
    let state = site.state();
    assert_eq!(state["jobs"]["nightly"]["last_outcome"], "success");
    let snapshots = site.run(&["--json", "snapshots"]).ok().json();
    assert_eq!(snapshots.as_array().unwrap().len(), 1);
}

#[test]
fn sigterm_past_the_grace_period_stops_the_job_and_the_repository_still_verifies() {
    let site = Site::with_backup_job(64_000_000, "stop_grace = \"0s\"");
    let mut agent = site.start_agent();
    agent.run_now("nightly");
    std::thread::sleep(Duration::from_millis(500));
    agent.signal(libc::SIGTERM);
    assert_eq!(
        agent.wait_exit(Duration::from_secs(60)),
        0,
        "{}",
        agent.log()
    );
    let state = site.state();
    let job = &state["jobs"]["nightly"];
    assert_eq!(job["last_outcome"], "interrupted", "{job}");
    assert_eq!(job["running"], false);
    assert_eq!(job["runs"]["interrupted"], 1);
    assert_eq!(
        lock_count(&site.env.repo()),
        0,
        "the stopped job removed its repository lock"
    );
    // Whatever the stopped backup had written, the repository is whole.
    site.run(&["verify", "--read-data"]).ok();
    site.run(&["backup", site.data.to_str().unwrap()]).ok();
    site.run(&["verify", "--read-data"]).ok();
}

#[test]
fn sighup_with_a_bad_config_keeps_the_old_one_and_a_good_one_is_taken() {
    let site = Site::new(10_000);
    let job_a = "[[job]]\nname = \"a\"\ncommand = [\"verify\"]\nschedule = \"0 3 * * *\"\n";
    site.configure("", job_a);
    let agent = site.start_agent();
    let names = |status: &Value| -> Vec<String> {
        status["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|j| j["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names(&agent.status()), ["a"]);

    site.configure(
        "",
        &format!(
            "{job_a}\n[[job]]\nname = \"b\"\ncommand = [\"verify\"]\nschedule = \"61 * * * *\"\n"
        ),
    );
    agent.signal(libc::SIGHUP);
    agent.wait_for("the refused reload", Duration::from_secs(20), || {
        agent.status()["agent"]["config_reload_ok"] == false
    });
    assert_eq!(names(&agent.status()), ["a"], "the old config stays");
    assert!(agent.log().contains("refused"), "{}", agent.log());
    assert_eq!(
        sample(
            &metrics(agent.port),
            "firedrill_agent_config_last_reload_success",
            &[]
        ),
        0.0
    );

    site.configure(
        "",
        &format!(
            "{job_a}\n[[job]]\nname = \"b\"\ncommand = [\"verify\"]\nschedule = \"0 4 * * *\"\n"
        ),
    );
    agent.signal(libc::SIGHUP);
    agent.wait_for("the accepted reload", Duration::from_secs(20), || {
        agent.status()["agent"]["config_reload_ok"] == true
    });
    assert_eq!(names(&agent.status()), ["a", "b"]);
}

fn lock_count(repo: &Path) -> usize {
    std::fs::read_dir(repo.join("locks")).map_or(0, |d| d.count())
}

fn damage_one_pack(repo: &Path) {
    let pack = common::files_below(&repo.join("data"))
        .into_iter()
        .next()
        .expect("a pack");
    let mut bytes = std::fs::read(&pack).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&pack, bytes).unwrap();
}

#[test]
fn run_due_exits_with_the_worst_outcome() {
    let site = Site::new(100_000);
    site.env.run(&["backup", site.data.to_str().unwrap()]).ok();
    let every_second = "schedule = \"* * * * * *\"";
    let clean = format!("[[job]]\nname = \"check\"\ncommand = [\"verify\"]\n{every_second}\n");
    let deep = format!(
        "[[job]]\nname = \"deep-check\"\ncommand = [\"verify\", \"--read-data\"]\n{every_second}\n"
    );
    let broken = format!(
        "[[job]]\nname = \"broken\"\ncommand = [\"backup\", \"/no/such/dir\"]\n{every_second}\n"
    );
    let pass = |jobs: &str| -> i32 {
        site.configure("", jobs);
        site.run(&["run-due"]); // starts the clock for new jobs
        std::thread::sleep(Duration::from_millis(1100));
        site.run(&["run-due"]).code
    };
    assert_eq!(pass(&format!("{clean}\n{deep}")), 0, "all ran fine");
    damage_one_pack(&site.env.repo());
    assert_eq!(pass(&format!("{clean}\n{deep}")), 1, "damage found");
    assert_eq!(
        pass(&format!("{clean}\n{deep}\n{broken}")),
        3,
        "a job errored"
    );
    let status = site.run(&["--json", "status"]).ok().json();
    let broken = Agent::job(&status, "broken");
    assert_eq!(broken["last_outcome"], "error");
    assert!(
        broken["last_error"]
            .as_str()
            .unwrap()
            .contains("/no/such/dir"),
        "{broken}"
    );

    site.configure("", "[[job]]\nname = \"x\"\ncommand = [\"restore\", \"latest\", \"-t\", \"/tmp/x\"]\nschedule = \"* * * * *\"\n");
    let refused = site.run(&["run-due"]).code(2);
    assert!(refused.stderr.contains("\"x\""), "{}", refused.stderr);
    assert!(
        refused.stderr.contains("firedrill.toml:"),
        "{}",
        refused.stderr
    );
    site.configure(
        "",
        "[[job]]\nname = \"x\"\ncommand = [\"verify\"]\nschedule = \"* * *\"\n",
    );
    let refused = site.run(&["run-due"]).code(2);
    assert!(refused.stderr.contains("schedule"), "{}", refused.stderr);
}

#[test]
fn run_due_refuses_to_run_beside_an_agent() {
    let site = Site::new(10_000);
    site.configure(
        "",
        "[[job]]\nname = \"a\"\ncommand = [\"verify\"]\nschedule = \"0 3 * * *\"\n",
    );
    let _agent = site.start_agent();
    let refused = site.run(&["run-due"]).code(2);
    assert!(refused.stderr.contains("agent"), "{}", refused.stderr);
    let second = site.command().arg("agent").output().unwrap();
    assert_eq!(second.status.code(), Some(2));
}

#[test]
fn an_agent_back_from_downtime_runs_a_missed_job_once() {
    let site = Site::new(100_000);
    site.configure(
        "missed_after = \"1s\"",
        &format!(
            "[[job]]\nname = \"often\"\ncommand = [\"backup\", \"{}\"]\nschedule = \"*/2 * * * * *\"\n",
            site.data.display()
        ),
    );
    let mut agent = site.start_agent();
    agent.wait_for("a first run", Duration::from_secs(30), || {
        Agent::job(&agent.status(), "often")["runs"]["success"] == 1
    });
    agent.signal(libc::SIGTERM);
    assert_eq!(agent.wait_exit(Duration::from_secs(30)), 0);
    drop(agent);
    std::thread::sleep(Duration::from_secs(5));
    let agent = site.start_agent();
    agent.wait_for("the catch-up run", Duration::from_secs(30), || {
        Agent::job(&agent.status(), "often")["last_missed"].is_object()
    });
    let status = agent.status();
    let job = Agent::job(&status, "often");
    let missed = &job["last_missed"];
    assert!(missed["slots"].as_u64().unwrap() >= 2, "{job}");
    assert_eq!(missed["policy"], "run-once");
    assert!(
        agent.log().contains("policy run-once: running now"),
        "{}",
        agent.log()
    );
}

#[test]
fn a_job_that_needs_a_lock_held_by_another_waits_for_it() {
    let site = Site::new(48_000_000);
    site.configure(
        "",
        &format!(
            "[[job]]\nname = \"nightly\"\ncommand = [\"backup\", \"{}\"]\n{YEARLY}\n\n\
             [[job]]\nname = \"prune\"\ncommand = [\"prune\"]\n{YEARLY}\n",
            site.data.display()
        ),
    );
    let agent = site.start_agent();
    http(agent.port, "POST", "/trigger/nightly", Some(TOKEN)).unwrap();
    agent.wait_for("the backup's lock", Duration::from_secs(20), || {
        lock_count(&site.env.repo()) > 0
    });
    assert_eq!(
        http(agent.port, "POST", "/trigger/prune", Some(TOKEN))
            .unwrap()
            .0,
        202
    );
    agent.wait_for("both jobs", Duration::from_secs(120), || {
        let status = agent.status();
        ["nightly", "prune"]
            .iter()
            .all(|name| Agent::job(&status, name)["last_end"].is_string())
    });
    let status = agent.status();
    let backup = Agent::job(&status, "nightly");
    let prune = Agent::job(&status, "prune");
    assert_eq!(backup["last_outcome"], "success", "{}", agent.log());
    assert_eq!(prune["last_outcome"], "success", "{}", agent.log());
    assert!(
        seconds_of(&prune["last_end"]) >= seconds_of(&backup["last_end"]),
        "prune ran only after the backup let go of the repository"
    );
    assert!(
        agent
            .log()
            .contains("[prune] firedrill: waiting for the lock"),
        "{}",
        agent.log()
    );
}

#[test]
fn run_due_writes_metrics_for_the_textfile_collector_and_records_the_plan() {
    let site = Site::new(100_000);
    let every_second = "schedule = \"* * * * * *\"";
    site.configure(
        "",
        &format!(
            "[[job]]\nname = \"backup\"\ncommand = [\"backup\", \"{}\"]\n{every_second}\n\n\
             [[job]]\nname = \"plan\"\ncommand = [\"plan\", \"check\"]\n{every_second}\n",
            site.data.display()
        ),
    );
    // A drill the plan requires, never run: the plan is NOT MET.
    let mut config = std::fs::read_to_string(site.config_path()).unwrap();
    config.push_str("\n[[plan.require]]\ndrill = \"restore-check\"\nevery = \"7d\"\n");
    std::fs::write(site.config_path(), config).unwrap();
    let file = site.env.path("textfile/firedrill.prom");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let file_arg = file.to_str().unwrap();
    site.run(&["run-due", "--metrics-file", file_arg]).ok();
    std::thread::sleep(Duration::from_millis(1100));
    // The plan check finds NOT MET: the pass exits 1.
    site.run(&["run-due", "--metrics-file", file_arg]).code(1);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(!text.contains("# EOF"), "classic text format: {text}");
    let samples = parse_exposition(&text, "prometheus_client.parser");
    let backup = [("job_name", "backup"), ("kind", "backup")];
    assert_eq!(
        sample(
            &samples,
            "firedrill_job_runs_total",
            &[("job_name", "backup"), ("outcome", "success")]
        ),
        1.0
    );
    assert_eq!(
        sample(&samples, "firedrill_job_last_processed_bytes", &backup),
        100_000.0
    );
    assert_eq!(sample(&samples, "firedrill_plan_met", &[]), 0.0);
    assert!(
        !samples
            .iter()
            .any(|(name, _, _)| name.starts_with("firedrill_agent_")),
        "run-due is not an agent"
    );
    let status = site.run(&["--json", "status"]).ok().json();
    assert_eq!(Agent::job(&status, "plan")["last_outcome"], "failure");
    assert_eq!(status["plan"]["met"], false, "{status}");
    assert!(
        status["plan"]["unmet"]
            .to_string()
            .contains("restore-check"),
        "{status}"
    );
    let mode = std::fs::metadata(&file).unwrap().permissions();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
        0o644,
        "readable by the collector"
    );
}

#[test]
fn a_damaged_state_file_is_named_and_nothing_runs() {
    let site = Site::new(10_000);
    site.configure(
        "",
        "[[job]]\nname = \"a\"\ncommand = [\"verify\"]\nschedule = \"* * * * * *\"\n",
    );
    site.run(&["run-due"]).ok();
    let state = site.env.path("state/agent-state.json");
    std::fs::write(&state, "{\"version\": 1, \"jobs\": {\"a\": tru").unwrap();
    for args in [&["status"][..], &["run-due"][..]] {
        let refused = site.run(args).code(3);
        assert!(
            refused.stderr.contains("agent-state.json") && refused.stderr.contains("move it aside"),
            "{args:?}: {}",
            refused.stderr
        );
    }
    let agent = site.command().arg("agent").output().unwrap();
    assert_eq!(agent.status.code(), Some(3));
    // The damaged file is left as it was, for the operator to look at.
    assert_eq!(
        std::fs::read_to_string(&state).unwrap(),
        "{\"version\": 1, \"jobs\": {\"a\": tru"
    );
}

#[test]
fn a_job_can_run_with_its_own_config_and_credentials() {
    let site = Site::new(10_000);
    site.env.run(&["backup", site.data.to_str().unwrap()]).ok();
    std::fs::write(
        site.env.path("maintenance.toml"),
        "[repository]\nlocation = \"repo\"\npassword_env = \"MAINTENANCE_PASSWORD\"\n",
    )
    .unwrap();
    site.configure(
        "",
        "[[job]]\nname = \"prune\"\ncommand = [\"prune\"]\nconfig = \"maintenance.toml\"\nschedule = \"* * * * * *\"\n",
    );
    site.run(&["run-due"]).ok();
    std::thread::sleep(Duration::from_millis(1100));
    site.run(&["run-due"]).code(3);
    let status = site.run(&["--json", "status"]).ok().json();
    let error = Agent::job(&status, "prune")["last_error"].to_string();
    assert!(error.contains("MAINTENANCE_PASSWORD"), "{error}");

    std::thread::sleep(Duration::from_millis(1100));
    let with_secret: Run = site
        .command()
        .env("MAINTENANCE_PASSWORD", PASSWORD)
        .arg("run-due")
        .output()
        .unwrap()
        .into();
    with_secret.ok();

    std::fs::remove_file(site.env.path("maintenance.toml")).unwrap();
    let refused = site.run(&["run-due"]).code(2);
    assert!(
        refused.stderr.contains("maintenance.toml"),
        "{}",
        refused.stderr
    );
}

#[test]
fn a_second_stop_signal_ends_the_grace_period() {
    let site = Site::with_backup_job(64_000_000, "stop_grace = \"10m\"");
    let mut agent = site.start_agent();
    agent.run_now("nightly");
    agent.signal(libc::SIGTERM);
    std::thread::sleep(Duration::from_millis(300));
    agent.signal(libc::SIGINT);
    assert_eq!(
        agent.wait_exit(Duration::from_secs(30)),
        0,
        "{}",
        agent.log()
    );
    assert_eq!(
        site.state()["jobs"]["nightly"]["last_outcome"],
        "interrupted"
    );
    site.run(&["verify", "--read-data"]).ok();
}

#[test]
fn a_command_stopped_by_a_signal_removes_its_lock() {
    let site = Site::new(64_000_000);
    for signal in [libc::SIGTERM, libc::SIGINT] {
        let backup = site
            .env
            .cmd()
            .args(["backup", site.data.to_str().unwrap()])
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let start = Instant::now();
        while lock_count(&site.env.repo()) == 0 {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "no lock appeared"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        // SAFETY: kill(2) on our own child.
        unsafe {
            libc::kill(backup.id() as i32, signal);
        }
        let out = backup.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(128 + signal), "{stderr}");
        assert!(stderr.contains("removed 1 repository lock"), "{stderr}");
        assert_eq!(lock_count(&site.env.repo()), 0);
    }
    site.env.run(&["verify", "--read-data"]).ok();
}
