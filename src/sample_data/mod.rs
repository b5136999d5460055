//! Deterministic sample data shaped like a small company's file share.
//!
//! `firedrill quickstart` backs this tree up so a new user sees compression and
//! deduplication do real work, and tests use it as realistic input. The mix covers what a
//! backup tool has to get right: compressible text, incompressible media, a large dump
//! with both, exact and near duplicates, an empty file, names with spaces and non-ASCII
//! characters, deep nesting and a relative symlink.
//!
//! Every file's bytes come from its own BLAKE3-seeded stream keyed by the seed and the
//! file's path, so one file's content never depends on the order or size of the others.

mod binary;
mod dates;
mod layout;
mod lines;
mod rng;
mod sink;
mod text;
mod words;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, FileTimes};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use layout::{LATEST_LOG, NOW, SYMLINK, SYMLINK_TARGET, plan, write_entry};

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SampleSpec {
    /// Combined size of all regular files. Met exactly: text files end on a line whose
    /// length is chosen to fill the budget.
    pub total_bytes: u64,
    /// Same seed and size give a byte-identical tree, names and modification times included.
    pub seed: u64,
}

/// What [`generate`] created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SampleStats {
    /// Regular files, the empty one included.
    pub files: u64,
    /// Directories below the target directory, which is not counted itself.
    pub dirs: u64,
    /// Zero where the platform refuses unprivileged symlinks (Windows without developer mode).
    pub symlinks: u64,
    /// Sum of regular file sizes.
    pub bytes: u64,
}

/// Creates a deterministic tree under `dir` (created if missing; must be empty or absent,
/// else an io::Error of kind AlreadyExists naming the dir). Same spec → byte-identical
/// contents, names and mtimes.
///
/// Modification times are fixed for files and, on Unix, for directories; a symlink's own
/// timestamp cannot be set through std and is left as created. A failure part-way leaves
/// whatever was written so far in place: the tree is sample data, so nothing is rolled back.
pub fn generate(dir: &Path, spec: &SampleSpec) -> io::Result<SampleStats> {
    prepare_root(dir)?;
    let entries = plan(spec);

    let mut dirs = BTreeSet::new();
    for entry in &entries {
        add_ancestors(&mut dirs, &entry.path);
    }
    add_ancestors(&mut dirs, SYMLINK);
    // Lexicographic order puts every parent before its children.
    for rel in &dirs {
        fs::create_dir(join(dir, rel))?;
    }

    let mut stats = SampleStats {
        dirs: dirs.len() as u64,
        ..SampleStats::default()
    };
    for entry in &entries {
        stats.bytes += write_entry(dir, entry, spec.seed)?;
        stats.files += 1;
    }
    if make_symlink(SYMLINK_TARGET, &join(dir, SYMLINK))? {
        stats.symlinks += 1;
    }

    // Last, because creating entries bumps their directory's mtime.
    let mut dir_times: BTreeMap<&str, u64> = BTreeMap::new();
    let latest_log = entries
        .iter()
        .find(|e| e.path == LATEST_LOG)
        .map_or(NOW, |e| e.mtime);
    for (path, mtime) in entries
        .iter()
        .map(|e| (e.path.as_str(), e.mtime))
        .chain([(SYMLINK, latest_log)])
    {
        bump(&mut dir_times, parent_of(path), mtime);
    }
    for rel in dirs.iter().rev() {
        let mtime = dir_times.get(rel.as_str()).copied().unwrap_or(NOW);
        bump(&mut dir_times, parent_of(rel), mtime);
        set_dir_mtime(&join(dir, rel), mtime)?;
    }
    set_dir_mtime(dir, dir_times.get("").copied().unwrap_or(NOW))?;

    Ok(stats)
}

fn prepare_root(dir: &Path) -> io::Result<()> {
    match fs::metadata(dir) {
        Ok(meta) if !meta.is_dir() => Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!(
                "{} already exists and is not a directory; sample data needs an empty or absent directory",
                dir.display()
            ),
        )),
        Ok(_) => match fs::read_dir(dir)?.next() {
            None => Ok(()),
            Some(Err(e)) => Err(e),
            Some(Ok(_)) => Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!(
                    "{} is not empty; sample data needs an empty or absent directory",
                    dir.display()
                ),
            )),
        },
        Err(e) if e.kind() == io::ErrorKind::NotFound => fs::create_dir_all(dir),
        Err(e) => Err(e),
    }
}

fn join(root: &Path, rel: &str) -> PathBuf {
    let mut path = root.to_path_buf();
    path.extend(rel.split('/').filter(|c| !c.is_empty()));
    path
}

fn parent_of(rel: &str) -> &str {
    rel.rsplit_once('/').map_or("", |(parent, _)| parent)
}

fn add_ancestors(dirs: &mut BTreeSet<String>, rel: &str) {
    let mut parent = parent_of(rel);
    while !parent.is_empty() && dirs.insert(parent.to_string()) {
        parent = parent_of(parent);
    }
}

fn bump<'a>(times: &mut BTreeMap<&'a str, u64>, dir: &'a str, mtime: u64) {
    let slot = times.entry(dir).or_insert(0);
    *slot = (*slot).max(mtime);
}

fn file_times(secs: u64) -> FileTimes {
    let t = SystemTime::UNIX_EPOCH + Duration::from_secs(secs);
    FileTimes::new().set_modified(t).set_accessed(t)
}

#[cfg(unix)]
fn set_dir_mtime(path: &Path, secs: u64) -> io::Result<()> {
    fs::File::open(path)?.set_times(file_times(secs))
}

// Elsewhere std cannot open a directory handle (Windows needs backup semantics), so
// directory times stay as created.
#[cfg(not(unix))]
fn set_dir_mtime(_path: &Path, _secs: u64) -> io::Result<()> {
    Ok(())
}

#[cfg(unix)]
fn make_symlink(target: &str, link: &Path) -> io::Result<bool> {
    std::os::unix::fs::symlink(target, link).map(|()| true)
}

#[cfg(windows)]
fn make_symlink(target: &str, link: &Path) -> io::Result<bool> {
    // ERROR_PRIVILEGE_NOT_HELD: an unprivileged user without developer mode. The sample
    // is still worth having without its symlink.
    const PRIVILEGE_NOT_HELD: i32 = 1314;
    match std::os::windows::fs::symlink_file(target.replace('/', "\\"), link) {
        Ok(()) => Ok(true),
        Err(e) if e.raw_os_error() == Some(PRIVILEGE_NOT_HELD) => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(not(any(unix, windows)))]
fn make_symlink(_target: &str, _link: &Path) -> io::Result<bool> {
    Ok(false)
}
