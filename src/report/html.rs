//! The drill report as one self-contained HTML page: inline CSS, charts as inline SVG,
//! no scripts, no fonts or images from anywhere. It reads on screen and printed.
//!
//! Every string taken from the report goes through [`e`] (the `html-escape` crate), in
//! text and in attributes alike.

use std::borrow::Cow;
use std::fmt::Write;

use super::model::{DrillReport, StoreRecord, TargetRecord, Verdict};
use super::svg::{self, TrendPoint};

/// At most this many runs (the current one included) in a trend chart.
const TREND_RUNS: usize = 30;

/// Escapes `&`, `<`, `>`, `"` and `'`: safe in element text and in quoted attributes.
fn e(s: &str) -> Cow<'_, str> {
    html_escape::encode_quoted_attribute(s)
}

/// Renders `report`, with the trend over `history` (earlier reports of the same drill,
/// oldest first; may be empty).
pub fn render(report: &DrillReport, history: &[DrillReport]) -> String {
    let mut out = String::with_capacity(48 * 1024);
    head(&mut out, report);
    out.push_str("<body>\n<main>\n");
    verdict(&mut out, report);
    plan(&mut out, report);
    if !report.errors.is_empty() {
        errors(&mut out, report);
    }
    targets(&mut out, report);
    timeline(&mut out, report);
    checks(&mut out, report);
    faults(&mut out, report);
    trend(&mut out, report, history);
    register(&mut out, report);
    details(&mut out, report);
    let _ = writeln!(
        out,
        r#"<footer>Rendered from the JSON drill report (schema version {schema}), which is the record; this page is a reading of it. firedrill {version}.</footer>"#,
        schema = report.schema_version,
        version = e(&report.firedrill_version),
    );
    out.push_str("</main>\n</body>\n</html>\n");
    out
}

const CSS: &str = r#"
:root {
  --pass: #1a7f37; --fail: #cf222e; --error: #9a6700; --none: #6e7781;
  --ink: #1f2328; --muted: #59636e; --line: #d1d9e0; --soft: #f6f8fa;
  --sans: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
    "Liberation Sans", "DejaVu Sans", sans-serif;
  --mono: ui-monospace, "SFMono-Regular", Menlo, Consolas, "Liberation Mono",
    "DejaVu Sans Mono", monospace;
}
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { margin: 0; background: #eef1f4; color: var(--ink); font: 15px/1.45 var(--sans); }
main { max-width: 1120px; margin: 0 auto; padding: 20px; }
section, header.verdict, footer {
  background: #fff; border: 1px solid var(--line); border-radius: 8px;
  padding: 16px 20px; margin: 0 0 14px;
}
footer { background: none; border: none; color: var(--muted); font-size: 13px; padding: 4px 20px; }
h1 { font-size: 26px; line-height: 1.2; margin: 0 0 6px; overflow-wrap: anywhere; }
h2 { font-size: 18px; margin: 0 0 10px; padding-bottom: 6px; border-bottom: 1px solid var(--line); }
h3 { font-size: 15px; margin: 14px 0 6px; }
p { margin: 0 0 8px; }
code, .mono { font-family: var(--mono); font-size: 0.9em; overflow-wrap: anywhere; }
.note { color: var(--muted); font-size: 14px; }
.v-pass { --v: var(--pass); --v-soft: #dafbe1; }
.v-fail { --v: var(--fail); --v-soft: #ffebe9; }
.v-error { --v: var(--error); --v-soft: #fff8c5; }
header.verdict {
  display: flex; gap: 24px; align-items: flex-start;
  border: 2px solid var(--v); border-left-width: 14px;
  background: linear-gradient(var(--v-soft), #fff 70%);
}
.verdict-word {
  flex: none; min-width: 190px; text-align: center;
  background: var(--v); color: #fff; border-radius: 8px; padding: 12px 20px 10px;
}
.verdict-word strong { display: block; font-size: 54px; line-height: 1; letter-spacing: 0.04em; }
.verdict-word span { display: block; font-size: 12px; margin-top: 6px; opacity: 0.95; }
.verdict-text { flex: 1; min-width: 0; }
.kicker { color: var(--muted); font-size: 13px; text-transform: uppercase; letter-spacing: 0.06em; margin: 0 0 2px; }
.summary { font-size: 19px; font-weight: 600; margin: 0 0 10px; overflow-wrap: anywhere; }
dl.kv { display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: 3px 14px; margin: 0; }
dl.kv dt { color: var(--muted); }
dl.kv dd { margin: 0; overflow-wrap: anywhere; }
.alert { border: 2px solid var(--v); border-left-width: 8px; background: var(--v-soft); }
.alert h2 { color: var(--v); }
.cards { display: grid; grid-template-columns: repeat(3, minmax(0, 1fr)); gap: 14px; }
.card { border: 1px solid var(--line); border-top: 6px solid var(--s); border-radius: 6px; padding: 10px 14px 12px; }
.card-head { display: flex; justify-content: space-between; align-items: center; gap: 8px; }
.card-head b { font-size: 17px; }
.card .what { color: var(--muted); font-size: 13px; min-height: 2.9em; }
.card .value { font-size: 30px; font-weight: 700; line-height: 1.2; margin-top: 4px; }
.card .exact { color: var(--muted); font-size: 13px; }
.card .target { margin-top: 6px; font-size: 14px; }
.badge {
  display: inline-block; font-size: 12px; font-weight: 700; letter-spacing: 0.03em;
  padding: 2px 9px; border-radius: 999px; color: #fff; background: var(--s); white-space: nowrap;
}
.s-ok { --s: var(--pass); } .s-bad { --s: var(--fail); } .s-none { --s: var(--none); } .s-warn { --s: var(--error); }
table { width: 100%; border-collapse: collapse; font-size: 14px; }
th, td { text-align: left; vertical-align: top; padding: 6px 8px; border-bottom: 1px solid var(--line); overflow-wrap: break-word; }
th { background: var(--soft); font-size: 13px; font-weight: 600; }
tr.bad td { background: #fff1f0; }
td.result { width: 1%; white-space: nowrap; }
.register { font-size: 13px; }
.register td .sub { display: block; color: var(--muted); font-size: 12px; }
.register td:first-child { min-width: 15em; }
.register .badge { margin-top: 3px; }
.grid2 { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 8px 24px; }
.grid2 > div > h3:first-child { margin-top: 4px; }
figure { margin: 0; }
figcaption { font-weight: 600; margin-bottom: 4px; }
svg.chart { display: block; height: auto; max-width: 100%; }
svg.chart text { font-family: var(--sans); }
.legend { display: flex; flex-wrap: wrap; gap: 4px 18px; color: var(--muted); font-size: 13px; margin-top: 6px; }
.swatch { display: inline-block; width: 12px; height: 12px; border-radius: 2px; vertical-align: -1px; margin-right: 5px; background: var(--s); }
.dash { display: inline-block; width: 22px; border-top: 2px dashed var(--ink); vertical-align: 4px; margin-right: 5px; }
ul.plain { margin: 0; padding-left: 20px; }
ul.plain li { overflow-wrap: anywhere; }
.warn { color: var(--error); font-weight: 600; }
.bad-text { color: var(--fail); font-weight: 600; }
@media screen and (max-width: 760px) {
  header.verdict { flex-direction: column; }
  .cards, .grid2 { grid-template-columns: minmax(0, 1fr); }
}
@page { margin: 14mm; }
@media print {
  body { background: #fff; font-size: 10.5pt; }
  main { max-width: none; padding: 0; }
  section, header.verdict { border-color: #aaa; }
  .keep, figure, tr { break-inside: avoid; }
  h2, h3, #register > p { break-after: avoid; }
}
"#;

fn head(out: &mut String, r: &DrillReport) {
    let _ = write!(
        out,
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{verdict} · {drill} · drill report {date}</title>
<style>{CSS}</style>
</head>
"#,
        verdict = verdict_word(r.verdict),
        drill = e(&r.drill),
        date = svg::timestamp(r.started),
    );
}

fn verdict_word(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "PASS",
        Verdict::Fail => "FAIL",
        Verdict::Error => "ERROR",
    }
}

fn verdict(out: &mut String, r: &DrillReport) {
    let (class, meaning) = match r.verdict {
        Verdict::Pass => ("v-pass", "all targets met, all checks passed"),
        Verdict::Fail => ("v-fail", "a target was missed or a check failed"),
        Verdict::Error => ("v-error", "the drill could not run"),
    };
    let took = r.finished.duration_since(r.started).as_secs_f64();
    let _ = write!(
        out,
        r#"<header class="verdict {class} keep" id="verdict">
<div class="verdict-word"><strong>{word}</strong><span>{meaning}</span></div>
<div class="verdict-text">
<p class="kicker">Restore drill report</p>
<h1>{drill}</h1>
<p class="summary">{summary}</p>
"#,
        word = verdict_word(r.verdict),
        drill = e(&r.drill),
        summary = e(&r.summary),
    );
    if let Some(d) = &r.description {
        let _ = writeln!(out, r#"<p class="note">{}</p>"#, e(d));
    }
    let _ = write!(
        out,
        r#"<dl class="kv">
<dt>Started</dt><dd>{started}</dd>
<dt>Finished</dt><dd>{finished} (took {took})</dd>
<dt>Host</dt><dd>{host}</dd>
<dt>Repository</dt><dd><code>{repo}</code></dd>
"#,
        started = svg::timestamp(r.started),
        finished = svg::timestamp(r.finished),
        took = svg::duration(took),
        host = e(&r.host),
        repo = e(&r.repository),
    );
    if let Some(f) = &r.drill_file {
        let _ = writeln!(out, "<dt>Drill file</dt><dd><code>{}</code></dd>", e(f));
    }
    let _ = write!(
        out,
        "<dt>firedrill</dt><dd>version {}</dd>\n</dl>\n</div>\n</header>\n",
        e(&r.firedrill_version)
    );
}

fn errors(out: &mut String, r: &DrillReport) {
    out.push_str(
        r#"<section id="errors" class="alert v-error"><h2>Errors that stopped the drill</h2><ul class="plain">"#,
    );
    for err in &r.errors {
        let _ = write!(out, "<li>{}</li>", e(err));
    }
    out.push_str("</ul></section>\n");
}

enum Bound {
    AtMost,
    AtLeast,
}

/// Badge class and text for a measure against its target.
fn status(t: &TargetRecord) -> (&'static str, &'static str) {
    match (t.met, t.target, t.measured) {
        (Some(true), _, _) => ("s-ok", "MET"),
        (Some(false), _, _) => ("s-bad", "MISSED"),
        (None, None, _) => ("s-none", "NO TARGET"),
        (None, Some(_), None) => ("s-warn", "NOT MEASURED"),
        (None, Some(_), Some(_)) => ("s-warn", "NOT JUDGED"),
    }
}

/// The exact seconds behind a duration shown rounded; nothing for other units, which are
/// shown as measured.
fn exact(value: f64, unit: &str) -> Option<String> {
    (unit == "seconds").then(|| svg::seconds_exact(value))
}

fn targets(out: &mut String, r: &DrillReport) {
    out.push_str(
        r#"<section id="targets" class="keep"><h2>Recovery targets</h2><div class="cards">"#,
    );
    card(
        out,
        "RTO",
        "Recovery time: how long the restore took.",
        &r.rto,
        Bound::AtMost,
    );
    card(
        out,
        "RPO",
        "Recovery point: how old the restored data was, so how much a disaster would lose.",
        &r.rpo,
        Bound::AtMost,
    );
    card(
        out,
        "Throughput",
        "How fast data was restored.",
        &r.throughput,
        Bound::AtLeast,
    );
    out.push_str("</div></section>\n");
}

fn card(out: &mut String, name: &str, what: &str, t: &TargetRecord, bound: Bound) {
    let (class, label) = status(t);
    let (value, exact_line) = match t.measured {
        Some(m) => (
            e(&svg::quantity(m, &t.unit)).into_owned(),
            match exact(m, &t.unit) {
                Some(x) => format!("measured {x}"),
                None => "&nbsp;".to_string(),
            },
        ),
        None => ("—".to_string(), "not measured".to_string()),
    };
    let target = match t.target {
        Some(v) => format!(
            "Target: {} {}{}",
            match bound {
                Bound::AtMost => "at most",
                Bound::AtLeast => "at least",
            },
            e(&svg::quantity(v, &t.unit)),
            match exact(v, &t.unit) {
                Some(x) => format!(" <span class=\"note\">({x})</span>"),
                None => String::new(),
            },
        ),
        None => "No target set".to_string(),
    };
    let _ = write!(
        out,
        r#"<div class="card {class}" id="{id}"><div class="card-head"><b>{name}</b><span class="badge">{label}</span></div><div class="what">{what}</div><div class="value">{value}</div><div class="exact">{exact_line}</div><div class="target">{target}</div></div>"#,
        id = name.to_lowercase(),
    );
}

fn timeline(out: &mut String, r: &DrillReport) {
    out.push_str(r#"<section id="timeline" class="keep"><h2>Phase timeline</h2>"#);
    if r.phases.is_empty() {
        out.push_str(r#"<p class="note">No phases were recorded.</p></section>"#);
        out.push('\n');
        return;
    }
    let took = r.finished.duration_since(r.started).as_secs_f64();
    let _ = write!(
        out,
        r#"<p class="note">Each bar is one phase, placed at the second it started after the drill began and as long as it took. The whole drill took {}.</p>{}</section>"#,
        svg::duration(took),
        svg::timeline(&r.phases),
    );
    out.push('\n');
}

/// The plan's verdict at the top: the answer an auditor asks for first.
fn plan(out: &mut String, r: &DrillReport) {
    let Some(plan) = &r.plan else {
        return;
    };
    let (class, word) = if plan.met {
        ("s-ok", "MET")
    } else {
        ("s-bad", "NOT MET")
    };
    let _ = write!(
        out,
        r#"<section id="plan"><h2>Business continuity plan: <span class="badge {class}">{word}</span></h2>"#
    );
    let rows = plan
        .rules
        .iter()
        .map(|r| (r.satisfied, r.rule.as_str(), r.detail.as_str()));
    result_table(out, "Rule", "OK", rows);
    out.push_str("</section>\n");
}

/// A table of results, each a pass or a fail with its evidence; failed rows shaded.
fn result_table<'a>(
    out: &mut String,
    what: &str,
    ok: &str,
    rows: impl Iterator<Item = (bool, &'a str, &'a str)>,
) {
    let _ = write!(
        out,
        r#"<table><thead><tr><th>Result</th><th>{what}</th><th>Evidence</th></tr></thead><tbody>"#
    );
    for (passed, name, evidence) in rows {
        let (row, class, label) = if passed {
            ("", "s-ok", ok)
        } else {
            (r#" class="bad""#, "s-bad", "FAIL")
        };
        let _ = write!(
            out,
            r#"<tr{row}><td class="result"><span class="badge {class}">{label}</span></td><td>{name}</td><td>{evidence}</td></tr>"#,
            name = e(name),
            evidence = e(evidence),
        );
    }
    out.push_str("</tbody></table>");
}

fn checks(out: &mut String, r: &DrillReport) {
    out.push_str(r#"<section id="checks"><h2>Checks</h2>"#);
    if r.checks.is_empty() {
        out.push_str(r#"<p class="note">No checks were run.</p></section>"#);
        out.push('\n');
        return;
    }
    let failed = r.checks.iter().filter(|c| !c.passed).count();
    let lead = if failed == 0 {
        format!("All {} checks passed.", r.checks.len())
    } else {
        format!("{failed} of {} checks failed.", r.checks.len())
    };
    let _ = write!(out, "<p>{lead}</p>");
    let rows = r
        .checks
        .iter()
        .map(|c| (c.passed, c.name.as_str(), c.evidence.as_str()));
    result_table(out, "Check", "PASS", rows);
    out.push_str("</section>\n");
}

fn faults(out: &mut String, r: &DrillReport) {
    out.push_str(r#"<section id="faults"><h2>Injected faults</h2>"#);
    if r.faults.is_empty() {
        out.push_str(r#"<p class="note">No faults were injected in this drill.</p></section>"#);
        out.push('\n');
        return;
    }
    let missed = r.faults.iter().filter(|f| !f.detected).count();
    let lead = if missed == 0 {
        format!(
            "All {} injected faults were detected. A drill with injected faults passes only if each one is detected.",
            r.faults.len()
        )
    } else {
        format!(
            "{missed} of {} injected faults went undetected. A drill with injected faults passes only if each one is detected.",
            r.faults.len()
        )
    };
    let _ = write!(
        out,
        r#"<p>{lead}</p><table><thead><tr><th>Result</th><th>Fault</th><th>Evidence</th></tr></thead><tbody>"#
    );
    for f in &r.faults {
        let (row, class, label) = if f.detected {
            ("", "s-ok", "DETECTED")
        } else {
            (r#" class="bad""#, "s-bad", "NOT DETECTED")
        };
        let _ = write!(
            out,
            r#"<tr{row}><td class="result"><span class="badge {class}">{label}</span></td><td>{fault}</td><td>{evidence}</td></tr>"#,
            fault = e(&f.fault),
            evidence = e(&f.evidence),
        );
    }
    out.push_str("</tbody></table></section>\n");
}

fn trend(out: &mut String, r: &DrillReport, history: &[DrillReport]) {
    out.push_str(r#"<section id="trend" class="keep"><h2>Trend over past runs</h2>"#);
    if history.is_empty() {
        out.push_str(
            r#"<p>This is the first run of this drill: there are no earlier reports to compare it with yet.</p></section>"#,
        );
        out.push('\n');
        return;
    }
    let skip = history.len().saturating_sub(TREND_RUNS - 1);
    let runs: Vec<&DrillReport> = history[skip..].iter().chain([r]).collect();
    let verdicts = |v: Verdict| history.iter().filter(|h| h.verdict == v).count();
    let mut earlier = format!(
        "{} earlier run{}: {} passed, {} failed",
        history.len(),
        if history.len() == 1 { "" } else { "s" },
        verdicts(Verdict::Pass),
        verdicts(Verdict::Fail),
    );
    let errored = verdicts(Verdict::Error);
    if errored > 0 {
        let _ = write!(earlier, ", {errored} could not run");
    }
    let shown = if skip > 0 {
        format!(" The charts show the last {} runs.", runs.len())
    } else {
        String::new()
    };
    let points = |pick: fn(&DrillReport) -> &TargetRecord| -> Vec<TrendPoint> {
        runs.iter()
            .enumerate()
            .map(|(i, run)| {
                let t = pick(run);
                TrendPoint {
                    started: run.started,
                    value: t.measured,
                    target: t.target,
                    met: t.met,
                    current: i + 1 == runs.len(),
                }
            })
            .collect()
    };
    let _ = write!(
        out,
        r#"<p>{earlier}; this run is the last bar.{shown}</p><div class="grid2"><figure><figcaption>RTO (recovery time)</figcaption>{rto}</figure><figure><figcaption>RPO (age of the restored data)</figcaption>{rpo}</figure></div>"#,
        rto = svg::trend("trend-rto", "RTO", &points(|r| &r.rto)),
        rpo = svg::trend("trend-rpo", "RPO", &points(|r| &r.rpo)),
    );
    out.push_str(
        r#"<div class="legend"><span><span class="swatch s-ok"></span>target met</span><span><span class="swatch s-bad"></span>target missed</span><span><span class="swatch s-none"></span>no target</span><span><span class="dash"></span>target</span>"#,
    );
    if runs
        .iter()
        .any(|r| r.rto.measured.is_none() || r.rpo.measured.is_none())
    {
        out.push_str("<span>n/a: not measured (the run stopped before it)</span>");
    }
    out.push_str("</div></section>\n");
}

/// How the bytes travel to a store, as the reader should understand it.
fn transport(t: Option<&str>) -> Cow<'_, str> {
    match t {
        Some("https") => "HTTPS".into(),
        Some("loopback_http") => "HTTP on this machine (nothing crosses a network)".into(),
        Some("insecure_http") => {
            r#"<span class="warn">plain HTTP across the network</span> (allowed by configuration)"#
                .into()
        }
        Some("local_disk") => "local disk".into(),
        Some(other) => e(other),
        None => "—".into(),
    }
}

fn opt(s: Option<&str>) -> Cow<'_, str> {
    match s {
        Some(s) => e(s),
        None => "—".into(),
    }
}

fn register(out: &mut String, r: &DrillReport) {
    out.push_str(
        r#"<section id="register"><h2>Data-location register</h2><p>This register is evidence for the records of processing (GDPR Art. 30), the security of processing (Art. 32) and transfer impact assessments: it lists every store that holds a copy of this repository, where it is and under which jurisdiction, how data travels to it, and that data is encrypted on this machine before it leaves.</p>"#,
    );
    if r.stores.is_empty() {
        out.push_str(r#"<p class="note">The plan declares no stores.</p></section>"#);
        out.push('\n');
        return;
    }
    out.push_str(
        r#"<table class="register"><thead><tr><th>Store</th><th>Role</th><th>Provider</th><th>Region</th><th>Jurisdiction</th><th>Endpoint</th><th>Transport</th><th>Encryption</th><th>Lost in this drill</th></tr></thead><tbody>"#,
    );
    for s in &r.stores {
        store_row(out, r, s);
    }
    out.push_str("</tbody></table></section>\n");
}

fn store_row(out: &mut String, r: &DrillReport, s: &StoreRecord) {
    let source = if s.name == r.source.store {
        r#" <span class="badge s-ok">restored from</span>"#
    } else {
        ""
    };
    let lost = if s.lost_in_drill {
        r#"<span class="badge s-bad">LOST</span>"#
    } else {
        "no"
    };
    let _ = write!(
        out,
        r#"<tr><td><b>{name}</b>{source}<code class="sub">{location}</code></td><td>{role}</td><td>{provider}</td><td>{region}</td><td>{jurisdiction}</td><td><code>{endpoint}</code></td><td>{transport}</td><td>{encryption}</td><td>{lost}</td></tr>"#,
        name = e(&s.name),
        location = e(&s.location),
        role = e(&s.role),
        provider = e(&s.provider),
        region = opt(s.region.as_deref()),
        jurisdiction = opt(s.jurisdiction.as_deref()),
        endpoint = e(&s.endpoint),
        transport = transport(s.transport.as_deref()),
        encryption = e(&s.encryption),
    );
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        return "—".to_string();
    }
    let mut s = String::new();
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        let _ = write!(s, "<code>{}</code>", e(item));
    }
    s
}

/// A percentage without needless decimals: "10", "2.5".
pub(super) fn percent(p: f64) -> String {
    if p == p.trunc() {
        format!("{p:.0}")
    } else {
        format!("{p}")
    }
}

fn share(part: u64, whole: u64) -> String {
    if whole == 0 {
        String::new()
    } else {
        format!(" ({:.1}%)", part as f64 * 100.0 / whole as f64)
    }
}

fn details(out: &mut String, r: &DrillReport) {
    out.push_str(r#"<section id="details"><h2>Source, snapshot and scope</h2><div class="grid2">"#);

    // Source.
    let lost = if r.source.lost.is_empty() {
        "none".to_string()
    } else {
        list(&r.source.lost)
    };
    let _ = write!(
        out,
        r#"<div id="source"><h3>Source</h3><dl class="kv"><dt>Restored from</dt><dd><b>{store}</b></dd><dt>Why this store</dt><dd>{reason}</dd><dt>Treated as lost</dt><dd>{lost}</dd></dl></div>"#,
        store = e(&r.source.store),
        reason = e(&r.source.reason),
    );

    // Snapshot.
    out.push_str(r#"<div id="snapshot"><h3>Snapshot</h3>"#);
    match &r.snapshot {
        Some(s) => {
            let _ = write!(
                out,
                r#"<dl class="kv"><dt>ID</dt><dd><code>{id}</code></dd><dt>Taken</dt><dd>{time}</dd><dt>Host</dt><dd>{host}</dd><dt>Paths</dt><dd>{paths}</dd><dt>Tags</dt><dd>{tags}</dd><dt>Chosen</dt><dd>{selection}</dd></dl>"#,
                id = e(&s.id),
                time = svg::timestamp(s.time),
                host = e(&s.host),
                paths = list(&s.paths),
                tags = list(&s.tags),
                selection = e(&s.selection),
            );
        }
        None => out.push_str(r#"<p class="note">No snapshot was chosen.</p>"#),
    }
    out.push_str("</div>");

    // Scope.
    let sc = &r.scope;
    let what = match sc.kind.as_str() {
        "all" => "everything in the snapshot".to_string(),
        "sample" => {
            let mut s = "a random sample".to_string();
            if let Some(p) = sc.percent {
                let _ = write!(s, " of {}%", percent(p));
            }
            if let Some(by) = &sc.by {
                let _ = write!(s, " by {}", e(by));
            }
            s
        }
        "paths" => "the paths listed".to_string(),
        other => e(other).into_owned(),
    };
    let _ = write!(
        out,
        r#"<div id="scope"><h3>Scope</h3><dl class="kv"><dt>Kind</dt><dd><code>{kind}</code>: {what}</dd>"#,
        kind = e(&sc.kind),
    );
    if let Some(seed) = sc.seed {
        let _ = write!(
            out,
            r#"<dt>Seed</dt><dd><code>{seed}</code>: running the drill with <code>--seed {seed}</code> replays this sample</dd>"#
        );
    }
    if !sc.paths.is_empty() {
        let _ = write!(out, "<dt>Paths</dt><dd>{}</dd>", list(&sc.paths));
    }
    let _ = write!(
        out,
        r#"<dt>Files</dt><dd>{fs} of {fa}{fp}</dd><dt>Bytes</dt><dd>{bs} of {ba}{bp}</dd></dl></div>"#,
        fs = svg::count(sc.files_selected),
        fa = svg::count(sc.files_in_snapshot),
        fp = share(sc.files_selected, sc.files_in_snapshot),
        bs = svg::size(sc.bytes_selected),
        ba = svg::size(sc.bytes_in_snapshot),
        bp = share(sc.bytes_selected, sc.bytes_in_snapshot),
    );

    // Restore.
    out.push_str(r#"<div id="restore"><h3>Restore</h3>"#);
    match &r.restore {
        Some(rs) => {
            let _ = write!(
                out,
                r#"<dl class="kv"><dt>Files restored</dt><dd>{fr}</dd><dt>Files verified</dt><dd>{fv}</dd><dt>Bytes restored</dt><dd>{br}</dd><dt>Fetched from the store</dt><dd>{bf}</dd><dt>Damaged</dt><dd>{damaged}</dd>"#,
                fr = svg::count(rs.files_restored),
                fv = svg::count(rs.files_verified),
                br = svg::bytes(rs.bytes_restored),
                bf = svg::bytes(rs.bytes_fetched),
                damaged = if rs.damaged.is_empty() {
                    "none: every restored file is intact".to_string()
                } else {
                    format!(
                        r#"<span class="bad-text">{} path{}, listed below</span>"#,
                        rs.damaged.len(),
                        if rs.damaged.len() == 1 { "" } else { "s" }
                    )
                },
            );
        }
        None => out.push_str(r#"<dl class="kv"><dt>Status</dt><dd>did not run</dd>"#),
    }
    let kept = match &r.kept_restore {
        Some(k) => format!("<code>{}</code>", e(k)),
        None => "no: removed after the drill".to_string(),
    };
    let _ = write!(
        out,
        "<dt>Scratch restore kept</dt><dd>{kept}</dd></dl></div></div>"
    );

    // Damaged paths.
    if let Some(rs) = r.restore.as_ref().filter(|rs| !rs.damaged.is_empty()) {
        out.push_str(r#"<h3 id="damaged">Damaged paths</h3><ul class="plain">"#);
        for d in &rs.damaged {
            let _ = write!(out, "<li><code>{}</code></li>", e(d));
        }
        out.push_str("</ul>");
    }

    // Errors.
    out.push_str("<h3>Errors</h3>");
    if r.errors.is_empty() {
        out.push_str(r#"<p class="note">None: the drill ran to the end.</p>"#);
    } else {
        let _ = write!(
            out,
            r#"<p>{} error{} stopped the drill; they are listed at the top of this report.</p>"#,
            r.errors.len(),
            if r.errors.len() == 1 { "" } else { "s" }
        );
    }

    // Chain.
    out.push_str(r#"<h3 id="chain">Report chain</h3>"#);
    match &r.previous_report {
        Some(p) => {
            let _ = write!(
                out,
                r#"<p>Previous report: <code>{}</code></p><p class="note">Each report names the one before it in this repository (its BLAKE3 id), so a report removed or altered later shows as a break in the chain.</p>"#,
                e(p)
            );
        }
        None => out.push_str(
            r#"<p>Previous report: none, this is the first report in this repository.</p>"#,
        ),
    }
    out.push_str("</section>\n");
}
