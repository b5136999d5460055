//! Runs one drill: choose the source a disaster would leave, open it, pick the snapshot
//! and the files, restore them for real through the same restore path as `restore`,
//! check them, time every phase, and judge the result against the targets.

use super::checks;
use super::definition::{DrillDefinition, Scope, SourceSpec, Targets};
use super::faults::{FaultyStore, Injection, choose_victims};
use super::select::{self, FileEntry};
use super::verdict;
use crate::crypto::SlotSecret;
use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::replicate::NamedStore;
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
pub(super) struct Clock {
    pub(super) start: Instant,
    pub(super) phases: Vec<Phase>,
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
pub(super) struct Findings {
    pub(super) source: Option<(NamedStore, String)>,
    pub(super) snapshot: Option<SnapshotRecord>,
    pub(super) scope: ScopeRecord,
    pub(super) checks: Vec<Check>,
    pub(super) faults: Vec<FaultRecord>,
    pub(super) restore: Option<RestoreRecord>,
    pub(super) errors: Vec<String>,
    /// What reading back every object of the source found (game days only).
    pub(super) source_damage: Vec<String>,
    pub(super) rpo_seconds: Option<f64>,
    pub(super) restore_seconds: Option<f64>,
    pub(super) kept: Option<String>,
    pub(super) scratch: Option<tempfile::TempDir>,
    /// The repository opened on the source, for saving the report.
    pub(super) repo: Option<Repository>,
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
        scratch: None,
        repo: None,
    };
    if let Err(e) = drive(def, env, options, &mut clock, &mut f).await {
        f.errors.push(e.to_string());
    }
    let rto_seconds = clock.start.elapsed().as_secs_f64();
    if let Some(scratch) = f.scratch.take() {
        let _ = tokio::task::spawn_blocking(move || drop(scratch)).await;
    }
    verdict::judge_faults(def, &mut f);
    verdict::build_report(def, env, started, clock, f, rto_seconds)
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
    let source = inject_read_faults(def, source, options, f).await?;
    f.source = Some((source.clone(), reason));
    clock.phase("choose source", began);

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

    // A full restore needs no file list of its own: the snapshot's summary has the
    // counts to check against, and the restore plans the trees itself.
    let began = Instant::now();
    let (includes, wanted) = match &def.scope {
        Scope::All => {
            let summary = &snapshot.summary;
            f.scope.files_in_snapshot = summary.files;
            f.scope.bytes_in_snapshot = summary.total_bytes;
            f.scope.files_selected = summary.files;
            f.scope.bytes_selected = summary.total_bytes;
            (Vec::new(), (summary.files, summary.total_bytes))
        }
        _ => {
            let files = select::list_files(repo, &index, &snapshot).await?;
            let (chosen, seed) = select::select_files(&files, &def.scope, options.seed)?;
            record_scope(def, &files, &chosen, seed, &mut f.scope);
            clock.phase("plan", began);
            let wanted = (f.scope.files_selected, f.scope.bytes_selected);
            (chosen.into_iter().map(|e| e.path).collect(), wanted)
        }
    };

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
                .extend(checks::restored(&report, wanted, &def.checks));
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
    } else {
        // Removed after the RTO is taken: cleaning up is not part of recovering.
        f.scratch = Some(scratch);
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
