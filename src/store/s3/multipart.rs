//! Multipart uploads: fixed-size parts, a few in flight, each with its own checksum,
//! and no trace left under the key when anything fails.

use super::config::{upload_override, with_new_object_options};
use super::errors::{classify, not_implemented};
use super::{CHECKSUM, S3Store};
use crate::store::{PartStream, PutMode, StoreResult};
use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::operation::abort_multipart_upload::builders::AbortMultipartUploadFluentBuilder;
use aws_sdk_s3::operation::complete_multipart_upload::{
    CompleteMultipartUploadError, CompleteMultipartUploadOutput,
};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use bytes::{Bytes, BytesMut};
use futures::stream::{self, BoxStream, Stream, StreamExt, TryStreamExt};

const PART_SIZE: usize = 16 << 20;
const MAX_PARTS: u64 = 10_000;
/// Memory in use is about this many parts.
const PARTS_IN_FLIGHT: usize = 3;

/// 16 MiB, or more for objects that would otherwise need more than S3's 10 000 parts.
pub(super) fn part_size(total: u64) -> usize {
    let needed = total.div_ceil(MAX_PARTS).next_multiple_of(1 << 20);
    usize::try_from(needed).unwrap_or(usize::MAX).max(PART_SIZE)
}

/// Regroups pieces of any size into parts of exactly `part_size` bytes, the last shorter.
pub(super) fn rechunk(
    body: PartStream<'_>,
    part_size: usize,
) -> impl Stream<Item = StoreResult<Bytes>> + Send + '_ {
    stream::unfold(Some((body, Bytes::new())), move |state| async move {
        let (mut body, mut carry) = state?;
        if carry.len() >= part_size {
            let part = carry.split_to(part_size);
            return Some((Ok(part), Some((body, carry))));
        }
        let mut part = BytesMut::with_capacity(part_size);
        part.extend_from_slice(&carry);
        loop {
            match body.next().await {
                Some(Ok(piece)) => {
                    let room = part_size - part.len();
                    if piece.len() < room {
                        part.extend_from_slice(&piece);
                        continue;
                    }
                    part.extend_from_slice(&piece[..room]);
                    return Some((Ok(part.freeze()), Some((body, piece.slice(room..)))));
                }
                Some(Err(e)) => return Some((Err(e), None)),
                None if part.is_empty() => return None,
                None => return Some((Ok(part.freeze()), None)),
            }
        }
    })
}

/// Aborts the upload if the future is dropped half-way (a cancelled backup), so no
/// parts are left behind to be billed; errors abort it explicitly.
struct AbortGuard(Option<AbortMultipartUploadFluentBuilder>);

impl AbortGuard {
    async fn abort(mut self) {
        if let Some(request) = self.0.take() {
            let _ = request.send().await;
        }
    }

    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for AbortGuard {
    fn drop(&mut self) {
        if let (Some(request), Ok(runtime)) = (self.0.take(), tokio::runtime::Handle::try_current())
        {
            runtime.spawn(async move {
                let _ = request.send().await;
            });
        }
    }
}

/// Uploads `size` bytes arriving as parts from `parts`.
pub(super) async fn upload(
    store: &S3Store,
    key: &str,
    size: u64,
    parts: BoxStream<'_, StoreResult<Bytes>>,
    mode: PutMode,
) -> StoreResult<()> {
    let create_only = mode == PutMode::CreateOnly;
    if create_only && !store.conditional_writes() {
        store.ensure_absent(key).await?;
    }
    let full_key = store.full_key(key);
    let request = store
        .client
        .create_multipart_upload()
        .bucket(&store.bucket)
        .key(&full_key)
        .checksum_algorithm(CHECKSUM);
    let created = with_new_object_options!(request, &store.new_objects)
        .send()
        .await
        .map_err(|e| classify(store, key, e))?;
    let upload_id = created
        .upload_id()
        .ok_or_else(|| store.other(key, "the server gave no multipart upload id".into()))?;
    let guard = AbortGuard(Some(
        store
            .client
            .abort_multipart_upload()
            .bucket(&store.bucket)
            .key(&full_key)
            .upload_id(upload_id),
    ));
    let upload = Upload {
        store,
        key,
        full_key: &full_key,
        upload_id,
    };
    let result = upload.run(size, parts, create_only).await;
    match result {
        Ok(()) => guard.disarm(),
        Err(_) => guard.abort().await,
    }
    result
}

struct Upload<'a> {
    store: &'a S3Store,
    key: &'a str,
    full_key: &'a str,
    upload_id: &'a str,
}

impl Upload<'_> {
    async fn run(
        &self,
        size: u64,
        parts: BoxStream<'_, StoreResult<Bytes>>,
        create_only: bool,
    ) -> StoreResult<()> {
        let done: Vec<(CompletedPart, u64)> = parts
            .enumerate()
            .map(|(i, part)| async move { self.send_part(i as i32 + 1, part?).await })
            .buffered(PARTS_IN_FLIGHT)
            .try_collect()
            .await?;
        let sent: u64 = done.iter().map(|(_, len)| len).sum();
        if sent != size {
            return Err(self.store.other(
                self.key,
                format!("the stream gave {sent} bytes, not {size}"),
            ));
        }
        let parts: Vec<CompletedPart> = done.into_iter().map(|(part, _)| part).collect();
        let conditional = create_only && self.store.conditional_writes();
        match self.complete(&parts, conditional).await {
            Err(e) if conditional && not_implemented(&e) => {
                self.store.lose_conditional_writes();
                self.store.ensure_absent(self.key).await?;
                self.complete(&parts, false).await
            }
            other => other,
        }
        .map(|_| ())
        .map_err(|e| classify(self.store, self.key, e))
    }

    async fn send_part(&self, number: i32, data: Bytes) -> StoreResult<(CompletedPart, u64)> {
        let len = data.len() as u64;
        let out = self
            .store
            .client
            .upload_part()
            .bucket(&self.store.bucket)
            .key(self.full_key)
            .upload_id(self.upload_id)
            .part_number(number)
            .content_length(len as i64)
            .body(ByteStream::from(data))
            .checksum_algorithm(CHECKSUM)
            .customize()
            .config_override(upload_override())
            .send()
            .await
            .map_err(|e| classify(self.store, self.key, e))?;
        let part = CompletedPart::builder()
            .part_number(number)
            .set_e_tag(out.e_tag().map(str::to_string))
            .set_checksum_crc32_c(out.checksum_crc32_c().map(str::to_string))
            .build();
        Ok((part, len))
    }

    async fn complete(
        &self,
        parts: &[CompletedPart],
        conditional: bool,
    ) -> Result<CompleteMultipartUploadOutput, SdkError<CompleteMultipartUploadError>> {
        self.store
            .client
            .complete_multipart_upload()
            .bucket(&self.store.bucket)
            .key(self.full_key)
            .upload_id(self.upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts.to_vec()))
                    .build(),
            )
            .set_if_none_match(conditional.then(|| "*".to_string()))
            .send()
            .await
    }
}
