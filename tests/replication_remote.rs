//! Replication across real servers: SeaweedFS instances standing for two S3 regions and
//! fake-gcs-server standing for Google Cloud Storage, reached over https where the
//! test CA allows it (the TLS set-up that only breaks in production otherwise).

mod common;
mod servers;

use common::{Env, Run, assert_same_tree, random_bytes, restored_root, write};
use servers::gcs::FakeGcs;
use servers::seaweed::Seaweed;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

const KEY_ENV: &str = "TEST_S3_KEY";
const SECRET_ENV: &str = "TEST_S3_SECRET";

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// Keys under `prefix` in a SeaweedFS bucket, with their sizes.
fn s3_objects(server: &Seaweed, bucket: &str, prefix: &str) -> Vec<(String, i64)> {
    block_on(async {
        let client = server.client();
        let mut out = Vec::new();
        let mut pages = client
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            for o in page.unwrap().contents() {
                out.push((o.key().unwrap().to_string(), o.size().unwrap_or(0)));
            }
        }
        out
    })
}

struct Stack {
    env: Env,
    source: PathBuf,
    config: PathBuf,
    /// Buckets: primary (region a), replica (region b), GCS.
    buckets: [String; 3],
}

fn s3_store(name: &str, endpoint: &str, bucket: &str, region: &str, secret_env: &str) -> String {
    format!(
        "name = {name:?}\nlocation = \"s3:{endpoint}/{bucket}/repo\"\nregion = {region:?}\n\
         jurisdiction = \"EU\"\n\
         credentials = {{ access_key_id_env = \"{KEY_ENV}\", secret_access_key_env = \"{secret_env}\" }}\n"
    )
}

impl Stack {
    /// A repository on S3 region a (over https) with two snapshots, and a config that
    /// declares S3 region b (plain http on loopback) and GCS (https) as replicas.
    fn new(replica_b: &Seaweed, files: usize, file_size: usize) -> Stack {
        let (a, gcs) = (Seaweed::shared(0), FakeGcs::shared());
        let buckets = [
            a.unique_bucket("primary"),
            replica_b.unique_bucket("replica"),
            gcs.unique_bucket("gcs-replica"),
        ];
        let env = Env::new();
        let config = env.path("firedrill.toml");
        let text = format!(
            "[repository]\npassword_env = \"FIREDRILL_PASSWORD\"\n\n[primary]\n{}\n[[replica]]\n{}\n\
             [[replica]]\nname = \"gcs-europe\"\nlocation = \"gs://{}/repo\"\nendpoint = {:?}\n\
             region = \"europe-west1\"\njurisdiction = \"EU\"\ncredentials = {{ anonymous = true }}\n\n\
             [placement]\nmin_replicas = 2\nmin_providers = 2\nmin_regions = 3\nallowed_jurisdictions = [\"EU\"]\n",
            s3_store(
                "primary",
                &a.https_endpoint,
                &buckets[0],
                "eu-west",
                SECRET_ENV
            ),
            s3_store(
                "s3-eu-central",
                &replica_b.endpoint,
                &buckets[1],
                "eu-central",
                SECRET_ENV
            ),
            buckets[2],
            gcs.https_endpoint,
        );
        std::fs::write(&config, text).unwrap();
        let stack = Stack {
            source: env.path("data"),
            env,
            config,
            buckets,
        };
        for i in 0..files {
            write(
                &stack.source.join(format!("d{}/f{i}.bin", i % 4)),
                &random_bytes(file_size, i as u64),
            );
        }
        stack.run(common::QUICK_INIT).ok();
        stack.run(&["backup", stack.source.to_str().unwrap()]).ok();
        write(&stack.source.join("later.txt"), b"second snapshot");
        stack.run(&["backup", stack.source.to_str().unwrap()]).ok();
        stack
    }

    fn cmd(&self) -> Command {
        let a = Seaweed::shared(0);
        let mut cmd = self.env.cmd();
        cmd.env_remove("FIREDRILL_REPO")
            .env("FIREDRILL_CONFIG", &self.config)
            .env("FIREDRILL_RETRY_SECONDS", "2")
            .env("SSL_CERT_FILE", &servers::tls::test_ca().ca_cert)
            .env(KEY_ENV, &a.access_key)
            .env(SECRET_ENV, &a.secret_key);
        cmd
    }

    fn run(&self, args: &[&str]) -> Run {
        self.cmd().args(args).output().unwrap().into()
    }

    /// Restores the latest snapshot from one replica alone, as if the primary were lost.
    fn assert_restorable_from(&self, location: &str, extra_env: &[(&str, &str)]) {
        let target = self.env.path(&format!("restored-{}", location.len()));
        let mut cmd = self.cmd();
        cmd.env_remove("FIREDRILL_CONFIG")
            .env("FIREDRILL_REPO", location)
            .env("AWS_ACCESS_KEY_ID", &Seaweed::shared(0).access_key)
            .env("AWS_SECRET_ACCESS_KEY", &Seaweed::shared(0).secret_key);
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let run: Run = cmd
            .args(["restore", "latest", "--target", target.to_str().unwrap()])
            .output()
            .unwrap()
            .into();
        run.ok();
        assert_same_tree(&self.source, &restored_root(&target, &self.source));
    }
}

#[test]
fn replicates_to_a_second_s3_region_and_gcs_over_https() {
    let b = Seaweed::shared(1);
    let stack = Stack::new(b, 12, 150_000);
    let report = stack.run(&["--json", "replicate"]).ok().json();
    for r in report["replicas"].as_array().unwrap() {
        assert_eq!(r["status"], "complete", "{r}");
        assert_eq!(r["snapshots_copied"], 2, "{r}");
    }
    assert_eq!(report["primary"]["transport"], "https");
    assert_eq!(report["replicas"][0]["transport"], "loopback_http");
    assert_eq!(report["replicas"][1]["transport"], "https");
    assert_eq!(report["placement"]["satisfied"], true, "{report}");

    // Each replica restores on its own.
    stack.assert_restorable_from(&format!("s3:{}/{}/repo", b.endpoint, stack.buckets[1]), &[]);
    let gcs = FakeGcs::shared();
    stack.assert_restorable_from(
        &format!("gs://{}/repo", stack.buckets[2]),
        &[("STORAGE_EMULATOR_HOST", gcs.endpoint.as_str())],
    );

    let status = stack.run(&["--json", "replicas"]).ok().json();
    let stores = status["stores"].as_array().unwrap();
    assert_eq!(stores.len(), 3);
    for s in stores {
        assert_eq!(s["reachable"], true, "{s}");
        assert_eq!(s["missing_objects"], 0, "{s}");
        assert_eq!(s["snapshots"], 2, "{s}");
    }
    assert_eq!(stores[2]["provider"], "gcs");
    assert_eq!(stores[2]["endpoint"], gcs.https_endpoint.as_str());
}

#[test]
fn a_replica_server_killed_mid_run_lags_then_catches_up() {
    let b = Seaweed::start();
    let stack = Stack::new(&b, 40, 1_000_000);
    let child = stack
        .cmd()
        .args(["--json", "replicate", "--jobs", "1"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_objects(&b, &stack.buckets[1], 3);
    b.stop();
    let run: Run = child.wait_with_output().unwrap().into();
    let report = run.code(3).json();
    assert_eq!(report["replicas"][0]["status"], "failed", "{report}");
    assert!(
        report["replicas"][0]["errors"]
            .to_string()
            .contains("s3-eu-central"),
        "{report}"
    );
    assert_eq!(report["replicas"][1]["status"], "complete", "{report}");
    assert_eq!(report["placement"]["satisfied"], false);

    let status = stack.run(&["--json", "replicas"]).code(1).json();
    assert_eq!(status["stores"][1]["reachable"], false, "{status}");

    b.restart();
    let status = stack.run(&["--json", "replicas"]).code(1).json();
    let lagging = &status["stores"][1];
    assert!(
        lagging["missing_objects"].as_u64().unwrap() > 0,
        "{lagging}"
    );
    assert_eq!(
        lagging["snapshots"], 0,
        "snapshots must come last: {lagging}"
    );

    let report = stack.run(&["--json", "replicate"]).ok().json();
    assert_eq!(report["replicas"][0]["status"], "complete", "{report}");
    assert!(report["replicas"][0]["objects_present"].as_u64().unwrap() >= 3);
    let status = stack.run(&["--json", "replicas"]).ok().json();
    assert_eq!(status["stores"][1]["missing_objects"], 0);
    stack.assert_restorable_from(&format!("s3:{}/{}/repo", b.endpoint, stack.buckets[1]), &[]);
}

fn wait_for_objects(server: &Seaweed, bucket: &str, at_least: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while s3_objects(server, bucket, "repo/data/").len() < at_least {
        assert!(Instant::now() < deadline, "replication never started");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_killed_replication_resumes_and_never_lists_a_snapshot_early() {
    let b = Seaweed::shared(1);
    let stack = Stack::new(b, 40, 1_000_000);
    let mut child = stack
        .cmd()
        .args(["replicate", "--jobs", "1", "--to", "s3-eu-central"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_for_objects(b, &stack.buckets[1], 3);
    child.kill().unwrap();
    child.wait().unwrap();
    let held = s3_objects(b, &stack.buckets[1], "repo/");
    let primary = s3_objects(Seaweed::shared(0), &stack.buckets[0], "repo/data/");
    let held_data = held
        .iter()
        .filter(|(k, _)| k.starts_with("repo/data/"))
        .count();
    assert!(
        held_data < primary.len(),
        "killed too late to test a resume"
    );
    assert!(
        !held.iter().any(|(k, _)| k.starts_with("repo/snapshots/")),
        "a snapshot was listed before its data: {held:?}"
    );

    let report = stack
        .run(&["--json", "replicate", "--to", "s3-eu-central"])
        .ok()
        .json();
    let r = &report["replicas"][0];
    assert_eq!(r["status"], "complete", "{r}");
    assert!(
        r["objects_present"].as_u64().unwrap() >= held_data as u64,
        "{r}"
    );
    stack.assert_restorable_from(&format!("s3:{}/{}/repo", b.endpoint, stack.buckets[1]), &[]);
}

#[test]
fn damage_on_a_replica_is_found_and_healed() {
    let b = Seaweed::shared(1);
    let stack = Stack::new(b, 8, 200_000);
    stack.run(&["replicate"]).ok();
    let bucket = &stack.buckets[1];
    let data: Vec<(String, i64)> = s3_objects(b, bucket, "repo/data/");
    let (deleted, corrupted) = (data[0].0.clone(), data[1].0.clone());
    block_on(async {
        let client = b.client();
        client
            .delete_object()
            .bucket(bucket)
            .key(&deleted)
            .send()
            .await
            .unwrap();
        let body = client
            .get_object()
            .bucket(bucket)
            .key(&corrupted)
            .send()
            .await
            .unwrap();
        let mut bytes = body.body.collect().await.unwrap().into_bytes().to_vec();
        bytes[100] ^= 0x01;
        client
            .put_object()
            .bucket(bucket)
            .key(&corrupted)
            .body(bytes.into())
            .send()
            .await
            .unwrap();
    });

    let audit = stack
        .run(&["--json", "verify", "--replica", "s3-eu-central"])
        .code(1)
        .json();
    assert_eq!(
        audit["missing"][0].as_str().unwrap(),
        deleted.trim_start_matches("repo/")
    );
    assert!(
        audit["damaged"][0]
            .as_str()
            .unwrap()
            .starts_with(corrupted.trim_start_matches("repo/")),
        "{audit}"
    );
    let healed = stack.run(&["--json", "replicate", "--heal"]).ok().json();
    assert_eq!(healed["stores"][1]["repaired"], 2, "{healed}");
    stack.run(&["verify", "--replica", "s3-eu-central"]).ok();
    stack.assert_restorable_from(&format!("s3:{}/{}/repo", b.endpoint, bucket), &[]);
}

#[test]
fn wrong_credentials_name_the_replica() {
    let b = Seaweed::shared(1);
    let stack = Stack::new(b, 2, 10_000);
    let text = std::fs::read_to_string(&stack.config).unwrap();
    let marker = "name = \"s3-eu-central\"";
    let (head, tail) = text.split_once(marker).unwrap();
    let tail = tail.replacen(SECRET_ENV, "TEST_WRONG_SECRET", 1);
    std::fs::write(&stack.config, format!("{head}{marker}{tail}")).unwrap();
    let run: Run = stack
        .cmd()
        .env("TEST_WRONG_SECRET", "not-the-secret")
        .args(["--json", "replicate"])
        .output()
        .unwrap()
        .into();
    let report = run.code(3).json();
    let errors = report["replicas"][0]["errors"].to_string();
    assert!(errors.contains("s3-eu-central"), "{errors}");
    assert!(errors.to_lowercase().contains("credentials"), "{errors}");
    assert_eq!(report["replicas"][0]["objects_copied"], 0);
    assert_eq!(report["replicas"][1]["status"], "complete");
}

#[test]
fn a_repository_on_s3_works_from_the_command_line_alone() {
    let a = Seaweed::shared(0);
    let bucket = a.unique_bucket("cli");
    let env = Env::new();
    let location = format!("s3:{}/{bucket}/team/repo", a.endpoint);
    let run = |args: &[&str]| -> Run {
        env.cmd()
            .env("FIREDRILL_REPO", &location)
            .env("AWS_ACCESS_KEY_ID", &a.access_key)
            .env("AWS_SECRET_ACCESS_KEY", &a.secret_key)
            .args(args)
            .output()
            .unwrap()
            .into()
    };
    run(&["init", "--kdf-memory-mib", "8", "--kdf-iterations", "1"]).ok();
    let source = env.path("data");
    write(&source.join("x.bin"), &random_bytes(300_000, 5));
    run(&["backup", source.to_str().unwrap()]).ok();
    run(&["verify", "--read-data"]).ok();
    let target = env.path("out");
    run(&["restore", "latest", "--target", target.to_str().unwrap()]).ok();
    assert_same_tree(&source, &restored_root(&target, &source));
    assert!(
        s3_objects(a, &bucket, "team/repo/")
            .iter()
            .any(|(k, _)| k == "team/repo/config")
    );
}

#[test]
fn a_drill_restores_from_gcs_with_the_s3_provider_lost() {
    let b = Seaweed::shared(1);
    let stack = Stack::new(b, 10, 120_000);
    stack.run(&["replicate"]).ok();
    let drill = stack.env.path("provider-lost.toml");
    std::fs::write(
        &drill,
        "[source]\nlost = [\"primary\", \"s3-eu-central\"]\n[targets]\nrto = \"10m\"\nrpo = \"1h\"\n",
    )
    .unwrap();
    let report = stack
        .run(&["--json", "drill", "run", drill.to_str().unwrap()])
        .ok()
        .json();
    assert_eq!(report["verdict"], "PASS", "{report}");
    assert_eq!(report["source"]["store"], "gcs-europe");
    assert_eq!(report["restore"]["files_restored"], 11);
    assert_eq!(report["stores"][2]["provider"], "gcs");
    // The report is kept on every store, S3 and GCS alike.
    let list = stack.run(&["--json", "report", "list"]).ok().json();
    let id = list[0]["id"].as_str().unwrap().to_string();
    assert!(
        s3_objects(b, &stack.buckets[1], "repo/reports/")
            .iter()
            .any(|(k, _)| k.ends_with(&id))
    );
    // With GCS down as well, nothing remains to restore from: the drill cannot run.
    std::fs::write(
        &drill,
        "[source]\nlost = [\"primary\", \"s3-eu-central\"]\n[faults]\noutage = [\"gcs-europe\"]\n",
    )
    .unwrap();
    let report = stack
        .run(&["--json", "drill", "run", drill.to_str().unwrap()])
        .json();
    assert_eq!(report["faults"][0]["detected"], true, "{report}");
    assert!(
        report["errors"][0]
            .as_str()
            .unwrap()
            .contains("no remaining store"),
        "{report}"
    );
}
