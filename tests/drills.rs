//! Restore drills on local directories standing for regions: verdicts, targets, checks,
//! injected faults, replay by seed, and the chain of reports kept in the repository.
//! The same drills run against S3 and GCS in `drills_remote.rs`.

mod common;

use common::{Env, Run, random_bytes, write};
use std::path::PathBuf;

struct Plan {
    env: Env,
    source: PathBuf,
}

impl Plan {
    /// A repository with one snapshot, replicated to two local replicas, and a config
    /// with a plan section and a drills directory.
    fn new() -> Plan {
        let env = Env::new();
        env.init();
        let source = env.path("data");
        for i in 0..40 {
            write(
                &source.join(format!("dir{}/file{i:02}.bin", i % 4)),
                &random_bytes(5_000 + i * 3_000, i as u64),
            );
        }
        write(&source.join("canary.txt"), b"canary v1\n");
        env.backup(&source);
        std::fs::write(
            env.path("firedrill.toml"),
            r#"
[repository]
password_env = "FIREDRILL_PASSWORD"

[primary]
location = "repo"
region = "region-a"
jurisdiction = "EU"

[[replica]]
name = "region-b"
location = "replica-b"
region = "region-b"
jurisdiction = "EU"

[[replica]]
name = "region-c"
location = "replica-c"
region = "region-c"
jurisdiction = "EU"

[plan]
rto = "1h"
rpo = "1d"

[reports]
dir = "reports"
"#,
        )
        .unwrap();
        std::fs::create_dir_all(env.path("drills")).unwrap();
        let plan = Plan { env, source };
        plan.run(&["replicate"]).ok();
        plan
    }

    fn drill(&self, name: &str, text: &str) {
        std::fs::write(self.env.path(&format!("drills/{name}.toml")), text).unwrap();
    }

    fn run(&self, args: &[&str]) -> Run {
        let config = self.env.path("firedrill.toml");
        self.env
            .cmd()
            .env_remove("FIREDRILL_REPO")
            .env("FIREDRILL_RETRY_SECONDS", "1")
            .arg("--config")
            .arg(&config)
            .args(args)
            .output()
            .unwrap()
            .into()
    }

    fn run_drill(&self, name: &str, code: i32) -> serde_json::Value {
        self.run(&["--json", "drill", "run", name])
            .code(code)
            .json()
    }
}

fn check<'a>(report: &'a serde_json::Value, prefix: &str) -> &'a serde_json::Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"].as_str().unwrap().starts_with(prefix))
        .unwrap_or_else(|| panic!("no check {prefix:?} in {report}"))
}

#[test]
fn a_primary_region_lost_drill_restores_from_a_replica_and_keeps_its_report() {
    let plan = Plan::new();
    let canary = format!(
        "[source]\nlost = [\"primary\"]\n\n[[checks.canary]]\npath = \"{}\"\ncontent = \"canary v1\\n\"\n",
        plan.source.join("canary.txt").display()
    );
    plan.drill("primary-lost", &canary);
    let report = plan.run_drill("primary-lost", 0);
    assert_eq!(report["verdict"], "PASS", "{report}");
    assert_eq!(report["schema_version"], 1);
    assert_ne!(report["source"]["store"], "primary");
    assert_eq!(report["source"]["lost"][0], "primary");
    assert_eq!(report["rto"]["target"], 3600.0);
    assert_eq!(report["rto"]["met"], true);
    assert_eq!(report["rpo"]["met"], true);
    assert_eq!(report["restore"]["files_restored"], 41);
    assert_eq!(check(&report, "BLAKE3")["passed"], true);
    assert_eq!(check(&report, "canary")["passed"], true);
    let phases: Vec<&str> = report["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for phase in [
        "choose source",
        "open source",
        "read index",
        "restore: plan",
        "restore: verify BLAKE3",
    ] {
        assert!(phases.contains(&phase), "{phases:?}");
    }
    let stores = report["stores"].as_array().unwrap();
    assert_eq!(stores.len(), 3);
    assert!(
        stores
            .iter()
            .all(|s| s["encryption"] == "AES-256-GCM, client-side")
    );
    assert_eq!(stores[0]["lost_in_drill"], true);

    // Stored in the repository on every store, and as a local file.
    for dir in ["repo", "replica-b", "replica-c"] {
        let held = common::files_below(&plan.env.path(&format!("{dir}/reports")));
        assert_eq!(held.len(), 1, "{dir}");
    }
    let local = common::files_below(&plan.env.path("reports"));
    assert!(
        local.iter().any(|p| p.extension().unwrap() == "json"),
        "{local:?}"
    );
    // No file content in the report: only hashes and counts.
    let text = report.to_string();
    assert!(!text.contains("canary v1"), "{text}");

    let second = plan.run_drill("primary-lost", 0);
    let list = plan.run(&["--json", "report", "list"]).ok().json();
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert_eq!(second["previous_report"], list[0]["id"]);
    plan.run(&["report", "verify"]).ok();
    let shown = plan
        .run(&["report", "show", "latest", "--format", "json"])
        .ok();
    assert!(
        shown.stdout.contains("\"primary-lost\""),
        "{}",
        shown.stdout
    );
}

#[test]
fn a_sample_is_replayed_by_its_seed() {
    let plan = Plan::new();
    plan.drill(
        "sample",
        "[source]\nstore = \"region-c\"\n[scope]\nkind = \"sample\"\npercent = 25\n",
    );
    let first = plan.run_drill("sample", 0);
    let seed = first["scope"]["seed"].as_u64().unwrap();
    assert_eq!(first["scope"]["files_selected"], 11, "{first}");
    assert_eq!(first["restore"]["files_restored"], 11);
    let replay = plan
        .run(&[
            "--json",
            "drill",
            "run",
            "sample",
            "--seed",
            &seed.to_string(),
        ])
        .ok()
        .json();
    assert_eq!(replay["scope"]["seed"], seed);
    assert_eq!(
        replay["scope"]["bytes_selected"],
        first["scope"]["bytes_selected"]
    );
    let other = plan
        .run(&[
            "--json",
            "drill",
            "run",
            "sample",
            "--seed",
            &(seed ^ 0xffff).to_string(),
        ])
        .ok()
        .json();
    assert_ne!(
        other["scope"]["bytes_selected"],
        first["scope"]["bytes_selected"]
    );
}

#[test]
fn missed_targets_and_failed_checks_fail_the_drill() {
    let plan = Plan::new();
    // RTO: a post-restore step that takes longer than the whole target.
    plan.drill(
        "slow",
        "[source]\nstore = \"region-b\"\n[targets]\nrto = \"1s\"\n\
         [checks.command]\nrun = [\"sleep\", \"1.5\"]\ntimeout = \"30s\"\n",
    );
    let slow = plan.run_drill("slow", 1);
    assert_eq!(slow["verdict"], "FAIL");
    assert_eq!(slow["rto"]["met"], false);
    assert!(slow["summary"].as_str().unwrap().contains("RTO"), "{slow}");

    // RPO: the newest snapshot is older than the target.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    plan.drill(
        "stale",
        "[source]\nstore = \"region-b\"\n[targets]\nrpo = \"1s\"\n",
    );
    let stale = plan.run_drill("stale", 1);
    assert_eq!(stale["rpo"]["met"], false, "{stale}");
    assert!(stale["rpo"]["measured"].as_f64().unwrap() > 1.0);

    // A post-restore command that fails, and one that hangs.
    plan.drill(
        "smoke",
        "[source]\nstore = \"region-b\"\n[checks.command]\nrun = [\"sh\", \"-c\", \"test -s {restore}/nonexistent\"]\ntimeout = \"30s\"\n",
    );
    let smoke = plan.run_drill("smoke", 1);
    let c = check(&smoke, "post-restore command");
    assert_eq!(c["passed"], false);
    assert_eq!(c["evidence"], "exit code 1");
    plan.drill(
        "hang",
        "[source]\nstore = \"region-b\"\n[checks.command]\nrun = [\"sleep\", \"30\"]\ntimeout = \"1s\"\n",
    );
    let hang = plan.run_drill("hang", 1);
    assert!(
        check(&hang, "post-restore command")["evidence"]
            .as_str()
            .unwrap()
            .contains("killed")
    );

    // A canary with other content.
    plan.drill(
        "canary",
        &format!(
            "[source]\nstore = \"region-b\"\n[[checks.canary]]\npath = \"{}\"\ncontent = \"canary v2\\n\"\n",
            plan.source.join("canary.txt").display()
        ),
    );
    let canary = plan.run_drill("canary", 1);
    assert_eq!(check(&canary, "canary")["passed"], false);
}

#[test]
fn injected_faults_must_be_detected() {
    let plan = Plan::new();
    plan.drill(
        "corruption",
        "[source]\nstore = \"region-b\"\n[faults]\ncorrupt_objects = 1\ndelete_objects = 1\n",
    );
    let report = plan.run_drill("corruption", 0);
    assert_eq!(report["verdict"], "PASS", "{report}");
    let faults = report["faults"].as_array().unwrap();
    assert_eq!(faults.len(), 2);
    assert!(faults.iter().all(|f| f["detected"] == true), "{report}");
    assert_eq!(check(&report, "every object of region-b")["passed"], false);
    // Injection happens in memory: the replica itself is intact.
    plan.run(&["verify", "--replica", "region-b"]).ok();

    plan.drill(
        "key",
        "[source]\nstore = \"region-b\"\n[faults]\nwrong_key = true\n",
    );
    let key = plan.run_drill("key", 0);
    assert_eq!(key["faults"][0]["detected"], true, "{key}");

    plan.drill(
        "outage",
        "[source]\nlost = [\"primary\"]\n[faults]\noutage = [\"region-b\"]\n",
    );
    let outage = plan.run_drill("outage", 0);
    assert_eq!(outage["source"]["store"], "region-c", "{outage}");
    assert_eq!(outage["restore"]["files_restored"], 41);

    // A fault nothing could notice (an outage of a store the drill never reads) is a
    // failed drill: the game day proved nothing.
    plan.drill(
        "unnoticed",
        "[source]\nlost = [\"primary\"]\n[faults]\noutage = [\"primary\"]\n",
    );
    let unnoticed = plan.run_drill("unnoticed", 1);
    assert!(
        unnoticed["summary"].as_str().unwrap().contains("unnoticed"),
        "{unnoticed}"
    );
}

#[test]
fn a_drill_that_cannot_run_is_an_error_and_bad_files_name_the_place() {
    let plan = Plan::new();
    plan.drill("empty", "[source]\nstore = \"region-d\"\n");
    let run = plan.run(&["drill", "run", "empty"]).code(2);
    assert!(run.stderr.contains("region-d"), "{}", run.stderr);

    // A replica location that holds no repository: the drill runs, and cannot restore.
    let config = std::fs::read_to_string(plan.env.path("firedrill.toml")).unwrap();
    std::fs::write(
        plan.env.path("firedrill.toml"),
        config.replace("location = \"replica-c\"", "location = \"nothing-here\""),
    )
    .unwrap();
    plan.drill("nothing", "[source]\nstore = \"region-c\"\n");
    let report = plan.run_drill("nothing", 3);
    assert_eq!(report["verdict"], "ERROR", "{report}");
    assert!(
        report["errors"][0].as_str().unwrap().contains("config"),
        "{report}"
    );

    plan.drill(
        "typo",
        "[source]\nstore = \"region-b\"\n[scope]\nkind = \"sample\"\npercnt = 5\n",
    );
    let bad = plan.run(&["drill", "run", "typo"]).code(2);
    assert!(bad.stderr.contains("typo.toml:"), "{}", bad.stderr);
    assert!(bad.stderr.contains("percnt"), "{}", bad.stderr);
    let list = plan.run(&["drill", "list"]).code(2);
    assert!(list.stdout.contains("INVALID"), "{}", list.stdout);
}

#[test]
fn a_removed_report_breaks_the_chain() {
    let plan = Plan::new();
    plan.drill("full", "[source]\nstore = \"region-b\"\n");
    for _ in 0..3 {
        plan.run_drill("full", 0);
    }
    let list = plan.run(&["--json", "report", "list"]).ok().json();
    let middle = list[1]["id"].as_str().unwrap();
    std::fs::remove_file(plan.env.path(&format!("repo/reports/{middle}"))).unwrap();
    let verify = plan.run(&["--json", "report", "verify"]).code(1).json();
    assert_eq!(verify["intact"], false);
    let breaks = verify["breaks"].to_string();
    assert!(breaks.contains(&middle[..8]), "{breaks}");
}

/// A webhook receiver on loopback: answers 503 to the first request and 200 to the
/// next, and hands back the bodies it received.
fn flaky_webhook() -> (String, std::thread::JoinHandle<Vec<String>>) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let mut bodies = Vec::new();
        for status in ["503 Service Unavailable", "200 OK"] {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream);
            let mut length = 0;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if line == "\r\n" || line.is_empty() {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap();
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            bodies.push(String::from_utf8(body).unwrap());
            let mut stream = reader.into_inner();
            write!(
                stream,
                "HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            )
            .unwrap();
        }
        bodies
    });
    (url, handle)
}

#[test]
fn a_failed_drill_is_posted_to_the_webhook_with_retries() {
    let plan = Plan::new();
    let config = std::fs::read_to_string(plan.env.path("firedrill.toml")).unwrap();
    std::fs::write(
        plan.env.path("firedrill.toml"),
        format!("{config}\n[notify]\nwebhook_url_env = \"TEST_WEBHOOK\"\non = \"failure\"\n"),
    )
    .unwrap();
    plan.drill(
        "smoke",
        "[source]\nstore = \"region-b\"\n[checks.command]\nrun = [\"false\"]\ntimeout = \"30s\"\n",
    );
    let (url, server) = flaky_webhook();
    let run: Run = plan
        .env
        .cmd()
        .env_remove("FIREDRILL_REPO")
        .env("TEST_WEBHOOK", &url)
        .arg("--config")
        .arg(plan.env.path("firedrill.toml"))
        .args(["drill", "run", "smoke"])
        .output()
        .unwrap()
        .into();
    let run = run.code(1);
    assert!(
        run.stdout
            .contains("webhook: delivered (HTTP 200, attempt 2)"),
        "{}",
        run.stdout
    );
    let bodies = server.join().unwrap();
    assert_eq!(bodies.len(), 2);
    let posted: serde_json::Value = serde_json::from_str(&bodies[1]).unwrap();
    assert_eq!(posted["report"]["verdict"], "FAIL");
    assert_eq!(posted["report"]["drill"], "smoke");
    assert_eq!(posted["report_id"].as_str().unwrap().len(), 64);
}

#[test]
fn the_plan_is_met_only_with_fresh_passing_drills_from_every_replica() {
    let plan = Plan::new();
    let config = std::fs::read_to_string(plan.env.path("firedrill.toml")).unwrap();
    let config = config.replace(
        "[plan]\nrto = \"1h\"\nrpo = \"1d\"\n",
        "[plan]\nrto = \"1h\"\nrpo = \"1d\"\nreplica_drill_every = \"31d\"\n\
         [[plan.require]]\ndrill = \"primary-lost\"\nevery = \"92d\"\n\n\
         [placement]\nmin_replicas = 2\nallowed_jurisdictions = [\"EU\"]\n",
    );
    std::fs::write(plan.env.path("firedrill.toml"), config).unwrap();

    let before = plan.run(&["--json", "plan", "check"]).code(1).json();
    assert_eq!(before["met"], false);
    let failing: Vec<&str> = before["rules"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["satisfied"] == false)
        .map(|r| r["rule"].as_str().unwrap())
        .collect();
    assert!(
        failing
            .iter()
            .any(|r| r.contains("replica region-b drilled")),
        "{failing:?}"
    );
    assert!(
        failing.iter().any(|r| r.contains("drill primary-lost")),
        "{failing:?}"
    );

    plan.drill("primary-lost", "[source]\nlost = [\"primary\"]\n");
    plan.drill("from-c", "[source]\nstore = \"region-c\"\n");
    plan.run_drill("primary-lost", 0);
    plan.run_drill("from-c", 0);
    let after = plan.run(&["plan", "check"]).ok();
    assert!(after.stdout.starts_with("plan: MET"), "{}", after.stdout);
    // Each report carries the plan as judged with itself counted.
    let report = plan.run_drill("from-c", 0);
    assert_eq!(report["plan"]["met"], true, "{report}");

    // A failing drill, however recent the others, makes the plan not met.
    plan.drill(
        "broken",
        "[source]\nstore = \"region-b\"\n[checks.command]\nrun = [\"false\"]\ntimeout = \"10s\"\n",
    );
    plan.run_drill("broken", 1);
    let broken = plan.run(&["plan", "check"]).code(1);
    assert!(
        broken
            .stdout
            .contains("[FAIL] the latest run of every drill passed"),
        "{}",
        broken.stdout
    );
}
