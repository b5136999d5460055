//! The two renderings of a drill report: Markdown and a self-contained HTML page.
//!
//! Reports are built by hand, PASS, FAIL (with hostile strings) and ERROR, with a history
//! of earlier runs. The HTML is also opened in headless Chromium, which must be
//! installed (Debian's `chromium` package; CI's .ci/run installs it).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use firedrill::report::model::{
    Check, DrillReport, FaultRecord, Phase, PlanRule, PlanSummary, RestoreRecord, SCHEMA_VERSION,
    ScopeRecord, SnapshotRecord, SourceRecord, StoreRecord, TargetRecord, Verdict,
};
use firedrill::report::{html, markdown};

const SCRIPT: &str = "<script>alert(1)</script>";
const QUOTES: &str = r#""&'"#;
const REPOSITORY: &str = "9c1d6f0e4b7a2c8d5e3f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d";
const PREVIOUS: &str = "5e0b8a4f2c6d1e9b7a3c5d8e0f2a4b6c8d0e1f3a5b7c9d2e4f6a8b0c1d3e5f7a";

fn ts(s: &str) -> jiff::Timestamp {
    s.parse().expect("timestamp")
}

fn at(start: jiff::Timestamp, seconds: i64) -> jiff::Timestamp {
    start + jiff::SignedDuration::from_secs(seconds)
}

fn seconds(target: Option<f64>, measured: Option<f64>) -> TargetRecord {
    TargetRecord {
        target,
        measured,
        unit: "seconds".to_string(),
        met: match (target, measured) {
            (Some(t), Some(m)) => Some(m <= t),
            _ => None,
        },
    }
}

/// A store reached over HTTPS with no region or jurisdiction, not lost.
fn store(name: &str, role: &str, provider: &str, location: &str, endpoint: &str) -> StoreRecord {
    StoreRecord {
        name: name.to_string(),
        role: role.to_string(),
        provider: provider.to_string(),
        location: location.to_string(),
        region: None,
        jurisdiction: None,
        endpoint: endpoint.to_string(),
        transport: Some("https".to_string()),
        encryption: "AES-256-GCM, client-side".to_string(),
        lost_in_drill: false,
    }
}

fn some(s: &str) -> Option<String> {
    Some(s.to_string())
}

/// A realistic passing drill: the primary region lost, restored from the EU replica.
fn passing(started: jiff::Timestamp, rto: f64, rpo: f64) -> DrillReport {
    let phases = [
        ("open repository", 0.0, 2.1),
        ("choose snapshot", 2.1, 0.4),
        ("fetch index", 2.5, 6.8),
        ("restore files", 9.3, rto - 30.6),
        ("verify every byte", rto - 21.3, 18.2),
        ("canaries", rto - 3.1, 0.5),
        ("post-restore command", rto - 2.6, 2.6),
    ];
    let mib_s = 2_254_857_830.0 / 1_048_576.0 / (rto - 30.6);
    DrillReport {
        schema_version: SCHEMA_VERSION,
        drill: "payments-db-quarterly".to_string(),
        description: Some(
            "Restore the payments database from the EU replica as if the primary region were lost."
                .to_string(),
        ),
        drill_file: Some("drills/payments-db.toml".to_string()),
        verdict: Verdict::Pass,
        summary: "All targets met: restored 1,423 files in 4 min 12 s from gcs-europe; every check passed and both injected faults were detected.".to_string(),
        started,
        finished: at(started, rto.round() as i64 + 1),
        host: "backup-01.prod.example.net".to_string(),
        firedrill_version: "0.1.0".to_string(),
        repository: REPOSITORY.to_string(),
        source: SourceRecord {
            store: "gcs-europe".to_string(),
            lost: vec!["s3-primary".to_string()],
            reason: "named by the drill (restore_from = \"gcs-europe\")".to_string(),
        },
        snapshot: Some(SnapshotRecord {
            id: "3f9a1c2e7b4d6a8f0e2c4b6d8a0f1e3c5b7d9f1a3c5e7b9d1f3a5c7e9b1d3f5a".to_string(),
            time: at(started, -(rpo as i64)),
            host: "db-01.prod.example.net".to_string(),
            paths: vec!["/srv/postgres".to_string(), "/etc/postgresql".to_string()],
            tags: vec!["nightly".to_string()],
            selection: "latest".to_string(),
        }),
        scope: ScopeRecord {
            kind: "sample".to_string(),
            percent: Some(10.0),
            by: Some("files".to_string()),
            seed: Some(4242),
            paths: vec![],
            files_selected: 1_423,
            bytes_selected: 2_254_857_830,
            files_in_snapshot: 14_233,
            bytes_in_snapshot: 22_978_560_102,
        },
        rto: seconds(Some(900.0), Some(rto)),
        rpo: seconds(Some(86_400.0), Some(rpo)),
        throughput: TargetRecord {
            target: Some(5.0),
            measured: Some(mib_s),
            unit: "MiB/s".to_string(),
            met: Some(mib_s >= 5.0),
        },
        phases: phases
            .iter()
            .map(|&(name, offset, secs)| Phase {
                name: name.to_string(),
                offset_seconds: offset,
                seconds: secs,
            })
            .collect(),
        checks: vec![
            Check {
                name: "at least 1,000 files restored".to_string(),
                passed: true,
                evidence: "1,423 files restored".to_string(),
            },
            Check {
                name: "every restored file matches its BLAKE3".to_string(),
                passed: true,
                evidence: "1,423 of 1,423 files verified".to_string(),
            },
            Check {
                name: "canary /srv/postgres/PG_VERSION".to_string(),
                passed: true,
                evidence: "content matches (\"16\")".to_string(),
            },
            Check {
                name: "post-restore command pg_verifybackup".to_string(),
                passed: true,
                evidence: "exit code 0 after 2.6 s".to_string(),
            },
        ],
        faults: vec![
            FaultRecord {
                fault: "outage of s3-primary".to_string(),
                detected: true,
                evidence: "s3-primary unreachable (connection refused); restored from gcs-europe"
                    .to_string(),
            },
            FaultRecord {
                fault: "200 ms latency per request on the source".to_string(),
                detected: true,
                evidence: "median request time 214 ms; RTO still within target".to_string(),
            },
        ],
        restore: Some(RestoreRecord {
            files_restored: 1_423,
            files_verified: 1_423,
            bytes_restored: 2_254_857_830,
            bytes_fetched: 1_184_023_551,
            damaged: vec![],
        }),
        stores: vec![
            StoreRecord {
                region: some("eu-central-1"),
                jurisdiction: some("DE (EU)"),
                lost_in_drill: true,
                ..store(
                    "s3-primary",
                    "primary",
                    "AWS S3",
                    "s3:https://s3.eu-central-1.amazonaws.com/acme-backups/payments",
                    "https://s3.eu-central-1.amazonaws.com",
                )
            },
            StoreRecord {
                region: some("europe-west4"),
                jurisdiction: some("NL (EU)"),
                ..store(
                    "gcs-europe",
                    "replica",
                    "Google Cloud Storage",
                    "gcs:acme-backups-eu/payments",
                    "https://storage.googleapis.com",
                )
            },
            StoreRecord {
                jurisdiction: some("DE (EU)"),
                transport: some("insecure_http"),
                ..store(
                    "nas-office",
                    "replica",
                    "S3-compatible (MinIO)",
                    "s3:http://nas.office.example.net:9000/backups/payments",
                    "http://nas.office.example.net:9000",
                )
            },
        ],
        errors: vec![],
        previous_report: Some(PREVIOUS.to_string()),
        kept_restore: None,
        plan: Some(PlanSummary {
            met: false,
            rules: vec![
                PlanRule {
                    rule: "at least 2 complete replica(s)".into(),
                    satisfied: true,
                    detail: "2 of 2 declared replica(s) complete".into(),
                },
                PlanRule {
                    rule: "drill primary-region-lost passed at least every 92.0 days".into(),
                    satisfied: false,
                    detail: "has never passed".into(),
                },
            ],
        }),
    }
}

/// A failing drill whose strings try to break out of the page: in the drill name, a
/// snapshot path, a check's evidence, a store's endpoint and a damaged path.
fn failing_hostile(started: jiff::Timestamp) -> DrillReport {
    let mut r = passing(started, 1_141.6, 93_600.0);
    r.drill = format!("payments-db {SCRIPT} {QUOTES}");
    r.verdict = Verdict::Fail;
    r.summary = "RTO and RPO missed (19 min 2 s against 15 min; data 1 d 2 h old against 1 d), restore slower than 5 MiB/s, and 1 of 4 checks failed.".to_string();
    r.rpo = seconds(Some(86_400.0), Some(93_600.0));
    if let Some(s) = r.snapshot.as_mut() {
        s.paths.push(format!("/srv/{SCRIPT}/{QUOTES}|pipe"));
    }
    r.checks[2].passed = false;
    r.checks[2].evidence =
        format!("content differs: expected \"16\", found {SCRIPT} {QUOTES} | pipe");
    r.faults.push(FaultRecord {
        fault: "2 data objects of the source read back corrupted".to_string(),
        detected: true,
        evidence: "2 objects failed AES-GCM authentication; 2 paths reported damaged".to_string(),
    });
    r.stores[1].endpoint = format!("https://storage.example.net/{SCRIPT}{QUOTES}");
    if let Some(rs) = r.restore.as_mut() {
        rs.files_verified = 1_421;
        rs.damaged = vec![
            format!(
                "/srv/postgres/base/16384/2619 <img src=x onerror=alert(1)> {QUOTES}: authentication failed"
            ),
            "/srv/postgres/base/16384/2840: missing data object 7c1e…".to_string(),
        ];
    }
    r.kept_restore = Some("/var/tmp/firedrill-drill-7f3a".to_string());
    r
}

/// A drill that could not run, on its first run.
fn erroring(started: jiff::Timestamp) -> DrillReport {
    let mut r = passing(started, 252.4, 18_000.0);
    r.verdict = Verdict::Error;
    r.summary =
        "The drill could not run: the repository on gcs-europe could not be opened.".to_string();
    r.finished = at(started, 3);
    r.snapshot = None;
    r.scope.files_selected = 0;
    r.scope.bytes_selected = 0;
    r.scope.files_in_snapshot = 0;
    r.scope.bytes_in_snapshot = 0;
    r.rto = seconds(Some(900.0), None);
    r.rpo = seconds(Some(86_400.0), None);
    r.throughput = TargetRecord {
        target: None,
        measured: None,
        unit: "MiB/s".to_string(),
        met: None,
    };
    r.phases.truncate(1);
    r.phases[0].seconds = 2.9;
    r.checks.clear();
    r.faults.clear();
    r.restore = None;
    r.errors = vec![
        "opening the repository on gcs-europe: 403 Forbidden: the service account lacks storage.objects.get".to_string(),
    ];
    r.previous_report = None;
    r
}

/// Three earlier runs of the drill, a week apart, oldest first; the last one failed.
fn history(now: jiff::Timestamp) -> Vec<DrillReport> {
    let week = 7 * 86_400;
    let mut h = vec![
        passing(at(now, -3 * week), 318.0, 21_600.0),
        passing(at(now, -2 * week), 275.5, 14_400.0),
        passing(at(now, -week), 1_020.0, 30_600.0),
    ];
    h[2].verdict = Verdict::Fail;
    h[2].summary = "RTO missed".to_string();
    h
}

fn now() -> jiff::Timestamp {
    ts("2026-11-29T02:00:00Z")
}

// ---------------------------------------------------------------------------------------
// Checks on the text of the pages.

/// The `<svg>…</svg>` parts of a page.
fn svg_parts(html: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<svg") {
        let end = rest[start..]
            .find("</svg>")
            .expect("an <svg> without </svg>")
            + start
            + 6;
        parts.push(&rest[start..end]);
        rest = &rest[end..];
    }
    parts
}

/// Every tag closed in order, every `&` an entity: enough of XML's well-formedness to catch
/// a broken chart or an unescaped string.
fn assert_well_formed(xml: &str) {
    let mut stack: Vec<&str> = Vec::new();
    let mut rest = xml;
    while let Some(lt) = rest.find('<') {
        assert_text_ok(&rest[..lt], xml);
        let gt = rest[lt..].find('>').expect("unclosed tag") + lt;
        let tag = &rest[lt + 1..gt];
        assert!(!tag.contains('<'), "'<' inside a tag: {tag}");
        if let Some(name) = tag.strip_prefix('/') {
            let open = stack
                .pop()
                .unwrap_or_else(|| panic!("</{name}> closes nothing"));
            assert_eq!(open, name.trim(), "</{name}> closes <{open}>");
        } else {
            assert!(
                !tag.starts_with('!') && !tag.starts_with('?'),
                "unexpected <{tag}>"
            );
            let name = tag
                .split(|c: char| c.is_whitespace() || c == '/')
                .next()
                .unwrap();
            assert!(!name.is_empty(), "empty tag name in {xml}");
            assert_eq!(
                tag.matches('"').count() % 2,
                0,
                "unbalanced quotes in <{tag}>"
            );
            if !tag.ends_with('/') {
                stack.push(name);
            }
        }
        rest = &rest[gt + 1..];
    }
    assert_text_ok(rest, xml);
    assert!(stack.is_empty(), "unclosed: {stack:?}");
}

fn assert_text_ok(text: &str, context: &str) {
    assert!(!text.contains('>'), "raw '>' in text {text:?} of {context}");
    for (i, _) in text.match_indices('&') {
        let entity = &text[i..];
        let end = entity.find(';').expect("'&' without ';'");
        let body = &entity[1..end];
        let ok = matches!(body, "amp" | "lt" | "gt" | "quot" | "apos")
            || body
                .strip_prefix("#x")
                .is_some_and(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_hexdigit()))
            || body
                .strip_prefix('#')
                .is_some_and(|d| !d.is_empty() && d.chars().all(|c| c.is_ascii_digit()));
        assert!(ok, "bad entity &{body}; in {context}");
    }
}

fn assert_self_contained(html: &str) {
    let lower = html.to_lowercase();
    for bad in [
        "src=\"http",
        "href=\"http",
        "src='http",
        "href='http",
        "@import",
        "url(",
        "<script",
        "<link",
        "<img",
        "<iframe",
        "<object",
        "<embed",
        "@font-face",
    ] {
        assert!(!lower.contains(bad), "the page contains {bad:?}");
    }
}

fn assert_sections(html: &str) {
    for id in [
        "verdict",
        "plan",
        "targets",
        "rto",
        "rpo",
        "throughput",
        "timeline",
        "checks",
        "faults",
        "trend",
        "register",
        "details",
        "source",
        "snapshot",
        "scope",
        "restore",
        "chain",
    ] {
        assert!(html.contains(&format!("id=\"{id}\"")), "no section #{id}");
    }
    for text in [
        "Business continuity plan",
        "Recovery targets",
        "Phase timeline",
        "Checks",
        "Injected faults",
        "Trend over past runs",
        "Data-location register",
        "GDPR Art. 30",
        "Art. 32",
        "transfer impact assessments",
        "AES-256-GCM, client-side",
        "Source, snapshot and scope",
        "Report chain",
        "Errors",
        REPOSITORY,
        "backup-01.prod.example.net",
        "2026-11-29 02:00:00 UTC",
    ] {
        assert!(html.contains(text), "the page lacks {text:?}");
    }
}

#[test]
fn pass_page_shows_every_section() {
    let r = passing(now(), 252.4, 18_000.0);
    let page = html::render(&r, &history(now()));
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert_self_contained(&page);
    assert_sections(&page);
    assert!(page.contains(r#"class="verdict v-pass"#));
    assert!(page.contains("<strong>PASS</strong>"));
    assert!(page.contains("payments-db-quarterly"));
    assert!(page.contains(&r.summary));
    // Targets against their measures.
    assert!(page.contains("4 min 12 s"), "RTO measured");
    assert!(page.contains("at most 15 min"), "RTO target");
    assert!(page.contains("at least 5.0 MiB/s"), "throughput target");
    assert!(page.contains(">MET<"));
    assert!(!page.contains(">MISSED<"));
    // Every check and fault, with its evidence.
    for c in &r.checks {
        assert!(page.contains(&c.name) && page.contains(&c.evidence.replace('"', "&quot;")));
    }
    for f in &r.faults {
        assert!(page.contains(&f.fault) && page.contains(">DETECTED<"));
    }
    // The register: every store, the lost one marked.
    for s in &r.stores {
        assert!(page.contains(&s.name) && page.contains(&s.endpoint));
    }
    assert!(page.contains(">LOST<"));
    assert!(page.contains("plain HTTP across the network"));
    // Scope, seed, restore counts, chain.
    assert!(page.contains("--seed 4242"));
    assert!(page.contains("1,423 of 14,233"));
    assert!(page.contains("none: every restored file is intact"));
    assert!(page.contains(PREVIOUS));
    assert!(!page.contains("first run of this drill"));
    assert!(!page.contains(r#"id="errors""#));
}

#[test]
fn fail_page_escapes_every_hostile_string() {
    let r = failing_hostile(now());
    let page = html::render(&r, &history(now()));
    assert_self_contained(&page);
    assert_sections(&page);
    assert!(!page.contains(SCRIPT), "a raw <script> in the page");
    assert!(!page.to_lowercase().contains("<script"));
    assert!(!page.contains("<img"));
    let escaped = "&lt;script&gt;alert(1)&lt;&#x2F;script&gt;";
    let escaped_plain = "&lt;script&gt;alert(1)&lt;/script&gt;";
    let count = page.matches(escaped).count() + page.matches(escaped_plain).count();
    // Drill name (title and heading), snapshot path, evidence, endpoint.
    assert!(
        count >= 5,
        "the hostile strings are not all shown escaped ({count})"
    );
    assert!(
        page.contains("&quot;&amp;&#x27;"),
        "quotes and ampersand escaped"
    );
    assert!(!page.contains(QUOTES));
    assert!(page.contains("&lt;img src=x onerror=alert(1)&gt;"));
    // FAIL in red, the missed targets and the failed check shown.
    assert!(page.contains(r#"class="verdict v-fail"#));
    assert!(page.contains("<strong>FAIL</strong>"));
    assert!(page.contains(">MISSED<"));
    assert!(page.contains(r#"<tr class="bad">"#));
    assert!(page.contains("1 of 4 checks failed."));
    assert!(page.contains(r#"id="damaged""#));
    assert!(page.contains("/var/tmp/firedrill-drill-7f3a"));
}

#[test]
fn error_page_on_a_first_run() {
    let r = erroring(now());
    let page = html::render(&r, &[]);
    assert_self_contained(&page);
    assert_sections(&page);
    assert!(page.contains(r#"class="verdict v-error"#));
    assert!(page.contains("<strong>ERROR</strong>"));
    assert!(page.contains(r#"id="errors""#));
    assert!(page.contains("403 Forbidden"));
    assert!(page.contains("first run of this drill"));
    assert!(page.contains(">NOT MEASURED<"));
    assert!(page.contains(">NO TARGET<"));
    assert!(page.contains("No snapshot was chosen."));
    assert!(page.contains("No checks were run."));
    assert!(page.contains("No faults were injected in this drill."));
    assert!(page.contains("none, this is the first report in this repository"));
    // Only the timeline: no trend without history.
    assert_eq!(svg_parts(&page).len(), 1);
}

#[test]
fn charts_are_well_formed_svg() {
    for r in [passing(now(), 252.4, 18_000.0), failing_hostile(now())] {
        let page = html::render(&r, &history(now()));
        let svgs = svg_parts(&page);
        assert_eq!(svgs.len(), 3, "timeline, RTO trend and RPO trend");
        for svg in &svgs {
            assert_well_formed(svg);
            assert!(svg.contains("viewBox=") && svg.contains("<rect"));
            assert!(!svg.contains("NaN") && !svg.contains("inf"));
        }
        // The timeline: a bar and a seconds label per phase.
        let timeline = svgs[0];
        assert_eq!(
            timeline.matches("<rect").count(),
            r.phases.len() + r.phases.len() / 2,
            "one bar per phase, plus the shaded rows"
        );
        assert!(timeline.contains(">2.10 s<") && timeline.contains("seconds from the drill"));
        // The trends: a bar per run and the target as a dashed line.
        for trend in &svgs[1..] {
            assert_eq!(
                trend.matches("<rect").count(),
                4,
                "3 earlier runs and this one"
            );
            assert!(trend.contains("stroke-dasharray") && trend.contains("target ≤"));
            assert!(trend.contains(">this run<"));
        }
    }
    // A run that could not measure shows as n/a, between the bars of the others.
    let mut past = history(now());
    past.insert(1, erroring(at(now(), -17 * 86_400)));
    let page = html::render(&passing(now(), 252.4, 18_000.0), &past);
    let svgs = svg_parts(&page);
    assert_eq!(svgs.len(), 3);
    for trend in &svgs[1..] {
        assert_well_formed(trend);
        assert_eq!(trend.matches("<rect").count(), 4);
        assert!(trend.contains(">n/a</text>"));
    }
    assert!(page.contains("4 earlier runs: 2 passed, 1 failed, 1 could not run"));

    // Even a degenerate report draws a sane chart.
    let mut odd = erroring(now());
    odd.phases = vec![Phase {
        name: format!("{SCRIPT}{QUOTES}"),
        offset_seconds: f64::NAN,
        seconds: 0.0,
    }];
    let page = html::render(&odd, &[]);
    let svgs = svg_parts(&page);
    assert_eq!(svgs.len(), 1);
    assert_well_formed(svgs[0]);
    assert!(!svgs[0].contains("NaN\""));
}

/// The rows of each Markdown table: lines starting with `|`, split on unescaped pipes.
fn markdown_tables(md: &str) -> Vec<Vec<usize>> {
    let mut tables = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    for line in md.lines() {
        if line.starts_with('|') {
            let mut pipes = 0;
            let mut chars = line.chars();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => {
                        chars.next();
                    }
                    '|' => pipes += 1,
                    _ => {}
                }
            }
            current.push(pipes);
        } else if !current.is_empty() {
            tables.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        tables.push(current);
    }
    tables
}

fn assert_markdown(md: &str, min_tables: usize) {
    let tables = markdown_tables(md);
    assert!(tables.len() >= min_tables, "{} tables", tables.len());
    for t in &tables {
        assert!(t.len() >= 3, "a table without rows");
        assert!(t.iter().all(|&n| n == t[0]), "uneven table: {t:?}\n{md}");
    }
    // Delimiter rows under every header.
    let lines: Vec<&str> = md.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        if line.starts_with('|') && (i == 0 || !lines[i - 1].starts_with('|')) {
            let delim = lines[i + 1];
            assert!(
                delim
                    .split('|')
                    .all(|c| c.trim().is_empty() || c.trim() == "---"),
                "no delimiter row under {line}"
            );
        }
    }
    // Every '<' is escaped: no HTML gets through a Markdown renderer.
    for (i, _) in md.match_indices('<') {
        assert!(
            i > 0 && &md[i - 1..i] == "\\",
            "unescaped '<' at {}",
            &md[i.saturating_sub(20)..md.len().min(i + 20)]
        );
    }
}

#[test]
fn markdown_has_the_same_content_in_even_tables() {
    let pass = markdown::render(&passing(now(), 252.4, 18_000.0), &history(now()));
    assert_markdown(&pass, 11);
    for text in [
        "# Drill report: payments-db-quarterly",
        "**PASS**",
        "## Recovery targets",
        "| RTO (recovery time) | 4 min 12 s (252.4 s) | at most 15 min (900.0 s) | met |",
        "## Phase timeline",
        "## Checks",
        "## Injected faults",
        "## Trend over past runs",
        "(this run)",
        "## Data-location register",
        "GDPR Art. 30",
        "transfer impact assessments",
        "AES-256-GCM, client-side",
        "**LOST**",
        "### Snapshot",
        "### Scope",
        "`--seed 4242`",
        "### Restore",
        "### Report chain",
        PREVIOUS,
        REPOSITORY,
    ] {
        assert!(pass.contains(text), "the Markdown lacks {text:?}\n{pass}");
    }

    let fail = markdown::render(&failing_hostile(now()), &history(now()));
    assert_markdown(&fail, 12);
    assert!(fail.contains("**FAIL**") && fail.contains("**MISSED**"));
    assert!(fail.contains(r"payments-db \<script\>alert(1)\</script\>"));
    assert!(fail.contains(r"\| pipe"));
    assert!(fail.contains("### Damaged paths"));

    let error = markdown::render(&erroring(now()), &[]);
    assert_markdown(&error, 7);
    // Kept beside the pages, to read.
    for (name, md) in [("pass", &pass), ("fail", &fail), ("error", &error)] {
        fs::write(out_dir().join(format!("{name}.md")), md).unwrap();
    }
    assert!(error.contains("**ERROR**") && error.contains("403 Forbidden"));
    assert!(error.contains("first run of this drill"));
    assert!(error.contains("No snapshot was chosen."));
}

// ---------------------------------------------------------------------------------------
// The page in a real browser.

const CHROMIUM: &str = "chromium";

fn out_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report_render");
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs headless Chromium with `args` then the page's URL; stdout goes to `stdout`.
fn chromium(page: &Path, args: &[String], stdout: &Path) {
    let profile = tempfile::tempdir().unwrap();
    let file = fs::File::create(stdout).unwrap();
    let mut cmd = Command::new(CHROMIUM);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
    ])
    .arg(format!("--user-data-dir={}", profile.path().display()))
    .args(args)
    .arg(format!("file://{}", page.display()))
    .stdin(Stdio::null())
    .stdout(file)
    .stderr(Stdio::null());
    let mut child = match cmd.spawn() {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "`{CHROMIUM}` is not installed: this test looks at the HTML report in headless \
             Chromium. Install Debian's package with `apt-get install -y chromium` \
             (CI's .ci/run installs it)."
        ),
        Err(e) => panic!("cannot start {CHROMIUM}: {e}"),
    };
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "{CHROMIUM} {args:?} failed: {status}");
            return;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{CHROMIUM} {args:?} did not finish within 180 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Writes the page, takes a 1200×2000 screenshot and the DOM Chromium built from it.
fn look_at(name: &str, page: &str) -> (PathBuf, String) {
    let dir = out_dir();
    let html_path = dir.join(format!("{name}.html"));
    fs::write(&html_path, page).unwrap();
    let png = dir.join(format!("{name}.png"));
    let _ = fs::remove_file(&png);
    chromium(
        &html_path,
        &[
            format!("--screenshot={}", png.display()),
            "--window-size=1200,2000".to_string(),
        ],
        &dir.join(format!("{name}.screenshot.log")),
    );
    let dom_path = dir.join(format!("{name}.dom.html"));
    chromium(&html_path, &["--dump-dom".to_string()], &dom_path);
    (png, fs::read_to_string(&dom_path).unwrap())
}

fn assert_png(png: &Path) {
    let data = fs::read(png).unwrap_or_else(|e| panic!("no screenshot at {}: {e}", png.display()));
    assert!(data.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    let width = u32::from_be_bytes(data[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(data[20..24].try_into().unwrap());
    assert_eq!((width, height), (1200, 2000), "screenshot size");
    // A blank or broken page compresses to almost nothing; this one has text and charts.
    assert!(
        data.len() > 60 * 1024,
        "the screenshot {} is only {} bytes",
        png.display(),
        data.len()
    );
}

#[test]
fn chromium_shows_the_pages() {
    let cases = [
        (
            "pass",
            html::render(&passing(now(), 252.4, 18_000.0), &history(now())),
            "PASS",
        ),
        (
            "fail",
            html::render(&failing_hostile(now()), &history(now())),
            "FAIL",
        ),
        ("error", html::render(&erroring(now()), &[]), "ERROR"),
    ];
    for (name, page, word) in cases {
        let (png, dom) = look_at(name, &page);
        assert_png(&png);
        assert!(
            dom.contains(&format!(
                "<div class=\"verdict-word\"><strong>{word}</strong>"
            )),
            "the verdict {word} is not in the DOM of {name}"
        );
        assert!(dom.contains("Data-location register"));
        // The browser built no element from a report string.
        let lower = dom.to_lowercase();
        assert!(
            !lower.contains("<script"),
            "a script element in the DOM of {name}"
        );
        assert!(
            !lower.contains("<img"),
            "an image element in the DOM of {name}"
        );
        assert!(dom.matches("<svg").count() >= 1);
        if name == "fail" {
            assert!(dom.contains("payments-db &lt;script&gt;alert(1)&lt;/script&gt; \"&amp;'"));
        }
    }
}
