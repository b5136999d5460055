//! Index objects tell where each blob lives (pack, offset, length), so that neither
//! backup nor restore has to read pack headers.

use super::pack::{BlobKind, FinishedPack, PackEntry};
use crate::crypto::{Id, SALT_LEN};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexedPack {
    pub id: Id,
    pub kind: BlobKind,
    #[serde(with = "hex_salt")]
    pub salt: [u8; SALT_LEN],
    pub size: u64,
    pub blobs: Vec<IndexedBlob>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexedBlob {
    pub id: Id,
    pub offset: u64,
    pub length: u32,
    pub raw_length: u32,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexFile {
    pub packs: Vec<IndexedPack>,
}

pub fn index_key(id: &Id) -> String {
    format!("index/{id}")
}

impl IndexedPack {
    pub fn from_finished(pack: &FinishedPack) -> Self {
        IndexedPack {
            id: pack.id,
            kind: pack.kind,
            salt: pack.salt,
            size: pack.bytes.len() as u64,
            blobs: pack
                .entries
                .iter()
                .map(|e| IndexedBlob {
                    id: e.id,
                    offset: e.offset,
                    length: e.length,
                    raw_length: e.raw_length,
                })
                .collect(),
        }
    }

    pub fn entry(&self, blob: &IndexedBlob) -> PackEntry {
        PackEntry {
            id: blob.id,
            kind: self.kind,
            offset: blob.offset,
            length: blob.length,
            raw_length: blob.raw_length,
        }
    }
}

/// Where one blob is, resolved against the in-memory index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlobLocation {
    pub pack: u32,
    pub offset: u64,
    pub length: u32,
    pub raw_length: u32,
}

/// All index objects merged: blob id → location, plus the packs they point into.
#[derive(Default, Debug)]
pub struct MasterIndex {
    packs: Vec<PackSummary>,
    pack_slots: HashMap<Id, u32>,
    blobs: HashMap<Id, BlobLocation>,
    /// The index objects this was loaded from (prune replaces them).
    pub index_ids: Vec<Id>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackSummary {
    pub id: Id,
    pub kind: BlobKind,
    pub salt: [u8; SALT_LEN],
    pub size: u64,
}

impl MasterIndex {
    pub fn add_pack(&mut self, pack: &IndexedPack) {
        let slot = *self.pack_slots.entry(pack.id).or_insert_with(|| {
            self.packs.push(PackSummary {
                id: pack.id,
                kind: pack.kind,
                salt: pack.salt,
                size: pack.size,
            });
            (self.packs.len() - 1) as u32
        });
        for blob in &pack.blobs {
            self.blobs.entry(blob.id).or_insert(BlobLocation {
                pack: slot,
                offset: blob.offset,
                length: blob.length,
                raw_length: blob.raw_length,
            });
        }
    }

    pub fn add_file(&mut self, file: &IndexFile) {
        for pack in &file.packs {
            self.add_pack(pack);
        }
    }

    pub fn contains(&self, id: &Id) -> bool {
        self.blobs.contains_key(id)
    }

    pub fn lookup(&self, id: &Id) -> Option<(&PackSummary, BlobLocation)> {
        let loc = *self.blobs.get(id)?;
        Some((&self.packs[loc.pack as usize], loc))
    }

    pub fn pack(&self, slot: u32) -> &PackSummary {
        &self.packs[slot as usize]
    }

    pub fn packs(&self) -> &[PackSummary] {
        &self.packs
    }

    pub fn has_pack(&self, id: &Id) -> bool {
        self.pack_slots.contains_key(id)
    }

    pub fn blob_count(&self) -> usize {
        self.blobs.len()
    }

    pub fn blobs(&self) -> impl Iterator<Item = (&Id, &BlobLocation)> {
        self.blobs.iter()
    }

    pub fn entry_for(&self, id: &Id) -> Option<(PackSummary, PackEntry)> {
        let (pack, loc) = self.lookup(id)?;
        Some((
            pack.clone(),
            PackEntry {
                id: *id,
                kind: pack.kind,
                offset: loc.offset,
                length: loc.length,
                raw_length: loc.raw_length,
            },
        ))
    }
}

mod hex_salt {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(salt: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(salt))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let text = String::deserialize(d)?;
        let mut out = [0u8; 32];
        hex::decode_to_slice(&text, &mut out).map_err(serde::de::Error::custom)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn index_json_round_trip_and_lookup(n_packs in 1usize..5, n_blobs in 0usize..20, seed in any::<u8>()) {
            let mut file = IndexFile::default();
            for p in 0..n_packs {
                let blobs = (0..n_blobs)
                    .map(|b| IndexedBlob { id: Id::from([seed ^ (p as u8), b as u8, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), offset: 38 + b as u64 * 10, length: 10, raw_length: 7 })
                    .collect();
                file.packs.push(IndexedPack { id: Id::from([p as u8; 32]), kind: BlobKind::Data, salt: [seed; 32], size: 1000, blobs });
            }
            let json = serde_json::to_vec(&file).unwrap();
            let back: IndexFile = serde_json::from_slice(&json).unwrap();
            prop_assert_eq!(&back, &file);
            let mut master = MasterIndex::default();
            master.add_file(&back);
            for pack in &file.packs {
                for blob in &pack.blobs {
                    let (summary, loc) = master.lookup(&blob.id).unwrap();
                    prop_assert_eq!(summary.id, pack.id);
                    prop_assert_eq!(loc.offset, blob.offset);
                }
            }
        }
    }
}
