//! Turns a snapshot's trees into the list of things to create, refusing any entry whose
//! name could place it outside the restore target.

use crate::crypto::Id;
use crate::error::{Error, Result};
use crate::repo::Repository;
use crate::repo::index::MasterIndex;
use crate::repo::tree::{Node, NodeKind};
use std::path::{Path, PathBuf};

pub struct PlannedFile {
    /// Relative to the target.
    pub rel: PathBuf,
    /// As shown to the user (the path inside the snapshot).
    pub shown: String,
    pub node: Node,
}

#[derive(Default)]
pub struct RestorePlan {
    pub dirs: Vec<(PathBuf, Node)>,
    pub files: Vec<PlannedFile>,
    pub symlinks: Vec<(PathBuf, Node)>,
    /// Parts of the snapshot that could not be read or were refused, by snapshot path.
    pub problems: Vec<(String, String)>,
    /// Whether anything at or below an include was found.
    pub matched: bool,
}

/// A single path component from a snapshot: anything else could escape the target.
pub fn check_name(name: &[u8]) -> std::result::Result<(), &'static str> {
    if name.is_empty() {
        return Err("empty file name");
    }
    if name == b"." || name == b".." {
        return Err("'.' or '..' as a file name (path traversal)");
    }
    if name.contains(&b'/') {
        return Err("'/' inside a file name (path traversal)");
    }
    if name.contains(&0) {
        return Err("NUL inside a file name");
    }
    Ok(())
}

/// Whether `path` (in the snapshot) should be restored for these includes: it is at or
/// below an include, or above one (a directory leading to it).
fn wanted(path: &Path, includes: &[PathBuf]) -> (bool, bool) {
    if includes.is_empty() {
        return (true, true);
    }
    let inside = includes.iter().any(|inc| path.starts_with(inc));
    let above = includes.iter().any(|inc| inc.starts_with(path));
    (inside || above, inside)
}

pub async fn plan(
    repo: &Repository,
    index: &MasterIndex,
    root: Id,
    includes: &[PathBuf],
) -> Result<RestorePlan> {
    let mut plan = RestorePlan::default();
    // Level by level, each level's trees fetched concurrently: a deep tree of thousands
    // of directories is not thousands of round trips in a row.
    let mut level: Vec<(PathBuf, Id)> = vec![(PathBuf::new(), root)];
    while !level.is_empty() {
        let trees = repo
            .load_trees(index, level.iter().map(|(_, id)| *id))
            .await;
        let mut next = Vec::new();
        for ((rel_dir, _), tree) in level.into_iter().zip(trees) {
            plan_dir(&mut plan, rel_dir, tree, includes, &mut next)?;
        }
        level = next;
    }
    // Parents before children.
    plan.dirs.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(plan)
}

fn plan_dir(
    plan: &mut RestorePlan,
    rel_dir: PathBuf,
    tree: Result<crate::repo::tree::Tree>,
    includes: &[PathBuf],
    stack: &mut Vec<(PathBuf, Id)>,
) -> Result<()> {
    {
        let shown_dir = Path::new("/").join(&rel_dir);
        let tree = match tree {
            Ok(tree) => tree,
            Err(e @ Error::Damaged { .. }) | Err(e @ Error::Store(_)) if !matches!(&e, Error::Store(s) if s.is_transient()) =>
            {
                plan.problems.push((
                    shown_dir.display().to_string(),
                    format!("directory cannot be read: {e}"),
                ));
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        let mut previous: Option<&[u8]> = None;
        for node in &tree.nodes {
            let shown = shown_dir.join(node.name.to_os());
            if let Err(why) = check_name(&node.name.0) {
                plan.problems
                    .push((shown.display().to_string(), format!("refused: {why}")));
                continue;
            }
            if previous.is_some_and(|p| p >= node.name.0.as_slice()) {
                plan.problems.push((
                    shown.display().to_string(),
                    "refused: duplicate or unsorted name in its directory".into(),
                ));
                continue;
            }
            previous = Some(&node.name.0);
            let rel = rel_dir.join(node.name.to_os());
            let (wanted, inside) = wanted(&shown, includes);
            if !wanted {
                continue;
            }
            plan.matched |= inside;
            match &node.kind {
                NodeKind::Dir { subtree } => {
                    plan.dirs.push((rel.clone(), node.clone()));
                    stack.push((rel, *subtree));
                }
                NodeKind::File { .. } if inside => plan.files.push(PlannedFile {
                    rel,
                    shown: shown.display().to_string(),
                    node: node.clone(),
                }),
                NodeKind::Symlink { .. } if inside => plan.symlinks.push((rel, node.clone())),
                _ => {}
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_names_are_refused() {
        for bad in [&b""[..], b".", b"..", b"a/b", b"/etc", b"x\0y"] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        for good in [
            &b"a"[..],
            b"...",
            b"..a",
            "Überweisung März.csv".as_bytes(),
            &[0xff, 0xfe],
        ] {
            assert!(check_name(good).is_ok());
        }
    }

    #[test]
    fn includes_select_inside_and_above() {
        let inc = vec![PathBuf::from("/data/docs")];
        assert_eq!(wanted(Path::new("/data"), &inc), (true, false));
        assert_eq!(wanted(Path::new("/data/docs/a.txt"), &inc), (true, true));
        assert_eq!(wanted(Path::new("/data/other"), &inc), (false, false));
        assert_eq!(wanted(Path::new("/data/docsx"), &inc), (false, false));
    }
}
