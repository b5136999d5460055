//! Checksums of multi-chunk files taken from the chunks as they are written, so the
//! file need not be read back. Chunks arrive roughly in file order (packs are fetched
//! in order of first use); a chunk that arrives early is held until its turn, within a
//! memory budget. A file whose chunks come too far out of order is read back instead.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};

#[derive(Default)]
struct Stream {
    hasher: blake3::Hasher,
    next: u64,
    pending: BTreeMap<u64, Vec<u8>>,
    pending_bytes: i64,
    gave_up: bool,
}

pub struct StreamHashes {
    files: Vec<Mutex<Option<Box<Stream>>>>,
    /// Bytes that may still be held out of order, across all files.
    budget: AtomicI64,
}

impl StreamHashes {
    pub fn new(files: usize, budget_bytes: i64) -> Self {
        StreamHashes {
            files: (0..files).map(|_| Mutex::new(None)).collect(),
            budget: AtomicI64::new(budget_bytes),
        }
    }

    /// Records that `data` was written at `offset` of file `file`.
    pub fn feed(&self, file: usize, offset: u64, data: &[u8]) {
        let Some(slot) = self.files.get(file) else {
            return;
        };
        let Ok(mut slot) = slot.lock() else { return };
        let stream = slot.get_or_insert_with(Box::default);
        if stream.gave_up {
            return;
        }
        if offset == stream.next {
            stream.hasher.update(data);
            stream.next += data.len() as u64;
            while let Some(chunk) = stream.pending.remove(&stream.next) {
                stream.hasher.update(&chunk);
                stream.next += chunk.len() as u64;
                stream.pending_bytes -= chunk.len() as i64;
                self.budget.fetch_add(chunk.len() as i64, Ordering::Relaxed);
            }
        } else if offset > stream.next
            && !stream.pending.contains_key(&offset)
            && self.budget.fetch_sub(data.len() as i64, Ordering::Relaxed) >= data.len() as i64
        {
            stream.pending.insert(offset, data.to_vec());
            stream.pending_bytes += data.len() as i64;
        } else {
            if offset > stream.next && !stream.pending.contains_key(&offset) {
                // The reservation above failed: give it back.
                self.budget.fetch_add(data.len() as i64, Ordering::Relaxed);
            }
            self.give_up(stream);
        }
    }

    fn give_up(&self, stream: &mut Stream) {
        stream.gave_up = true;
        stream.pending.clear();
        self.budget
            .fetch_add(stream.pending_bytes, Ordering::Relaxed);
        stream.pending_bytes = 0;
    }

    /// The file's BLAKE3 if all `size` bytes were seen in order (then the state is freed).
    pub fn finish(&self, file: usize, size: u64) -> Option<String> {
        let mut slot = self.files.get(file)?.lock().ok()?;
        let stream = slot.take()?;
        (!stream.gave_up && stream.next == size && stream.pending.is_empty())
            .then(|| stream.hasher.finalize().to_hex().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn any_arrival_order_gives_the_whole_file_hash_or_nothing(
            sizes in proptest::collection::vec(1usize..3000, 1..12),
            order_seed in any::<u64>(),
            budget in 0i64..20_000,
        ) {
            let data: Vec<u8> = (0..sizes.iter().sum::<usize>()).map(|i| (i * 31 % 251) as u8).collect();
            let mut pieces = Vec::new();
            let mut at = 0;
            for s in &sizes {
                pieces.push((at as u64, &data[at..at + s]));
                at += s;
            }
            // A deterministic shuffle.
            let mut state = order_seed;
            for i in (1..pieces.len()).rev() {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1);
                pieces.swap(i, (state >> 33) as usize % (i + 1));
            }
            let hashes = StreamHashes::new(1, budget);
            for (offset, piece) in &pieces {
                hashes.feed(0, *offset, piece);
            }
            if let Some(hash) = hashes.finish(0, data.len() as u64) {
                prop_assert_eq!(hash, blake3::hash(&data).to_hex().to_string());
            }
            prop_assert_eq!(hashes.budget.load(Ordering::Relaxed), budget, "every held byte is given back");
        }
    }

    #[test]
    fn in_order_chunks_need_no_budget() {
        let hashes = StreamHashes::new(1, 0);
        hashes.feed(0, 0, b"hello ");
        hashes.feed(0, 6, b"world");
        assert_eq!(
            hashes.finish(0, 11),
            Some(blake3::hash(b"hello world").to_hex().to_string())
        );
        assert_eq!(hashes.finish(0, 11), None, "state is freed");
    }
}
