//! Replication between local directories standing for regions: complete copies that
//! restore on their own, resumable runs, damage found and healed, and the placement
//! policy. The same engine runs against S3 and GCS in `replication_remote.rs`.

mod common;

use common::{Env, assert_same_tree, random_bytes, restored_root, write};
use std::path::{Path, PathBuf};

struct Plan {
    env: Env,
    source: PathBuf,
}

impl Plan {
    /// A repository with two snapshots and a config declaring two local replicas.
    fn new(placement: &str, us_replica: bool) -> Plan {
        let env = Env::new();
        env.init();
        let source = env.path("data");
        for i in 0..12 {
            write(
                &source.join(format!("dir{}/file{i}.bin", i % 3)),
                &random_bytes(30_000 + i * 20_000, i as u64),
            );
        }
        env.backup(&source);
        write(
            &source.join("later.txt"),
            b"written after the first snapshot",
        );
        env.backup(&source);
        let config = format!(
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
region = "{}"
jurisdiction = "{}"

[placement]
{placement}
"#,
            if us_replica { "us-east" } else { "region-c" },
            if us_replica { "US" } else { "EU" },
        );
        std::fs::write(env.path("firedrill.toml"), config).unwrap();
        Plan { env, source }
    }

    fn run(&self, args: &[&str]) -> common::Run {
        let config = self.env.path("firedrill.toml");
        let mut all = vec!["--config", config.to_str().unwrap()];
        all.extend_from_slice(args);
        self.env
            .cmd()
            .env_remove("FIREDRILL_REPO")
            .env("FIREDRILL_RETRY_SECONDS", "1")
            .args(&all)
            .output()
            .unwrap()
            .into()
    }

    fn replica(&self, name: &str) -> PathBuf {
        self.env.path(name)
    }

    /// Restores the latest snapshot from a replica alone and compares it with the source.
    fn assert_restorable_from(&self, replica: &Path) {
        let target = self.env.path(&format!(
            "restored-{}",
            replica.file_name().unwrap().to_str().unwrap()
        ));
        self.env
            .cmd()
            .env("FIREDRILL_REPO", replica)
            .args(["restore", "latest", "--target", target.to_str().unwrap()])
            .output()
            .map(common::Run::from)
            .unwrap()
            .ok();
        assert_same_tree(&self.source, &restored_root(&target, &self.source));
    }
}

fn objects(dir: &Path) -> Vec<PathBuf> {
    common::files_below(dir)
        .into_iter()
        .filter(|p| !p.starts_with(dir.join("locks")))
        .collect()
}

fn object_under(dir: &Path, prefix: &str) -> PathBuf {
    objects(dir)
        .into_iter()
        .find(|p| p.starts_with(dir.join(prefix)))
        .unwrap_or_else(|| panic!("no object under {prefix}"))
}

#[test]
fn replicas_become_complete_independent_copies() {
    let plan = Plan::new("min_replicas = 2\nmin_regions = 3", false);
    let first = plan.run(&["--json", "replicate"]).ok().json();
    let replicas = first["replicas"].as_array().unwrap();
    assert_eq!(replicas.len(), 2);
    let primary_objects = objects(&plan.env.repo()).len() as u64;
    for r in replicas {
        assert_eq!(r["status"], "complete", "{r}");
        assert_eq!(r["objects_copied"], primary_objects, "{r}");
        assert_eq!(r["snapshots_copied"], 2, "{r}");
    }
    assert_eq!(first["placement"]["satisfied"], true);
    for name in ["replica-b", "replica-c"] {
        plan.assert_restorable_from(&plan.replica(name));
    }

    // Nothing new: nothing copied. A new snapshot: only its new objects.
    let again = plan.run(&["--json", "replicate"]).ok().json();
    for r in again["replicas"].as_array().unwrap() {
        assert_eq!(r["objects_copied"], 0, "{r}");
        assert_eq!(r["objects_present"], primary_objects, "{r}");
    }
    write(&plan.source.join("third.txt"), b"a third snapshot");
    plan.env.backup(&plan.source);
    let third = plan
        .run(&["--json", "replicate", "--to", "region-b"])
        .ok()
        .json();
    let r = &third["replicas"][0];
    assert_eq!(r["store"], serde_json::Value::Null);
    assert_eq!(r["name"], "region-b");
    assert_eq!(r["snapshots_copied"], 1);
    assert!(r["objects_copied"].as_u64().unwrap() < 8, "{r}");

    // region-c is now behind: status says what it lacks, and the plan is not met.
    let status = plan.run(&["--json", "replicas"]).code(1).json();
    let stores = status["stores"].as_array().unwrap();
    assert_eq!(stores[0]["role"], "primary");
    assert_eq!(stores[1]["missing_objects"], 0);
    assert!(stores[2]["missing_objects"].as_u64().unwrap() > 0);
    assert_eq!(stores[1]["snapshots"], 3);
    assert_eq!(stores[2]["snapshots"], 2);
    assert!(stores[1]["rpo_lag_seconds"].as_i64().unwrap() < 600);
    assert_eq!(status["placement"]["satisfied"], false);
    let human = plan.run(&["replicas"]).code(1);
    assert!(human.stdout.contains("region-c"), "{}", human.stdout);
    assert!(human.stdout.contains("NOT met"), "{}", human.stdout);
}

#[test]
fn an_unreachable_replica_does_not_stop_the_others() {
    let plan = Plan::new("min_replicas = 2", false);
    let config = std::fs::read_to_string(plan.env.path("firedrill.toml")).unwrap();
    // Nothing listens on port 9 of this machine: every request is refused.
    let config = config.replace(
        "location = \"replica-c\"",
        "location = \"s3:http://127.0.0.1:9/bucket/repo\"",
    );
    std::fs::write(plan.env.path("firedrill.toml"), config).unwrap();
    let run = plan
        .env
        .cmd()
        .env_remove("FIREDRILL_REPO")
        .env("FIREDRILL_RETRY_SECONDS", "1")
        .env("AWS_ACCESS_KEY_ID", "k")
        .env("AWS_SECRET_ACCESS_KEY", "s")
        .args([
            "--config",
            plan.env.path("firedrill.toml").to_str().unwrap(),
        ])
        .args(["--json", "replicate"])
        .output()
        .map(common::Run::from)
        .unwrap()
        .code(3);
    let report = run.json();
    assert_eq!(report["replicas"][0]["status"], "complete");
    assert_eq!(report["replicas"][1]["status"], "failed");
    let errors = report["replicas"][1]["errors"].to_string();
    assert!(errors.contains("region-c"), "{errors}");
    assert_eq!(report["placement"]["satisfied"], false);
    plan.assert_restorable_from(&plan.replica("replica-b"));
}

#[test]
fn damage_on_any_copy_is_found_and_healed() {
    let plan = Plan::new("", false);
    plan.run(&["replicate"]).ok();
    let b = plan.replica("replica-b");
    let c = plan.replica("replica-c");
    // Replica b: one pack deleted, one truncated. Replica c: one byte flipped in an
    // index. The primary: one snapshot corrupted.
    let deleted = object_under(&b, "data");
    std::fs::remove_file(&deleted).unwrap();
    let truncated = objects(&b)
        .into_iter()
        .filter(|p| p.starts_with(b.join("data")))
        .nth(1)
        .unwrap();
    let bytes = std::fs::read(&truncated).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let flipped = object_under(&c, "index");
    let mut bytes = std::fs::read(&flipped).unwrap();
    bytes[10] ^= 0x40;
    std::fs::write(&flipped, &bytes).unwrap();
    let primary_snapshot = object_under(&plan.env.repo(), "snapshots");
    let mut bytes = std::fs::read(&primary_snapshot).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&primary_snapshot, &bytes).unwrap();

    let audit = plan
        .run(&["--json", "verify", "--replica", "region-b"])
        .code(1)
        .json();
    assert_eq!(audit["missing"].as_array().unwrap().len(), 1, "{audit}");
    assert_eq!(audit["damaged"].as_array().unwrap().len(), 1, "{audit}");
    let human = plan.run(&["verify", "--replica", "region-c"]).code(1);
    assert!(human.stdout.contains("damaged: index/"), "{}", human.stdout);

    let healed = plan.run(&["--json", "replicate", "--heal"]).ok().json();
    let stores = healed["stores"].as_array().unwrap();
    assert_eq!(stores[0]["name"], "primary");
    assert_eq!(stores[0]["repaired"], 1, "{healed}");
    assert_eq!(stores[1]["repaired"], 2, "{healed}");
    assert_eq!(stores[2]["repaired"], 1, "{healed}");

    for name in ["region-b", "region-c"] {
        plan.run(&["verify", "--replica", name]).ok();
    }
    plan.env.run(&["verify", "--read-data"]).ok();
    plan.assert_restorable_from(&b);
    plan.assert_restorable_from(&c);
}

#[test]
fn an_eu_only_plan_refuses_a_us_replica() {
    let plan = Plan::new("allowed_jurisdictions = [\"EU\"]", true);
    let report = plan.run(&["--json", "replicate"]).code(1).json();
    assert_eq!(report["replicas"][0]["status"], "complete");
    let us = &report["replicas"][1];
    assert_eq!(us["status"], "refused");
    assert!(us["errors"][0].as_str().unwrap().contains("\"US\""), "{us}");
    assert!(
        !plan.replica("replica-c").exists(),
        "data was sent to the US replica"
    );
    let rules = &report["placement"]["rules"];
    assert_eq!(rules[0]["detail"], "outside: region-c (US)", "{rules}");
    let human = plan.run(&["replicas"]).code(1);
    assert!(human.stdout.contains("REFUSED"), "{}", human.stdout);
    assert!(
        human.stdout.contains("[FAIL] data only in EU"),
        "{}",
        human.stdout
    );
}

#[test]
fn a_replica_of_another_repository_is_refused() {
    let plan = Plan::new("", false);
    let other = Env::new();
    other
        .cmd()
        .env("FIREDRILL_REPO", plan.replica("replica-b"))
        .args(["init", "--kdf-memory-mib", "8", "--kdf-iterations", "1"])
        .output()
        .map(common::Run::from)
        .unwrap()
        .ok();
    let report = plan.run(&["--json", "replicate"]).code(3).json();
    let errors = report["replicas"][0]["errors"].to_string();
    assert!(errors.contains("different repository"), "{errors}");
    assert_eq!(report["replicas"][1]["status"], "complete");
}

#[test]
fn replicate_to_a_location_without_a_config() {
    let env = Env::new();
    env.init();
    let source = env.path("data");
    write(&source.join("a.bin"), &random_bytes(200_000, 1));
    env.backup(&source);
    let copy = env.path("copy");
    env.run(&["replicate", "--to", copy.to_str().unwrap()]).ok();
    let target = env.path("restored");
    env.cmd()
        .env("FIREDRILL_REPO", &copy)
        .args(["restore", "latest", "--target", target.to_str().unwrap()])
        .output()
        .map(common::Run::from)
        .unwrap()
        .ok();
    assert_same_tree(&source, &restored_root(&target, &source));
    let err = env.run(&["replicate"]).code(2);
    assert!(err.stderr.contains("no replicas"), "{}", err.stderr);
    let err = env.run(&["replicate", "--to", "nosuch"]).code(2);
    assert!(err.stderr.contains("no replica named"), "{}", err.stderr);
}
