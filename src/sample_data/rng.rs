//! Randomness.

/// xoshiro256**: fast enough to fill tens of MiB in milliseconds, and fully specified, so
/// the bytes never change with a dependency upgrade.
pub(super) struct Rng {
    s: [u64; 4],
}

impl Rng {
    pub(super) fn for_stream(seed: u64, label: &str) -> Rng {
        let mut hasher = blake3::Hasher::new_derive_key("firedrill sample_data v1 stream seed");
        hasher.update(&seed.to_le_bytes());
        hasher.update(label.as_bytes());
        let mut s = [0u64; 4];
        for (word, bytes) in s
            .iter_mut()
            .zip(hasher.finalize().as_bytes().chunks_exact(8))
        {
            let mut le = [0u8; 8];
            le.copy_from_slice(bytes);
            *word = u64::from_le_bytes(le);
        }
        // The all-zero state is xoshiro's one fixed point.
        if s == [0; 4] {
            s[0] = 1;
        }
        Rng { s }
    }

    pub(super) fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Uniform in `0..n` (0 when n is 0); the multiply-shift bias is far below anything
    /// sample data could show.
    pub(super) fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    pub(super) fn range(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        lo + self.below(hi - lo + 1)
    }

    pub(super) fn percent(&mut self, p: u64) -> bool {
        self.below(100) < p
    }

    pub(super) fn pick<T: Copy + Default>(&mut self, items: &[T]) -> T {
        items
            .get(self.below(items.len() as u64) as usize)
            .copied()
            .unwrap_or_default()
    }

    pub(super) fn fill(&mut self, buf: &mut [u8]) {
        let mut chunks = buf.chunks_exact_mut(8);
        for chunk in &mut chunks {
            chunk.copy_from_slice(&self.next_u64().to_le_bytes());
        }
        let rest = chunks.into_remainder();
        if !rest.is_empty() {
            let bytes = self.next_u64().to_le_bytes();
            for (b, r) in rest.iter_mut().zip(bytes) {
                *b = r;
            }
        }
    }
}
