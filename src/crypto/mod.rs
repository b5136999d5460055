//! Key hierarchy and authenticated encryption of stored objects.
//!
//! Every stored object gets a fresh random 256-bit salt; its AES-256-GCM subkey is
//! derived from the master key and that salt, and each encrypted piece inside the object
//! uses the piece's byte offset as its nonce. Offsets are unique within an object and
//! salts across objects, so no (key, nonce) pair can repeat however much is written.

mod id;
mod keyslot;

pub use id::{Id, ParseIdError};
pub use keyslot::{KdfParams, KeySlot, KeySlotKind, SlotSecret, read_key_file, write_new_key_file};

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{AeadInOut, KeyInit};

pub const MASTER_KEY_LEN: usize = 32;
pub const SALT_LEN: usize = 32;
pub const TAG_LEN: usize = 16;

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error(
        "authentication failed: the data was altered, truncated, swapped, or encrypted with another key"
    )]
    Authentication,
    #[error("the system random number generator failed: {0}")]
    Random(String),
    #[error("key derivation failed: {0}")]
    Kdf(String),
}

pub fn random_bytes<const N: usize>() -> Result<[u8; N], CryptoError> {
    let mut out = [0u8; N];
    getrandom::fill(&mut out).map_err(|e| CryptoError::Random(e.to_string()))?;
    Ok(out)
}

/// The repository's secret. Never stored in the clear: key slots wrap it.
#[derive(Clone)]
pub struct MasterKey([u8; MASTER_KEY_LEN]);

impl MasterKey {
    pub fn generate() -> Result<Self, CryptoError> {
        Ok(MasterKey(random_bytes()?))
    }

    pub fn from_bytes(bytes: [u8; MASTER_KEY_LEN]) -> Self {
        MasterKey(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; MASTER_KEY_LEN] {
        &self.0
    }
}

impl Drop for MasterKey {
    fn drop(&mut self) {
        self.0 = [0; MASTER_KEY_LEN];
    }
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(<secret>)")
    }
}

/// What each kind of encrypted piece is; part of the associated data so that one kind of
/// piece can never be accepted in place of another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum PieceKind {
    DataBlob = b'd',
    TreeBlob = b't',
    PackHeader = b'h',
    Index = b'i',
    Snapshot = b's',
    Lock = b'l',
    Report = b'r',
}

/// The keys every repository operation needs, derived once from the master key.
#[derive(Clone)]
pub struct RepoKeys {
    object_root: [u8; 32],
    id_key: [u8; 32],
    chunker_seed: u64,
    repo_id: Id,
}

impl RepoKeys {
    pub fn derive(master: &MasterKey, repo_id: Id) -> Self {
        let object_root =
            blake3::derive_key("firedrill 2026-11 object root key", master.as_bytes());
        let id_key = blake3::derive_key("firedrill 2026-11 chunk id key", master.as_bytes());
        let seed = blake3::derive_key("firedrill 2026-11 chunker seed", master.as_bytes());
        let mut seed8 = [0u8; 8];
        seed8.copy_from_slice(&seed[..8]);
        RepoKeys {
            object_root,
            id_key,
            chunker_seed: u64::from_le_bytes(seed8),
            repo_id,
        }
    }

    /// Chunk and tree ids: keyed so that ids reveal nothing about content to a store.
    pub fn blob_id(&self, plaintext: &[u8]) -> Id {
        Id::from(*blake3::keyed_hash(&self.id_key, plaintext).as_bytes())
    }

    /// Seeds the chunker's gear table so that chunk boundaries do not fingerprint content.
    pub fn chunker_seed(&self) -> u64 {
        self.chunker_seed
    }

    pub fn repo_id(&self) -> Id {
        self.repo_id
    }

    pub fn sealer(&self) -> Result<ObjectCipher, CryptoError> {
        let salt = random_bytes::<SALT_LEN>()?;
        Ok(self.cipher_for(&salt))
    }

    pub fn cipher_for(&self, salt: &[u8; SALT_LEN]) -> ObjectCipher {
        let mut material = [0u8; 64];
        material[..32].copy_from_slice(&self.object_root);
        material[32..].copy_from_slice(salt);
        let subkey = blake3::derive_key("firedrill 2026-11 object subkey", &material);
        let cipher = Aes256Gcm::new(&subkey.into());
        ObjectCipher {
            cipher,
            salt: *salt,
            repo_id: self.repo_id,
        }
    }
}

impl std::fmt::Debug for RepoKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RepoKeys(repo {})", self.repo_id)
    }
}

/// The cipher of one object (one salt). Pieces are sealed at their offset in the object.
pub struct ObjectCipher {
    cipher: Aes256Gcm,
    salt: [u8; SALT_LEN],
    repo_id: Id,
}

fn nonce_for(offset: u64) -> aes_gcm::Nonce<aes_gcm::aead::consts::U12> {
    let mut nonce = [0u8; 12];
    nonce[4..].copy_from_slice(&offset.to_be_bytes());
    nonce.into()
}

impl ObjectCipher {
    pub fn salt(&self) -> &[u8; SALT_LEN] {
        &self.salt
    }

    fn aad(&self, kind: PieceKind, binding: &[u8]) -> Vec<u8> {
        let mut aad = Vec::with_capacity(33 + binding.len());
        aad.extend_from_slice(self.repo_id.as_bytes());
        aad.push(kind as u8);
        aad.extend_from_slice(binding);
        aad
    }

    /// Encrypts `buf` in place and appends the tag. `offset` must be the piece's position
    /// in its object: it is the nonce, so the caller must never seal two pieces at one offset.
    pub fn seal(
        &self,
        offset: u64,
        kind: PieceKind,
        binding: &[u8],
        buf: &mut Vec<u8>,
    ) -> Result<(), CryptoError> {
        self.cipher
            .encrypt_in_place(&nonce_for(offset), &self.aad(kind, binding), buf)
            .map_err(|_| CryptoError::Authentication)
    }

    /// Decrypts a sealed piece where it lies (ciphertext then tag) and returns the
    /// plaintext part of the slice: no copy of the piece is made.
    pub fn open_slice<'a>(
        &self,
        offset: u64,
        kind: PieceKind,
        binding: &[u8],
        sealed: &'a mut [u8],
    ) -> Result<&'a mut [u8], CryptoError> {
        let body_len = sealed
            .len()
            .checked_sub(TAG_LEN)
            .ok_or(CryptoError::Authentication)?;
        let (body, tag) = sealed.split_at_mut(body_len);
        let tag = aes_gcm::Tag::try_from(&*tag).map_err(|_| CryptoError::Authentication)?;
        self.cipher
            .decrypt_inout_detached(
                &nonce_for(offset),
                &self.aad(kind, binding),
                body.into(),
                &tag,
            )
            .map_err(|_| CryptoError::Authentication)?;
        Ok(body)
    }

    pub fn open(
        &self,
        offset: u64,
        kind: PieceKind,
        binding: &[u8],
        buf: &mut Vec<u8>,
    ) -> Result<(), CryptoError> {
        self.cipher
            .decrypt_in_place(&nonce_for(offset), &self.aad(kind, binding), buf)
            .map_err(|_| CryptoError::Authentication)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn keys() -> RepoKeys {
        RepoKeys::derive(&MasterKey::from_bytes([7; 32]), Id::from([1; 32]))
    }

    proptest! {
        #[test]
        fn seal_open_round_trip(data in proptest::collection::vec(any::<u8>(), 0..4096), offset in any::<u64>()) {
            let keys = keys();
            let sealer = keys.sealer().unwrap();
            let mut buf = data.clone();
            sealer.seal(offset, PieceKind::DataBlob, b"bind", &mut buf).unwrap();
            prop_assert_eq!(buf.len(), data.len() + TAG_LEN);
            let opener = keys.cipher_for(sealer.salt());
            opener.open(offset, PieceKind::DataBlob, b"bind", &mut buf).unwrap();
            prop_assert_eq!(buf, data);
        }

        #[test]
        fn any_flipped_bit_is_detected(data in proptest::collection::vec(any::<u8>(), 1..512), bit in any::<usize>()) {
            let keys = keys();
            let sealer = keys.sealer().unwrap();
            let mut buf = data.clone();
            sealer.seal(0, PieceKind::Index, b"", &mut buf).unwrap();
            let pos = bit % (buf.len() * 8);
            buf[pos / 8] ^= 1 << (pos % 8);
            prop_assert!(keys.cipher_for(sealer.salt()).open(0, PieceKind::Index, b"", &mut buf).is_err());
        }
    }

    #[test]
    fn pieces_are_bound_to_kind_binding_offset_and_repository() {
        let keys = keys();
        let sealer = keys.sealer().unwrap();
        let mut sealed = b"secret".to_vec();
        sealer
            .seal(40, PieceKind::DataBlob, b"id-a", &mut sealed)
            .unwrap();
        let opener = keys.cipher_for(sealer.salt());
        for (offset, kind, binding) in [
            (40, PieceKind::TreeBlob, &b"id-a"[..]),
            (40, PieceKind::DataBlob, &b"id-b"[..]),
            (41, PieceKind::DataBlob, &b"id-a"[..]),
        ] {
            let mut buf = sealed.clone();
            assert!(opener.open(offset, kind, binding, &mut buf).is_err());
        }
        let other_repo = RepoKeys::derive(&MasterKey::from_bytes([7; 32]), Id::from([2; 32]));
        let mut buf = sealed.clone();
        assert!(
            other_repo
                .cipher_for(sealer.salt())
                .open(40, PieceKind::DataBlob, b"id-a", &mut buf)
                .is_err()
        );
    }

    #[test]
    fn every_sealer_gets_its_own_salt() {
        let keys = keys();
        let a = keys.sealer().unwrap();
        let b = keys.sealer().unwrap();
        assert_ne!(a.salt(), b.salt());
    }

    #[test]
    fn blob_ids_are_keyed() {
        let a = RepoKeys::derive(&MasterKey::from_bytes([1; 32]), Id::from([0; 32]));
        let b = RepoKeys::derive(&MasterKey::from_bytes([2; 32]), Id::from([0; 32]));
        assert_ne!(a.blob_id(b"same"), b.blob_id(b"same"));
        assert_ne!(
            a.blob_id(b"same"),
            Id::from(*blake3::hash(b"same").as_bytes())
        );
    }
}
