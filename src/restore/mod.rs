//! Restore: snapshot trees → plan → each pack fetched once → blobs decrypted, checked
//! and written at their offsets → every file's BLAKE3 checked on disk → renamed into
//! place. Damage is reported by path and the intact rest is restored.

mod plan;
pub mod safe_fs;
mod stream_hash;

pub use plan::check_name;

use crate::crypto::Id;
use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::repo::Repository;
use crate::repo::index::MasterIndex;
use crate::repo::pack::{PackEntry, open_blob_in_place, pack_key};
use crate::repo::snapshot::Snapshot;
use crate::repo::tree::NodeKind;
use crate::store::StoreError;
use plan::{PlannedFile, RestorePlan};
use serde::Serialize;
use std::collections::HashMap;
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

const PACKS_IN_FLIGHT: usize = 4;
/// Chunks held back while a file's checksum waits for an earlier chunk.
const OUT_OF_ORDER_BUDGET: i64 = 8 << 20;

#[derive(Clone, Debug, Default)]
pub struct RestoreOptions {
    pub target: PathBuf,
    /// Snapshot paths to restore (with everything below them); empty means all.
    pub includes: Vec<PathBuf>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Problem {
    pub path: String,
    pub problem: String,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct RestoreTimings {
    pub plan_secs: f64,
    pub fetch_write_secs: f64,
    pub verify_secs: f64,
    pub total_secs: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct RestoreReport {
    pub snapshot: Id,
    pub target: PathBuf,
    pub files_restored: u64,
    pub files_verified: u64,
    pub dirs: u64,
    pub symlinks: u64,
    pub bytes_restored: u64,
    pub packs_fetched: u64,
    pub bytes_fetched: u64,
    pub damaged: Vec<Problem>,
    pub timings: RestoreTimings,
}

impl RestoreReport {
    pub fn is_clean(&self) -> bool {
        self.damaged.is_empty()
    }
}

pub async fn restore(
    repo: &Repository,
    snapshot: (&Id, &Snapshot),
    options: &RestoreOptions,
    progress: Progress,
) -> Result<RestoreReport> {
    let lock = repo.lock(false, "restore").await?;
    let result = run(repo, snapshot, options, progress).await;
    let released = lock.release().await;
    let report = result?;
    released?;
    Ok(report)
}

/// One blob to fetch and every place in the restored files it goes.
struct BlobUse {
    entry: PackEntry,
    targets: Vec<(usize, u64)>,
}

struct PackJob {
    id: Id,
    salt: [u8; 32],
    blobs: Vec<BlobUse>,
}

struct Shared {
    temp_paths: Vec<PathBuf>,
    final_paths: Vec<PathBuf>,
    /// Files of exactly one chunk: written, checked and placed as soon as their blob arrives.
    single: Vec<Option<(crate::repo::tree::Node, String)>>,
    is_root: bool,
    sizes: Vec<u64>,
    hashes: stream_hash::StreamHashes,
    damaged: Mutex<HashMap<usize, String>>,
    progress: Progress,
}

impl Shared {
    fn damage(&self, file: usize, why: String) {
        if let Ok(mut map) = self.damaged.lock() {
            map.entry(file).or_insert(why);
        }
    }
}

fn group_by_pack(
    index: &MasterIndex,
    files: &[PlannedFile],
    shared: &Shared,
    why_missing: &str,
) -> Vec<PackJob> {
    let mut packs: HashMap<Id, PackJob> = HashMap::new();
    let mut slots: HashMap<(Id, Id), usize> = HashMap::new();
    for (file_no, file) in files.iter().enumerate() {
        let NodeKind::File { content, .. } = &file.node.kind else {
            continue;
        };
        let mut offset = 0u64;
        for id in content {
            let Some((pack, entry)) = index.entry_for(id) else {
                shared.damage(
                    file_no,
                    format!(
                        "data blob {} is in no readable index ({why_missing})",
                        id.short()
                    ),
                );
                break;
            };
            let job = packs.entry(pack.id).or_insert_with(|| PackJob {
                id: pack.id,
                salt: pack.salt,
                blobs: Vec::new(),
            });
            let slot = *slots.entry((pack.id, *id)).or_insert_with(|| {
                job.blobs.push(BlobUse {
                    entry,
                    targets: Vec::new(),
                });
                job.blobs.len() - 1
            });
            job.blobs[slot].targets.push((file_no, offset));
            offset += u64::from(entry.raw_length);
        }
        if offset != file.node.size
            && !shared
                .damaged
                .lock()
                .map(|d| d.contains_key(&file_no))
                .unwrap_or(true)
        {
            shared.damage(
                file_no,
                format!(
                    "its chunks add up to {offset} bytes, the snapshot says {}",
                    file.node.size
                ),
            );
        }
    }
    let mut jobs: Vec<PackJob> = packs.into_values().collect();
    for job in &mut jobs {
        job.blobs.sort_by_key(|b| b.entry.offset);
    }
    // In order of first use: multi-chunk files then mostly receive their chunks in order,
    // which lets their checksums be computed without reading them back.
    jobs.sort_by_key(|j| j.blobs.iter().flat_map(|b| b.targets.iter().copied()).min());
    jobs
}

/// Fetches the span of a pack holding the needed blobs and writes each blob where it goes.
async fn fetch_pack(repo: &Repository, job: PackJob, shared: Arc<Shared>) -> Result<u64> {
    let key = pack_key(&job.id);
    let start = job.blobs.first().map(|b| b.entry.offset).unwrap_or(0);
    let end = job
        .blobs
        .iter()
        .map(|b| b.entry.offset + u64::from(b.entry.length))
        .max()
        .unwrap_or(0);
    let fail_all = |why: String| {
        for blob in &job.blobs {
            for (file, _) in &blob.targets {
                shared.damage(*file, why.clone());
            }
        }
    };
    let bytes = match repo.store().get_range(&key, start, end - start).await {
        Ok(bytes) => bytes,
        Err(StoreError::NotFound { .. }) => {
            fail_all(format!("pack {key} is missing"));
            return Ok(0);
        }
        Err(StoreError::Other { detail, .. }) if detail.contains("beyond the object's end") => {
            fail_all(format!("pack {key} is truncated"));
            return Ok(0);
        }
        Err(e) => return Err(e.into()),
    };
    if bytes.len() as u64 != end - start {
        // A store that answers a ranged read with the wrong length cannot be trusted for this pack.
        fail_all(format!(
            "pack {key} returned {} bytes for a {}-byte range (truncated?)",
            bytes.len(),
            end - start
        ));
        return Ok(0);
    }
    let fetched = bytes.len() as u64;
    let keys = repo.keys().clone();
    let mut bytes = bytes;
    tokio::task::spawn_blocking(move || -> Result<()> {
        let cipher = keys.cipher_for(&job.salt);
        for blob in &job.blobs {
            let from = (blob.entry.offset - start) as usize;
            let stored = &mut bytes[from..from + blob.entry.length as usize];
            let data = match open_blob_in_place(&keys, &cipher, &blob.entry, stored, &key) {
                Ok(data) => data,
                Err(e) => {
                    for (file, _) in &blob.targets {
                        shared.damage(*file, e.to_string());
                    }
                    continue;
                }
            };
            // Zero chunks are left as holes: files are sized when created, so they read as zeros.
            let zero = data.iter().all(|&b| b == 0);
            for (file, offset) in &blob.targets {
                if let Some((node, expected)) = &shared.single[*file] {
                    place_single(&shared, *file, node, expected, &data)?;
                } else {
                    if !zero {
                        let path = &shared.temp_paths[*file];
                        let size = shared.single_size(*file);
                        open_temp(path, size)
                            .and_then(|out| out.write_all_at(&data, *offset))
                            .map_err(|e| Error::io(path, e))?;
                    }
                    shared.hashes.feed(*file, *offset, &data);
                }
                shared.progress.add_bytes(data.len() as u64);
            }
        }
        Ok(())
    })
    .await
    .map_err(|e| Error::Other(format!("restore worker failed: {e}")))??;
    Ok(fetched)
}

impl Shared {
    fn single_size(&self, file: usize) -> Option<u64> {
        self.sizes.get(file).copied()
    }
}

/// Opens a multi-chunk file's temporary copy, creating it at its full size on first use.
fn open_temp(path: &Path, size: Option<u64>) -> std::io::Result<std::fs::File> {
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
    {
        Ok(file) => {
            if let Some(size) = size {
                file.set_len(size)?;
            }
            Ok(file)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            std::fs::OpenOptions::new().write(true).open(path)
        }
        Err(e) => Err(e),
    }
}

/// A one-chunk file: its checksum is checked on the decrypted chunk, then it is written
/// under a temporary name, given its metadata through the open descriptor, and renamed.
fn place_single(
    shared: &Shared,
    file: usize,
    node: &crate::repo::tree::Node,
    expected: &str,
    data: &[u8],
) -> Result<()> {
    let actual = blake3::hash(data).to_hex();
    if actual.as_str() != expected {
        shared.damage(
            file,
            format!(
                "restored content does not match the snapshot's BLAKE3 {expected} (got {actual})"
            ),
        );
        return Ok(());
    }
    let (temp, final_path) = (&shared.temp_paths[file], &shared.final_paths[file]);
    let written = (|| -> std::io::Result<()> {
        use std::io::Write;
        use std::os::unix::fs::PermissionsExt;
        let mut out = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(temp)?;
        out.write_all(data)?;
        if shared.is_root {
            std::os::unix::fs::fchown(&out, Some(node.uid), Some(node.gid))?;
        }
        out.set_permissions(std::fs::Permissions::from_mode(node.mode & 0o7777))?;
        out.set_times(
            std::fs::FileTimes::new()
                .set_modified(safe_fs::system_time(node.mtime, node.mtime_nsec)),
        )?;
        drop(out);
        if std::fs::symlink_metadata(final_path).is_ok_and(|m| m.is_dir()) {
            return Err(std::io::Error::other("a directory is in the way"));
        }
        std::fs::rename(temp, final_path)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(temp);
        if e.raw_os_error() == Some(libc::ENOSPC) {
            return Err(Error::io(temp, e));
        }
        shared.damage(file, format!("cannot put the restored file in place: {e}"));
    }
    Ok(())
}

fn hash_file(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = blake3::Hasher::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok(hasher.finalize().to_hex().to_string());
        }
        hasher.update(&buf[..n]);
    }
}

fn remove_temps(paths: &[PathBuf]) {
    for path in paths {
        let _ = std::fs::remove_file(path);
    }
}

async fn run(
    repo: &Repository,
    (snap_id, snapshot): (&Id, &Snapshot),
    options: &RestoreOptions,
    progress: Progress,
) -> Result<RestoreReport> {
    let started = Instant::now();
    let target = &options.target;
    let (index, damaged_index) = repo.load_index_tolerant().await?;
    let includes: Vec<PathBuf> = options
        .includes
        .iter()
        .map(|p| Path::new("/").join(p.strip_prefix("/").unwrap_or(p)))
        .collect();
    let RestorePlan {
        dirs,
        files,
        symlinks,
        problems,
        matched,
    } = plan::plan(repo, &index, snapshot.tree, &includes).await?;
    let mut damaged: Vec<Problem> = problems
        .into_iter()
        .map(|(path, problem)| Problem { path, problem })
        .collect();
    let index_note = damaged_index
        .iter()
        .map(|(_, e)| e.to_string())
        .collect::<Vec<_>>()
        .join("; ");
    if !includes.is_empty() && !matched {
        return Err(Error::Usage(format!(
            "nothing in snapshot {} matches {}",
            snap_id.short(),
            includes
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let plan_secs = started.elapsed().as_secs_f64();
    let dirs = {
        let target = target.clone();
        tokio::task::spawn_blocking(move || -> Result<Vec<(PathBuf, crate::repo::tree::Node)>> {
            std::fs::create_dir_all(&target).map_err(|e| Error::io(&target, e))?;
            for (rel, _) in &dirs {
                safe_fs::create_dir_within(&target, rel)
                    .map_err(|e| Error::io(target.join(rel), e))?;
            }
            Ok(dirs)
        })
        .await
        .map_err(|e| Error::Other(format!("restore worker failed: {e}")))??
    };
    let is_root = safe_fs::running_as_root();
    let mut temp_paths = Vec::with_capacity(files.len());
    let mut final_paths = Vec::with_capacity(files.len());
    let mut single = Vec::with_capacity(files.len());
    let mut total_bytes = 0;
    for file in &files {
        // Parent directories were created (and checked for symlinks) above.
        let final_path = target.join(&file.rel);
        temp_paths.push(safe_fs::temp_path_for(&final_path));
        final_paths.push(final_path);
        single.push(match &file.node.kind {
            NodeKind::File { content, blake3 } if content.len() == 1 => {
                Some((file.node.clone(), blake3.clone()))
            }
            _ => None,
        });
        total_bytes += file.node.size;
    }
    progress.set_totals(total_bytes, files.len() as u64);
    let sizes: Vec<u64> = files.iter().map(|f| f.node.size).collect();
    let shared = Arc::new(Shared {
        temp_paths,
        final_paths,
        single,
        is_root,
        sizes,
        hashes: stream_hash::StreamHashes::new(files.len(), OUT_OF_ORDER_BUDGET),
        damaged: Mutex::new(HashMap::new()),
        progress: progress.clone(),
    });

    let fetch_started = Instant::now();
    let why_missing = if index_note.is_empty() {
        "its pack is lost".to_string()
    } else {
        format!("damaged index: {index_note}")
    };
    let jobs = group_by_pack(&index, &files, &shared, &why_missing);
    let packs_fetched = jobs.len() as u64;
    let fetched = crate::concurrency::map_unordered(jobs, PACKS_IN_FLIGHT, |job| {
        fetch_pack(repo, job, shared.clone())
    })
    .await;
    let mut bytes_fetched = 0;
    for result in fetched {
        match result {
            Ok(n) => bytes_fetched += n,
            Err(e) => {
                remove_temps(&shared.temp_paths);
                return Err(e);
            }
        }
    }
    let fetch_write_secs = fetch_started.elapsed().as_secs_f64();

    let verify_started = Instant::now();
    let outcomes = crate::concurrency::map_bounded(files.iter().enumerate(), crate::concurrency::cpu_workers(), |(no, file)| {
        let shared = shared.clone();
        let temp = shared.temp_paths[no].clone();
        let final_path = target.join(&file.rel);
        let node = file.node.clone();
        let already = shared.damaged.lock().ok().and_then(|d| d.get(&no).cloned());
        let placed_early = shared.single[no].is_some();
        let streamed = shared.hashes.finish(no, node.size);
        async move {
            // One-chunk files were checked and placed when their chunk arrived: no thread hop.
            match (already, placed_early) {
                (Some(why), true) => return Err(why),
                (None, true) => return Ok(node.size),
                (Some(why), false) => {
                    let _ = std::fs::remove_file(&temp);
                    return Err(why);
                }
                (None, false) => {}
            }
            tokio::task::spawn_blocking(move || -> std::result::Result<u64, String> {
                // Empty files and files made only of zero chunks were never opened.
                open_temp(&temp, Some(node.size)).map_err(|e| format!("cannot create the restored file: {e}"))?;
                let NodeKind::File { blake3: expected, .. } = &node.kind else { return Err("not a file".into()) };
                let actual = match streamed {
                    Some(hash) => hash,
                    None => hash_file(&temp).map_err(|e| format!("cannot read back the restored file: {e}"))?,
                };
                if &actual != expected {
                    let _ = std::fs::remove_file(&temp);
                    return Err(format!("restored content does not match the snapshot's BLAKE3 {expected} (got {actual})"));
                }
                let placed = safe_fs::apply_metadata(&temp, &node, is_root).and_then(|()| {
                    if std::fs::symlink_metadata(&final_path).is_ok_and(|m| m.is_dir()) {
                        return Err(std::io::Error::other("a directory is in the way"));
                    }
                    std::fs::rename(&temp, &final_path)
                });
                placed.map_err(|e| {
                    let _ = std::fs::remove_file(&temp);
                    format!("cannot put the restored file in place: {e}")
                })?;
                Ok(node.size)
            })
            .await
            .unwrap_or_else(|e| Err(format!("verification worker failed: {e}")))
        }
    })
    .await;
    let (mut files_restored, mut bytes_restored) = (0, 0);
    for (file, outcome) in files.iter().zip(outcomes) {
        match outcome {
            Ok(size) => {
                files_restored += 1;
                bytes_restored += size;
            }
            Err(problem) => damaged.push(Problem {
                path: file.shown.clone(),
                problem,
            }),
        }
    }
    let verify_secs = verify_started.elapsed().as_secs_f64();

    let dir_count = dirs.len() as u64;
    let (symlinks_restored, link_problems) = {
        let target = target.clone();
        tokio::task::spawn_blocking(move || {
            safe_fs::finish_tree(&target, &symlinks, &dirs, is_root)
        })
        .await
        .map_err(|e| Error::Other(format!("restore worker failed: {e}")))?
    };
    damaged.extend(
        link_problems
            .into_iter()
            .map(|(path, problem)| Problem { path, problem }),
    );
    progress.finish();
    damaged.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(RestoreReport {
        snapshot: *snap_id,
        target: target.clone(),
        files_restored,
        files_verified: files_restored,
        dirs: dir_count,
        symlinks: symlinks_restored,
        bytes_restored,
        packs_fetched,
        bytes_fetched,
        damaged,
        timings: RestoreTimings {
            plan_secs,
            fetch_write_secs,
            verify_secs,
            total_secs: started.elapsed().as_secs_f64(),
        },
    })
}
