//! The drill report as Markdown: the same content as the HTML page, as text tables.
//!
//! Strings from the report are escaped so that they stay text: Markdown punctuation is
//! backslash-escaped (so `<script>` shows as written and `|` cannot split a table
//! cell), line breaks become spaces, and identifiers go in code spans.

use std::fmt::Write;

use super::html::percent;
use super::model::{DrillReport, TargetRecord, Verdict};
use super::svg;

/// Width of the text bars of the phase timeline, in characters.
const BAR_CHARS: usize = 30;

/// Renders `report`, with the trend over `history` (earlier reports of the same drill,
/// oldest first; may be empty).
pub fn render(report: &DrillReport, history: &[DrillReport]) -> String {
    let r = report;
    let mut out = String::with_capacity(16 * 1024);
    let _ = writeln!(out, "# Drill report: {}\n", text(&r.drill));
    let _ = writeln!(
        out,
        "**{}** — {}\n",
        verdict_word(r.verdict),
        text(&r.summary)
    );
    if let Some(d) = &r.description {
        let _ = writeln!(out, "{}\n", text(d));
    }
    let took = r.finished.duration_since(r.started).as_secs_f64();
    let mut rows = vec![
        ["Verdict".to_string(), verdict_word(r.verdict).to_string()],
        ["Drill".to_string(), text(&r.drill)],
        ["Started".to_string(), svg::timestamp(r.started)],
        [
            "Finished".to_string(),
            format!(
                "{} (took {})",
                svg::timestamp(r.finished),
                svg::duration(took)
            ),
        ],
        ["Host".to_string(), text(&r.host)],
        ["Repository".to_string(), code(&r.repository)],
    ];
    if let Some(f) = &r.drill_file {
        rows.push(["Drill file".to_string(), code(f)]);
    }
    rows.push([
        "firedrill".to_string(),
        format!("version {}", text(&r.firedrill_version)),
    ]);
    table(&mut out, &["Field", "Value"], &rows);

    if let Some(plan) = &r.plan {
        let _ = writeln!(
            out,
            "## Business continuity plan: {}\n",
            if plan.met { "MET" } else { "**NOT MET**" }
        );
        let rows: Vec<[String; 3]> = plan
            .rules
            .iter()
            .map(|rule| {
                [
                    if rule.satisfied { "OK" } else { "**FAIL**" }.to_string(),
                    text(&rule.rule),
                    text(&rule.detail),
                ]
            })
            .collect();
        table(&mut out, &["Result", "Rule", "Evidence"], &rows);
    }

    if !r.errors.is_empty() {
        out.push_str("## Errors that stopped the drill\n\n");
        for err in &r.errors {
            let _ = writeln!(out, "- {}", text(err));
        }
        out.push('\n');
    }

    out.push_str("## Recovery targets\n\n");
    table(
        &mut out,
        &["Measure", "Measured", "Target", "Result"],
        &[
            target_row("RTO (recovery time)", &r.rto, "at most"),
            target_row("RPO (age of the restored data)", &r.rpo, "at most"),
            target_row("Throughput", &r.throughput, "at least"),
        ],
    );

    out.push_str("## Phase timeline\n\n");
    if r.phases.is_empty() {
        out.push_str("No phases were recorded.\n\n");
    } else {
        let end = r
            .phases
            .iter()
            .map(|p| p.offset_seconds.max(0.0) + p.seconds.max(0.0))
            .filter(|v| v.is_finite())
            .fold(0.0f64, f64::max);
        let rows: Vec<[String; 4]> = r
            .phases
            .iter()
            .map(|p| {
                [
                    text(&p.name),
                    svg::seconds_short(p.offset_seconds),
                    svg::seconds_short(p.seconds),
                    format!("`{}`", bar(p.offset_seconds, p.seconds, end)),
                ]
            })
            .collect();
        table(
            &mut out,
            &["Phase", "Starts at", "Takes", "Timeline"],
            &rows,
        );
    }

    out.push_str("## Checks\n\n");
    if r.checks.is_empty() {
        out.push_str("No checks were run.\n\n");
    } else {
        let failed = r.checks.iter().filter(|c| !c.passed).count();
        if failed == 0 {
            let _ = writeln!(out, "All {} checks passed.\n", r.checks.len());
        } else {
            let _ = writeln!(out, "{failed} of {} checks failed.\n", r.checks.len());
        }
        let rows: Vec<[String; 3]> = r
            .checks
            .iter()
            .map(|c| {
                [
                    if c.passed { "PASS" } else { "**FAIL**" }.to_string(),
                    text(&c.name),
                    text(&c.evidence),
                ]
            })
            .collect();
        table(&mut out, &["Result", "Check", "Evidence"], &rows);
    }

    out.push_str("## Injected faults\n\n");
    if r.faults.is_empty() {
        out.push_str("No faults were injected in this drill.\n\n");
    } else {
        out.push_str("A drill with injected faults passes only if each one is detected.\n\n");
        let rows: Vec<[String; 3]> = r
            .faults
            .iter()
            .map(|f| {
                [
                    if f.detected {
                        "detected"
                    } else {
                        "**NOT DETECTED**"
                    }
                    .to_string(),
                    text(&f.fault),
                    text(&f.evidence),
                ]
            })
            .collect();
        table(&mut out, &["Result", "Fault", "Evidence"], &rows);
    }

    out.push_str("## Trend over past runs\n\n");
    if history.is_empty() {
        out.push_str(
            "This is the first run of this drill: there are no earlier reports to compare it with yet.\n\n",
        );
    } else {
        let rows: Vec<[String; 6]> = history
            .iter()
            .map(|h| (h, false))
            .chain([(r, true)])
            .map(|(h, current)| {
                let when = svg::timestamp(h.started);
                [
                    if current {
                        format!("**{when} (this run)**")
                    } else {
                        when
                    },
                    verdict_word(h.verdict).to_string(),
                    measured(&h.rto),
                    target(&h.rto, "at most"),
                    measured(&h.rpo),
                    target(&h.rpo, "at most"),
                ]
            })
            .collect();
        table(
            &mut out,
            &["Run", "Verdict", "RTO", "RTO target", "RPO", "RPO target"],
            &rows,
        );
    }

    out.push_str("## Data-location register\n\n");
    out.push_str(
        "This register is evidence for the records of processing (GDPR Art. 30), the security of processing (Art. 32) and transfer impact assessments: it lists every store that holds a copy of this repository, where it is and under which jurisdiction, how data travels to it, and that data is encrypted on this machine before it leaves.\n\n",
    );
    if r.stores.is_empty() {
        out.push_str("The plan declares no stores.\n\n");
    } else {
        let rows: Vec<[String; 10]> = r
            .stores
            .iter()
            .map(|s| {
                [
                    if s.name == r.source.store {
                        format!("{} (restored from)", text(&s.name))
                    } else {
                        text(&s.name)
                    },
                    text(&s.role),
                    text(&s.provider),
                    code(&s.location),
                    opt(s.region.as_deref()),
                    opt(s.jurisdiction.as_deref()),
                    code(&s.endpoint),
                    transport(s.transport.as_deref()),
                    text(&s.encryption),
                    if s.lost_in_drill { "**LOST**" } else { "no" }.to_string(),
                ]
            })
            .collect();
        table(
            &mut out,
            &[
                "Store",
                "Role",
                "Provider",
                "Location",
                "Region",
                "Jurisdiction",
                "Endpoint",
                "Transport",
                "Encryption",
                "Lost in this drill",
            ],
            &rows,
        );
    }

    out.push_str("## Source, snapshot and scope\n\n### Source\n\n");
    table(
        &mut out,
        &["Field", "Value"],
        &[
            ["Restored from".to_string(), text(&r.source.store)],
            ["Why this store".to_string(), text(&r.source.reason)],
            ["Treated as lost".to_string(), {
                if r.source.lost.is_empty() {
                    "none".to_string()
                } else {
                    codes(&r.source.lost)
                }
            }],
        ],
    );

    out.push_str("### Snapshot\n\n");
    match &r.snapshot {
        Some(s) => table(
            &mut out,
            &["Field", "Value"],
            &[
                ["ID".to_string(), code(&s.id)],
                ["Taken".to_string(), svg::timestamp(s.time)],
                ["Host".to_string(), text(&s.host)],
                ["Paths".to_string(), codes(&s.paths)],
                ["Tags".to_string(), codes(&s.tags)],
                ["Chosen".to_string(), text(&s.selection)],
            ],
        ),
        None => out.push_str("No snapshot was chosen.\n\n"),
    }

    out.push_str("### Scope\n\n");
    let sc = &r.scope;
    let mut rows = vec![["Kind".to_string(), code(&sc.kind)]];
    if let Some(p) = sc.percent {
        rows.push(["Percent".to_string(), format!("{}%", percent(p))]);
    }
    if let Some(by) = &sc.by {
        rows.push(["Sampled by".to_string(), text(by)]);
    }
    if let Some(seed) = sc.seed {
        rows.push([
            "Seed".to_string(),
            format!("`{seed}`: running the drill with `--seed {seed}` replays this sample"),
        ]);
    }
    if !sc.paths.is_empty() {
        rows.push(["Paths".to_string(), codes(&sc.paths)]);
    }
    rows.push([
        "Files".to_string(),
        format!(
            "{} of {}",
            svg::count(sc.files_selected),
            svg::count(sc.files_in_snapshot)
        ),
    ]);
    rows.push([
        "Bytes".to_string(),
        format!(
            "{} of {}",
            svg::size(sc.bytes_selected),
            svg::size(sc.bytes_in_snapshot)
        ),
    ]);
    table(&mut out, &["Field", "Value"], &rows);

    out.push_str("### Restore\n\n");
    let mut rows = Vec::new();
    match &r.restore {
        Some(rs) => {
            rows.push(["Files restored".to_string(), svg::count(rs.files_restored)]);
            rows.push(["Files verified".to_string(), svg::count(rs.files_verified)]);
            rows.push(["Bytes restored".to_string(), svg::bytes(rs.bytes_restored)]);
            rows.push([
                "Fetched from the store".to_string(),
                svg::bytes(rs.bytes_fetched),
            ]);
            rows.push([
                "Damaged".to_string(),
                if rs.damaged.is_empty() {
                    "none: every restored file is intact".to_string()
                } else {
                    format!("**{}**, listed below", rs.damaged.len())
                },
            ]);
        }
        None => rows.push(["Restore".to_string(), "did not run".to_string()]),
    }
    rows.push([
        "Scratch restore kept".to_string(),
        match &r.kept_restore {
            Some(k) => code(k),
            None => "no: removed after the drill".to_string(),
        },
    ]);
    table(&mut out, &["Field", "Value"], &rows);

    if let Some(rs) = r.restore.as_ref().filter(|rs| !rs.damaged.is_empty()) {
        out.push_str("### Damaged paths\n\n");
        let rows: Vec<[String; 1]> = rs.damaged.iter().map(|d| [code(d)]).collect();
        table(&mut out, &["Path and problem"], &rows);
    }

    out.push_str("### Errors\n\n");
    if r.errors.is_empty() {
        out.push_str("None: the drill ran to the end.\n\n");
    } else {
        let _ = writeln!(
            out,
            "{} error(s) stopped the drill; they are listed at the top of this report.\n",
            r.errors.len()
        );
    }

    out.push_str("### Report chain\n\n");
    match &r.previous_report {
        Some(p) => {
            let _ = writeln!(
                out,
                "Previous report: {}. Each report names the one before it in this repository (its BLAKE3 id), so a report removed or altered later shows as a break in the chain.\n",
                code(p)
            );
        }
        None => {
            out.push_str("Previous report: none, this is the first report in this repository.\n\n")
        }
    }

    let _ = writeln!(
        out,
        "---\n\nRendered from the JSON drill report (schema version {}), which is the record.",
        r.schema_version
    );
    out
}

fn verdict_word(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "PASS",
        Verdict::Fail => "FAIL",
        Verdict::Error => "ERROR",
    }
}

/// Plain text: Markdown punctuation backslash-escaped, control characters (line breaks
/// included) turned into spaces. Safe in a table cell and in running text.
fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#' | '~' | '&' | '$' | '!' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// An identifier, path or address as a code span (no Markdown or HTML inside). Falls back
/// to [`text`] for strings with `|` or `\`, which a code span in a table cell cannot
/// carry reliably, and with `<`, so that every `<` of the page is escaped the same way.
fn code(s: &str) -> String {
    if s.is_empty() {
        return "—".to_string();
    }
    if s.contains(['|', '\\', '<']) {
        return text(s);
    }
    let flat: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let mut longest = 0;
    let mut run = 0;
    for c in flat.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    let fence = "`".repeat(longest + 1);
    let pad = if flat.starts_with(['`', ' ']) || flat.ends_with(['`', ' ']) {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{flat}{pad}{fence}")
}

fn codes(items: &[String]) -> String {
    if items.is_empty() {
        return "—".to_string();
    }
    items.iter().map(|i| code(i)).collect::<Vec<_>>().join(", ")
}

fn opt(s: Option<&str>) -> String {
    s.map(text).unwrap_or_else(|| "—".to_string())
}

fn transport(t: Option<&str>) -> String {
    match t {
        Some("https") => "HTTPS".to_string(),
        Some("loopback_http") => "HTTP on this machine".to_string(),
        Some("insecure_http") => "**plain HTTP across the network**".to_string(),
        Some("local_disk") => "local disk".to_string(),
        Some(other) => text(other),
        None => "—".to_string(),
    }
}

fn measured(t: &TargetRecord) -> String {
    match t.measured {
        Some(m) if t.unit == "seconds" => {
            format!("{} ({})", svg::duration(m), svg::seconds_exact(m))
        }
        Some(m) => svg::quantity(m, &text(&t.unit)),
        None => "not measured".to_string(),
    }
}

fn target(t: &TargetRecord, bound: &str) -> String {
    match t.target {
        Some(v) if t.unit == "seconds" => {
            format!("{bound} {} ({})", svg::duration(v), svg::seconds_exact(v))
        }
        Some(v) => format!("{bound} {}", svg::quantity(v, &text(&t.unit))),
        None => "none".to_string(),
    }
}

fn result(t: &TargetRecord) -> &'static str {
    match (t.met, t.target, t.measured) {
        (Some(true), _, _) => "met",
        (Some(false), _, _) => "**MISSED**",
        (None, None, _) => "no target",
        (None, Some(_), None) => "not measured",
        (None, Some(_), Some(_)) => "not judged",
    }
}

fn target_row(name: &str, t: &TargetRecord, bound: &str) -> [String; 4] {
    [
        name.to_string(),
        measured(t),
        target(t, bound),
        result(t).to_string(),
    ]
}

/// A text bar: the phase's span of the drill, `█` on a `·` background.
fn bar(offset: f64, seconds: f64, end: f64) -> String {
    if end.is_nan() || end <= 0.0 || !offset.is_finite() || !seconds.is_finite() {
        return "·".repeat(BAR_CHARS);
    }
    let scale = BAR_CHARS as f64 / end;
    let from = ((offset.max(0.0) * scale).floor() as usize).min(BAR_CHARS - 1);
    let to =
        (((offset.max(0.0) + seconds.max(0.0)) * scale).ceil() as usize).clamp(from + 1, BAR_CHARS);
    (0..BAR_CHARS)
        .map(|i| if (from..to).contains(&i) { '█' } else { '·' })
        .collect()
}

/// A table with a header; cells are already escaped.
fn table<const N: usize>(out: &mut String, header: &[&str; N], rows: &[[String; N]]) {
    out.push('|');
    for h in header {
        let _ = write!(out, " {h} |");
    }
    out.push_str("\n|");
    for _ in header {
        out.push_str(" --- |");
    }
    out.push('\n');
    for row in rows {
        out.push('|');
        for cell in row {
            let cell = if cell.is_empty() {
                "—"
            } else {
                cell.as_str()
            };
            let _ = write!(out, " {cell} |");
        }
        out.push('\n');
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_escapes_markdown_and_html() {
        assert_eq!(text("a|b"), r"a\|b");
        assert_eq!(text("<script>"), r"\<script\>");
        assert_eq!(text("line\nbreak"), "line break");
        assert_eq!(text(r"back\slash"), r"back\\slash");
    }

    #[test]
    fn code_spans() {
        assert_eq!(code("abc"), "`abc`");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`a"), "`` `a ``");
        assert_eq!(code("a|b"), r"a\|b");
    }

    #[test]
    fn bars() {
        assert_eq!(bar(0.0, 10.0, 10.0), "█".repeat(BAR_CHARS));
        let half = bar(5.0, 5.0, 10.0);
        assert!(half.starts_with('·') && half.ends_with('█'));
        assert_eq!(bar(0.0, 0.0, 10.0).chars().filter(|&c| c == '█').count(), 1);
    }
}
