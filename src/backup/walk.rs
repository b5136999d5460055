//! Walks the source paths into a plan: the directory structure to store, with a job
//! for every file that has to be read. Unchanged files (same size, mtime and inode as
//! in the parent snapshot) get their node from the parent and are never read.

use super::exclude::Excludes;
use crate::repo::index::MasterIndex;
use crate::repo::snapshot::SkippedEntry;
use crate::repo::tree::{Node, NodeKind, RawName};
use std::collections::{BTreeMap, HashMap};
use std::fs::{self, Metadata};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use tokio::sync::oneshot;

/// What a file worker reports for one file.
#[derive(Debug)]
pub struct FileOutcome {
    pub content: Vec<crate::crypto::Id>,
    pub blake3: String,
    pub size: u64,
    pub changed_while_reading: bool,
}

pub type FileResult = Result<FileOutcome, String>;

pub struct FileJob {
    pub path: PathBuf,
    pub done: oneshot::Sender<FileResult>,
}

pub enum PlanEntry {
    Dir(DirPlan),
    File {
        meta: Metadata,
        path: PathBuf,
        pending: oneshot::Receiver<FileResult>,
    },
    Reused(Node),
    Symlink {
        meta: Metadata,
        target: RawName,
    },
}

pub struct DirPlan {
    pub meta: Option<Metadata>,
    pub children: BTreeMap<Vec<u8>, PlanEntry>,
}

#[derive(Default)]
pub struct WalkStats {
    pub files_to_read: u64,
    pub bytes_to_read: u64,
    pub files_unmodified: u64,
    pub bytes_unmodified: u64,
}

pub struct Walker<'a> {
    pub excludes: &'a Excludes,
    /// Files of the parent snapshot by absolute path.
    pub parent: &'a HashMap<PathBuf, Node>,
    pub index: &'a MasterIndex,
    /// Files to read go straight to the readers: reading starts while the walk goes on.
    pub jobs: std::sync::mpsc::SyncSender<FileJob>,
    pub skipped: Vec<SkippedEntry>,
    pub stats: WalkStats,
}

pub fn node_meta(name: RawName, kind: NodeKind, meta: &Metadata) -> Node {
    Node {
        name,
        kind,
        mode: meta.mode(),
        uid: meta.uid(),
        gid: meta.gid(),
        mtime: meta.mtime(),
        mtime_nsec: meta.mtime_nsec().clamp(0, 999_999_999) as u32,
        size: if meta.is_file() { meta.len() } else { 0 },
        inode: meta.ino(),
    }
}

impl Walker<'_> {
    fn skip(&mut self, path: &Path, error: impl ToString) {
        self.skipped.push(SkippedEntry {
            path: path.display().to_string(),
            error: error.to_string(),
        });
    }

    /// Adds one source path (absolute) under `root`, creating the directories above it.
    pub fn add_source(&mut self, root: &mut DirPlan, source: &Path) {
        let meta = match fs::symlink_metadata(source) {
            Ok(meta) => meta,
            Err(e) => return self.skip(source, e),
        };
        let mut dir = root;
        let mut so_far = PathBuf::from("/");
        let components: Vec<_> = source.components().skip(1).collect();
        let Some((last, parents)) = components.split_last() else {
            // Backing up "/" itself: its entries go straight into the root.
            if let PlanEntry::Dir(plan) = self.entry(source, meta) {
                root_merge(dir, plan);
            }
            return;
        };
        for component in parents {
            so_far.push(component);
            let name = component.as_os_str().as_bytes().to_vec();
            let entry = dir.children.entry(name).or_insert_with(|| {
                // Directories above a source are recorded as what they lead to: a symlinked
                // ancestor restores as the real directory, with the real directory's mode.
                PlanEntry::Dir(DirPlan {
                    meta: fs::metadata(&so_far).ok(),
                    children: BTreeMap::new(),
                })
            });
            let PlanEntry::Dir(next) = entry else { return };
            dir = next;
        }
        let entry = self.entry(source, meta);
        let name = last.as_os_str().as_bytes().to_vec();
        match (dir.children.get_mut(&name), entry) {
            (Some(PlanEntry::Dir(existing)), PlanEntry::Dir(plan)) => root_merge(existing, plan),
            (_, entry) => {
                dir.children.insert(name, entry);
            }
        }
    }

    fn entry(&mut self, path: &Path, meta: Metadata) -> PlanEntry {
        let file_type = meta.file_type();
        if file_type.is_dir() {
            PlanEntry::Dir(self.walk_dir(path, meta))
        } else if file_type.is_symlink() {
            match fs::read_link(path) {
                Ok(target) => PlanEntry::Symlink {
                    meta,
                    target: RawName::from_os(target.as_os_str()),
                },
                Err(e) => {
                    self.skip(path, e);
                    PlanEntry::Reused(node_meta(
                        RawName(Vec::new()),
                        NodeKind::Symlink {
                            target: RawName(Vec::new()),
                        },
                        &meta,
                    ))
                }
            }
        } else if file_type.is_file() {
            self.file_entry(path, meta)
        } else {
            self.skip(
                path,
                "not a regular file, directory or symlink (device, socket or fifo)",
            );
            PlanEntry::Reused(node_meta(
                RawName(Vec::new()),
                NodeKind::Symlink {
                    target: RawName(Vec::new()),
                },
                &meta,
            ))
        }
    }

    fn file_entry(&mut self, path: &Path, meta: Metadata) -> PlanEntry {
        if let Some(node) = self.parent.get(path)
            && let NodeKind::File { content, .. } = &node.kind
            && node.size == meta.len()
            && node.mtime == meta.mtime()
            && i64::from(node.mtime_nsec) == meta.mtime_nsec()
            && node.inode == meta.ino()
            && content.iter().all(|id| self.index.contains(id))
        {
            self.stats.files_unmodified += 1;
            self.stats.bytes_unmodified += meta.len();
            let mut reused = node_meta(node.name.clone(), node.kind.clone(), &meta);
            reused.size = node.size;
            return PlanEntry::Reused(reused);
        }
        let (done, pending) = oneshot::channel();
        self.stats.files_to_read += 1;
        self.stats.bytes_to_read += meta.len();
        // A closed channel means the backup is aborting; the pending result reports it.
        let _ = self.jobs.send(FileJob {
            path: path.to_path_buf(),
            done,
        });
        PlanEntry::File {
            meta,
            path: path.to_path_buf(),
            pending,
        }
    }

    fn walk_dir(&mut self, path: &Path, meta: Metadata) -> DirPlan {
        let mut plan = DirPlan {
            meta: Some(meta),
            children: BTreeMap::new(),
        };
        let entries = match fs::read_dir(path) {
            Ok(entries) => entries,
            Err(e) => {
                self.skip(path, format!("cannot list directory: {e}"));
                return plan;
            }
        };
        for entry in entries {
            let entry = match entry {
                Ok(entry) => entry,
                Err(e) => {
                    self.skip(path, format!("cannot list directory: {e}"));
                    continue;
                }
            };
            let child = entry.path();
            if self.excludes.is_excluded(&child) {
                continue;
            }
            let meta = match entry.metadata() {
                Ok(meta) => meta,
                Err(e) => {
                    self.skip(&child, e);
                    continue;
                }
            };
            let file_type = meta.file_type();
            if !(file_type.is_dir() || file_type.is_file() || file_type.is_symlink()) {
                // Sockets, fifos and devices are not data to restore.
                continue;
            }
            let item = self.entry(&child, meta);
            plan.children
                .insert(entry.file_name().as_bytes().to_vec(), item);
        }
        plan
    }
}

fn root_merge(into: &mut DirPlan, from: DirPlan) {
    if into.meta.is_none() {
        into.meta = from.meta;
    }
    for (name, entry) in from.children {
        into.children.insert(name, entry);
    }
}
