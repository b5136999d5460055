//! `firedrill quickstart`: the whole job on local directories, with nothing to set up.
//! It backs up sample data (or a given directory) to a primary, replicates it to two
//! replicas standing for two other regions, restores from a replica alone to a scratch
//! directory, checks every restored file against the source and the snapshot, and reads
//! back every stored byte.

use crate::backup::{BackupOptions, backup};
use crate::crypto::{Id, SlotSecret, read_key_file, write_new_key_file};
use crate::drill::definition::DrillDefinition;
use crate::drill::runner::{DrillEnv, RunOptions};
use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::replicate::placement::PlacementPolicy;
use crate::replicate::status::{StatusReport, status};
use crate::replicate::{NamedStore, ReplicateOptions, ReplicationReport, replicate};
use crate::repo::{InitOptions, Repository};
use crate::report::model::{DrillReport, Verdict};
use crate::report::publish;
use crate::restore::{RestoreOptions, RestoreReport, restore};
use crate::sample_data::{SampleSpec, SampleStats, generate};
use crate::store::spec::StoreSpec;
use crate::store::{FsStore, Location};
use crate::verify::{ReadData, VerifyReport, verify};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

pub struct QuickstartOptions {
    pub dir: PathBuf,
    pub source: Option<PathBuf>,
    pub sample_bytes: u64,
    pub show_progress: bool,
}

#[derive(Debug, Serialize)]
pub struct Step {
    pub name: String,
    pub seconds: f64,
    pub detail: String,
}

#[derive(Debug, Serialize)]
pub struct QuickstartReport {
    pub dir: PathBuf,
    pub repository: String,
    pub key_file: PathBuf,
    /// A config declaring the demo's primary, replicas and placement policy.
    pub config_file: PathBuf,
    pub source: PathBuf,
    pub restored_to: PathBuf,
    pub snapshot: Id,
    pub steps: Vec<Step>,
    pub files_compared: u64,
    pub mismatches: Vec<String>,
    pub replication: ReplicationReport,
    pub replicas: StatusReport,
    /// The replica the restore read from, alone.
    pub restored_from: String,
    pub restore: RestoreReport,
    pub verify: VerifyReport,
    /// The "primary region lost" drill run on the demo.
    pub drill: DrillReport,
    pub drill_html: Option<PathBuf>,
}

impl QuickstartReport {
    pub fn passed(&self) -> bool {
        self.drill.verdict == Verdict::Pass
            && self.mismatches.is_empty()
            && self.replication.all_complete()
            && self.replicas.placement.satisfied
            && self.restore.is_clean()
            && self.verify.is_clean()
    }
}

/// The demo's copies: the primary and two replicas, each standing for a region.
const REGIONS: [(&str, &str, &str); 3] = [
    ("primary", "repository", "demo-region-a"),
    ("region-b", "replica-region-b", "demo-region-b"),
    ("region-c", "replica-region-c", "demo-region-c"),
];

fn demo_policy() -> PlacementPolicy {
    PlacementPolicy {
        min_replicas: 2,
        min_providers: 1,
        min_regions: 3,
        allowed_jurisdictions: vec!["EU".into()],
    }
}

fn demo_store(dir: &Path, (name, sub, region): (&str, &str, &str)) -> NamedStore {
    let path = dir.join(sub);
    let mut spec = StoreSpec::new(name, Location::Local(path.clone()));
    spec.region = Some(region.into());
    spec.jurisdiction = Some("EU".into());
    NamedStore {
        spec,
        store: Arc::new(FsStore::new(path)),
    }
}

fn write_demo_config(dir: &Path, key_file: &Path, source: &Path) -> Result<PathBuf> {
    let mut text = format!(
        "# The quickstart's plan: a primary and two replicas in three (local) regions.\n\
         [repository]\nkey_file = {:?}\n\n",
        key_file.display().to_string()
    );
    for (i, (name, sub, region)) in REGIONS.into_iter().enumerate() {
        let header = if i == 0 {
            "[primary]".to_string()
        } else {
            format!("[[replica]]\nname = {name:?}")
        };
        text.push_str(&format!(
            "{header}\nlocation = {:?}\nregion = {region:?}\njurisdiction = \"EU\"\n\n",
            dir.join(sub).display().to_string()
        ));
    }
    let policy = demo_policy();
    text.push_str(&format!(
        "[placement]\nmin_replicas = {}\nmin_regions = {}\nallowed_jurisdictions = [\"EU\"]\n",
        policy.min_replicas, policy.min_regions
    ));
    text.push_str("\n[plan]\nrto = \"15m\"\nrpo = \"1d\"\n\n[drills]\ndir = \"drills\"\n\n[reports]\ndir = \"reports\"\n");
    // A schedule to try `agent`, `run-due` and `status` with.
    text.push_str(&format!(
        "\n[agent]\nlisten = \"127.0.0.1:9477\"\nstate_dir = \"state\"\n\n\
         [[job]]\nname = \"backup\"\ncommand = [\"backup\", {:?}]\nschedule = \"*/15 * * * *\"\n\n\
         [[job]]\nname = \"replicate\"\ncommand = [\"replicate\"]\nschedule = \"5-59/15 * * * *\"\n\n\
         [[job]]\nname = \"primary-lost-drill\"\ncommand = [\"drill\", \"run\", \"primary-region-lost\"]\nschedule = \"30 * * * *\"\n",
        source.display().to_string()
    ));
    let drills = dir.join("drills");
    std::fs::create_dir_all(&drills).map_err(|e| Error::io(&drills, e))?;
    let drill = drills.join("primary-region-lost.toml");
    std::fs::write(&drill, PRIMARY_LOST_DRILL.trim_start()).map_err(|e| Error::io(&drill, e))?;
    let path = dir.join("firedrill.toml");
    std::fs::write(&path, text).map_err(|e| Error::io(&path, e))?;
    Ok(path)
}

fn timed<T>(steps: &mut Vec<Step>, name: &str, started: Instant, value: T, detail: String) -> T {
    steps.push(Step {
        name: name.into(),
        seconds: started.elapsed().as_secs_f64(),
        detail,
    });
    value
}

fn progress(options: &QuickstartOptions, label: &str) -> Progress {
    Progress::bytes(options.show_progress, label)
}

pub async fn run(options: &QuickstartOptions) -> Result<QuickstartReport> {
    let dir = std::path::absolute(&options.dir).map_err(|e| Error::io(&options.dir, e))?;
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let mut steps = Vec::new();

    let source = match &options.source {
        Some(source) => std::path::absolute(source).map_err(|e| Error::io(source, e))?,
        None => {
            let sample = dir.join("sample-data");
            if !sample.exists() {
                let started = Instant::now();
                let spec = SampleSpec {
                    total_bytes: options.sample_bytes,
                    seed: 2026,
                };
                let at = sample.clone();
                let stats: SampleStats = tokio::task::spawn_blocking(move || generate(&at, &spec))
                    .await
                    .map_err(|e| Error::Other(e.to_string()))?
                    .map_err(|e| Error::io(&sample, e))?;
                timed(
                    &mut steps,
                    "generate sample data",
                    started,
                    (),
                    format!(
                        "{} files, {} bytes in {}",
                        stats.files,
                        stats.bytes,
                        sample.display()
                    ),
                );
            }
            sample
        }
    };
    if !source.is_dir() {
        return Err(Error::Usage(format!(
            "--source {} is not a directory",
            source.display()
        )));
    }

    let key_file = dir.join("demo.key");
    let repo_dir = dir.join("repository");
    let store = Arc::new(FsStore::new(&repo_dir));
    let started = Instant::now();
    let repo = if repo_dir.join("config").exists() {
        let secret =
            SlotSecret::KeyFile(read_key_file(&key_file).map_err(|e| Error::io(&key_file, e))?);
        let repo = Repository::open(store, &secret).await?;
        timed(
            &mut steps,
            "open repository",
            started,
            repo,
            format!("{}", repo_dir.display()),
        )
    } else {
        let secret = SlotSecret::KeyFile(
            write_new_key_file(&key_file).map_err(|e| Error::io(&key_file, e))?,
        );
        let repo = Repository::init(store, &secret, &InitOptions::default()).await?;
        timed(
            &mut steps,
            "create repository",
            started,
            repo,
            format!("{} (key file {})", repo_dir.display(), key_file.display()),
        )
    };

    let started = Instant::now();
    let backup_options = BackupOptions {
        paths: vec![source.clone()],
        ..Default::default()
    };
    let outcome = backup(&repo, &backup_options, progress(options, "backup")).await?;
    let s = &outcome.snapshot.summary;
    let detail = format!(
        "snapshot {}: {} files, {} bytes read, {} stored bytes added",
        outcome.snapshot_id.short(),
        s.files,
        s.bytes_read,
        s.stored_bytes_added
    );
    timed(&mut steps, "backup", started, (), detail);

    let started = Instant::now();
    let primary = demo_store(&dir, REGIONS[0]);
    let replicas = [demo_store(&dir, REGIONS[1]), demo_store(&dir, REGIONS[2])];
    let replicate_options = ReplicateOptions {
        progress: progress(options, "replicate"),
        ..Default::default()
    };
    let replication = replicate(&primary, &replicas, &demo_policy(), &replicate_options).await?;
    let copied: u64 = replication.replicas.iter().map(|r| r.bytes_copied).sum();
    timed(
        &mut steps,
        "replicate",
        started,
        (),
        format!(
            "to {} and {}: {copied} bytes copied, every object checked against its name",
            REGIONS[1].0, REGIONS[2].0
        ),
    );
    let started = Instant::now();
    let replica_status = status(&primary, &replicas, &demo_policy(), &repo).await;
    let lagging = replica_status
        .stores
        .iter()
        .filter(|s| s.missing_objects != Some(0))
        .count();
    timed(
        &mut steps,
        "replica status",
        started,
        (),
        format!(
            "{} copies, {lagging} behind the primary; placement plan {}",
            replica_status.stores.len(),
            if replica_status.placement.satisfied {
                "met"
            } else {
                "NOT met"
            }
        ),
    );
    let config_file = write_demo_config(&dir, &key_file, &source)?;

    // Restore from a replica alone, as if the primary's region were lost.
    let restore_source = &replicas[0];
    let from_replica = repo.with_store(restore_source.store.clone());
    let restored_to = dir.join("restored");
    if restored_to.exists() {
        std::fs::remove_dir_all(&restored_to).map_err(|e| Error::io(&restored_to, e))?;
    }
    let started = Instant::now();
    let restore_options = RestoreOptions {
        target: restored_to.clone(),
        includes: Vec::new(),
    };
    let report = restore(
        &from_replica,
        (&outcome.snapshot_id, &outcome.snapshot),
        &restore_options,
        progress(options, "restore"),
    )
    .await?;
    let detail = format!(
        "from {}: {} files, {} bytes to {}; every file's BLAKE3 matched the snapshot: {}",
        restore_source.name(),
        report.files_restored,
        report.bytes_restored,
        restored_to.display(),
        report.is_clean()
    );
    timed(&mut steps, "restore", started, (), detail);

    let started = Instant::now();
    let restored_root = restored_to.join(source.strip_prefix("/").unwrap_or(&source));
    let (files_compared, mismatches) = {
        let (source, restored_root) = (source.clone(), restored_root.clone());
        tokio::task::spawn_blocking(move || compare_trees(&source, &restored_root))
            .await
            .map_err(|e| Error::Other(e.to_string()))??
    };
    timed(
        &mut steps,
        "compare with source",
        started,
        (),
        format!("{files_compared} files, {} mismatches", mismatches.len()),
    );

    let started = Instant::now();
    let verified = verify(&repo, ReadData::All, progress(options, "verify")).await?;
    let detail = format!(
        "read {} packs, {} bytes: {}",
        verified.packs_read,
        verified.bytes_read,
        if verified.is_clean() {
            "no damage"
        } else {
            "DAMAGE"
        }
    );
    timed(&mut steps, "verify all data", started, (), detail);

    let started = Instant::now();
    let secret =
        SlotSecret::KeyFile(read_key_file(&key_file).map_err(|e| Error::io(&key_file, e))?);
    let (drill, drill_html) =
        primary_lost_drill(&dir, &primary, &replicas, secret, options).await?;
    let detail = format!(
        "{}: {} (report {})",
        format!("{:?}", drill.verdict).to_uppercase(),
        drill.summary,
        drill_html
            .as_ref()
            .map_or("not written".into(), |p| p.display().to_string())
    );
    timed(&mut steps, "drill (primary lost)", started, (), detail);

    Ok(QuickstartReport {
        dir,
        repository: repo.describe(),
        key_file,
        config_file,
        source,
        restored_to,
        restored_from: restore_source.name().to_string(),
        replication,
        replicas: replica_status,
        snapshot: outcome.snapshot_id,
        steps,
        files_compared,
        mismatches,
        restore: report,
        verify: verified,
        drill,
        drill_html,
    })
}

/// The demo's drill: the primary region is lost; restore everything from what remains
/// and judge it against a 15-minute RTO and a one-day RPO.
const PRIMARY_LOST_DRILL: &str = r#"
name = "primary-region-lost"
description = "The primary region is lost: restore everything from a replica"
[source]
lost = ["primary"]
[targets]
rto = "15m"
rpo = "1d"
"#;

async fn primary_lost_drill(
    dir: &Path,
    primary: &NamedStore,
    replicas: &[NamedStore],
    secret: SlotSecret,
    options: &QuickstartOptions,
) -> Result<(DrillReport, Option<PathBuf>)> {
    let def = DrillDefinition::parse(PRIMARY_LOST_DRILL, Path::new("primary-region-lost.toml"))?;
    let mut stores = vec![primary.clone()];
    stores.extend(replicas.iter().cloned());
    let env = DrillEnv {
        stores: stores.clone(),
        secret,
        defaults: Default::default(),
        show_progress: options.show_progress,
    };
    let (mut report, repo) = crate::drill::runner::run(&def, &env, &RunOptions::default()).await;
    let Some(repo) = repo else {
        return Ok((report, None));
    };
    let all: Vec<&NamedStore> = stores.iter().collect();
    let recorded = publish::record(&repo, &all, &mut report, &dir.join("reports")).await?;
    Ok((report, recorded.html().cloned()))
}

fn hash(path: &Path) -> std::io::Result<blake3::Hash> {
    let mut hasher = blake3::Hasher::new();
    hasher.update_reader(std::fs::File::open(path)?)?;
    Ok(hasher.finalize())
}

/// Independent of the restore's own check: the restored tree against the source itself.
fn compare_trees(source: &Path, restored: &Path) -> Result<(u64, Vec<String>)> {
    let mut compared = 0;
    let mut mismatches = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let dir = source.join(&rel);
        let entries = std::fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(&dir, e))?;
            let rel = rel.join(entry.file_name());
            let kind = entry.file_type().map_err(|e| Error::io(entry.path(), e))?;
            let there = restored.join(&rel);
            if kind.is_dir() {
                stack.push(rel);
            } else if kind.is_symlink() {
                if std::fs::read_link(entry.path()).ok() != std::fs::read_link(&there).ok() {
                    mismatches.push(format!("{}: symlink differs", rel.display()));
                }
            } else if kind.is_file() {
                compared += 1;
                match (hash(&entry.path()), hash(&there)) {
                    (Ok(a), Ok(b)) if a == b => {}
                    (Ok(_), Ok(_)) => {
                        mismatches.push(format!("{}: content differs", rel.display()))
                    }
                    (_, Err(e)) => {
                        mismatches.push(format!("{}: not restored ({e})", rel.display()))
                    }
                    (Err(e), _) => {
                        mismatches.push(format!("{}: source unreadable ({e})", rel.display()))
                    }
                }
            }
        }
    }
    Ok((compared, mismatches))
}
