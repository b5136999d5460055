//! Runs one drill: choose the source a disaster would leave, open it, pick the snapshot
//! and the files, restore them for real through the same restore path as `restore`,
//! check them, time every phase, and judge the result against the targets.

use super::checks;
use super::definition::{DrillDefinition, Scope, SourceSpec, Targets};
use super::faults::{FaultyStore, Injection, choose_victims};
use super::select::{self, FileEntry};
use crate::crypto::SlotSecret;
use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::replicate::{NamedStore, StoreFacts};
use crate::repo::Repository;
use crate::report::model::*;
use crate::restore::{RestoreOptions, restore};
use crate::store::list_all;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What a drill runs against: every store of the plan (the primary first), the key,
/// and the plan's default targets.
pub struct DrillEnv {
    pub stores: Vec<NamedStore>,
    pub secret: SlotSecret,
    pub defaults: Targets,
    pub show_progress: bool,
}

#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Keep the scratch restore, whatever the drill file says.
    pub keep: bool,
    /// Replay a sample (or a random pick) with this seed.
    pub seed: Option<u64>,
}

/// Times phases as offsets from the drill's start.
struct Clock {
    start: Instant,
    phases: Vec<Phase>,
}

impl Clock {
    fn phase(&mut self, name: &str, began: Instant) {
        self.phases.push(Phase {
            name: name.into(),
            offset_seconds: began.duration_since(self.start).as_secs_f64(),
            seconds: began.elapsed().as_secs_f64(),
        });
    }
}

/// What the drill learned, filled in as it goes; turned into the report at the end.
struct Findings {
    source: Option<(NamedStore, String)>,
    snapshot: Option<SnapshotRecord>,
    scope: ScopeRecord,
    checks: Vec<Check>,
    faults: Vec<FaultRecord>,
    restore: Option<RestoreRecord>,
    errors: Vec<String>,
    /// What reading back every object of the source found (game days only).
    source_damage: Vec<String>,
    rpo_seconds: Option<f64>,
    restore_seconds: Option<f64>,
    kept: Option<String>,
    /// The repository opened on the source, for saving the report.
    repo: Option<Repository>,
}

/// Runs the drill; never fails: whatever goes wrong is in the report (verdict ERROR).
pub async fn run(
    def: &DrillDefinition,
    env: &DrillEnv,
    options: &RunOptions,
) -> (DrillReport, Option<Repository>) {
    let started = jiff::Timestamp::now();
    let mut clock = Clock {
        start: Instant::now(),
        phases: Vec::new(),
    };
    let mut f = Findings {
        source: None,
        snapshot: None,
        scope: ScopeRecord {
            kind: match def.scope {
                Scope::All => "all",
                Scope::Sample { .. } => "sample",
                Scope::Paths { .. } => "paths",
            }
            .into(),
            percent: None,
            by: None,
            seed: None,
            paths: Vec::new(),
            files_selected: 0,
            bytes_selected: 0,
            files_in_snapshot: 0,
            bytes_in_snapshot: 0,
        },
        checks: Vec::new(),
        faults: Vec::new(),
        restore: None,
        errors: Vec::new(),
        source_damage: Vec::new(),
        rpo_seconds: None,
        restore_seconds: None,
        kept: None,
        repo: None,
    };
    if let Err(e) = drive(def, env, options, &mut clock, &mut f).await {
        f.errors.push(e.to_string());
    }
    judge_faults(def, &mut f);
    let rto_seconds = clock.start.elapsed().as_secs_f64();
    let report = build_report(def, env, started, clock, f, rto_seconds);
    (report.0, report.1)
}

async fn drive(
    def: &DrillDefinition,
    env: &DrillEnv,
    options: &RunOptions,
    clock: &mut Clock,
    f: &mut Findings,
) -> Result<()> {
    // Source: the named store, or the best copy among those not lost.
    let began = Instant::now();
    let stores = with_outages(def, env)?;
    let (source, reason) = choose_source(def, &stores).await?;
    let lost = matches!(def.source, SourceSpec::Lost { .. });
    let source = inject_read_faults(def, source, options, f).await?;
    f.source = Some((source.clone(), reason));
    clock.phase("choose source", began);
    let _ = lost;

    let began = Instant::now();
    let secret = if def.faults.wrong_key {
        SlotSecret::Passphrase(format!("wrong key injected by drill {}", def.name))
    } else {
        env.secret.clone()
    };
    let opened = Repository::open(source.store.clone(), &secret).await;
    clock.phase("open source", began);
    let repo = match opened {
        Ok(repo) => repo,
        Err(e) => {
            if def.faults.wrong_key && matches!(e, Error::WrongKey(_)) {
                f.faults.push(FaultRecord {
                    fault: "wrong key".into(),
                    detected: true,
                    evidence: format!("opening {} was refused: {e}", source.name()),
                });
            }
            return Err(e);
        }
    };
    if def.faults.wrong_key {
        f.faults.push(FaultRecord {
            fault: "wrong key".into(),
            detected: false,
            evidence: format!("{} opened with a wrong key", source.name()),
        });
    }
    f.repo = Some(repo.clone());

    let restored = restore_from(def, env, options, &repo, &source, clock, f).await;
    if def.faults.corrupt_objects > 0 || def.faults.delete_objects > 0 {
        // Game day: read back every object of the source, as `verify --read-data`
        // does, so every injected fault has the chance to be found, not only those on
        // the restore's path.
        let began = Instant::now();
        match crate::verify::verify(&repo, crate::verify::ReadData::All, Progress::hidden()).await {
            Ok(report) => {
                f.source_damage = report
                    .damage
                    .iter()
                    .map(|d| format!("{}: {}", d.object, d.problem))
                    .collect();
                f.checks.push(Check {
                    name: format!("every object of {} reads back intact", source.name()),
                    passed: report.is_clean(),
                    evidence: format!(
                        "{} pack(s), {} bytes read; {} damaged{}",
                        report.packs_read,
                        report.bytes_read,
                        report.damage.len(),
                        f.source_damage
                            .first()
                            .map(|d| format!(", first: {d}"))
                            .unwrap_or_default()
                    ),
                });
            }
            Err(e) => f.errors.push(format!("verifying {}: {e}", source.name())),
        }
        clock.phase("verify source", began);
    }
    restored
}

async fn restore_from(
    def: &DrillDefinition,
    env: &DrillEnv,
    options: &RunOptions,
    repo: &Repository,
    source: &NamedStore,
    clock: &mut Clock,
    f: &mut Findings,
) -> Result<()> {
    let began = Instant::now();
    let (snapshots, unreadable) = repo.readable_snapshots().await?;
    for (id, e) in &unreadable {
        f.errors.push(format!("snapshot {}: {e}", id.short()));
    }
    let now = jiff::Timestamp::now();
    f.rpo_seconds = snapshots
        .iter()
        .map(|(_, s)| s.time)
        .max()
        .map(|t| now.duration_since(t).as_secs_f64());
    let (snapshot_id, snapshot, how) = select::pick_snapshot(&snapshots, &def.snapshot)?;
    f.snapshot = Some(SnapshotRecord {
        id: snapshot_id.to_hex(),
        time: snapshot.time,
        host: snapshot.host.clone(),
        paths: snapshot.paths.clone(),
        tags: snapshot.tags.clone(),
        selection: how,
    });
    let index = repo.load_index().await?;
    clock.phase("read index", began);

    let began = Instant::now();
    let files = select::list_files(repo, &index, &snapshot).await?;
    let (chosen, seed) = select::select_files(&files, &def.scope, options.seed)?;
    record_scope(def, &files, &chosen, seed, &mut f.scope);
    clock.phase("plan", began);

    let scratch_parent = def
        .cleanup
        .scratch_dir
        .clone()
        .unwrap_or_else(std::env::temp_dir);
    std::fs::create_dir_all(&scratch_parent).map_err(|e| Error::io(&scratch_parent, e))?;
    let scratch = tempfile::Builder::new()
        .prefix(&format!("firedrill-drill-{}-", def.name))
        .tempdir_in(&scratch_parent)
        .map_err(|e| Error::io(&scratch_parent, e))?;
    let includes = match &def.scope {
        Scope::All => Vec::new(),
        _ => chosen.iter().map(|e| e.path.clone()).collect(),
    };
    let began = Instant::now();
    let restored = restore(
        repo,
        (&snapshot_id, &snapshot),
        &RestoreOptions {
            target: scratch.path().to_path_buf(),
            includes,
        },
        Progress::bytes(env.show_progress, "drill"),
    )
    .await;
    let restore_began_offset = began;
    match restored {
        Ok(report) => {
            let t = &report.timings;
            let base = restore_began_offset
                .duration_since(clock.start)
                .as_secs_f64();
            for (name, offset, secs) in [
                ("restore: plan", 0.0, t.plan_secs),
                (
                    "restore: download, decrypt, decompress, write",
                    t.plan_secs,
                    t.fetch_write_secs,
                ),
                (
                    "restore: verify BLAKE3",
                    t.plan_secs + t.fetch_write_secs,
                    t.verify_secs,
                ),
            ] {
                clock.phases.push(Phase {
                    name: name.into(),
                    offset_seconds: base + offset,
                    seconds: secs,
                });
            }
            f.restore_seconds = Some(began.elapsed().as_secs_f64());
            f.restore = Some(RestoreRecord {
                files_restored: report.files_restored,
                files_verified: report.files_verified,
                bytes_restored: report.bytes_restored,
                bytes_fetched: report.bytes_fetched,
                damaged: report
                    .damaged
                    .iter()
                    .map(|p| format!("{}: {}", p.path, p.problem))
                    .collect(),
            });
            let began = Instant::now();
            f.checks
                .extend(checks::restored(&report, &chosen, &def.checks));
            f.checks
                .extend(checks::canaries(scratch.path(), &def.checks.canaries));
            if let Some(command) = &def.checks.command {
                f.checks
                    .push(checks::post_command(scratch.path(), command).await);
            }
            clock.phase("post-restore checks", began);
        }
        Err(e) => {
            clock.phase("restore", began);
            f.errors
                .push(format!("restore from {}: {e}", source.name()));
        }
    }
    if options.keep || def.cleanup.keep {
        f.kept = Some(scratch.keep().display().to_string());
    }
    Ok(())
}

/// Refuses a drill that names stores the config does not declare (a bad drill file or
/// config, not a failed drill).
pub fn check_store_names(def: &DrillDefinition, stores: &[NamedStore]) -> Result<()> {
    let known = |name: &String| stores.iter().any(|s| &s.spec.name == name);
    let mut named: Vec<&String> = def.faults.outage.iter().collect();
    match &def.source {
        SourceSpec::Store { name } => named.push(name),
        SourceSpec::Lost { stores: lost } => named.extend(lost),
    }
    let all: Vec<&str> = stores.iter().map(|s| s.name()).collect();
    match named.into_iter().find(|n| !known(n)) {
        None => Ok(()),
        Some(name) => Err(Error::Usage(format!(
            "{}: names store {name:?}, which the config does not declare (stores: {})",
            def.file
                .as_ref()
                .map_or(def.name.clone(), |f| f.display().to_string()),
            all.join(", ")
        ))),
    }
}

/// Stores in an injected outage refuse every call for the drill.
fn with_outages(def: &DrillDefinition, env: &DrillEnv) -> Result<Vec<NamedStore>> {
    for name in &def.faults.outage {
        if !env.stores.iter().any(|s| s.name() == name) {
            return Err(unknown_store(name, env));
        }
    }
    Ok(env
        .stores
        .iter()
        .map(|s| {
            if def.faults.outage.iter().any(|n| n == s.name()) {
                NamedStore {
                    spec: s.spec.clone(),
                    store: Arc::new(FaultyStore::new(
                        s.store.clone(),
                        Injection {
                            outage: true,
                            ..Default::default()
                        },
                    )),
                }
            } else {
                s.clone()
            }
        })
        .collect())
}

fn unknown_store(name: &str, env: &DrillEnv) -> Error {
    let names: Vec<&str> = env.stores.iter().map(|s| s.name()).collect();
    Error::Usage(format!(
        "the drill names store {name:?}, which the config does not declare (stores: {})",
        names.join(", ")
    ))
}

/// The source: the store the drill names, or among those not lost, the reachable one
/// holding the newest snapshot (the least data lost), in config order on a tie.
async fn choose_source(
    def: &DrillDefinition,
    stores: &[NamedStore],
) -> Result<(NamedStore, String)> {
    match &def.source {
        SourceSpec::Store { name } => {
            let store = stores.iter().find(|s| s.name() == name).ok_or_else(|| {
                Error::Usage(format!(
                    "the drill's source {name:?} is not a store of the config"
                ))
            })?;
            Ok((store.clone(), format!("named by the drill: {name}")))
        }
        SourceSpec::Lost { stores: lost } => {
            for name in lost {
                if !stores.iter().any(|s| s.name() == name) {
                    return Err(Error::Usage(format!(
                        "the drill treats {name:?} as lost, but the config declares no such store"
                    )));
                }
            }
            let mut notes = Vec::new();
            let mut best: Option<(usize, usize)> = None;
            for (i, s) in stores.iter().enumerate() {
                if lost.contains(&s.spec.name) {
                    continue;
                }
                match list_all(s.store.as_ref(), "snapshots/").await {
                    Ok(list) if list.is_empty() => {
                        notes.push(format!("{}: holds no snapshot", s.name()))
                    }
                    Ok(list) => {
                        if best.is_none_or(|(_, n)| list.len() > n) {
                            best = Some((i, list.len()));
                        }
                    }
                    Err(e) => notes.push(format!("{}: unreachable ({e})", s.name())),
                }
            }
            match best {
                Some((i, n)) => Ok((
                    stores[i].clone(),
                    format!(
                        "{} lost; {} holds the most snapshots ({n}) of what remains{}",
                        lost.join(", "),
                        stores[i].name(),
                        if notes.is_empty() {
                            String::new()
                        } else {
                            format!("; {}", notes.join("; "))
                        }
                    ),
                )),
                None => Err(Error::Other(format!(
                    "with {} lost, no remaining store can serve a restore: {}",
                    lost.join(", "),
                    if notes.is_empty() {
                        "no other store is declared".into()
                    } else {
                        notes.join("; ")
                    }
                ))),
            }
        }
    }
}

/// Wraps the source so chosen data objects read back corrupted or missing.
async fn inject_read_faults(
    def: &DrillDefinition,
    source: NamedStore,
    options: &RunOptions,
    f: &mut Findings,
) -> Result<NamedStore> {
    let faults = &def.faults;
    if faults.corrupt_objects == 0 && faults.delete_objects == 0 && faults.latency_ms.is_none() {
        return Ok(source);
    }
    let mut injection = Injection {
        latency: faults.latency_ms.map(Duration::from_millis),
        ..Default::default()
    };
    if faults.corrupt_objects > 0 || faults.delete_objects > 0 {
        let keys: Vec<String> = list_all(source.store.as_ref(), "data/")
            .await?
            .into_iter()
            .map(|m| m.key)
            .collect();
        let seed = options.seed.unwrap_or_else(select::fresh_seed);
        let (corrupt, missing) =
            choose_victims(&keys, faults.corrupt_objects, faults.delete_objects, seed)
                .map_err(|e| Error::Usage(format!("faults: {e}")))?;
        injection.corrupt = corrupt;
        injection.missing = missing;
    }
    let faulty = Arc::new(FaultyStore::new(source.store.clone(), injection.clone()));
    f.faults.extend(planned_read_faults(&injection));
    Ok(NamedStore {
        spec: source.spec,
        store: faulty,
    })
}

fn planned_read_faults(injection: &Injection) -> Vec<FaultRecord> {
    let mut out = Vec::new();
    for key in &injection.corrupt {
        out.push(FaultRecord {
            fault: format!("corrupted object {key}"),
            detected: false,
            evidence: String::new(),
        });
    }
    for key in &injection.missing {
        out.push(FaultRecord {
            fault: format!("deleted object {key}"),
            detected: false,
            evidence: String::new(),
        });
    }
    if let Some(latency) = injection.latency {
        out.push(FaultRecord {
            fault: format!("latency {} ms per request", latency.as_millis()),
            detected: false,
            evidence: String::new(),
        });
    }
    out
}

fn record_scope(
    def: &DrillDefinition,
    files: &[FileEntry],
    chosen: &[FileEntry],
    seed: Option<u64>,
    scope: &mut ScopeRecord,
) {
    scope.files_in_snapshot = files.len() as u64;
    scope.bytes_in_snapshot = files.iter().map(|f| f.size).sum();
    scope.files_selected = chosen.len() as u64;
    scope.bytes_selected = chosen.iter().map(|f| f.size).sum();
    scope.seed = seed;
    match &def.scope {
        Scope::Sample { percent, by, .. } => {
            scope.percent = Some(*percent);
            scope.by = Some(format!("{by:?}").to_lowercase());
        }
        Scope::Paths { paths } => scope.paths = paths.clone(),
        Scope::All => {}
    }
}

/// Marks each injected fault detected or not, from what the drill saw.
fn judge_faults(def: &DrillDefinition, f: &mut Findings) {
    let damaged: Vec<String> = f
        .restore
        .as_ref()
        .map(|r| r.damaged.clone())
        .unwrap_or_default();
    let errors = f.errors.join("; ");
    for fault in &mut f.faults {
        if fault.fault.starts_with("corrupted object ")
            || fault.fault.starts_with("deleted object ")
        {
            let key = fault.fault.rsplit(' ').next().unwrap_or_default();
            let short = key.rsplit('/').next().unwrap_or(key);
            let audited = f.source_damage.iter().find(|d| d.contains(short)).cloned();
            let named = damaged.iter().find(|d| d.contains(short)).cloned();
            let in_error = errors.contains(short);
            fault.detected = audited.is_some() || named.is_some() || in_error;
            fault.evidence = match (audited, named, in_error) {
                (Some(d), _, _) => format!("reading back the source found: {d}"),
                (None, Some(d), _) => format!("restore reported: {d}"),
                (None, None, true) => format!("the drill stopped on it: {errors}"),
                (None, None, false) => "not noticed".into(),
            };
        } else if fault.fault.starts_with("latency") {
            fault.detected = true;
            fault.evidence =
                "applied to every request to the source; its cost shows in the RTO".into();
        }
    }
    for name in &def.faults.outage {
        let seen = errors.contains(name)
            || f.source.as_ref().is_some_and(|(s, reason)| {
                s.name() != name && reason.contains(&format!("{name}: unreachable"))
            });
        f.faults.push(FaultRecord {
            fault: format!("outage of {name}"),
            detected: seen,
            evidence: if seen {
                if errors.contains(name) {
                    format!("reported: {errors}")
                } else {
                    format!(
                        "found unreachable and passed over: {}",
                        f.source.as_ref().map(|(_, r)| r.as_str()).unwrap_or("")
                    )
                }
            } else {
                "not noticed".into()
            },
        });
    }
}

fn target(target: Option<f64>, measured: Option<f64>, unit: &str, at_most: bool) -> TargetRecord {
    let met = match (target, measured) {
        (Some(t), Some(m)) => Some(if at_most { m <= t } else { m >= t }),
        (Some(_), None) => Some(false),
        _ => None,
    };
    TargetRecord {
        target,
        measured,
        unit: unit.into(),
        met,
    }
}

fn build_report(
    def: &DrillDefinition,
    env: &DrillEnv,
    started: jiff::Timestamp,
    clock: Clock,
    f: Findings,
    rto_seconds: f64,
) -> (DrillReport, Option<Repository>) {
    let t = &def.targets;
    let d = &env.defaults;
    let ran = f.restore.is_some();
    let rto = target(
        t.rto_seconds.or(d.rto_seconds),
        ran.then_some(rto_seconds),
        "seconds",
        true,
    );
    let rpo = target(
        t.rpo_seconds.or(d.rpo_seconds),
        f.rpo_seconds,
        "seconds",
        true,
    );
    let throughput_measured = match (&f.restore, f.restore_seconds) {
        (Some(r), Some(secs)) if secs > 0.0 => {
            Some(r.bytes_restored as f64 / (1 << 20) as f64 / secs)
        }
        _ => None,
    };
    let throughput = target(
        t.min_throughput_mib_s.or(d.min_throughput_mib_s),
        throughput_measured,
        "MiB/s",
        false,
    );
    let lost: Vec<String> = match &def.source {
        SourceSpec::Lost { stores } => stores.clone(),
        SourceSpec::Store { .. } => Vec::new(),
    };

    let faults_injected = !f.faults.is_empty();
    let undetected: Vec<&FaultRecord> = f.faults.iter().filter(|x| !x.detected).collect();
    let failed_checks: Vec<&Check> = f.checks.iter().filter(|c| !c.passed).collect();
    let missed: Vec<String> = [("RTO", &rto), ("RPO", &rpo), ("throughput", &throughput)]
        .iter()
        .filter(|(_, r)| r.met == Some(false))
        .map(|(n, r)| {
            format!(
                "{n} {} {} against a target of {} {}",
                r.measured
                    .map_or("not measured".into(), |m| format!("{m:.1}")),
                r.unit,
                r.target.map_or("-".into(), |t| format!("{t:.1}")),
                r.unit
            )
        })
        .collect();
    let (verdict, summary) = if faults_injected {
        if undetected.is_empty() {
            (
                Verdict::Pass,
                format!(
                    "all {} injected fault(s) were detected and reported",
                    f.faults.len()
                ),
            )
        } else {
            (
                Verdict::Fail,
                format!(
                    "{} of {} injected fault(s) went unnoticed: {}",
                    undetected.len(),
                    f.faults.len(),
                    undetected
                        .iter()
                        .map(|x| x.fault.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        }
    } else if !f.errors.is_empty() && !ran {
        (
            Verdict::Error,
            format!("the drill could not run: {}", f.errors[0]),
        )
    } else if !failed_checks.is_empty() || !missed.is_empty() || !f.errors.is_empty() {
        let mut reasons: Vec<String> = missed;
        reasons.extend(failed_checks.iter().map(|c| format!("{} failed", c.name)));
        reasons.extend(f.errors.iter().cloned());
        (Verdict::Fail, reasons.join("; "))
    } else {
        let r = f.restore.as_ref();
        (
            Verdict::Pass,
            format!(
                "restored {} file(s), {}, from {} in {:.1} s; every byte verified",
                r.map_or(0, |r| r.files_restored),
                indicatif::HumanBytes(r.map_or(0, |r| r.bytes_restored)),
                f.source.as_ref().map_or("-", |(s, _)| s.name()),
                rto_seconds
            ),
        )
    };
    let stores = env
        .stores
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let facts = StoreFacts::of(&s.spec);
            StoreRecord {
                name: facts.name,
                role: if i == 0 { "primary" } else { "replica" }.into(),
                provider: facts.provider.into(),
                location: facts.location,
                region: facts.region,
                jurisdiction: facts.jurisdiction,
                endpoint: facts.endpoint,
                transport: facts
                    .transport
                    .and_then(|t| serde_json::to_value(t).ok())
                    .and_then(|v| v.as_str().map(str::to_string)),
                encryption: "AES-256-GCM, client-side".into(),
                lost_in_drill: lost.contains(&s.spec.name),
            }
        })
        .collect();
    let report = DrillReport {
        schema_version: SCHEMA_VERSION,
        drill: def.name.clone(),
        description: def.description.clone(),
        drill_file: def.file.as_ref().map(|p| p.display().to_string()),
        verdict,
        summary,
        started,
        finished: jiff::Timestamp::now(),
        host: crate::host::hostname(),
        firedrill_version: env!("CARGO_PKG_VERSION").into(),
        repository: f
            .repo
            .as_ref()
            .map(|r| r.config().id.to_hex())
            .unwrap_or_default(),
        source: SourceRecord {
            store: f
                .source
                .as_ref()
                .map_or(String::new(), |(s, _)| s.name().to_string()),
            lost,
            reason: f.source.as_ref().map_or(String::new(), |(_, r)| r.clone()),
        },
        snapshot: f.snapshot,
        scope: f.scope,
        rto,
        rpo,
        throughput,
        phases: clock.phases,
        checks: f.checks,
        faults: f.faults,
        restore: f.restore,
        stores,
        errors: f.errors,
        previous_report: None,
        kept_restore: f.kept,
        plan: None,
    };
    (report, f.repo)
}
