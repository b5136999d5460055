//! Prune: deletes the stored data no snapshot references any more.
//!
//! Safety comes first. Prune holds the exclusive lock, so no backup can be about to
//! reference a blob it judges unused, and it refuses to run unless it can read every
//! index object, snapshot and tree: an incomplete view would make needed data look
//! unused. Changes are ordered so that a crash at any point leaves a repository that
//! restores every snapshot: new packs are stored, then index objects covering every
//! pack that stays, then the old index objects are deleted, and only then the packs
//! that are no longer needed. What a crash leaves behind (unindexed packs, duplicate
//! index entries) is harmless and cleaned up by the next prune.

use crate::crypto::{Id, PieceKind};
use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::repo::index::{IndexFile, IndexedBlob, IndexedPack, MasterIndex, index_key};
use crate::repo::pack::{
    BlobKind, FinishedPack, PREFIX_LEN, PackWriter, encode_blob, open_blob, pack_key,
};
use crate::repo::tree::NodeKind;
use crate::repo::{Repository, id_from_key};
use crate::store::{PutMode, StoreError, list_all};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};

/// Packs per index object, as backup writes them: bounds what one lost object hides.
const PACKS_PER_INDEX: usize = 32;
/// Store requests in flight while reading metadata.
const READ_CONCURRENCY: usize = 8;

#[derive(Clone, Debug)]
pub struct PruneOptions {
    /// Repack a partly used pack when more than this percentage of its blob bytes are
    /// unused; below it the pack is kept as is (rewriting it would cost more than it frees).
    pub max_unused_percent: f64,
    /// Compute and report, change nothing.
    pub dry_run: bool,
}

impl Default for PruneOptions {
    fn default() -> Self {
        PruneOptions {
            max_unused_percent: 20.0,
            dry_run: false,
        }
    }
}

/// What prune did, or in a dry run would do. Counts of packs written and bytes written
/// are estimates in a dry run (blobs are not re-encoded).
#[derive(Clone, Debug, Default, Serialize)]
pub struct PruneReport {
    pub dry_run: bool,
    pub snapshots: u64,
    /// Packs listed by the index.
    pub packs_total: u64,
    /// Indexed packs left as they are.
    pub packs_kept: u64,
    /// Indexed packs no snapshot uses at all.
    pub packs_deleted: u64,
    /// Partly used packs whose used blobs were copied into new packs.
    pub packs_repacked: u64,
    pub packs_written: u64,
    /// Packs in the store but in no index (left by an interrupted backup or prune).
    pub unindexed_packs_deleted: u64,
    /// Indexed packs missing from the store that held nothing in use: left out of the new index.
    pub missing_packs_dropped: u64,
    pub blobs_used: u64,
    /// Blob copies in indexed packs that no snapshot uses (including duplicates).
    pub blobs_unused: u64,
    pub blobs_repacked: u64,
    /// Stored bytes of every pack in the store before pruning.
    pub bytes_total: u64,
    /// Stored bytes of the unused blob copies.
    pub bytes_unused: u64,
    /// Stored bytes of the packs deleted (unused, repacked and unindexed).
    pub bytes_deleted: u64,
    pub bytes_written: u64,
    /// `bytes_deleted - bytes_written`.
    pub bytes_freed: i64,
    pub index_objects_written: u64,
    pub index_objects_deleted: u64,
}

pub async fn prune(
    repo: &Repository,
    options: &PruneOptions,
    progress: Progress,
) -> Result<PruneReport> {
    let limit = options.max_unused_percent;
    if !(0.0..=100.0).contains(&limit) {
        return Err(Error::Usage(format!(
            "the unused share that triggers a repack must be a percentage from 0 to 100, not {limit}"
        )));
    }
    let lock = repo.lock(true, "prune").await?;
    let result = run(repo, options, &progress).await;
    progress.finish();
    let released = lock.release().await;
    let report = result?;
    released?;
    Ok(report)
}

const REFUSAL: &str = "prune must read every index object, snapshot and tree to know which data is still in use, \
                       so it refuses to run and has changed nothing: run `firedrill verify` to see the damage";

/// Turns damage met while analysing the repository into a refusal that says what to do.
fn refusal(e: Error) -> Error {
    match e {
        Error::Damaged { object, detail } => Error::Damaged {
            object,
            detail: format!("{detail}; {REFUSAL}"),
        },
        Error::Store(StoreError::NotFound { key, .. }) => Error::Damaged {
            object: key,
            detail: format!("missing; {REFUSAL}"),
        },
        other => other,
    }
}

async fn run(
    repo: &Repository,
    options: &PruneOptions,
    progress: &Progress,
) -> Result<PruneReport> {
    let mut report = PruneReport {
        dry_run: options.dry_run,
        ..Default::default()
    };
    let loaded = load_indexes(repo).await?;
    let stored = stored_packs(repo).await?;
    report.bytes_total = stored.values().map(|(_, size)| size).sum();
    let (snapshots, used) = used_blobs(repo, &loaded.master).await?;
    report.snapshots = snapshots;
    let plan = make_plan(&loaded, &stored, &used, options.max_unused_percent)?;

    report.packs_total = loaded.packs.len() as u64;
    report.packs_kept = plan.keep.len() as u64;
    report.packs_deleted = plan.delete.len() as u64;
    report.packs_repacked = plan.repack.len() as u64;
    report.unindexed_packs_deleted = plan.unindexed.len() as u64;
    report.missing_packs_dropped = plan.dropped as u64;
    report.blobs_used = plan.blobs_used;
    report.blobs_unused = plan.blobs_unused;
    report.bytes_unused = plan.bytes_unused;
    report.blobs_repacked = plan.repack.iter().map(|r| r.blobs.len() as u64).sum();
    let doomed_packs: Vec<(String, u64)> = plan
        .delete
        .iter()
        .chain(plan.repack.iter().map(|r| &r.pack.id))
        .filter_map(|id| stored.get(id).cloned())
        .chain(plan.unindexed.iter().cloned())
        .collect();
    report.bytes_deleted = doomed_packs.iter().map(|(_, size)| size).sum();
    let rewrite_index = !plan.delete.is_empty() || !plan.repack.is_empty() || plan.dropped > 0;

    let mut new_packs = Vec::new();
    if options.dry_run {
        let (packs, bytes) = estimate_repack(&plan.repack, repo.config().pack_size);
        report.packs_written = packs;
        report.bytes_written = bytes;
    } else {
        new_packs = repack(repo, &plan.repack, progress).await?;
        report.packs_written = new_packs.len() as u64;
        report.bytes_written = new_packs.iter().map(|p| p.size).sum();
    }
    report.bytes_freed = i64::try_from(report.bytes_deleted).unwrap_or(i64::MAX)
        - i64::try_from(report.bytes_written).unwrap_or(i64::MAX);

    if rewrite_index {
        let packs_indexed = plan.keep.len() as u64 + report.packs_written;
        report.index_objects_written = packs_indexed.div_ceil(PACKS_PER_INDEX as u64);
        report.index_objects_deleted = loaded.index_ids.len() as u64;
    }
    if options.dry_run {
        return Ok(report);
    }

    if rewrite_index {
        let mut remaining: Vec<IndexedPack> = plan
            .keep
            .iter()
            .filter_map(|id| loaded.packs.get(id).cloned())
            .collect();
        remaining.extend(new_packs);
        let mut written = HashSet::new();
        for chunk in remaining.chunks(PACKS_PER_INDEX) {
            written.insert(
                repo.save_index(&IndexFile {
                    packs: chunk.to_vec(),
                })
                .await?,
            );
        }
        report.index_objects_written = written.len() as u64;
        // Only once the new index objects are stored: until then the old ones are all
        // that lead to the kept packs.
        let mut deleted = 0;
        for id in loaded.index_ids.iter().filter(|id| !written.contains(*id)) {
            delete_if_present(repo, &index_key(id)).await?;
            deleted += 1;
        }
        report.index_objects_deleted = deleted;
    }
    // Last: no index object refers to these packs any more.
    for (key, _) in &doomed_packs {
        delete_if_present(repo, key).await?;
    }
    Ok(report)
}

async fn delete_if_present(repo: &Repository, key: &str) -> Result<()> {
    match repo.store().delete(key).await {
        Ok(()) => Ok(()),
        Err(e) if e.is_not_found() => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Every index object, merged both as the master index readers resolve blobs with and as
/// full per-pack listings (which the new index objects are made from).
struct LoadedIndex {
    master: MasterIndex,
    packs: BTreeMap<Id, IndexedPack>,
    index_ids: Vec<Id>,
}

async fn load_indexes(repo: &Repository) -> Result<LoadedIndex> {
    // Listing order, as `Repository::load_index` uses: blobs with several copies must
    // resolve to the copy restore would read.
    let ids = repo.index_ids().await?;
    let files = crate::concurrency::map_bounded(ids.clone(), READ_CONCURRENCY, |id| async move {
        repo.load_sealed::<IndexFile>(PieceKind::Index, &index_key(&id))
            .await
    })
    .await;
    let mut master = MasterIndex::default();
    let mut packs: BTreeMap<Id, IndexedPack> = BTreeMap::new();
    for file in files {
        let file = file.map_err(refusal)?;
        master.add_file(&file);
        for pack in file.packs {
            match packs.get_mut(&pack.id) {
                None => {
                    packs.insert(pack.id, pack);
                }
                // A pack listed twice (after an interrupted prune) is the same bytes; keep
                // whatever either listing knows about it.
                Some(known) => {
                    let seen: HashSet<(Id, u64)> =
                        known.blobs.iter().map(|b| (b.id, b.offset)).collect();
                    known.blobs.extend(
                        pack.blobs
                            .into_iter()
                            .filter(|b| !seen.contains(&(b.id, b.offset))),
                    );
                }
            }
        }
    }
    master.index_ids = ids.clone();
    Ok(LoadedIndex {
        master,
        packs,
        index_ids: ids,
    })
}

/// Packs in the store by id, with their key and size. Only objects named exactly as a
/// pack is named count: anything else under `data/` was not written by firedrill and is
/// left alone.
async fn stored_packs(repo: &Repository) -> Result<HashMap<Id, (String, u64)>> {
    let mut out = HashMap::new();
    for meta in list_all(repo.store().as_ref(), "data/").await? {
        if let Some(id) = id_from_key(&meta.key)
            && pack_key(&id) == meta.key
        {
            out.insert(id, (meta.key, meta.size));
        }
    }
    Ok(out)
}

/// The ids of every tree and data blob some snapshot references.
async fn used_blobs(repo: &Repository, index: &MasterIndex) -> Result<(u64, HashSet<Id>)> {
    let ids = repo.snapshot_ids().await?;
    let snapshots = crate::concurrency::map_bounded(ids, READ_CONCURRENCY, |id| async move {
        repo.load_snapshot(&id).await
    })
    .await;
    let mut used = HashSet::new();
    let mut visited = HashSet::new();
    let mut frontier = Vec::new();
    let mut count = 0;
    for snapshot in snapshots {
        let snapshot = snapshot.map_err(refusal)?;
        count += 1;
        if visited.insert(snapshot.tree) {
            frontier.push(snapshot.tree);
        }
    }
    // Level by level, so that a remote store has several trees in flight.
    while !frontier.is_empty() {
        let level = std::mem::take(&mut frontier);
        used.extend(level.iter().copied());
        let trees = crate::concurrency::map_bounded(level, READ_CONCURRENCY, |id| async move {
            repo.load_tree(index, &id).await
        })
        .await;
        for tree in trees {
            for node in tree.map_err(refusal)?.nodes {
                match node.kind {
                    NodeKind::Dir { subtree } => {
                        if visited.insert(subtree) {
                            frontier.push(subtree);
                        }
                    }
                    NodeKind::File { content, .. } => used.extend(content),
                    NodeKind::Symlink { .. } => {}
                }
            }
        }
    }
    Ok((count, used))
}

struct Repack {
    pack: IndexedPack,
    /// The used blobs, by offset.
    blobs: Vec<IndexedBlob>,
}

#[derive(Default)]
struct Plan {
    keep: Vec<Id>,
    delete: Vec<Id>,
    repack: Vec<Repack>,
    /// Key and size of each pack in the store that no index lists.
    unindexed: Vec<(String, u64)>,
    dropped: usize,
    blobs_used: u64,
    blobs_unused: u64,
    bytes_unused: u64,
}

fn make_plan(
    loaded: &LoadedIndex,
    stored: &HashMap<Id, (String, u64)>,
    used: &HashSet<Id>,
    max_unused_percent: f64,
) -> Result<Plan> {
    let missing: Vec<&Id> = used
        .iter()
        .filter(|id| !loaded.master.contains(id))
        .collect();
    if let Some(example) = missing.first() {
        // Such a blob may sit in a pack whose index object was lost; deleting unindexed
        // packs could destroy the only copy.
        return Err(Error::damaged(
            format!("blob {}", example.short()),
            format!(
                "{} blob(s) used by snapshots are in no index; {REFUSAL}",
                missing.len()
            ),
        ));
    }
    let mut plan = Plan::default();
    for pack in loaded.packs.values() {
        let (mut live, mut live_bytes, mut dead_bytes) = (Vec::new(), 0u64, 0u64);
        for blob in &pack.blobs {
            // Only the copy the master index resolves to is read by restore; any other
            // copy of the same blob is garbage.
            let resolved = used.contains(&blob.id)
                && loaded
                    .master
                    .lookup(&blob.id)
                    .is_some_and(|(p, loc)| p.id == pack.id && loc.offset == blob.offset);
            if resolved {
                live.push(*blob);
                live_bytes += u64::from(blob.length);
            } else {
                plan.blobs_unused += 1;
                dead_bytes += u64::from(blob.length);
            }
        }
        plan.blobs_used += live.len() as u64;
        plan.bytes_unused += dead_bytes;
        let intact = match stored.get(&pack.id) {
            Some((_, size)) => *size == pack.size,
            None => false,
        };
        if !intact {
            if !live.is_empty() {
                let problem = match stored.get(&pack.id) {
                    None => "missing".to_string(),
                    Some((_, size)) => {
                        format!("size is {size} bytes, the index says {}", pack.size)
                    }
                };
                return Err(Error::damaged(
                    pack_key(&pack.id),
                    format!(
                        "{problem}, and snapshots use {} of its blobs; {REFUSAL}",
                        live.len()
                    ),
                ));
            }
            // Nothing in use is lost with it: leave it out of the index (and delete what is left of it).
            if stored.contains_key(&pack.id) {
                plan.delete.push(pack.id);
            } else {
                plan.dropped += 1;
            }
            continue;
        }
        if live.is_empty() {
            plan.delete.push(pack.id);
        } else if dead_bytes > 0
            && dead_bytes as f64 * 100.0 > max_unused_percent * (live_bytes + dead_bytes) as f64
        {
            live.sort_by_key(|b| b.offset);
            plan.repack.push(Repack {
                pack: pack.clone(),
                blobs: live,
            });
        } else {
            plan.keep.push(pack.id);
        }
    }
    let mut unindexed: Vec<(String, u64)> = stored
        .iter()
        .filter(|(id, _)| !loaded.packs.contains_key(*id))
        .map(|(_, v)| v.clone())
        .collect();
    unindexed.sort();
    plan.unindexed = unindexed;
    Ok(plan)
}

/// What repacking would write, from the stored sizes of the blobs to copy.
fn estimate_repack(repacks: &[Repack], pack_size: u64) -> (u64, u64) {
    let (mut packs, mut bytes) = (0, 0);
    let mut open: HashMap<BlobKind, u64> = HashMap::new();
    for repack in repacks {
        for blob in &repack.blobs {
            let len = open.entry(repack.pack.kind).or_insert(PREFIX_LEN as u64);
            *len += u64::from(blob.length);
            bytes += u64::from(blob.length);
            if *len >= pack_size {
                packs += 1;
                open.remove(&repack.pack.kind);
            }
        }
    }
    (packs + open.len() as u64, bytes)
}

/// Copies the used blobs of each pack in `repacks` into new packs, stored but not yet
/// indexed; returns their index listings.
async fn repack(
    repo: &Repository,
    repacks: &[Repack],
    progress: &Progress,
) -> Result<Vec<IndexedPack>> {
    let spans: Vec<(u64, u64)> = repacks
        .iter()
        .map(|r| {
            let start = r.blobs.first().map_or(0, |b| b.offset);
            let end = r
                .blobs
                .iter()
                .map(|b| b.offset + u64::from(b.length))
                .max()
                .unwrap_or(start);
            (start, end - start)
        })
        .collect();
    progress.set_totals(spans.iter().map(|(_, len)| len).sum(), repacks.len() as u64);
    let config = repo.config();
    let pack_size = usize::try_from(config.pack_size).unwrap_or(usize::MAX);
    let capacity = pack_size.saturating_add(config.chunker.max_size as usize + 64 * 1024);
    let level = config.compression_level;
    let mut writers: HashMap<BlobKind, PackWriter> = HashMap::new();
    let mut written = Vec::new();
    for (job, &(start, len)) in repacks.iter().zip(&spans) {
        let key = pack_key(&job.pack.id);
        let bytes = repo
            .store()
            .get_range(&key, start, len)
            .await
            .map_err(|e| match e {
                StoreError::NotFound { .. } => Error::damaged(&key, "pack is missing"),
                other => other.into(),
            });
        let bytes = bytes.map_err(stopped)?;
        let kind = job.pack.kind;
        let writer = match writers.remove(&kind) {
            Some(w) => w,
            None => PackWriter::new(repo.keys(), kind, capacity)?,
        };
        let (keys, pack, blobs) = (repo.keys().clone(), job.pack.clone(), job.blobs.clone());
        let (writer, full) =
            tokio::task::spawn_blocking(move || -> Result<(PackWriter, Vec<FinishedPack>)> {
                let mut writer = writer;
                let mut full = Vec::new();
                for blob in &blobs {
                    let from = usize::try_from(blob.offset - start).unwrap_or(usize::MAX);
                    let stored = from
                        .checked_add(blob.length as usize)
                        .and_then(|to| bytes.get(from..to))
                        .ok_or_else(|| {
                            Error::damaged(&key, "pack is shorter than its index says")
                        })?;
                    let raw = open_blob(&keys, &pack.salt, &pack.entry(blob), stored, &key)?;
                    writer.add(blob.id, blob.raw_length, encode_blob(&raw, level))?;
                    if writer.len() >= pack_size {
                        let next = PackWriter::new(&keys, kind, capacity)?;
                        full.push(std::mem::replace(&mut writer, next).finish()?);
                    }
                }
                Ok((writer, full))
            })
            .await
            .map_err(|e| Error::Other(format!("repack worker failed: {e}")))?
            .map_err(stopped)?;
        for pack in full {
            written.push(upload(repo, pack).await?);
        }
        writers.insert(kind, writer);
        progress.add_bytes(len);
        progress.file_done();
    }
    for kind in [BlobKind::Data, BlobKind::Tree] {
        let Some(writer) = writers.remove(&kind).filter(|w| !w.is_empty()) else {
            continue;
        };
        let pack = tokio::task::spawn_blocking(move || writer.finish())
            .await
            .map_err(|e| Error::Other(format!("repack worker failed: {e}")))??;
        written.push(upload(repo, pack).await?);
    }
    Ok(written)
}

/// Damage found while copying blobs: nothing was deleted yet, and the new packs stored
/// so far are unindexed, so the next prune removes them.
fn stopped(e: Error) -> Error {
    match e {
        Error::Damaged { object, detail } => Error::Damaged {
            object,
            detail: format!(
                "{detail}; prune stopped before deleting anything: run `firedrill verify` to see the damage"
            ),
        },
        other => other,
    }
}

async fn upload(repo: &Repository, pack: FinishedPack) -> Result<IndexedPack> {
    let indexed = IndexedPack::from_finished(&pack);
    match repo
        .store()
        .put(&pack_key(&pack.id), pack.bytes.into(), PutMode::CreateOnly)
        .await
    {
        // A pack's name is the hash of its bytes: one already there is this very pack.
        Ok(()) | Err(StoreError::AlreadyExists { .. }) => Ok(indexed),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::backup::{BackupOptions, backup};
    use crate::crypto::{KdfParams, SlotSecret};
    use crate::forget::{ForgetOptions, forget};
    use crate::repo::InitOptions;
    use crate::repo::config::ChunkerParams;
    use crate::repo::snapshot::Snapshot;
    use crate::repo::tree::{Node, RawName, Tree};
    use crate::restore::{RestoreOptions, restore};
    use crate::retention::RetentionPolicy;
    use crate::store::FsStore;
    use crate::verify::{ReadData, verify};
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::MetadataExt;
    use std::path::{Path, PathBuf};
    use std::sync::Arc;

    pub(crate) async fn new_repo() -> (tempfile::TempDir, Repository) {
        let dir = tempfile::tempdir().unwrap();
        let options = InitOptions {
            kdf: KdfParams {
                memory_kib: 8 * 1024,
                iterations: 1,
                parallelism: 1,
            },
            pack_size: 1 << 20,
            chunker: ChunkerParams {
                min_size: 16 * 1024,
                avg_size: 64 * 1024,
                max_size: 256 * 1024,
            },
            ..Default::default()
        };
        let store = Arc::new(FsStore::new(dir.path()));
        let repo = Repository::init(store, &SlotSecret::Passphrase("test".into()), &options)
            .await
            .unwrap();
        (dir, repo)
    }

    /// Incompressible bytes that differ per path and seed.
    pub(crate) fn random_bytes(len: usize, seed: u8, salt: &[u8]) -> Vec<u8> {
        let mut out = vec![0u8; len];
        blake3::Hasher::new()
            .update(&[seed])
            .update(salt)
            .finalize_xof()
            .fill(&mut out);
        out
    }

    pub(crate) fn write_random(path: &Path, len: usize, seed: u8) {
        std::fs::write(path, random_bytes(len, seed, path.as_os_str().as_bytes())).unwrap();
    }

    pub(crate) async fn backup_dir(repo: &Repository, dir: &Path) -> Id {
        let options = BackupOptions {
            paths: vec![dir.to_path_buf()],
            ..Default::default()
        };
        let outcome = backup(repo, &options, Progress::hidden()).await.unwrap();
        assert!(
            outcome.is_complete(),
            "{:?}",
            outcome.snapshot.summary.skipped
        );
        outcome.snapshot_id
    }

    async fn forget_all_but_newest(repo: &Repository) {
        let policy = RetentionPolicy {
            keep_last: Some(1),
            ..Default::default()
        };
        forget(
            repo,
            &ForgetOptions {
                policy,
                dry_run: false,
            },
        )
        .await
        .unwrap();
    }

    async fn run_prune(
        repo: &Repository,
        max_unused_percent: f64,
        dry_run: bool,
    ) -> Result<PruneReport> {
        prune(
            repo,
            &PruneOptions {
                max_unused_percent,
                dry_run,
            },
            Progress::hidden(),
        )
        .await
    }

    /// Every file under `dir` with its contents, by relative path.
    fn contents(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
        fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(root, &path, out);
                } else {
                    out.insert(
                        path.strip_prefix(root).unwrap().to_path_buf(),
                        std::fs::read(&path).unwrap(),
                    );
                }
            }
        }
        let mut out = BTreeMap::new();
        walk(dir, dir, &mut out);
        out
    }

    /// The repository's objects apart from locks, which come and go with every command.
    fn repo_objects(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
        contents(dir)
            .into_iter()
            .filter(|(path, _)| !path.starts_with("locks"))
            .collect()
    }

    fn stored_bytes(dir: &Path) -> u64 {
        repo_objects(dir).values().map(|v| v.len() as u64).sum()
    }

    fn keys_under(dir: &Path, prefix: &str) -> Vec<PathBuf> {
        repo_objects(dir)
            .into_keys()
            .filter(|p| p.starts_with(prefix))
            .collect()
    }

    async fn assert_clean(repo: &Repository) {
        let report = verify(repo, ReadData::All, Progress::hidden())
            .await
            .unwrap();
        assert!(report.is_clean(), "{:#?}", report.damage);
        assert!(report.warnings.is_empty(), "{:?}", report.warnings);
        assert!(
            repo.locks().await.unwrap().is_empty(),
            "a lock was left behind"
        );
    }

    /// Restores `snapshot` and returns what was restored at `path` (an absolute path in the snapshot).
    async fn restored(repo: &Repository, snapshot: Id, path: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
        let snap = repo.load_snapshot(&snapshot).await.unwrap();
        let target = tempfile::tempdir().unwrap();
        let options = RestoreOptions {
            target: target.path().to_path_buf(),
            includes: Vec::new(),
        };
        let report = restore(repo, (&snapshot, &snap), &options, Progress::hidden())
            .await
            .unwrap();
        assert!(report.is_clean(), "{:?}", report.damaged);
        contents(&target.path().join(path.strip_prefix("/").unwrap()))
    }

    #[tokio::test]
    async fn prune_frees_what_a_forgotten_snapshot_alone_used() {
        let (repo_dir, repo) = new_repo().await;
        let src = tempfile::tempdir().unwrap();
        write_random(&src.path().join("big.bin"), 2_500_000, 1);
        write_random(&src.path().join("small.txt"), 5_000, 2);
        std::fs::create_dir(src.path().join("sub")).unwrap();
        write_random(&src.path().join("sub/keep.bin"), 100_000, 3);
        backup_dir(&repo, src.path()).await;
        std::fs::remove_file(src.path().join("big.bin")).unwrap();
        let second = backup_dir(&repo, src.path()).await;
        forget_all_but_newest(&repo).await;

        let before = repo_objects(repo_dir.path());
        let dry = run_prune(&repo, 20.0, true).await.unwrap();
        assert!(dry.dry_run);
        assert!(dry.packs_deleted >= 1, "{dry:?}");
        assert!(dry.bytes_freed > 2_000_000, "{dry:?}");
        assert!(
            dry.index_objects_written >= 1 && dry.index_objects_deleted == 2,
            "{dry:?}"
        );
        assert_eq!(
            repo_objects(repo_dir.path()),
            before,
            "a dry run changes nothing"
        );

        let report = run_prune(&repo, 20.0, false).await.unwrap();
        assert!(!report.dry_run);
        assert_eq!(report.snapshots, 1);
        assert_eq!(
            (report.packs_deleted, report.packs_repacked),
            (dry.packs_deleted, dry.packs_repacked)
        );
        assert_eq!(
            report.packs_kept + report.packs_deleted + report.packs_repacked,
            report.packs_total
        );
        assert_eq!(report.unindexed_packs_deleted, 0);
        assert_eq!(report.index_objects_deleted, 2);
        assert!(report.index_objects_written >= 1);
        assert!(report.bytes_freed > 2_000_000, "{report:?}");
        let after = stored_bytes(repo_dir.path());
        let total_before: u64 = before.values().map(|v| v.len() as u64).sum();
        assert!(
            total_before - after > 2_000_000,
            "{total_before} -> {after}"
        );

        assert_clean(&repo).await;
        assert_eq!(
            restored(&repo, second, src.path()).await,
            contents(src.path())
        );

        let again = run_prune(&repo, 20.0, false).await.unwrap();
        assert_eq!(
            (
                again.packs_deleted,
                again.packs_repacked,
                again.packs_written
            ),
            (0, 0, 0),
            "{again:?}"
        );
        assert_eq!(
            (again.index_objects_written, again.index_objects_deleted),
            (0, 0),
            "nothing to rewrite"
        );
        assert_clean(&repo).await;
    }

    #[tokio::test]
    async fn prune_repacks_packs_that_mix_kept_and_forgotten_files() {
        let (_repo_dir, repo) = new_repo().await;
        let src = tempfile::tempdir().unwrap();
        // Single-chunk files, far less than a pack: the backup's packs mix both halves.
        for i in 0..40u8 {
            write_random(&src.path().join(format!("f{i:02}")), 8 * 1024, i);
        }
        backup_dir(&repo, src.path()).await;
        for i in 0..20u8 {
            std::fs::remove_file(src.path().join(format!("f{i:02}"))).unwrap();
        }
        let second = backup_dir(&repo, src.path()).await;
        forget_all_but_newest(&repo).await;

        let report = run_prune(&repo, 20.0, false).await.unwrap();
        assert!(report.packs_repacked >= 1, "{report:?}");
        assert!(report.packs_written >= 1, "{report:?}");
        assert!(report.blobs_repacked >= 20, "{report:?}");
        assert_clean(&repo).await;
        assert_eq!(
            restored(&repo, second, src.path()).await,
            contents(src.path())
        );
    }

    /// Blob contents, trees and snapshots written without a backup, so that which blobs
    /// share a pack is certain: one data pack holds `a` and `b`, one tree pack holds a
    /// root listing both and a root listing only `a`; snapshot `old` has both, `new` only `a`.
    struct Manual {
        a: Vec<u8>,
        a_id: Id,
        b_id: Id,
        data_pack: Id,
        tree_pack: Id,
        old: Id,
        new: Id,
    }

    fn file_node(name: &str, data: &[u8], id: Id, owner: &std::fs::Metadata) -> Node {
        Node {
            name: RawName(name.as_bytes().to_vec()),
            kind: NodeKind::File {
                content: vec![id],
                blake3: blake3::hash(data).to_hex().to_string(),
            },
            mode: 0o100644,
            uid: owner.uid(),
            gid: owner.gid(),
            mtime: 1_700_000_000,
            mtime_nsec: 0,
            size: data.len() as u64,
            inode: 0,
        }
    }

    async fn store_pack(repo: &Repository, pack: FinishedPack) -> IndexedPack {
        let indexed = IndexedPack::from_finished(&pack);
        repo.store()
            .put(&pack_key(&pack.id), pack.bytes.into(), PutMode::CreateOnly)
            .await
            .unwrap();
        indexed
    }

    async fn write_manual(repo: &Repository, index_data_pack: bool) -> Manual {
        let keys = repo.keys().clone();
        let level = repo.config().compression_level;
        let (a, b) = (random_bytes(40_000, 1, b"a"), random_bytes(40_000, 2, b"b"));
        let (a_id, b_id) = (keys.blob_id(&a), keys.blob_id(&b));
        let mut data = PackWriter::new(&keys, BlobKind::Data, 1 << 17).unwrap();
        data.add(a_id, a.len() as u32, encode_blob(&a, level))
            .unwrap();
        data.add(b_id, b.len() as u32, encode_blob(&b, level))
            .unwrap();

        let owner = std::fs::metadata(std::env::temp_dir()).unwrap();
        let both = Tree {
            nodes: vec![
                file_node("a.bin", &a, a_id, &owner),
                file_node("b.bin", &b, b_id, &owner),
            ],
        };
        let only_a = Tree {
            nodes: vec![file_node("a.bin", &a, a_id, &owner)],
        };
        let mut trees = PackWriter::new(&keys, BlobKind::Tree, 1 << 16).unwrap();
        let mut tree_ids = Vec::new();
        for tree in [&both, &only_a] {
            let bytes = tree.to_bytes();
            let id = keys.blob_id(&bytes);
            trees
                .add(id, bytes.len() as u32, encode_blob(&bytes, level))
                .unwrap();
            tree_ids.push(id);
        }

        let data = store_pack(repo, data.finish().unwrap()).await;
        let trees = store_pack(repo, trees.finish().unwrap()).await;
        let (data_pack, tree_pack) = (data.id, trees.id);
        let mut index = IndexFile { packs: vec![trees] };
        if index_data_pack {
            index.packs.push(data);
        }
        repo.save_index(&index).await.unwrap();

        let snapshot = |tree: Id, second: i64| Snapshot {
            time: jiff::Timestamp::from_second(second).unwrap(),
            tree,
            parent: None,
            paths: vec!["/manual".into()],
            host: "test".into(),
            user: "test".into(),
            tags: Vec::new(),
            program_version: "test".into(),
            summary: Default::default(),
        };
        let old = repo
            .save_snapshot(&snapshot(tree_ids[0], 1_700_000_000))
            .await
            .unwrap();
        let new = repo
            .save_snapshot(&snapshot(tree_ids[1], 1_700_000_100))
            .await
            .unwrap();
        Manual {
            a,
            a_id,
            b_id,
            data_pack,
            tree_pack,
            old,
            new,
        }
    }

    #[tokio::test]
    async fn a_pack_mixing_used_and_unused_blobs_is_repacked_above_the_threshold() {
        let (repo_dir, repo) = new_repo().await;
        let m = write_manual(&repo, true).await;
        assert_clean(&repo).await;
        repo.store()
            .delete(&crate::repo::snapshot::snapshot_key(&m.old))
            .await
            .unwrap();

        // Neither pack is wholly unused, and neither is over 99% unused.
        let lenient = run_prune(&repo, 99.0, true).await.unwrap();
        assert_eq!(
            (
                lenient.packs_kept,
                lenient.packs_repacked,
                lenient.packs_deleted
            ),
            (2, 0, 0),
            "{lenient:?}"
        );
        assert_eq!(
            (lenient.blobs_used, lenient.blobs_unused),
            (2, 2),
            "{lenient:?}"
        );
        assert_eq!(
            lenient.index_objects_written, 0,
            "nothing changes, so the index is not rewritten"
        );

        let dry = run_prune(&repo, 20.0, true).await.unwrap();
        assert_eq!(
            (
                dry.packs_kept,
                dry.packs_repacked,
                dry.packs_written,
                dry.blobs_repacked
            ),
            (0, 2, 2, 2),
            "{dry:?}"
        );

        let report = run_prune(&repo, 20.0, false).await.unwrap();
        assert_eq!(
            (
                report.packs_kept,
                report.packs_repacked,
                report.packs_deleted
            ),
            (0, 2, 0),
            "{report:?}"
        );
        assert_eq!(
            (report.packs_written, report.blobs_repacked),
            (2, 2),
            "{report:?}"
        );
        assert_eq!(
            (report.index_objects_written, report.index_objects_deleted),
            (1, 1),
            "{report:?}"
        );
        assert!(report.bytes_freed > 35_000, "b's 40 kB went: {report:?}");

        let packs = keys_under(repo_dir.path(), "data");
        assert_eq!(packs.len(), 2, "{packs:?}");
        for old in [m.data_pack, m.tree_pack] {
            assert!(
                !repo_dir.path().join(pack_key(&old)).exists(),
                "the repacked pack is deleted"
            );
        }
        let index = repo.load_index().await.unwrap();
        assert!(index.contains(&m.a_id) && !index.contains(&m.b_id));
        assert_eq!(index.packs().len(), 2);
        assert_clean(&repo).await;
        let files = restored(&repo, m.new, Path::new("/")).await;
        assert_eq!(
            files,
            BTreeMap::from([(PathBuf::from("a.bin"), m.a.clone())])
        );
    }

    #[tokio::test]
    async fn only_the_copy_the_index_resolves_to_counts_as_used() {
        let (_repo_dir, repo) = new_repo().await;
        let m = write_manual(&repo, true).await;
        // A second copy of `a`, alone in its pack, in another index object.
        let keys = repo.keys().clone();
        let mut dup = PackWriter::new(&keys, BlobKind::Data, 1 << 17).unwrap();
        dup.add(m.a_id, m.a.len() as u32, encode_blob(&m.a, 3))
            .unwrap();
        let dup = store_pack(&repo, dup.finish().unwrap()).await;
        let dup_pack = dup.id;
        repo.save_index(&IndexFile { packs: vec![dup] })
            .await
            .unwrap();
        repo.store()
            .delete(&crate::repo::snapshot::snapshot_key(&m.old))
            .await
            .unwrap();

        let report = run_prune(&repo, 20.0, false).await.unwrap();
        // Whichever copy resolves, the other pack holds nothing in use: one pack is
        // deleted outright, and `a` survives exactly once.
        assert_eq!(report.blobs_used, 2, "{report:?}");
        assert!(report.packs_deleted == 1, "{report:?}");
        let index = repo.load_index().await.unwrap();
        assert!(index.contains(&m.a_id) && !index.contains(&m.b_id));
        let holding_a = [m.data_pack, dup_pack]
            .iter()
            .filter(|id| index.has_pack(id))
            .count();
        assert!(
            holding_a <= 1,
            "the dropped copy's pack is out of the index"
        );
        assert_clean(&repo).await;
        let files = restored(&repo, m.new, Path::new("/")).await;
        assert_eq!(
            files,
            BTreeMap::from([(PathBuf::from("a.bin"), m.a.clone())])
        );
    }

    #[tokio::test]
    async fn a_corrupted_index_object_is_refused_and_nothing_is_deleted() {
        let (repo_dir, repo) = new_repo().await;
        let src = tempfile::tempdir().unwrap();
        write_random(&src.path().join("big.bin"), 300_000, 1);
        write_random(&src.path().join("small.bin"), 3_000, 2);
        backup_dir(&repo, src.path()).await;
        std::fs::remove_file(src.path().join("big.bin")).unwrap();
        backup_dir(&repo, src.path()).await;
        forget_all_but_newest(&repo).await;

        let index = keys_under(repo_dir.path(), "index")[0].clone();
        let path = repo_dir.path().join(&index);
        let mut bytes = std::fs::read(&path).unwrap();
        let mid = bytes.len() / 2;
        bytes[mid] ^= 0x01;
        std::fs::write(&path, bytes).unwrap();

        let before = repo_objects(repo_dir.path());
        for dry_run in [true, false] {
            let err = run_prune(&repo, 20.0, dry_run).await.unwrap_err();
            assert!(matches!(err, Error::Damaged { .. }), "{err}");
            let message = err.to_string();
            assert!(message.contains(&index.display().to_string()), "{message}");
            assert!(message.contains("firedrill verify"), "{message}");
            assert_eq!(repo_objects(repo_dir.path()), before, "nothing changed");
            assert!(
                repo.locks().await.unwrap().is_empty(),
                "the lock is released on error"
            );
        }
    }

    #[tokio::test]
    async fn used_blobs_in_no_index_are_refused_and_unindexed_packs_kept() {
        let (repo_dir, repo) = new_repo().await;
        // The data pack exists but its index entry is lost: a rebuilt index could recover it,
        // so it must not be deleted as an unindexed leftover.
        let m = write_manual(&repo, false).await;
        let before = repo_objects(repo_dir.path());
        let err = run_prune(&repo, 20.0, false).await.unwrap_err();
        let message = err.to_string();
        assert!(matches!(err, Error::Damaged { .. }), "{message}");
        assert!(
            message.contains("in no index") && message.contains("firedrill verify"),
            "{message}"
        );
        assert_eq!(repo_objects(repo_dir.path()), before);
        assert!(repo_dir.path().join(pack_key(&m.data_pack)).exists());
        assert!(repo.locks().await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn unindexed_packs_are_deleted_except_in_a_dry_run() {
        let (repo_dir, repo) = new_repo().await;
        let src = tempfile::tempdir().unwrap();
        write_random(&src.path().join("file.bin"), 50_000, 1);
        let snapshot = backup_dir(&repo, src.path()).await;
        // What an interrupted backup leaves: a stored pack no index lists.
        let keys = repo.keys().clone();
        let junk = random_bytes(30_000, 9, b"junk");
        let mut writer = PackWriter::new(&keys, BlobKind::Data, 1 << 16).unwrap();
        writer
            .add(
                keys.blob_id(&junk),
                junk.len() as u32,
                encode_blob(&junk, 3),
            )
            .unwrap();
        let junk_pack = store_pack(&repo, writer.finish().unwrap()).await;
        let junk_path = repo_dir.path().join(pack_key(&junk_pack.id));
        let warned = verify(&repo, ReadData::None, Progress::hidden())
            .await
            .unwrap();
        assert_eq!(warned.warnings.len(), 1, "{:?}", warned.warnings);

        let before = repo_objects(repo_dir.path());
        let dry = run_prune(&repo, 20.0, true).await.unwrap();
        assert_eq!(dry.unindexed_packs_deleted, 1, "{dry:?}");
        assert_eq!(dry.bytes_deleted, junk_pack.size);
        assert_eq!(repo_objects(repo_dir.path()), before);

        let report = run_prune(&repo, 20.0, false).await.unwrap();
        assert_eq!(report.unindexed_packs_deleted, 1, "{report:?}");
        assert_eq!(
            (
                report.packs_deleted,
                report.packs_repacked,
                report.packs_written
            ),
            (0, 0, 0)
        );
        assert_eq!(
            (report.index_objects_written, report.index_objects_deleted),
            (0, 0),
            "the index stays as it is"
        );
        assert_eq!(report.bytes_freed, junk_pack.size as i64);
        assert!(!junk_path.exists());
        assert_clean(&repo).await;
        assert_eq!(
            restored(&repo, snapshot, src.path()).await,
            contents(src.path())
        );
    }

    #[tokio::test]
    async fn with_every_snapshot_gone_everything_goes() {
        let (repo_dir, repo) = new_repo().await;
        let src = tempfile::tempdir().unwrap();
        write_random(&src.path().join("file.bin"), 50_000, 1);
        let snapshot = backup_dir(&repo, src.path()).await;
        repo.store()
            .delete(&crate::repo::snapshot::snapshot_key(&snapshot))
            .await
            .unwrap();

        let report = run_prune(&repo, 20.0, false).await.unwrap();
        assert_eq!(report.packs_deleted, report.packs_total, "{report:?}");
        assert_eq!(
            (report.index_objects_written, report.index_objects_deleted),
            (0, 1)
        );
        assert!(keys_under(repo_dir.path(), "data").is_empty());
        assert!(keys_under(repo_dir.path(), "index").is_empty());
        assert_clean(&repo).await;

        let empty = run_prune(&repo, 20.0, false).await.unwrap();
        assert_eq!(
            empty.packs_total + empty.bytes_total + empty.snapshots,
            0,
            "{empty:?}"
        );
    }

    #[tokio::test]
    async fn a_percentage_outside_0_to_100_is_refused() {
        let (_repo_dir, repo) = new_repo().await;
        for bad in [-1.0, 100.5, f64::NAN] {
            let err = run_prune(&repo, bad, true).await.unwrap_err();
            assert!(matches!(err, Error::Usage(_)), "{err}");
        }
        assert!(repo.locks().await.unwrap().is_empty());
    }
}
