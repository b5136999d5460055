//! Deterministic sample data shaped like a small company's file share.
//!
//! `firedrill quickstart` backs this tree up so a new user sees compression and
//! deduplication do real work, and tests use it as realistic input. The mix covers what a
//! backup tool has to get right: compressible text, incompressible media, a large dump
//! with both, exact and near duplicates, an empty file, names with spaces and non-ASCII
//! characters, deep nesting and a relative symlink.
//!
//! Every file's bytes come from its own BLAKE3-seeded stream keyed by the seed and the
//! file's path, so one file's content never depends on the order or size of the others.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File, FileTimes};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SampleSpec {
    /// Combined size of all regular files. Met exactly: text files end on a line whose
    /// length is chosen to fill the budget.
    pub total_bytes: u64,
    /// Same seed and size give a byte-identical tree, names and modification times included.
    pub seed: u64,
}

/// What [`generate`] created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SampleStats {
    /// Regular files, the empty one included.
    pub files: u64,
    /// Directories below the target directory, which is not counted itself.
    pub dirs: u64,
    /// Zero where the platform refuses unprivileged symlinks (Windows without developer mode).
    pub symlinks: u64,
    /// Sum of regular file sizes.
    pub bytes: u64,
}

/// Creates a deterministic tree under `dir` (created if missing; must be empty or absent,
/// else an io::Error of kind AlreadyExists naming the dir). Same spec → byte-identical
/// contents, names and mtimes.
///
/// Modification times are fixed for files and, on Unix, for directories; a symlink's own
/// timestamp cannot be set through std and is left as created. A failure part-way leaves
/// whatever was written so far in place: the tree is sample data, so nothing is rolled back.
pub fn generate(dir: &Path, spec: &SampleSpec) -> io::Result<SampleStats> {
    prepare_root(dir)?;
    let entries = plan(spec);

    let mut dirs = BTreeSet::new();
    for entry in &entries {
        add_ancestors(&mut dirs, &entry.path);
    }
    add_ancestors(&mut dirs, SYMLINK);
    // Lexicographic order puts every parent before its children.
    for rel in &dirs {
        fs::create_dir(join(dir, rel))?;
    }

    let mut stats = SampleStats {
        dirs: dirs.len() as u64,
        ..SampleStats::default()
    };
    for entry in &entries {
        stats.bytes += write_entry(dir, entry, spec.seed)?;
        stats.files += 1;
    }
    if make_symlink(SYMLINK_TARGET, &join(dir, SYMLINK))? {
        stats.symlinks += 1;
    }

    // Last, because creating entries bumps their directory's mtime.
    let mut dir_times: BTreeMap<&str, u64> = BTreeMap::new();
    let latest_log = entries
        .iter()
        .find(|e| e.path == LATEST_LOG)
        .map_or(NOW, |e| e.mtime);
    for (path, mtime) in entries
        .iter()
        .map(|e| (e.path.as_str(), e.mtime))
        .chain([(SYMLINK, latest_log)])
    {
        bump(&mut dir_times, parent_of(path), mtime);
    }
    for rel in dirs.iter().rev() {
        let mtime = dir_times.get(rel.as_str()).copied().unwrap_or(NOW);
        bump(&mut dir_times, parent_of(rel), mtime);
        set_dir_mtime(&join(dir, rel), mtime)?;
    }
    set_dir_mtime(dir, dir_times.get("").copied().unwrap_or(NOW))?;

    Ok(stats)
}

fn prepare_root(dir: &Path) -> io::Result<()> {
    match fs::metadata(dir) {
        Ok(meta) if !meta.is_dir() => Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!(
                "{} already exists and is not a directory; sample data needs an empty or absent directory",
                dir.display()
            ),
        )),
        Ok(_) => match fs::read_dir(dir)?.next() {
            None => Ok(()),
            Some(Err(e)) => Err(e),
            Some(Ok(_)) => Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!(
                    "{} is not empty; sample data needs an empty or absent directory",
                    dir.display()
                ),
            )),
        },
        Err(e) if e.kind() == io::ErrorKind::NotFound => fs::create_dir_all(dir),
        Err(e) => Err(e),
    }
}

fn join(root: &Path, rel: &str) -> PathBuf {
    let mut path = root.to_path_buf();
    path.extend(rel.split('/').filter(|c| !c.is_empty()));
    path
}

fn parent_of(rel: &str) -> &str {
    rel.rsplit_once('/').map_or("", |(parent, _)| parent)
}

fn add_ancestors(dirs: &mut BTreeSet<String>, rel: &str) {
    let mut parent = parent_of(rel);
    while !parent.is_empty() && dirs.insert(parent.to_string()) {
        parent = parent_of(parent);
    }
}

fn bump<'a>(times: &mut BTreeMap<&'a str, u64>, dir: &'a str, mtime: u64) {
    let slot = times.entry(dir).or_insert(0);
    *slot = (*slot).max(mtime);
}

fn file_times(secs: u64) -> FileTimes {
    let t = SystemTime::UNIX_EPOCH + Duration::from_secs(secs);
    FileTimes::new().set_modified(t).set_accessed(t)
}

#[cfg(unix)]
fn set_dir_mtime(path: &Path, secs: u64) -> io::Result<()> {
    File::open(path)?.set_times(file_times(secs))
}

// Elsewhere std cannot open a directory handle (Windows needs backup semantics), so
// directory times stay as created.
#[cfg(not(unix))]
fn set_dir_mtime(_path: &Path, _secs: u64) -> io::Result<()> {
    Ok(())
}

#[cfg(unix)]
fn make_symlink(target: &str, link: &Path) -> io::Result<bool> {
    std::os::unix::fs::symlink(target, link).map(|()| true)
}

#[cfg(windows)]
fn make_symlink(target: &str, link: &Path) -> io::Result<bool> {
    // ERROR_PRIVILEGE_NOT_HELD: an unprivileged user without developer mode. The sample
    // is still worth having without its symlink.
    const PRIVILEGE_NOT_HELD: i32 = 1314;
    match std::os::windows::fs::symlink_file(target.replace('/', "\\"), link) {
        Ok(()) => Ok(true),
        Err(e) if e.raw_os_error() == Some(PRIVILEGE_NOT_HELD) => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(not(any(unix, windows)))]
fn make_symlink(_target: &str, _link: &Path) -> io::Result<bool> {
    Ok(false)
}

// ---------------------------------------------------------------------------------------
// Layout

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;
const DAY: u64 = 86_400;

// A fixed "now" keeps trees reproducible across runs and machines: the last working
// afternoon of the quarter the sample documents talk about.
const NOW_DAY: i64 = days_from_civil(2026, 3, 31);
const NOW: u64 = NOW_DAY as u64 * DAY + 17 * 3_600;

const README: &str = "documents/README.md";
const BOARD_REPORT: &str = "documents/reports/board-report-2026-Q1.md";
const ANNUAL_REPORT: &str = "documents/reports/annual-report-2025.md";
const CONTRACT: &str = "documents/contracts/service-agreement-acme-gmbh.md";
const HANDBOOK: &str = "documents/hr/Employee Handbook (draft).md";
const LEDGER: &str = "documents/finance/ledger-2025.csv";
const TRANSFERS: &str = "documents/finance/Überweisung März 2026.csv";
const INVOICES: &str = "documents/finance/invoices-2026.csv";
const CUSTOMERS: &str = "documents/crm/customers.json";
const EVENTS: &str = "documents/crm/events-2026-03.jsonl";
const ACCESS_LOG: &str = "documents/logs/access.log";
const LATEST_LOG: &str = "documents/logs/app-2026-03-31.log";
const SYMLINK: &str = "documents/latest.log";
const SYMLINK_TARGET: &str = "logs/app-2026-03-31.log";
const EMPTY: &str = "documents/templates/blank.md";
const DEEP_NOTES: &str = "documents/projects/2026/clients/acme-gmbh/migration/drafts/v3/notes.md";
const DUMP: &str = "database/erp-2026-03-31.dump";
const BOARD_REPORT_COPY: &str = "archive/reports/board-report-2026-Q1 (copy).md";
const CONTRACT_V1: &str = "archive/contracts/service-agreement-acme-gmbh v1.md";
const ARCHIVE_PHOTOS: &str = "archive/2025/photos";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Content {
    Doc(Doc),
    Ledger,
    Transfers,
    Invoices,
    Customers,
    Events,
    /// `span` is how many seconds of `day` the log covers.
    AppLog {
        day: i64,
        span: u64,
    },
    AccessLog {
        day: i64,
        span: u64,
    },
    Dump,
    Jpeg,
    Png,
    Empty,
}

impl Content {
    fn is_text(self) -> bool {
        !matches!(self, Content::Dump | Content::Jpeg | Content::Png)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Doc {
    Readme,
    BoardReport,
    AnnualReport,
    Contract,
    Handbook,
    Notes,
}

#[derive(Debug)]
struct Entry {
    path: String,
    /// Names the content stream; a copy shares its original's so the bytes match.
    source: String,
    size: u64,
    mtime: u64,
    content: Content,
    tweak: Option<Tweak>,
}

fn plan(spec: &SampleSpec) -> Vec<Entry> {
    let total = spec.total_bytes;
    let mut rng = Rng::for_stream(spec.seed, "plan");
    let mut entries = Vec::new();
    let mut add = |path: String, size: u64, mtime: u64, content: Content| {
        entries.push(Entry {
            source: path.clone(),
            path,
            size,
            mtime,
            content,
            tweak: None,
        });
    };

    // Shares in per mille. Documents take what is left after the archive's copies, so the
    // total is exact; the shares keep at least a fifth of it for them.
    let images_total = per_mille(total, 280);
    let dump = per_mille(total, 220);
    let board = per_mille(total, 15);
    let contract = per_mille(total, 15);

    let count = (images_total / MIB).clamp(3, 48);
    let weights: Vec<u64> = (0..count).map(|_| rng.range(50, 150)).collect();
    let photos = count - count / 3;
    let mut photo_no = 4000 + rng.below(1000);
    let mut images = Vec::new();
    for (i, size) in (0u64..).zip(split(images_total, &weights)) {
        let (path, content) = if i < photos {
            photo_no += rng.range(1, 40);
            (
                format!("images/photos/IMG_{photo_no:04}.jpg"),
                Content::Jpeg,
            )
        } else {
            let n = i - photos + 1;
            (format!("images/scans/scan_{n:03}.png"), Content::Png)
        };
        images.push((path.clone(), size));
        add(path, size, ago(&mut rng, 30 * DAY, 3 * 365 * DAY), content);
    }

    add(
        DUMP.to_string(),
        dump,
        NOW - 15 * 3_600 + rng.range(120, 900),
        Content::Dump,
    );
    add(
        BOARD_REPORT.to_string(),
        board,
        ago(&mut rng, 3_600, 5 * DAY),
        Content::Doc(Doc::BoardReport),
    );
    add(
        CONTRACT.to_string(),
        contract,
        ago(&mut rng, 20 * DAY, 60 * DAY),
        Content::Doc(Doc::Contract),
    );

    let remaining = total.saturating_sub(
        images_total
            + dump
            + 2 * (board + contract)
            + images.iter().take(2).map(|i| i.1).sum::<u64>(),
    );
    // Ledger, transfers, invoices, customers, events, three days of app logs, access log,
    // annual report, handbook, readme, deep notes.
    let mut doc_sizes = split(remaining, &[18, 4, 6, 14, 10, 9, 9, 9, 10, 6, 3, 1, 1]);
    // A readme or a page of notes is small however big the share; the ledger takes the rest.
    for i in [11, 12] {
        if let Some(size) = doc_sizes.get_mut(i) {
            let excess = size.saturating_sub(16 * KIB);
            *size -= excess;
            if let Some(ledger) = doc_sizes.first_mut() {
                *ledger += excess;
            }
        }
    }
    let doc_size = |i: usize| doc_sizes.get(i).copied().unwrap_or(0);

    add(
        LEDGER.to_string(),
        doc_size(0),
        ago(&mut rng, 80 * DAY, 89 * DAY),
        Content::Ledger,
    );
    add(
        TRANSFERS.to_string(),
        doc_size(1),
        ago(&mut rng, 600, 2 * DAY),
        Content::Transfers,
    );
    add(
        INVOICES.to_string(),
        doc_size(2),
        ago(&mut rng, 600, 2 * DAY),
        Content::Invoices,
    );
    add(
        CUSTOMERS.to_string(),
        doc_size(3),
        ago(&mut rng, DAY, 7 * DAY),
        Content::Customers,
    );
    add(
        EVENTS.to_string(),
        doc_size(4),
        ago(&mut rng, 60, 3_600),
        Content::Events,
    );
    for (i, back) in [(5, 2), (6, 1), (7, 0)] {
        let day = NOW_DAY - back;
        let (span, mtime) = if back == 0 {
            let mtime = ago(&mut rng, 5, 300);
            (mtime - day as u64 * DAY, mtime)
        } else {
            (DAY, day as u64 * DAY + DAY - rng.range(1, 30))
        };
        add(
            format!("documents/logs/app-{}.log", date_string(day)),
            doc_size(i),
            mtime,
            Content::AppLog { day, span },
        );
    }
    let access_mtime = ago(&mut rng, 1, 60);
    add(
        ACCESS_LOG.to_string(),
        doc_size(8),
        access_mtime,
        Content::AccessLog {
            day: NOW_DAY,
            span: access_mtime - NOW_DAY as u64 * DAY,
        },
    );
    add(
        ANNUAL_REPORT.to_string(),
        doc_size(9),
        ago(&mut rng, 40 * DAY, 70 * DAY),
        Content::Doc(Doc::AnnualReport),
    );
    add(
        HANDBOOK.to_string(),
        doc_size(10),
        ago(&mut rng, 100 * DAY, 300 * DAY),
        Content::Doc(Doc::Handbook),
    );
    add(
        README.to_string(),
        doc_size(11),
        ago(&mut rng, 200 * DAY, 700 * DAY),
        Content::Doc(Doc::Readme),
    );
    add(
        DEEP_NOTES.to_string(),
        doc_size(12),
        ago(&mut rng, DAY, 14 * DAY),
        Content::Doc(Doc::Notes),
    );
    add(
        EMPTY.to_string(),
        0,
        ago(&mut rng, 400 * DAY, 500 * DAY),
        Content::Empty,
    );

    // The archive: what people really keep around. Exact copies exercise whole-file
    // dedup; the edited copies differ in a few bytes mid-file, which only chunk-level
    // dedup catches.
    let mut copy = |path: String, source: &str, near: bool| {
        let Some(original) = entries.iter().find(|e| e.path == source) else {
            return;
        };
        let tweak = near.then(|| Tweak {
            offset: original.size / 2,
            len: if original.content.is_text() { 24 } else { 16 },
            text: original.content.is_text(),
        });
        let entry = Entry {
            path,
            source: original.source.clone(),
            size: original.size,
            // Copied with times preserved; v1 predates the current version; an edit
            // postdates its original.
            mtime: match (near, original.content.is_text()) {
                (false, _) => original.mtime,
                (true, true) => original.mtime - rng.range(10 * DAY, 90 * DAY),
                (true, false) => (original.mtime + rng.range(3_600, 30 * DAY)).min(NOW),
            },
            content: original.content,
            tweak,
        };
        entries.push(entry);
    };
    for (i, (path, _)) in images.iter().take(2).enumerate() {
        let name = path.rsplit('/').next().unwrap_or(path);
        let name = if i == 0 {
            name.to_string()
        } else {
            let (stem, ext) = name.rsplit_once('.').unwrap_or((name, "jpg"));
            format!("{stem} (edited).{ext}")
        };
        copy(format!("{ARCHIVE_PHOTOS}/{name}"), path, i == 1);
    }
    copy(BOARD_REPORT_COPY.to_string(), BOARD_REPORT, false);
    copy(CONTRACT_V1.to_string(), CONTRACT, true);

    entries
}

fn per_mille(total: u64, share: u64) -> u64 {
    (u128::from(total) * u128::from(share) / 1000) as u64
}

/// Splits `total` by `weights`; the last part takes the rounding so the parts add up.
fn split(total: u64, weights: &[u64]) -> Vec<u64> {
    let sum: u128 = weights.iter().map(|&w| u128::from(w)).sum::<u128>().max(1);
    let mut parts: Vec<u64> = weights
        .iter()
        .map(|&w| (u128::from(total) * u128::from(w) / sum) as u64)
        .collect();
    let assigned: u64 = parts.iter().sum();
    if let Some(last) = parts.last_mut() {
        *last += total - assigned;
    }
    parts
}

fn ago(rng: &mut Rng, min: u64, max: u64) -> u64 {
    NOW - rng.range(min, max)
}

fn write_entry(root: &Path, entry: &Entry, seed: u64) -> io::Result<u64> {
    let file = File::create_new(join(root, &entry.path))?;
    let mut sink = Sink::new(file, entry.size, entry.content.is_text(), entry.tweak);
    let mut rng = Rng::for_stream(seed, &entry.source);
    match entry.content {
        Content::Doc(doc) => write_doc(&mut sink, &mut rng, doc)?,
        Content::Ledger => write_ledger(&mut sink, &mut rng)?,
        Content::Transfers => write_transfers(&mut sink, &mut rng)?,
        Content::Invoices => write_invoices(&mut sink, &mut rng)?,
        Content::Customers => write_customers(&mut sink, &mut rng)?,
        Content::Events => write_events(&mut sink, &mut rng)?,
        Content::AppLog { day, span } => write_app_log(&mut sink, &mut rng, day, span)?,
        Content::AccessLog { day, span } => write_access_log(&mut sink, &mut rng, day, span)?,
        Content::Dump => write_dump(&mut sink, &mut rng)?,
        Content::Jpeg => write_image(&mut sink, &mut rng, JPEG_HEAD, JPEG_TAIL)?,
        Content::Png => write_image(&mut sink, &mut rng, PNG_HEAD, PNG_TAIL)?,
        Content::Empty => {}
    }
    sink.finish(entry.mtime)
}

// ---------------------------------------------------------------------------------------
// Randomness

/// xoshiro256**: fast enough to fill tens of MiB in milliseconds, and fully specified, so
/// the bytes never change with a dependency upgrade.
struct Rng {
    s: [u64; 4],
}

impl Rng {
    fn for_stream(seed: u64, label: &str) -> Rng {
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

    fn next_u64(&mut self) -> u64 {
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
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        lo + self.below(hi - lo + 1)
    }

    fn percent(&mut self, p: u64) -> bool {
        self.below(100) < p
    }

    fn pick<T: Copy + Default>(&mut self, items: &[T]) -> T {
        items
            .get(self.below(items.len() as u64) as usize)
            .copied()
            .unwrap_or_default()
    }

    fn fill(&mut self, buf: &mut [u8]) {
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

// ---------------------------------------------------------------------------------------
// Output

const BLOCK: usize = MIB as usize;

/// A change applied to bytes `offset..offset + len` as they are written, turning a
/// regenerated copy into a near duplicate.
#[derive(Debug, Clone, Copy)]
struct Tweak {
    offset: u64,
    len: u64,
    /// Text keeps its character set (letters swap case, digits shift) so the copy stays
    /// valid UTF-8; binary bytes are flipped.
    text: bool,
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
struct Sink {
    file: File,
    buf: Vec<u8>,
    written: u64,
    size: u64,
    text: bool,
    tweak: Option<Tweak>,
}

impl Sink {
    fn new(file: File, size: u64, text: bool, tweak: Option<Tweak>) -> Sink {
        Sink {
            file,
            buf: Vec::with_capacity(size.min(BLOCK as u64 + 64 * KIB) as usize),
            written: 0,
            size,
            text,
            tweak,
        }
    }

    fn position(&self) -> u64 {
        self.written + self.buf.len() as u64
    }

    fn remaining(&self) -> u64 {
        self.size.saturating_sub(self.position())
    }

    fn is_full(&self) -> bool {
        self.remaining() == 0
    }

    /// Appends what fits. Text cut short still ends in a newline.
    fn push(&mut self, data: &[u8]) -> io::Result<()> {
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

    fn push_random(&mut self, rng: &mut Rng, len: u64) -> io::Result<()> {
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

    fn finish(mut self, mtime: u64) -> io::Result<u64> {
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

// ---------------------------------------------------------------------------------------
// Text

/// One line (or block) of a text file: fixed `head` and `tail` around free text that can
/// be stretched or shrunk, which is how the last line lands the file on its exact size.
struct Line {
    head: Vec<u8>,
    text: Vec<u8>,
    tail: Vec<u8>,
    words: &'static [&'static str],
    free: Free,
    /// Free text is separated from the head by a space.
    lead: bool,
}

#[derive(Clone, Copy)]
enum Free {
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
struct Pos {
    index: u64,
    offset: u64,
    size: u64,
}

impl Pos {
    /// The share of `span` that corresponds to how far into the file this line starts.
    fn scale(self, span: u64) -> u64 {
        (u128::from(self.offset) * u128::from(span) / u128::from(self.size.max(1))) as u64
    }
}

/// Writes lines from `make` and then `close`, filling the sink exactly. Each line is
/// only committed once the following one is known to fit after it, so the last line
/// can absorb the leftover bytes instead of being cut.
fn write_lines<F>(sink: &mut Sink, rng: &mut Rng, close: &[u8], mut make: F) -> io::Result<()>
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

fn write_doc(sink: &mut Sink, rng: &mut Rng, doc: Doc) -> io::Result<()> {
    let (title, tables) = match doc {
        Doc::Readme => ("Company shared drive", false),
        Doc::BoardReport => ("Board report Q1 2026", true),
        Doc::AnnualReport => ("Annual report 2025", true),
        Doc::Contract => ("Service agreement: Acme GmbH", false),
        Doc::Handbook => ("Employee handbook (draft)", false),
        Doc::Notes => ("Migration notes: Acme GmbH, draft v3", false),
    };
    let owner = (rng.pick(FIRST_NAMES), rng.pick(LAST_NAMES));
    let mut section = 0u64;
    let mut since_heading = 0u64;
    let mut bullets_left = 0u64;
    write_lines(sink, rng, b"", |rng, pos, line| {
        let head = &mut line.head;
        if pos.index == 0 {
            let _ = write!(
                head,
                "# {title}\n\n_Owner: {} {}. Last reviewed {}._",
                owner.0,
                owner.1,
                date_string(NOW_DAY - rng.range(1, 60) as i64)
            );
            line.tail.extend_from_slice(b"\n\n");
            line.lead = true;
        } else if bullets_left > 0 {
            bullets_left -= 1;
            head.extend_from_slice(b"- ");
            line.free = Free::Sentences(1);
            line.tail
                .extend_from_slice(if bullets_left == 0 { b"\n\n" } else { b"\n" });
        } else if pos.index == 1 || since_heading >= rng.range(2, 7) {
            section += 1;
            since_heading = 0;
            if doc == Doc::Contract {
                let _ = write!(head, "## § {section} {}", rng.pick(CONTRACT_SECTIONS));
            } else {
                let _ = write!(head, "## {section}. ");
                line.free = Free::Title(rng.range(2, 5));
            }
            line.tail.extend_from_slice(b"\n\n");
        } else {
            since_heading += 1;
            let roll = rng.below(100);
            if roll < 15 {
                bullets_left = rng.range(2, 5);
                head.extend_from_slice(b"- ");
                line.free = Free::Sentences(1);
                line.tail.push(b'\n');
            } else if tables && roll < 25 {
                push_table(rng, head);
                line.tail.push(b'\n');
            } else {
                line.free = Free::Sentences(rng.range(2, 6));
                line.tail.extend_from_slice(b"\n\n");
            }
        }
    })
}

fn push_table(rng: &mut Rng, out: &mut Vec<u8>) {
    out.extend_from_slice(
        b"| Region | Q4 2025 (EUR) | Q1 2026 (EUR) | Change |\n|---|---:|---:|---:|\n",
    );
    for region in REGIONS
        .iter()
        .take(rng.range(3, REGIONS.len() as u64) as usize)
    {
        let before = rng.range(20_000, 900_000);
        let after = before * rng.range(80, 130) / 100;
        let change = (after as f64 - before as f64) / before as f64 * 100.0;
        let _ = writeln!(out, "| {region} | {before} | {after} | {change:+.1}% |");
    }
}

fn write_ledger(sink: &mut Sink, rng: &mut Rng) -> io::Result<()> {
    sink.push(b"date,entry_id,account,description,debit,credit,currency,reference\n")?;
    let start = days_from_civil(2025, 1, 1);
    write_lines(sink, rng, b"", |rng, pos, line| {
        let day = start + pos.scale(365) as i64;
        push_date(&mut line.head, day);
        let cents = rng.range(500, 2_500_000);
        let _ = write!(
            line.head,
            ",JE-{:06},{},",
            1 + pos.index,
            rng.pick(ACCOUNTS)
        );
        line.free = Free::Title(rng.range(3, 7));
        let debit = rng.percent(55);
        line.tail.push(b',');
        push_money(&mut line.tail, if debit { cents } else { 0 });
        line.tail.push(b',');
        push_money(&mut line.tail, if debit { 0 } else { cents });
        let _ = writeln!(line.tail, ",EUR,INV-2025-{:05}", rng.range(1, 99_999));
    })
}

fn write_transfers(sink: &mut Sink, rng: &mut Rng) -> io::Result<()> {
    sink.push(
        "Buchungstag;Valuta;Empfänger/Zahlungspflichtiger;IBAN;BIC;Verwendungszweck;Betrag;Währung\n"
            .as_bytes(),
    )?;
    let start = days_from_civil(2026, 3, 1);
    write_lines(sink, rng, b"", |rng, pos, line| {
        let day = start + pos.scale(31) as i64;
        let head = &mut line.head;
        push_date_de(head, day);
        head.push(b';');
        push_date_de(head, day + rng.range(0, 2) as i64);
        let payee = if rng.percent(50) {
            rng.pick(COMPANIES).to_string()
        } else {
            format!("{} {}", rng.pick(FIRST_NAMES), rng.pick(LAST_NAMES))
        };
        let _ = write!(head, ";{payee};DE{:02}", rng.range(10, 99));
        for _ in 0..4 {
            let _ = write!(head, " {:04}", rng.below(10_000));
        }
        let _ = write!(head, " {:02};{};", rng.below(100), rng.pick(BICS));
        line.words = GERMAN_WORDS;
        line.free = Free::Words(rng.range(2, 4));
        let cents = rng.range(990, 1_500_000) as i64;
        let signed = if rng.percent(80) { -cents } else { cents };
        let _ = write!(line.tail, " RE-2026-{:04};", rng.range(1, 9_999));
        push_money_de(&mut line.tail, signed);
        line.tail.extend_from_slice(b";EUR\n");
    })
}

fn write_invoices(sink: &mut Sink, rng: &mut Rng) -> io::Result<()> {
    sink.push(b"invoice_no,customer,issued,due,net,vat,gross,currency,status,notes\n")?;
    let start = days_from_civil(2026, 1, 2);
    let span = (NOW_DAY - start) as u64;
    write_lines(sink, rng, b"", |rng, pos, line| {
        let issued = start + pos.scale(span) as i64;
        let net = rng.range(4_900, 4_800_000);
        let vat = net * 19 / 100;
        let head = &mut line.head;
        let _ = write!(
            head,
            "RE-2026-{:05},{},",
            1 + pos.index,
            rng.pick(COMPANIES)
        );
        push_date(head, issued);
        head.push(b',');
        push_date(head, issued + 30);
        head.push(b',');
        push_money(head, net);
        head.push(b',');
        push_money(head, vat);
        head.push(b',');
        push_money(head, net + vat);
        let status = if issued + 30 < NOW_DAY {
            if rng.percent(90) { "paid" } else { "overdue" }
        } else if rng.percent(5) {
            "cancelled"
        } else {
            "open"
        };
        let _ = write!(head, ",EUR,{status},");
        line.free = Free::Words(rng.below(5));
        line.tail.push(b'\n');
    })
}

fn write_customers(sink: &mut Sink, rng: &mut Rng) -> io::Result<()> {
    sink.push(b"[\n")?;
    write_lines(sink, rng, b"\n]\n", |rng, pos, line| {
        let head = &mut line.head;
        let first = rng.pick(FIRST_NAMES);
        let last = rng.pick(LAST_NAMES);
        let (city, country) = rng.pick(CITIES);
        if pos.index > 0 {
            head.extend_from_slice(b",\n");
        }
        let _ = write!(
            head,
            "  {{\n    \"id\": {},\n    \"name\": ",
            10_001 + pos.index
        );
        push_json_str(head, &format!("{first} {last}"));
        head.extend_from_slice(b",\n    \"email\": \"");
        push_email_part(head, first);
        head.push(b'.');
        push_email_part(head, last);
        let _ = write!(head, "{}@example.com\",\n    \"company\": ", rng.below(100));
        push_json_str(head, rng.pick(COMPANIES));
        head.extend_from_slice(b",\n    \"city\": ");
        push_json_str(head, city);
        let _ = write!(
            head,
            ",\n    \"country\": \"{country}\",\n    \"customer_since\": \""
        );
        push_date(
            head,
            days_from_civil(2012, 1, 1) + rng.below(14 * 365) as i64,
        );
        let tier = rng.pick(&["bronze", "silver", "gold", "platinum"]);
        let _ = write!(head, "\",\n    \"tier\": \"{tier}\",\n    \"balance\": ");
        push_money(head, rng.range(0, 5_000_000));
        head.extend_from_slice(b",\n    \"tags\": [");
        // Consecutive entries of the list, so a customer never repeats a tag.
        let first_tag = rng.below(TAGS.len() as u64) as usize;
        let tags = TAGS
            .iter()
            .cycle()
            .skip(first_tag)
            .take(rng.range(1, 3) as usize);
        for (i, tag) in tags.enumerate() {
            if i > 0 {
                head.extend_from_slice(b", ");
            }
            let _ = write!(head, "\"{tag}\"");
        }
        head.extend_from_slice(b"],\n    \"notes\": \"");
        line.free = Free::Sentences(rng.range(0, 2));
        line.tail.extend_from_slice(b"\"\n  }");
    })
}

fn write_events(sink: &mut Sink, rng: &mut Rng) -> io::Result<()> {
    let start = days_from_civil(2026, 3, 1) as u64 * DAY;
    write_lines(sink, rng, b"", |rng, pos, line| {
        let ts = start + pos.scale(NOW - 3_600 - start);
        let head = &mut line.head;
        head.extend_from_slice(b"{\"ts\":\"");
        push_timestamp(head, ts, b'T');
        let _ = write!(
            head,
            "Z\",\"event\":\"{}\",\"order_id\":{},\"customer_id\":{},\"amount\":",
            rng.pick(EVENT_TYPES),
            rng.range(40_000, 60_000),
            rng.range(10_001, 12_000)
        );
        push_money(head, rng.range(100, 900_000));
        let _ = write!(
            head,
            ",\"currency\":\"EUR\",\"channel\":\"{}\",\"note\":\"",
            rng.pick(&["web", "phone", "email", "partner", "pos"])
        );
        line.free = Free::Words(rng.below(5));
        line.tail.extend_from_slice(b"\"}\n");
    })
}

fn write_app_log(sink: &mut Sink, rng: &mut Rng, day: i64, span: u64) -> io::Result<()> {
    let start_ms = day as u64 * DAY * 1000;
    write_lines(sink, rng, b"", |rng, pos, line| {
        let ms = start_ms + pos.scale(span * 1000);
        let head = &mut line.head;
        push_timestamp(head, ms / 1000, b'T');
        let roll = rng.below(100);
        let level = match roll {
            0..=2 => "ERROR",
            3..=9 => "WARN ",
            10..=19 => "DEBUG",
            _ => "INFO ",
        };
        let _ = write!(
            head,
            ".{:03}Z {level} [{}] ",
            ms % 1000,
            rng.pick(COMPONENTS)
        );
        match (level, rng.below(8)) {
            ("ERROR", _) => {
                let _ = write!(
                    head,
                    "upstream timeout after 30000ms: {} (attempt {})",
                    rng.pick(&["inventory-service", "payment-gateway", "smtp-relay"]),
                    rng.range(1, 5)
                );
            }
            ("WARN ", _) => {
                let _ = write!(
                    head,
                    "slow query took {}ms: SELECT * FROM orders WHERE customer_id = {}",
                    rng.range(500, 9_000),
                    rng.range(10_001, 12_000)
                );
            }
            (_, 0) => {
                let _ = write!(
                    head,
                    "GET /api/v1/orders/{} 200 {}ms",
                    rng.range(40_000, 60_000),
                    rng.range(2, 400)
                );
            }
            (_, 1) => {
                let _ = write!(head, "POST /api/v1/invoices 201 {}ms", rng.range(5, 800));
            }
            (_, 2) => {
                let _ = write!(head, "db pool: {}/32 connections in use", rng.range(1, 32));
            }
            (_, 3) => {
                let _ = write!(head, "payment {} captured: ", rng.range(100_000, 999_999));
                push_money(head, rng.range(100, 500_000));
                head.extend_from_slice(b" EUR");
            }
            _ => {
                line.free = Free::Words(rng.range(3, 9));
                let _ = write!(line.tail, " request_id={:08x}", rng.next_u64() as u32);
            }
        }
        line.lead = !head.ends_with(b"] ");
        line.tail.push(b'\n');
    })
}

fn write_access_log(sink: &mut Sink, rng: &mut Rng, day: i64, span: u64) -> io::Result<()> {
    let start = day as u64 * DAY;
    write_lines(sink, rng, b"", |rng, pos, line| {
        let ts = start + pos.scale(span);
        let (year, month, dom) = civil_from_days(day);
        let secs = ts % DAY;
        let head = &mut line.head;
        let _ = write!(
            head,
            "{}.{} - - [{dom:02}/{}/{year}:{:02}:{:02}:{:02} +0000] \"",
            // Documentation address ranges: sample logs must not name real hosts.
            rng.pick(&["192.0.2", "198.51.100", "203.0.113"]),
            rng.range(1, 254),
            (month as usize)
                .checked_sub(1)
                .and_then(|i| MONTHS.get(i))
                .copied()
                .unwrap_or("Jan"),
            secs / 3_600,
            secs / 60 % 60,
            secs % 60
        );
        let method = if rng.percent(85) { "GET" } else { "POST" };
        let path = rng.pick(URL_PATHS);
        let _ = write!(head, "{method} {path}");
        if path.ends_with('/') && path.len() > 1 {
            let _ = write!(head, "{}", rng.range(1, 60_000));
        }
        let status = rng.pick(&[200u64, 200, 200, 200, 200, 304, 301, 404, 500]);
        let _ = write!(
            head,
            " HTTP/1.1\" {status} {} \"-\" \"{}",
            rng.range(0, 250_000),
            rng.pick(USER_AGENTS)
        );
        line.lead = true;
        line.tail.extend_from_slice(b"\"\n");
    })
}

fn push_json_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    for c in s.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => {
                let mut utf8 = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
            }
        }
    }
    out.push(b'"');
}

fn push_email_part(out: &mut Vec<u8>, name: &str) {
    for c in name.chars() {
        let ascii: &[u8] = match c {
            'ä' | 'Ä' => b"ae",
            'ö' | 'Ö' => b"oe",
            'ü' | 'Ü' => b"ue",
            'ß' => b"ss",
            'é' | 'è' | 'ë' | 'É' => b"e",
            'ø' | 'Ø' => b"o",
            'å' | 'Å' => b"a",
            c if c.is_ascii_alphanumeric() => {
                out.push(c.to_ascii_lowercase() as u8);
                continue;
            }
            _ => b"",
        };
        out.extend_from_slice(ascii);
    }
}

fn push_money(out: &mut Vec<u8>, cents: u64) {
    let _ = write!(out, "{}.{:02}", cents / 100, cents % 100);
}

/// German style: `-1.234,56`.
fn push_money_de(out: &mut Vec<u8>, cents: i64) {
    if cents < 0 {
        out.push(b'-');
    }
    let cents = cents.unsigned_abs();
    let euros = (cents / 100).to_string();
    for (i, digit) in euros.bytes().enumerate() {
        if i > 0 && (euros.len() - i).is_multiple_of(3) {
            out.push(b'.');
        }
        out.push(digit);
    }
    let _ = write!(out, ",{:02}", cents % 100);
}

// ---------------------------------------------------------------------------------------
// Binary

fn write_dump(sink: &mut Sink, rng: &mut Rng) -> io::Result<()> {
    sink.push(DUMP_HEADER.as_bytes())?;
    // Blocks scale with the file so a big dump is not just thousands of tiny sections.
    let block = (sink.remaining() / 24).clamp(16 * KIB, 4 * MIB);
    let mut next_id = [1u64; 4];
    let mut oid = 16_384u64;
    let mut row = Vec::with_capacity(256);
    while !sink.is_full() {
        let table = rng.below(4) as usize;
        let (name, columns) = DUMP_TABLES.get(table).copied().unwrap_or(("orders", ""));
        let mut header = Vec::new();
        let _ = write!(
            header,
            "--\n-- Data for Name: {name}; Type: TABLE DATA; Schema: public\n--\n\nCOPY public.{name} ({columns}) FROM stdin;\n"
        );
        sink.push(&header)?;
        let target = block / 2 + rng.below(block);
        let mut written = 0;
        while written < target && !sink.is_full() {
            row.clear();
            let id = next_id.get(table).copied().unwrap_or(1);
            if let Some(slot) = next_id.get_mut(table) {
                *slot += 1;
            }
            push_dump_row(rng, &mut row, table, id);
            sink.push(&row)?;
            written += row.len() as u64;
        }
        sink.push(b"\\.\n\n")?;
        // Large objects stand in for attachments stored in the database: already
        // compressed, so they resist compression and delta encoding alike.
        if rng.percent(70) {
            let len = block / 6 + rng.below(block / 3);
            header.clear();
            let _ = write!(header, "--\n-- Large object {oid} ({len} bytes)\n--\n");
            oid += 1;
            sink.push(&header)?;
            sink.push_random(rng, len)?;
            sink.push(b"\n")?;
        }
    }
    Ok(())
}

fn push_dump_row(rng: &mut Rng, row: &mut Vec<u8>, table: usize, id: u64) {
    let when = NOW - rng.range(DAY, 3 * 365 * DAY);
    match table {
        0 => {
            let _ = write!(row, "{id}\t{}\t", rng.range(10_001, 12_000));
            push_timestamp(row, when, b' ');
            let _ = write!(
                row,
                "\t{}\t{}\tEUR\t{}",
                rng.pick(&["new", "paid", "shipped", "shipped", "delivered", "returned"]),
                rng.range(100, 900_000),
                rng.pick(CITIES).0
            );
        }
        1 => {
            let _ = write!(
                row,
                "{id}\t{}\tSKU-{:05}\t{}\t{}",
                rng.range(1, 60_000),
                rng.range(1, 4_000),
                rng.range(1, 12),
                rng.range(99, 250_000)
            );
        }
        2 => {
            let first = rng.pick(FIRST_NAMES);
            let last = rng.pick(LAST_NAMES);
            let _ = write!(row, "{id}\t{first} {last}\t");
            push_email_part(row, first);
            row.push(b'.');
            push_email_part(row, last);
            let (city, country) = rng.pick(CITIES);
            let _ = write!(row, "@example.com\t{city}\t{country}\t");
            push_timestamp(row, when, b' ');
        }
        _ => {
            let _ = write!(
                row,
                "{id}\tSKU-{:05}\t{}\t{}\t",
                rng.range(1, 4_000),
                rng.pick(&["WH-BER", "WH-HAM", "WH-MUC", "WH-VIE"]),
                rng.range(1, 200) as i64 - 100
            );
            push_timestamp(row, when, b' ');
            let _ = write!(
                row,
                "\t{}",
                rng.pick(&[
                    "sale",
                    "restock",
                    "return",
                    "inventory correction",
                    "transfer"
                ])
            );
        }
    }
    row.push(b'\n');
}

fn write_image(sink: &mut Sink, rng: &mut Rng, head: &[u8], tail: &[u8]) -> io::Result<()> {
    sink.push(head)?;
    let body = sink.remaining().saturating_sub(tail.len() as u64);
    sink.push_random(rng, body)?;
    sink.push(tail)
}

// Real magic numbers, so tools that sniff file types treat these like the media they
// stand in for; the rest is random, which is how compressed media looks to a backup.
const JPEG_HEAD: &[u8] = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x48\x00\x48\x00\x00";
const JPEG_TAIL: &[u8] = b"\xff\xd9";
const PNG_HEAD: &[u8] =
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00\x09\xb0\x00\x00\x0d\xb0\x08\x02\x00\x00\x00";
const PNG_TAIL: &[u8] = b"\x00\x00\x00\x00IEND\xae\x42\x60\x82";

// ---------------------------------------------------------------------------------------
// Dates

/// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
const fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = (if y >= 0 { y } else { y - 399 }) / 400;
    let yoe = y - era * 400;
    let mp = (if m > 2 { m - 3 } else { m + 9 }) as i64;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = (if z >= 0 { z } else { z - 146_096 }) / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = (if mp < 10 { mp + 3 } else { mp - 9 }) as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn push_date(out: &mut Vec<u8>, days: i64) {
    let (y, m, d) = civil_from_days(days);
    let _ = write!(out, "{y:04}-{m:02}-{d:02}");
}

fn push_date_de(out: &mut Vec<u8>, days: i64) {
    let (y, m, d) = civil_from_days(days);
    let _ = write!(out, "{d:02}.{m:02}.{y:04}");
}

fn date_string(days: i64) -> String {
    let mut out = Vec::with_capacity(10);
    push_date(&mut out, days);
    String::from_utf8_lossy(&out).into_owned()
}

fn push_timestamp(out: &mut Vec<u8>, secs: u64, sep: u8) {
    push_date(out, (secs / DAY) as i64);
    let s = secs % DAY;
    out.push(sep);
    let _ = write!(out, "{:02}:{:02}:{:02}", s / 3_600, s / 60 % 60, s % 60);
}

// ---------------------------------------------------------------------------------------
// Word lists. Anything used as free text must stay ASCII: the last line of a file is cut
// to an exact byte length.

#[rustfmt::skip]
const WORDS: &[&str] = &[
    "a", "the", "and", "of", "to", "for", "with", "on", "by", "from", "in", "is", "are", "was",
    "will", "should", "must", "may", "each", "all", "new", "our", "this", "that", "after",
    "before", "quarterly", "revenue", "customer", "invoice", "supplier", "shipment",
    "warehouse", "forecast", "budget", "compliance", "audit", "backup", "recovery", "server",
    "contract", "renewal", "pricing", "discount", "margin", "inventory", "payroll",
    "onboarding", "migration", "deadline", "review", "approval", "policy", "risk", "incident",
    "outage", "capacity", "network", "license", "vendor", "delivery", "schedule", "meeting",
    "proposal", "estimate", "project", "milestone", "report", "analysis", "growth", "retention",
    "support", "ticket", "escalation", "priority", "service", "agreement", "terms", "liability",
    "payment", "account", "balance", "statement", "tax", "filing", "office", "lease",
    "insurance", "claim", "equipment", "maintenance", "training", "staff", "hiring", "expense",
    "travel", "reimbursement", "strategy", "market", "segment", "partner", "channel",
    "campaign", "launch", "product", "feature", "release", "quality", "defect", "test",
    "security", "access", "encryption", "storage", "archive", "disaster", "continuity", "plan",
    "restore", "drill", "objective", "owner", "team", "department", "region", "branch",
    "annual", "monthly", "weekly", "critical", "minor", "pending", "approved", "overdue",
    "completed", "data", "offsite", "copy", "cost", "target", "order", "stock", "shipping",
    "contact", "email", "laptop", "printer", "firewall", "update",
];

#[rustfmt::skip]
const GERMAN_WORDS: &[&str] = &[
    "Rechnung", "Miete", "Gehalt", "Leasingrate", "Versicherung", "Beitrag", "Lieferung",
    "Wartung", "Abschlag", "Strom", "Gutschrift", "Erstattung", "Kundennummer", "Vertrag",
    "Quartal", "Porto", "Lizenz", "Reparatur", "Nebenkosten", "Dauerauftrag", "Lastschrift",
    "Anzahlung", "Restbetrag", "Auftrag", "Projekt", "Hosting", "Telefon", "Internet", "und",
    "per", "bis", "Nr", "Abo", "Kto",
];

#[rustfmt::skip]
const FIRST_NAMES: &[&str] = &[
    "Anna", "Ben", "Clara", "David", "Elif", "Felix", "Greta", "Hannah", "Ivan", "Jonas",
    "Katrin", "Lukas", "Maria", "Noah", "Olga", "Paul", "Rania", "Sofia", "Tobias", "Ute",
    "Viktor", "Wei", "Yusuf", "Zoë", "Jürgen", "Søren", "Chloé", "Mateo", "Priya", "Kenji",
];

#[rustfmt::skip]
const LAST_NAMES: &[&str] = &[
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
    "Hoffmann", "Koch", "Richter", "Klein", "Wolf", "Neumann", "Schwarz", "Zimmermann", "Braun",
    "Krüger", "Hartmann", "Lange", "Smith", "Johnson", "Garcia", "Nguyen", "Kowalski", "Rossi",
    "Dubois", "Yamamoto", "Okafor", "Andersson",
];

const CITIES: &[(&str, &str)] = &[
    ("Berlin", "DE"),
    ("Hamburg", "DE"),
    ("München", "DE"),
    ("Köln", "DE"),
    ("Frankfurt am Main", "DE"),
    ("Stuttgart", "DE"),
    ("Düsseldorf", "DE"),
    ("Leipzig", "DE"),
    ("Nürnberg", "DE"),
    ("Wien", "AT"),
    ("Graz", "AT"),
    ("Zürich", "CH"),
    ("Amsterdam", "NL"),
    ("Paris", "FR"),
    ("Lyon", "FR"),
    ("London", "GB"),
    ("Kraków", "PL"),
    ("Milano", "IT"),
    ("København", "DK"),
];

const COMPANIES: &[&str] = &[
    "Acme GmbH",
    "Nordlicht Logistik AG",
    "Bergmann & Söhne KG",
    "Helios Energy Ltd",
    "Blue Harbor Trading",
    "Kaiser Bau GmbH",
    "Lumen Optics BV",
    "Fjord Foods AS",
    "Alpen Software AG",
    "Rheinwerk Metall GmbH",
    "Sunrise Dental Clinic",
    "Orbit Freight Services",
    "Weißdorn Apotheke",
    "Quantum Print & Copy",
    "Greenleaf Gardens",
];

const ACCOUNTS: &[&str] = &[
    "1200 Bank",
    "1400 Receivables",
    "1600 Payables",
    "4000 Revenue",
    "6000 Wages",
    "6300 Rent",
    "6800 Office supplies",
    "6805 Software",
    "6810 Telephone",
    "6815 Travel",
    "6830 Insurance",
    "6840 IT services",
];

const BICS: &[&str] = &[
    "COBADEFFXXX",
    "DEUTDEDBXXX",
    "INGDDEFFXXX",
    "GENODEF1S04",
    "BYLADEM1001",
    "SSKMDEMMXXX",
];

const CONTRACT_SECTIONS: &[&str] = &[
    "Subject matter",
    "Term and termination",
    "Fees and payment",
    "Service levels",
    "Data protection",
    "Confidentiality",
    "Liability",
    "Backup and recovery obligations",
    "Subcontractors",
    "Final provisions",
];

const REGIONS: &[&str] = &["North", "South", "East", "West", "Online", "Export"];

const TAGS: &[&str] = &[
    "wholesale",
    "retail",
    "newsletter",
    "key-account",
    "late-payer",
    "eu",
    "partner",
];

const EVENT_TYPES: &[&str] = &[
    "order.created",
    "order.paid",
    "order.shipped",
    "invoice.sent",
    "invoice.overdue",
    "customer.updated",
    "ticket.opened",
    "ticket.closed",
];

#[rustfmt::skip]
const COMPONENTS: &[&str] = &[
    "http", "db", "scheduler", "billing", "auth", "backup", "mailer", "worker-1", "worker-2",
];

const URL_PATHS: &[&str] = &[
    "/",
    "/login",
    "/api/v1/orders",
    "/api/v1/orders/",
    "/api/v1/customers/",
    "/static/app.3f9c2e.js",
    "/static/logo.png",
    "/reports/q1-2026.pdf",
    "/health",
];

const USER_AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "curl/8.7.1",
    "firedrill-healthcheck/1.0",
];

#[rustfmt::skip]
const MONTHS: &[&str] = &[
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

const DUMP_TABLES: &[(&str, &str)] = &[
    (
        "orders",
        "id, customer_id, created_at, status, total_cents, currency, ship_city",
    ),
    ("order_items", "id, order_id, sku, quantity, unit_cents"),
    ("customers", "id, name, email, city, country, created_at"),
    (
        "stock_movements",
        "id, sku, warehouse, delta, moved_at, reason",
    ),
];

const DUMP_HEADER: &str = "--
-- ERP database dump
-- Dumped at 2026-03-31 02:00:00 UTC
--

SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;

CREATE TABLE public.orders (
    id bigint PRIMARY KEY,
    customer_id bigint NOT NULL,
    created_at timestamp NOT NULL,
    status text NOT NULL,
    total_cents bigint NOT NULL,
    currency char(3) NOT NULL,
    ship_city text
);

CREATE TABLE public.order_items (
    id bigint PRIMARY KEY,
    order_id bigint NOT NULL,
    sku text NOT NULL,
    quantity integer NOT NULL,
    unit_cents bigint NOT NULL
);

CREATE TABLE public.customers (
    id bigint PRIMARY KEY,
    name text NOT NULL,
    email text NOT NULL,
    city text,
    country char(2),
    created_at timestamp NOT NULL
);

CREATE TABLE public.stock_movements (
    id bigint PRIMARY KEY,
    sku text NOT NULL,
    warehouse text NOT NULL,
    delta integer NOT NULL,
    moved_at timestamp NOT NULL,
    reason text
);

";

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    /// A fresh path under the system temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(name: &str) -> TempDir {
            static NEXT: AtomicU64 = AtomicU64::new(0);
            let path = std::env::temp_dir().join(format!(
                "firedrill-sample-data-{name}-{}-{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            ));
            let _ = fs::remove_dir_all(&path);
            TempDir(path)
        }

        fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[derive(Debug, PartialEq, Eq)]
    enum Node {
        File { bytes: Vec<u8>, mtime: SystemTime },
        // Directory times are only pinned on Unix.
        Dir { mtime: Option<SystemTime> },
        Link(PathBuf),
    }

    fn snapshot(root: &Path) -> BTreeMap<String, Node> {
        fn walk(dir: &Path, prefix: &str, out: &mut BTreeMap<String, Node>) {
            for entry in fs::read_dir(dir).unwrap() {
                let entry = entry.unwrap();
                let name = entry.file_name().into_string().unwrap();
                let rel = format!("{prefix}{name}");
                let meta = fs::symlink_metadata(entry.path()).unwrap();
                let node = if meta.file_type().is_symlink() {
                    Node::Link(fs::read_link(entry.path()).unwrap())
                } else if meta.is_dir() {
                    walk(&entry.path(), &format!("{rel}/"), out);
                    Node::Dir {
                        mtime: cfg!(unix).then(|| meta.modified().unwrap()),
                    }
                } else {
                    Node::File {
                        bytes: fs::read(entry.path()).unwrap(),
                        mtime: meta.modified().unwrap(),
                    }
                };
                out.insert(rel, node);
            }
        }
        let mut out = BTreeMap::new();
        walk(root, "", &mut out);
        out
    }

    fn file_bytes(tree: &BTreeMap<String, Node>, path: &str) -> Vec<u8> {
        match tree.get(path) {
            Some(Node::File { bytes, .. }) => bytes.clone(),
            other => panic!("{path}: expected a file, found {other:?}"),
        }
    }

    fn spec(total_bytes: u64, seed: u64) -> SampleSpec {
        SampleSpec { total_bytes, seed }
    }

    #[test]
    fn same_spec_gives_identical_trees() {
        let (a, b) = (TempDir::new("det-a"), TempDir::new("det-b"));
        let stats_a = generate(a.path(), &spec(4 * MIB, 7)).unwrap();
        let stats_b = generate(b.path(), &spec(4 * MIB, 7)).unwrap();
        assert_eq!(stats_a, stats_b);
        let (tree_a, tree_b) = (snapshot(a.path()), snapshot(b.path()));
        assert_eq!(
            tree_a.keys().collect::<Vec<_>>(),
            tree_b.keys().collect::<Vec<_>>()
        );
        for (path, node) in &tree_a {
            assert!(tree_b.get(path) == Some(node), "{path} differs");
        }
        // Not all stamped with one time either.
        let mtimes: BTreeSet<_> = tree_a
            .values()
            .filter_map(|n| match n {
                Node::File { mtime, .. } => Some(*mtime),
                _ => None,
            })
            .collect();
        assert!(mtimes.len() > 10);
    }

    #[test]
    fn another_seed_gives_other_content() {
        let (a, b) = (TempDir::new("seed-a"), TempDir::new("seed-b"));
        generate(a.path(), &spec(MIB, 1)).unwrap();
        generate(b.path(), &spec(MIB, 2)).unwrap();
        let (tree_a, tree_b) = (snapshot(a.path()), snapshot(b.path()));
        assert_ne!(file_bytes(&tree_a, LEDGER), file_bytes(&tree_b, LEDGER));
        assert_ne!(file_bytes(&tree_a, DUMP), file_bytes(&tree_b, DUMP));
    }

    #[test]
    fn total_size_is_close_to_requested() {
        for total in [4 * MIB, 32 * MIB] {
            let dir = TempDir::new("size");
            let stats = generate(dir.path(), &spec(total, 42)).unwrap();
            let tree = snapshot(dir.path());
            let on_disk: u64 = tree
                .values()
                .map(|n| match n {
                    Node::File { bytes, .. } => bytes.len() as u64,
                    _ => 0,
                })
                .sum();
            assert_eq!(stats.bytes, on_disk);
            assert!(
                on_disk.abs_diff(total) <= total / 10,
                "{on_disk} bytes for {total} requested"
            );
            let count = |pred: fn(&Node) -> bool| tree.values().filter(|n| pred(n)).count() as u64;
            assert_eq!(stats.files, count(|n| matches!(n, Node::File { .. })));
            assert_eq!(stats.dirs, count(|n| matches!(n, Node::Dir { .. })));
            assert_eq!(stats.symlinks, count(|n| matches!(n, Node::Link(_))));
        }
    }

    #[test]
    fn size_is_exact_even_when_tiny() {
        for total in [0, 1, 7, 1_000, 100_000, 3 * MIB + 17] {
            let dir = TempDir::new("exact");
            let stats = generate(dir.path(), &spec(total, 3)).unwrap();
            assert_eq!(stats.bytes, total);
        }
    }

    #[test]
    fn tree_has_duplicates_links_and_awkward_names() {
        let dir = TempDir::new("features");
        let stats = generate(dir.path(), &spec(4 * MIB, 11)).unwrap();
        let tree = snapshot(dir.path());

        // Exact duplicates.
        let photo_copy = tree
            .keys()
            .find(|k| {
                k.starts_with(ARCHIVE_PHOTOS) && k.ends_with(".jpg") && !k.contains("(edited)")
            })
            .unwrap();
        let name = photo_copy.rsplit('/').next().unwrap();
        let photo = file_bytes(&tree, &format!("images/photos/{name}"));
        assert!(photo.len() > 64 * KIB as usize);
        assert_eq!(file_bytes(&tree, photo_copy), photo);
        assert_eq!(
            file_bytes(&tree, BOARD_REPORT_COPY),
            file_bytes(&tree, BOARD_REPORT)
        );

        // Near duplicates: same length, a few bytes changed in the middle.
        let edited = tree.keys().find(|k| k.contains("(edited)")).unwrap();
        let original = edited.rsplit('/').next().unwrap().replace(" (edited)", "");
        for (copy, source) in [
            (edited.as_str(), format!("images/photos/{original}")),
            (CONTRACT_V1, CONTRACT.to_string()),
        ] {
            let (a, b) = (file_bytes(&tree, copy), file_bytes(&tree, &source));
            assert_eq!(a.len(), b.len(), "{copy}");
            let diffs: Vec<usize> = (0..a.len()).filter(|&i| a[i] != b[i]).collect();
            assert!(
                !diffs.is_empty() && diffs.len() <= 24,
                "{copy}: {}",
                diffs.len()
            );
            let (first, last) = (diffs[0], diffs[diffs.len() - 1]);
            assert!(first >= a.len() / 2 && last < a.len() / 2 + 24, "{copy}");
        }

        assert_eq!(file_bytes(&tree, EMPTY), b"");
        let transfers = file_bytes(&tree, TRANSFERS);
        assert!(transfers.starts_with("Buchungstag;".as_bytes()));
        assert!(
            dir.path()
                .join("documents/finance/Überweisung März 2026.csv")
                .is_file()
        );
        assert!(
            dir.path()
                .join("documents/hr/Employee Handbook (draft).md")
                .is_file()
        );

        let depth = DEEP_NOTES.split('/').count() - 1;
        assert!(depth >= 6);
        assert!(matches!(
            tree.get(parent_of(DEEP_NOTES)),
            Some(Node::Dir { .. })
        ));
        assert!(!file_bytes(&tree, DEEP_NOTES).is_empty());

        if cfg!(unix) {
            assert_eq!(stats.symlinks, 1);
            assert_eq!(
                tree.get(SYMLINK),
                Some(&Node::Link(PathBuf::from(SYMLINK_TARGET)))
            );
            let via_link = fs::read(dir.path().join(SYMLINK)).unwrap();
            assert_eq!(via_link, file_bytes(&tree, LATEST_LOG));
            assert!(!via_link.is_empty());
        }
    }

    #[test]
    fn text_is_text_and_media_is_noise() {
        let dir = TempDir::new("kinds");
        generate(dir.path(), &spec(2 * MIB, 5)).unwrap();
        let tree = snapshot(dir.path());
        for (path, node) in &tree {
            let Node::File { bytes, .. } = node else {
                continue;
            };
            if path.starts_with("documents/") && !bytes.is_empty() {
                let text = std::str::from_utf8(bytes).unwrap_or_else(|e| panic!("{path}: {e}"));
                assert!(text.ends_with('\n'), "{path} does not end in a newline");
            }
            if path.starts_with("images/") {
                // Random bytes: every byte value shows up about equally often.
                let mut counts = [0u64; 256];
                for &b in bytes {
                    counts[b as usize] += 1;
                }
                let expected = bytes.len() as u64 / 256;
                assert!(
                    counts.iter().all(|&c| c.abs_diff(expected) < expected / 4),
                    "{path} does not look random"
                );
            }
        }
        let customers = file_bytes(&tree, CUSTOMERS);
        assert!(customers.starts_with(b"[\n  {") && customers.ends_with(b"}\n]\n"));
    }

    #[test]
    fn refuses_a_non_empty_directory_without_touching_it() {
        let dir = TempDir::new("busy");
        fs::create_dir_all(dir.path().join("keep")).unwrap();
        fs::write(dir.path().join("keep/precious.txt"), b"do not lose me").unwrap();
        let before = snapshot(dir.path());

        let err = generate(dir.path(), &spec(MIB, 1)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert!(err.to_string().contains(&dir.path().display().to_string()));
        assert_eq!(snapshot(dir.path()), before);
    }

    #[test]
    fn refuses_a_path_that_is_a_file() {
        let dir = TempDir::new("file");
        fs::create_dir_all(dir.path()).unwrap();
        let file = dir.path().join("not-a-dir");
        fs::write(&file, b"x").unwrap();
        let err = generate(&file, &spec(MIB, 1)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert!(err.to_string().contains(&file.display().to_string()));
        assert_eq!(fs::read(&file).unwrap(), b"x");
    }

    #[test]
    fn accepts_an_empty_or_missing_directory() {
        let empty = TempDir::new("empty");
        fs::create_dir_all(empty.path()).unwrap();
        assert_eq!(
            generate(empty.path(), &spec(256 * KIB, 1)).unwrap().bytes,
            256 * KIB
        );
        let missing = TempDir::new("missing");
        let nested = missing.path().join("a/b");
        assert_eq!(
            generate(&nested, &spec(256 * KIB, 1)).unwrap().bytes,
            256 * KIB
        );
    }

    #[test]
    fn calendar_round_trips() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(NOW, 1_774_976_400);
        for day in [-1, 0, 59, 60, 11_016, 20_543, 40_000] {
            let (y, m, d) = civil_from_days(day);
            assert_eq!(days_from_civil(y, m, d), day);
        }
        assert_eq!(date_string(days_from_civil(2024, 2, 29)), "2024-02-29");
    }

    #[test]
    fn free_text_word_lists_are_ascii() {
        for list in [WORDS, GERMAN_WORDS] {
            assert!(list.iter().all(|w| w.is_ascii() && !w.is_empty()));
        }
    }
}
