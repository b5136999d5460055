//! Binary: the database dump and the stand-ins for compressed media.

use std::io::{self, Write};

use super::dates::push_timestamp;
use super::layout::{DAY, KIB, MIB, NOW};
use super::rng::Rng;
use super::sink::Sink;
use super::text::push_email_part;
use super::words::{CITIES, DUMP_HEADER, DUMP_TABLES, FIRST_NAMES, LAST_NAMES};

pub(super) fn write_dump(sink: &mut Sink, rng: &mut Rng) -> io::Result<()> {
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

pub(super) fn write_image(
    sink: &mut Sink,
    rng: &mut Rng,
    head: &[u8],
    tail: &[u8],
) -> io::Result<()> {
    sink.push(head)?;
    let body = sink.remaining().saturating_sub(tail.len() as u64);
    sink.push_random(rng, body)?;
    sink.push(tail)
}

// Real magic numbers, so tools that sniff file types treat these like the media they
// stand in for; the rest is random, which is how compressed media looks to a backup.
pub(super) const JPEG_HEAD: &[u8] =
    b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x48\x00\x48\x00\x00";
pub(super) const JPEG_TAIL: &[u8] = b"\xff\xd9";
pub(super) const PNG_HEAD: &[u8] =
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00\x09\xb0\x00\x00\x0d\xb0\x08\x02\x00\x00\x00";
pub(super) const PNG_TAIL: &[u8] = b"\x00\x00\x00\x00IEND\xae\x42\x60\x82";
