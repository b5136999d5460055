//! Damage one stored object of each kind and check what a user relies on: `verify` names
//! the damaged object and what depends on it, and `restore` brings back every intact file
//! byte for byte while naming exactly the files it could not restore.

mod common;

use common::{Env, PASSWORD, random_bytes, restored_root, temp_files, write};
use firedrill::crypto::{Id, PieceKind, SlotSecret};
use firedrill::repo::Repository;
use firedrill::repo::index::{IndexFile, MasterIndex, index_key};
use firedrill::repo::pack::{BlobKind, PackEntry, pack_key};
use firedrill::repo::snapshot::snapshot_key;
use firedrill::repo::tree::NodeKind;
use firedrill::store::FsStore;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

const MIB: usize = 1 << 20;

/// A repository holding one backup of `src/{alpha,beta,gamma}/…`, several files per
/// directory, each bigger than a pack, so damage to one pack or tree hits few files.
struct Fixture {
    env: Env,
    source: PathBuf,
    snapshot: Id,
    /// Every file of the snapshot, by its path in the snapshot (= its source path), with
    /// its chunk ids.
    files: BTreeMap<String, Vec<Id>>,
    /// Every directory of the snapshot, by path, with its tree blob id.
    dirs: BTreeMap<String, Id>,
    index: MasterIndex,
    index_files: Vec<(Id, IndexFile)>,
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().expect("tokio runtime")
}

async fn open(repo: &Path) -> Repository {
    Repository::open(
        Arc::new(FsStore::new(repo)),
        &SlotSecret::Passphrase(PASSWORD.into()),
    )
    .await
    .expect("open the repository")
}

fn fixture(files_per_dir: usize, file_size: usize, staged: bool) -> Fixture {
    let env = Env::new();
    env.init();
    let source = env.path("src");
    let mut seed = 100;
    for dir in ["alpha", "beta", "gamma"] {
        for i in 0..files_per_dir {
            seed += 1;
            let data = random_bytes(file_size + i * 4099, seed);
            write(&source.join(dir).join(format!("f{i}.bin")), &data);
        }
        write(
            &source.join(dir).join("small.txt"),
            format!("a small file in {dir}\n").as_bytes(),
        );
        if staged && dir == "alpha" {
            // A first backup of `alpha` alone: its data and tree are in their own packs,
            // listed by their own index object.
            env.backup(&source);
        }
    }
    let out = env.backup(&source);
    let snapshot: Id = out["snapshot"]
        .as_str()
        .expect("snapshot id")
        .parse()
        .unwrap();

    let rt = runtime();
    let (files, dirs, index, index_files) = rt.block_on(async {
        let repo = open(&env.repo()).await;
        let index = repo.load_index().await.unwrap();
        let mut index_files = Vec::new();
        for id in repo.index_ids().await.unwrap() {
            let file = repo
                .load_sealed::<IndexFile>(PieceKind::Index, &index_key(&id))
                .await
                .unwrap();
            index_files.push((id, file));
        }
        let snap = repo.load_snapshot(&snapshot).await.unwrap();
        let (mut files, mut dirs) = (BTreeMap::new(), BTreeMap::new());
        let mut stack = vec![(PathBuf::from("/"), snap.tree)];
        while let Some((dir, id)) = stack.pop() {
            dirs.insert(dir.display().to_string(), id);
            for node in repo.load_tree(&index, &id).await.unwrap().nodes {
                let path = dir.join(node.name.to_os());
                match node.kind {
                    NodeKind::Dir { subtree } => stack.push((path, subtree)),
                    NodeKind::File { content, .. } => {
                        files.insert(path.display().to_string(), content);
                    }
                    NodeKind::Symlink { .. } => {}
                }
            }
        }
        (files, dirs, index, index_files)
    });
    assert_eq!(
        files.len(),
        3 * (files_per_dir + 1),
        "fixture files: {files:?}"
    );
    Fixture {
        env,
        source,
        snapshot,
        files,
        dirs,
        index,
        index_files,
    }
}

/// 3 directories × 3 files of ~1.5 MiB: about 14 data packs.
fn small_fixture() -> Fixture {
    fixture(3, 3 * MIB / 2, false)
}

impl Fixture {
    fn entry(&self, blob: &Id) -> (Id, BlobKind, PackEntry) {
        let (pack, entry) = self.index.entry_for(blob).expect("blob in the index");
        (pack.id, pack.kind, entry)
    }

    fn pack_path(&self, pack: &Id) -> PathBuf {
        self.env.repo().join(pack_key(pack))
    }

    /// Files with at least one chunk for which `lost` is true.
    fn files_where(&self, lost: impl Fn(&Id) -> bool) -> BTreeSet<String> {
        self.files
            .iter()
            .filter(|(_, blobs)| blobs.iter().any(&lost))
            .map(|(path, _)| path.clone())
            .collect()
    }

    fn users_of_pack(&self, pack: &Id) -> BTreeSet<String> {
        self.files_where(|blob| self.entry(blob).0 == *pack)
    }

    /// A data pack with at least three blobs, and the blob in its middle.
    fn data_pack_and_middle_blob(&self) -> (Id, PackEntry) {
        let mut by_pack: BTreeMap<Id, Vec<PackEntry>> = BTreeMap::new();
        for blobs in self.files.values() {
            for blob in blobs {
                let (pack, kind, entry) = self.entry(blob);
                assert_eq!(kind, BlobKind::Data);
                by_pack.entry(pack).or_default().push(entry);
            }
        }
        let (pack, mut entries) = by_pack
            .into_iter()
            .find(|(_, e)| e.len() >= 3)
            .expect("a data pack with at least three blobs");
        entries.sort_by_key(|e| e.offset);
        entries.dedup();
        let middle = entries[entries.len() / 2];
        let bytes = std::fs::read(self.pack_path(&pack)).unwrap();
        assert_eq!(bytes[5], b'd', "byte 5 of a data pack is its kind");
        (pack, middle)
    }

    fn dir(&self, name: &str) -> String {
        self.source.join(name).display().to_string()
    }
}

fn flip_byte(path: &Path, offset: u64) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[offset as usize] ^= 0x55;
    std::fs::write(path, bytes).unwrap();
}

/// Runs `verify` (with `--read-data` if asked) and returns its JSON report; damage must
/// be found (exit 1).
fn verify_finds_damage(env: &Env, read_data: bool) -> Value {
    let mut args = vec!["--json", "verify"];
    if read_data {
        args.push("--read-data");
    }
    let run = env.run(&args);
    assert!(
        !run.stderr.contains("panicked"),
        "verify panicked: {}",
        run.stderr
    );
    let run = run.code(1);
    let report = run.json();
    assert!(
        report["damage"].as_array().is_some_and(|d| !d.is_empty()),
        "exit 1 but no damage listed: {report:#}"
    );
    report
}

/// The damage entry naming `object`, with context on failure.
fn damage_for<'a>(report: &'a Value, object: &str) -> &'a Value {
    report["damage"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["object"] == object)
        .unwrap_or_else(|| panic!("verify does not name {object}: {report:#}"))
}

/// `affects` names the snapshot and at least one of `paths`.
fn assert_affects(damage: &Value, snapshot: &Id, paths: &BTreeSet<String>) {
    let affects: Vec<&str> = damage["affects"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    assert!(
        affects.iter().any(|a| a.contains(&snapshot.short())),
        "affects does not name snapshot {}: {damage:#}",
        snapshot.short()
    );
    assert!(
        affects
            .iter()
            .any(|a| paths.iter().any(|p| a.contains(p.as_str()))),
        "affects names none of the paths that depend on the object ({paths:?}): {damage:#}"
    );
}

/// Whether `path` or one of the directories above it is in `damaged`.
fn covered(path: &str, damaged: &BTreeSet<String>) -> bool {
    Path::new(path)
        .ancestors()
        .any(|a| a.to_str().is_some_and(|a| damaged.contains(a)))
}

fn blake3_of(path: &Path) -> String {
    let mut hasher = blake3::Hasher::new();
    hasher
        .update_reader(std::fs::File::open(path).unwrap())
        .unwrap();
    hasher.finalize().to_hex().to_string()
}

/// Restores `spec` and checks the outcome against the damage done:
/// - every path in `must` (or a directory above it) is reported in `damaged`;
/// - every path reported is in `may` (it depends on the damaged object);
/// - every file not reported (nor below a reported directory) is restored byte-identical,
///   and every reported one is absent (no half-restored file under its final name);
/// - no temporary files are left; exit 1 if anything is reported, 0 otherwise.
///
/// Returns the set of reported paths.
fn restore_and_check(
    fx: &Fixture,
    spec: &str,
    must: &BTreeSet<String>,
    may: &BTreeSet<String>,
) -> BTreeSet<String> {
    let target = fx.env.path(&format!("restore-{}", rand_suffix()));
    let run = fx.env.run(&[
        "--json",
        "restore",
        spec,
        "--target",
        target.to_str().unwrap(),
    ]);
    assert!(
        !run.stderr.contains("panicked"),
        "restore panicked: {}",
        run.stderr
    );
    let report = run.json();
    let damaged: BTreeSet<String> = report["damaged"]
        .as_array()
        .unwrap_or_else(|| {
            panic!(
                "restore gave up instead of restoring the intact files (exit {}): {}\n{}",
                run.code, run.stdout, run.stderr
            )
        })
        .iter()
        .map(|p| p["path"].as_str().expect("damaged path").to_string())
        .collect();
    for path in must {
        assert!(
            covered(path, &damaged),
            "{path} is damaged but restore does not report it: {report:#}"
        );
    }
    for path in &damaged {
        assert!(
            may.contains(path),
            "restore reports {path} as damaged but it does not depend on the damaged object: {report:#}"
        );
    }
    for path in fx.files.keys() {
        let restored = restored_root(&target, Path::new(path));
        if covered(path, &damaged) {
            assert!(
                std::fs::symlink_metadata(&restored).is_err(),
                "{path} is reported damaged but something was left at {}",
                restored.display()
            );
        } else {
            assert!(
                restored.is_file(),
                "intact file {path} was not restored: {report:#}"
            );
            assert_eq!(
                blake3_of(&restored),
                blake3_of(Path::new(path)),
                "{path} restored with different content"
            );
        }
    }
    let temps = temp_files(&target);
    assert!(temps.is_empty(), "temporary files left behind: {temps:?}");
    let expected_code = if damaged.is_empty() { 0 } else { 1 };
    assert_eq!(
        run.code, expected_code,
        "exit code does not match the report: {report:#}\n{}",
        run.stderr
    );
    damaged
}

fn rand_suffix() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    N.fetch_add(1, Ordering::Relaxed).to_string()
}

#[test]
fn a_flipped_byte_in_a_data_pack_is_found_and_only_its_files_are_lost() {
    let fx = small_fixture();
    let (pack, blob) = fx.data_pack_and_middle_blob();
    flip_byte(
        &fx.pack_path(&pack),
        blob.offset + u64::from(blob.length) / 2,
    );
    let lost = fx.files_where(|b| *b == blob.id);
    assert!(!lost.is_empty());

    let report = verify_finds_damage(&fx.env, true);
    assert_affects(
        damage_for(&report, &pack_key(&pack)),
        &fx.snapshot,
        &fx.users_of_pack(&pack),
    );
    restore_and_check(&fx, "latest", &lost, &lost);
}

#[test]
fn a_truncated_data_pack_is_found_by_plain_verify_and_only_its_files_are_lost() {
    let fx = small_fixture();
    let (pack, blob) = fx.data_pack_and_middle_blob();
    let cut = blob.offset + u64::from(blob.length) / 2;
    let path = fx.pack_path(&pack);
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(cut)
        .unwrap();
    let users = fx.users_of_pack(&pack);
    // Files with a chunk at or after the cut have lost data; files whose chunks in this
    // pack all end before it may be restored or reported.
    let lost = fx.files_where(|b| {
        let (p, _, e) = fx.entry(b);
        p == pack && e.offset + u64::from(e.length) > cut
    });
    assert!(!lost.is_empty());

    for read_data in [false, true] {
        let report = verify_finds_damage(&fx.env, read_data);
        let damage = damage_for(&report, &pack_key(&pack));
        assert_affects(damage, &fx.snapshot, &users);
    }
    restore_and_check(&fx, "latest", &lost, &users);
}

#[test]
fn a_deleted_data_pack_is_found_by_plain_verify_and_only_its_files_are_lost() {
    let fx = small_fixture();
    let (pack, _) = fx.data_pack_and_middle_blob();
    std::fs::remove_file(fx.pack_path(&pack)).unwrap();
    let users = fx.users_of_pack(&pack);

    for read_data in [false, true] {
        let report = verify_finds_damage(&fx.env, read_data);
        let damage = damage_for(&report, &pack_key(&pack));
        assert!(
            damage["problem"]
                .as_str()
                .unwrap()
                .to_lowercase()
                .contains("missing"),
            "{damage:#}"
        );
        assert_affects(damage, &fx.snapshot, &users);
    }
    restore_and_check(&fx, "latest", &users, &users);
}

#[test]
fn a_flipped_byte_in_a_tree_loses_only_that_directory() {
    let fx = small_fixture();
    let beta = fx.dir("beta");
    let tree = fx.dirs[&beta];
    let (pack, kind, entry) = fx.entry(&tree);
    assert_eq!(kind, BlobKind::Tree);
    let path = fx.pack_path(&pack);
    assert_eq!(
        std::fs::read(&path).unwrap()[5],
        b't',
        "byte 5 of a tree pack is its kind"
    );
    flip_byte(&path, entry.offset + u64::from(entry.length) / 2);

    // Structure checks read every tree: the damaged one is found without --read-data.
    let report = verify_finds_damage(&fx.env, false);
    assert!(
        report["damage"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d.to_string().contains(&tree.short())),
        "plain verify does not name tree {}: {report:#}",
        tree.short()
    );
    let report = verify_finds_damage(&fx.env, true);
    let dirs: BTreeSet<String> = fx.dirs.keys().filter(|d| *d != "/").cloned().collect();
    assert_affects(damage_for(&report, &pack_key(&pack)), &fx.snapshot, &dirs);

    let only_beta = BTreeSet::from([beta.clone()]);
    let damaged = restore_and_check(&fx, "latest", &only_beta, &only_beta);
    assert_eq!(damaged, only_beta);
}

#[test]
fn a_flipped_byte_in_an_index_object_is_found_and_the_rest_restores() {
    // Two backups, the first of `alpha` alone: two index objects, the first listing the
    // packs of `alpha`'s data and tree only.
    let fx = fixture(3, 3 * MIB / 2, true);
    assert_eq!(fx.index_files.len(), 2, "one index object per backup");
    let alpha = fx.dir("alpha");
    let alpha_pack = fx.entry(&fx.dirs[&alpha]).0;
    let (damaged_id, damaged_file) = fx
        .index_files
        .iter()
        .find(|(_, f)| f.packs.iter().any(|p| p.id == alpha_pack))
        .expect("the index object of the first backup");
    let path = fx.env.repo().join(index_key(damaged_id));
    let len = std::fs::metadata(&path).unwrap().len();
    flip_byte(&path, len / 2);
    // What depends on packs that no intact index object lists any more.
    let unlisted: BTreeSet<Id> = damaged_file
        .packs
        .iter()
        .map(|p| p.id)
        .filter(|id| {
            !fx.index_files
                .iter()
                .filter(|(i, _)| i != damaged_id)
                .any(|(_, f)| f.packs.iter().any(|p| p.id == *id))
        })
        .collect();
    let mut affected = fx.files_where(|b| unlisted.contains(&fx.entry(b).0));
    affected.extend(
        fx.dirs
            .iter()
            .filter(|(_, tree)| unlisted.contains(&fx.entry(tree).0))
            .map(|(dir, _)| dir.clone()),
    );
    assert!(affected.contains(&alpha), "{affected:?}");
    assert!(
        !affected
            .iter()
            .any(|p| covered(&fx.dir("beta"), &BTreeSet::from([p.clone()]))),
        "the fixture should keep `beta` independent of the first index: {affected:?}"
    );

    for read_data in [false, true] {
        let report = verify_finds_damage(&fx.env, read_data);
        damage_for(&report, &index_key(damaged_id));
    }
    // The packs themselves are intact: a restore that recovers their locations from the
    // pack headers may restore everything; otherwise it reports what it cannot locate.
    // Either way, everything else (`beta`, `gamma`) must be restored.
    restore_and_check(&fx, "latest", &BTreeSet::new(), &affected);
}

/// Two snapshots of the same tree; the older one's object is then damaged.
fn two_snapshots_older_damaged() -> (Fixture, Id) {
    let fx = small_fixture();
    let second: Id = fx.env.backup(&fx.source)["snapshot"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_ne!(second, fx.snapshot);
    let path = fx.env.repo().join(snapshot_key(&fx.snapshot));
    let len = std::fs::metadata(&path).unwrap().len();
    flip_byte(&path, len / 2);
    (fx, second)
}

#[test]
fn a_flipped_byte_in_a_snapshot_object_is_found_and_other_snapshots_restore() {
    let (fx, intact) = two_snapshots_older_damaged();
    for read_data in [false, true] {
        let report = verify_finds_damage(&fx.env, read_data);
        damage_for(&report, &snapshot_key(&fx.snapshot));
    }

    // Restoring the damaged snapshot fails, naming it; nothing is left in the target.
    let target = fx.env.path("restore-damaged");
    let run = fx.env.run(&[
        "restore",
        &fx.snapshot.to_hex(),
        "--target",
        target.to_str().unwrap(),
    ]);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    let run = run.code(1);
    assert!(
        run.stderr.contains(&fx.snapshot.short()),
        "the error does not name the damaged snapshot: {}",
        run.stderr
    );
    assert!(temp_files(&target).is_empty());

    // The other snapshot, by id, restores completely.
    restore_and_check(
        &fx,
        &intact.to_hex()[..12],
        &BTreeSet::new(),
        &BTreeSet::new(),
    );
}

#[test]
fn a_damaged_old_snapshot_does_not_block_restore_latest_nor_new_backups() {
    let (fx, _) = two_snapshots_older_damaged();
    restore_and_check(&fx, "latest", &BTreeSet::new(), &BTreeSet::new());
    let run = fx
        .env
        .run(&["--json", "backup", fx.source.to_str().unwrap()]);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    run.ok();
}

/// A small repository with one snapshot, for the key and config tests.
fn small_repo() -> (Env, PathBuf) {
    let env = Env::new();
    env.init();
    let source = env.path("src");
    write(&source.join("a.txt"), b"hello");
    write(&source.join("b.bin"), &random_bytes(100_000, 7));
    env.backup(&source);
    (env, source)
}

fn slot_ids(env: &Env) -> Vec<String> {
    std::fs::read_dir(env.repo().join("keys"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect()
}

/// Rewrites a key slot so that it is no longer valid JSON.
fn break_slot(env: &Env, id: &str) {
    let path = env.repo().join("keys").join(id);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(serde_json::from_str::<Value>(&text).is_ok());
    let broken = format!("{{\"kind\": [[[ {}", &text[text.len() / 2..]);
    std::fs::write(&path, broken).unwrap();
}

#[test]
fn with_two_key_slots_one_broken_the_other_still_opens() {
    let (env, source) = small_repo();
    let first = slot_ids(&env);
    assert_eq!(first.len(), 1);
    let added = env
        .cmd()
        .env("FIREDRILL_NEW_PASSWORD", "second passphrase")
        .args([
            "--json",
            "key",
            "add",
            "--kdf-memory-mib",
            "8",
            "--kdf-iterations",
            "1",
        ])
        .output()
        .unwrap();
    let added = common::Run::from(added).ok().json();
    let second = added["added"].as_str().unwrap().to_string();
    assert_ne!(second, first[0]);
    break_slot(&env, &first[0]);

    // The intact slot opens the repository and the data restores.
    let with_second = |args: &[&str]| -> common::Run {
        env.cmd()
            .env("FIREDRILL_PASSWORD", "second passphrase")
            .args(args)
            .output()
            .unwrap()
            .into()
    };
    let target = env.path("restored");
    let run = with_second(&["restore", "latest", "--target", target.to_str().unwrap()]);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    run.ok();
    common::assert_same_tree(&source, &restored_root(&target, &source));

    // The broken slot's passphrase fails with an error naming the damaged slot.
    let run = env.run(&["snapshots"]);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert!(
        [1, 2].contains(&run.code),
        "exit {}: {}",
        run.code,
        run.stderr
    );
    assert!(
        run.stderr.contains(&first[0][..8]),
        "the error does not name the damaged slot {}: {}",
        &first[0][..8],
        run.stderr
    );
}

#[test]
fn a_broken_only_key_slot_gives_a_clear_error() {
    let (env, _) = small_repo();
    let ids = slot_ids(&env);
    assert_eq!(ids.len(), 1);
    break_slot(&env, &ids[0]);
    let target = env.path("restored");
    for args in [
        &["snapshots"][..],
        &["verify"],
        &["restore", "latest", "--target", target.to_str().unwrap()],
    ] {
        let run = env.run(args);
        assert!(!run.stderr.contains("panicked"), "{args:?}: {}", run.stderr);
        assert!(
            [1, 2].contains(&run.code),
            "{args:?}: exit {}: {}",
            run.code,
            run.stderr
        );
        assert!(
            run.stderr.contains(&ids[0][..8]),
            "{args:?}: the error does not name the key slot {}: {}",
            &ids[0][..8],
            run.stderr
        );
    }
    assert!(!target.exists(), "restore touched the target");
}

#[test]
fn a_garbage_config_gives_a_clear_error() {
    let (env, source) = small_repo();
    std::fs::write(env.repo().join("config"), b"\x00\x01 this is not json {{{").unwrap();
    let target = env.path("restored");
    for args in [
        &["snapshots"][..],
        &["verify", "--read-data"],
        &["backup", source.to_str().unwrap()],
        &["restore", "latest", "--target", target.to_str().unwrap()],
    ] {
        let run = env.run(args);
        assert!(!run.stderr.contains("panicked"), "{args:?}: {}", run.stderr);
        assert!(
            [1, 2].contains(&run.code),
            "{args:?}: exit {}: {}",
            run.code,
            run.stderr
        );
        assert!(
            run.stderr.contains("config"),
            "{args:?}: the error does not name the config: {}",
            run.stderr
        );
    }
    assert!(!target.exists(), "restore touched the target");
}
