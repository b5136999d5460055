//! Output: the sized, buffered writer every generator fills.

use std::fs::File;
use std::io::{self, Write};

use super::file_times;
use super::layout::{KIB, MIB};
use super::rng::Rng;

const BLOCK: usize = MIB as usize;

/// A change applied to bytes `offset..offset + len` as they are written, turning a
/// regenerated copy into a near duplicate.
#[derive(Debug, Clone, Copy)]
pub(super) struct Tweak {
    pub(super) offset: u64,
    pub(super) len: u64,
    /// Text keeps its character set (letters swap case, digits shift) so the copy stays
    /// valid UTF-8; binary bytes are flipped.
    pub(super) text: bool,
}

impl Tweak {
    fn apply(&self, base: u64, buf: &mut [u8]) {
        let start = self.offset.max(base);
        let end = (self.offset + self.len).min(base + buf.len() as u64);
        for pos in start..end {
            if let Some(b) = buf.get_mut((pos - base) as usize) {
                *b = if !self.text {
                    *b ^ 0xa5
                } else {
                    match *b {
                        b'a'..=b'z' | b'A'..=b'Z' => *b ^ 0x20,
                        b'0'..=b'8' => *b + 1,
                        b'9' => b'0',
                        other => other,
                    }
                };
            }
        }
    }
}

/// Buffers a file's content into large writes and holds it to its exact planned size.
pub(super) struct Sink {
    file: File,
    buf: Vec<u8>,
    written: u64,
    pub(super) size: u64,
    text: bool,
    tweak: Option<Tweak>,
}

impl Sink {
    pub(super) fn new(file: File, size: u64, text: bool, tweak: Option<Tweak>) -> Sink {
        Sink {
            file,
            buf: Vec::with_capacity(size.min(BLOCK as u64 + 64 * KIB) as usize),
            written: 0,
            size,
            text,
            tweak,
        }
    }

    pub(super) fn position(&self) -> u64 {
        self.written + self.buf.len() as u64
    }

    pub(super) fn remaining(&self) -> u64 {
        self.size.saturating_sub(self.position())
    }

    pub(super) fn is_full(&self) -> bool {
        self.remaining() == 0
    }

    /// Appends what fits. Text cut short still ends in a newline.
    pub(super) fn push(&mut self, data: &[u8]) -> io::Result<()> {
        let room = self.remaining();
        if data.len() as u64 <= room {
            self.buf.extend_from_slice(data);
        } else {
            self.buf.extend_from_slice(&data[..room as usize]);
            if self.text
                && room > 0
                && let Some(last) = self.buf.last_mut()
            {
                *last = b'\n';
            }
        }
        if self.buf.len() >= BLOCK {
            self.flush_block()?;
        }
        Ok(())
    }

    pub(super) fn push_random(&mut self, rng: &mut Rng, len: u64) -> io::Result<()> {
        let mut left = len.min(self.remaining());
        while left > 0 {
            let take = left.min((BLOCK - self.buf.len().min(BLOCK - 1)) as u64) as usize;
            let start = self.buf.len();
            self.buf.resize(start + take, 0);
            rng.fill(&mut self.buf[start..]);
            left -= take as u64;
            if self.buf.len() >= BLOCK {
                self.flush_block()?;
            }
        }
        Ok(())
    }

    fn flush_block(&mut self) -> io::Result<()> {
        if let Some(tweak) = self.tweak {
            tweak.apply(self.written, &mut self.buf);
        }
        self.file.write_all(&self.buf)?;
        self.written += self.buf.len() as u64;
        self.buf.clear();
        Ok(())
    }

    pub(super) fn finish(mut self, mtime: u64) -> io::Result<u64> {
        // Generators fill their budget; this only pads the degenerate tiny sizes.
        let pad = if self.text { b'\n' } else { 0 };
        while !self.is_full() {
            let n = self.remaining().min(BLOCK as u64) as usize;
            self.buf.resize(self.buf.len() + n, pad);
            self.flush_block()?;
        }
        self.flush_block()?;
        self.file.set_times(file_times(mtime))?;
        Ok(self.written)
    }
}
