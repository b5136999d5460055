//! Incremental backups: unchanged files (same size, mtime and inode as in the parent
//! snapshot) are not read again, changed ones are, and every snapshot still restores
//! exactly what it captured.

mod common;

use common::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fs::{self, File, FileTimes};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

fn set_mtime(path: &Path, time: SystemTime) {
    File::open(path)
        .unwrap()
        .set_times(FileTimes::new().set_modified(time))
        .unwrap();
}

fn at(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
}

/// 20 files of assorted sizes in three directories, each with its own fixed mtime.
/// Returns their paths (relative) and sizes.
fn make_source(src: &Path) -> BTreeMap<PathBuf, u64> {
    let mut files = BTreeMap::new();
    for i in 0..20u64 {
        let rel = PathBuf::from(format!("d{}/file-{i:02}", i % 3));
        let len = (i * 60_000 + (i % 4) * 150_000) as usize;
        write(&src.join(&rel), &random_bytes(len, i));
        set_mtime(&src.join(&rel), at(1_700_000_000 + i * 60));
        files.insert(rel, len as u64);
    }
    files
}

fn summary(backup: &Value) -> &Value {
    &backup["summary"]
}

fn num(v: &Value, key: &str) -> u64 {
    v[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{key} missing from {v}"))
}

/// Restores `snapshot` into a fresh directory and compares it with what the source held.
#[track_caller]
fn assert_restores_to(
    env: &Env,
    snapshot: &str,
    src: &Path,
    expected: &BTreeMap<PathBuf, Entry>,
    name: &str,
) {
    let target = env.path(name);
    env.run(&["restore", snapshot, "--target", target.to_str().unwrap()])
        .ok();
    let restored = snapshot_tree(&restored_root(&target, src));
    for (path, entry) in expected {
        assert_eq!(
            restored.get(path),
            Some(entry),
            "{}: {} differs after restore",
            snapshot,
            path.display()
        );
    }
    let extra: Vec<_> = restored
        .keys()
        .filter(|k| !expected.contains_key(*k))
        .collect();
    assert!(
        extra.is_empty(),
        "{snapshot}: restored tree has extra entries {extra:?}"
    );
}

#[test]
fn a_second_backup_reads_only_what_changed() {
    let env = Env::new();
    env.init();
    let src = env.path("src");
    let files = make_source(&src);
    let total: u64 = files.values().sum();

    let first = env.backup(&src);
    let s1 = summary(&first);
    assert_eq!(
        (
            num(s1, "files"),
            num(s1, "files_new"),
            num(s1, "files_unmodified")
        ),
        (20, 20, 0),
        "{first}"
    );
    assert_eq!(num(s1, "bytes_read"), total, "{first}");
    assert!(first["parent"].is_null(), "{first}");
    let first_id = first["snapshot"].as_str().unwrap().to_string();
    let captured_first = snapshot_tree(&src);

    // Change one file (new content and size), add one, delete one.
    let changed = PathBuf::from("d1/file-04");
    let changed_len = 123_457u64;
    write(
        &src.join(&changed),
        &random_bytes(changed_len as usize, 1000),
    );
    set_mtime(&src.join(&changed), at(1_800_000_000));
    let added = PathBuf::from("d2/added");
    let added_len = 77_777u64;
    write(&src.join(&added), &random_bytes(added_len as usize, 1001));
    let deleted = PathBuf::from("d0/file-09");
    fs::remove_file(src.join(&deleted)).unwrap();
    let total2 = total - files[&changed] - files[&deleted] + changed_len + added_len;

    let second = env.backup(&src);
    let s2 = summary(&second);
    assert_eq!(
        second["parent"],
        first_id.as_str(),
        "the second snapshot's parent is the first: {second}"
    );
    assert_eq!(num(s2, "files"), 20, "{second}");
    assert_eq!(num(s2, "files_unmodified"), 18, "{second}");
    assert_eq!(num(s2, "files_changed"), 1, "{second}");
    assert_eq!(num(s2, "files_new"), 1, "{second}");
    assert_eq!(
        num(s2, "bytes_read"),
        changed_len + added_len,
        "only the changed and new files are read: {second}"
    );
    assert_eq!(num(s2, "total_bytes"), total2, "{second}");
    let second_id = second["snapshot"].as_str().unwrap().to_string();
    let captured_second = snapshot_tree(&src);

    // The snapshot list agrees.
    let list = env.run(&["--json", "snapshots"]).ok().json();
    let listed = list
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == second_id.as_str())
        .unwrap();
    assert_eq!(listed["parent"], first_id.as_str(), "{listed}");

    // Nothing changed: nothing read, nothing new stored.
    let third = env.backup(&src);
    let s3 = summary(&third);
    assert_eq!(third["parent"], second_id.as_str(), "{third}");
    assert_eq!(
        (num(s3, "files_unmodified"), num(s3, "bytes_read")),
        (20, 0),
        "{third}"
    );
    assert_eq!(
        (num(s3, "files_changed"), num(s3, "files_new")),
        (0, 0),
        "{third}"
    );
    assert_eq!(num(s3, "total_bytes"), total2, "{third}");
    assert!(
        num(s3, "blobs_added") <= num(s3, "dirs") + 1,
        "only trees can be new: {third}"
    );

    // Each snapshot restores what it captured, not what the source holds now.
    assert_restores_to(&env, &first_id, &src, &captured_first, "restore-first");
    assert_restores_to(&env, &second_id, &src, &captured_second, "restore-second");
    assert_restores_to(&env, "latest", &src, &captured_second, "restore-latest");
}

#[test]
fn a_new_mtime_alone_rereads_the_file_but_stores_no_data() {
    let env = Env::new();
    env.init();
    let src = env.path("src");
    let files = make_source(&src);
    env.backup(&src);

    let touched = PathBuf::from("d2/file-11");
    let len = files[&touched];
    assert!(len > 1 << 20, "the touched file should span many chunks");
    set_mtime(&src.join(&touched), at(1_900_000_000));
    let out = env.backup(&src);
    let s = summary(&out);
    assert_eq!(num(s, "files_changed"), 1, "{out}");
    assert_eq!(num(s, "files_unmodified"), 19, "{out}");
    assert_eq!(num(s, "bytes_read"), len, "{out}");
    // Its chunks are already stored: only directory trees (at most one per directory) are new.
    assert!(num(s, "blobs_added") <= num(s, "dirs") + 1, "{out}");
    assert!(
        num(s, "stored_bytes_added") < 64 * 1024,
        "no data should be stored again: {out}"
    );

    let target = env.path("restored");
    env.run(&["restore", "latest", "--target", target.to_str().unwrap()])
        .ok();
    assert_same_tree(&src, &restored_root(&target, &src));
}

#[test]
fn force_rereads_everything() {
    let env = Env::new();
    env.init();
    let src = env.path("src");
    let files = make_source(&src);
    let total: u64 = files.values().sum();
    env.backup(&src);

    let out = env
        .run(&["--json", "backup", "--force", src.to_str().unwrap()])
        .ok()
        .json();
    let s = summary(&out);
    assert_eq!(num(s, "files"), 20, "{out}");
    assert_eq!(
        num(s, "files_unmodified"),
        0,
        "--force reads every file: {out}"
    );
    assert_eq!(num(s, "files_new") + num(s, "files_changed"), 20, "{out}");
    assert_eq!(num(s, "bytes_read"), total, "{out}");
    assert!(
        num(s, "stored_bytes_added") < 64 * 1024,
        "re-read data deduplicates: {out}"
    );

    // And the next plain backup is incremental again.
    let next = env.backup(&src);
    assert_eq!(num(summary(&next), "files_unmodified"), 20, "{next}");
    assert_eq!(next["parent"], out["snapshot"], "{next}");

    let target = env.path("restored");
    env.run(&["restore", "latest", "--target", target.to_str().unwrap()])
        .ok();
    assert_same_tree(&src, &restored_root(&target, &src));
}

#[test]
fn a_file_replaced_with_same_size_and_mtime_is_reread() {
    let env = Env::new();
    env.init();
    let src = env.path("src");
    let files = make_source(&src);
    let first = env.backup(&src);
    let first_id = first["snapshot"].as_str().unwrap().to_string();
    let captured_first = snapshot_tree(&src);

    // Write different content of the same size beside it, give it the exact same mtime
    // (nanoseconds included), and rename it over the original: only the inode differs.
    let victim = src.join("d0/file-06");
    let len = files[Path::new("d0/file-06")];
    let old = fs::metadata(&victim).unwrap();
    let staging = src.join("d0/.staging");
    fs::write(&staging, random_bytes(len as usize, 4242)).unwrap();
    File::options()
        .write(true)
        .open(&staging)
        .unwrap()
        .set_times(FileTimes::new().set_modified(old.modified().unwrap()))
        .unwrap();
    fs::rename(&staging, &victim).unwrap();
    let new = fs::metadata(&victim).unwrap();
    assert_eq!(
        (new.len(), new.mtime(), new.mtime_nsec()),
        (old.len(), old.mtime(), old.mtime_nsec())
    );
    assert_ne!(new.ino(), old.ino());

    let out = env.backup(&src);
    let s = summary(&out);
    assert_eq!(
        num(s, "files_changed"),
        1,
        "a new inode means the file is read again: {out}"
    );
    assert_eq!(num(s, "files_unmodified"), 19, "{out}");
    assert_eq!(num(s, "bytes_read"), len, "{out}");

    let target = env.path("restored");
    env.run(&["restore", "latest", "--target", target.to_str().unwrap()])
        .ok();
    assert_same_tree(&src, &restored_root(&target, &src));
    assert_restores_to(&env, &first_id, &src, &captured_first, "restore-first");
}

#[test]
fn mode_and_owner_changes_are_captured_without_rereading() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    env.init();
    let src = env.path("src");
    make_source(&src);
    env.backup(&src);

    let file = src.join("d1/file-07");
    fs::set_permissions(&file, fs::Permissions::from_mode(0o640)).unwrap();
    std::os::unix::fs::chown(&file, Some(2345), Some(3456)).unwrap();
    let out = env.backup(&src);
    assert_eq!(
        num(summary(&out), "files_unmodified"),
        20,
        "same size, mtime and inode: not read: {out}"
    );
    assert_eq!(num(summary(&out), "bytes_read"), 0, "{out}");

    let target = env.path("restored");
    env.run(&["restore", "latest", "--target", target.to_str().unwrap()])
        .ok();
    let root = restored_root(&target, &src);
    assert_same_tree(&src, &root);
    let meta = fs::metadata(root.join("d1/file-07")).unwrap();
    assert_eq!(
        (meta.mode() & 0o7777, meta.uid(), meta.gid()),
        (0o640, 2345, 3456)
    );
}

#[test]
fn relative_and_absolute_source_paths_share_history() {
    let env = Env::new();
    env.init();
    let src = env.path("src");
    make_source(&src);
    let first = env.backup(&src);
    // The same directory named relative to another working directory, with `.` and a trailing slash.
    let out = env
        .cmd()
        .current_dir(env.dir.path())
        .args(["--json", "backup", "./src/./"])
        .output()
        .unwrap();
    let second = Run::from(out).ok().json();
    assert_eq!(second["parent"], first["snapshot"], "{second}");
    assert_eq!(num(summary(&second), "files_unmodified"), 20, "{second}");
    let list = env.run(&["--json", "snapshots"]).ok().json();
    for snap in list.as_array().unwrap() {
        assert_eq!(
            snap["paths"],
            serde_json::json!([src.to_str().unwrap()]),
            "{snap}"
        );
    }
}
