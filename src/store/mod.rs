//! The object store every repository lives in: one small async trait, shaped like an
//! object store (S3, GCS) so that a local directory and a bucket behave alike.

mod error;
mod fs;
pub mod gcs;
mod location;
pub mod retry;
pub mod s3;
pub mod spec;

pub use error::{StoreError, StoreResult};
pub use fs::FsStore;
pub use location::Location;

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;

/// An object body delivered in pieces, for objects too large to hold whole in memory.
pub type PartStream<'a> = BoxStream<'a, StoreResult<Bytes>>;

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

    /// Writes an object of `size` bytes from a stream of pieces (multipart on S3, a
    /// resumable upload on GCS, a temporary file on disk) without holding it whole.
    /// If the stream yields an error, nothing is stored under `key`.
    async fn put_stream(
        &self,
        key: &str,
        size: u64,
        mut body: PartStream<'_>,
        mode: PutMode,
    ) -> StoreResult<()> {
        // `size` comes from a listing; reserve no more than a pack's worth on its word.
        let mut whole = Vec::with_capacity(usize::try_from(size.min(64 << 20)).unwrap_or(0));
        while let Some(piece) = body.next().await {
            whole.extend_from_slice(&piece?);
        }
        self.put(key, whole.into(), mode).await
    }
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
