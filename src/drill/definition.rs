//! Drill definitions: TOML files that say what to restore, from where, how much, against
//! which targets, with which checks and which injected faults.

use crate::Error;
use serde::{Deserialize, Serialize};
use std::fmt::Display;
use std::ops::Range;
use std::path::{Path, PathBuf};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// A parsed and validated drill file.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DrillDefinition {
    /// From `name`, else the file's stem.
    pub name: String,
    pub description: Option<String>,
    /// The file it was read from (None for built-in drills).
    pub file: Option<PathBuf>,
    pub source: SourceSpec,
    pub snapshot: SnapshotSelection,
    pub scope: Scope,
    pub targets: Targets,
    pub checks: Checks,
    pub faults: Faults,
    pub cleanup: Cleanup,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum SourceSpec {
    /// Restore from this store: "primary" or a replica's name from the config.
    Store { name: String },
    /// Treat these stores as lost; restore from the first remaining store in config
    /// order (the primary first, then replicas) whose copy is complete.
    Lost { stores: Vec<String> },
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SnapshotSelection {
    pub pick: SnapshotPick,
    pub tag: Option<String>,
    pub host: Option<String>,
    /// Only snapshots whose paths include this one.
    pub path: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum SnapshotPick {
    Latest,
    Oldest,
    /// A random snapshot among those no older than `within_seconds` before the newest.
    Random {
        within_seconds: u64,
        seed: Option<u64>,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Scope {
    All,
    /// A random sample of files; `seed` None means a fresh seed, recorded in the report
    /// so a failed sample can be replayed.
    Sample {
        percent: f64,
        by: SampleBy,
        seed: Option<u64>,
    },
    Paths {
        paths: Vec<String>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SampleBy {
    Files,
    Bytes,
}

/// `None`: take the plan's default (from the config), if any.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Targets {
    pub rto_seconds: Option<f64>,
    pub rpo_seconds: Option<f64>,
    pub min_throughput_mib_s: Option<f64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Checks {
    pub min_files: Option<u64>,
    pub min_bytes: Option<u64>,
    pub canaries: Vec<Canary>,
    pub command: Option<PostCommand>,
}

/// A file whose restored content must be exactly as given.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Canary {
    /// The path as backed up (absolute, as in the snapshot).
    pub path: String,
    pub expect: CanaryExpect,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum CanaryExpect {
    /// The exact text content.
    Content(String),
    /// The BLAKE3 of the content, hex.
    Blake3(String),
}

/// An application smoke test run after the restore; `{restore}` in any argument is
/// replaced by the restore directory. Its exit code counts.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PostCommand {
    pub argv: Vec<String>,
    pub timeout_seconds: f64,
}

/// Faults to inject (game days). A drill with faults passes only if each is detected.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Faults {
    /// Stores made unreachable for the drill.
    pub outage: Vec<String>,
    /// Added latency per request on the source, in milliseconds.
    pub latency_ms: Option<u64>,
    /// Data objects of the source read back corrupted (in memory only: nothing stored
    /// is touched).
    pub corrupt_objects: u32,
    /// Data objects of the source that read as missing (in memory only).
    pub delete_objects: u32,
    /// Open the repository with a wrong key.
    pub wrong_key: bool,
}

impl Faults {
    pub fn any(&self) -> bool {
        !self.outage.is_empty()
            || self.latency_ms.is_some()
            || self.corrupt_objects > 0
            || self.delete_objects > 0
            || self.wrong_key
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Cleanup {
    /// Keep the scratch restore for inspection.
    pub keep: bool,
    /// Where scratch restores go (default: the system temp directory).
    pub scratch_dir: Option<PathBuf>,
}

impl DrillDefinition {
    /// Reads and validates a drill file. Errors are `crate::Error::Usage` naming the
    /// file, the line and column, and the field, and saying what is expected.
    pub fn load(path: &Path) -> crate::Result<DrillDefinition> {
        let cannot = |e: std::io::Error| {
            Error::Usage(format!("cannot read drill file {}: {e}", path.display()))
        };
        let meta = std::fs::metadata(path).map_err(cannot)?;
        if meta.is_dir() {
            return Err(Error::Usage(format!(
                "{}: is a directory; give a drill file (TOML), e.g. drills/daily-sample.toml",
                path.display()
            )));
        }
        if !meta.is_file() {
            return Err(Error::Usage(format!(
                "{}: is not a regular file; give a drill file (TOML)",
                path.display()
            )));
        }
        let bytes = std::fs::read(path).map_err(cannot)?;
        let text = String::from_utf8(bytes).map_err(|e| {
            let valid = e.utf8_error().valid_up_to();
            // The prefix up to `valid` is UTF-8 by definition.
            let before = std::str::from_utf8(&e.as_bytes()[..valid]).unwrap_or_default();
            Error::Usage(format!(
                "{}{}: not UTF-8 text: a drill file is TOML, which must be UTF-8",
                path.display(),
                line_column(before, before.len())
            ))
        })?;
        Self::parse(&text, path)
    }

    /// The same from text (`origin` names the file in errors).
    pub fn parse(text: &str, origin: &Path) -> crate::Result<DrillDefinition> {
        let reader = Reader { text, origin };
        if text.trim_start_matches('\u{feff}').trim().is_empty() {
            return Err(Error::Usage(format!(
                "{}: the drill file is empty: it needs at least a [source] section with store = \"…\" or lost = [\"…\"]",
                origin.display()
            )));
        }
        let raw: RawDrill = toml::from_str(text).map_err(|e| reader.toml_error(&e))?;
        reader.build(raw)
    }
}

/// Parses "90s", "15m", "1h30m", "26h", "7d", "2w" (and plain numbers = seconds) into
/// seconds. Units are s, m, h, d (24 h) and w (7 d), largest first, each at most once;
/// each number may have a fraction ("1.5h").
pub fn parse_duration(text: &str) -> Result<f64, String> {
    const UNITS: [(char, f64); 5] = [
        ('w', 7.0 * 86_400.0),
        ('d', 86_400.0),
        ('h', 3_600.0),
        ('m', 60.0),
        ('s', 1.0),
    ];
    let expected =
        "expected a duration such as \"90s\", \"15m\", \"1h30m\", \"7d\" or a number of seconds";
    let text = text.trim();
    if text.is_empty() {
        return Err(format!("empty; {expected}"));
    }
    let number = |digits: &str| -> Result<f64, String> {
        let valid = !digits.is_empty()
            && digits.chars().all(|c| c.is_ascii_digit() || c == '.')
            && digits.chars().filter(|&c| c == '.').count() <= 1
            && digits.chars().any(|c| c.is_ascii_digit());
        if !valid {
            return Err(format!("{text:?}: {expected}"));
        }
        digits
            .parse::<f64>()
            .map_err(|_| format!("{text:?}: {expected}"))
    };
    let seconds = if text.chars().all(|c| c.is_ascii_digit() || c == '.') {
        number(text)?
    } else {
        let mut total = 0.0;
        // Index into UNITS of the next unit allowed: units go from largest to smallest.
        let mut next_unit = 0;
        let mut rest = text;
        while !rest.is_empty() {
            let digits_end = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .unwrap_or(rest.len());
            if digits_end == 0 {
                return Err(format!(
                    "{text:?}: expected a number at {rest:?}; {expected}"
                ));
            }
            let value = number(&rest[..digits_end])?;
            let mut after = rest[digits_end..].chars();
            let unit = match after.next() {
                Some(unit) if !unit.is_whitespace() => unit,
                _ => {
                    return Err(format!(
                        "{text:?}: {:?} has no unit (s, m, h, d or w); {expected}",
                        &rest[..digits_end]
                    ));
                }
            };
            let Some(position) = UNITS.iter().position(|&(u, _)| u == unit) else {
                return Err(format!(
                    "{text:?}: unknown unit {unit:?} (use s, m, h, d or w); {expected}"
                ));
            };
            if position < next_unit {
                return Err(format!(
                    "{text:?}: units go from largest to smallest, each once (w, d, h, m, s)"
                ));
            }
            next_unit = position + 1;
            total += value * UNITS[position].1;
            rest = after.as_str().trim_start();
        }
        total
    };
    if !seconds.is_finite() {
        return Err(format!("{text:?}: too large"));
    }
    Ok(seconds)
}

// The file as written, before validation. Every section and field is optional here so
// that a missing one gets our message (with the place), not serde's.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDrill {
    name: Option<Spanned<String>>,
    description: Option<String>,
    source: Option<Spanned<RawSource>>,
    snapshot: Option<Spanned<RawSnapshot>>,
    scope: Option<Spanned<RawScope>>,
    #[serde(default)]
    targets: RawTargets,
    #[serde(default)]
    checks: RawChecks,
    #[serde(default)]
    faults: RawFaults,
    #[serde(default)]
    cleanup: RawCleanup,
}

type SpannedList = Spanned<Vec<Spanned<String>>>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    store: Option<Spanned<String>>,
    lost: Option<SpannedList>,
}

#[derive(Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum RawPick {
    Latest,
    Oldest,
    Random,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSnapshot {
    pick: Option<Spanned<RawPick>>,
    within: Option<Spanned<DurationValue>>,
    seed: Option<Spanned<u64>>,
    tag: Option<Spanned<String>>,
    host: Option<Spanned<String>>,
    path: Option<Spanned<String>>,
}

#[derive(Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum RawScopeKind {
    All,
    Sample,
    Paths,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScope {
    kind: Option<Spanned<RawScopeKind>>,
    percent: Option<Spanned<f64>>,
    by: Option<Spanned<SampleBy>>,
    seed: Option<Spanned<u64>>,
    paths: Option<SpannedList>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTargets {
    rto: Option<Spanned<DurationValue>>,
    rpo: Option<Spanned<DurationValue>>,
    min_throughput_mib_s: Option<Spanned<f64>>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChecks {
    min_files: Option<u64>,
    min_bytes: Option<u64>,
    #[serde(default)]
    canary: Vec<Spanned<RawCanary>>,
    command: Option<Spanned<RawCommand>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCanary {
    path: Option<Spanned<String>>,
    content: Option<Spanned<String>>,
    blake3: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCommand {
    run: Option<SpannedList>,
    timeout: Option<Spanned<DurationValue>>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFaults {
    outage: Option<SpannedList>,
    latency_ms: Option<Spanned<u64>>,
    corrupt_objects: Option<u32>,
    delete_objects: Option<u32>,
    wrong_key: Option<bool>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCleanup {
    keep: Option<bool>,
    scratch_dir: Option<Spanned<String>>,
}

/// A duration as written: text for [`parse_duration`], or a number of seconds.
enum DurationValue {
    Text(String),
    Seconds(f64),
}

impl<'de> Deserialize<'de> for DurationValue {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = DurationValue;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a duration such as \"90s\", \"15m\", \"1h30m\" or \"7d\", or a number of seconds")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<DurationValue, E> {
                Ok(DurationValue::Text(v.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<DurationValue, E> {
                Ok(DurationValue::Seconds(v as f64))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<DurationValue, E> {
                Ok(DurationValue::Seconds(v as f64))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<DurationValue, E> {
                Ok(DurationValue::Seconds(v))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// The text being read and where it came from, for errors that name the place.
struct Reader<'a> {
    text: &'a str,
    origin: &'a Path,
}

impl Reader<'_> {
    /// `file:line:column: field: message` (the place only where the span is known).
    fn error(&self, span: Option<&Range<usize>>, field: &str, message: impl Display) -> Error {
        let place = span
            .map(|s| line_column(self.text, s.start))
            .unwrap_or_default();
        let field = if field.is_empty() {
            String::new()
        } else {
            format!(" {field}:")
        };
        Error::Usage(format!(
            "{}{place}:{field} {message}",
            self.origin.display()
        ))
    }

    fn at<T>(&self, value: &Spanned<T>, field: &str, message: impl Display) -> Error {
        self.error(Some(&value.span()), field, message)
    }

    fn toml_error(&self, e: &toml::de::Error) -> Error {
        let span = e.span();
        // Serde's names for integer types mean little to someone writing a drill file.
        let message = e
            .message()
            .trim()
            .replace("expected u64", "expected a whole number, 0 or more")
            .replace(
                "expected u32",
                "expected a whole number from 0 to 4294967295",
            );
        let mut field = span
            .as_ref()
            .and_then(|s| field_at(self.text, s.start))
            .unwrap_or_default();
        if message.starts_with("unknown field") {
            // The message names the field; say in which section it is unknown.
            field = field
                .rsplit_once('.')
                .map(|(section, _)| section.to_string())
                .unwrap_or_default();
        }
        self.error(span.as_ref(), &field, message)
    }

    fn build(&self, raw: RawDrill) -> crate::Result<DrillDefinition> {
        let name = match &raw.name {
            Some(name) => {
                self.check_drill_name(name.get_ref())
                    .map_err(|m| self.at(name, "name", m))?;
                name.get_ref().clone()
            }
            None => {
                let stem = self
                    .origin
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
                self.check_drill_name(&stem).map_err(|m| {
                    self.error(
                        None,
                        "name",
                        format!("not given, and the file name's stem {stem:?} cannot be the drill's name: {m}; set name = \"…\""),
                    )
                })?;
                stem
            }
        };
        Ok(DrillDefinition {
            name,
            description: raw.description,
            file: Some(self.origin.to_path_buf()),
            source: self.source(raw.source)?,
            snapshot: self.snapshot(raw.snapshot)?,
            scope: self.scope(raw.scope)?,
            targets: self.targets(raw.targets)?,
            checks: self.checks(raw.checks)?,
            faults: self.faults(raw.faults)?,
            cleanup: self.cleanup(raw.cleanup)?,
        })
    }

    fn check_drill_name(&self, name: &str) -> Result<(), String> {
        check_name(name)?;
        if name.starts_with('.') {
            return Err(format!("{name:?} must not start with '.'"));
        }
        if name.len() > MAX_NAME {
            return Err(format!("{name:?} is longer than {MAX_NAME} characters"));
        }
        Ok(())
    }

    fn source(&self, source: Option<Spanned<RawSource>>) -> crate::Result<SourceSpec> {
        let Some(source) = source else {
            return Err(self.error(
                None,
                "source",
                "missing: add a [source] section with store = \"…\" (restore from that store) or lost = [\"…\"] (restore from what remains)",
            ));
        };
        let (span, source) = (source.span(), source.into_inner());
        match (source.store, source.lost) {
            (Some(store), None) => {
                self.store_name(&store, "source.store")?;
                Ok(SourceSpec::Store {
                    name: store.into_inner(),
                })
            }
            (None, Some(lost)) => {
                let at = lost.span();
                let stores = self.store_names(lost, "source.lost")?;
                if stores.is_empty() {
                    return Err(self.error(
                        Some(&at),
                        "source.lost",
                        "empty: name at least one store to treat as lost, or use store = \"…\"",
                    ));
                }
                Ok(SourceSpec::Lost { stores })
            }
            (Some(_), Some(_)) => Err(self.error(
                Some(&span),
                "source",
                "give exactly one of store = \"…\" or lost = [\"…\"], not both",
            )),
            (None, None) => Err(self.error(
                Some(&span),
                "source",
                "give exactly one of store = \"…\" (restore from that store) or lost = [\"…\"] (restore from what remains)",
            )),
        }
    }

    fn store_name(&self, name: &Spanned<String>, field: &str) -> crate::Result<()> {
        let name_ref = name.get_ref();
        let message = if name_ref.is_empty() {
            "empty: name a store, \"primary\" or a replica's name from the config".to_string()
        } else if check_name(name_ref).is_err() {
            format!(
                "{name_ref:?} is not a store name: a store is \"primary\" or a replica's name from the config (letters, digits, '-', '_', '.')"
            )
        } else {
            return Ok(());
        };
        Err(self.at(name, field, message))
    }

    /// A list of store names: each valid, none twice.
    fn store_names(&self, list: SpannedList, field: &str) -> crate::Result<Vec<String>> {
        let mut names: Vec<String> = Vec::new();
        for name in list.into_inner() {
            self.store_name(&name, field)?;
            if names.contains(name.get_ref()) {
                return Err(self.at(
                    &name,
                    field,
                    format!("{:?} is listed twice", name.get_ref()),
                ));
            }
            names.push(name.into_inner());
        }
        Ok(names)
    }

    fn snapshot(&self, snapshot: Option<Spanned<RawSnapshot>>) -> crate::Result<SnapshotSelection> {
        let Some(snapshot) = snapshot else {
            return Ok(SnapshotSelection {
                pick: SnapshotPick::Latest,
                tag: None,
                host: None,
                path: None,
            });
        };
        let (span, s) = (snapshot.span(), snapshot.into_inner());
        let random = s
            .pick
            .as_ref()
            .is_some_and(|p| *p.get_ref() == RawPick::Random);
        if !random {
            for (value, field) in [
                (s.within.as_ref().map(Spanned::span), "snapshot.within"),
                (s.seed.as_ref().map(Spanned::span), "snapshot.seed"),
            ] {
                if let Some(at) = value {
                    return Err(self.error(Some(&at), field, "only with pick = \"random\""));
                }
            }
        }
        let pick = match s.pick.map(Spanned::into_inner) {
            None | Some(RawPick::Latest) => SnapshotPick::Latest,
            Some(RawPick::Oldest) => SnapshotPick::Oldest,
            Some(RawPick::Random) => {
                let Some(within) = &s.within else {
                    return Err(self.error(
                        Some(&span),
                        "snapshot.within",
                        "required with pick = \"random\": how far back from the newest snapshot to pick, e.g. within = \"7d\"",
                    ));
                };
                let seconds = self.duration(within, "snapshot.within")?;
                SnapshotPick::Random {
                    // Whole seconds, rounded up so the window is never narrower than asked.
                    within_seconds: seconds.ceil() as u64,
                    seed: s.seed.map(Spanned::into_inner),
                }
            }
        };
        let text = |value: Option<Spanned<String>>, field: &str| -> crate::Result<Option<String>> {
            match value {
                Some(v) if v.get_ref().is_empty() => {
                    Err(self.at(&v, field, "empty; leave the field out to match any"))
                }
                v => Ok(v.map(Spanned::into_inner)),
            }
        };
        if let Some(path) = &s.path {
            check_backed_up_path(path.get_ref()).map_err(|m| self.at(path, "snapshot.path", m))?;
        }
        Ok(SnapshotSelection {
            pick,
            tag: text(s.tag, "snapshot.tag")?,
            host: text(s.host, "snapshot.host")?,
            path: s.path.map(Spanned::into_inner),
        })
    }

    fn scope(&self, scope: Option<Spanned<RawScope>>) -> crate::Result<Scope> {
        let Some(scope) = scope else {
            return Ok(Scope::All);
        };
        let (span, s) = (scope.span(), scope.into_inner());
        let kind = s.kind.as_ref().map_or(RawScopeKind::All, |k| *k.get_ref());
        let kind_text = match kind {
            RawScopeKind::All => "all",
            RawScopeKind::Sample => "sample",
            RawScopeKind::Paths => "paths",
        };
        if kind != RawScopeKind::Sample {
            for (at, field) in [
                (s.percent.as_ref().map(Spanned::span), "scope.percent"),
                (s.by.as_ref().map(Spanned::span), "scope.by"),
                (s.seed.as_ref().map(Spanned::span), "scope.seed"),
            ] {
                if let Some(at) = at {
                    return Err(self.error(
                        Some(&at),
                        field,
                        format!("only with kind = \"sample\" (kind is \"{kind_text}\")"),
                    ));
                }
            }
        }
        if kind != RawScopeKind::Paths
            && let Some(paths) = &s.paths
        {
            return Err(self.at(
                paths,
                "scope.paths",
                format!("only with kind = \"paths\" (kind is \"{kind_text}\")"),
            ));
        }
        match kind {
            RawScopeKind::All => Ok(Scope::All),
            RawScopeKind::Sample => {
                let Some(percent) = s.percent else {
                    return Err(self.error(
                        Some(&span),
                        "scope.percent",
                        "required with kind = \"sample\": the share to restore, 0 < percent <= 100",
                    ));
                };
                let p = *percent.get_ref();
                if !(p > 0.0 && p <= 100.0) {
                    return Err(self.at(
                        &percent,
                        "scope.percent",
                        format!("{p} is not in (0, 100]"),
                    ));
                }
                Ok(Scope::Sample {
                    percent: p,
                    by: s.by.map_or(SampleBy::Files, Spanned::into_inner),
                    seed: s.seed.map(Spanned::into_inner),
                })
            }
            RawScopeKind::Paths => {
                let Some(paths) = s.paths else {
                    return Err(self.error(
                        Some(&span),
                        "scope.paths",
                        "required with kind = \"paths\": the absolute paths to restore, as backed up",
                    ));
                };
                if paths.get_ref().is_empty() {
                    return Err(self.at(
                        &paths,
                        "scope.paths",
                        "empty: name at least one absolute path",
                    ));
                }
                let mut out = Vec::new();
                for path in paths.into_inner() {
                    check_backed_up_path(path.get_ref())
                        .map_err(|m| self.at(&path, "scope.paths", m))?;
                    out.push(path.into_inner());
                }
                Ok(Scope::Paths { paths: out })
            }
        }
    }

    /// A duration field: parses, and is > 0.
    fn duration(&self, value: &Spanned<DurationValue>, field: &str) -> crate::Result<f64> {
        let seconds = match value.get_ref() {
            DurationValue::Text(text) => {
                parse_duration(text).map_err(|m| self.at(value, field, m))?
            }
            DurationValue::Seconds(s) => *s,
        };
        if !(seconds.is_finite() && seconds > 0.0) {
            let given = match value.get_ref() {
                DurationValue::Text(text) => format!("{text:?} is {seconds} seconds"),
                DurationValue::Seconds(_) => format!("{seconds} seconds"),
            };
            return Err(self.at(value, field, format!("{given}: must be more than 0")));
        }
        Ok(seconds)
    }

    fn targets(&self, t: RawTargets) -> crate::Result<Targets> {
        let throughput = match t.min_throughput_mib_s {
            Some(v) if !(v.get_ref().is_finite() && *v.get_ref() > 0.0) => {
                return Err(self.at(
                    &v,
                    "targets.min_throughput_mib_s",
                    format!("{}: must be more than 0 (MiB/s)", v.get_ref()),
                ));
            }
            v => v.map(Spanned::into_inner),
        };
        Ok(Targets {
            rto_seconds: t
                .rto
                .map(|v| self.duration(&v, "targets.rto"))
                .transpose()?,
            rpo_seconds: t
                .rpo
                .map(|v| self.duration(&v, "targets.rpo"))
                .transpose()?,
            min_throughput_mib_s: throughput,
        })
    }

    fn checks(&self, c: RawChecks) -> crate::Result<Checks> {
        let mut canaries = Vec::new();
        for canary in c.canary {
            let (span, raw) = (canary.span(), canary.into_inner());
            let Some(path) = raw.path else {
                return Err(self.error(
                    Some(&span),
                    "checks.canary.path",
                    "required: the canary file's absolute path, as backed up",
                ));
            };
            check_backed_up_path(path.get_ref())
                .map_err(|m| self.at(&path, "checks.canary.path", m))?;
            let expect = match (raw.content, raw.blake3) {
                (Some(content), None) => CanaryExpect::Content(content.into_inner()),
                (None, Some(hash)) => {
                    let h = hash.get_ref();
                    if h.len() != 64 || !h.chars().all(|c| c.is_ascii_hexdigit()) {
                        return Err(self.at(
                            &hash,
                            "checks.canary.blake3",
                            format!("{h:?} is not a BLAKE3 hash: expected 64 hex digits"),
                        ));
                    }
                    CanaryExpect::Blake3(h.to_ascii_lowercase())
                }
                (Some(_), Some(_)) => {
                    return Err(self.error(
                        Some(&span),
                        "checks.canary",
                        "give exactly one of content = \"…\" or blake3 = \"…\", not both",
                    ));
                }
                (None, None) => {
                    return Err(self.error(
                        Some(&span),
                        "checks.canary",
                        "give exactly one of content = \"…\" (the exact text) or blake3 = \"…\" (64 hex digits)",
                    ));
                }
            };
            canaries.push(Canary {
                path: path.into_inner(),
                expect,
            });
        }
        let command = match c.command {
            None => None,
            Some(command) => {
                let (span, raw) = (command.span(), command.into_inner());
                let Some(run) = raw.run else {
                    return Err(self.error(
                        Some(&span),
                        "checks.command.run",
                        "required: the command as a list of arguments, e.g. run = [\"sh\", \"-c\", \"…\"]",
                    ));
                };
                let argv: Vec<String> = run.get_ref().iter().map(|a| a.get_ref().clone()).collect();
                if argv.first().is_none_or(|program| program.is_empty()) {
                    return Err(self.at(
                        &run,
                        "checks.command.run",
                        "needs a program as its first element, e.g. run = [\"sh\", \"-c\", \"…\"]",
                    ));
                }
                let Some(timeout) = raw.timeout else {
                    return Err(self.error(
                        Some(&span),
                        "checks.command.timeout",
                        "required with run: how long the command may take, e.g. timeout = \"5m\"",
                    ));
                };
                Some(PostCommand {
                    argv,
                    timeout_seconds: self.duration(&timeout, "checks.command.timeout")?,
                })
            }
        };
        Ok(Checks {
            min_files: c.min_files,
            min_bytes: c.min_bytes,
            canaries,
            command,
        })
    }

    fn faults(&self, f: RawFaults) -> crate::Result<Faults> {
        let outage = match f.outage {
            Some(list) => self.store_names(list, "faults.outage")?,
            None => Vec::new(),
        };
        if let Some(latency) = &f.latency_ms
            && *latency.get_ref() == 0
        {
            return Err(self.at(
                latency,
                "faults.latency_ms",
                "must be more than 0 (leave it out to add no latency)",
            ));
        }
        Ok(Faults {
            outage,
            latency_ms: f.latency_ms.map(Spanned::into_inner),
            corrupt_objects: f.corrupt_objects.unwrap_or(0),
            delete_objects: f.delete_objects.unwrap_or(0),
            wrong_key: f.wrong_key.unwrap_or(false),
        })
    }

    fn cleanup(&self, c: RawCleanup) -> crate::Result<Cleanup> {
        let scratch_dir = match c.scratch_dir {
            Some(dir) if dir.get_ref().is_empty() => {
                return Err(self.at(
                    &dir,
                    "cleanup.scratch_dir",
                    "empty; leave it out for the system temp directory",
                ));
            }
            Some(dir) => {
                let dir = PathBuf::from(dir.into_inner());
                // Relative to the drill file, not to where firedrill runs.
                Some(if dir.is_relative() {
                    self.origin.parent().unwrap_or(Path::new("")).join(dir)
                } else {
                    dir
                })
            }
            None => None,
        };
        Ok(Cleanup {
            keep: c.keep.unwrap_or(false),
            scratch_dir,
        })
    }
}

/// The longest drill name: it becomes part of file names.
const MAX_NAME: usize = 100;

/// A drill or store name: letters, digits, '-', '_', '.'.
fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("empty: give a name of letters, digits, '-', '_' or '.'".into());
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(format!("{name:?} must be letters, digits, '-', '_' or '.'"));
    }
    Ok(())
}

/// A path as backed up: absolute, and without `..`.
fn check_backed_up_path(path: &str) -> Result<(), String> {
    if path.is_empty() {
        return Err("empty: give an absolute path, as backed up".into());
    }
    if !path.starts_with('/') {
        return Err(format!(
            "{path:?} is not absolute: give the path as backed up, e.g. \"/srv/data/…\""
        ));
    }
    if path.split('/').any(|part| part == "..") {
        return Err(format!(
            "{path:?} contains \"..\": give the path as backed up"
        ));
    }
    Ok(())
}

/// `:line:column` (1-based, columns in characters) of a byte offset in `text`.
fn line_column(text: &str, offset: usize) -> String {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let last = before.rsplit('\n').next().unwrap_or_default();
    // A byte-order mark is not a column.
    let last = if line == 1 {
        last.trim_start_matches('\u{feff}')
    } else {
        last
    };
    format!(":{line}:{}", last.chars().count() + 1)
}

/// The dotted path of the key or value at a byte offset (the innermost one), to name the
/// field in a TOML error: "scope.percent", "checks.canary.path".
fn field_at(text: &str, offset: usize) -> Option<String> {
    fn consider(span: Range<usize>, path: &str, offset: usize, best: &mut Option<(usize, String)>) {
        let hit = span.contains(&offset) || (span.is_empty() && span.start == offset);
        if hit && best.as_ref().is_none_or(|(len, _)| span.len() <= *len) {
            *best = Some((span.len(), path.to_string()));
        }
    }
    fn value(v: &Spanned<DeValue>, path: &str, offset: usize, best: &mut Option<(usize, String)>) {
        consider(v.span(), path, offset, best);
        match v.get_ref() {
            DeValue::Table(t) => table(t, path, offset, best),
            DeValue::Array(items) => {
                for item in items.iter() {
                    value(item, path, offset, best);
                }
            }
            _ => {}
        }
    }
    fn table(t: &DeTable, prefix: &str, offset: usize, best: &mut Option<(usize, String)>) {
        for (key, v) in t.iter() {
            let path = if prefix.is_empty() {
                key.get_ref().to_string()
            } else {
                format!("{prefix}.{}", key.get_ref())
            };
            consider(key.span(), &path, offset, best);
            value(v, &path, offset, best);
        }
    }
    // Recoverable: a syntax error still leaves the tree around it to name the field.
    let (root, _) = DeTable::parse_recoverable(text);
    let mut best = None;
    table(root.get_ref(), "", offset, &mut best);
    best.map(|(_, path)| path)
}

#[cfg(test)]
mod tests {
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
                            "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
                                .into(),
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
                let d = DrillDefinition::load(&path)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
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
}
