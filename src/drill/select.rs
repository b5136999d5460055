//! Which snapshot a drill restores, and which of its files.

use super::definition::{SampleBy, Scope, SnapshotPick, SnapshotSelection};
use crate::crypto::Id;
use crate::error::{Error, Result};
use crate::repo::Repository;
use crate::repo::index::MasterIndex;
use crate::repo::snapshot::Snapshot;
use crate::repo::tree::NodeKind;
use std::path::PathBuf;

/// A deterministic pseudo-random number for (`seed`, `what`): the same inputs always give
/// the same number, so a sample or a pick can be replayed from its recorded seed.
pub fn draw(seed: u64, what: &[u8]) -> u64 {
    let mut hasher = blake3::Hasher::new();
    hasher.update(&seed.to_le_bytes());
    hasher.update(what);
    let bytes = hasher.finalize();
    u64::from_le_bytes(bytes.as_bytes()[..8].try_into().unwrap_or_default())
}

/// A fresh seed, for picks and samples that did not name one.
pub fn fresh_seed() -> u64 {
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        return jiff::Timestamp::now().as_nanosecond() as u64;
    }
    u64::from_le_bytes(bytes)
}

/// Picks the snapshot; returns it with a description of how it was chosen.
pub fn pick_snapshot(
    snapshots: &[(Id, Snapshot)],
    selection: &SnapshotSelection,
) -> Result<(Id, Snapshot, String)> {
    let mut candidates: Vec<&(Id, Snapshot)> = snapshots
        .iter()
        .filter(|(_, s)| selection.tag.as_ref().is_none_or(|t| s.tags.contains(t)))
        .filter(|(_, s)| selection.host.as_ref().is_none_or(|h| &s.host == h))
        .filter(|(_, s)| selection.path.as_ref().is_none_or(|p| s.paths.contains(p)))
        .collect();
    candidates.sort_by_key(|(_, s)| s.time);
    let mut filters = Vec::new();
    if let Some(t) = &selection.tag {
        filters.push(format!("tag {t}"));
    }
    if let Some(h) = &selection.host {
        filters.push(format!("host {h}"));
    }
    if let Some(p) = &selection.path {
        filters.push(format!("path {p}"));
    }
    let filters = if filters.is_empty() {
        String::new()
    } else {
        format!(" with {}", filters.join(", "))
    };
    let (chosen, how) = match &selection.pick {
        SnapshotPick::Latest => (candidates.last().copied(), format!("latest{filters}")),
        SnapshotPick::Oldest => (candidates.first().copied(), format!("oldest{filters}")),
        SnapshotPick::Random {
            within_seconds,
            seed,
        } => {
            let newest = candidates.last().map(|(_, s)| s.time);
            if let Some(newest) = newest {
                let floor = newest - jiff::SignedDuration::from_secs(*within_seconds as i64);
                candidates.retain(|(_, s)| s.time >= floor);
            }
            let seed = seed.unwrap_or_else(fresh_seed);
            let index = if candidates.is_empty() {
                0
            } else {
                (draw(seed, b"snapshot") % candidates.len() as u64) as usize
            };
            (
                candidates.get(index).copied(),
                format!(
                    "random among {} within {}s of the newest{filters} (seed {seed})",
                    candidates.len(),
                    within_seconds
                ),
            )
        }
    };
    let (id, snapshot) = chosen.ok_or_else(|| {
        Error::Usage(format!("no snapshot matches the drill's selection ({how})"))
    })?;
    Ok((*id, snapshot.clone(), how))
}

/// A regular file of a snapshot: its path as backed up and its size.
#[derive(Clone, Debug)]
pub struct FileEntry {
    pub path: PathBuf,
    pub size: u64,
}

/// Every regular file of the snapshot. Trees are loaded a level at a time, many at
/// once: on a remote store one tree after another would cost a round trip each.
pub async fn list_files(
    repo: &Repository,
    index: &MasterIndex,
    snapshot: &Snapshot,
) -> Result<Vec<FileEntry>> {
    let mut files = Vec::new();
    let mut level = vec![(PathBuf::from("/"), snapshot.tree)];
    while !level.is_empty() {
        let trees = repo
            .load_trees(index, level.iter().map(|(_, id)| *id))
            .await;
        let mut next = Vec::new();
        for ((dir, _), tree) in level.into_iter().zip(trees) {
            for node in tree?.nodes {
                let path = dir.join(node.name.to_os());
                match node.kind {
                    NodeKind::Dir { subtree } => next.push((path, subtree)),
                    NodeKind::File { .. } => files.push(FileEntry {
                        path,
                        size: node.size,
                    }),
                    NodeKind::Symlink { .. } => {}
                }
            }
        }
        level = next;
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

/// The files a scope selects, and the seed a sample was drawn with.
pub fn select_files(
    files: &[FileEntry],
    scope: &Scope,
    seed_override: Option<u64>,
) -> Result<(Vec<FileEntry>, Option<u64>)> {
    match scope {
        Scope::All => Ok((files.to_vec(), None)),
        Scope::Paths { paths } => {
            let chosen: Vec<FileEntry> = files
                .iter()
                .filter(|f| paths.iter().any(|p| f.path.starts_with(p)))
                .cloned()
                .collect();
            for p in paths {
                if !files.iter().any(|f| f.path.starts_with(p)) {
                    return Err(Error::Usage(format!(
                        "scope path {p} holds no file in the chosen snapshot"
                    )));
                }
            }
            Ok((chosen, None))
        }
        Scope::Sample { percent, by, seed } => {
            let seed = seed_override.or(*seed).unwrap_or_else(fresh_seed);
            let mut ranked: Vec<(u64, &FileEntry)> = files
                .iter()
                .map(|f| (draw(seed, f.path.as_os_str().as_encoded_bytes()), f))
                .collect();
            ranked.sort_by_key(|(rank, f)| (*rank, f.path.clone()));
            let mut chosen = Vec::new();
            match by {
                SampleBy::Files => {
                    let count = ((files.len() as f64) * percent / 100.0).ceil() as usize;
                    chosen.extend(ranked.iter().take(count.max(1)).map(|(_, f)| (*f).clone()));
                }
                SampleBy::Bytes => {
                    let total: u64 = files.iter().map(|f| f.size).sum();
                    let wanted = ((total as f64) * percent / 100.0).ceil() as u64;
                    let mut taken = 0;
                    for (_, f) in ranked {
                        if taken >= wanted.max(1) {
                            break;
                        }
                        taken += f.size;
                        chosen.push(f.clone());
                    }
                }
            }
            if files.is_empty() {
                chosen.clear();
            }
            chosen.sort_by(|a, b| a.path.cmp(&b.path));
            Ok((chosen, Some(seed)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(n: usize) -> Vec<FileEntry> {
        (0..n)
            .map(|i| FileEntry {
                path: PathBuf::from(format!("/d/f{i:04}")),
                size: (i as u64 + 1) * 100,
            })
            .collect()
    }

    #[test]
    fn a_sample_replays_from_its_seed() {
        let all = files(1000);
        let scope = Scope::Sample {
            percent: 5.0,
            by: SampleBy::Files,
            seed: None,
        };
        let (a, seed) = select_files(&all, &scope, None).unwrap();
        let (b, _) = select_files(&all, &scope, seed).unwrap();
        let (c, _) = select_files(&all, &scope, Some(seed.unwrap() ^ 1)).unwrap();
        let paths = |v: &[FileEntry]| v.iter().map(|f| f.path.clone()).collect::<Vec<_>>();
        assert_eq!(a.len(), 50);
        assert_eq!(paths(&a), paths(&b));
        assert_ne!(paths(&a), paths(&c));
    }

    #[test]
    fn a_byte_sample_covers_the_share_of_bytes() {
        let all = files(200);
        let total: u64 = all.iter().map(|f| f.size).sum();
        let scope = Scope::Sample {
            percent: 10.0,
            by: SampleBy::Bytes,
            seed: Some(7),
        };
        let (chosen, seed) = select_files(&all, &scope, None).unwrap();
        let bytes: u64 = chosen.iter().map(|f| f.size).sum();
        assert_eq!(seed, Some(7));
        assert!(bytes >= total / 10, "{bytes} of {total}");
        assert!(bytes < total / 10 + 20_001);
    }
}
