//! The CPU side of a backup, on plain threads so the async reactor never hashes or
//! compresses: file workers read, chunk and hash files; blob workers compress and
//! encrypt new blobs into their own packs. Every channel is bounded, so memory stays
//! flat whatever the size of the source.

use super::walk::{FileJob, FileOutcome, FileResult};
use crate::chunker::Chunker;
use crate::crypto::{Id, RepoKeys, TAG_LEN};
use crate::progress::Progress;
use crate::repo::config::ChunkerParams;
use crate::repo::pack::{BlobKind, FinishedPack, PackWriter, encode_blob};
use std::collections::HashSet;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::sync::{Arc, Mutex, mpsc};
use tokio::sync::mpsc as async_mpsc;

pub struct BlobJob {
    pub id: Id,
    pub data: Vec<u8>,
}

/// Pack buffers go back and forth between the workers that fill them and the uploader
/// that stores them, instead of being freed and allocated again for every pack.
#[derive(Clone, Default)]
pub struct BufferPool(Arc<Mutex<Vec<Vec<u8>>>>);

impl BufferPool {
    const KEEP: usize = 2;

    fn take(&self) -> Option<Vec<u8>> {
        self.0.lock().ok()?.pop()
    }

    pub fn give(&self, buffer: Vec<u8>) {
        if let Ok(mut pool) = self.0.lock()
            && pool.len() < Self::KEEP
        {
            pool.push(buffer);
        }
    }
}

/// What every worker shares.
pub struct Shared {
    pub keys: RepoKeys,
    pub chunker: ChunkerParams,
    pub level: i32,
    pub pack_size: usize,
    /// Blob ids already stored or on their way: each new blob is stored exactly once.
    pub claimed: Mutex<HashSet<Id>>,
    pub progress: Progress,
    pub buffers: BufferPool,
    /// One data pack filled by all blob workers: fewer pack buffers alive at once than
    /// a pack per worker, and packs fill (and reach the store) sooner.
    pub data_pack: Mutex<Option<PackWriter>>,
}

impl Shared {
    /// True if the caller is the first to see `id` and must store it.
    pub fn claim(&self, id: Id) -> bool {
        self.claimed
            .lock()
            .map(|mut set| set.insert(id))
            .unwrap_or(false)
    }

    /// Adds an encoded blob to the shared data pack. When the blob would outgrow it, the
    /// pack is finished and handed to the uploader first, with the lock held: while the
    /// uploader is busy, no second full pack piles up in memory behind it.
    pub fn add_to_data_pack(
        &self,
        id: Id,
        raw_len: u32,
        encoded: Vec<u8>,
        packs: &async_mpsc::Sender<FinishedPack>,
    ) -> crate::Result<()> {
        let mut slot = self
            .data_pack
            .lock()
            .map_err(|_| crate::Error::Other(ABORTED.into()))?;
        let full = match slot.as_ref() {
            Some(w) if !w.is_empty() && w.len() + encoded.len() + TAG_LEN > self.pack_size => {
                slot.take()
            }
            _ => None,
        };
        if let Some(full) = full {
            send_pack(packs, full.finish()?)?;
        }
        let pack = match slot.as_mut() {
            Some(pack) => pack,
            None => slot.insert(self.new_pack(BlobKind::Data)?),
        };
        pack.add(id, raw_len, encoded)
    }

    /// The last, partly filled data pack, once every blob worker has stopped.
    pub fn take_data_pack(&self) -> crate::Result<Option<FinishedPack>> {
        let writer = self
            .data_pack
            .lock()
            .map_err(|_| crate::Error::Other(ABORTED.into()))?
            .take();
        writer
            .filter(|w| !w.is_empty())
            .map(PackWriter::finish)
            .transpose()
    }

    pub fn new_pack(&self, kind: BlobKind) -> crate::Result<PackWriter> {
        match self.buffers.take() {
            Some(buffer) => PackWriter::with_buffer(&self.keys, kind, buffer),
            None => PackWriter::new(&self.keys, kind, self.pack_size),
        }
    }
}

pub fn file_worker(
    shared: Arc<Shared>,
    jobs: Arc<Mutex<mpsc::Receiver<FileJob>>>,
    blobs: mpsc::SyncSender<BlobJob>,
) {
    loop {
        let job = match jobs.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok(job) = job else { return };
        let result = read_file(&shared, &job, &blobs);
        shared.progress.file_done();
        let aborted = matches!(&result, Err(e) if e == ABORTED);
        let _ = job.done.send(result);
        if aborted {
            return;
        }
    }
}

const ABORTED: &str = "backup aborted";

/// Cuts an in-memory file exactly as the streaming chunker would.
fn split_in_memory(data: Vec<u8>, params: &ChunkerParams, seed: u64) -> Vec<Vec<u8>> {
    if data.is_empty() {
        return Vec::new();
    }
    if data.len() <= params.min_size as usize {
        return vec![data];
    }
    let cuts: Vec<(usize, usize)> = fastcdc::v2020::FastCDC::with_level_and_seed(
        &data,
        params.min_size as usize,
        params.avg_size as usize,
        params.max_size as usize,
        fastcdc::v2020::Normalization::Level1,
        seed,
    )
    .map(|c| (c.offset, c.length))
    .collect();
    if cuts.len() == 1 {
        return vec![data];
    }
    cuts.into_iter()
        .map(|(offset, length)| data[offset..offset + length].to_vec())
        .collect()
}

fn read_file(shared: &Shared, job: &FileJob, blobs: &mpsc::SyncSender<BlobJob>) -> FileResult {
    let file = std::fs::File::open(&job.path).map_err(|e| format!("cannot open: {e}"))?;
    let before = file.metadata().map_err(|e| format!("cannot stat: {e}"))?;
    let mut hasher = blake3::Hasher::new();
    let mut content = Vec::new();
    let mut size = 0u64;
    // Most files are small: read them whole rather than through a max-chunk-sized stream buffer.
    let chunks: Box<dyn Iterator<Item = std::io::Result<Vec<u8>>>> =
        if before.len() <= u64::from(shared.chunker.max_size) {
            let mut data = Vec::with_capacity(before.len() as usize);
            Read::read_to_end(
                &mut (&file).take(u64::from(shared.chunker.max_size)),
                &mut data,
            )
            .map_err(|e| format!("read failed: {e}"))?;
            Box::new(
                split_in_memory(data, &shared.chunker, shared.keys.chunker_seed())
                    .into_iter()
                    .map(Ok),
            )
        } else {
            Box::new(Chunker::new(
                file,
                &shared.chunker,
                shared.keys.chunker_seed(),
            ))
        };
    for chunk in chunks {
        let chunk = chunk.map_err(|e| format!("read failed after {size} bytes: {e}"))?;
        hasher.update(&chunk);
        size += chunk.len() as u64;
        shared.progress.add_bytes(chunk.len() as u64);
        let id = shared.keys.blob_id(&chunk);
        content.push(id);
        if shared.claim(id) {
            blobs
                .send(BlobJob { id, data: chunk })
                .map_err(|_| ABORTED.to_string())?;
        }
    }
    let changed_while_reading = match std::fs::metadata(&job.path) {
        Ok(after) => {
            after.len() != before.len()
                || after.mtime() != before.mtime()
                || after.mtime_nsec() != before.mtime_nsec()
        }
        Err(_) => true,
    } || size != before.len();
    Ok(FileOutcome {
        content,
        blake3: hasher.finalize().to_hex().to_string(),
        size,
        changed_while_reading,
    })
}

pub fn blob_worker(
    shared: Arc<Shared>,
    jobs: Arc<Mutex<mpsc::Receiver<BlobJob>>>,
    packs: async_mpsc::Sender<FinishedPack>,
) -> crate::Result<()> {
    loop {
        let job = match jobs.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => break,
        };
        let Ok(job) = job else { break };
        // Compression runs in parallel; only appending to the shared pack is serialised.
        let encoded = encode_blob(&job.data, shared.level);
        let raw_len = job.data.len() as u32;
        drop(job.data);
        shared.add_to_data_pack(job.id, raw_len, encoded, &packs)?;
    }
    Ok(())
}

fn send_pack(packs: &async_mpsc::Sender<FinishedPack>, pack: FinishedPack) -> crate::Result<()> {
    packs
        .blocking_send(pack)
        .map_err(|_| crate::Error::Other(ABORTED.into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Small files take the in-memory path; it must cut exactly where the stream does,
        /// or the same content would dedup differently depending on file size.
        #[test]
        fn in_memory_cuts_match_the_stream(data in proptest::collection::vec(0u8..8, 0..70_000), seed in any::<u64>()) {
            let params = ChunkerParams { min_size: 1024, avg_size: 4096, max_size: 16384 };
            let streamed: Vec<Vec<u8>> = Chunker::new(data.as_slice(), &params, seed).collect::<Result<_, _>>().unwrap();
            prop_assert_eq!(split_in_memory(data, &params, seed), streamed);
        }
    }
}
