//! Every command as a user or a scheduler sees it: output, JSON shapes and exit codes
//! (0 success, 1 damage found, 2 usage/config/wrong key, 3 other failure).

mod common;

use common::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// `init` flags that keep the KDF cheap.
const CHEAP_KDF: &[&str] = &["--kdf-memory-mib", "8", "--kdf-iterations", "1"];

fn run_cmd(mut cmd: Command, args: &[&str]) -> Run {
    cmd.args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run firedrill")
        .into()
}

/// The command with the given passphrase instead of the default one.
fn with_password(env: &Env, password: &str, args: &[&str]) -> Run {
    let mut cmd = env.cmd();
    cmd.env("FIREDRILL_PASSWORD", password);
    run_cmd(cmd, args)
}

/// The command with neither repository nor secret in the environment.
fn bare(env: &Env) -> Command {
    let mut cmd = env.cmd();
    cmd.env_remove("FIREDRILL_REPO")
        .env_remove("FIREDRILL_PASSWORD");
    cmd
}

#[track_caller]
fn assert_json_error(run: &Run, code: i32, needle: &str) {
    assert_eq!(
        run.code, code,
        "stdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
    let v = run.json();
    assert_eq!(v["exit_code"], code, "{v}");
    let msg = v["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error string: {v}"));
    assert!(
        msg.contains(needle),
        "error {msg:?} should mention {needle:?}"
    );
}

/// A small source tree: `file.txt`, `sub/inner.txt`, `sub/deeper/big.bin`.
fn make_source(env: &Env) -> PathBuf {
    let src = env.path("src");
    write(&src.join("file.txt"), b"hello\n");
    write(&src.join("sub/inner.txt"), b"inner\n");
    write(
        &src.join("sub/deeper/big.bin"),
        &random_bytes(300 * 1024, 1),
    );
    src
}

fn snapshot_ids(env: &Env) -> Vec<String> {
    let list = env.run(&["--json", "snapshots"]).ok().json();
    list.as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Every file of the repository with its size: what a dry run must leave alone.
fn repo_files(repo: &Path) -> BTreeMap<PathBuf, u64> {
    let mut out = BTreeMap::new();
    let mut stack = vec![repo.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let meta = entry.metadata().unwrap();
            if meta.is_dir() {
                stack.push(entry.path());
            } else {
                out.insert(
                    entry.path().strip_prefix(repo).unwrap().to_path_buf(),
                    meta.len(),
                );
            }
        }
    }
    out
}

fn data_bytes(repo: &Path) -> u64 {
    repo_files(repo)
        .iter()
        .filter(|(p, _)| p.starts_with("data"))
        .map(|(_, n)| n)
        .sum()
}

#[test]
fn help_documents_the_exit_codes() {
    let run = Run::from(Command::new(bin()).arg("--help").output().unwrap()).ok();
    for needle in [
        "Exit codes",
        "0 success",
        "1 damage",
        "2 usage",
        "3 any other failure",
        "FIREDRILL_PASSWORD",
    ] {
        assert!(
            run.stdout.contains(needle),
            "--help should document {needle:?}:\n{}",
            run.stdout
        );
    }
    // A bad command line is a usage error.
    Run::from(Command::new(bin()).arg("no-such-command").output().unwrap()).code(2);
    let env = Env::new();
    env.run(&["backup"]).code(2);
}

#[test]
fn init_refuses_a_location_that_already_holds_a_repository() {
    let env = Env::new();
    let first = env
        .run(&[&["--json", "init"][..], CHEAP_KDF].concat())
        .ok()
        .json();
    assert!(
        first["id"].as_str().is_some_and(|id| id.len() == 64),
        "{first}"
    );
    let config_before = fs::read(env.repo().join("config")).unwrap();

    let run = env.run(&[&["init"][..], CHEAP_KDF].concat()).code(2);
    assert!(
        run.stderr.contains("already holds a repository"),
        "{}",
        run.stderr
    );
    let run = env.run(&[&["--json", "init"][..], CHEAP_KDF].concat());
    assert_json_error(&run, 2, "already holds a repository");
    assert_eq!(
        fs::read(env.repo().join("config")).unwrap(),
        config_before,
        "the repository is untouched"
    );
    // The original passphrase still opens it, and only one key slot exists.
    let slots = env.run(&["--json", "key", "list"]).ok().json();
    assert_eq!(slots.as_array().unwrap().len(), 1, "{slots}");
}

#[test]
fn a_failed_init_leaves_no_key_file_behind() {
    let env = Env::new();
    env.init();
    // A key file that opens nothing, next to a real repository, is a trap for whoever
    // later needs the real one: a refused init must not write it.
    let key = env.path("new.key");
    let run = env.run(&["init", "--new-key-file", s(&key)]).code(2);
    assert!(
        run.stderr.contains("already holds a repository"),
        "{}",
        run.stderr
    );
    assert!(
        !key.exists(),
        "init refused the location but still created the key file"
    );
    // An existing key file is never overwritten.
    fs::write(&key, b"precious").unwrap();
    let run = run_cmd(
        {
            let mut cmd = env.cmd();
            cmd.env("FIREDRILL_REPO", env.path("other-repo"));
            cmd
        },
        &["init", "--new-key-file", s(&key)],
    )
    .code(2);
    assert!(run.stderr.contains("key file"), "{}", run.stderr);
    assert_eq!(fs::read(&key).unwrap(), b"precious");
    assert!(!env.path("other-repo").join("config").exists());
}

#[test]
fn key_file_repository_opens_without_a_passphrase() {
    let env = Env::new();
    let key = env.path("repo.key");
    let mut init = bare(&env);
    init.env("FIREDRILL_REPO", env.repo());
    let run = run_cmd(
        init,
        &["init", "--new-key-file", s(&key), "--chunk-avg-kib", "64"],
    )
    .ok();
    assert!(
        run.stdout.contains(s(&key)),
        "init should tell where the key file is: {}",
        run.stdout
    );
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(&key).unwrap().permissions().mode() & 0o777;
        assert_eq!(
            mode, 0o600,
            "the key file must be readable by its owner only"
        );
    }
    let src = make_source(&env);

    let mut cmd = bare(&env);
    cmd.env("FIREDRILL_REPO", env.repo());
    run_cmd(cmd, &["--key-file", s(&key), "backup", s(&src)]).ok();
    let mut cmd = bare(&env);
    cmd.env("FIREDRILL_REPO", env.repo())
        .env("FIREDRILL_KEY_FILE", &key);
    let list = run_cmd(cmd, &["--json", "snapshots"]).ok().json();
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");

    // A passphrase opens nothing here; a different key file neither.
    let run = env.run(&["snapshots"]).code(2);
    assert!(run.stderr.contains("wrong passphrase"), "{}", run.stderr);
    let other = env.path("other.key");
    let mut cmd = bare(&env);
    cmd.env("FIREDRILL_REPO", env.path("other-repo"));
    run_cmd(cmd, &["init", "--new-key-file", s(&other)]).ok();
    let run = env.run(&["--key-file", s(&other), "snapshots"]).code(2);
    assert!(run.stderr.contains("wrong key file"), "{}", run.stderr);
    // A file that is not a key file is a usage error.
    let run = env
        .run(&["--key-file", s(&src.join("file.txt")), "snapshots"])
        .code(2);
    assert!(run.stderr.contains("key file"), "{}", run.stderr);
}

#[test]
fn backup_with_tags_and_excludes() {
    let env = Env::new();
    env.init();
    let src = env.path("src");
    write(&src.join("keep.txt"), b"keep");
    write(&src.join("scratch.tmp"), b"excluded by name");
    write(
        &src.join("sub/also.tmp"),
        b"excluded by name, in a subdirectory",
    );
    write(&src.join("sub/keep.dat"), b"keep");
    write(&src.join("cache/blob"), b"excluded directory");
    write(&src.join("secret/key.pem"), b"excluded by absolute path");
    write(&src.join("secret/readme"), b"keep");
    let excludes = env.path("excludes");
    fs::write(
        &excludes,
        format!(
            "# caches\ncache\n\n{}\n",
            src.join("secret/key.pem").display()
        ),
    )
    .unwrap();

    let out = env
        .run(&[
            "--json",
            "backup",
            s(&src),
            "--tag",
            "daily",
            "--tag",
            "db",
            "--exclude",
            "*.tmp",
            "--exclude-file",
            s(&excludes),
        ])
        .ok()
        .json();
    assert_eq!(out["complete"], true, "{out}");
    assert_eq!(out["summary"]["files"], 3, "{out}");
    assert!(out["parent"].is_null(), "{out}");

    let list = env.run(&["--json", "snapshots"]).ok().json();
    let snaps = list.as_array().unwrap();
    assert_eq!(snaps.len(), 1, "{list}");
    assert_eq!(snaps[0]["id"], out["snapshot"]);
    assert_eq!(
        snaps[0]["short_id"].as_str().unwrap(),
        &out["snapshot"].as_str().unwrap()[..8]
    );
    assert_eq!(snaps[0]["tags"], serde_json::json!(["daily", "db"]));
    assert_eq!(snaps[0]["paths"], serde_json::json!([s(&src)]));
    assert_eq!(snaps[0]["summary"]["files"], 3);

    let listing = env.run(&["--json", "ls", "latest", s(&src)]).ok().json();
    let mut paths: Vec<String> = listing
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap().to_string())
        .collect();
    paths.sort();
    let expected: Vec<String> = ["keep.txt", "secret", "secret/readme", "sub", "sub/keep.dat"]
        .iter()
        .map(|p| src.join(p).display().to_string())
        .collect();
    assert_eq!(paths, expected);

    // Human output names the snapshot and the counts.
    let run = env.run(&["backup", s(&src), "--exclude", "*.tmp"]).ok();
    assert!(
        run.stdout.contains("snapshot ") && run.stdout.contains("saved"),
        "{}",
        run.stdout
    );
    let table = env.run(&["snapshots"]).ok();
    assert!(table.stdout.contains("daily,db"), "{}", table.stdout);
    assert!(table.stdout.contains("2 snapshot(s)"), "{}", table.stdout);

    // A bad pattern or a missing exclude file is a usage error.
    let run = env.run(&["backup", s(&src), "--exclude", "a["]).code(2);
    assert!(run.stderr.contains("a["), "{}", run.stderr);
    env.run(&["backup", s(&src), "--exclude-file", s(&env.path("missing"))])
        .code(2);
    // A source that does not exist: nothing to back up.
    env.run(&["backup", s(&env.path("no-such-source"))]).code(2);
    assert_eq!(
        snapshot_ids(&env).len(),
        2,
        "failed backups add no snapshot"
    );
}

#[test]
fn snapshot_ids_latest_and_prefixes() {
    let env = Env::new();
    env.init();
    let src = make_source(&env);
    let first = env.backup(&src)["snapshot"].as_str().unwrap().to_string();
    write(&src.join("second-only.txt"), b"2");
    let second = env.backup(&src)["snapshot"].as_str().unwrap().to_string();

    let has_second_only = |spec: &str| {
        let listing = env.run(&["--json", "ls", spec]).ok().json();
        listing
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["path"].as_str().unwrap().ends_with("second-only.txt"))
    };
    assert!(has_second_only("latest"));
    assert!(
        !has_second_only(&first[..8]),
        "an 8-digit prefix selects the first snapshot"
    );
    assert!(has_second_only(&second[..8]));
    assert!(!has_second_only(&first), "a full id works");
    assert!(
        !has_second_only(&first[..8].to_uppercase()),
        "prefixes are case-insensitive"
    );

    for bad in ["abc", "", "zzzzzzzz", "latest2"] {
        let run = env.run(&["ls", bad]).code(2);
        assert!(!run.stderr.is_empty());
    }
    let unused = (0..=0xffff_ffffu32)
        .map(|n| format!("{n:08x}"))
        .find(|p| !first.starts_with(p.as_str()) && !second.starts_with(p.as_str()))
        .unwrap();
    let run = env.run(&["--json", "restore", &unused, "--target", s(&env.path("t"))]);
    assert_json_error(&run, 2, "no snapshot matches");
    assert!(!env.path("t").join("tmp").exists());

    // An empty repository has no `latest`.
    let empty = Env::new();
    empty.init();
    let run = empty.run(&["ls", "latest"]).code(2);
    assert!(run.stderr.contains("no snapshots"), "{}", run.stderr);
}

#[test]
fn ls_lists_a_snapshot_or_a_directory_in_it() {
    let env = Env::new();
    env.init();
    let src = make_source(&env);
    env.backup(&src);

    let all = env.run(&["ls", "latest"]).ok();
    for p in ["file.txt", "sub/inner.txt", "sub/deeper/big.bin"] {
        assert!(
            all.stdout.contains(&src.join(p).display().to_string()),
            "{p} missing from:\n{}",
            all.stdout
        );
    }
    let sub = env.run(&["ls", "latest", s(&src.join("sub"))]).ok();
    assert!(
        sub.stdout.contains("inner.txt") && sub.stdout.contains("big.bin"),
        "{}",
        sub.stdout
    );
    assert!(
        !sub.stdout.contains("file.txt"),
        "only below the directory:\n{}",
        sub.stdout
    );

    let json = env
        .run(&["--json", "ls", "latest", s(&src.join("sub"))])
        .ok()
        .json();
    let entries = json.as_array().unwrap();
    assert_eq!(entries.len(), 3, "{json}");
    let big = entries
        .iter()
        .find(|e| e["path"] == src.join("sub/deeper/big.bin").display().to_string())
        .unwrap();
    assert_eq!(big["type"], "file");
    assert_eq!(big["size"], 300 * 1024);
    assert_eq!(big["mode"], "644");
    let deeper = entries
        .iter()
        .find(|e| e["path"] == src.join("sub/deeper").display().to_string())
        .unwrap();
    assert_eq!(deeper["type"], "dir");

    // A path without leading slash is taken from the snapshot root too.
    let rel = src.join("sub").display().to_string();
    let same = env
        .run(&["--json", "ls", "latest", rel.trim_start_matches('/')])
        .ok()
        .json();
    assert_eq!(same, json);

    env.run(&["ls", "latest", s(&src.join("missing"))]).code(2);
    env.run(&["ls", "latest", s(&src.join("file.txt"))]).code(2);
}

#[test]
fn restore_reports_the_blake3_check() {
    let env = Env::new();
    env.init();
    let src = make_source(&env);
    env.backup(&src);
    let target = env.path("target");
    let run = env.run(&["restore", "latest", "--target", s(&target)]).ok();
    assert!(run.stdout.contains("BLAKE3"), "{}", run.stdout);
    assert!(run.stdout.contains("3 files"), "{}", run.stdout);
    assert_same_tree(&src, &restored_root(&target, &src));

    let target = env.path("target-json");
    let report = env
        .run(&["--json", "restore", "latest", "-t", s(&target)])
        .ok()
        .json();
    assert_eq!(report["files_restored"], 3, "{report}");
    assert_eq!(report["files_verified"], 3, "{report}");
    assert_eq!(report["bytes_restored"], 6 + 6 + 300 * 1024, "{report}");
    assert!(report["damaged"].as_array().unwrap().is_empty(), "{report}");
    assert_same_tree(&src, &restored_root(&target, &src));
}

#[test]
fn restore_of_damaged_data_exits_1_and_restores_the_intact_rest() {
    let env = Env::new();
    env.init();
    let src = env.path("src");
    for i in 0..6u64 {
        write(&src.join(format!("f{i}.bin")), &random_bytes(700 * 1024, i));
    }
    env.backup(&src);
    let pack = some_pack(&env.repo());
    let mut bytes = fs::read(&pack).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 1;
    fs::write(&pack, &bytes).unwrap();

    let target = env.path("target");
    let run = env
        .run(&["restore", "latest", "--target", s(&target)])
        .code(1);
    assert!(
        run.stdout.contains("NO"),
        "the BLAKE3 line should say not every file matched: {}",
        run.stdout
    );
    assert!(run.stderr.contains("NOT RESTORED"), "{}", run.stderr);
    let target = env.path("target-json");
    let report = env
        .run(&["--json", "restore", "latest", "--target", s(&target)])
        .code(1)
        .json();
    let damaged: Vec<String> = report["damaged"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["path"].as_str().unwrap().to_string())
        .collect();
    assert!(!damaged.is_empty(), "{report}");
    let root = restored_root(&target, &src);
    for i in 0..6u64 {
        let name = format!("f{i}.bin");
        let shown = src.join(&name);
        let restored = root.join(&name);
        if damaged.iter().any(|d| shown.starts_with(d)) {
            assert!(
                !restored.exists(),
                "{name} is reported damaged but a file was left in its place"
            );
        } else {
            assert_eq!(
                fs::read(&restored).unwrap(),
                fs::read(&shown).unwrap(),
                "{name} is not reported damaged but differs"
            );
        }
    }
    let names: Vec<String> = fs::read_dir(&root)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    assert!(
        names.iter().all(|n| !n.starts_with(".firedrill")),
        "temporary files left: {names:?}"
    );
}

/// Any one pack file of the repository.
fn some_pack(repo: &Path) -> PathBuf {
    let mut packs: Vec<PathBuf> = repo_files(repo)
        .into_keys()
        .filter(|p| p.starts_with("data"))
        .collect();
    packs.sort();
    repo.join(packs.first().expect("the repository has packs"))
}

#[test]
fn verify_structure_data_and_subsets() {
    let env = Env::new();
    env.init();
    let src = make_source(&env);
    env.backup(&src);

    let run = env.run(&["verify"]).ok();
    assert!(run.stdout.contains("no damage found"), "{}", run.stdout);
    let full = env.run(&["--json", "verify", "--read-data"]).ok().json();
    assert!(full["packs"].as_u64().unwrap() > 0, "{full}");
    assert_eq!(full["packs_read"], full["packs"], "{full}");
    assert!(full["damage"].as_array().unwrap().is_empty(), "{full}");
    let subset = env
        .run(&["--json", "verify", "--read-data-subset", "50"])
        .ok()
        .json();
    assert!(subset["packs_read"].as_u64().unwrap() <= full["packs"].as_u64().unwrap());
    env.run(&["verify", "--read-data-subset", "100%"]).ok();
    env.run(&["verify", "--read-data-subset", "2.5%"]).ok();

    for bad in ["0", "abc", "150", "-5", "0%", ""] {
        let run = env
            .run(&["verify", &format!("--read-data-subset={bad}")])
            .code(2);
        assert!(run.stderr.contains("read-data-subset"), "{}", run.stderr);
    }
    env.run(&["verify", "--read-data", "--read-data-subset", "5"])
        .code(2);

    // Damage is found, named and exits 1.
    let pack = some_pack(&env.repo());
    let mut bytes = fs::read(&pack).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    fs::write(&pack, &bytes).unwrap();
    let run = env.run(&["verify", "--read-data"]).code(1);
    assert!(run.stdout.contains("DAMAGED"), "{}", run.stdout);
    let name = pack.file_name().unwrap().to_str().unwrap();
    assert!(
        run.stdout.contains(name),
        "the damaged pack should be named:\n{}",
        run.stdout
    );
    let json = env.run(&["--json", "verify", "--read-data"]).code(1).json();
    assert!(!json["damage"].as_array().unwrap().is_empty(), "{json}");
}

#[test]
fn key_slots_add_list_and_remove() {
    let env = Env::new();
    env.init();
    const SECOND: &str = "a second, different passphrase";
    let first_slot = env.run(&["--json", "key", "list"]).ok().json()[0]["id"]
        .as_str()
        .unwrap()
        .to_string();

    let mut cmd = env.cmd();
    cmd.env("FIREDRILL_NEW_PASSWORD", SECOND);
    let added = run_cmd(
        cmd,
        &[
            "--json",
            "key",
            "add",
            "--kdf-memory-mib",
            "8",
            "--kdf-iterations",
            "1",
        ],
    )
    .ok()
    .json();
    let second_slot = added["added"].as_str().unwrap().to_string();
    assert_eq!(added["kind"], "passphrase");
    assert_ne!(first_slot, second_slot);

    // Both passphrases open the repository; each invocation marks its own slot as current.
    let current = |password: &str| -> Vec<(String, bool)> {
        let list = with_password(&env, password, &["--json", "key", "list"])
            .ok()
            .json();
        list.as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["id"].as_str().unwrap().to_string(),
                    s["current"].as_bool().unwrap(),
                )
            })
            .collect()
    };
    let by_first = current(PASSWORD);
    assert_eq!(by_first.len(), 2);
    assert_eq!(
        by_first
            .iter()
            .filter(|(_, c)| *c)
            .map(|(id, _)| id.clone())
            .collect::<Vec<_>>(),
        vec![first_slot.clone()]
    );
    let by_second = current(SECOND);
    assert_eq!(
        by_second
            .iter()
            .filter(|(_, c)| *c)
            .map(|(id, _)| id.clone())
            .collect::<Vec<_>>(),
        vec![second_slot.clone()]
    );
    let human = env.run(&["key", "list"]).ok();
    assert!(
        human
            .stdout
            .lines()
            .any(|l| l.starts_with('*') && l.contains(&first_slot[..8])),
        "{}",
        human.stdout
    );

    // A new passphrase comes from FIREDRILL_NEW_PASSWORD (or a prompt), never the current one.
    let run = env
        .run(&[
            "key",
            "add",
            "--kdf-memory-mib",
            "8",
            "--kdf-iterations",
            "1",
        ])
        .code(2);
    assert!(
        run.stderr.contains("FIREDRILL_NEW_PASSWORD"),
        "{}",
        run.stderr
    );
    assert_eq!(current(PASSWORD).len(), 2);

    // The slot in use cannot be removed.
    let run = env.run(&["key", "remove", &first_slot[..8]]).code(2);
    assert!(run.stderr.contains("opened with"), "{}", run.stderr);
    env.run(&["key", "remove", "ffffffffffff"]).code(2);
    // Another one can; the removed passphrase no longer opens the repository.
    with_password(&env, SECOND, &["key", "remove", &first_slot[..8]]).ok();
    let run = env.run(&["snapshots"]).code(2);
    assert!(run.stderr.contains("wrong passphrase"), "{}", run.stderr);
    // The last slot is never removed.
    let run = with_password(&env, SECOND, &["key", "remove", &second_slot]).code(2);
    assert!(run.stderr.contains("last key slot"), "{}", run.stderr);
    with_password(&env, SECOND, &["snapshots"]).ok();

    // A key file slot added to a passphrase repository opens it.
    let key = env.path("added.key");
    with_password(&env, SECOND, &["key", "add", "--new-key-file", s(&key)]).ok();
    let mut cmd = bare(&env);
    cmd.env("FIREDRILL_REPO", env.repo());
    run_cmd(cmd, &["--key-file", s(&key), "snapshots"]).ok();
}

#[test]
fn wrong_missing_and_file_passphrases() {
    let env = Env::new();
    env.init();
    let run = with_password(&env, "not the passphrase", &["snapshots"]).code(2);
    assert!(run.stderr.contains("wrong passphrase"), "{}", run.stderr);
    let run = with_password(&env, "not the passphrase", &["--json", "snapshots"]);
    assert_json_error(&run, 2, "wrong passphrase");

    // No passphrase and no terminal: a usage error that says what to set.
    let mut cmd = env.cmd();
    cmd.env_remove("FIREDRILL_PASSWORD");
    let run = run_cmd(cmd, &["snapshots"]).code(2);
    assert!(run.stderr.contains("FIREDRILL_PASSWORD"), "{}", run.stderr);
    let run = with_password(&env, "", &["snapshots"]).code(2);
    assert!(run.stderr.contains("empty"), "{}", run.stderr);

    // FIREDRILL_PASSWORD_FILE, with or without a trailing newline.
    let file = env.path("pass");
    for content in [format!("{PASSWORD}\n"), PASSWORD.to_string()] {
        fs::write(&file, content).unwrap();
        let mut cmd = env.cmd();
        cmd.env_remove("FIREDRILL_PASSWORD")
            .env("FIREDRILL_PASSWORD_FILE", &file);
        run_cmd(cmd, &["snapshots"]).ok();
    }
    fs::write(&file, "wrong\n").unwrap();
    let mut cmd = env.cmd();
    cmd.env_remove("FIREDRILL_PASSWORD")
        .env("FIREDRILL_PASSWORD_FILE", &file);
    run_cmd(cmd, &["snapshots"]).code(2);
    let mut cmd = env.cmd();
    cmd.env_remove("FIREDRILL_PASSWORD")
        .env("FIREDRILL_PASSWORD_FILE", env.path("no-such-file"));
    run_cmd(cmd, &["snapshots"]).code(2);
}

#[test]
fn a_newer_repository_format_asks_for_an_upgrade() {
    let env = Env::new();
    env.init();
    let path = env.repo().join("config");
    let mut config: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    config["format_version"] = 99.into();
    fs::write(&path, serde_json::to_vec_pretty(&config).unwrap()).unwrap();
    for args in [&["snapshots"][..], &["verify"], &["backup", "/nonexistent"]] {
        let run = env.run(args).code(2);
        assert!(run.stderr.contains("upgrade"), "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains("99"), "{args:?}: {}", run.stderr);
    }
    // Checked before any key: a wrong passphrase still gets the upgrade message.
    let run = with_password(&env, "wrong", &["--json", "snapshots"]);
    assert_json_error(&run, 2, "upgrade");
}

#[test]
fn a_location_that_is_not_a_repository() {
    let env = Env::new();
    let empty = env.path("empty");
    fs::create_dir_all(&empty).unwrap();
    for location in [s(&empty), s(&env.path("does-not-exist"))] {
        let run = env.run(&["--repo", location, "snapshots"]).code(2);
        assert!(
            run.stderr.contains("not a firedrill repository"),
            "{}",
            run.stderr
        );
        let run = env.run(&["--json", "--repo", location, "snapshots"]);
        assert_json_error(&run, 2, "not a firedrill repository");
    }
    assert!(
        !env.path("does-not-exist").exists(),
        "looking must not create the directory"
    );
    let mut cmd = env.cmd();
    cmd.env_remove("FIREDRILL_REPO");
    let run = run_cmd(cmd, &["snapshots"]).code(2);
    assert!(run.stderr.contains("no repository"), "{}", run.stderr);
    env.run(&["--repo", "ftp://host/x", "snapshots"]).code(2);
}

#[test]
fn a_regular_file_as_repository_location_is_a_usage_error() {
    let env = Env::new();
    let file = env.path("a-file");
    fs::write(&file, b"not a repository").unwrap();
    let run = env.run(&["--repo", s(&file), "snapshots"]);
    assert_eq!(
        run.code, 2,
        "a location that is a file is a configuration error\nstderr: {}",
        run.stderr
    );
    assert!(
        run.stderr.contains("not a firedrill repository"),
        "{}",
        run.stderr
    );
}

#[test]
fn config_file_names_repository_and_passphrase_file() {
    let env = Env::new();
    env.init();
    let src = make_source(&env);
    let dir = env.path("etc");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("passphrase"), format!("{PASSWORD}\n")).unwrap();
    let config = dir.join("firedrill.toml");
    fs::write(
        &config,
        format!(
            "[repository]\nlocation = \"{}\"\npassword_file = \"passphrase\"\n",
            env.repo().display()
        ),
    )
    .unwrap();

    let mut cmd = bare(&env);
    cmd.current_dir(env.dir.path());
    run_cmd(cmd, &["--config", s(&config), "backup", s(&src)]).ok();
    let mut cmd = bare(&env);
    cmd.env("FIREDRILL_CONFIG", &config);
    let list = run_cmd(cmd, &["--json", "snapshots"]).ok().json();
    assert_eq!(list.as_array().unwrap().len(), 1);

    // A relative location is relative to the config file.
    let relative = dir.join("relative.toml");
    fs::write(
        &relative,
        "[repository]\nlocation = \"../repo\"\npassword_file = \"passphrase\"\n",
    )
    .unwrap();
    run_cmd(bare(&env), &["--config", s(&relative), "snapshots"]).ok();

    // A misspelt key: a usage error naming the file and line.
    let bad = dir.join("bad.toml");
    fs::write(
        &bad,
        format!(
            "[repository]\nlocation = \"{}\"\npasword_file = \"passphrase\"\n",
            env.repo().display()
        ),
    )
    .unwrap();
    let run = run_cmd(bare(&env), &["--config", s(&bad), "snapshots"]).code(2);
    assert!(
        run.stderr.contains(&format!("{}:3:", bad.display())),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("pasword_file"), "{}", run.stderr);
    let run = run_cmd(bare(&env), &["--json", "--config", s(&bad), "snapshots"]);
    assert_json_error(&run, 2, "bad.toml:3:");
    run_cmd(
        bare(&env),
        &["--config", s(&dir.join("missing.toml")), "snapshots"],
    )
    .code(2);
}

#[test]
fn forget_applies_a_retention_policy() {
    let env = Env::new();
    env.init();
    let src = make_source(&env);
    let mut ids = Vec::new();
    for i in 0..3 {
        write(&src.join("changing"), format!("version {i}").as_bytes());
        ids.push(env.backup(&src)["snapshot"].as_str().unwrap().to_string());
    }

    let run = env.run(&["forget"]).code(2);
    assert!(run.stderr.contains("--keep"), "{}", run.stderr);
    let dry = env.run(&["forget", "--keep-last", "1", "--dry-run"]).ok();
    assert!(dry.stdout.contains("dry run"), "{}", dry.stdout);
    assert_eq!(snapshot_ids(&env).len(), 3, "a dry run removes nothing");
    let dry = env
        .run(&["--json", "forget", "--keep-last", "1", "--dry-run"])
        .ok()
        .json();
    assert_eq!(
        (dry["kept"].as_u64(), dry["removed"].as_u64()),
        (Some(1), Some(2)),
        "{dry}"
    );
    assert_eq!(snapshot_ids(&env).len(), 3);

    let report = env
        .run(&["--json", "forget", "--keep-last", "1"])
        .ok()
        .json();
    assert_eq!(report["removed"], 2, "{report}");
    assert_eq!(
        report["groups"][0]["kept"][0]["id"],
        ids[2].as_str(),
        "{report}"
    );
    assert_eq!(
        snapshot_ids(&env),
        vec![ids[2].clone()],
        "the newest snapshot is kept"
    );
    env.run(&["verify"]).ok();
}

#[test]
fn prune_frees_unreferenced_data() {
    let env = Env::new();
    env.init();
    let src = env.path("src");
    write(&src.join("stays"), &random_bytes(200 * 1024, 1));
    write(&src.join("goes"), &random_bytes(3 << 20, 2));
    env.backup(&src);
    fs::remove_file(src.join("goes")).unwrap();
    write(&src.join("new"), &random_bytes(100 * 1024, 3));
    env.backup(&src);

    // Nothing forgotten: prune keeps everything that is used.
    env.run(&["prune"]).ok();
    env.run(&["verify", "--read-data"]).ok();
    assert_eq!(snapshot_ids(&env).len(), 2);

    env.run(&["forget", "--keep-last", "1"]).ok();
    let before = repo_files(&env.repo());
    let dry = env.run(&["prune", "--dry-run"]).ok();
    assert!(dry.stdout.contains("dry run"), "{}", dry.stdout);
    let after_dry = repo_files(&env.repo());
    assert_eq!(before, after_dry, "prune --dry-run changed the repository");

    let data_before = data_bytes(&env.repo());
    env.run(&["prune"]).ok();
    let data_after = data_bytes(&env.repo());
    assert!(
        data_after + (2 << 20) < data_before,
        "prune should free the 3 MiB file: {data_before} -> {data_after} bytes"
    );
    env.run(&["verify", "--read-data"]).ok();
    let target = env.path("target");
    env.run(&["restore", "latest", "--target", s(&target)]).ok();
    assert_same_tree(&src, &restored_root(&target, &src));
}

#[test]
fn forget_with_prune_leaves_a_clean_repository() {
    let env = Env::new();
    env.init();
    let src = env.path("src");
    for i in 0..3u64 {
        write(&src.join("data.bin"), &random_bytes(1 << 20, 10 + i));
        write(
            &src.join(format!("only-{i}")),
            &random_bytes(50 * 1024, 20 + i),
        );
        env.backup(&src);
    }
    let data_before = data_bytes(&env.repo());
    let out = env.run(&["forget", "--keep-last", "1", "--prune"]).ok();
    assert!(!out.stdout.is_empty());
    assert_eq!(snapshot_ids(&env).len(), 1);
    let data_after = data_bytes(&env.repo());
    assert!(
        data_after + (1 << 20) < data_before,
        "forget --prune should free data: {data_before} -> {data_after} bytes"
    );
    let verify = env.run(&["--json", "verify", "--read-data"]).ok().json();
    assert!(
        verify["damage"].as_array().unwrap().is_empty()
            && verify["warnings"].as_array().unwrap().is_empty(),
        "{verify}"
    );
    let target = env.path("target");
    env.run(&["restore", "latest", "--target", s(&target)]).ok();
    assert_same_tree(&src, &restored_root(&target, &src));

    // --dry-run with --prune removes nothing at all.
    write(&src.join("data.bin"), &random_bytes(1 << 20, 99));
    env.backup(&src);
    let before = repo_files(&env.repo());
    let run = env
        .run(&["forget", "--keep-last", "1", "--prune", "--dry-run"])
        .ok();
    assert!(run.stdout.contains("dry run"), "{}", run.stdout);
    assert_eq!(repo_files(&env.repo()), before);
}

#[test]
fn forget_with_prune_and_dry_run_still_prints_json() {
    let env = Env::new();
    env.init();
    let src = make_source(&env);
    env.backup(&src);
    write(&src.join("file.txt"), b"changed");
    env.backup(&src);
    let before = repo_files(&env.repo());
    let run = env
        .run(&[
            "--json",
            "forget",
            "--keep-last",
            "1",
            "--prune",
            "--dry-run",
        ])
        .ok();
    assert!(
        !run.stdout.trim().is_empty(),
        "--json printed nothing for forget --prune --dry-run"
    );
    let v = run.json();
    let forget = if v.get("forget").is_some() {
        &v["forget"]
    } else {
        &v
    };
    assert_eq!(forget["removed"], 1, "{v}");
    assert_eq!(forget["dry_run"], true, "{v}");
    assert_eq!(repo_files(&env.repo()), before, "a dry run changes nothing");
}

fn lock_files(repo: &Path) -> Vec<PathBuf> {
    repo_files(repo)
        .into_keys()
        .filter(|p| p.starts_with("locks"))
        .collect()
}

#[test]
fn unlock_removes_only_stale_locks() {
    let env = Env::new();
    env.init();
    let run = env.run(&["unlock"]).ok();
    assert!(run.stdout.contains("no stale locks"), "{}", run.stdout);
    let json = env.run(&["--json", "unlock"]).ok().json();
    assert_eq!(json["removed"], serde_json::json!([]));

    // A backup that holds its lock while it waits on a FIFO for its exclude patterns.
    let src = make_source(&env);
    let fifo = env.path("excludes.fifo");
    let status = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(status.success());
    let mut cmd = env.cmd();
    cmd.args(["backup", s(&src), "--exclude-file", s(&fifo)])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let started = Instant::now();
    while lock_files(&env.repo()).is_empty() {
        if started.elapsed() > Duration::from_secs(30) || child.try_wait().unwrap().is_some() {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the backup never showed a lock");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // A live holder's lock is not stale: unlock leaves it, and forget (exclusive) waits its turn.
    let run = env.run(&["unlock"]).ok();
    assert!(run.stdout.contains("no stale locks"), "{}", run.stdout);
    assert_eq!(lock_files(&env.repo()).len(), 1);
    let run = env.run(&["forget", "--keep-last", "1"]);
    assert_eq!(run.code, 3, "stderr: {}", run.stderr);
    assert!(
        run.stderr.contains("locked") && run.stderr.contains("unlock"),
        "{}",
        run.stderr
    );

    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(
        lock_files(&env.repo()).len(),
        1,
        "a killed process leaves its lock behind"
    );
    let run = env.run(&["unlock"]).ok();
    assert!(
        run.stdout.contains("removed") && run.stdout.contains("backup"),
        "{}",
        run.stdout
    );
    assert!(lock_files(&env.repo()).is_empty());
    env.run(&["forget", "--keep-last", "1"]).ok();
}

#[test]
fn json_errors_are_machine_readable() {
    let env = Env::new();
    env.init();
    let run = env.run(&["--json", "ls", "latest"]);
    assert_json_error(&run, 2, "no snapshots");
    let run = env.run(&["--json", "restore", "abc", "--target", s(&env.path("t"))]);
    assert_json_error(&run, 2, "not a snapshot id");
    let run = env.run(&["--json", "key", "remove", "0000000000"]);
    assert_json_error(&run, 2, "no key slot");
    let run = env.run(&["--json", "forget"]);
    assert_json_error(&run, 2, "--keep");
    let run = env.run(&["--json", "verify", "--read-data-subset=abc"]);
    assert_json_error(&run, 2, "read-data-subset");
}

#[test]
fn json_errors_cover_command_line_mistakes() {
    let env = Env::new();
    env.init();
    // A scheduler that asked for JSON gets JSON for a malformed command line too.
    let run = env.run(&["--json", "ls"]);
    assert_json_error(&run, 2, "SNAPSHOT");
    let run = env.run(&["--json", "verify", "--read-data-subset"]);
    assert_json_error(&run, 2, "read-data-subset");
}

#[test]
fn quickstart_passes_and_can_run_again() {
    let env = Env::new();
    let dir = env.path("demo");
    let mut cmd = bare(&env);
    cmd.current_dir(env.dir.path());
    let first = run_cmd(cmd, &["quickstart", "--dir", s(&dir), "--sample-mib", "8"]).ok();
    assert!(first.stdout.contains("PASS"), "{}", first.stdout);
    for step in [
        "generate sample data",
        "create repository",
        "backup",
        "replicate",
        "replica status",
        "restore",
        "compare with source",
        "verify all data",
        "drill (primary lost)",
    ] {
        assert!(
            first.stdout.contains(step),
            "step {step:?} missing:\n{}",
            first.stdout
        );
    }
    assert!(dir.join("demo.key").exists() && dir.join("repository/config").exists());

    let mut cmd = bare(&env);
    cmd.current_dir(env.dir.path());
    let second = run_cmd(
        cmd,
        &[
            "--json",
            "quickstart",
            "--dir",
            s(&dir),
            "--sample-mib",
            "8",
        ],
    )
    .ok()
    .json();
    let steps: Vec<&str> = second["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert!(
        steps.contains(&"open repository"),
        "the second run reuses the repository: {steps:?}"
    );
    assert!(!steps.contains(&"create repository"), "{steps:?}");
    assert!(
        second["mismatches"].as_array().unwrap().is_empty(),
        "{second}"
    );
    assert!(second["files_compared"].as_u64().unwrap() > 0, "{second}");

    assert_eq!(second["restored_from"], "region-b");
    assert_eq!(second["drill"]["verdict"], "PASS", "{second}");
    let html = second["drill_html"].as_str().unwrap();
    assert!(
        std::fs::read_to_string(html)
            .unwrap()
            .contains("primary-region-lost")
    );
    for replica in second["replication"]["replicas"].as_array().unwrap() {
        assert_eq!(replica["status"], "complete", "{replica}");
    }

    // The printed hints work: the written config opens the repository with the key
    // file, and both replicas hold both snapshots.
    let config = dir.join("firedrill.toml");
    let list = run_cmd(bare(&env), &["--config", s(&config), "--json", "snapshots"])
        .ok()
        .json();
    assert_eq!(list.as_array().unwrap().len(), 2);
    let status = run_cmd(bare(&env), &["--config", s(&config), "--json", "replicas"])
        .ok()
        .json();
    let stores = status["stores"].as_array().unwrap();
    assert_eq!(stores.len(), 3);
    for store in stores {
        assert_eq!(store["missing_objects"], 0, "{store}");
        assert_eq!(store["snapshots"], 2, "{store}");
    }
    assert_eq!(status["placement"]["satisfied"], true);
    // Its schedule loads: three jobs, each with a next run.
    let schedule = run_cmd(bare(&env), &["--config", s(&config), "--json", "status"])
        .ok()
        .json();
    let jobs = schedule["jobs"].as_array().unwrap();
    let kinds: Vec<&str> = jobs.iter().map(|j| j["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["backup", "replicate", "drill"]);
    assert!(jobs.iter().all(|j| j["next_run"].is_string()), "{schedule}");
}
