use super::layout::{
    ARCHIVE_PHOTOS, BOARD_REPORT, BOARD_REPORT_COPY, CONTRACT, CONTRACT_V1, CUSTOMERS, DEEP_NOTES,
    DUMP, EMPTY, KIB, LEDGER, MIB, TRANSFERS,
};
use super::*;
use std::sync::atomic::{AtomicU64, Ordering};

/// A fresh path under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let path = std::env::temp_dir().join(format!(
            "firedrill-sample-data-{name}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&path);
        TempDir(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Node {
    File { bytes: Vec<u8>, mtime: SystemTime },
    // Directory times are only pinned on Unix.
    Dir { mtime: Option<SystemTime> },
    Link(PathBuf),
}

fn snapshot(root: &Path) -> BTreeMap<String, Node> {
    fn walk(dir: &Path, prefix: &str, out: &mut BTreeMap<String, Node>) {
        for entry in fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().into_string().unwrap();
            let rel = format!("{prefix}{name}");
            let meta = fs::symlink_metadata(entry.path()).unwrap();
            let node = if meta.file_type().is_symlink() {
                Node::Link(fs::read_link(entry.path()).unwrap())
            } else if meta.is_dir() {
                walk(&entry.path(), &format!("{rel}/"), out);
                Node::Dir {
                    mtime: cfg!(unix).then(|| meta.modified().unwrap()),
                }
            } else {
                Node::File {
                    bytes: fs::read(entry.path()).unwrap(),
                    mtime: meta.modified().unwrap(),
                }
            };
            out.insert(rel, node);
        }
    }
    let mut out = BTreeMap::new();
    walk(root, "", &mut out);
    out
}

fn file_bytes(tree: &BTreeMap<String, Node>, path: &str) -> Vec<u8> {
    match tree.get(path) {
        Some(Node::File { bytes, .. }) => bytes.clone(),
        other => panic!("{path}: expected a file, found {other:?}"),
    }
}

fn spec(total_bytes: u64, seed: u64) -> SampleSpec {
    SampleSpec { total_bytes, seed }
}

#[test]
fn same_spec_gives_identical_trees() {
    let (a, b) = (TempDir::new("det-a"), TempDir::new("det-b"));
    let stats_a = generate(a.path(), &spec(4 * MIB, 7)).unwrap();
    let stats_b = generate(b.path(), &spec(4 * MIB, 7)).unwrap();
    assert_eq!(stats_a, stats_b);
    let (tree_a, tree_b) = (snapshot(a.path()), snapshot(b.path()));
    assert_eq!(
        tree_a.keys().collect::<Vec<_>>(),
        tree_b.keys().collect::<Vec<_>>()
    );
    for (path, node) in &tree_a {
        assert!(tree_b.get(path) == Some(node), "{path} differs");
    }
    // Not all stamped with one time either.
    let mtimes: BTreeSet<_> = tree_a
        .values()
        .filter_map(|n| match n {
            Node::File { mtime, .. } => Some(*mtime),
            _ => None,
        })
        .collect();
    assert!(mtimes.len() > 10);
}

#[test]
fn another_seed_gives_other_content() {
    let (a, b) = (TempDir::new("seed-a"), TempDir::new("seed-b"));
    generate(a.path(), &spec(MIB, 1)).unwrap();
    generate(b.path(), &spec(MIB, 2)).unwrap();
    let (tree_a, tree_b) = (snapshot(a.path()), snapshot(b.path()));
    assert_ne!(file_bytes(&tree_a, LEDGER), file_bytes(&tree_b, LEDGER));
    assert_ne!(file_bytes(&tree_a, DUMP), file_bytes(&tree_b, DUMP));
}

#[test]
fn total_size_is_close_to_requested() {
    for total in [4 * MIB, 32 * MIB] {
        let dir = TempDir::new("size");
        let stats = generate(dir.path(), &spec(total, 42)).unwrap();
        let tree = snapshot(dir.path());
        let on_disk: u64 = tree
            .values()
            .map(|n| match n {
                Node::File { bytes, .. } => bytes.len() as u64,
                _ => 0,
            })
            .sum();
        assert_eq!(stats.bytes, on_disk);
        assert!(
            on_disk.abs_diff(total) <= total / 10,
            "{on_disk} bytes for {total} requested"
        );
        let count = |pred: fn(&Node) -> bool| tree.values().filter(|n| pred(n)).count() as u64;
        assert_eq!(stats.files, count(|n| matches!(n, Node::File { .. })));
        assert_eq!(stats.dirs, count(|n| matches!(n, Node::Dir { .. })));
        assert_eq!(stats.symlinks, count(|n| matches!(n, Node::Link(_))));
    }
}

#[test]
fn size_is_exact_even_when_tiny() {
    for total in [0, 1, 7, 1_000, 100_000, 3 * MIB + 17] {
        let dir = TempDir::new("exact");
        let stats = generate(dir.path(), &spec(total, 3)).unwrap();
        assert_eq!(stats.bytes, total);
    }
}

#[test]
fn tree_has_duplicates_links_and_awkward_names() {
    let dir = TempDir::new("features");
    let stats = generate(dir.path(), &spec(4 * MIB, 11)).unwrap();
    let tree = snapshot(dir.path());

    // Exact duplicates.
    let photo_copy = tree
        .keys()
        .find(|k| k.starts_with(ARCHIVE_PHOTOS) && k.ends_with(".jpg") && !k.contains("(edited)"))
        .unwrap();
    let name = photo_copy.rsplit('/').next().unwrap();
    let photo = file_bytes(&tree, &format!("images/photos/{name}"));
    assert!(photo.len() > 64 * KIB as usize);
    assert_eq!(file_bytes(&tree, photo_copy), photo);
    assert_eq!(
        file_bytes(&tree, BOARD_REPORT_COPY),
        file_bytes(&tree, BOARD_REPORT)
    );

    // Near duplicates: same length, a few bytes changed in the middle.
    let edited = tree.keys().find(|k| k.contains("(edited)")).unwrap();
    let original = edited.rsplit('/').next().unwrap().replace(" (edited)", "");
    for (copy, source) in [
        (edited.as_str(), format!("images/photos/{original}")),
        (CONTRACT_V1, CONTRACT.to_string()),
    ] {
        let (a, b) = (file_bytes(&tree, copy), file_bytes(&tree, &source));
        assert_eq!(a.len(), b.len(), "{copy}");
        let diffs: Vec<usize> = (0..a.len()).filter(|&i| a[i] != b[i]).collect();
        assert!(
            !diffs.is_empty() && diffs.len() <= 24,
            "{copy}: {}",
            diffs.len()
        );
        let (first, last) = (diffs[0], diffs[diffs.len() - 1]);
        assert!(first >= a.len() / 2 && last < a.len() / 2 + 24, "{copy}");
    }

    assert_eq!(file_bytes(&tree, EMPTY), b"");
    let transfers = file_bytes(&tree, TRANSFERS);
    assert!(transfers.starts_with("Buchungstag;".as_bytes()));
    assert!(
        dir.path()
            .join("documents/finance/Überweisung März 2026.csv")
            .is_file()
    );
    assert!(
        dir.path()
            .join("documents/hr/Employee Handbook (draft).md")
            .is_file()
    );

    let depth = DEEP_NOTES.split('/').count() - 1;
    assert!(depth >= 6);
    assert!(matches!(
        tree.get(parent_of(DEEP_NOTES)),
        Some(Node::Dir { .. })
    ));
    assert!(!file_bytes(&tree, DEEP_NOTES).is_empty());

    if cfg!(unix) {
        assert_eq!(stats.symlinks, 1);
        assert_eq!(
            tree.get(SYMLINK),
            Some(&Node::Link(PathBuf::from(SYMLINK_TARGET)))
        );
        let via_link = fs::read(dir.path().join(SYMLINK)).unwrap();
        assert_eq!(via_link, file_bytes(&tree, LATEST_LOG));
        assert!(!via_link.is_empty());
    }
}

#[test]
fn text_is_text_and_media_is_noise() {
    let dir = TempDir::new("kinds");
    generate(dir.path(), &spec(2 * MIB, 5)).unwrap();
    let tree = snapshot(dir.path());
    for (path, node) in &tree {
        let Node::File { bytes, .. } = node else {
            continue;
        };
        if path.starts_with("documents/") && !bytes.is_empty() {
            let text = std::str::from_utf8(bytes).unwrap_or_else(|e| panic!("{path}: {e}"));
            assert!(text.ends_with('\n'), "{path} does not end in a newline");
        }
        if path.starts_with("images/") {
            // Random bytes: every byte value shows up about equally often.
            let mut counts = [0u64; 256];
            for &b in bytes {
                counts[b as usize] += 1;
            }
            let expected = bytes.len() as u64 / 256;
            assert!(
                counts.iter().all(|&c| c.abs_diff(expected) < expected / 4),
                "{path} does not look random"
            );
        }
    }
    let customers = file_bytes(&tree, CUSTOMERS);
    assert!(customers.starts_with(b"[\n  {") && customers.ends_with(b"}\n]\n"));
}

#[test]
fn refuses_a_non_empty_directory_without_touching_it() {
    let dir = TempDir::new("busy");
    fs::create_dir_all(dir.path().join("keep")).unwrap();
    fs::write(dir.path().join("keep/precious.txt"), b"do not lose me").unwrap();
    let before = snapshot(dir.path());

    let err = generate(dir.path(), &spec(MIB, 1)).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
    assert!(err.to_string().contains(&dir.path().display().to_string()));
    assert_eq!(snapshot(dir.path()), before);
}

#[test]
fn refuses_a_path_that_is_a_file() {
    let dir = TempDir::new("file");
    fs::create_dir_all(dir.path()).unwrap();
    let file = dir.path().join("not-a-dir");
    fs::write(&file, b"x").unwrap();
    let err = generate(&file, &spec(MIB, 1)).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
    assert!(err.to_string().contains(&file.display().to_string()));
    assert_eq!(fs::read(&file).unwrap(), b"x");
}

#[test]
fn accepts_an_empty_or_missing_directory() {
    let empty = TempDir::new("empty");
    fs::create_dir_all(empty.path()).unwrap();
    assert_eq!(
        generate(empty.path(), &spec(256 * KIB, 1)).unwrap().bytes,
        256 * KIB
    );
    let missing = TempDir::new("missing");
    let nested = missing.path().join("a/b");
    assert_eq!(
        generate(&nested, &spec(256 * KIB, 1)).unwrap().bytes,
        256 * KIB
    );
}
