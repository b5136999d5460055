//! The object store every repository lives in: one small async trait, shaped like an
//! object store (S3, GCS) so that a local directory and a bucket behave alike.

mod error;
mod fs;
mod location;

pub use error::{StoreError, StoreResult};
pub use fs::FsStore;
pub use location::{Location, open_location};

use async_trait::async_trait;
use bytes::Bytes;

/// Whether a put may replace an existing object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PutMode {
    Overwrite,
    /// Fails with [`StoreError::AlreadyExists`] when the key is taken, like S3's
    /// `If-None-Match: *` or GCS's `ifGenerationMatch=0`.
    CreateOnly,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectMeta {
    pub key: String,
    pub size: u64,
}

/// One page of a listing; `next` is the token for the following page.
#[derive(Clone, Debug, Default)]
pub struct ListPage {
    pub objects: Vec<ObjectMeta>,
    pub next: Option<String>,
}

#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug {
    /// A human-readable name of where the objects live (for errors and reports).
    fn describe(&self) -> String;
    /// `data` is shared, not copied: a caller may keep a clone and reuse the buffer once
    /// the put has returned.
    async fn put(&self, key: &str, data: Bytes, mode: PutMode) -> StoreResult<()>;
    async fn get(&self, key: &str) -> StoreResult<Vec<u8>>;
    async fn get_range(&self, key: &str, offset: u64, len: u64) -> StoreResult<Vec<u8>>;
    async fn head(&self, key: &str) -> StoreResult<ObjectMeta>;
    /// Lists keys starting with `prefix`, one page at a time, in lexical order.
    async fn list_page(&self, prefix: &str, token: Option<String>) -> StoreResult<ListPage>;
    async fn delete(&self, key: &str) -> StoreResult<()>;
}

/// Collects every page of a listing.
pub async fn list_all(store: &dyn Store, prefix: &str) -> StoreResult<Vec<ObjectMeta>> {
    let mut out = Vec::new();
    let mut token = None;
    loop {
        let page = store.list_page(prefix, token).await?;
        out.extend(page.objects);
        match page.next {
            Some(t) => token = Some(t),
            None => return Ok(out),
        }
    }
}
