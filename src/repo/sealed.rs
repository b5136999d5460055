//! Whole-object encryption for index, snapshot, lock and report objects:
//! `FDRO | version | kind | salt | AES-GCM(zstd(JSON))`, the ciphertext sealed at its offset.

use crate::crypto::{PieceKind, RepoKeys, SALT_LEN, TAG_LEN};
use crate::error::{Error, Result};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::io::Read;

const MAGIC: &[u8; 4] = b"FDRO";
const VERSION: u8 = 1;
const PREFIX_LEN: usize = 4 + 1 + 1 + SALT_LEN;
/// Objects are small metadata; a bigger plaintext means a hostile or broken object.
const MAX_PLAINTEXT: u64 = 1 << 31;

pub fn seal<T: Serialize>(keys: &RepoKeys, kind: PieceKind, value: &T) -> Result<Vec<u8>> {
    let json =
        serde_json::to_vec(value).map_err(|e| Error::Other(format!("encoding {kind:?}: {e}")))?;
    let mut body =
        zstd::bulk::compress(&json, 3).map_err(|e| Error::Other(format!("compressing: {e}")))?;
    let cipher = keys.sealer().map_err(|e| Error::Other(e.to_string()))?;
    cipher
        .seal(PREFIX_LEN as u64, kind, &[], &mut body)
        .map_err(|e| Error::Other(e.to_string()))?;
    let mut out = Vec::with_capacity(PREFIX_LEN + body.len());
    out.extend_from_slice(MAGIC);
    out.push(VERSION);
    out.push(kind as u8);
    out.extend_from_slice(cipher.salt());
    out.extend_from_slice(&body);
    Ok(out)
}

/// Opens an object; `name` is the object's key, used in every error.
pub fn open<T: DeserializeOwned>(
    keys: &RepoKeys,
    kind: PieceKind,
    name: &str,
    bytes: &[u8],
) -> Result<T> {
    if bytes.len() < PREFIX_LEN + TAG_LEN || &bytes[..4] != MAGIC {
        return Err(Error::damaged(name, "truncated or not a firedrill object"));
    }
    if bytes[4] != VERSION {
        return Err(Error::damaged(
            name,
            format!("unknown object version {}", bytes[4]),
        ));
    }
    if bytes[5] != kind as u8 {
        return Err(Error::damaged(
            name,
            "object is of another kind than its name says (swapped?)",
        ));
    }
    let mut salt = [0u8; SALT_LEN];
    salt.copy_from_slice(&bytes[6..PREFIX_LEN]);
    let mut body = bytes[PREFIX_LEN..].to_vec();
    keys.cipher_for(&salt)
        .open(PREFIX_LEN as u64, kind, &[], &mut body)
        .map_err(|e| Error::damaged(name, e.to_string()))?;
    let mut json = Vec::new();
    zstd::stream::read::Decoder::new(body.as_slice())
        .and_then(|d| d.take(MAX_PLAINTEXT).read_to_end(&mut json))
        .map_err(|e| Error::damaged(name, format!("decompression failed: {e}")))?;
    serde_json::from_slice(&json)
        .map_err(|e| Error::damaged(name, format!("malformed content: {e}")))
}

/// The salt of a sealed object, for audits that no two objects share a subkey.
pub fn salt_of(bytes: &[u8]) -> Option<[u8; SALT_LEN]> {
    (bytes.len() >= PREFIX_LEN).then(|| {
        let mut salt = [0u8; SALT_LEN];
        salt.copy_from_slice(&bytes[6..PREFIX_LEN]);
        salt
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{Id, MasterKey};

    #[test]
    fn round_trip_and_kind_check() {
        let keys = RepoKeys::derive(&MasterKey::from_bytes([1; 32]), Id::from([2; 32]));
        let sealed = seal(&keys, PieceKind::Snapshot, &vec!["a", "b"]).unwrap();
        let back: Vec<String> = open(&keys, PieceKind::Snapshot, "snapshots/x", &sealed).unwrap();
        assert_eq!(back, vec!["a", "b"]);
        let err = open::<Vec<String>>(&keys, PieceKind::Index, "index/x", &sealed).unwrap_err();
        assert!(err.to_string().contains("index/x"));
        for cut in [0, 10, sealed.len() - 1] {
            assert!(open::<Vec<String>>(&keys, PieceKind::Snapshot, "s", &sealed[..cut]).is_err());
        }
    }
}
