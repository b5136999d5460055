//! Packs group many encrypted blobs into one stored object:
//! `FDRP | version | kind | salt | blob… | AES-GCM(header) | header length (u32 LE)`.
//! Each blob and the header are sealed at their own offset, bound to their blob id.

use crate::crypto::{Id, ObjectCipher, PieceKind, RepoKeys, SALT_LEN, TAG_LEN};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::cell::RefCell;

const MAGIC: &[u8; 4] = b"FDRP";
const VERSION: u8 = 1;
pub const PREFIX_LEN: usize = 4 + 1 + 1 + SALT_LEN;
const ENTRY_LEN: usize = 1 + 32 + 8 + 4 + 4;
/// Blobs are at most a chunk (16 MiB) or a tree; refuse anything claiming more.
pub const MAX_BLOB_LEN: u32 = 256 << 20;

const FLAG_RAW: u8 = 0;
const FLAG_ZSTD: u8 = 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BlobKind {
    Data,
    Tree,
}

impl BlobKind {
    fn piece(self) -> PieceKind {
        match self {
            BlobKind::Data => PieceKind::DataBlob,
            BlobKind::Tree => PieceKind::TreeBlob,
        }
    }
}

/// Where a blob sits in its pack. `length` counts stored bytes (flag, payload, tag).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackEntry {
    pub id: Id,
    pub kind: BlobKind,
    pub offset: u64,
    pub length: u32,
    pub raw_length: u32,
}

pub fn pack_key(id: &Id) -> String {
    let hex = id.to_hex();
    format!("data/{}/{}", &hex[..2], hex)
}

thread_local! {
    // A zstd context per thread, reused: creating one per blob costs more than
    // compressing a small blob.
    static COMPRESSORS: RefCell<Vec<(i32, zstd::bulk::Compressor<'static>)>> = const { RefCell::new(Vec::new()) };
    static DECOMPRESSOR: RefCell<Option<zstd::bulk::Decompressor<'static>>> = const { RefCell::new(None) };
}

fn compress_into(raw: &[u8], level: i32, out: &mut [u8]) -> Option<usize> {
    COMPRESSORS.with(|cell| {
        let mut all = cell.borrow_mut();
        let at = match all.iter().position(|(l, _)| *l == level) {
            Some(at) => at,
            None => {
                all.push((level, zstd::bulk::Compressor::new(level).ok()?));
                all.len() - 1
            }
        };
        all[at].1.compress_to_buffer(raw, out).ok()
    })
}

fn decompress(payload: &[u8], raw_length: usize) -> std::io::Result<Vec<u8>> {
    DECOMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            *slot = Some(zstd::bulk::Decompressor::new()?);
        }
        match slot.as_mut() {
            Some(d) => d.decompress(payload, raw_length),
            None => Err(std::io::Error::other("no zstd context")),
        }
    })
}

const PROBE_WINDOW: usize = 128 * 1024;

/// Whether a large chunk is not worth compressing: two 128 KiB windows (start and end)
/// both fail to shrink at zstd's fastest level. Random data (media, archives, encrypted
/// files) is a large share of real backups and costs as much to fail to compress as to
/// compress; a window this size still sees repeats up to 64 KiB apart, and anything
/// partly compressible at either end is compressed in full.
fn looks_incompressible(raw: &[u8]) -> bool {
    if raw.len() < 4 * PROBE_WINDOW {
        return false;
    }
    let mut scratch = vec![0u8; PROBE_WINDOW];
    [&raw[..PROBE_WINDOW], &raw[raw.len() - PROBE_WINDOW..]]
        .iter()
        .all(|window| {
            // No room to shrink by 3%: compress_into fails, which is the answer.
            let room = PROBE_WINDOW - PROBE_WINDOW / 32;
            compress_into(window, 1, &mut scratch[..room]).is_none()
        })
}

/// Compresses a blob unless that does not make it smaller, and prefixes the choice.
/// The buffer has room for the tag, so sealing it in place does not reallocate.
pub fn encode_blob(raw: &[u8], level: i32) -> Vec<u8> {
    // Only worth keeping if it saves something: bound the output below the input size.
    let limit = raw.len().saturating_sub(1);
    let mut out = vec![0u8; 1 + limit + TAG_LEN];
    if limit > 0
        && !looks_incompressible(raw)
        && let Some(n) = compress_into(raw, level, &mut out[1..1 + limit])
    {
        out[0] = FLAG_ZSTD;
        out.truncate(1 + n);
        return out;
    }
    out.truncate(1 + raw.len());
    out[0] = FLAG_RAW;
    out[1..].copy_from_slice(raw);
    out
}

/// Builds one pack in memory. Not thread-safe by design: each worker owns its own.
pub struct PackWriter {
    cipher: ObjectCipher,
    kind: BlobKind,
    buf: Vec<u8>,
    entries: Vec<PackEntry>,
}

pub struct FinishedPack {
    pub id: Id,
    pub kind: BlobKind,
    pub salt: [u8; SALT_LEN],
    pub bytes: Vec<u8>,
    pub entries: Vec<PackEntry>,
}

impl PackWriter {
    pub fn new(keys: &RepoKeys, kind: BlobKind, capacity: usize) -> Result<Self> {
        // Room for the header too, so finishing a full pack does not reallocate it.
        Self::with_buffer(keys, kind, Vec::with_capacity(capacity + 256 * 1024))
    }

    /// Builds the pack in a buffer that held an earlier pack (cleared here).
    pub fn with_buffer(keys: &RepoKeys, kind: BlobKind, mut buf: Vec<u8>) -> Result<Self> {
        let cipher = keys.sealer().map_err(|e| Error::Other(e.to_string()))?;
        buf.clear();
        buf.extend_from_slice(MAGIC);
        buf.push(VERSION);
        buf.push(kind_byte(kind));
        buf.extend_from_slice(cipher.salt());
        Ok(PackWriter {
            cipher,
            kind,
            buf,
            entries: Vec::new(),
        })
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Adds a blob already passed through [`encode_blob`].
    pub fn add(&mut self, id: Id, raw_length: u32, mut encoded: Vec<u8>) -> Result<()> {
        let offset = self.buf.len() as u64;
        self.cipher
            .seal(offset, self.kind.piece(), id.as_bytes(), &mut encoded)
            .map_err(|e| Error::Other(e.to_string()))?;
        let length =
            u32::try_from(encoded.len()).map_err(|_| Error::Other("blob too large".into()))?;
        self.buf.extend_from_slice(&encoded);
        self.entries.push(PackEntry {
            id,
            kind: self.kind,
            offset,
            length,
            raw_length,
        });
        Ok(())
    }

    pub fn finish(mut self) -> Result<FinishedPack> {
        let mut header = Vec::with_capacity(self.entries.len() * ENTRY_LEN + TAG_LEN);
        for e in &self.entries {
            header.push(kind_byte(e.kind));
            header.extend_from_slice(e.id.as_bytes());
            header.extend_from_slice(&e.offset.to_le_bytes());
            header.extend_from_slice(&e.length.to_le_bytes());
            header.extend_from_slice(&e.raw_length.to_le_bytes());
        }
        let header_offset = self.buf.len() as u64;
        self.cipher
            .seal(header_offset, PieceKind::PackHeader, &[], &mut header)
            .map_err(|e| Error::Other(e.to_string()))?;
        let header_len = u32::try_from(header.len())
            .map_err(|_| Error::Other("pack header too large".into()))?;
        self.buf.extend_from_slice(&header);
        self.buf.extend_from_slice(&header_len.to_le_bytes());
        Ok(FinishedPack {
            id: Id::of_stored(&self.buf),
            kind: self.kind,
            salt: *self.cipher.salt(),
            bytes: self.buf,
            entries: self.entries,
        })
    }
}

fn kind_byte(kind: BlobKind) -> u8 {
    match kind {
        BlobKind::Data => b'd',
        BlobKind::Tree => b't',
    }
}

fn kind_from(byte: u8) -> Option<BlobKind> {
    match byte {
        b'd' => Some(BlobKind::Data),
        b't' => Some(BlobKind::Tree),
        _ => None,
    }
}

/// The salt a pack's blobs are sealed with, from its first bytes.
pub fn salt_of(bytes: &[u8], name: &str) -> Result<[u8; SALT_LEN]> {
    if bytes.len() < PREFIX_LEN || &bytes[..4] != MAGIC || bytes[4] != VERSION {
        return Err(Error::damaged(name, "truncated or not a firedrill pack"));
    }
    let mut salt = [0u8; SALT_LEN];
    salt.copy_from_slice(&bytes[6..PREFIX_LEN]);
    Ok(salt)
}

/// Decrypts and parses the header of a whole pack held in memory.
pub fn read_header(keys: &RepoKeys, bytes: &[u8], name: &str) -> Result<Vec<PackEntry>> {
    let salt = salt_of(bytes, name)?;
    let damaged = |what: &str| Error::damaged(name, what.to_string());
    let tail = bytes
        .len()
        .checked_sub(4)
        .filter(|&t| t >= PREFIX_LEN)
        .ok_or_else(|| damaged("truncated pack"))?;
    let header_len = u32::from_le_bytes([
        bytes[tail],
        bytes[tail + 1],
        bytes[tail + 2],
        bytes[tail + 3],
    ]) as usize;
    let header_offset = tail
        .checked_sub(header_len)
        .filter(|&o| o >= PREFIX_LEN)
        .ok_or_else(|| damaged("pack header length points outside the pack (truncated?)"))?;
    let mut header = bytes[header_offset..tail].to_vec();
    keys.cipher_for(&salt)
        .open(
            header_offset as u64,
            PieceKind::PackHeader,
            &[],
            &mut header,
        )
        .map_err(|e| Error::damaged(name, format!("pack header: {e}")))?;
    if !header.len().is_multiple_of(ENTRY_LEN) {
        return Err(damaged("pack header has a partial entry"));
    }
    let mut entries = Vec::with_capacity(header.len() / ENTRY_LEN);
    for raw in header.chunks_exact(ENTRY_LEN) {
        let kind =
            kind_from(raw[0]).ok_or_else(|| damaged("pack header names an unknown blob kind"))?;
        let mut id = [0u8; 32];
        id.copy_from_slice(&raw[1..33]);
        let offset = u64::from_le_bytes(raw[33..41].try_into().unwrap_or_default());
        let length = u32::from_le_bytes(raw[41..45].try_into().unwrap_or_default());
        let raw_length = u32::from_le_bytes(raw[45..49].try_into().unwrap_or_default());
        if offset < PREFIX_LEN as u64 || offset + u64::from(length) > header_offset as u64 {
            return Err(damaged("pack header entry points outside the blob area"));
        }
        entries.push(PackEntry {
            id: Id::from(id),
            kind,
            offset,
            length,
            raw_length,
        });
    }
    Ok(entries)
}

/// Decrypts, decompresses and checks one blob given its stored bytes.
/// The keyed id of the plaintext must match: an intact but misplaced blob is refused too.
pub fn open_blob(
    keys: &RepoKeys,
    salt: &[u8; SALT_LEN],
    entry: &PackEntry,
    stored: &[u8],
    name: &str,
) -> Result<Vec<u8>> {
    let mut buf = stored.to_vec();
    open_blob_in_place(keys, &keys.cipher_for(salt), entry, &mut buf, name)
        .map(|raw| raw.into_owned())
}

/// [`open_blob`] without copying: decrypts inside the caller's buffer (a downloaded pack),
/// and an uncompressed blob is returned as a view into it.
pub fn open_blob_in_place<'a>(
    keys: &RepoKeys,
    cipher: &ObjectCipher,
    entry: &PackEntry,
    stored: &'a mut [u8],
    name: &str,
) -> Result<Cow<'a, [u8]>> {
    let what = || format!("{name} blob {}", entry.id.short());
    if stored.len() != entry.length as usize || entry.raw_length > MAX_BLOB_LEN {
        return Err(Error::damaged(
            what(),
            "stored blob length does not match the index",
        ));
    }
    let plain = cipher
        .open_slice(
            entry.offset,
            entry.kind.piece(),
            entry.id.as_bytes(),
            stored,
        )
        .map_err(|e| Error::damaged(what(), e.to_string()))?;
    let (flag, payload) = plain
        .split_first()
        .ok_or_else(|| Error::damaged(what(), "empty blob"))?;
    let raw: Cow<'a, [u8]> = match *flag {
        FLAG_RAW => Cow::Borrowed(payload),
        FLAG_ZSTD => Cow::Owned(
            decompress(payload, entry.raw_length as usize)
                .map_err(|e| Error::damaged(what(), format!("decompression failed: {e}")))?,
        ),
        other => {
            return Err(Error::damaged(
                what(),
                format!("unknown blob encoding {other}"),
            ));
        }
    };
    if raw.len() != entry.raw_length as usize || keys.blob_id(&raw) != entry.id {
        return Err(Error::damaged(what(), "content does not match its id"));
    }
    Ok(raw)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::MasterKey;
    use proptest::prelude::*;

    fn keys() -> RepoKeys {
        RepoKeys::derive(&MasterKey::from_bytes([4; 32]), Id::from([5; 32]))
    }

    proptest! {
        #[test]
        fn pack_round_trip(blobs in proptest::collection::vec(proptest::collection::vec(0u8..4, 0..3000), 0..12)) {
            let keys = keys();
            let mut writer = PackWriter::new(&keys, BlobKind::Data, 1 << 16).unwrap();
            for blob in &blobs {
                writer.add(keys.blob_id(blob), blob.len() as u32, encode_blob(blob, 3)).unwrap();
            }
            let pack = writer.finish().unwrap();
            prop_assert_eq!(pack.id, Id::of_stored(&pack.bytes));
            let entries = read_header(&keys, &pack.bytes, "p").unwrap();
            prop_assert_eq!(&entries, &pack.entries);
            for (entry, blob) in entries.iter().zip(&blobs) {
                let stored = &pack.bytes[entry.offset as usize..entry.offset as usize + entry.length as usize];
                prop_assert_eq!(&open_blob(&keys, &pack.salt, entry, stored, "p").unwrap(), blob);
            }
        }
    }

    #[test]
    fn incompressible_blobs_are_stored_raw_and_damage_is_detected() {
        let keys = keys();
        let random: Vec<u8> = (0..10_000u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        let encoded = encode_blob(&random, 3);
        let mut writer = PackWriter::new(&keys, BlobKind::Data, 1 << 16).unwrap();
        writer
            .add(keys.blob_id(&random), random.len() as u32, encoded)
            .unwrap();
        let mut pack = writer.finish().unwrap();
        let entry = pack.entries[0];
        let mid = entry.offset as usize + 100;
        pack.bytes[mid] ^= 0xff;
        let stored =
            &pack.bytes[entry.offset as usize..entry.offset as usize + entry.length as usize];
        assert!(open_blob(&keys, &pack.salt, &entry, stored, "p").is_err());
        for cut in [0, 10, pack.bytes.len() / 2, pack.bytes.len() - 1] {
            assert!(read_header(&keys, &pack.bytes[..cut], "p").is_err());
        }
    }

    fn noise(len: usize, seed: u64) -> Vec<u8> {
        let mut state = seed;
        (0..len)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (state >> 33) as u8
            })
            .collect()
    }

    #[test]
    fn the_incompressibility_probe_skips_only_what_cannot_shrink() {
        let random = noise(1 << 20, 1);
        assert_eq!(
            encode_blob(&random, 3)[0],
            FLAG_RAW,
            "random data is stored raw"
        );
        // A random 64 KiB block repeated: every window looks random, yet it compresses 16:1.
        let block = noise(64 * 1024, 2);
        let repeated: Vec<u8> = block.iter().copied().cycle().take(1 << 20).collect();
        let encoded = encode_blob(&repeated, 3);
        assert_eq!(encoded[0], FLAG_ZSTD);
        assert!(encoded.len() < repeated.len() / 8, "{}", encoded.len());
        // Random in the middle, compressible at one end: still compressed.
        let mut mixed = noise(1 << 20, 3);
        mixed[..200 * 1024].fill(b'a');
        assert_eq!(encode_blob(&mixed, 3)[0], FLAG_ZSTD);
    }

    #[test]
    fn a_blob_moved_to_another_id_is_refused() {
        let keys = keys();
        let mut writer = PackWriter::new(&keys, BlobKind::Data, 1 << 16).unwrap();
        writer
            .add(keys.blob_id(b"a"), 1, encode_blob(b"a", 3))
            .unwrap();
        let pack = writer.finish().unwrap();
        let mut entry = pack.entries[0];
        entry.id = keys.blob_id(b"b");
        let stored =
            &pack.bytes[entry.offset as usize..entry.offset as usize + entry.length as usize];
        assert!(open_blob(&keys, &pack.salt, &entry, stored, "p").is_err());
    }
}
