//! The repository format on top of a [`Store`]: config, key slots, packs, index,
//! trees and snapshots, and the locks that keep writers and prune apart.

pub mod config;
pub mod held_locks;
pub mod index;
pub mod lock;
pub mod pack;
pub mod sealed;
pub mod snapshot;
pub mod tree;

use crate::crypto::{Id, KdfParams, KeySlot, MasterKey, PieceKind, RepoKeys, SlotSecret};
use crate::error::{Error, Result};
use crate::store::{PutMode, Store, StoreError, list_all};
use config::{CONFIG_KEY, ChunkerParams, FORMAT_VERSION, RepoConfig};
use index::{IndexFile, MasterIndex, index_key};
use pack::{BlobKind, pack_key};
use snapshot::{Snapshot, snapshot_key};
use std::sync::Arc;
use tree::Tree;

/// Choices made once, at `init`, and recorded in the config.
#[derive(Clone, Debug)]
pub struct InitOptions {
    pub chunker: ChunkerParams,
    pub pack_size: u64,
    pub compression_level: i32,
    pub kdf: KdfParams,
}

impl Default for InitOptions {
    fn default() -> Self {
        InitOptions {
            chunker: ChunkerParams::default(),
            pack_size: 16 << 20,
            compression_level: 3,
            kdf: KdfParams::default(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Repository {
    store: Arc<dyn Store>,
    config: RepoConfig,
    keys: RepoKeys,
    master: MasterKey,
    /// The key slot this handle was opened with.
    slot_id: Id,
}

pub fn key_slot_key(id: &Id) -> String {
    format!("keys/{id}")
}

/// Parses an object key of the form `prefix/<64 hex>` (or `data/xx/<64 hex>`).
pub fn id_from_key(key: &str) -> Option<Id> {
    key.rsplit('/').next()?.parse().ok()
}

impl Repository {
    pub async fn init(
        store: Arc<dyn Store>,
        secret: &SlotSecret,
        options: &InitOptions,
    ) -> Result<Self> {
        let config = RepoConfig {
            format_version: FORMAT_VERSION,
            id: Id::from(
                crate::crypto::random_bytes::<32>().map_err(|e| Error::Other(e.to_string()))?,
            ),
            created: jiff::Timestamp::now(),
            chunker: options.chunker,
            pack_size: options.pack_size,
            compression_level: options.compression_level,
        };
        config.validate()?;
        match store.head(CONFIG_KEY).await {
            Ok(_) => {
                return Err(Error::Usage(format!(
                    "{} already holds a repository",
                    store.describe()
                )));
            }
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e.into()),
        }
        let master = MasterKey::generate().map_err(|e| Error::Other(e.to_string()))?;
        let slot = KeySlot::wrap(&master, &config.id, secret, options.kdf)
            .map_err(|e| Error::Other(e.to_string()))?;
        let slot_id = put_slot(store.as_ref(), &slot).await?;
        // The config goes last and create-only: a repository exists once it is readable,
        // and two concurrent inits cannot both win.
        store
            .put(CONFIG_KEY, config.to_bytes().into(), PutMode::CreateOnly)
            .await
            .map_err(|e| match e {
                StoreError::AlreadyExists { store, .. } => {
                    Error::Usage(format!("{store} already holds a repository"))
                }
                other => other.into(),
            })?;
        let keys = RepoKeys::derive(&master, config.id);
        Ok(Repository {
            store,
            config,
            keys,
            master,
            slot_id,
        })
    }

    pub async fn read_config(store: &dyn Store) -> Result<RepoConfig> {
        let bytes = store.get(CONFIG_KEY).await.map_err(|e| match e {
            StoreError::NotFound { store, .. } => Error::Usage(format!(
                "{store} is not a firedrill repository (no config object); create one with `firedrill init`"
            )),
            other => other.into(),
        })?;
        RepoConfig::from_bytes(&bytes, &store.describe())
    }

    pub async fn open(store: Arc<dyn Store>, secret: &SlotSecret) -> Result<Self> {
        let config = Self::read_config(store.as_ref()).await?;
        let (slots, damaged) = load_slots(store.as_ref()).await?;
        let mut tried = 0;
        for (id, slot) in &slots {
            if slot.kind != secret.kind() {
                continue;
            }
            tried += 1;
            let secret_ref = secret.clone();
            let slot = slot.clone();
            let repo_id = config.id;
            let opened =
                tokio::task::spawn_blocking(move || slot.unwrap_key(&repo_id, &secret_ref))
                    .await
                    .map_err(|e| Error::Other(e.to_string()))?;
            match opened {
                Ok(master) => {
                    let keys = RepoKeys::derive(&master, config.id);
                    return Ok(Repository {
                        store,
                        config,
                        keys,
                        master,
                        slot_id: *id,
                    });
                }
                Err(crate::crypto::CryptoError::Authentication) => continue,
                Err(e) => return Err(Error::damaged(key_slot_key(id), e.to_string())),
            }
        }
        if let Some((id, e)) = damaged.first() {
            return Err(Error::damaged(
                key_slot_key(id),
                format!(
                    "this key slot is damaged ({e}) and no intact slot opens with the given {}; \
                     restore the slot from a replica or open with another key",
                    secret.kind()
                ),
            ));
        }
        Err(Error::WrongKey(format!(
            "wrong {}: none of the {tried} {} key slot(s) of {} opens with it",
            secret.kind(),
            secret.kind(),
            store.describe()
        )))
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn config(&self) -> &RepoConfig {
        &self.config
    }

    pub fn keys(&self) -> &RepoKeys {
        &self.keys
    }

    pub fn slot_id(&self) -> Id {
        self.slot_id
    }

    pub fn describe(&self) -> String {
        self.store.describe()
    }

    /// The same repository read through another store, such as a replica: objects are
    /// named and sealed alike everywhere, so the keys are the same.
    pub fn with_store(&self, store: Arc<dyn Store>) -> Repository {
        Repository {
            store,
            ..self.clone()
        }
    }

    pub async fn key_slots(&self) -> Result<Vec<(Id, KeySlot)>> {
        Ok(load_slots(self.store.as_ref()).await?.0)
    }

    pub async fn add_key_slot(&self, secret: &SlotSecret, kdf: KdfParams) -> Result<Id> {
        let slot = KeySlot::wrap(&self.master, &self.config.id, secret, kdf)
            .map_err(|e| Error::Other(e.to_string()))?;
        put_slot(self.store.as_ref(), &slot).await
    }

    pub async fn remove_key_slot(&self, id: &Id) -> Result<()> {
        let slots = self.key_slots().await?;
        if !slots.iter().any(|(s, _)| s == id) {
            return Err(Error::Usage(format!(
                "no key slot {id} in {}",
                self.describe()
            )));
        }
        if slots.len() <= 1 {
            return Err(Error::Usage(
                "refusing to remove the last key slot: the repository would be unreadable".into(),
            ));
        }
        if *id == self.slot_id {
            return Err(Error::Usage(
                "refusing to remove the key slot this command was opened with; open with another key to remove it".into(),
            ));
        }
        self.store.delete(&key_slot_key(id)).await?;
        Ok(())
    }

    /// Stores a sealed object under `prefix/<BLAKE3 of its bytes>`.
    pub async fn save_sealed<T: serde::Serialize>(
        &self,
        kind: PieceKind,
        prefix: &str,
        value: &T,
    ) -> Result<Id> {
        let bytes = sealed::seal(&self.keys, kind, value)?;
        let id = Id::of_stored(&bytes);
        self.store
            .put(&format!("{prefix}/{id}"), bytes.into(), PutMode::Overwrite)
            .await?;
        Ok(id)
    }

    /// Loads a sealed object and checks that its bytes still hash to its name.
    pub async fn load_sealed<T: serde::de::DeserializeOwned>(
        &self,
        kind: PieceKind,
        key: &str,
    ) -> Result<T> {
        let bytes = self.store.get(key).await?;
        check_stored_hash(key, &bytes)?;
        sealed::open(&self.keys, kind, key, &bytes)
    }

    pub async fn save_index(&self, file: &IndexFile) -> Result<Id> {
        self.save_sealed(PieceKind::Index, "index", file).await
    }

    pub async fn index_ids(&self) -> Result<Vec<Id>> {
        ids_under(self.store.as_ref(), "index/").await
    }

    /// The index from every readable index object, and the damaged ones: restore and
    /// backup carry on with what is readable (their losses are reported per file).
    pub async fn load_index_tolerant(&self) -> Result<(MasterIndex, Vec<(Id, Error)>)> {
        let ids = self.index_ids().await?;
        let mut master = MasterIndex::default();
        let loaded = crate::concurrency::map_bounded(ids.clone(), 8, |id| async move {
            self.load_sealed::<IndexFile>(PieceKind::Index, &index_key(&id))
                .await
        })
        .await;
        let mut damaged = Vec::new();
        for (id, file) in ids.iter().zip(loaded) {
            match file {
                Ok(file) => master.add_file(&file),
                Err(e @ Error::Damaged { .. }) => damaged.push((*id, e)),
                Err(e) => return Err(e),
            }
        }
        master.index_ids = ids;
        Ok((master, damaged))
    }

    /// The whole index; fails on any damaged index object (prune and verify need all).
    pub async fn load_index(&self) -> Result<MasterIndex> {
        let (master, damaged) = self.load_index_tolerant().await?;
        match damaged.into_iter().next() {
            Some((_, e)) => Err(e),
            None => Ok(master),
        }
    }

    pub async fn snapshot_ids(&self) -> Result<Vec<Id>> {
        ids_under(self.store.as_ref(), "snapshots/").await
    }

    pub async fn load_snapshot(&self, id: &Id) -> Result<Snapshot> {
        self.load_sealed(PieceKind::Snapshot, &snapshot_key(id))
            .await
    }

    /// Every readable snapshot, oldest first, and the damaged ones with their errors:
    /// one damaged old snapshot must not block listing, `latest` or new backups.
    pub async fn readable_snapshots(&self) -> Result<(Vec<(Id, Snapshot)>, Vec<(Id, Error)>)> {
        let ids = self.snapshot_ids().await?;
        let loaded = crate::concurrency::map_bounded(ids.clone(), 8, |id| async move {
            self.load_snapshot(&id).await
        })
        .await;
        let (mut ok, mut damaged) = (Vec::new(), Vec::new());
        for (id, snap) in ids.into_iter().zip(loaded) {
            match snap {
                Ok(s) => ok.push((id, s)),
                Err(e @ Error::Damaged { .. }) => damaged.push((id, e)),
                Err(e) => return Err(e),
            }
        }
        ok.sort_by(|a, b| a.1.time.cmp(&b.1.time).then(a.0.cmp(&b.0)));
        Ok((ok, damaged))
    }

    /// Every snapshot, oldest first; fails on any damaged one (for forget and prune).
    pub async fn snapshots(&self) -> Result<Vec<(Id, Snapshot)>> {
        let ids = self.snapshot_ids().await?;
        let loaded = crate::concurrency::map_bounded(ids.clone(), 8, |id| async move {
            self.load_snapshot(&id).await
        })
        .await;
        let mut out = Vec::with_capacity(ids.len());
        for (id, snap) in ids.into_iter().zip(loaded) {
            out.push((id, snap?));
        }
        out.sort_by(|a, b| a.1.time.cmp(&b.1.time).then(a.0.cmp(&b.0)));
        Ok(out)
    }

    pub async fn save_snapshot(&self, snapshot: &Snapshot) -> Result<Id> {
        self.save_sealed(PieceKind::Snapshot, "snapshots", snapshot)
            .await
    }

    /// Resolves `latest`, a full id or a unique prefix to one snapshot.
    pub async fn find_snapshot(&self, spec: &str) -> Result<(Id, Snapshot)> {
        if spec == "latest" {
            return self.readable_snapshots().await?.0.pop().ok_or_else(|| {
                Error::Usage(format!("{} holds no snapshots yet", self.describe()))
            });
        }
        if spec.len() < 4 || !spec.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(Error::Usage(format!(
                "{spec:?} is not a snapshot id: give `latest`, or at least 4 hex digits of an id from `firedrill snapshots`"
            )));
        }
        let spec_lower = spec.to_ascii_lowercase();
        let matches: Vec<Id> = self
            .snapshot_ids()
            .await?
            .into_iter()
            .filter(|id| id.to_hex().starts_with(&spec_lower))
            .collect();
        match matches.as_slice() {
            [id] => Ok((*id, self.load_snapshot(id).await?)),
            [] => Err(Error::Usage(format!(
                "no snapshot matches {spec:?} in {}",
                self.describe()
            ))),
            many => Err(Error::Usage(format!(
                "{spec:?} is ambiguous: it matches {} snapshots ({}); give more digits",
                many.len(),
                many.iter()
                    .map(|id| id.short())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    /// Reads one blob through the index: a ranged get of just its bytes.
    pub async fn read_blob(&self, index: &MasterIndex, id: &Id) -> Result<Vec<u8>> {
        let (pack, entry) = index.entry_for(id).ok_or_else(|| {
            Error::damaged(
                format!("blob {}", id.short()),
                "not in any index: its pack is missing",
            )
        })?;
        let key = pack_key(&pack.id);
        let stored = self
            .store
            .get_range(&key, entry.offset, u64::from(entry.length))
            .await
            .map_err(|e| match e {
                StoreError::NotFound { .. } => Error::damaged(&key, "pack is missing"),
                StoreError::Other { detail, .. } if detail.contains("beyond the object's end") => {
                    Error::damaged(&key, "pack is truncated")
                }
                other => other.into(),
            })?;
        let keys = self.keys.clone();
        tokio::task::spawn_blocking(move || {
            pack::open_blob(&keys, &pack.salt, &entry, &stored, &key)
        })
        .await
        .map_err(|e| Error::Other(e.to_string()))?
    }

    /// Loads many trees with a bounded number of reads in flight; results in input order.
    pub async fn load_trees(
        &self,
        index: &MasterIndex,
        ids: impl IntoIterator<Item = Id>,
    ) -> Vec<Result<Tree>> {
        crate::concurrency::map_bounded(
            ids,
            16,
            |id| async move { self.load_tree(index, &id).await },
        )
        .await
    }

    pub async fn load_tree(&self, index: &MasterIndex, id: &Id) -> Result<Tree> {
        let bytes = self.read_blob(index, id).await?;
        Tree::from_bytes(&bytes)
            .map_err(|e| Error::damaged(format!("tree {}", id.short()), format!("malformed: {e}")))
    }

    pub async fn pack_ids(&self) -> Result<Vec<(Id, u64)>> {
        let mut out = Vec::new();
        for meta in list_all(self.store.as_ref(), "data/").await? {
            if let Some(id) = id_from_key(&meta.key) {
                out.push((id, meta.size));
            }
        }
        Ok(out)
    }

    pub fn blob_kind_key(kind: BlobKind, id: &Id) -> String {
        match kind {
            BlobKind::Data => format!("data blob {}", id.short()),
            BlobKind::Tree => format!("tree {}", id.short()),
        }
    }
}

pub fn check_stored_hash(key: &str, bytes: &[u8]) -> Result<()> {
    match id_from_key(key) {
        Some(expected) if Id::of_stored(bytes) != expected => Err(Error::damaged(
            key,
            "stored bytes do not match the object's name (corrupted or truncated)",
        )),
        _ => Ok(()),
    }
}

async fn ids_under(store: &dyn Store, prefix: &str) -> Result<Vec<Id>> {
    Ok(list_all(store, prefix)
        .await?
        .iter()
        .filter_map(|m| id_from_key(&m.key))
        .collect())
}

async fn put_slot(store: &dyn Store, slot: &KeySlot) -> Result<Id> {
    let bytes = serde_json::to_vec_pretty(slot).map_err(|e| Error::Other(e.to_string()))?;
    let id = Id::of_stored(&bytes);
    store
        .put(&key_slot_key(&id), bytes.into(), PutMode::CreateOnly)
        .await?;
    Ok(id)
}

/// Intact slots, and the damaged ones with why: one broken slot must not lock out the others.
async fn load_slots(store: &dyn Store) -> Result<(Vec<(Id, KeySlot)>, Vec<(Id, String)>)> {
    let mut slots = Vec::new();
    let mut damaged = Vec::new();
    for id in ids_under(store, "keys/").await? {
        let key = key_slot_key(&id);
        let bytes = store.get(&key).await?;
        let parsed = check_stored_hash(&key, &bytes).and_then(|()| {
            serde_json::from_slice::<KeySlot>(&bytes)
                .map_err(|e| Error::damaged(&key, format!("malformed key slot: {e}")))
        });
        match parsed {
            Ok(slot) => slots.push((id, slot)),
            Err(Error::Damaged { detail, .. }) => damaged.push((id, detail)),
            Err(e) => return Err(e),
        }
    }
    if slots.is_empty() && !damaged.is_empty() {
        let names: Vec<String> = damaged
            .iter()
            .map(|(id, why)| format!("{}: {why}", key_slot_key(id)))
            .collect();
        return Err(Error::damaged(
            format!("{}/keys", store.describe()),
            format!("every key slot is damaged: {}", names.join("; ")),
        ));
    }
    if slots.is_empty() {
        return Err(Error::damaged(
            format!("{}/keys", store.describe()),
            "the repository has no key slots",
        ));
    }
    Ok((slots, damaged))
}
