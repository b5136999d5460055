//! Verify: is everything every snapshot needs present and intact? Structure checks read
//! the index, snapshots and trees; `--read-data` also downloads packs and checks every
//! stored byte (name = BLAKE3 of the bytes), every header and every blob's keyed id.
//! Each problem names the object and what depends on it.

use crate::crypto::{Id, PieceKind};
use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::repo::index::{IndexFile, IndexedPack, MasterIndex, index_key};
use crate::repo::pack::{open_blob_in_place, pack_key, read_header};
use crate::repo::snapshot::snapshot_key;
use crate::repo::tree::NodeKind;
use crate::repo::{Repository, check_stored_hash};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ReadData {
    None,
    All,
    /// Percent of packs, chosen at random.
    Subset(f64),
}

#[derive(Clone, Debug, Serialize)]
pub struct Damage {
    pub object: String,
    pub problem: String,
    /// Snapshots and files that depend on the object (a few examples).
    pub affects: Vec<String>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct VerifyReport {
    pub snapshots: u64,
    pub trees: u64,
    pub index_objects: u64,
    pub packs: u64,
    pub packs_read: u64,
    pub bytes_read: u64,
    pub blobs_read: u64,
    pub damage: Vec<Damage>,
    pub warnings: Vec<String>,
}

impl VerifyReport {
    pub fn is_clean(&self) -> bool {
        self.damage.is_empty()
    }
}

const EXAMPLES: usize = 5;
/// Whole packs downloaded at once: enough to keep both cores busy on a cold store.
const PACKS_IN_FLIGHT: usize = 4;

/// Who uses each pack, for reporting what a damaged pack takes down.
#[derive(Default)]
struct Dependents {
    by_pack: HashMap<Id, (u64, Vec<String>)>,
}

impl Dependents {
    fn add(&mut self, pack: Id, who: impl FnOnce() -> String) {
        let (count, examples) = self.by_pack.entry(pack).or_default();
        *count += 1;
        if examples.len() < EXAMPLES {
            let who = who();
            if !examples.contains(&who) {
                examples.push(who);
            }
        }
    }

    fn of(&self, pack: &Id) -> Vec<String> {
        match self.by_pack.get(pack) {
            Some((count, examples)) => {
                let mut out = examples.clone();
                if *count as usize > examples.len() {
                    out.push(format!(
                        "…and {} more uses",
                        *count as usize - examples.len()
                    ));
                }
                out
            }
            None => vec!["nothing (unreferenced)".into()],
        }
    }
}

pub async fn verify(repo: &Repository, read: ReadData, progress: Progress) -> Result<VerifyReport> {
    let lock = repo.lock(false, "verify").await?;
    let result = run(repo, read, progress).await;
    let released = lock.release().await;
    let report = result?;
    released?;
    Ok(report)
}

async fn load_indexes(
    repo: &Repository,
    report: &mut VerifyReport,
) -> Result<(MasterIndex, HashMap<Id, IndexedPack>)> {
    let mut master = MasterIndex::default();
    let mut packs = HashMap::new();
    let ids = repo.index_ids().await?;
    report.index_objects = ids.len() as u64;
    let loaded = crate::concurrency::map_bounded(ids, 8, |id| async move {
        (
            id,
            repo.load_sealed::<IndexFile>(PieceKind::Index, &index_key(&id))
                .await,
        )
    })
    .await;
    for (id, file) in loaded {
        match file {
            Ok(file) => {
                master.add_file(&file);
                for pack in file.packs {
                    packs.entry(pack.id).or_insert(pack);
                }
            }
            Err(e) if is_damage(&e) => report.damage.push(Damage {
                object: index_key(&id),
                problem: e.to_string(),
                affects: vec![
                    "the location of the packs it lists (a rebuilt index can recover them)".into(),
                ],
            }),
            Err(e) => return Err(e),
        }
    }
    Ok((master, packs))
}

fn is_damage(e: &Error) -> bool {
    matches!(e, Error::Damaged { .. }) || e.is_not_found()
}

async fn check_trees(
    repo: &Repository,
    index: &MasterIndex,
    report: &mut VerifyReport,
    deps: &mut Dependents,
) -> Result<()> {
    let mut seen: HashSet<Id> = HashSet::new();
    for id in repo.snapshot_ids().await? {
        let key = snapshot_key(&id);
        let snapshot = match repo.load_snapshot(&id).await {
            Ok(s) => s,
            Err(e) if is_damage(&e) => {
                report.damage.push(Damage {
                    object: key,
                    problem: e.to_string(),
                    affects: vec![format!("snapshot {}", id.short())],
                });
                continue;
            }
            Err(e) => return Err(e),
        };
        report.snapshots += 1;
        let snap = id.short();
        // Level by level, each level's trees fetched concurrently.
        let mut level = vec![(PathBuf::from("/"), snapshot.tree)];
        while !level.is_empty() {
            let mut to_load = Vec::new();
            for (dir, tree_id) in level {
                if let Some((pack, _)) = index.lookup(&tree_id) {
                    deps.add(pack.id, || {
                        format!("snapshot {snap}: directory {}", dir.display())
                    });
                }
                if seen.insert(tree_id) {
                    to_load.push((dir, tree_id));
                }
            }
            let trees = repo
                .load_trees(index, to_load.iter().map(|(_, id)| *id))
                .await;
            let mut stack = Vec::new();
            for ((dir, tree_id), tree) in to_load.into_iter().zip(trees) {
                let tree = match tree {
                    Ok(tree) => tree,
                    Err(e) if is_damage(&e) => {
                        report.damage.push(Damage {
                            object: format!("tree {}", tree_id.short()),
                            problem: e.to_string(),
                            affects: vec![format!(
                                "snapshot {snap}: directory {} and everything below it",
                                dir.display()
                            )],
                        });
                        continue;
                    }
                    Err(e) => return Err(e),
                };
                report.trees += 1;
                for node in tree.nodes {
                    let path = dir.join(node.name.to_os());
                    match node.kind {
                        NodeKind::Dir { subtree } => stack.push((path, subtree)),
                        NodeKind::File { content, .. } => {
                            for blob in content {
                                match index.lookup(&blob) {
                                    Some((pack, _)) => deps.add(pack.id, || {
                                        format!("snapshot {snap}: {}", path.display())
                                    }),
                                    None => report.damage.push(Damage {
                                        object: format!("data blob {}", blob.short()),
                                        problem: "missing: no index lists it".into(),
                                        affects: vec![format!(
                                            "snapshot {snap}: {}",
                                            path.display()
                                        )],
                                    }),
                                }
                            }
                        }
                        NodeKind::Symlink { .. } => {}
                    }
                }
            }
            level = stack;
        }
    }
    Ok(())
}

/// Downloads one pack and checks it end to end against its name and the index.
async fn read_pack(repo: &Repository, pack: IndexedPack) -> Result<(u64, u64, Option<String>)> {
    let key = pack_key(&pack.id);
    let bytes = match repo.store().get(&key).await {
        Ok(bytes) => bytes,
        Err(e) if e.is_not_found() => return Ok((0, 0, Some("missing".into()))),
        Err(e) => return Err(e.into()),
    };
    let keys = repo.keys().clone();
    let mut bytes = bytes;
    tokio::task::spawn_blocking(move || {
        let size = bytes.len() as u64;
        if let Err(e) = check_stored_hash(&key, &bytes) {
            return (size, 0, Some(detail(e)));
        }
        let header = match read_header(&keys, &bytes, &key) {
            Ok(h) => h,
            Err(e) => return (size, 0, Some(detail(e))),
        };
        let header: HashSet<_> = header
            .into_iter()
            .map(|e| (e.id, e.offset, e.length, e.raw_length))
            .collect();
        let cipher = keys.cipher_for(&pack.salt);
        let mut blobs = 0;
        for blob in &pack.blobs {
            let entry = pack.entry(blob);
            if !header.contains(&(entry.id, entry.offset, entry.length, entry.raw_length)) {
                return (
                    size,
                    blobs,
                    Some(format!(
                        "header does not list blob {} as the index does",
                        blob.id.short()
                    )),
                );
            }
            let range = blob.offset as usize..(blob.offset + u64::from(blob.length)) as usize;
            if range.end > bytes.len() {
                return (
                    size,
                    blobs,
                    Some(format!(
                        "index places blob {} beyond the pack's end",
                        blob.id.short()
                    )),
                );
            }
            let stored = &mut bytes[range];
            if let Err(e) = open_blob_in_place(&keys, &cipher, &entry, stored, &key) {
                return (size, blobs, Some(detail(e)));
            }
            blobs += 1;
        }
        (size, blobs, None)
    })
    .await
    .map_err(|e| Error::Other(format!("verification worker failed: {e}")))
}

fn detail(e: Error) -> String {
    match e {
        Error::Damaged { detail, .. } => detail,
        other => other.to_string(),
    }
}

fn chosen(id: &Id, seed: &[u8; 32], percent: f64) -> bool {
    let h = blake3::keyed_hash(seed, id.as_bytes());
    let v = u64::from_le_bytes(h.as_bytes()[..8].try_into().unwrap_or_default());
    (v as f64 / u64::MAX as f64) * 100.0 < percent
}

async fn run(repo: &Repository, read: ReadData, progress: Progress) -> Result<VerifyReport> {
    let mut report = VerifyReport::default();
    let (index, indexed_packs) = load_indexes(repo, &mut report).await?;
    let stored: HashMap<Id, u64> = repo.pack_ids().await?.into_iter().collect();
    report.packs = stored.len() as u64;

    // Packs that are missing or of the wrong size; their dependents are known only after
    // the trees are walked, so the damage entries are written at the end.
    let mut bad_packs: Vec<(Id, String)> = Vec::new();
    let mut readable = Vec::new();
    let mut ids: Vec<&Id> = indexed_packs.keys().collect();
    ids.sort();
    for id in ids {
        let pack = &indexed_packs[id];
        match stored.get(id) {
            None => bad_packs.push((*id, "missing".into())),
            Some(&size) if size != pack.size => bad_packs.push((
                *id,
                format!(
                    "size is {size} bytes, the index says {} (truncated or replaced)",
                    pack.size
                ),
            )),
            Some(_) => readable.push(pack.clone()),
        }
    }
    let unindexed = stored
        .keys()
        .filter(|id| !indexed_packs.contains_key(*id))
        .count();
    if unindexed > 0 {
        report.warnings.push(format!(
            "{unindexed} pack(s) are in no index (left by an interrupted backup or prune); `firedrill prune` removes them"
        ));
    }

    let seed = crate::crypto::random_bytes::<32>().map_err(|e| Error::Other(e.to_string()))?;
    let to_read: Vec<IndexedPack> = match read {
        ReadData::None => Vec::new(),
        ReadData::All => readable,
        ReadData::Subset(percent) => readable
            .into_iter()
            .filter(|p| chosen(&p.id, &seed, percent))
            .collect(),
    };
    progress.set_totals(to_read.iter().map(|p| p.size).sum(), to_read.len() as u64);
    let read_all = crate::concurrency::map_unordered(to_read, PACKS_IN_FLIGHT, |pack| {
        let progress = progress.clone();
        async move {
            let id = pack.id;
            let size = pack.size;
            let result = read_pack(repo, pack).await;
            progress.add_bytes(size);
            progress.file_done();
            (id, result)
        }
    });
    // The tree walk (small reads) and the pack reads (large ones) overlap.
    let mut deps = Dependents::default();
    let (trees, results) =
        tokio::join!(check_trees(repo, &index, &mut report, &mut deps), read_all);
    progress.finish();
    trees?;
    for (id, problem) in bad_packs {
        report.damage.push(Damage {
            object: pack_key(&id),
            problem,
            affects: deps.of(&id),
        });
    }
    for (id, result) in results {
        let (bytes, blobs, problem) = result?;
        report.packs_read += 1;
        report.bytes_read += bytes;
        report.blobs_read += blobs;
        if let Some(problem) = problem {
            report.damage.push(Damage {
                object: pack_key(&id),
                problem,
                affects: deps.of(&id),
            });
        }
    }
    Ok(report)
}
