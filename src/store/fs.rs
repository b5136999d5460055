//! A store in a local directory. Every object appears under its final name only once it
//! is complete and durable: written to a temporary file beside it, synced, then renamed
//! (or hard-linked, for create-only puts) and the directory synced.

use super::{ListPage, ObjectMeta, PutMode, Store, StoreError, StoreResult};
use async_trait::async_trait;
use bytes::Bytes;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

const TEMP_PREFIX: &str = ".tmp-";
const PAGE_SIZE: usize = 5000;

#[derive(Debug, Clone)]
pub struct FsStore {
    root: PathBuf,
}

impl FsStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        FsStore { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path_of(&self, key: &str) -> StoreResult<PathBuf> {
        validate_key(key).map_err(|detail| StoreError::Other {
            store: self.describe(),
            key: key.to_string(),
            detail,
        })?;
        Ok(self.root.join(key))
    }

    async fn blocking<T, F>(&self, key: &str, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce() -> io::Result<T> + Send + 'static,
    {
        let store = self.describe();
        match tokio::task::spawn_blocking(f).await {
            Ok(result) => result.map_err(|e| StoreError::from_io(&store, key, e)),
            Err(join) => Err(StoreError::Other {
                store,
                key: key.to_string(),
                detail: format!("filesystem task failed: {join}"),
            }),
        }
    }
}

/// Keys are relative slash-separated names made of safe characters; anything else could
/// escape the store's directory.
fn validate_key(key: &str) -> Result<(), String> {
    let ok = !key.is_empty()
        && key.split('/').all(|part| {
            !part.is_empty()
                && part != "."
                && part != ".."
                && !part.starts_with(TEMP_PREFIX)
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        });
    if ok {
        Ok(())
    } else {
        Err(format!("invalid object key {key:?}"))
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

fn write_atomic(path: &Path, data: &[u8], mode: PutMode) -> io::Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| io::Error::other("object path has no parent"))?;
    fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("object");
    let mut nonce = [0u8; 8];
    getrandom::fill(&mut nonce).map_err(|e| io::Error::other(e.to_string()))?;
    let temp = dir.join(format!("{TEMP_PREFIX}{name}-{}", hex::encode(nonce)));
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)?;
        file.write_all(data)?;
        file.sync_all()?;
        drop(file);
        match mode {
            PutMode::Overwrite => fs::rename(&temp, path),
            // A hard link fails atomically when the name is taken, which rename would not.
            PutMode::CreateOnly => fs::hard_link(&temp, path).and_then(|()| fs::remove_file(&temp)),
        }
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result?;
    sync_dir(dir)
}

fn read_range(path: &Path, offset: u64, len: u64) -> io::Result<Vec<u8>> {
    let mut file = File::open(path)?;
    let size = file.metadata()?.len();
    if offset.checked_add(len).is_none_or(|end| end > size) {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("range {offset}+{len} is beyond the object's end ({size} bytes): truncated?"),
        ));
    }
    file.seek(SeekFrom::Start(offset))?;
    let mut buf = vec![0u8; len as usize];
    file.read_exact(&mut buf)?;
    Ok(buf)
}

fn walk(root: &Path, dir: &Path, prefix: &str, out: &mut Vec<ObjectMeta>) -> io::Result<()> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let path = entry.path();
        let Ok(rel) = path.strip_prefix(root) else {
            continue;
        };
        let Some(key) = rel.to_str().map(|s| s.replace('\\', "/")) else {
            continue;
        };
        let file_type = entry.file_type()?;
        if file_type.is_dir() {
            // Only descend where keys under the prefix can be.
            let dir_key = format!("{key}/");
            if dir_key.starts_with(prefix) || prefix.starts_with(&dir_key) {
                walk(root, &path, prefix, out)?;
            }
        } else if file_type.is_file() && key.starts_with(prefix) && validate_key(&key).is_ok() {
            out.push(ObjectMeta {
                key,
                size: entry.metadata()?.len(),
            });
        }
    }
    Ok(())
}

#[async_trait]
impl Store for FsStore {
    fn describe(&self) -> String {
        format!("file://{}", self.root.display())
    }

    async fn put(&self, key: &str, data: Bytes, mode: PutMode) -> StoreResult<()> {
        let path = self.path_of(key)?;
        self.blocking(key, move || write_atomic(&path, &data, mode))
            .await
    }

    async fn get(&self, key: &str) -> StoreResult<Vec<u8>> {
        let path = self.path_of(key)?;
        self.blocking(key, move || fs::read(&path)).await
    }

    async fn get_range(&self, key: &str, offset: u64, len: u64) -> StoreResult<Vec<u8>> {
        let path = self.path_of(key)?;
        self.blocking(key, move || read_range(&path, offset, len))
            .await
    }

    async fn head(&self, key: &str) -> StoreResult<ObjectMeta> {
        let path = self.path_of(key)?;
        let owned = key.to_string();
        self.blocking(key, move || {
            let meta = fs::metadata(&path)?;
            if !meta.is_file() {
                return Err(io::Error::new(
                    io::ErrorKind::NotFound,
                    "not a regular file",
                ));
            }
            Ok(ObjectMeta {
                key: owned,
                size: meta.len(),
            })
        })
        .await
    }

    async fn list_page(&self, prefix: &str, token: Option<String>) -> StoreResult<ListPage> {
        let root = self.root.clone();
        let owned = prefix.to_string();
        let mut all = self
            .blocking(prefix, move || {
                let mut out = Vec::new();
                walk(&root, &root, &owned, &mut out)?;
                Ok(out)
            })
            .await?;
        all.sort_by(|a, b| a.key.cmp(&b.key));
        let start = match &token {
            Some(t) => all.partition_point(|m| m.key.as_str() <= t.as_str()),
            None => 0,
        };
        let objects: Vec<ObjectMeta> = all.into_iter().skip(start).take(PAGE_SIZE + 1).collect();
        let mut page = ListPage {
            objects,
            next: None,
        };
        if page.objects.len() > PAGE_SIZE {
            page.objects.truncate(PAGE_SIZE);
            page.next = page.objects.last().map(|m| m.key.clone());
        }
        Ok(page)
    }

    async fn delete(&self, key: &str) -> StoreResult<()> {
        let path = self.path_of(key)?;
        self.blocking(key, move || {
            fs::remove_file(&path)?;
            match path.parent() {
                Some(dir) => sync_dir(dir),
                None => Ok(()),
            }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::list_all;

    #[tokio::test]
    async fn put_get_list_delete_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsStore::new(dir.path());
        store
            .put(
                "data/ab/abcd",
                b"hello".to_vec().into(),
                PutMode::CreateOnly,
            )
            .await
            .unwrap();
        store
            .put("index/ef", b"x".to_vec().into(), PutMode::Overwrite)
            .await
            .unwrap();
        assert_eq!(store.get("data/ab/abcd").await.unwrap(), b"hello");
        assert_eq!(store.get_range("data/ab/abcd", 1, 3).await.unwrap(), b"ell");
        assert_eq!(store.head("data/ab/abcd").await.unwrap().size, 5);
        let err = store
            .put(
                "data/ab/abcd",
                b"other".to_vec().into(),
                PutMode::CreateOnly,
            )
            .await;
        assert!(matches!(err, Err(StoreError::AlreadyExists { .. })));
        assert_eq!(
            store.get("data/ab/abcd").await.unwrap(),
            b"hello",
            "create-only kept the original"
        );
        let keys: Vec<_> = list_all(&store, "data/")
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.key)
            .collect();
        assert_eq!(keys, vec!["data/ab/abcd"]);
        store.delete("data/ab/abcd").await.unwrap();
        assert!(store.get("data/ab/abcd").await.unwrap_err().is_not_found());
        assert!(
            store.get_range("index/ef", 0, 2).await.is_err(),
            "range past the end is an error"
        );
    }

    #[tokio::test]
    async fn listing_pages_and_skips_temporary_files() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsStore::new(dir.path());
        for i in 0..(PAGE_SIZE + 7) {
            let key = format!("snapshots/{i:06}");
            store
                .put(&key, vec![1].into(), PutMode::Overwrite)
                .await
                .unwrap();
        }
        std::fs::write(dir.path().join("snapshots/.tmp-half-written"), b"x").unwrap();
        let first = store.list_page("snapshots/", None).await.unwrap();
        assert_eq!(first.objects.len(), PAGE_SIZE);
        assert!(first.next.is_some());
        let all = list_all(&store, "snapshots/").await.unwrap();
        assert_eq!(all.len(), PAGE_SIZE + 7);
    }

    #[tokio::test]
    async fn hostile_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsStore::new(dir.path().join("repo"));
        for key in ["../escape", "/abs", "a//b", "data/../../x", ""] {
            assert!(
                store
                    .put(key, Bytes::new(), PutMode::Overwrite)
                    .await
                    .is_err(),
                "{key}"
            );
        }
        assert!(!dir.path().join("escape").exists());
    }
}
