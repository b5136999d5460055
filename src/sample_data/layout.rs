//! Which files the sample holds, how big, how old, and which generator fills each.

use std::fs::File;
use std::io;
use std::path::Path;

use super::binary::{JPEG_HEAD, JPEG_TAIL, PNG_HEAD, PNG_TAIL, write_dump, write_image};
use super::dates::{date_string, days_from_civil};
use super::rng::Rng;
use super::sink::{Sink, Tweak};
use super::text::{
    write_access_log, write_app_log, write_customers, write_doc, write_events, write_invoices,
    write_ledger, write_transfers,
};
use super::{SampleSpec, join};

pub(super) const KIB: u64 = 1024;
pub(super) const MIB: u64 = 1024 * KIB;
pub(super) const DAY: u64 = 86_400;

// A fixed "now" keeps trees reproducible across runs and machines: the last working
// afternoon of the quarter the sample documents talk about.
pub(super) const NOW_DAY: i64 = days_from_civil(2026, 3, 31);
pub(super) const NOW: u64 = NOW_DAY as u64 * DAY + 17 * 3_600;

pub(super) const README: &str = "documents/README.md";
pub(super) const BOARD_REPORT: &str = "documents/reports/board-report-2026-Q1.md";
pub(super) const ANNUAL_REPORT: &str = "documents/reports/annual-report-2025.md";
pub(super) const CONTRACT: &str = "documents/contracts/service-agreement-acme-gmbh.md";
pub(super) const HANDBOOK: &str = "documents/hr/Employee Handbook (draft).md";
pub(super) const LEDGER: &str = "documents/finance/ledger-2025.csv";
pub(super) const TRANSFERS: &str = "documents/finance/Überweisung März 2026.csv";
pub(super) const INVOICES: &str = "documents/finance/invoices-2026.csv";
pub(super) const CUSTOMERS: &str = "documents/crm/customers.json";
pub(super) const EVENTS: &str = "documents/crm/events-2026-03.jsonl";
pub(super) const ACCESS_LOG: &str = "documents/logs/access.log";
pub(super) const LATEST_LOG: &str = "documents/logs/app-2026-03-31.log";
pub(super) const SYMLINK: &str = "documents/latest.log";
pub(super) const SYMLINK_TARGET: &str = "logs/app-2026-03-31.log";
pub(super) const EMPTY: &str = "documents/templates/blank.md";
pub(super) const DEEP_NOTES: &str =
    "documents/projects/2026/clients/acme-gmbh/migration/drafts/v3/notes.md";
pub(super) const DUMP: &str = "database/erp-2026-03-31.dump";
pub(super) const BOARD_REPORT_COPY: &str = "archive/reports/board-report-2026-Q1 (copy).md";
pub(super) const CONTRACT_V1: &str = "archive/contracts/service-agreement-acme-gmbh v1.md";
pub(super) const ARCHIVE_PHOTOS: &str = "archive/2025/photos";

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
pub(super) enum Doc {
    Readme,
    BoardReport,
    AnnualReport,
    Contract,
    Handbook,
    Notes,
}

#[derive(Debug)]
pub(super) struct Entry {
    pub(super) path: String,
    /// Names the content stream; a copy shares its original's so the bytes match.
    source: String,
    size: u64,
    pub(super) mtime: u64,
    content: Content,
    tweak: Option<Tweak>,
}

pub(super) fn plan(spec: &SampleSpec) -> Vec<Entry> {
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

pub(super) fn write_entry(root: &Path, entry: &Entry, seed: u64) -> io::Result<u64> {
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
