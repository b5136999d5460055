//! Backup then restore reproduces the tree exactly: content, mode, mtime, ownership,
//! symlinks, odd names, deep paths, chunk-boundary sizes, many files, huge sparse files.

mod common;

use common::*;
use std::ffi::OsStr;
use std::fs::{self, File, FileTimes};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileExt, MetadataExt, PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

const KIB: usize = 1024;
const MIB: usize = 1024 * 1024;

fn at(secs: i64, nanos: u32) -> SystemTime {
    let base = if secs >= 0 {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs as u64)
    } else {
        SystemTime::UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs())
    };
    base + Duration::from_nanos(u64::from(nanos))
}

fn set_mtime(path: &Path, time: SystemTime) {
    File::open(path)
        .unwrap()
        .set_times(FileTimes::new().set_modified(time))
        .unwrap_or_else(|e| panic!("set mtime of {}: {e}", path.display()));
}

fn set_mode(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// Every directory below `root` (and `root`), deepest first.
fn dirs_deepest_first(root: &Path) -> Vec<PathBuf> {
    let mut out = vec![root.to_path_buf()];
    let mut i = 0;
    while i < out.len() {
        for entry in fs::read_dir(&out[i]).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_dir() {
                out.push(entry.path());
            }
        }
        i += 1;
    }
    out.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    out
}

/// Directory mtimes and every entry's owner, which `assert_same_tree` does not compare.
#[track_caller]
fn assert_same_dir_times_and_owners(source: &Path, restored: &Path) {
    for dir in dirs_deepest_first(source) {
        let rel = dir.strip_prefix(source).unwrap();
        let (a, b) = (
            fs::metadata(&dir).unwrap(),
            fs::metadata(restored.join(rel)).unwrap(),
        );
        assert_eq!(
            (a.mtime(), a.mtime_nsec()),
            (b.mtime(), b.mtime_nsec()),
            "mtime of directory {:?} differs after restore",
            rel
        );
    }
    let mut stack = vec![source.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let rel = path.strip_prefix(source).unwrap();
            let a = fs::symlink_metadata(&path).unwrap();
            let b = fs::symlink_metadata(restored.join(rel)).unwrap();
            assert_eq!(
                (a.uid(), a.gid()),
                (b.uid(), b.gid()),
                "owner of {rel:?} differs after restore"
            );
            if a.is_file() {
                assert_eq!(
                    a.mtime_nsec(),
                    b.mtime_nsec(),
                    "mtime nanoseconds of {rel:?} differ"
                );
            }
            if a.is_dir() {
                stack.push(path);
            }
        }
    }
}

/// Sizes around the chunker's bounds for `--chunk-avg-kib 64`: min 16 KiB, avg 64 KiB, max 256 KiB.
const SIZES: &[usize] = &[
    0,
    1,
    16 * KIB - 1,
    16 * KIB,
    16 * KIB + 1,
    64 * KIB - 1,
    64 * KIB,
    64 * KIB + 1,
    256 * KIB - 1,
    256 * KIB,
    256 * KIB + 1,
    512 * KIB,
];

/// A tree with everything a restore can get wrong. Returns the number of regular files.
fn build_rich_tree(root: &Path) -> usize {
    let mut files = 0;
    let mut put = |rel: &Path, data: &[u8]| {
        write(&root.join(rel), data);
        files += 1;
    };
    put(Path::new("empty"), b"");
    put(Path::new("dir with spaces/also empty"), b"");
    put(
        Path::new("Überweisung März 2026.csv"),
        "Datum;Betrag\n2026-03-01;-12,50 €\n".as_bytes(),
    );
    put(Path::new("it's \"quoted\" and spaced"), b"quotes");
    put(Path::new("new\nline"), b"newline in the name");
    put(Path::new(" leading and trailing space "), b"spaces");
    put(Path::new("-rf *?[x]\\$HOME"), b"shell metacharacters");
    put(
        Path::new(OsStr::from_bytes(b"bad\xffname")),
        b"a name that is not UTF-8",
    );
    put(
        &Path::new(OsStr::from_bytes(b"dir \xfe\xff")).join("inside"),
        b"in a directory whose name is not UTF-8",
    );
    put(Path::new(&"n".repeat(255)), b"longest name");
    put(
        Path::new(&"ü".repeat(127)),
        b"longest name in two-byte characters",
    );

    // Sizes around chunk boundaries, random (incompressible).
    for (i, &len) in SIZES.iter().enumerate() {
        put(
            Path::new(&format!("sizes/random-{len}")),
            &random_bytes(len, 100 + i as u64),
        );
    }
    put(
        Path::new("sizes/random-3MiB"),
        &random_bytes(3 * MIB + 17, 7),
    );
    // Compressible text, several MiB.
    let text: Vec<u8> = (0..)
        .map(|i| format!("line {i}: the quick brown fox jumps over the lazy dog\n"))
        .flat_map(String::into_bytes)
        .take(5 * MIB + 3)
        .collect();
    put(Path::new("sizes/text-5MiB.log"), &text);
    // Zeros (restored as holes) around and between data.
    let mut zeros = vec![0u8; 2 * MIB];
    zeros[MIB..MIB + 100].copy_from_slice(&random_bytes(100, 8));
    put(Path::new("sizes/mostly-zeros"), &zeros);
    put(Path::new("sizes/all-zeros-1MiB"), &vec![0u8; MIB]);
    // The same block four times in one file, and two identical files: deduplicated blobs.
    let block = random_bytes(256 * KIB, 9);
    put(Path::new("dedup/repeated"), &block.repeat(4));
    put(Path::new("dedup/copy-a"), &random_bytes(300 * KIB, 10));
    put(Path::new("dedup/copy-b"), &random_bytes(300 * KIB, 10));

    // A second name for the same inode is restored with the same content.
    fs::hard_link(root.join("dedup/copy-a"), root.join("dedup/hard-link")).unwrap();

    // 40 levels deep.
    let mut deep = PathBuf::from("deep");
    for level in 0..40 {
        deep.push(format!("level-{level:02}"));
    }
    put(&deep.join("bottom.txt"), b"the bottom");

    // Modes, including set-id bits that a chown after the chmod would clear.
    put(Path::new("modes/private"), b"0600");
    put(Path::new("modes/script.sh"), b"#!/bin/sh\necho hi\n");
    put(Path::new("modes/read-only"), b"0444");
    put(Path::new("modes/setuid"), b"4750");
    put(Path::new("modes/nothing"), b"0000");
    put(
        Path::new("read-only dir/a"),
        b"inside a read-only directory",
    );
    put(Path::new("read-only dir/sub/b"), b"deeper");
    fs::create_dir_all(root.join("sticky")).unwrap();
    fs::create_dir_all(root.join("empty dir")).unwrap();
    files += 1; // the hard link

    // Symlinks: relative, with `..`, absolute, dangling, to a directory, to themselves.
    symlink("Überweisung März 2026.csv", root.join("link-relative")).unwrap();
    symlink("../empty", root.join("dir with spaces/link-up")).unwrap();
    symlink(root.join("sizes/random-1"), root.join("link-absolute")).unwrap();
    symlink("does/not/exist", root.join("link-dangling")).unwrap();
    symlink(
        "/nonexistent/absolute/target",
        root.join("link-dangling-absolute"),
    )
    .unwrap();
    symlink("sizes", root.join("link-to-dir")).unwrap();
    symlink("link-loop", root.join("link-loop")).unwrap();
    symlink(
        OsStr::from_bytes(b"bad\xffname"),
        root.join("link-to-non-utf8"),
    )
    .unwrap();

    // Owners (tests run as root), on a file and on a symlink itself.
    std::os::unix::fs::chown(root.join("modes/private"), Some(1234), Some(5678)).unwrap();
    std::os::unix::fs::lchown(root.join("link-dangling"), Some(4321), Some(8765)).unwrap();

    // Explicit, distinct mtimes with nanoseconds; one before 1970, one far in the future.
    let mut stack = vec![root.to_path_buf()];
    let mut n = 0i64;
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                stack.push(entry.path());
            } else if kind.is_file() {
                n += 1;
                set_mtime(
                    &entry.path(),
                    at(
                        1_600_000_000 + n * 3_607,
                        (n as u32 * 7_919_357) % 1_000_000_000,
                    ),
                );
            }
        }
    }
    set_mtime(&root.join("empty"), at(-86_400 * 400, 250_000_000));
    set_mtime(&root.join("new\nline"), at(4_102_444_800, 1));

    set_mode(&root.join("modes/private"), 0o600);
    set_mode(&root.join("modes/script.sh"), 0o755);
    set_mode(&root.join("modes/read-only"), 0o444);
    set_mode(&root.join("modes/setuid"), 0o4750);
    set_mode(&root.join("modes/nothing"), 0o000);
    set_mode(&root.join("sticky"), 0o1777);
    set_mode(&root.join("read-only dir/sub"), 0o500);
    set_mode(&root.join("read-only dir"), 0o555);
    set_mode(&root.join("dir with spaces"), 0o700);

    // Directory mtimes last, deepest first (setting one does not touch its parent).
    for (i, dir) in dirs_deepest_first(root).iter().enumerate() {
        set_mtime(dir, at(1_500_000_000 + i as i64 * 86_400, 123_456_789));
    }
    files
}

fn restore_json(env: &Env, snapshot: &str, target: &Path, includes: &[&str]) -> serde_json::Value {
    let mut args = vec![
        "--json",
        "restore",
        snapshot,
        "--target",
        target.to_str().unwrap(),
    ];
    for inc in includes {
        args.extend(["--include", inc]);
    }
    env.run(&args).ok().json()
}

#[test]
fn a_rich_tree_round_trips_exactly() {
    let env = Env::new();
    env.init();
    let src = env.path("src");
    let files = build_rich_tree(&src);

    let summary = env.backup(&src);
    assert_eq!(summary["complete"], true, "{summary}");
    assert_eq!(summary["summary"]["files"], files as u64, "{summary}");
    assert_eq!(summary["summary"]["symlinks"], 8, "{summary}");
    assert_eq!(
        summary["summary"]["skipped"].as_array().unwrap().len(),
        0,
        "{summary}"
    );

    let target = env.path("restored");
    let report = restore_json(&env, "latest", &target, &[]);
    assert_eq!(report["damaged"].as_array().unwrap().len(), 0, "{report}");
    assert_eq!(report["files_restored"], files as u64, "{report}");
    assert_eq!(report["files_verified"], files as u64, "{report}");
    assert_eq!(report["symlinks"], 8, "{report}");

    let restored = restored_root(&target, &src);
    assert_same_tree(&src, &restored);
    assert_same_dir_times_and_owners(&src, &restored);
    // No temporary files left behind anywhere in the target.
    let leftovers: Vec<_> = common::snapshot_tree(&target)
        .into_keys()
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.as_bytes().starts_with(b".firedrill"))
        })
        .collect();
    assert!(
        leftovers.is_empty(),
        "temporary files left in the target: {leftovers:?}"
    );

    // Restoring again over the first restore gives the same tree (files are replaced).
    let again = restore_json(&env, "latest", &target, &[]);
    assert_eq!(again["damaged"].as_array().unwrap().len(), 0, "{again}");
    assert_same_tree(&src, &restored);
    assert_same_dir_times_and_owners(&src, &restored);
}

#[test]
fn ten_thousand_small_files_round_trip() {
    let env = Env::new();
    env.init();
    let src = env.path("many");
    for d in 0..8 {
        let dir = src.join(format!("dir-{d}"));
        fs::create_dir_all(&dir).unwrap();
        for f in 0..1250 {
            fs::write(dir.join(format!("f{f:04}.txt")), format!("{d}/{f}\n")).unwrap();
        }
    }
    let summary = env.backup(&src);
    assert_eq!(summary["summary"]["files"], 10_000, "{summary}");
    assert_eq!(summary["summary"]["files_new"], 10_000, "{summary}");

    let target = env.path("restored");
    let report = restore_json(&env, "latest", &target, &[]);
    assert_eq!(report["files_restored"], 10_000, "{report}");
    assert_eq!(report["damaged"].as_array().unwrap().len(), 0, "{report}");
    assert_same_tree(&src, &restored_root(&target, &src));
}

fn blake3_of(path: &Path) -> blake3::Hash {
    let mut hasher = blake3::Hasher::new();
    hasher.update_reader(File::open(path).unwrap()).unwrap();
    hasher.finalize()
}

#[test]
fn a_sparse_file_over_4_gib_round_trips_and_stays_sparse() {
    const LEN: u64 = (4 << 30) + 12_345;
    let env = Env::new();
    env.init();
    let src = env.path("sparse");
    fs::create_dir_all(&src).unwrap();
    let path = src.join("disk.img");
    {
        let file = File::create(&path).unwrap();
        file.set_len(LEN).unwrap();
        file.write_all_at(&random_bytes(4096, 1), 0).unwrap();
        file.write_all_at(&random_bytes(3000, 2), (2 << 30) + 1)
            .unwrap();
        // Past the 4 GiB mark, ending 1000 bytes before the end: the tail stays a hole.
        file.write_all_at(&random_bytes(5000, 3), LEN - 6000)
            .unwrap();
    }
    let meta = fs::metadata(&path).unwrap();
    assert!(
        meta.blocks() * 512 < 64 << 20,
        "the source file should be sparse"
    );

    let summary = env.backup(&src);
    assert_eq!(summary["summary"]["total_bytes"], LEN, "{summary}");
    let stored = summary["summary"]["stored_bytes_added"].as_u64().unwrap();
    assert!(
        stored < 16 << 20,
        "4 GiB of zeros should deduplicate to almost nothing, stored {stored} bytes"
    );

    let target = env.path("restored");
    let report = restore_json(&env, "latest", &target, &[]);
    assert_eq!(report["damaged"].as_array().unwrap().len(), 0, "{report}");
    let restored = restored_root(&target, &src).join("disk.img");
    let restored_meta = fs::metadata(&restored).unwrap();
    assert_eq!(restored_meta.len(), LEN);
    assert_eq!(restored_meta.mtime(), meta.mtime());
    assert_eq!(restored_meta.mode(), meta.mode());
    let used = restored_meta.blocks() * 512;
    assert!(
        used < 64 << 20,
        "restored file should leave zero chunks as holes, but uses {used} bytes on disk"
    );
    assert_eq!(
        blake3_of(&path),
        blake3_of(&restored),
        "restored content differs"
    );
}

fn small_tree(src: &Path) {
    write(&src.join("top.txt"), b"top");
    write(&src.join("docs/a.txt"), b"a");
    write(&src.join("docs/inner/b.txt"), &random_bytes(100 * KIB, 1));
    symlink("a.txt", src.join("docs/link")).unwrap();
    write(
        &src.join("docsx/not-docs.txt"),
        b"shares a prefix with docs",
    );
    write(&src.join("photos/c.jpg"), &random_bytes(300 * KIB, 2));
    write(&src.join("photos/d.jpg"), &random_bytes(10, 3));
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn restore_include_restores_only_that_subtree() {
    let env = Env::new();
    env.init();
    let src = env.path("src");
    small_tree(&src);
    env.backup(&src);

    let target = env.path("only-docs");
    let docs = src.join("docs");
    let report = restore_json(&env, "latest", &target, &[docs.to_str().unwrap()]);
    assert_eq!(report["files_restored"], 2, "{report}");
    assert_eq!(report["symlinks"], 1, "{report}");
    let root = restored_root(&target, &src);
    assert_eq!(
        names_in(&root),
        vec!["docs"],
        "only the included subtree (not `docsx`, not `top.txt`)"
    );
    assert_same_tree(&docs, &root.join("docs"));

    // Repeatable, and a single file can be included; a trailing slash is accepted.
    let target = env.path("two");
    let photo = src.join("photos/c.jpg");
    let inner = format!("{}/", src.join("docs/inner").display());
    restore_json(&env, "latest", &target, &[photo.to_str().unwrap(), &inner]);
    let root = restored_root(&target, &src);
    assert_eq!(names_in(&root), vec!["docs", "photos"]);
    assert_eq!(names_in(&root.join("photos")), vec!["c.jpg"]);
    assert_eq!(names_in(&root.join("docs")), vec!["inner"]);
    assert_same_tree(&src.join("docs/inner"), &root.join("docs/inner"));
    assert_eq!(
        fs::read(root.join("photos/c.jpg")).unwrap(),
        fs::read(&photo).unwrap()
    );

    // An include that matches nothing is a usage error, and restores nothing.
    let target = env.path("nothing");
    let missing = src.join("no-such-dir");
    let run = env
        .run(&[
            "restore",
            "latest",
            "--target",
            target.to_str().unwrap(),
            "--include",
            missing.to_str().unwrap(),
        ])
        .code(2);
    assert!(run.stderr.contains("no-such-dir"), "{}", run.stderr);
    assert!(!restored_root(&target, &src).exists());
}

#[test]
fn restore_never_writes_through_a_symlink_in_the_target() {
    let env = Env::new();
    env.init();
    let src = env.path("src");
    small_tree(&src);
    env.backup(&src);

    // A symlink where a directory of the snapshot goes, pointing outside the target.
    let outside = tempfile::tempdir().unwrap();
    fs::set_permissions(outside.path(), fs::Permissions::from_mode(0o700)).unwrap();
    let before = fs::metadata(outside.path()).unwrap();
    let target = env.path("target");
    let root = restored_root(&target, &src);
    fs::create_dir_all(&root).unwrap();
    symlink(outside.path(), root.join("docs")).unwrap();
    let run = env.run(&["restore", "latest", "--target", target.to_str().unwrap()]);
    assert_ne!(
        run.code, 0,
        "restore through a planted symlink must fail\nstdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
    assert!(
        run.stderr.contains("symlink"),
        "the error should name the symlink: {}",
        run.stderr
    );
    assert_eq!(
        names_in(outside.path()),
        Vec::<String>::new(),
        "restore wrote through the symlink"
    );
    let after = fs::metadata(outside.path()).unwrap();
    assert_eq!(
        after.permissions().mode(),
        before.permissions().mode(),
        "restore changed the outside directory's mode"
    );
    assert_eq!((after.uid(), after.mtime()), (before.uid(), before.mtime()));
    assert_eq!(
        fs::read_link(root.join("docs")).unwrap(),
        outside.path(),
        "the user's symlink is left alone"
    );

    // The same with the symlink at an ancestor of the source path.
    let outside2 = tempfile::tempdir().unwrap();
    let target2 = env.path("target2");
    fs::create_dir_all(&target2).unwrap();
    let first = src.components().nth(1).unwrap().as_os_str().to_owned();
    symlink(outside2.path(), target2.join(&first)).unwrap();
    let run = env.run(&["restore", "latest", "--target", target2.to_str().unwrap()]);
    assert_ne!(
        run.code, 0,
        "stdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
    assert_eq!(
        names_in(outside2.path()),
        Vec::<String>::new(),
        "restore wrote through the symlink"
    );

    // A symlink where a file goes is replaced by the file; its outside target is untouched.
    let outside3 = tempfile::tempdir().unwrap();
    let victim = outside3.path().join("victim");
    fs::write(&victim, b"must stay").unwrap();
    let target3 = env.path("target3");
    let root3 = restored_root(&target3, &src);
    fs::create_dir_all(&root3).unwrap();
    symlink(&victim, root3.join("top.txt")).unwrap();
    let run = env.run(&["restore", "latest", "--target", target3.to_str().unwrap()]);
    assert_eq!(
        fs::read(&victim).unwrap(),
        b"must stay",
        "restore wrote through a symlink at a file's place"
    );
    assert_eq!(names_in(outside3.path()), vec!["victim"]);
    if run.code == 0 {
        assert!(
            !fs::symlink_metadata(root3.join("top.txt"))
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read(root3.join("top.txt")).unwrap(), b"top");
    }
}

#[test]
fn a_single_file_as_the_source_round_trips() {
    let env = Env::new();
    env.init();
    let file = env.path("notes/only.txt");
    write(&file, &random_bytes(70 * KIB, 5));
    set_mtime(&file, at(1_650_000_000, 42));
    set_mode(&file, 0o640);
    let out = env.backup(&file);
    assert_eq!(out["summary"]["files"], 1, "{out}");
    let target = env.path("restored");
    restore_json(&env, "latest", &target, &[]);
    let restored = restored_root(&target, &file);
    let (a, b) = (
        fs::metadata(&file).unwrap(),
        fs::metadata(&restored).unwrap(),
    );
    assert_eq!(fs::read(&restored).unwrap(), fs::read(&file).unwrap());
    assert_eq!(
        (b.mode(), b.mtime(), b.mtime_nsec()),
        (a.mode(), a.mtime(), a.mtime_nsec())
    );
}

#[test]
fn a_source_reached_through_a_symlinked_directory_restores_real_directory_metadata() {
    let env = Env::new();
    env.init();
    let real = env.path("real");
    write(&real.join("sub/f.txt"), b"data");
    set_mode(&real, 0o750);
    symlink(&real, env.path("link")).unwrap();
    // The user names the source through the symlink.
    let src = env.path("link/sub");
    env.backup(&src);

    let target = env.path("restored");
    restore_json(&env, "latest", &target, &[]);
    let restored = restored_root(&target, &src);
    assert_same_tree(&real.join("sub"), &restored);
    // `link` is restored as the directory the path went through, not with the symlink's
    // own lstat mode (0777): a restore must never create a world-writable directory the
    // source did not have.
    let mode = fs::symlink_metadata(restored.parent().unwrap())
        .unwrap()
        .permissions()
        .mode()
        & 0o7777;
    assert_eq!(mode, 0o750, "restored ancestor directory has mode {mode:o}");
}
