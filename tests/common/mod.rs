//! Shared helpers for the integration tests: run the real binary, make trees, compare them.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const PASSWORD: &str = "correct horse battery staple";

/// `init` with a cheap KDF, and small chunks and packs so small trees still make many
/// objects.
pub const QUICK_INIT: &[&str] = &[
    "init",
    "--kdf-memory-mib",
    "8",
    "--kdf-iterations",
    "1",
    "--chunk-avg-kib",
    "64",
    "--pack-size-mib",
    "1",
];

/// A scratch area with a repository location, and the binary run against it.
pub struct Env {
    pub dir: tempfile::TempDir,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}): {}\nstderr: {}",
                self.stdout, self.stderr
            )
        })
    }

    #[track_caller]
    pub fn ok(self) -> Self {
        assert_eq!(
            self.code, 0,
            "expected success\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self
    }

    #[track_caller]
    pub fn code(self, code: i32) -> Self {
        assert_eq!(
            self.code, code,
            "expected exit {code}\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self
    }
}

impl From<Output> for Run {
    fn from(out: Output) -> Self {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_firedrill")
}

impl Env {
    pub fn new() -> Self {
        Env {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn repo(&self) -> PathBuf {
        self.path("repo")
    }

    /// The command with repository and passphrase set, cheap KDF settings for `init`.
    pub fn cmd(&self) -> Command {
        let mut cmd = Command::new(bin());
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("FIREDRILL_REPO", self.repo())
            .env("FIREDRILL_PASSWORD", PASSWORD);
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.cmd()
            .args(args)
            .output()
            .expect("run firedrill")
            .into()
    }

    /// `init` with a cheap KDF so tests stay quick, and small chunks/packs so small trees
    /// still make many objects.
    pub fn init(&self) -> Run {
        self.run(QUICK_INIT).ok()
    }

    pub fn backup(&self, path: &Path) -> serde_json::Value {
        self.run(&["--json", "backup", path.to_str().unwrap()])
            .ok()
            .json()
    }
}

/// Deterministic pseudo-random bytes (incompressible).
pub fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed ^ 0x9E37_79B9_7F4A_7C15;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        out.extend_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    out.truncate(len);
    out
}

pub fn write(path: &Path, data: &[u8]) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(path, data).unwrap();
}

/// Everything a restore must reproduce: type, content hash, mode, mtime, link target.
#[derive(Debug, PartialEq, Eq)]
pub enum Entry {
    Dir {
        mode: u32,
    },
    File {
        mode: u32,
        mtime: i64,
        len: u64,
        blake3: String,
    },
    Symlink {
        target: PathBuf,
    },
}

pub fn snapshot_tree(root: &Path) -> BTreeMap<PathBuf, Entry> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            let rel = path.strip_prefix(root).unwrap().to_path_buf();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let e = if meta.file_type().is_symlink() {
                Entry::Symlink {
                    target: std::fs::read_link(&path).unwrap(),
                }
            } else if meta.is_dir() {
                stack.push(path.clone());
                Entry::Dir {
                    mode: meta.permissions().mode() & 0o7777,
                }
            } else {
                let mut hasher = blake3::Hasher::new();
                hasher
                    .update_reader(std::fs::File::open(&path).unwrap())
                    .unwrap();
                Entry::File {
                    mode: meta.permissions().mode() & 0o7777,
                    mtime: meta.mtime(),
                    len: meta.len(),
                    blake3: hasher.finalize().to_hex().to_string(),
                }
            };
            out.insert(rel, e);
        }
    }
    out
}

/// Where a restore puts a source directory: under the target, at its absolute path.
pub fn restored_root(target: &Path, source: &Path) -> PathBuf {
    target.join(source.strip_prefix("/").unwrap())
}

#[track_caller]
pub fn assert_same_tree(source: &Path, restored: &Path) {
    let a = snapshot_tree(source);
    let b = snapshot_tree(restored);
    for (path, entry) in &a {
        assert_eq!(
            b.get(path),
            Some(entry),
            "{} differs after restore",
            path.display()
        );
    }
    assert_eq!(
        a.len(),
        b.len(),
        "restored tree has extra entries: {:?}",
        b.keys().filter(|k| !a.contains_key(*k)).collect::<Vec<_>>()
    );
}

/// Every regular file below `dir`, at any depth.
pub fn files_below(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_dir() {
                stack.push(entry.path());
            } else {
                out.push(entry.path());
            }
        }
    }
    out
}

/// Restore's temporary files (`.firedrill-*`) left anywhere below `dir`.
pub fn temp_files(dir: &Path) -> Vec<PathBuf> {
    files_below(dir)
        .into_iter()
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(".firedrill-"))
        })
        .collect()
}
