//! Uploads finished packs with a few in flight, and writes index objects for them only
//! once they are stored, so an interrupted backup never leaves an index pointing at
//! nothing (and what it did store is reused by the next run).

use super::workers::BufferPool;
use crate::error::{Error, Result};
use crate::repo::Repository;
use crate::repo::index::{IndexFile, IndexedPack};
use crate::repo::pack::{FinishedPack, pack_key};
use crate::store::PutMode;
use bytes::Bytes;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

const IN_FLIGHT: usize = 1;
/// Packs per index object: bounds what a crash can leave unindexed.
const PACKS_PER_INDEX: usize = 32;

#[derive(Default, Debug)]
pub struct UploadStats {
    pub packs: u64,
    pub blobs: u64,
    pub bytes: u64,
}

pub async fn upload_packs(
    repo: Repository,
    mut packs: mpsc::Receiver<FinishedPack>,
    buffers: BufferPool,
) -> Result<UploadStats> {
    let mut in_flight: JoinSet<Result<IndexedPack>> = JoinSet::new();
    let mut pending = IndexFile::default();
    let mut stats = UploadStats::default();
    let mut finished = |indexed: IndexedPack, pending: &mut IndexFile| {
        stats.packs += 1;
        stats.blobs += indexed.blobs.len() as u64;
        stats.bytes += indexed.size;
        pending.packs.push(indexed);
    };
    while let Some(pack) = packs.recv().await {
        while in_flight.len() >= IN_FLIGHT {
            if let Some(done) = in_flight.join_next().await {
                finished(joined(done)?, &mut pending);
            }
        }
        if pending.packs.len() >= PACKS_PER_INDEX {
            repo.save_index(&std::mem::take(&mut pending)).await?;
        }
        let store = repo.store().clone();
        let buffers = buffers.clone();
        in_flight.spawn(async move {
            let indexed = IndexedPack::from_finished(&pack);
            let bytes = Bytes::from(pack.bytes);
            let kept = bytes.clone();
            // Create-only: an existing pack of that name has these exact bytes already.
            let put = store
                .put(&pack_key(&pack.id), bytes, PutMode::CreateOnly)
                .await;
            // The store has let go of the bytes: the buffer can hold the next pack.
            if let Ok(buffer) = kept.try_into_mut() {
                buffers.give(buffer.into());
            }
            match put {
                Ok(()) => Ok(indexed),
                Err(crate::store::StoreError::AlreadyExists { .. }) => Ok(indexed),
                Err(e) => Err(e.into()),
            }
        });
    }
    while let Some(done) = in_flight.join_next().await {
        finished(joined(done)?, &mut pending);
    }
    if !pending.packs.is_empty() {
        repo.save_index(&pending).await?;
    }
    Ok(stats)
}

fn joined(done: Result<Result<IndexedPack>, tokio::task::JoinError>) -> Result<IndexedPack> {
    done.map_err(|e| Error::Other(format!("pack upload task failed: {e}")))?
}
