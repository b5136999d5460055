//! Backup: files → chunks → new blobs → packs → store, then index, trees and snapshot.
//! Nothing is referenced before it is stored: packs first, then the index entries that
//! point at them, and the snapshot last.

pub mod exclude;
mod upload;
mod walk;
mod workers;

use crate::crypto::Id;
use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::repo::Repository;
use crate::repo::index::MasterIndex;
use crate::repo::pack::{BlobKind, PackWriter, encode_blob};
use crate::repo::snapshot::{BackupSummary, SkippedEntry, Snapshot};
use crate::repo::tree::{Node, NodeKind, RawName, Tree};
use exclude::Excludes;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, mpsc};
use std::time::Instant;
use tokio::sync::mpsc as async_mpsc;
use walk::{DirPlan, PlanEntry, Walker, node_meta};
use workers::Shared;

#[derive(Clone, Debug, Default)]
pub struct BackupOptions {
    pub paths: Vec<PathBuf>,
    pub tags: Vec<String>,
    pub excludes: Vec<String>,
    pub exclude_files: Vec<PathBuf>,
    /// Read every file even if the parent snapshot says it is unchanged.
    pub force_read: bool,
}

#[derive(Debug)]
pub struct BackupOutcome {
    pub snapshot_id: Id,
    pub snapshot: Snapshot,
    /// Files stored but modified while being read (their content is what was read).
    pub changed_while_reading: Vec<String>,
}

impl BackupOutcome {
    pub fn is_complete(&self) -> bool {
        self.snapshot.summary.skipped.is_empty()
    }
}

pub async fn backup(
    repo: &Repository,
    options: &BackupOptions,
    progress: Progress,
) -> Result<BackupOutcome> {
    let lock = repo.lock(false, "backup").await?;
    let result = run(repo, options, progress).await;
    let released = lock.release().await;
    let outcome = result?;
    released?;
    Ok(outcome)
}

fn absolute_sources(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    if paths.is_empty() {
        return Err(Error::Usage(
            "nothing to back up: give at least one path".into(),
        ));
    }
    let mut out = Vec::new();
    for path in paths {
        let abs = std::path::absolute(path).map_err(|e| Error::io(path, e))?;
        // Normalise `a/./b` and trailing slashes without resolving symlinks.
        let clean: PathBuf = abs.components().collect();
        out.push(clean);
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn path_strings(paths: &[PathBuf]) -> Vec<String> {
    paths.iter().map(|p| p.display().to_string()).collect()
}

/// The newest snapshot of the same host and paths: its unchanged files are not re-read.
async fn find_parent(repo: &Repository, paths: &[String]) -> Result<Option<(Id, Snapshot)>> {
    let host = crate::host::hostname();
    Ok(repo
        .readable_snapshots()
        .await?
        .0
        .into_iter()
        .rev()
        .find(|(_, s)| s.host == host && s.paths == paths))
}

async fn parent_files(
    repo: &Repository,
    index: &MasterIndex,
    tree: Id,
) -> Result<HashMap<PathBuf, Node>> {
    let mut files = HashMap::new();
    let mut stack = vec![(PathBuf::from("/"), tree)];
    while let Some((dir, id)) = stack.pop() {
        for node in repo.load_tree(index, &id).await?.nodes {
            let path = dir.join(node.name.to_os());
            match &node.kind {
                NodeKind::Dir { subtree } => stack.push((path, *subtree)),
                NodeKind::File { .. } => {
                    files.insert(path, node);
                }
                NodeKind::Symlink { .. } => {}
            }
        }
    }
    Ok(files)
}

struct TreeSaver {
    shared: Arc<Shared>,
    writer: Option<PackWriter>,
    packs: async_mpsc::Sender<crate::repo::pack::FinishedPack>,
}

impl TreeSaver {
    async fn save(&mut self, tree: &Tree) -> Result<Id> {
        let bytes = tree.to_bytes();
        let id = self.shared.keys.blob_id(&bytes);
        if self.shared.claim(id) {
            let writer = match self.writer.as_mut() {
                Some(w) => w,
                None => self.writer.insert(self.shared.new_pack(BlobKind::Tree)?),
            };
            writer.add(
                id,
                bytes.len() as u32,
                encode_blob(&bytes, self.shared.level),
            )?;
            if writer.len() >= self.shared.pack_size {
                self.flush().await?;
            }
        }
        Ok(id)
    }

    async fn flush(&mut self) -> Result<()> {
        if let Some(writer) = self.writer.take().filter(|w| !w.is_empty()) {
            self.packs
                .send(writer.finish()?)
                .await
                .map_err(|_| Error::Other("backup aborted: upload failed".into()))?;
        }
        Ok(())
    }
}

#[derive(Default)]
struct BuildState {
    summary: BackupSummary,
    skipped: Vec<SkippedEntry>,
    changed_while_reading: Vec<String>,
    parent_paths: usize,
}

fn synthetic_dir(name: RawName, subtree: Id) -> Node {
    Node {
        name,
        kind: NodeKind::Dir { subtree },
        mode: 0o040755,
        uid: 0,
        gid: 0,
        mtime: 0,
        mtime_nsec: 0,
        size: 0,
        inode: 0,
    }
}

fn build_dir<'a>(
    plan: DirPlan,
    saver: &'a mut TreeSaver,
    state: &'a mut BuildState,
    parent: &'a HashMap<PathBuf, Node>,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Id>> + Send + 'a>> {
    Box::pin(async move {
        let mut tree = Tree::default();
        for (name, entry) in plan.children {
            let name = RawName(name);
            match entry {
                PlanEntry::Dir(dir) => {
                    let meta = dir.meta.clone();
                    let subtree = build_dir(dir, saver, state, parent).await?;
                    state.summary.dirs += 1;
                    tree.nodes.push(match meta {
                        Some(meta) => node_meta(name, NodeKind::Dir { subtree }, &meta),
                        None => synthetic_dir(name, subtree),
                    });
                }
                PlanEntry::File {
                    meta,
                    path,
                    pending,
                } => {
                    let result = pending
                        .await
                        .map_err(|_| Error::Other("a backup worker stopped unexpectedly".into()))?;
                    match result {
                        Ok(outcome) => {
                            if parent.contains_key(&path) {
                                state.summary.files_changed += 1;
                            } else {
                                state.summary.files_new += 1;
                            }
                            if outcome.changed_while_reading {
                                state.changed_while_reading.push(path.display().to_string());
                            }
                            state.summary.files += 1;
                            state.summary.total_bytes += outcome.size;
                            state.summary.bytes_read += outcome.size;
                            let mut node = node_meta(
                                name,
                                NodeKind::File {
                                    content: outcome.content,
                                    blake3: outcome.blake3,
                                },
                                &meta,
                            );
                            node.size = outcome.size;
                            tree.nodes.push(node);
                        }
                        Err(error) => state.skipped.push(SkippedEntry {
                            path: path.display().to_string(),
                            error,
                        }),
                    }
                }
                PlanEntry::Reused(mut node) => {
                    if node.name.0.is_empty() {
                        continue;
                    }
                    node.name = name;
                    state.summary.files += 1;
                    state.summary.files_unmodified += 1;
                    state.summary.total_bytes += node.size;
                    state.parent_paths += 1;
                    tree.nodes.push(node);
                }
                PlanEntry::Symlink { meta, target } => {
                    state.summary.symlinks += 1;
                    tree.nodes
                        .push(node_meta(name, NodeKind::Symlink { target }, &meta));
                }
            }
        }
        saver.save(&tree).await
    })
}

async fn run(
    repo: &Repository,
    options: &BackupOptions,
    progress: Progress,
) -> Result<BackupOutcome> {
    let started = Instant::now();
    let time = jiff::Timestamp::now();
    let sources = absolute_sources(&options.paths)?;
    let excludes = Excludes::new(&options.excludes, &options.exclude_files)?;
    let paths = path_strings(&sources);
    // A damaged index object only costs dedup: its blobs are stored again.
    let index = Arc::new(repo.load_index_tolerant().await?.0);
    let parent = find_parent(repo, &paths).await?;
    let parent_map = Arc::new(match &parent {
        Some((_, snap)) if !options.force_read => parent_files(repo, &index, snap.tree).await?,
        _ => HashMap::new(),
    });

    let config = repo.config();
    let shared = Arc::new(Shared {
        keys: repo.keys().clone(),
        chunker: config.chunker,
        level: config.compression_level,
        pack_size: config.pack_size as usize,
        claimed: Mutex::new(index.blobs().map(|(id, _)| *id).collect()),
        progress: progress.clone(),
        buffers: workers::BufferPool::default(),
        data_pack: Mutex::new(None),
    });
    let workers = crate::concurrency::cpu_workers();
    let (pack_tx, pack_rx) = async_mpsc::channel(1);
    let uploader = tokio::spawn(upload::upload_packs(
        repo.clone(),
        pack_rx,
        shared.buffers.clone(),
    ));

    let (job_tx, job_rx) = mpsc::sync_channel(64);
    let (blob_tx, blob_rx) = mpsc::sync_channel(workers * 2);
    let (job_rx, blob_rx) = (Arc::new(Mutex::new(job_rx)), Arc::new(Mutex::new(blob_rx)));
    let mut threads = Vec::new();
    for _ in 0..workers {
        let (shared, job_rx, blob_tx) = (shared.clone(), job_rx.clone(), blob_tx.clone());
        threads.push(std::thread::spawn(move || {
            workers::file_worker(shared, job_rx, blob_tx);
            Ok(())
        }));
    }
    drop(blob_tx);
    for _ in 0..workers {
        let (shared, blob_rx, pack_tx) = (shared.clone(), blob_rx.clone(), pack_tx.clone());
        threads.push(std::thread::spawn(move || {
            workers::blob_worker(shared, blob_rx, pack_tx)
        }));
    }

    let walked = {
        let (index, parent_map, sources) = (index.clone(), parent_map.clone(), sources.clone());
        let jobs = job_tx;
        tokio::task::spawn_blocking(move || {
            let mut walker = Walker {
                excludes: &excludes,
                parent: &parent_map,
                index: &index,
                jobs,
                skipped: Vec::new(),
                stats: Default::default(),
            };
            let mut root = DirPlan {
                meta: None,
                children: Default::default(),
            };
            for source in &sources {
                walker.add_source(&mut root, source);
            }
            (root, walker.skipped, walker.stats)
        })
        .await
        .map_err(|e| Error::Other(format!("walking the source failed: {e}")))?
    };
    let (root, walk_skipped, stats) = walked;
    if root.children.is_empty() {
        return Err(Error::Usage(format!(
            "nothing to back up: {}",
            walk_skipped
                .iter()
                .map(|s| format!("{}: {}", s.path, s.error))
                .collect::<Vec<_>>()
                .join("; ")
        )));
    }
    progress.set_totals(stats.bytes_to_read, stats.files_to_read);

    let mut saver = TreeSaver {
        shared: shared.clone(),
        writer: None,
        packs: pack_tx,
    };
    let mut state = BuildState::default();
    let built = build_dir(root, &mut saver, &mut state, &parent_map).await;
    let flushed = saver.flush().await;
    let joined = tokio::task::spawn_blocking(move || {
        threads
            .into_iter()
            .map(|t| {
                t.join()
                    .unwrap_or_else(|_| Err(Error::Other("a backup worker panicked".into())))
            })
            .collect::<Vec<_>>()
    })
    .await
    .map_err(|e| Error::Other(e.to_string()))?;
    // Every blob worker has stopped: the last data pack is complete.
    let last_pack = match shared.take_data_pack() {
        Ok(Some(pack)) => saver
            .packs
            .send(pack)
            .await
            .map_err(|_| Error::Other("backup aborted: upload failed".into())),
        Ok(None) => Ok(()),
        Err(e) => Err(e),
    };
    drop(saver);
    let uploaded = uploader
        .await
        .map_err(|e| Error::Other(format!("uploader stopped: {e}")))?;
    progress.finish();
    // The first real failure explains the others (closed channels, aborted workers).
    let upload_stats = uploaded?;
    for result in joined {
        result?;
    }
    let tree = built?;
    flushed?;
    last_pack?;

    let mut summary = state.summary;
    summary.blobs_added = upload_stats.blobs;
    summary.stored_bytes_added = upload_stats.bytes;
    summary.duration_secs = started.elapsed().as_secs_f64();
    summary.skipped = walk_skipped;
    summary.skipped.extend(state.skipped);
    let snapshot = Snapshot {
        time,
        tree,
        parent: parent.map(|(id, _)| id),
        paths,
        host: crate::host::hostname(),
        user: crate::host::username(),
        tags: options.tags.clone(),
        program_version: env!("CARGO_PKG_VERSION").to_string(),
        summary,
    };
    let snapshot_id = repo.save_snapshot(&snapshot).await?;
    Ok(BackupOutcome {
        snapshot_id,
        snapshot,
        changed_while_reading: state.changed_while_reading,
    })
}
