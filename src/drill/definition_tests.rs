//! Tests of drill file parsing and validation.

use super::*;
use proptest::prelude::*;

fn parse(text: &str) -> crate::Result<DrillDefinition> {
    DrillDefinition::parse(text, Path::new("drills/x.toml"))
}

fn parse_err(text: &str) -> String {
    match parse(text) {
        Ok(d) => panic!("accepted:\n{text}\n{d:#?}"),
        Err(e) => {
            assert!(matches!(e, Error::Usage(_)), "{e:?}");
            e.to_string()
        }
    }
}

const FULL: &str = r#"
name = "full.example_1"
description = "everything set"

[source]
store = "gcs-europe"

[snapshot]
pick = "random"
within = "7d"
seed = 42
tag = "nightly"
host = "db1"
path = "/srv/data"

[scope]
kind = "sample"
percent = 5
by = "bytes"
seed = 1234

[targets]
rto = "15m"
rpo = "1h30m"
min_throughput_mib_s = 50.0

[checks]
min_files = 1000
min_bytes = 1_000_000

[[checks.canary]]
path = "/srv/data/canary.txt"
content = "canary v1\n"

[[checks.canary]]
path = "/srv/data/other"
blake3 = "AF1349B9F5F9A1A6A0404DEA36DCC9499BCB25C9ADC112B7CC9A93CAE41F3262"

[checks.command]
run = ["pg_restore", "--list", "{restore}/srv/db/dump.pgc"]
timeout = 300

[faults]
outage = ["primary"]
latency_ms = 200
corrupt_objects = 2
delete_objects = 1
wrong_key = true

[cleanup]
keep = true
scratch_dir = "scratch"
"#;

#[test]
fn a_full_file_reads_into_the_expected_definition() {
    let d = parse(FULL).unwrap();
    let expected = DrillDefinition {
        name: "full.example_1".into(),
        description: Some("everything set".into()),
        file: Some(PathBuf::from("drills/x.toml")),
        source: SourceSpec::Store {
            name: "gcs-europe".into(),
        },
        snapshot: SnapshotSelection {
            pick: SnapshotPick::Random {
                within_seconds: 7 * 86_400,
                seed: Some(42),
            },
            tag: Some("nightly".into()),
            host: Some("db1".into()),
            path: Some("/srv/data".into()),
        },
        scope: Scope::Sample {
            percent: 5.0,
            by: SampleBy::Bytes,
            seed: Some(1234),
        },
        targets: Targets {
            rto_seconds: Some(900.0),
            rpo_seconds: Some(5400.0),
            min_throughput_mib_s: Some(50.0),
        },
        checks: Checks {
            min_files: Some(1000),
            min_bytes: Some(1_000_000),
            canaries: vec![
                Canary {
                    path: "/srv/data/canary.txt".into(),
                    expect: CanaryExpect::Content("canary v1\n".into()),
                },
                Canary {
                    path: "/srv/data/other".into(),
                    expect: CanaryExpect::Blake3(
                        "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262".into(),
                    ),
                },
            ],
            command: Some(PostCommand {
                argv: vec![
                    "pg_restore".into(),
                    "--list".into(),
                    "{restore}/srv/db/dump.pgc".into(),
                ],
                timeout_seconds: 300.0,
            }),
        },
        faults: Faults {
            outage: vec!["primary".into()],
            latency_ms: Some(200),
            corrupt_objects: 2,
            delete_objects: 1,
            wrong_key: true,
        },
        cleanup: Cleanup {
            keep: true,
            scratch_dir: Some(PathBuf::from("drills/scratch")),
        },
    };
    assert_eq!(d, expected);
    assert!(d.faults.any());
}

#[test]
fn a_minimal_file_takes_the_defaults() {
    let d = DrillDefinition::parse(
        "[source]\nlost = [\"primary\"]\n",
        Path::new("/etc/firedrill/drills/region-down.toml"),
    )
    .unwrap();
    assert_eq!(
        d,
        DrillDefinition {
            name: "region-down".into(),
            description: None,
            file: Some(PathBuf::from("/etc/firedrill/drills/region-down.toml")),
            source: SourceSpec::Lost {
                stores: vec!["primary".into()],
            },
            snapshot: SnapshotSelection {
                pick: SnapshotPick::Latest,
                tag: None,
                host: None,
                path: None,
            },
            scope: Scope::All,
            targets: Targets::default(),
            checks: Checks::default(),
            faults: Faults::default(),
            cleanup: Cleanup::default(),
        }
    );
    assert!(!d.faults.any());
    // Inline tables and defaults inside sections.
    let d = parse(
        "source = { store = \"primary\" }\nscope = { kind = \"sample\", percent = 0.5 }\ncleanup = { scratch_dir = \"/var/tmp/d\" }\n",
    )
    .unwrap();
    assert_eq!(d.name, "x");
    assert_eq!(
        d.scope,
        Scope::Sample {
            percent: 0.5,
            by: SampleBy::Files,
            seed: None
        }
    );
    assert_eq!(d.cleanup.scratch_dir, Some(PathBuf::from("/var/tmp/d")));
    let d = parse("[source]\nstore = \"primary\"\n[snapshot]\npick = \"oldest\"\n[scope]\nkind = \"paths\"\npaths = [\"/a\", \"/b/c\"]\n").unwrap();
    assert_eq!(d.snapshot.pick, SnapshotPick::Oldest);
    assert_eq!(
        d.scope,
        Scope::Paths {
            paths: vec!["/a".into(), "/b/c".into()]
        }
    );
}

#[test]
fn every_example_drill_is_valid() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("drills");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let d =
                DrillDefinition::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(d.name, path.file_stem().unwrap().to_str().unwrap());
            assert!(d.description.is_some(), "{}", d.name);
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(text.starts_with("# "), "{}: needs a comment header", d.name);
            names.push(d.name);
        }
    }
    names.sort();
    assert_eq!(
        names,
        [
            "corruption-game-day",
            "daily-sample",
            "primary-region-lost",
            "provider-lost",
            "weekly-full"
        ]
    );
    let load = |name: &str| DrillDefinition::load(&dir.join(format!("{name}.toml"))).unwrap();
    let daily = load("daily-sample");
    assert_eq!(
        daily.source,
        SourceSpec::Store {
            name: "s3-eu-central".into()
        }
    );
    assert!(matches!(
        daily.scope,
        Scope::Sample {
            percent: 5.0,
            by: SampleBy::Files,
            seed: None
        }
    ));
    assert_eq!(daily.targets.rto_seconds, Some(900.0));
    assert_eq!(daily.targets.rpo_seconds, Some(26.0 * 3600.0));
    let weekly = load("weekly-full");
    assert_eq!(weekly.checks.canaries.len(), 1);
    assert!(weekly.targets.min_throughput_mib_s.is_some());
    let region = load("primary-region-lost");
    assert!(
        region
            .checks
            .command
            .as_ref()
            .unwrap()
            .argv
            .iter()
            .any(|a| a == "{restore}")
    );
    assert_eq!(
        load("provider-lost").source,
        SourceSpec::Lost {
            stores: vec!["primary".into(), "s3-eu-central".into()]
        }
    );
    let game = load("corruption-game-day");
    assert_eq!(
        (game.faults.corrupt_objects, game.faults.delete_objects),
        (2, 1)
    );
}

/// Each rule: a file breaking it, and what the error must say (the place first).
#[test]
fn each_rule_has_an_error_naming_the_place_and_the_field() {
    let src = "[source]\nstore = \"primary\"\n";
    let cases: Vec<(String, &[&str])> = vec![
        // Unknown fields, at every level.
        (
            "nme = \"x\"\n".into(),
            &["x.toml:1:1:", "unknown field `nme`"],
        ),
        (
            format!("{src}[scope]\nkind = \"all\"\npercnt = 5\n"),
            &["x.toml:5:1: scope: unknown field `percnt`"],
        ),
        (
            format!("{src}[[checks.canary]]\npath = \"/a\"\ncontents = \"x\"\n"),
            &["x.toml:5:1: checks.canary: unknown field `contents`"],
        ),
        (
            format!("{src}[target]\nrto = \"1h\"\n"),
            &["x.toml:3:2:", "unknown field `target`"],
        ),
        (
            format!("{src}[faults]\noutages = [\"primary\"]\n"),
            &["x.toml:4:1: faults: unknown field `outages`"],
        ),
        // Wrong types and values serde rejects.
        (
            format!("{src}[checks]\nmin_files = -1\n"),
            &[
                "x.toml:4:13: checks.min_files:",
                "-1",
                "a whole number, 0 or more",
            ],
        ),
        (
            format!("{src}[snapshot]\npick = \"newest\"\n"),
            &["x.toml:4:8: snapshot.pick:", "newest", "random"],
        ),
        (
            format!("{src}[scope]\nkind = \"sample\"\npercent = 5\nby = \"blocks\"\n"),
            &["x.toml:6:6: scope.by:", "blocks"],
        ),
        (
            format!("{src}[targets]\nrto = true\n"),
            &["x.toml:4:7: targets.rto:", "a duration"],
        ),
        (
            format!("{src}[faults]\nwrong_key = \"yes\"\n"),
            &["x.toml:4:13: faults.wrong_key:"],
        ),
        // Syntax.
        ("[source\nstore = \"primary\"\n".into(), &["x.toml:1:"]),
        (
            format!("{src}[source]\n"),
            &["x.toml:3:", "source", "duplicate"],
        ),
        // Source: exactly one of store / lost, lost non-empty, names valid.
        ("name = \"x\"\n".into(), &["drills/x.toml: source: missing"]),
        (
            "[source]\n".into(),
            &["x.toml:1:1: source: give exactly one of store"],
        ),
        (
            "[source]\nstore = \"primary\"\nlost = [\"gcs\"]\n".into(),
            &["x.toml:1:1: source: give exactly one", "not both"],
        ),
        (
            "[source]\nlost = []\n".into(),
            &["x.toml:2:8: source.lost: empty"],
        ),
        (
            "[source]\nstore = \"\"\n".into(),
            &["x.toml:2:9: source.store: empty"],
        ),
        (
            "[source]\nlost = [\"primary\", \"\"]\n".into(),
            &["x.toml:2:20: source.lost: empty"],
        ),
        (
            "[source]\nlost = [\"primary\", \"primary\"]\n".into(),
            &["x.toml:2:20: source.lost:", "twice"],
        ),
        (
            "[source]\nstore = \"s3 eu\"\n".into(),
            &["x.toml:2:9: source.store:", "is not a store name"],
        ),
        // Drill name.
        (format!("name = \"\"\n{src}"), &["x.toml:1:8: name: empty"]),
        (
            format!("name = \"daily/sample\"\n{src}"),
            &["x.toml:1:8: name:", "letters, digits, '-', '_' or '.'"],
        ),
        (
            format!("name = \"..\"\n{src}"),
            &["x.toml:1:8: name:", "must not start with '.'"],
        ),
        (
            format!("name = \"{}\"\n{src}", "a".repeat(101)),
            &["x.toml:1:8: name:", "longer than 100"],
        ),
        // Snapshot.
        (
            format!("{src}[snapshot]\npick = \"random\"\n"),
            &["x.toml:3:1: snapshot.within: required with pick = \"random\""],
        ),
        (
            format!("{src}[snapshot]\nwithin = \"7d\"\n"),
            &["x.toml:4:10: snapshot.within: only with pick = \"random\""],
        ),
        (
            format!("{src}[snapshot]\npick = \"latest\"\nseed = 3\n"),
            &["x.toml:5:8: snapshot.seed: only with pick = \"random\""],
        ),
        (
            format!("{src}[snapshot]\npick = \"random\"\nwithin = \"0s\"\n"),
            &["x.toml:5:10: snapshot.within:", "more than 0"],
        ),
        (
            format!("{src}[snapshot]\npick = \"random\"\nwithin = \"7 days\"\n"),
            &[
                "x.toml:5:10: snapshot.within:",
                "\"7\" has no unit",
                "expected",
            ],
        ),
        (
            format!("{src}[snapshot]\npath = \"srv/data\"\n"),
            &["x.toml:4:8: snapshot.path:", "not absolute"],
        ),
        (
            format!("{src}[snapshot]\ntag = \"\"\n"),
            &["x.toml:4:7: snapshot.tag: empty"],
        ),
        (
            format!("{src}[snapshot]\nhost = \"\"\n"),
            &["x.toml:4:8: snapshot.host: empty"],
        ),
        // Scope.
        (
            format!("{src}[scope]\nkind = \"sample\"\npercent = 0\n"),
            &["x.toml:5:11: scope.percent: 0 is not in (0, 100]"],
        ),
        (
            format!("{src}[scope]\nkind = \"sample\"\npercent = 100.5\n"),
            &["x.toml:5:11: scope.percent: 100.5 is not in (0, 100]"],
        ),
        (
            format!("{src}[scope]\nkind = \"sample\"\npercent = nan\n"),
            &["x.toml:5:11: scope.percent: NaN is not in (0, 100]"],
        ),
        (
            format!("{src}[scope]\nkind = \"sample\"\n"),
            &["x.toml:3:1: scope.percent: required with kind = \"sample\""],
        ),
        (
            format!("{src}[scope]\npercent = 5\n"),
            &["x.toml:4:11: scope.percent: only with kind = \"sample\" (kind is \"all\")"],
        ),
        (
            format!("{src}[scope]\nkind = \"paths\"\npaths = [\"/a\"]\nby = \"files\"\n"),
            &["x.toml:6:6: scope.by: only with kind = \"sample\""],
        ),
        (
            format!("{src}[scope]\nkind = \"all\"\nseed = 1\n"),
            &["x.toml:5:8: scope.seed: only with kind = \"sample\""],
        ),
        (
            format!("{src}[scope]\nkind = \"sample\"\npercent = 5\npaths = [\"/a\"]\n"),
            &["x.toml:6:9: scope.paths: only with kind = \"paths\" (kind is \"sample\")"],
        ),
        (
            format!("{src}[scope]\nkind = \"paths\"\n"),
            &["x.toml:3:1: scope.paths: required with kind = \"paths\""],
        ),
        (
            format!("{src}[scope]\nkind = \"paths\"\npaths = []\n"),
            &["x.toml:5:9: scope.paths: empty"],
        ),
        (
            format!("{src}[scope]\nkind = \"paths\"\npaths = [\"/a\", \"b\"]\n"),
            &["x.toml:5:16: scope.paths:", "\"b\" is not absolute"],
        ),
        (
            format!("{src}[scope]\nkind = \"paths\"\npaths = [\"/a/../etc\"]\n"),
            &["x.toml:5:10: scope.paths:", "\"..\""],
        ),
        // Targets.
        (
            format!("{src}[targets]\nrto = \"0m\"\n"),
            &["x.toml:4:7: targets.rto: \"0m\" is 0 seconds: must be more than 0"],
        ),
        (
            format!("{src}[targets]\nrpo = \"26\"\nrto = -5\n"),
            &["x.toml:5:7: targets.rto: -5 seconds: must be more than 0"],
        ),
        (
            format!("{src}[targets]\nrpo = \"1d2\"\n"),
            &["x.toml:4:7: targets.rpo:", "no unit"],
        ),
        (
            format!("{src}[targets]\nmin_throughput_mib_s = 0\n"),
            &["x.toml:4:24: targets.min_throughput_mib_s:", "more than 0"],
        ),
        // Canaries.
        (
            format!("{src}[[checks.canary]]\ncontent = \"x\"\n"),
            &["x.toml:3:1: checks.canary.path: required"],
        ),
        (
            format!("{src}[[checks.canary]]\npath = \"canary.txt\"\ncontent = \"x\"\n"),
            &["x.toml:4:8: checks.canary.path:", "not absolute"],
        ),
        (
            format!("{src}[[checks.canary]]\npath = \"/srv/../canary\"\ncontent = \"x\"\n"),
            &["x.toml:4:8: checks.canary.path:", "\"..\""],
        ),
        (
            format!("{src}[[checks.canary]]\npath = \"/c\"\n"),
            &["x.toml:3:1: checks.canary: give exactly one of content"],
        ),
        (
            format!(
                "{src}[[checks.canary]]\npath = \"/c\"\n\n[[checks.canary]]\npath = \"/d\"\ncontent = \"x\"\nblake3 = \"{}\"\n",
                "0".repeat(64)
            ),
            &["x.toml:3:1: checks.canary: give exactly one of content"],
        ),
        (
            format!(
                "{src}[[checks.canary]]\npath = \"/c\"\ncontent = \"x\"\n\n[[checks.canary]]\npath = \"/d\"\ncontent = \"x\"\nblake3 = \"{}\"\n",
                "0".repeat(64)
            ),
            &["x.toml:7:1: checks.canary:", "not both"],
        ),
        (
            format!("{src}[[checks.canary]]\npath = \"/c\"\nblake3 = \"abc\"\n"),
            &["x.toml:5:10: checks.canary.blake3:", "64 hex digits"],
        ),
        (
            format!(
                "{src}[[checks.canary]]\npath = \"/c\"\nblake3 = \"{}\"\n",
                "g".repeat(64)
            ),
            &["x.toml:5:10: checks.canary.blake3:", "64 hex digits"],
        ),
        // Command.
        (
            format!("{src}[checks.command]\nrun = []\ntimeout = \"1m\"\n"),
            &["x.toml:4:7: checks.command.run:", "needs a program"],
        ),
        (
            format!("{src}[checks.command]\nrun = [\"\"]\ntimeout = \"1m\"\n"),
            &["x.toml:4:7: checks.command.run:", "needs a program"],
        ),
        (
            format!("{src}[checks.command]\nrun = [\"true\"]\n"),
            &["x.toml:3:1: checks.command.timeout: required with run"],
        ),
        (
            format!("{src}[checks.command]\ntimeout = \"1m\"\n"),
            &["x.toml:3:1: checks.command.run: required"],
        ),
        (
            format!("{src}[checks.command]\nrun = [\"true\"]\ntimeout = \"\"\n"),
            &["x.toml:5:11: checks.command.timeout: empty"],
        ),
        // Faults.
        (
            format!("{src}[faults]\noutage = [\"\"]\n"),
            &["x.toml:4:11: faults.outage: empty"],
        ),
        (
            format!("{src}[faults]\noutage = [\"gcs\", \"gcs\"]\n"),
            &["x.toml:4:18: faults.outage:", "twice"],
        ),
        (
            format!("{src}[faults]\nlatency_ms = 0\n"),
            &["x.toml:4:14: faults.latency_ms: must be more than 0"],
        ),
        (
            format!("{src}[faults]\ncorrupt_objects = 5000000000\n"),
            &["x.toml:4:19: faults.corrupt_objects:"],
        ),
        // Cleanup.
        (
            format!("{src}[cleanup]\nscratch_dir = \"\"\n"),
            &["x.toml:4:15: cleanup.scratch_dir: empty"],
        ),
        (
            format!("{src}[cleanup]\nkeep = 1\n"),
            &["x.toml:4:8: cleanup.keep:"],
        ),
    ];
    for (text, wanted) in &cases {
        let err = parse_err(text);
        assert!(err.starts_with("drills/x.toml"), "{err}");
        for w in *wanted {
            assert!(err.contains(w), "error {err:?} lacks {w:?}; file:\n{text}");
        }
    }
}

#[test]
fn a_name_comes_from_the_file_stem_only_if_it_is_valid() {
    let text = "[source]\nstore = \"primary\"\n";
    let err = DrillDefinition::parse(text, Path::new("my drill.toml"))
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("my drill.toml: name:"), "{err}");
    assert!(err.contains("set name = "), "{err}");
    let d = DrillDefinition::parse(
        &format!("name = \"ok\"\n{text}"),
        Path::new("my drill.toml"),
    )
    .unwrap();
    assert_eq!(d.name, "ok");
}

#[test]
fn unreadable_files_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let err = |path: &Path| {
        let e = DrillDefinition::load(path).unwrap_err();
        assert_eq!(e.exit_code(), crate::error::exit::USAGE);
        e.to_string()
    };
    let e = err(dir.path());
    assert!(e.contains("is a directory"), "{e}");
    let e = err(&dir.path().join("missing.toml"));
    assert!(
        e.contains("cannot read drill file") && e.contains("missing.toml"),
        "{e}"
    );
    let empty = dir.path().join("empty.toml");
    std::fs::write(&empty, " \n\n").unwrap();
    let e = err(&empty);
    assert!(e.contains("empty.toml: the drill file is empty"), "{e}");
    let binary = dir.path().join("bin.toml");
    std::fs::write(&binary, b"[source]\nstore = \"pri\xffmary\"\n").unwrap();
    let e = err(&binary);
    assert!(e.contains("bin.toml:2:13: not UTF-8"), "{e}");
    let good = dir.path().join("good.toml");
    std::fs::write(
        &good,
        "\u{feff}[source]\nstore = \"primary\"\n[cleanup]\nscratch_dir = \"s\"\n",
    )
    .unwrap();
    let d = DrillDefinition::load(&good).unwrap();
    assert_eq!(d.name, "good");
    assert_eq!(d.file.as_deref(), Some(good.as_path()));
    assert_eq!(d.cleanup.scratch_dir, Some(dir.path().join("s")));
}

#[test]
fn durations() {
    let ok: &[(&str, f64)] = &[
        ("90s", 90.0),
        ("15m", 900.0),
        ("1h30m", 5400.0),
        ("26h", 93_600.0),
        ("7d", 604_800.0),
        ("2w", 1_209_600.0),
        ("90", 90.0),
        ("0", 0.0),
        ("2.5", 2.5),
        ("1.5h", 5400.0),
        ("1d12h", 129_600.0),
        ("1w2d3h4m5s", 788_645.0),
        (" 1h 30m ", 5400.0),
        ("0s", 0.0),
    ];
    for (text, seconds) in ok {
        assert_eq!(parse_duration(text), Ok(*seconds), "{text:?}");
    }
    let bad: &[(&str, &str)] = &[
        ("", "empty"),
        ("  ", "empty"),
        ("h", "expected a number at \"h\""),
        ("1x", "unknown unit"),
        ("15 m", "no unit"),
        ("1h30", "no unit"),
        ("30m1h", "largest to smallest"),
        ("1h1h", "largest to smallest"),
        ("-5m", "expected a duration"),
        ("1.2.3s", "expected a duration"),
        (".s", "expected a duration"),
        ("1e3", "unknown unit"),
        ("1ms", "expected a number at \"s\""),
        ("5M", "unknown unit"),
        ("5分", "unknown unit"),
    ];
    for (text, wanted) in bad {
        let err = parse_duration(text).unwrap_err();
        assert!(err.contains(wanted), "{text:?}: {err}");
    }
    let huge = format!("{}w", "9".repeat(400));
    assert!(parse_duration(&huge).unwrap_err().contains("too large"));
}

/// Lines a drill file is made of, valid and not, for the fuzz test to shuffle.
const FRAGMENTS: &[&str] = &[
    "[source]",
    "store = \"primary\"",
    "lost = [\"primary\", \"gcs\"]",
    "lost = []",
    "[snapshot]",
    "pick = \"random\"",
    "within = \"7d\"",
    "within = 0",
    "seed = 42",
    "path = \"/srv\"",
    "path = \"..\"",
    "[scope]",
    "kind = \"sample\"",
    "kind = \"paths\"",
    "percent = 5.0",
    "percent = -1",
    "paths = [\"/a\", \"b\"]",
    "[targets]",
    "rto = \"15m\"",
    "rpo = \"1h30\"",
    "min_throughput_mib_s = inf",
    "[checks]",
    "min_files = 10",
    "[[checks.canary]]",
    "content = \"x\"",
    "blake3 = \"00\"",
    "[checks.command]",
    "run = [\"true\"]",
    "timeout = \"5m\"",
    "[faults]",
    "outage = [\"primary\"]",
    "latency_ms = 0",
    "[cleanup]",
    "scratch_dir = \"x\"",
    "name = \"é\"",
    "x = { a = [1, [2, {b = 3}]] }",
    "[[",
    "\"",
    "",
];

proptest! {
    #[test]
    fn random_text_never_panics(text in "\\PC{0,300}") {
        let _ = parse(&text);
    }

    #[test]
    fn shuffled_drill_lines_never_panic(
        lines in proptest::collection::vec(proptest::sample::select(FRAGMENTS), 0..24),
        noise in "[ -~é\n]{0,4}",
        at in 0usize..24,
    ) {
        let mut text = lines.join("\n");
        let mut at = at.min(text.len());
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        text.insert_str(at, &noise);
        if let Err(e) = parse(&text) {
            let e = e.to_string();
            prop_assert!(e.starts_with("drills/x.toml"), "{}", e);
        }
    }
}
