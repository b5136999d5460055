//! Drills against real servers: a SeaweedFS primary standing for one S3 region, a
//! second SeaweedFS instance as a replica in another, and fake-gcs-server as a GCS
//! replica. (The GCS restore with the whole S3 provider lost is in
//! `replication_remote.rs`, beside the replication it depends on.)

mod common;
mod servers;

use common::{Env, Run, random_bytes, write};
use servers::gcs::FakeGcs;
use servers::seaweed::Seaweed;
use std::path::PathBuf;

struct Stack {
    env: Env,
    source: PathBuf,
    buckets: [String; 3],
}

impl Stack {
    fn new() -> Stack {
        let (a, b, gcs) = (Seaweed::shared(0), Seaweed::shared(1), FakeGcs::shared());
        let buckets = [
            a.unique_bucket("drill-primary"),
            b.unique_bucket("drill-replica"),
            gcs.unique_bucket("drill-gcs"),
        ];
        let env = Env::new();
        let creds = "credentials = { access_key_id_env = \"TEST_S3_KEY\", secret_access_key_env = \"TEST_S3_SECRET\" }";
        std::fs::write(
            env.path("firedrill.toml"),
            format!(
                "[repository]\npassword_env = \"FIREDRILL_PASSWORD\"\n\n\
                 [primary]\nlocation = \"s3:{}/{}/repo\"\nregion = \"eu-west\"\njurisdiction = \"EU\"\n{creds}\n\n\
                 [[replica]]\nname = \"s3-eu-central\"\nlocation = \"s3:{}/{}/repo\"\nregion = \"eu-central\"\njurisdiction = \"EU\"\n{creds}\n\n\
                 [[replica]]\nname = \"gcs-europe\"\nlocation = \"gs://{}/repo\"\nendpoint = {:?}\nregion = \"europe-west1\"\njurisdiction = \"EU\"\ncredentials = {{ anonymous = true }}\n\n\
                 [reports]\ndir = \"reports\"\n",
                a.endpoint, buckets[0], b.endpoint, buckets[1], buckets[2], gcs.endpoint
            ),
        )
        .unwrap();
        std::fs::create_dir_all(env.path("drills")).unwrap();
        let stack = Stack {
            source: env.path("data"),
            env,
            buckets,
        };
        for i in 0..30 {
            write(
                &stack.source.join(format!("d{}/f{i:02}.bin", i % 3)),
                &random_bytes(20_000 + i * 7_000, 100 + i as u64),
            );
        }
        stack.run(common::QUICK_INIT).ok();
        stack.run(&["backup", stack.source.to_str().unwrap()]).ok();
        stack.run(&["replicate"]).ok();
        stack
    }

    fn run(&self, args: &[&str]) -> Run {
        let a = Seaweed::shared(0);
        self.env
            .cmd()
            .env_remove("FIREDRILL_REPO")
            .env("FIREDRILL_CONFIG", self.env.path("firedrill.toml"))
            .env("FIREDRILL_RETRY_SECONDS", "1")
            .env("TEST_S3_KEY", &a.access_key)
            .env("TEST_S3_SECRET", &a.secret_key)
            .args(args)
            .output()
            .unwrap()
            .into()
    }

    fn drill(&self, name: &str, text: &str, code: i32) -> serde_json::Value {
        let file = self.env.path(&format!("drills/{name}.toml"));
        std::fs::write(&file, text).unwrap();
        self.run(&["--json", "drill", "run", name])
            .code(code)
            .json()
    }
}

#[test]
fn a_full_drill_from_gcs_with_the_primary_lost_and_a_sample_replayed_from_s3() {
    let stack = Stack::new();
    let full = stack.drill(
        "primary-lost",
        "[source]\nlost = [\"primary\", \"s3-eu-central\"]\n[targets]\nrto = \"10m\"\nrpo = \"1h\"\n",
        0,
    );
    assert_eq!(full["source"]["store"], "gcs-europe", "{full}");
    assert_eq!(full["restore"]["files_restored"], 30);

    let sample = stack.drill(
        "sample",
        "[source]\nstore = \"s3-eu-central\"\n[scope]\nkind = \"sample\"\npercent = 20\nby = \"bytes\"\n",
        0,
    );
    let seed = sample["scope"]["seed"].as_u64().unwrap().to_string();
    let replay = stack
        .run(&["--json", "drill", "run", "sample", "--seed", &seed])
        .ok()
        .json();
    assert_eq!(
        replay["scope"]["bytes_selected"],
        sample["scope"]["bytes_selected"]
    );
    assert_eq!(
        replay["scope"]["files_selected"],
        sample["scope"]["files_selected"]
    );
}

#[test]
fn a_stale_replica_misses_the_rpo_while_the_primary_meets_it() {
    let stack = Stack::new();
    std::thread::sleep(std::time::Duration::from_millis(2500));
    // A new backup reaches the primary only: the replica now lags.
    write(&stack.source.join("new.txt"), b"after the replication");
    stack.run(&["backup", stack.source.to_str().unwrap()]).ok();
    let stale = stack.drill(
        "stale",
        "[source]\nstore = \"s3-eu-central\"\n[targets]\nrpo = \"2s\"\n",
        1,
    );
    assert_eq!(stale["rpo"]["met"], false, "{stale}");
    assert!(
        stale["summary"].as_str().unwrap().contains("RPO"),
        "{stale}"
    );
    let fresh = stack.drill(
        "fresh",
        "[source]\nstore = \"primary\"\n[targets]\nrpo = \"2s\"\n",
        0,
    );
    assert_eq!(fresh["rpo"]["met"], true, "{fresh}");

    // An RTO no restore can meet.
    let slow = stack.drill(
        "slow",
        "[source]\nstore = \"primary\"\n[targets]\nrto = \"1s\"\n[checks.command]\nrun = [\"sleep\", \"1.2\"]\ntimeout = \"10s\"\n",
        1,
    );
    assert_eq!(slow["rto"]["met"], false, "{slow}");
}

#[test]
fn every_injected_fault_is_detected_on_s3() {
    let stack = Stack::new();
    let corruption = stack.drill(
        "corruption",
        "[source]\nstore = \"s3-eu-central\"\n[faults]\ncorrupt_objects = 1\ndelete_objects = 1\n",
        0,
    );
    let faults = corruption["faults"].as_array().unwrap();
    assert_eq!(faults.len(), 2, "{corruption}");
    assert!(faults.iter().all(|f| f["detected"] == true), "{corruption}");
    // In memory only: the replica still verifies.
    stack.run(&["verify", "--replica", "s3-eu-central"]).ok();

    let key = stack.drill(
        "key",
        "[source]\nstore = \"s3-eu-central\"\n[faults]\nwrong_key = true\n",
        0,
    );
    assert_eq!(key["faults"][0]["detected"], true, "{key}");

    let outage = stack.drill(
        "outage",
        "[source]\nlost = [\"primary\"]\n[faults]\noutage = [\"s3-eu-central\"]\n",
        0,
    );
    assert_eq!(outage["source"]["store"], "gcs-europe", "{outage}");
    assert_eq!(outage["faults"][0]["detected"], true);

    let post = stack.drill(
        "post",
        "[source]\nstore = \"primary\"\n[checks.command]\nrun = [\"sh\", \"-c\", \"exit 7\"]\ntimeout = \"10s\"\n",
        1,
    );
    let check = post["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"].as_str().unwrap().starts_with("post-restore"))
        .unwrap();
    assert_eq!(check["evidence"], "exit code 7");
}

#[test]
fn an_edited_old_report_breaks_the_chain() {
    let stack = Stack::new();
    for _ in 0..3 {
        stack.drill("full", "[source]\nstore = \"primary\"\n", 0);
    }
    stack.run(&["report", "verify"]).ok();
    let list = stack.run(&["--json", "report", "list"]).ok().json();
    let oldest = list[0]["id"].as_str().unwrap().to_string();
    // Someone rewrites the oldest report on the primary.
    let a = Seaweed::shared(0);
    let key = format!("repo/reports/{oldest}");
    let bucket = stack.buckets[0].clone();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let client = a.client();
            let body = client
                .get_object()
                .bucket(&bucket)
                .key(&key)
                .send()
                .await
                .unwrap();
            let mut bytes = body.body.collect().await.unwrap().into_bytes().to_vec();
            let middle = bytes.len() / 2;
            bytes[middle] ^= 0x20;
            client
                .put_object()
                .bucket(&bucket)
                .key(&key)
                .body(bytes.into())
                .send()
                .await
                .unwrap();
        });
    let verify = stack.run(&["--json", "report", "verify"]).code(1).json();
    assert_eq!(verify["intact"], false);
    let breaks = verify["breaks"].to_string();
    assert!(breaks.contains(&oldest), "{breaks}");
}
