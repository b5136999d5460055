//! A bucket on AWS S3 or on any S3-compatible server, under an optional key prefix.
//!
//! The SDK's own retries are off: every store is wrapped in the program's retry
//! decorator, which retries exactly the errors sorted here as [`StoreError::Transient`].

mod config;
mod errors;
mod multipart;

pub use config::{ObjectLockMode, ObjectLockRetention, S3Config, S3Credentials};

use super::{ListPage, ObjectMeta, PartStream, PutMode, Store, StoreError, StoreResult};
use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::error::DisplayErrorContext;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, ChecksumMode};
use bytes::Bytes;
use config::{NewObjectOptions, upload_override, with_new_object_options};
use errors::{classify, not_implemented};
use futures::StreamExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Objects this large and larger go up in parts.
const MULTIPART_THRESHOLD: u64 = 32 << 20;
/// The checksum every new object and part carries, verified by the server on arrival.
const CHECKSUM: ChecksumAlgorithm = ChecksumAlgorithm::Crc32C;

#[derive(Clone, Debug)]
pub struct S3Store {
    client: Client,
    bucket: String,
    /// The configured prefix with a trailing slash, or empty.
    key_prefix: String,
    /// Who answers, for error details: the endpoint URL or "AWS S3 (region)".
    server: String,
    described: String,
    new_objects: NewObjectOptions,
    /// Set once the server has answered 501 to `If-None-Match: *`: from then on
    /// create-only puts check with HEAD first, which is racy but the best it offers.
    no_conditional_writes: Arc<AtomicBool>,
}

impl S3Store {
    fn full_key(&self, key: &str) -> String {
        format!("{}{key}", self.key_prefix)
    }

    fn conditional_writes(&self) -> bool {
        !self.no_conditional_writes.load(Ordering::Relaxed)
    }

    fn lose_conditional_writes(&self) {
        self.no_conditional_writes.store(true, Ordering::Relaxed);
    }

    /// The fallback for servers without conditional writes.
    async fn ensure_absent(&self, key: &str) -> StoreResult<()> {
        match self.head(key).await {
            Ok(_) => Err(StoreError::AlreadyExists {
                store: self.describe(),
                key: key.to_string(),
            }),
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn put_object(&self, key: &str, data: Bytes, mode: PutMode) -> StoreResult<()> {
        let conditional = mode == PutMode::CreateOnly && self.conditional_writes();
        if mode == PutMode::CreateOnly && !conditional {
            self.ensure_absent(key).await?;
        }
        let send = |condition: bool| {
            let request = self
                .client
                .put_object()
                .bucket(&self.bucket)
                .key(self.full_key(key))
                .content_length(data.len() as i64)
                .body(ByteStream::from(data.clone()))
                .checksum_algorithm(CHECKSUM)
                .set_if_none_match(condition.then(|| "*".to_string()));
            with_new_object_options!(request, &self.new_objects)
                .customize()
                .config_override(upload_override())
                .send()
        };
        match send(conditional).await {
            Ok(_) => Ok(()),
            Err(e) if conditional && not_implemented(&e) => {
                self.lose_conditional_writes();
                self.ensure_absent(key).await?;
                send(false)
                    .await
                    .map(|_| ())
                    .map_err(|e| classify(self, key, e))
            }
            Err(e) => Err(classify(self, key, e)),
        }
    }

    /// Reads a whole response body, refusing one shorter than announced.
    async fn read_body(
        &self,
        key: &str,
        mut body: ByteStream,
        expected: Option<i64>,
    ) -> StoreResult<Vec<u8>> {
        // The announced length is only trusted so far before any bytes arrive.
        let reserve = expected.unwrap_or(0).clamp(0, 256 << 20) as usize;
        let mut out = Vec::with_capacity(reserve);
        loop {
            match body.try_next().await {
                Ok(Some(chunk)) => out.extend_from_slice(&chunk),
                Ok(None) => break,
                Err(e) => {
                    let detail = format!("reading the body: {}", DisplayErrorContext(&e));
                    return Err(self.transient(key, detail));
                }
            }
        }
        if let Some(expected) = expected.filter(|&n| n != out.len() as i64) {
            return Err(self.transient(
                key,
                format!(
                    "the body has {} bytes, not the {expected} announced",
                    out.len()
                ),
            ));
        }
        Ok(out)
    }

    fn transient(&self, key: &str, detail: String) -> StoreError {
        StoreError::Transient {
            store: self.describe(),
            key: key.to_string(),
            detail,
        }
    }

    fn other(&self, key: &str, detail: String) -> StoreError {
        StoreError::Other {
            store: self.describe(),
            key: key.to_string(),
            detail,
        }
    }
}

#[async_trait]
impl Store for S3Store {
    fn describe(&self) -> String {
        self.described.clone()
    }

    async fn put(&self, key: &str, data: Bytes, mode: PutMode) -> StoreResult<()> {
        if data.len() as u64 >= MULTIPART_THRESHOLD {
            let part_size = multipart::part_size(data.len() as u64);
            let parts = (0..data.len())
                .step_by(part_size)
                .map(|start| Ok(data.slice(start..(start + part_size).min(data.len()))))
                .collect::<Vec<_>>();
            return multipart::upload(
                self,
                key,
                data.len() as u64,
                futures::stream::iter(parts).boxed(),
                mode,
            )
            .await;
        }
        self.put_object(key, data, mode).await
    }

    async fn get(&self, key: &str) -> StoreResult<Vec<u8>> {
        let out = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(self.full_key(key))
            // The SDK then checks the body against the checksum stored at upload.
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await
            .map_err(|e| classify(self, key, e))?;
        let expected = out.content_length();
        self.read_body(key, out.body, expected).await
    }

    async fn get_range(&self, key: &str, offset: u64, len: u64) -> StoreResult<Vec<u8>> {
        if len == 0 {
            // No HTTP range is empty; still answer NotFound and out-of-range like a read.
            let size = self.head(key).await?.size;
            if offset > size {
                return Err(self.other(
                    key,
                    format!("offset {offset} is beyond the object's end ({size} bytes)"),
                ));
            }
            return Ok(Vec::new());
        }
        let end = offset
            .checked_add(len - 1)
            .ok_or_else(|| self.other(key, "range overflows".into()))?;
        let out = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(self.full_key(key))
            .range(format!("bytes={offset}-{end}"))
            .send()
            .await
            .map_err(|e| classify(self, key, e))?;
        // The server cuts a range at the object's end: that is a shorter object, not a
        // short read, and no retry will change it.
        let announced = out.content_length().unwrap_or(0).max(0) as u64;
        if announced < len {
            return Err(self.other(
                key,
                format!(
                    "range {offset}+{len} is beyond the object's end ({}): truncated?",
                    out.content_range().unwrap_or("no Content-Range")
                ),
            ));
        }
        self.read_body(key, out.body, Some(len as i64)).await
    }

    async fn head(&self, key: &str) -> StoreResult<ObjectMeta> {
        let out = self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(self.full_key(key))
            .send()
            .await
            .map_err(|e| classify(self, key, e))?;
        Ok(ObjectMeta {
            key: key.to_string(),
            size: out.content_length().unwrap_or(0).max(0) as u64,
        })
    }

    async fn list_page(&self, prefix: &str, token: Option<String>) -> StoreResult<ListPage> {
        let out = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(self.full_key(prefix))
            .set_continuation_token(token)
            .send()
            .await
            .map_err(|e| classify(self, prefix, e))?;
        let objects = out
            .contents()
            .iter()
            .filter_map(|o| {
                Some(ObjectMeta {
                    key: o.key()?.strip_prefix(&self.key_prefix)?.to_string(),
                    size: o.size().unwrap_or(0).max(0) as u64,
                })
            })
            .collect();
        let next = match out.is_truncated() {
            Some(true) => out.next_continuation_token().map(str::to_string),
            _ => None,
        };
        Ok(ListPage { objects, next })
    }

    async fn delete(&self, key: &str) -> StoreResult<()> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(self.full_key(key))
            .send()
            .await
            .map_err(|e| classify(self, key, e))?;
        Ok(())
    }

    async fn put_stream(
        &self,
        key: &str,
        size: u64,
        mut body: PartStream<'_>,
        mode: PutMode,
    ) -> StoreResult<()> {
        if size >= MULTIPART_THRESHOLD {
            let parts = multipart::rechunk(body, multipart::part_size(size));
            return multipart::upload(self, key, size, parts.boxed(), mode).await;
        }
        let mut whole = Vec::with_capacity(size as usize);
        while let Some(piece) = body.next().await {
            whole.extend_from_slice(&piece?);
        }
        if whole.len() as u64 != size {
            return Err(self.other(
                key,
                format!("the stream gave {} bytes, not {size}", whole.len()),
            ));
        }
        self.put_object(key, whole.into(), mode).await
    }
}
