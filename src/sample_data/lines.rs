//! Text: the line engine that lands a text file on its exact size.

use std::io;

use super::rng::Rng;
use super::sink::Sink;
use super::words::WORDS;

/// One line (or block) of a text file: fixed `head` and `tail` around free text that can
/// be stretched or shrunk, which is how the last line lands the file on its exact size.
pub(super) struct Line {
    pub(super) head: Vec<u8>,
    text: Vec<u8>,
    pub(super) tail: Vec<u8>,
    pub(super) words: &'static [&'static str],
    pub(super) free: Free,
    /// Free text is separated from the head by a space.
    pub(super) lead: bool,
}

#[derive(Clone, Copy)]
pub(super) enum Free {
    Words(u64),
    Title(u64),
    Sentences(u64),
}

impl Line {
    fn new() -> Line {
        Line {
            head: Vec::with_capacity(512),
            text: Vec::with_capacity(1024),
            tail: Vec::with_capacity(128),
            words: WORDS,
            free: Free::Words(0),
            lead: false,
        }
    }

    fn fixed(&self) -> u64 {
        (self.head.len() + self.tail.len()) as u64
    }

    fn len(&self) -> u64 {
        self.fixed() + self.text.len() as u64
    }

    fn write_to(&self, sink: &mut Sink) -> io::Result<()> {
        sink.push(&self.head)?;
        sink.push(&self.text)?;
        sink.push(&self.tail)
    }
}

/// Where a line starts, for generators that spread dates or timestamps evenly over a file.
#[derive(Clone, Copy)]
pub(super) struct Pos {
    pub(super) index: u64,
    offset: u64,
    size: u64,
}

impl Pos {
    /// The share of `span` that corresponds to how far into the file this line starts.
    pub(super) fn scale(self, span: u64) -> u64 {
        (u128::from(self.offset) * u128::from(span) / u128::from(self.size.max(1))) as u64
    }
}

/// Writes lines from `make` and then `close`, filling the sink exactly. Each line is
/// only committed once the following one is known to fit after it, so the last line
/// can absorb the leftover bytes instead of being cut.
pub(super) fn write_lines<F>(
    sink: &mut Sink,
    rng: &mut Rng,
    close: &[u8],
    mut make: F,
) -> io::Result<()>
where
    F: FnMut(&mut Rng, Pos, &mut Line),
{
    let mut index = 0;
    let size = sink.size;
    let mut build = |rng: &mut Rng, offset: u64, line: &mut Line| {
        line.head.clear();
        line.text.clear();
        line.tail.clear();
        line.words = WORDS;
        line.free = Free::Words(0);
        line.lead = false;
        make(
            rng,
            Pos {
                index,
                offset,
                size,
            },
            line,
        );
        index += 1;
        free_text(rng, &mut line.text, line.words, line.free, line.lead);
    };
    let mut cur = Line::new();
    let mut next = Line::new();
    build(rng, sink.position(), &mut cur);
    loop {
        let room = sink.remaining().saturating_sub(close.len() as u64);
        if room == 0 {
            break;
        }
        if cur.len() > 0 && cur.len() <= room {
            let after = room - cur.len();
            if after == 0 {
                cur.write_to(sink)?;
                break;
            }
            build(rng, sink.position() + cur.len(), &mut next);
            if next.fixed() <= after {
                cur.write_to(sink)?;
                std::mem::swap(&mut cur, &mut next);
                continue;
            }
        }
        if cur.fixed() <= room {
            let len = (room - cur.fixed()) as usize;
            stretch(rng, &mut cur.text, cur.words, cur.free, cur.lead, len);
        }
        cur.write_to(sink)?;
        break;
    }
    sink.push(close)
}

fn free_text(rng: &mut Rng, out: &mut Vec<u8>, words: &[&'static str], free: Free, lead: bool) {
    let n = match free {
        Free::Words(n) | Free::Title(n) | Free::Sentences(n) => n,
    };
    if n == 0 {
        return;
    }
    if lead {
        out.push(b' ');
    }
    match free {
        Free::Words(n) => push_words(rng, out, words, n, false),
        Free::Title(n) => push_words(rng, out, words, n, true),
        Free::Sentences(n) => {
            for i in 0..n {
                if i > 0 {
                    out.push(b' ');
                }
                push_sentence(rng, out, words);
            }
        }
    }
}

/// Replaces free text with text of exactly `len` bytes, ending on a whole word where the
/// word list allows. Word lists are ASCII, so even a forced cut is on a character boundary.
fn stretch(
    rng: &mut Rng,
    out: &mut Vec<u8>,
    words: &[&'static str],
    free: Free,
    lead: bool,
    len: usize,
) {
    out.clear();
    if len == 0 {
        return;
    }
    if lead {
        out.push(b' ');
    }
    let prose = matches!(free, Free::Sentences(_));
    // Prose ends with a full stop, which is reserved here.
    let end = if prose { len - 1 } else { len };
    while prose && out.len() + 160 < end {
        if out.last().is_some_and(|&b| b != b' ') {
            out.push(b' ');
        }
        push_sentence(rng, out, words);
    }
    while out.len() < end {
        let space = usize::from(out.last().is_some_and(|&b| b != b' '));
        let gap = end - out.len() - space;
        let word = if gap > 24 {
            rng.pick(words)
        } else {
            // A word that fills the gap exactly, else one short enough to leave room for
            // another word after it.
            let start = rng.below(words.len() as u64) as usize;
            let rotated = words.iter().cycle().skip(start).take(words.len());
            match rotated.clone().find(|w| w.len() == gap) {
                Some(w) => w,
                None => rotated
                    .clone()
                    .find(|w| w.len() + 2 < gap)
                    .copied()
                    .unwrap_or_else(|| rng.pick(words)),
            }
        };
        if space == 1 {
            out.push(b' ');
        }
        if gap == 0 {
            break;
        }
        out.extend_from_slice(word.as_bytes());
    }
    out.truncate(end);
    if prose {
        if let Some(first) = out.iter_mut().find(|b| **b != b' ') {
            first.make_ascii_uppercase();
        }
        out.push(b'.');
    }
}

fn push_words(rng: &mut Rng, out: &mut Vec<u8>, words: &[&'static str], n: u64, title: bool) {
    for i in 0..n {
        if i > 0 {
            out.push(b' ');
        }
        let start = out.len();
        out.extend_from_slice(rng.pick(words).as_bytes());
        if title
            && i == 0
            && let Some(first) = out.get_mut(start)
        {
            first.make_ascii_uppercase();
        }
    }
}

fn push_sentence(rng: &mut Rng, out: &mut Vec<u8>, words: &[&'static str]) {
    let n = rng.range(6, 16);
    push_words(rng, out, words, 1, true);
    for i in 1..n {
        if i + 2 < n && rng.percent(8) {
            out.push(b',');
        }
        out.push(b' ');
        out.extend_from_slice(rng.pick(words).as_bytes());
    }
    out.push(b'.');
}
