//! Content-defined chunking: boundaries follow content, so an insertion shifts only
//! the chunks around it and the rest deduplicate.

use crate::repo::config::ChunkerParams;
use fastcdc::v2020::{Normalization, StreamCDC};
use std::io::Read;

pub struct Chunker<R: Read> {
    inner: StreamCDC<R>,
}

impl<R: Read> Chunker<R> {
    pub fn new(source: R, params: &ChunkerParams, seed: u64) -> Self {
        Chunker {
            inner: StreamCDC::with_level_and_seed(
                source,
                params.min_size as usize,
                params.avg_size as usize,
                params.max_size as usize,
                Normalization::Level1,
                seed,
            ),
        }
    }
}

impl<R: Read> Iterator for Chunker<R> {
    type Item = std::io::Result<Vec<u8>>;

    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next().map(|r| {
            r.map(|chunk| chunk.data).map_err(|e| match e {
                fastcdc::v2020::Error::IoError(io) => io,
                other => std::io::Error::other(other.to_string()),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn small() -> ChunkerParams {
        ChunkerParams {
            min_size: 1024,
            avg_size: 4096,
            max_size: 16384,
        }
    }

    proptest! {
        #[test]
        fn chunks_concatenate_to_the_input_within_size_bounds(data in proptest::collection::vec(any::<u8>(), 0..100_000), seed in any::<u64>()) {
            let params = small();
            let chunks: Vec<Vec<u8>> = Chunker::new(data.as_slice(), &params, seed).collect::<Result<_, _>>().unwrap();
            prop_assert_eq!(chunks.concat(), data);
            for (i, c) in chunks.iter().enumerate() {
                prop_assert!(c.len() <= params.max_size as usize);
                if i + 1 < chunks.len() { prop_assert!(c.len() >= params.min_size as usize); }
            }
        }
    }

    #[test]
    fn an_insertion_changes_only_nearby_chunks() {
        let mut state = 42u64;
        let data: Vec<u8> = (0..400_000)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (state >> 33) as u8
            })
            .collect();
        let mut edited = data.clone();
        edited.splice(200_000..200_000, b"inserted".iter().copied());
        let a: std::collections::HashSet<Vec<u8>> = Chunker::new(data.as_slice(), &small(), 7)
            .map(|c| c.unwrap())
            .collect();
        let b: Vec<Vec<u8>> = Chunker::new(edited.as_slice(), &small(), 7)
            .map(|c| c.unwrap())
            .collect();
        let shared = b.iter().filter(|c| a.contains(*c)).count();
        assert!(
            shared + 3 >= b.len(),
            "only chunks near the edit differ: {shared} of {}",
            b.len()
        );
    }
}
