//! What the outside world throws at backup and restore: missing and vanishing sources,
//! a full disk under the restore target, ambiguous snapshot ids, a wrong passphrase.

mod common;

use common::{
    Env, PASSWORD, assert_same_tree, files_below, random_bytes, restored_root, snapshot_tree,
    temp_files, write,
};
use firedrill::crypto::{Id, PieceKind, SlotSecret};
use firedrill::repo::Repository;
use firedrill::repo::sealed;
use firedrill::store::{FsStore, PutMode};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const MIB: usize = 1 << 20;

#[test]
fn a_missing_source_path_is_skipped_and_reported_with_exit_3() {
    let env = Env::new();
    env.init();
    let existing = env.path("existing");
    write(&existing.join("a.txt"), b"present\n");
    write(&existing.join("sub/b.bin"), &random_bytes(300_000, 1));
    let missing = env.path("no-such-dir");

    let run = env.run(&[
        "--json",
        "backup",
        existing.to_str().unwrap(),
        missing.to_str().unwrap(),
    ]);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    let run = run.code(3);
    let out = run.json();
    assert_eq!(out["complete"], false, "{out:#}");
    let skipped = out["summary"]["skipped"].as_array().expect("skipped list");
    assert_eq!(skipped.len(), 1, "{out:#}");
    assert_eq!(skipped[0]["path"], missing.to_str().unwrap(), "{out:#}");
    assert!(!skipped[0]["error"].as_str().unwrap().is_empty());

    // The snapshot was saved with what exists.
    let listed = env.run(&["--json", "snapshots"]).ok().json();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["id"], out["snapshot"]);
    let target = env.path("restored");
    env.run(&["restore", "latest", "--target", target.to_str().unwrap()])
        .ok();
    assert_same_tree(&existing, &restored_root(&target, &existing));
    assert!(!restored_root(&target, &missing).exists());
}

fn packs_stored(repo: &Path) -> usize {
    files_below(&repo.join("data"))
        .iter()
        .filter(|p| {
            !p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(".tmp-")
        })
        .count()
}

#[test]
fn a_source_file_deleted_after_it_was_listed_is_skipped_or_stored() {
    let env = Env::new();
    env.init();
    // Sources are walked first, then read in order: `a-big` (read first, slowly) and
    // `b-victim`, whose files are deleted once reading has started.
    let big = env.path("a-big");
    for i in 0..3 {
        write(
            &big.join(format!("big{i}.bin")),
            &random_bytes(16 * MIB, 10 + i),
        );
    }
    let victim = env.path("b-victim");
    let mut contents = HashMap::new();
    for i in 0..5 {
        let path = victim.join(format!("v{i}.bin"));
        let data = random_bytes(200_000 + i as usize, 50 + i);
        write(&path, &data);
        contents.insert(path.display().to_string(), data);
    }
    write(&victim.join("stays.txt"), b"this one stays\n");

    let child = env
        .cmd()
        .args([
            "--json",
            "backup",
            big.to_str().unwrap(),
            victim.to_str().unwrap(),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Packs appear once the walk is done and files are being read.
    let started = Instant::now();
    while packs_stored(&env.repo()) == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no pack stored"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    for path in contents.keys() {
        std::fs::remove_file(path).unwrap();
    }
    let run = common::Run::from(child.wait_with_output().unwrap());
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    let out = run.json();
    let skipped: HashMap<String, String> = out["summary"]["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["path"].as_str().unwrap().to_string(),
                s["error"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for (path, error) in &skipped {
        assert!(
            contents.contains_key(path),
            "{path} skipped but it was not deleted: {error}"
        );
        assert!(!error.is_empty());
    }
    assert_eq!(
        run.code,
        if skipped.is_empty() { 0 } else { 3 },
        "{out:#}\n{}",
        run.stderr
    );

    // Every deleted file is either skipped or stored whole; everything else is stored.
    let target = env.path("restored");
    env.run(&["restore", "latest", "--target", target.to_str().unwrap()])
        .ok();
    assert_same_tree(&big, &restored_root(&target, &big));
    let restored_victim = restored_root(&target, &victim);
    assert_eq!(
        std::fs::read(restored_victim.join("stays.txt")).unwrap(),
        b"this one stays\n"
    );
    for (path, data) in &contents {
        let restored = restored_root(&target, Path::new(path));
        if skipped.contains_key(path) {
            assert!(!restored.exists(), "{path} skipped but restored");
        } else {
            assert!(
                std::fs::read(&restored).ok().as_ref() == Some(data),
                "{path} neither skipped nor stored whole"
            );
        }
    }
}

/// Unmounts on drop, whether the test passed or not.
struct Mount(PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let status = Command::new("umount").arg(&self.0).status();
        if !matches!(status, Ok(s) if s.success()) {
            let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        }
    }
}

#[test]
fn restore_onto_a_full_disk_fails_cleanly_with_exit_3() {
    let env = Env::new();
    env.init();
    let source = env.path("src");
    write(&source.join("big.bin"), &random_bytes(10 * MIB, 3));
    write(&source.join("small.txt"), b"small\n");
    env.backup(&source);

    let small = env.path("small-disk");
    std::fs::create_dir(&small).unwrap();
    let out = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=2m", "tmpfs"])
        .arg(&small)
        .output()
        .expect("run mount");
    assert!(
        out.status.success(),
        "this test needs to mount a 2 MiB tmpfs (run as root with mount permitted): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _mount = Mount(small.clone());

    let target = small.join("target");
    let run = env.run(&["restore", "latest", "--target", target.to_str().unwrap()]);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    let run = run.code(3);
    assert!(
        run.stderr.contains("No space left"),
        "the error does not say the disk is full: {}",
        run.stderr
    );
    assert!(
        run.stderr.contains(target.to_str().unwrap()),
        "the error does not name the path: {}",
        run.stderr
    );
    let temps = temp_files(&small);
    assert!(temps.is_empty(), "temporary files left behind: {temps:?}");
    let big = restored_root(&target, &source).join("big.bin");
    assert!(
        !big.exists(),
        "a partial big.bin was left under its final name"
    );
}

#[test]
fn snapshot_prefixes_shorter_than_4_ambiguous_or_unknown_are_refused_with_exit_2() {
    let env = Env::new();
    env.init();
    let source = env.path("src");
    write(&source.join("a.txt"), b"content\n");
    let first: Id = env.backup(&source)["snapshot"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();

    // Two more snapshots of the same tree whose ids share their first 4 hex digits: seal
    // copies (each with a fresh salt, hence a new id) until two collide on the prefix.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (a, b) = rt.block_on(async {
        let repo = Repository::open(
            Arc::new(FsStore::new(env.repo())),
            &SlotSecret::Passphrase(PASSWORD.into()),
        )
        .await
        .unwrap();
        let snap = repo.load_snapshot(&first).await.unwrap();
        let mut seen: HashMap<String, Vec<u8>> = HashMap::new();
        seen.insert(first.to_hex()[..4].to_string(), Vec::new());
        loop {
            let bytes = sealed::seal(repo.keys(), PieceKind::Snapshot, &snap).unwrap();
            let prefix = Id::of_stored(&bytes).to_hex()[..4].to_string();
            match seen.get(&prefix) {
                // Not the first snapshot's prefix: two new ones, so all three stay usable.
                Some(other) if !other.is_empty() => {
                    let mut ids = Vec::new();
                    for bytes in [other.clone(), bytes] {
                        let id = Id::of_stored(&bytes);
                        repo.store()
                            .put(
                                &format!("snapshots/{id}"),
                                bytes.into(),
                                PutMode::CreateOnly,
                            )
                            .await
                            .unwrap();
                        ids.push(id);
                    }
                    return (ids[0], ids[1]);
                }
                Some(_) => {}
                None => {
                    seen.insert(prefix, bytes);
                }
            }
        }
    });
    let shared = &a.to_hex()[..4];
    assert_eq!(shared, &b.to_hex()[..4]);
    let unique = a
        .to_hex()
        .chars()
        .zip(b.to_hex().chars())
        .position(|(x, y)| x != y)
        .unwrap()
        + 1;

    let target = env.path("restored");
    let t = target.to_str().unwrap();
    let refuse = |spec: &str, why: &str| {
        let run = env.run(&["restore", spec, "--target", t]);
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
        let run = run.code(2);
        assert!(
            run.stderr.contains(spec),
            "{why}: the error does not repeat {spec:?}: {}",
            run.stderr
        );
        assert!(!target.exists(), "{why}: restore touched the target");
        run
    };
    // Shorter than 4 digits, even when unique.
    refuse(&first.to_hex()[..3], "3 digits");
    refuse(&a.to_hex()[..1], "1 digit");
    // Ambiguous: the message lists the candidates.
    let run = refuse(shared, "ambiguous");
    assert!(
        run.stderr.contains(&a.short()) && run.stderr.contains(&b.short()),
        "the ambiguity error does not list both snapshots: {}",
        run.stderr
    );
    // Matching nothing.
    let none = (0..=0xffffu32)
        .map(|n| format!("{n:04x}"))
        .find(|p| {
            ![first, a, b]
                .iter()
                .any(|id| id.to_hex().starts_with(p.as_str()))
        })
        .unwrap();
    refuse(&none, "no match");
    // Not hex.
    refuse("zzzzzz", "not hex");

    // Enough digits to be unique: it restores.
    env.run(&["restore", &b.to_hex()[..unique.max(4)], "--target", t])
        .ok();
    assert_same_tree(&source, &restored_root(&target, &source));
}

#[test]
fn restore_with_a_wrong_passphrase_leaves_the_target_untouched() {
    let env = Env::new();
    env.init();
    let source = env.path("src");
    write(&source.join("a.txt"), b"content\n");
    env.backup(&source);

    let wrong = |target: &Path| -> common::Run {
        let run: common::Run = env
            .cmd()
            .env("FIREDRILL_PASSWORD", "not the passphrase")
            .args(["restore", "latest", "--target", target.to_str().unwrap()])
            .output()
            .unwrap()
            .into();
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
        run.code(2)
    };
    // A target that does not exist is not created.
    let absent = env.path("absent");
    let run = wrong(&absent);
    assert!(
        run.stderr.to_lowercase().contains("passphrase"),
        "the error does not say the passphrase is wrong: {}",
        run.stderr
    );
    assert!(!absent.exists(), "the target was created");
    // An existing target keeps exactly what it had.
    let existing = env.path("existing");
    write(&existing.join("keep.txt"), b"mine\n");
    let before = snapshot_tree(&existing);
    wrong(&existing);
    assert_eq!(snapshot_tree(&existing), before, "the target changed");
}
