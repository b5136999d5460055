//! A snapshot crafted by someone who holds the key (or a repository in a compromised
//! store) must not make `restore` write outside its target: names like `..`, `a/b` or
//! `/etc`, and a symlink followed by a directory of the same name, are refused by name
//! while the benign entries are restored.

mod common;

use common::{Env, PASSWORD};
use firedrill::crypto::{Id, SlotSecret};
use firedrill::repo::Repository;
use firedrill::repo::index::{IndexFile, IndexedPack};
use firedrill::repo::pack::{BlobKind, PackWriter, encode_blob, pack_key};
use firedrill::repo::snapshot::{BackupSummary, Snapshot};
use firedrill::repo::tree::{Node, NodeKind, RawName, Tree};
use firedrill::store::{FsStore, PutMode};
use std::collections::BTreeSet;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::Arc;

const MTIME: i64 = 1_700_000_000;

fn node(name: &[u8], kind: NodeKind, mode: u32, size: u64) -> Node {
    Node {
        name: RawName(name.to_vec()),
        kind,
        mode,
        uid: 0,
        gid: 0,
        mtime: MTIME,
        mtime_nsec: 0,
        size,
        inode: 0,
    }
}

/// Collects data and tree blobs into one pack of each kind, as a backup would.
struct Builder {
    repo: Repository,
    data: PackWriter,
    trees: PackWriter,
}

impl Builder {
    fn file(&mut self, name: &[u8], content: &[u8]) -> Node {
        let id = self.repo.keys().blob_id(content);
        self.data
            .add(id, content.len() as u32, encode_blob(content, 3))
            .unwrap();
        let kind = NodeKind::File {
            content: vec![id],
            blake3: blake3::hash(content).to_hex().to_string(),
        };
        node(name, kind, 0o100644, content.len() as u64)
    }

    fn tree(&mut self, nodes: Vec<Node>) -> Id {
        let bytes = Tree { nodes }.to_bytes();
        let id = self.repo.keys().blob_id(&bytes);
        self.trees
            .add(id, bytes.len() as u32, encode_blob(&bytes, 3))
            .unwrap();
        id
    }

    fn dir(&mut self, name: &[u8], nodes: Vec<Node>) -> Node {
        let subtree = self.tree(nodes);
        node(name, NodeKind::Dir { subtree }, 0o040755, 0)
    }
}

fn names(dir: &Path) -> BTreeSet<String> {
    match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => BTreeSet::new(),
    }
}

#[test]
fn restore_refuses_hostile_names_and_writes_nothing_outside_the_target() {
    let env = Env::new();
    env.init();
    let outside = env.path("outside");
    std::fs::create_dir(&outside).unwrap();
    let marker = format!("firedrill-hostile-{}", std::process::id());
    let etc_before = names(Path::new("/etc"));
    let root_before = names(Path::new("/"));
    let etc_meta = std::fs::metadata("/etc").unwrap();

    let rt = tokio::runtime::Runtime::new().unwrap();
    let snapshot_id = rt.block_on(async {
        let repo = Repository::open(
            Arc::new(FsStore::new(env.repo())),
            &SlotSecret::Passphrase(PASSWORD.into()),
        )
        .await
        .unwrap();
        let mut b = Builder {
            data: PackWriter::new(repo.keys(), BlobKind::Data, 1 << 16).unwrap(),
            trees: PackWriter::new(repo.keys(), BlobKind::Tree, 1 << 16).unwrap(),
            repo: repo.clone(),
        };
        // `..`: a directory that would land in the target's parent.
        let escaped = b.file(b"escaped-by-dotdot.txt", b"written through ..\n");
        let dotdot = b.dir(b"..", vec![escaped]);
        // `/etc`: a directory that `target.join("/etc")` would resolve to the real /etc.
        // Its metadata copies the real /etc so that even a broken restore changes nothing
        // there but the marker file (which the test then finds and removes).
        let planted = b.file(marker.as_bytes(), b"written into /etc\n");
        let mut etc = b.dir(b"/etc", vec![planted]);
        etc.mode = etc_meta.mode();
        etc.uid = etc_meta.uid();
        etc.gid = etc_meta.gid();
        etc.mtime = etc_meta.mtime();
        etc.mtime_nsec = etc_meta.mtime_nsec() as u32;
        // `a/b`: a name with a separator.
        let slash = b.file(b"a/b", b"a name with a slash\n");
        // Benign entries.
        let good = b.file(b"good.txt", b"benign content\n");
        let inner = b.file(b"inner.txt", b"benign nested content\n");
        let sub = b.dir(b"sub", vec![inner]);
        // `link` → outside, then a directory also named `link` whose file would be
        // written through the symlink if both were accepted.
        let link = node(
            b"link",
            NodeKind::Symlink {
                target: RawName(outside.as_os_str().as_encoded_bytes().to_vec()),
            },
            0o120777,
            0,
        );
        let through = b.file(b"through-link.txt", b"written through the symlink\n");
        let link_dir = b.dir(b"link", vec![through]);
        let root = b.tree(vec![dotdot, etc, slash, good, link, link_dir, sub]);

        let mut index = IndexFile::default();
        for writer in [b.data, b.trees] {
            let pack = writer.finish().unwrap();
            repo.store()
                .put(
                    &pack_key(&pack.id),
                    pack.bytes.clone().into(),
                    PutMode::CreateOnly,
                )
                .await
                .unwrap();
            index.packs.push(IndexedPack::from_finished(&pack));
        }
        repo.save_index(&index).await.unwrap();
        repo.save_snapshot(&Snapshot {
            time: jiff::Timestamp::now(),
            tree: root,
            parent: None,
            paths: vec!["/".into()],
            host: "attacker".into(),
            user: "mallory".into(),
            tags: vec![],
            program_version: "0".into(),
            summary: BackupSummary::default(),
        })
        .await
        .unwrap()
    });

    let parent = env.path("parent");
    std::fs::create_dir(&parent).unwrap();
    let check_nothing_outside = |target: &Path| {
        let leaked = Path::new("/etc").join(&marker);
        if leaked.exists() {
            let _ = std::fs::remove_file(&leaked);
            panic!("restore wrote {} outside its target", leaked.display());
        }
        // Other processes may touch / and /etc; only what a restore would write counts.
        for (dir, before) in [("/etc", &etc_before), ("/", &root_before)] {
            let new: Vec<String> = names(Path::new(dir))
                .difference(before)
                .filter(|n| n.starts_with(".firedrill-") || n.contains(&marker))
                .cloned()
                .collect();
            assert!(new.is_empty(), "restore wrote {new:?} into {dir}");
        }
        assert_eq!(
            names(&parent),
            BTreeSet::from([target.file_name().unwrap().to_string_lossy().into_owned()]),
            "restore wrote into the target's parent"
        );
        assert!(
            names(&outside).is_empty(),
            "restore wrote through the symlink"
        );
    };

    // Human output: each hostile entry named in a message.
    let target = parent.join("target");
    let run = env.run(&[
        "restore",
        &snapshot_id.to_hex(),
        "--target",
        target.to_str().unwrap(),
    ]);
    check_nothing_outside(&target);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert_ne!(run.code, 0, "hostile entries must make the restore fail");
    for name in ["..", "a/b", "/etc", "link"] {
        assert!(
            run.stderr
                .lines()
                .any(|l| l.contains(name) && l.to_lowercase().contains("refused")),
            "no message refusing {name:?}: {}",
            run.stderr
        );
    }
    // The benign entries are restored.
    assert_eq!(
        std::fs::read(target.join("good.txt")).unwrap(),
        b"benign content\n"
    );
    assert_eq!(
        std::fs::read(target.join("sub/inner.txt")).unwrap(),
        b"benign nested content\n"
    );
    assert!(
        !target.join("a").exists(),
        "`a/b` was restored as a nested path"
    );
    assert!(!target.join("etc").exists());
    let meta = std::fs::symlink_metadata(target.join("link"));
    assert!(
        meta.is_err() || !meta.unwrap().is_dir() || names(&target.join("link")).is_empty(),
        "the duplicate `link` directory was restored"
    );
    std::fs::remove_dir_all(&target).unwrap();

    // JSON output: the same refusals, by path.
    let run = env.run(&[
        "--json",
        "restore",
        &snapshot_id.to_hex(),
        "--target",
        target.to_str().unwrap(),
    ]);
    check_nothing_outside(&target);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let report = run.json();
    let damaged: Vec<(String, String)> = report["damaged"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["path"].as_str().unwrap().to_string(),
                p["problem"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for name in ["..", "a/b", "/etc", "link"] {
        assert!(
            damaged
                .iter()
                .any(|(path, problem)| path.ends_with(name) && !problem.is_empty()),
            "{name:?} not reported: {report:#}"
        );
    }
    assert!(
        !damaged
            .iter()
            .any(|(path, _)| path.contains("good.txt") || path.contains("sub")),
        "benign entries reported: {report:#}"
    );
    assert_eq!(report["files_restored"], 2, "{report:#}");
}
