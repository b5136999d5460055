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
#[path = "definition_tests.rs"]
mod tests;
