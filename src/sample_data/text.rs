//! Text: the generators for documents, spreadsheets, JSON and logs.

use std::io::{self, Write};

use super::dates::{
    civil_from_days, date_string, days_from_civil, push_date, push_date_de, push_timestamp,
};
use super::layout::{DAY, Doc, NOW, NOW_DAY};
use super::lines::{Free, write_lines};
use super::rng::Rng;
use super::sink::Sink;
use super::words::{
    ACCOUNTS, BICS, CITIES, COMPANIES, COMPONENTS, CONTRACT_SECTIONS, EVENT_TYPES, FIRST_NAMES,
    GERMAN_WORDS, LAST_NAMES, MONTHS, REGIONS, TAGS, URL_PATHS, USER_AGENTS,
};

pub(super) fn write_doc(sink: &mut Sink, rng: &mut Rng, doc: Doc) -> io::Result<()> {
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

pub(super) fn write_ledger(sink: &mut Sink, rng: &mut Rng) -> io::Result<()> {
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

pub(super) fn write_transfers(sink: &mut Sink, rng: &mut Rng) -> io::Result<()> {
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

pub(super) fn write_invoices(sink: &mut Sink, rng: &mut Rng) -> io::Result<()> {
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

pub(super) fn write_customers(sink: &mut Sink, rng: &mut Rng) -> io::Result<()> {
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

pub(super) fn write_events(sink: &mut Sink, rng: &mut Rng) -> io::Result<()> {
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

pub(super) fn write_app_log(sink: &mut Sink, rng: &mut Rng, day: i64, span: u64) -> io::Result<()> {
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

pub(super) fn write_access_log(
    sink: &mut Sink,
    rng: &mut Rng,
    day: i64,
    span: u64,
) -> io::Result<()> {
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

pub(super) fn push_email_part(out: &mut Vec<u8>, name: &str) {
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
