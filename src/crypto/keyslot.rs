//! Key slots: each wraps the master key under a key-encryption key made from a
//! passphrase (Argon2id) or a key file. Adding or removing a slot never touches data.

use super::{CryptoError, MASTER_KEY_LEN, MasterKey, random_bytes};
use crate::crypto::Id;
use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{AeadInOut, KeyInit};
use serde::{Deserialize, Serialize};
use std::io;
use std::path::Path;

const KEY_FILE_HEADER: &str = "firedrill key file v1";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeySlotKind {
    Passphrase,
    KeyFile,
}

impl std::fmt::Display for KeySlotKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            KeySlotKind::Passphrase => "passphrase",
            KeySlotKind::KeyFile => "key file",
        })
    }
}

/// Argon2id cost, stored in each passphrase slot so it can be raised later.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Default for KdfParams {
    fn default() -> Self {
        KdfParams {
            memory_kib: 64 * 1024,
            iterations: 3,
            parallelism: 1,
        }
    }
}

impl KdfParams {
    /// A slot read from a store is outside input: refuse costs that would exhaust memory.
    fn check(&self) -> Result<(), CryptoError> {
        if self.memory_kib < 8 * 1024 || self.memory_kib > 4 * 1024 * 1024 {
            return Err(CryptoError::Kdf(format!(
                "memory cost {} KiB outside 8 MiB..4 GiB",
                self.memory_kib
            )));
        }
        if self.iterations == 0
            || self.iterations > 64
            || self.parallelism == 0
            || self.parallelism > 64
        {
            return Err(CryptoError::Kdf(
                "iterations or parallelism outside 1..64".into(),
            ));
        }
        Ok(())
    }
}

#[derive(Clone)]
pub enum SlotSecret {
    Passphrase(String),
    KeyFile([u8; 32]),
}

impl SlotSecret {
    pub fn kind(&self) -> KeySlotKind {
        match self {
            SlotSecret::Passphrase(_) => KeySlotKind::Passphrase,
            SlotSecret::KeyFile(_) => KeySlotKind::KeyFile,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct KeySlot {
    pub kind: KeySlotKind,
    pub created: jiff::Timestamp,
    pub host: String,
    pub user: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kdf: Option<KdfParams>,
    salt: String,
    wrapped: String,
}

fn slot_aad(repo_id: &Id, kind: KeySlotKind) -> Vec<u8> {
    let mut aad = b"firedrill key slot v1".to_vec();
    aad.extend_from_slice(repo_id.as_bytes());
    aad.push(kind as u8);
    aad
}

fn kek(
    secret: &SlotSecret,
    kdf: Option<KdfParams>,
    salt: &[u8; 32],
) -> Result<[u8; 32], CryptoError> {
    match secret {
        SlotSecret::Passphrase(pass) => {
            let params = kdf
                .ok_or_else(|| CryptoError::Kdf("passphrase slot without KDF parameters".into()))?;
            params.check()?;
            let argon_params = argon2::Params::new(
                params.memory_kib,
                params.iterations,
                params.parallelism,
                Some(32),
            )
            .map_err(|e| CryptoError::Kdf(e.to_string()))?;
            let argon = argon2::Argon2::new(
                argon2::Algorithm::Argon2id,
                argon2::Version::V0x13,
                argon_params,
            );
            let mut out = [0u8; 32];
            argon
                .hash_password_into(pass.as_bytes(), salt, &mut out)
                .map_err(|e| CryptoError::Kdf(e.to_string()))?;
            Ok(out)
        }
        SlotSecret::KeyFile(bytes) => {
            let mut material = [0u8; 64];
            material[..32].copy_from_slice(bytes);
            material[32..].copy_from_slice(salt);
            Ok(blake3::derive_key(
                "firedrill 2026-11 key file slot",
                &material,
            ))
        }
    }
}

impl KeySlot {
    pub fn wrap(
        master: &MasterKey,
        repo_id: &Id,
        secret: &SlotSecret,
        kdf: KdfParams,
    ) -> Result<KeySlot, CryptoError> {
        let kind = secret.kind();
        let kdf = (kind == KeySlotKind::Passphrase).then_some(kdf);
        let salt = random_bytes::<32>()?;
        let kek = kek(secret, kdf, &salt)?;
        // Each slot has a fresh salt, hence a fresh key-encryption key used exactly once.
        let cipher = Aes256Gcm::new(&kek.into());
        let mut buf = master.as_bytes().to_vec();
        cipher
            .encrypt_in_place(&[0u8; 12].into(), &slot_aad(repo_id, kind), &mut buf)
            .map_err(|_| CryptoError::Authentication)?;
        Ok(KeySlot {
            kind,
            created: jiff::Timestamp::now(),
            host: crate::host::hostname(),
            user: crate::host::username(),
            kdf,
            salt: hex::encode(salt),
            wrapped: hex::encode(buf),
        })
    }

    /// Err(Authentication) means the secret does not open this slot.
    pub fn unwrap_key(&self, repo_id: &Id, secret: &SlotSecret) -> Result<MasterKey, CryptoError> {
        if secret.kind() != self.kind {
            return Err(CryptoError::Authentication);
        }
        let mut salt = [0u8; 32];
        hex::decode_to_slice(&self.salt, &mut salt).map_err(|_| CryptoError::Authentication)?;
        let mut buf = hex::decode(&self.wrapped).map_err(|_| CryptoError::Authentication)?;
        let kek = kek(secret, self.kdf, &salt)?;
        let cipher = Aes256Gcm::new(&kek.into());
        cipher
            .decrypt_in_place(&[0u8; 12].into(), &slot_aad(repo_id, self.kind), &mut buf)
            .map_err(|_| CryptoError::Authentication)?;
        let bytes: [u8; MASTER_KEY_LEN] =
            buf.try_into().map_err(|_| CryptoError::Authentication)?;
        Ok(MasterKey::from_bytes(bytes))
    }
}

/// Reads a key file made by [`write_new_key_file`].
pub fn read_key_file(path: &Path) -> io::Result<[u8; 32]> {
    let text = std::fs::read_to_string(path)?;
    let mut lines = text.lines();
    let bad = || {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{} is not a firedrill key file", path.display()),
        )
    };
    if lines.next().map(str::trim) != Some(KEY_FILE_HEADER) {
        return Err(bad());
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(lines.next().unwrap_or("").trim(), &mut out).map_err(|_| bad())?;
    Ok(out)
}

/// Creates a new key file readable by its owner only; refuses to overwrite one.
pub fn write_new_key_file(path: &Path) -> io::Result<[u8; 32]> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let secret = random_bytes::<32>().map_err(|e| io::Error::other(e.to_string()))?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    writeln!(file, "{KEY_FILE_HEADER}\n{}", hex::encode(secret))?;
    file.sync_all()?;
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHEAP: KdfParams = KdfParams {
        memory_kib: 8 * 1024,
        iterations: 1,
        parallelism: 1,
    };

    #[test]
    fn passphrase_slot_opens_only_with_its_passphrase() {
        let master = MasterKey::generate().unwrap();
        let repo = Id::from([3; 32]);
        let slot = KeySlot::wrap(
            &master,
            &repo,
            &SlotSecret::Passphrase("correct horse".into()),
            CHEAP,
        )
        .unwrap();
        let opened = slot
            .unwrap_key(&repo, &SlotSecret::Passphrase("correct horse".into()))
            .unwrap();
        assert_eq!(opened.as_bytes(), master.as_bytes());
        assert!(
            slot.unwrap_key(&repo, &SlotSecret::Passphrase("wrong".into()))
                .is_err()
        );
        assert!(
            slot.unwrap_key(
                &Id::from([4; 32]),
                &SlotSecret::Passphrase("correct horse".into())
            )
            .is_err()
        );
    }

    #[test]
    fn key_file_slot_round_trip_and_file_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("repo.key");
        let secret = write_new_key_file(&path).unwrap();
        assert!(
            write_new_key_file(&path).is_err(),
            "never overwrites a key file"
        );
        assert_eq!(read_key_file(&path).unwrap(), secret);
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let master = MasterKey::generate().unwrap();
        let repo = Id::from([5; 32]);
        let slot = KeySlot::wrap(
            &master,
            &repo,
            &SlotSecret::KeyFile(secret),
            KdfParams::default(),
        )
        .unwrap();
        assert!(slot.kdf.is_none());
        assert_eq!(
            slot.unwrap_key(&repo, &SlotSecret::KeyFile(secret))
                .unwrap()
                .as_bytes(),
            master.as_bytes()
        );
        assert!(
            slot.unwrap_key(&repo, &SlotSecret::KeyFile([0; 32]))
                .is_err()
        );
    }

    #[test]
    fn hostile_kdf_costs_are_refused() {
        let master = MasterKey::generate().unwrap();
        let repo = Id::from([3; 32]);
        let mut slot =
            KeySlot::wrap(&master, &repo, &SlotSecret::Passphrase("p".into()), CHEAP).unwrap();
        slot.kdf = Some(KdfParams {
            memory_kib: u32::MAX,
            iterations: 1,
            parallelism: 1,
        });
        assert!(matches!(
            slot.unwrap_key(&repo, &SlotSecret::Passphrase("p".into())),
            Err(CryptoError::Kdf(_))
        ));
    }
}
