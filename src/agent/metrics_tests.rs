//! Tests of the metrics exposition: exact names, values, labels and omissions.

use super::*;
use crate::agent::state::{DrillState, PlanState, ReplicaState};
use std::collections::{BTreeMap, BTreeSet};

fn ts(seconds: i64) -> Timestamp {
    Timestamp::from_second(seconds).unwrap()
}

const NOW: i64 = 1_700_000_000;

fn meta(name: &str, kind: &str) -> JobMeta {
    JobMeta {
        name: name.to_string(),
        kind: kind.to_string(),
    }
}

fn state() -> AgentState {
    let mut state = AgentState::new();
    let mut runs = BTreeMap::new();
    runs.insert("success".to_string(), 7);
    runs.insert("error".to_string(), 2);
    state.jobs.insert(
        "b".to_string(),
        JobState {
            kind: "backup".to_string(),
            next_due: Some(ts(NOW + 3600)),
            running: true,
            last_start: Some(ts(NOW - 100)),
            last_end: Some(ts(NOW - 88)),
            last_outcome: Some(Outcome::Success),
            last_exit_code: Some(0),
            last_duration_seconds: Some(12.5),
            last_bytes: Some(4096),
            last_success: Some(ts(NOW - 88)),
            last_failure: Some(ts(NOW - 86_400)),
            runs,
            missed_total: 3,
            overlap_skipped_total: 1,
            ..JobState::default()
        },
    );
    // Never finished a run: only what is known is reported.
    state.jobs.insert(
        "fresh".to_string(),
        JobState {
            kind: "verify".to_string(),
            ..JobState::default()
        },
    );
    // In the state, but no longer in the config.
    state.jobs.insert(
        "gone".to_string(),
        JobState {
            kind: "prune".to_string(),
            last_duration_seconds: Some(1.0),
            ..JobState::default()
        },
    );
    state.replicas = vec![
        ReplicaState {
            name: "main".to_string(),
            role: "primary".to_string(),
            provider: "local".to_string(),
            region: None,
            reachable: true,
            objects: 120,
            bytes: 1_000_000,
            missing_objects: None,
            newest_snapshot: Some(ts(NOW - 600)),
            rpo_target_seconds: None,
        },
        ReplicaState {
            name: "offsite".to_string(),
            role: "replica".to_string(),
            provider: "s3".to_string(),
            region: Some("eu-central-1".to_string()),
            reachable: false,
            objects: 100,
            bytes: 900_000,
            missing_objects: Some(20),
            newest_snapshot: Some(ts(NOW - 7200)),
            rpo_target_seconds: Some(86_400.0),
        },
    ];
    state.drills.insert(
        "weekly".to_string(),
        DrillState {
            verdict: "FAIL".to_string(),
            finished: ts(NOW - 50),
            rto_seconds: Some(42.25),
            rto_target_seconds: Some(3600.0),
            rpo_seconds: Some(7200.0),
            rpo_target_seconds: Some(86_400.0),
            restored_bytes: Some(123_456),
            ..DrillState::default()
        },
    );
    state.drills.insert(
        "bare".to_string(),
        DrillState {
            verdict: "PASS".to_string(),
            finished: ts(NOW - 10),
            ..DrillState::default()
        },
    );
    state.replicas_checked = Some(ts(NOW - 1800));
    state.plan = Some(PlanState {
        met: false,
        checked: ts(NOW - 40),
        unmet: vec!["drill weekly: FAIL".to_string()],
    });
    state
}

fn input<'a>(state: &'a AgentState, jobs: &'a [JobMeta]) -> MetricsInput<'a> {
    MetricsInput {
        state,
        jobs,
        agent: true,
        started: ts(NOW - 1000),
        config_reload_ok: true,
        config_loaded: ts(NOW - 500),
        now: ts(NOW),
    }
}

fn render_with(state: &AgentState, jobs: &[JobMeta]) -> String {
    render(&input(state, jobs))
}

fn sample() -> String {
    render_with(&state(), &[meta("b", "backup"), meta("fresh", "verify")])
}

/// The exposition's sample lines (no comments).
fn samples(text: &str) -> Vec<&str> {
    text.lines().filter(|l| !l.starts_with('#')).collect()
}

fn assert_lines(text: &str, expected: &[&str]) {
    let lines = samples(text);
    for line in expected {
        assert!(lines.contains(line), "missing {line:?} in\n{text}");
    }
}

/// Every sample line of the family `name` (as exposed), in order.
fn family<'a>(text: &'a str, name: &str) -> Vec<&'a str> {
    samples(text)
        .into_iter()
        .filter(|l| l.split(['{', ' ']).next() == Some(name))
        .collect()
}

#[test]
fn agent_metrics() {
    let text = sample();
    assert_lines(
        &text,
        &[
            "firedrill_agent_start_time_seconds 1699999000.0",
            "firedrill_agent_config_last_reload_success 1.0",
            "firedrill_agent_config_last_reload_timestamp_seconds 1699999500.0",
        ],
    );
    let failed = render(&MetricsInput {
        state: &state(),
        jobs: &[],
        agent: true,
        started: ts(NOW),
        config_reload_ok: false,
        config_loaded: ts(NOW),
        now: ts(NOW),
    });
    assert_lines(&failed, &["firedrill_agent_config_last_reload_success 0.0"]);
}

#[test]
fn without_agent_the_agent_families_are_left_out_and_nothing_else() {
    let state = state();
    let jobs = [meta("b", "backup"), meta("fresh", "verify")];
    let with = render(&input(&state, &jobs));
    let without = render(&MetricsInput {
        agent: false,
        ..input(&state, &jobs)
    });
    assert!(!without.contains("firedrill_agent_"), "{without}");
    let expected: String = with
        .split_inclusive('\n')
        .filter(|l| !l.contains("firedrill_agent_"))
        .collect();
    assert_eq!(without, expected);
    assert!(
        render_classic(&MetricsInput {
            agent: false,
            ..input(&state, &jobs)
        })
        .lines()
        .all(|l| !l.contains("firedrill_agent_"))
    );
}

#[test]
fn job_gauges() {
    let text = sample();
    assert_lines(
        &text,
        &[
            r#"firedrill_job_last_start_timestamp_seconds{job_name="b",kind="backup"} 1699999900.0"#,
            r#"firedrill_job_last_success_timestamp_seconds{job_name="b",kind="backup"} 1699999912.0"#,
            r#"firedrill_job_last_failure_timestamp_seconds{job_name="b",kind="backup"} 1699913600.0"#,
            r#"firedrill_job_last_duration_seconds{job_name="b",kind="backup"} 12.5"#,
            r#"firedrill_job_last_processed_bytes{job_name="b",kind="backup"} 4096.0"#,
            r#"firedrill_job_last_exit_code{job_name="b",kind="backup"} 0.0"#,
            r#"firedrill_job_running{job_name="b",kind="backup"} 1.0"#,
            r#"firedrill_job_running{job_name="fresh",kind="verify"} 0.0"#,
            r#"firedrill_job_next_run_timestamp_seconds{job_name="b",kind="backup"} 1700003600.0"#,
        ],
    );
}

#[test]
fn job_counters() {
    let text = sample();
    assert_eq!(
        family(&text, "firedrill_job_runs_total"),
        [
            r#"firedrill_job_runs_total{job_name="b",kind="backup",outcome="success"} 7"#,
            r#"firedrill_job_runs_total{job_name="b",kind="backup",outcome="failure"} 0"#,
            r#"firedrill_job_runs_total{job_name="b",kind="backup",outcome="error"} 2"#,
            r#"firedrill_job_runs_total{job_name="b",kind="backup",outcome="interrupted"} 0"#,
            r#"firedrill_job_runs_total{job_name="fresh",kind="verify",outcome="success"} 0"#,
            r#"firedrill_job_runs_total{job_name="fresh",kind="verify",outcome="failure"} 0"#,
            r#"firedrill_job_runs_total{job_name="fresh",kind="verify",outcome="error"} 0"#,
            r#"firedrill_job_runs_total{job_name="fresh",kind="verify",outcome="interrupted"} 0"#,
        ]
    );
    assert_lines(
        &text,
        &[
            r#"firedrill_job_missed_runs_total{job_name="b",kind="backup"} 3"#,
            r#"firedrill_job_missed_runs_total{job_name="fresh",kind="verify"} 0"#,
            r#"firedrill_job_overlap_skipped_runs_total{job_name="b",kind="backup"} 1"#,
        ],
    );
    assert!(
        text.contains("# TYPE firedrill_job_runs counter\n"),
        "{text}"
    );
    assert!(text.contains("# TYPE firedrill_job_missed_runs counter\n"));
}

#[test]
fn none_values_are_omitted() {
    let text = sample();
    for name in [
        "firedrill_job_last_start_timestamp_seconds",
        "firedrill_job_last_success_timestamp_seconds",
        "firedrill_job_last_failure_timestamp_seconds",
        "firedrill_job_last_duration_seconds",
        "firedrill_job_last_processed_bytes",
        "firedrill_job_last_exit_code",
        "firedrill_job_next_run_timestamp_seconds",
    ] {
        let lines = family(&text, name);
        assert_eq!(lines.len(), 1, "{name}: {lines:?}");
        assert!(lines[0].contains(r#"job_name="b""#), "{lines:?}");
    }
    // The primary has no missing count nor RPO target.
    assert_eq!(
        family(&text, "firedrill_replica_missing_objects"),
        [
            r#"firedrill_replica_missing_objects{replica="offsite",role="replica",provider="s3",region="eu-central-1"} 20.0"#
        ]
    );
    assert_eq!(
        family(&text, "firedrill_replica_rpo_target_seconds").len(),
        1
    );
    assert_eq!(family(&text, "firedrill_drill_rto_seconds").len(), 1);
    assert_eq!(family(&text, "firedrill_drill_restored_bytes").len(), 1);
}

#[test]
fn job_with_no_state_at_all_reports_only_zeroes() {
    let text = render_with(&AgentState::new(), &[meta("new", "replicate")]);
    assert_lines(
        &text,
        &[
            r#"firedrill_job_running{job_name="new",kind="replicate"} 0.0"#,
            r#"firedrill_job_missed_runs_total{job_name="new",kind="replicate"} 0"#,
        ],
    );
    // A family with no sample leaves out its HELP and TYPE too.
    assert!(
        !text.contains("firedrill_job_last_start_timestamp_seconds"),
        "{text}"
    );
    assert!(!text.contains("firedrill_replica_"), "{text}");
    assert!(!text.contains("firedrill_drill_"), "{text}");
    assert!(!text.contains("firedrill_plan_"), "{text}");
}

#[test]
fn removed_jobs_are_not_reported() {
    let text = sample();
    assert!(!text.contains(r#"job_name="gone""#), "{text}");
    // The config's order, not the state's.
    let text = render_with(&state(), &[meta("fresh", "verify"), meta("b", "backup")]);
    let running = family(&text, "firedrill_job_running");
    assert!(running[0].contains("fresh") && running[1].contains(r#"job_name="b""#));
}

#[test]
fn kind_comes_from_the_config() {
    let text = render_with(&state(), &[meta("b", "replicate")]);
    assert_lines(
        &text,
        &[r#"firedrill_job_last_duration_seconds{job_name="b",kind="replicate"} 12.5"#],
    );
}

#[test]
fn replica_metrics() {
    let text = sample();
    let main = r#"{replica="main",role="primary",provider="local",region=""}"#;
    let off = r#"{replica="offsite",role="replica",provider="s3",region="eu-central-1"}"#;
    assert_lines(
        &text,
        &[
            &format!("firedrill_replica_up{main} 1.0"),
            &format!("firedrill_replica_up{off} 0.0"),
            &format!("firedrill_replica_objects{main} 120.0"),
            &format!("firedrill_replica_bytes{off} 900000.0"),
            &format!("firedrill_replica_newest_snapshot_timestamp_seconds{main} 1699999400.0"),
            &format!("firedrill_replica_rpo_lag_seconds{main} 600.0"),
            &format!("firedrill_replica_rpo_lag_seconds{off} 7200.0"),
            &format!("firedrill_replica_rpo_target_seconds{off} 86400.0"),
        ],
    );
    // The primary is listed first, as in the state.
    assert!(family(&text, "firedrill_replica_up")[0].contains("main"));
}

#[test]
fn replica_checked_timestamp() {
    let text = sample();
    assert_eq!(
        family(&text, "firedrill_replica_checked_timestamp_seconds"),
        ["firedrill_replica_checked_timestamp_seconds 1699998200.0"]
    );
    assert!(text.contains("# TYPE firedrill_replica_checked_timestamp_seconds gauge\n"));
    // Never read: left out, whatever the stores list says.
    let mut state = state();
    state.replicas_checked = None;
    let text = render_with(&state, &[]);
    assert!(
        !text.contains("firedrill_replica_checked_timestamp_seconds"),
        "{text}"
    );
    assert_eq!(family(&text, "firedrill_replica_up").len(), 2);
}

#[test]
fn rpo_lag_is_never_negative() {
    let mut state = state();
    state.replicas[0].newest_snapshot = Some(ts(NOW + 30));
    let text = render_with(&state, &[]);
    assert_lines(
        &text,
        &[
            r#"firedrill_replica_rpo_lag_seconds{replica="main",role="primary",provider="local",region=""} 0.0"#,
        ],
    );
}

#[test]
fn drill_metrics() {
    let text = sample();
    assert_lines(
        &text,
        &[
            r#"firedrill_drill_last_run_timestamp_seconds{drill="weekly"} 1699999950.0"#,
            r#"firedrill_drill_last_passed{drill="weekly"} 0.0"#,
            r#"firedrill_drill_last_passed{drill="bare"} 1.0"#,
            r#"firedrill_drill_rto_seconds{drill="weekly"} 42.25"#,
            r#"firedrill_drill_rto_target_seconds{drill="weekly"} 3600.0"#,
            r#"firedrill_drill_rpo_seconds{drill="weekly"} 7200.0"#,
            r#"firedrill_drill_rpo_target_seconds{drill="weekly"} 86400.0"#,
            r#"firedrill_drill_restored_bytes{drill="weekly"} 123456.0"#,
        ],
    );
    assert_eq!(
        family(&text, "firedrill_drill_verdict"),
        [
            r#"firedrill_drill_verdict{drill="bare",verdict="PASS"} 1.0"#,
            r#"firedrill_drill_verdict{drill="bare",verdict="FAIL"} 0.0"#,
            r#"firedrill_drill_verdict{drill="bare",verdict="ERROR"} 0.0"#,
            r#"firedrill_drill_verdict{drill="weekly",verdict="PASS"} 0.0"#,
            r#"firedrill_drill_verdict{drill="weekly",verdict="FAIL"} 1.0"#,
            r#"firedrill_drill_verdict{drill="weekly",verdict="ERROR"} 0.0"#,
        ]
    );
}

#[test]
fn plan_metrics() {
    let text = sample();
    assert_eq!(
        family(&text, "firedrill_plan_met"),
        ["firedrill_plan_met 0.0"]
    );
    assert_eq!(
        family(&text, "firedrill_plan_checked_timestamp_seconds"),
        ["firedrill_plan_checked_timestamp_seconds 1699999960.0"]
    );
    assert!(text.contains("# TYPE firedrill_plan_met gauge\n"), "{text}");
    let mut state = state();
    state.plan.as_mut().unwrap().met = true;
    let text = render_with(&state, &[]);
    assert_eq!(
        family(&text, "firedrill_plan_met"),
        ["firedrill_plan_met 1.0"]
    );
    // No verdict yet: neither family, not even their HELP/TYPE lines.
    state.plan = None;
    let text = render_with(&state, &[]);
    assert!(!text.contains("firedrill_plan_"), "{text}");
}

#[test]
fn hostile_label_values_are_escaped() {
    let hostile = "a\"b\\c\nd} 1\n# EOF";
    let mut state = AgentState::new();
    state.replicas.push(ReplicaState {
        name: hostile.to_string(),
        role: "replica".to_string(),
        provider: "s3".to_string(),
        reachable: true,
        ..ReplicaState::default()
    });
    state.drills.insert(
        hostile.to_string(),
        DrillState {
            verdict: "ERROR".to_string(),
            ..DrillState::default()
        },
    );
    let text = render_with(&state, &[meta(hostile, "backup")]);
    let escaped = r#"a\"b\\c\nd} 1\n# EOF"#;
    assert_lines(
        &text,
        &[
            &format!(r#"firedrill_job_running{{job_name="{escaped}",kind="backup"}} 0.0"#),
            &format!(
                r#"firedrill_replica_up{{replica="{escaped}",role="replica",provider="s3",region=""}} 1.0"#
            ),
            &format!(r#"firedrill_drill_last_passed{{drill="{escaped}"}} 0.0"#),
        ],
    );
    // The value never breaks out of its line: one EOF, at the end.
    assert_eq!(text.matches("\n# EOF").count(), 1, "{text}");
    assert!(text.ends_with("\n# EOF\n"));
    // Nor in the classic text, which has no EOF at all and the same escaped samples.
    let classic = render_classic(&input(&state, &[meta(hostile, "backup")]));
    assert!(!classic.contains("\n# EOF"), "{classic}");
    assert_eq!(samples(&classic), samples(&text));
}

#[test]
fn every_family_has_help_and_type_and_the_text_ends_with_eof() {
    let text = sample();
    assert!(text.ends_with("# EOF\n"), "{text}");
    let helps: Vec<&str> = text.lines().filter(|l| l.starts_with("# HELP ")).collect();
    let types = text.lines().filter(|l| l.starts_with("# TYPE ")).count();
    // 3 agent + 11 job + 8 replica + 8 drill + 2 plan families.
    assert_eq!(helps.len(), 32, "{text}");
    assert_eq!(types, 32);
    for help in helps {
        let words = help.split(' ').count();
        assert!(words > 4, "no real help text: {help}");
        assert!(help.ends_with('.') && !help.ends_with(".."), "{help}");
    }
    // No unit suffix or other name the spec does not list sneaks in.
    for line in samples(&text) {
        let name = line.split(['{', ' ']).next().unwrap();
        assert!(SPEC_NAMES.contains(&name), "unexpected name {name}");
    }
}

const SPEC_NAMES: &[&str] = &[
    "firedrill_agent_start_time_seconds",
    "firedrill_agent_config_last_reload_success",
    "firedrill_agent_config_last_reload_timestamp_seconds",
    "firedrill_job_last_start_timestamp_seconds",
    "firedrill_job_last_success_timestamp_seconds",
    "firedrill_job_last_failure_timestamp_seconds",
    "firedrill_job_last_duration_seconds",
    "firedrill_job_last_processed_bytes",
    "firedrill_job_last_exit_code",
    "firedrill_job_running",
    "firedrill_job_next_run_timestamp_seconds",
    "firedrill_job_runs_total",
    "firedrill_job_missed_runs_total",
    "firedrill_job_overlap_skipped_runs_total",
    "firedrill_replica_up",
    "firedrill_replica_objects",
    "firedrill_replica_bytes",
    "firedrill_replica_missing_objects",
    "firedrill_replica_newest_snapshot_timestamp_seconds",
    "firedrill_replica_rpo_lag_seconds",
    "firedrill_replica_rpo_target_seconds",
    "firedrill_replica_checked_timestamp_seconds",
    "firedrill_drill_last_run_timestamp_seconds",
    "firedrill_drill_last_passed",
    "firedrill_drill_verdict",
    "firedrill_drill_rto_seconds",
    "firedrill_drill_rto_target_seconds",
    "firedrill_drill_rpo_seconds",
    "firedrill_drill_rpo_target_seconds",
    "firedrill_drill_restored_bytes",
    "firedrill_plan_met",
    "firedrill_plan_checked_timestamp_seconds",
];

#[test]
fn output_is_the_same_from_scrape_to_scrape() {
    assert_eq!(sample(), sample());
}

/// The families of an exposition: (HELP name, TYPE name, type, sample lines).
fn families(text: &str) -> Vec<(&str, &str, &str, Vec<&str>)> {
    let mut out: Vec<(&str, &str, &str, Vec<&str>)> = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        if line == "# EOF" {
            continue;
        }
        let help = line.strip_prefix("# HELP ").expect(line);
        let help_name = help.split(' ').next().unwrap();
        let type_line = lines.next().unwrap();
        let (type_name, kind) = type_line
            .strip_prefix("# TYPE ")
            .and_then(|t| t.split_once(' '))
            .expect(type_line);
        let mut family = Vec::new();
        while let Some(l) = lines.next_if(|l| !l.starts_with('#')) {
            family.push(l);
        }
        out.push((help_name, type_name, kind, family));
    }
    out
}

fn sample_name(line: &str) -> &str {
    line.split(['{', ' ']).next().unwrap()
}

#[test]
fn classic_text_has_no_eof_and_names_counter_families_with_total() {
    let open = sample();
    let classic = render_classic(&input(
        &state(),
        &[meta("b", "backup"), meta("fresh", "verify")],
    ));
    assert!(!classic.lines().any(|l| l == "# EOF"), "{classic}");
    assert!(!classic.contains("# UNIT"), "{classic}");
    assert!(classic.ends_with('\n') && !classic.ends_with("\n\n"));
    // The same samples, in the same order, values as they are.
    assert_eq!(samples(&classic), samples(&open));
    assert_eq!(samples(&classic).len(), samples(&open).len());

    let open_families = families(&open);
    let classic_families = families(&classic);
    assert_eq!(open_families.len(), 32);
    assert_eq!(classic_families.len(), open_families.len());
    let mut counters = 0;
    for (o, c) in open_families.iter().zip(&classic_families) {
        let (help, name, kind, lines) = c;
        // HELP and TYPE name what the samples are called, in both types.
        assert_eq!(help, name, "{classic}");
        assert!(!lines.is_empty());
        for line in lines {
            assert_eq!(sample_name(line), *name, "{line}");
        }
        assert_eq!(o.2, *kind);
        if *kind == "counter" {
            counters += 1;
            assert!(name.ends_with("_total"), "{name}");
            assert_eq!(format!("{}_total", o.1), *name);
        } else {
            // Gauges: their HELP and TYPE lines are unchanged.
            assert_eq!(*kind, "gauge");
            assert_eq!(o.0, *help);
            assert_eq!(o.1, *name);
        }
    }
    assert_eq!(counters, 3);
    assert!(classic.contains(concat!(
        "# HELP firedrill_job_missed_runs_total Schedule slots not run on time because the scheduler was down.\n",
        "# TYPE firedrill_job_missed_runs_total counter\n",
        "firedrill_job_missed_runs_total{job_name=\"b\",kind=\"backup\"} 3\n",
    )));
    assert!(classic.contains(concat!(
        "# TYPE firedrill_plan_met gauge\n",
        "firedrill_plan_met 0.0\n",
    )));
}

#[test]
fn classic_text_of_an_empty_state_is_empty_without_the_agent() {
    let text = render_classic(&MetricsInput {
        agent: false,
        ..input(&AgentState::new(), &[])
    });
    assert_eq!(text, "");
}

/// Every `firedrill_...` token of `text` (made of [a-z0-9_], not inside a longer word).
fn firedrill_tokens(text: &str) -> BTreeSet<&str> {
    let word = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_';
    text.match_indices("firedrill_")
        .filter(|(i, _)| !text[..*i].chars().next_back().is_some_and(word))
        .map(|(i, _)| {
            let rest = &text[i..];
            &rest[..rest.find(|c| !word(c)).unwrap_or(rest.len())]
        })
        .collect()
}

#[test]
fn the_alert_rules_use_only_metrics_we_export() {
    // Fully populated: every family has a sample.
    let text = sample();
    let exposed: BTreeSet<&str> = samples(&text).into_iter().map(sample_name).collect();
    assert_eq!(exposed.len(), SPEC_NAMES.len());
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("infra/prometheus");
    for file in ["firedrill-alerts.yml", "firedrill-alerts.test.yml"] {
        let yaml = std::fs::read_to_string(dir.join(file)).unwrap();
        let used = firedrill_tokens(&yaml);
        assert!(
            used.contains("firedrill_plan_met")
                && used.contains("firedrill_replica_checked_timestamp_seconds")
                && used.contains("firedrill_job_missed_runs_total"),
            "{file}: {used:?}"
        );
        for name in used {
            assert!(
                exposed.contains(name),
                "{file} uses {name}, which the agent does not export"
            );
        }
    }
}

#[test]
fn token_scan_finds_whole_names_only() {
    let tokens = firedrill_tokens(
        "expr: firedrill_plan_met == 0 and x_firedrill_no{a=\"firedrill_job\"} firedrill-alerts firedrill_Job",
    );
    assert_eq!(
        tokens.into_iter().collect::<Vec<_>>(),
        ["firedrill_", "firedrill_job", "firedrill_plan_met"]
    );
}
