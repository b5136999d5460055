//! A backup killed with SIGKILL in the middle must leave a repository that verifies
//! clean, lists no partial snapshot, does not stay locked, and takes the next backup.

mod common;

use common::{Env, assert_same_tree, files_below, random_bytes, restored_root, write};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

const MIB: usize = 1 << 20;

fn is_temp(path: &Path) -> bool {
    path.file_name()
        .unwrap()
        .to_string_lossy()
        .starts_with(".tmp-")
}

/// Packs under their final names (temporary files being written do not count).
fn stored_packs(repo: &Path) -> usize {
    files_below(&repo.join("data"))
        .iter()
        .filter(|p| !is_temp(p))
        .count()
}

#[test]
fn sigkill_during_backup_leaves_a_clean_usable_repository() {
    let env = Env::new();
    env.init();
    let source = env.path("src");
    // ~300 MiB in files of 8 to 20 MiB: far more than a backup gets through in a second.
    let mut total = 0;
    let mut i = 0;
    while total < 300 * MIB {
        let size = (8 + (i * 7) % 13) * MIB + i * 977;
        write(
            &source
                .join(format!("d{}", i % 3))
                .join(format!("file{i:02}.bin")),
            &random_bytes(size, 1000 + i as u64),
        );
        total += size;
        i += 1;
    }

    let mut child = env
        .cmd()
        .args(["backup", source.to_str().unwrap()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the backup");
    let started = Instant::now();
    // Kill it once it has stored some packs, and at least a second in.
    loop {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the backup finished before it could be killed: the test needs more data"
        );
        if stored_packs(&env.repo()) >= 3 && started.elapsed() >= Duration::from_secs(1) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the backup stored no packs in two minutes"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().expect("SIGKILL the backup");
    // Reap it, so that its pid is really gone (a zombie still answers kill(pid, 0)).
    let status = child.wait().unwrap();
    assert!(!status.success(), "the backup was not killed: {status:?}");
    let repo = env.repo();
    let locks = files_below(&repo.join("locks"));
    assert!(
        locks.iter().any(|p| !is_temp(p)),
        "the killed backup should have left its lock behind"
    );

    // Everything stored under a final name is complete: its bytes hash to its name.
    for dir in ["data", "index", "snapshots", "locks", "keys"] {
        for path in files_below(&repo.join(dir)) {
            if is_temp(&path) {
                continue;
            }
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let bytes = std::fs::read(&path).unwrap();
            assert_eq!(
                blake3::hash(&bytes).to_hex().as_str(),
                name,
                "{} does not hash to its name: a partial write under a final name",
                path.display()
            );
        }
    }

    // No partial snapshot.
    let listed = env.run(&["--json", "snapshots"]).ok().json();
    assert_eq!(
        listed.as_array().map(Vec::len),
        Some(0),
        "a killed backup must not leave a snapshot: {listed:#}"
    );

    // What the killed backup stored verifies clean (unindexed packs are only a note).
    let report = env.run(&["--json", "verify", "--read-data"]).ok().json();
    assert_eq!(report["damage"], serde_json::json!([]), "{report:#}");

    // The stale lock of the dead process does not block the next backup.
    let backup = env.run(&["--json", "backup", source.to_str().unwrap()]);
    let backup = backup.ok().json();
    assert_eq!(backup["complete"], true, "{backup:#}");
    let listed = env.run(&["--json", "snapshots"]).ok().json();
    assert_eq!(
        listed.as_array().map(Vec::len),
        Some(1),
        "exactly the completed snapshot: {listed:#}"
    );
    assert_eq!(listed[0]["id"], backup["snapshot"]);

    let target = env.path("restored");
    env.run(&["restore", "latest", "--target", target.to_str().unwrap()])
        .ok();
    assert_same_tree(&source, &restored_root(&target, &source));
}
