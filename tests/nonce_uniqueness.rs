//! No (key, nonce) pair is ever used twice for AES-GCM.
//!
//! Every stored object (pack, index, snapshot, lock) starts with
//! `magic(4) | version(1) | kind(1) | salt(32)`, and everything inside it is sealed with the
//! AES-256-GCM subkey derived from the master key and that salt. Inside an object each
//! piece is sealed with its byte offset in the object as the nonce: a pack's blobs at
//! their offsets and its header at the offset after the last blob; an index, snapshot or
//! lock object has a single piece at offset 38.
//!
//! So if (a) no two objects share a salt, every object has its own subkey (the subkeys
//! are a keyed hash of the salt, distinct salts giving distinct keys barring a hash
//! collision), and (b) within each object the offsets of its pieces are distinct, no
//! nonce is used twice under one subkey. Together: no (key, nonce) pair repeats, however
//! many objects are written. This test checks (a) and (b) on every object of a repository
//! after two sizeable backups.

mod common;

use common::{Env, PASSWORD, files_below, random_bytes, write};
use firedrill::crypto::{Id, PieceKind, SlotSecret};
use firedrill::repo::Repository;
use firedrill::repo::index::{IndexFile, index_key};
use firedrill::repo::pack::{pack_key, read_header};
use firedrill::store::FsStore;
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;

const MIB: usize = 1 << 20;
const SALT: std::ops::Range<usize> = 6..38;

#[test]
fn every_object_has_its_own_salt_and_every_piece_its_own_offset() {
    let env = Env::new();
    env.init();
    let source = env.path("src");
    // Many random files: ~170 MiB, then ~45 MiB more for a second backup. With 1 MiB
    // packs that is over 200 packs.
    for i in 0..58 {
        let size = 2 * MIB + (i % 5) * MIB / 2 + i * 31;
        write(
            &source.join(format!("d{}", i % 7)).join(format!("f{i}.bin")),
            &random_bytes(size, 5000 + i as u64),
        );
    }
    env.backup(&source);
    for i in 58..74 {
        let size = 2 * MIB + (i % 5) * MIB / 2 + i * 31;
        write(
            &source.join("more").join(format!("f{i}.bin")),
            &random_bytes(size, 5000 + i as u64),
        );
    }
    env.backup(&source);
    let repo = env.repo();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let repo_lib = rt
        .block_on(Repository::open(
            Arc::new(FsStore::new(&repo)),
            &SlotSecret::Passphrase(PASSWORD.into()),
        ))
        .unwrap();
    // Hold a lock so that a lock object is audited too.
    let lock = rt.block_on(repo_lib.lock(false, "audit")).unwrap();

    // (a) Distinct salts across every encrypted object of every kind.
    let mut salts: HashMap<[u8; 32], PathBuf> = HashMap::new();
    let (mut packs, mut locks) = (0, 0);
    for (dir, magic) in [
        ("data", b"FDRP"),
        ("index", b"FDRO"),
        ("snapshots", b"FDRO"),
        ("locks", b"FDRO"),
    ] {
        for path in files_below(&repo.join(dir)) {
            let bytes = std::fs::read(&path).unwrap();
            assert_eq!(
                &bytes[..4],
                magic,
                "{} has no object header",
                path.display()
            );
            let salt: [u8; 32] = bytes[SALT].try_into().unwrap();
            if let Some(other) = salts.insert(salt, path.clone()) {
                panic!(
                    "{} and {} share a salt, hence an AES-GCM key",
                    path.display(),
                    other.display()
                );
            }
            match dir {
                "data" => packs += 1,
                "locks" => locks += 1,
                _ => {}
            }
        }
    }
    assert!(
        packs >= 200,
        "only {packs} packs: the test needs at least 200"
    );
    assert!(locks >= 1, "the lock object was checked");
    assert!(
        salts.len() > packs + 2,
        "index and snapshot objects were checked too"
    );

    // (b) Within each pack, distinct offsets for every sealed piece, as recorded both in
    // the index and in the pack's own header, and the header after every blob.
    rt.block_on(async {
        let mut indexed = HashSet::new();
        for id in repo_lib.index_ids().await.unwrap() {
            let file: IndexFile = repo_lib
                .load_sealed(PieceKind::Index, &index_key(&id))
                .await
                .unwrap();
            for pack in &file.packs {
                indexed.insert(pack.id);
                let path = repo.join(pack_key(&pack.id));
                let bytes = std::fs::read(&path).unwrap();
                assert_eq!(
                    bytes[SALT],
                    pack.salt,
                    "the index's salt for {} is not the pack's",
                    pack.id.short()
                );
                let mut offsets = HashSet::new();
                for blob in &pack.blobs {
                    assert!(
                        offsets.insert(blob.offset),
                        "pack {} seals two blobs at offset {} (the same nonce)",
                        pack.id.short(),
                        blob.offset
                    );
                }
                let header = read_header(repo_lib.keys(), &bytes, &pack_key(&pack.id)).unwrap();
                let header_offsets: HashSet<u64> = header.iter().map(|e| e.offset).collect();
                assert_eq!(
                    header_offsets.len(),
                    header.len(),
                    "pack {}",
                    pack.id.short()
                );
                assert_eq!(header_offsets, offsets, "pack {}", pack.id.short());
                // The header piece is sealed at its own offset, after the last blob.
                let tail = bytes.len() - 4;
                let header_len = u32::from_le_bytes(bytes[tail..].try_into().unwrap()) as u64;
                let header_offset = tail as u64 - header_len;
                assert!(
                    header
                        .iter()
                        .all(|e| e.offset + u64::from(e.length) <= header_offset),
                    "pack {}: the header overlaps a blob",
                    pack.id.short()
                );
            }
        }
        let stored: HashSet<Id> = repo_lib
            .pack_ids()
            .await
            .unwrap()
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        assert_eq!(stored, indexed, "every stored pack was checked");
        lock.release().await.unwrap();
    });
}
