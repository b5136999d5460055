//! `firedrill quickstart`: the whole job on local directories, with nothing to set up.
//! It backs up sample data (or a given directory), restores it to a scratch directory,
//! checks every restored file against the source and the snapshot, and reads back
//! every stored byte.

use crate::backup::{BackupOptions, backup};
use crate::crypto::{Id, SlotSecret, read_key_file, write_new_key_file};
use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::repo::{InitOptions, Repository};
use crate::restore::{RestoreOptions, RestoreReport, restore};
use crate::sample_data::{SampleSpec, SampleStats, generate};
use crate::store::FsStore;
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
    pub source: PathBuf,
    pub restored_to: PathBuf,
    pub snapshot: Id,
    pub steps: Vec<Step>,
    pub files_compared: u64,
    pub mismatches: Vec<String>,
    pub restore: RestoreReport,
    pub verify: VerifyReport,
}

impl QuickstartReport {
    pub fn passed(&self) -> bool {
        self.mismatches.is_empty() && self.restore.is_clean() && self.verify.is_clean()
    }
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
        &repo,
        (&outcome.snapshot_id, &outcome.snapshot),
        &restore_options,
        progress(options, "restore"),
    )
    .await?;
    let detail = format!(
        "{} files, {} bytes to {}; every file's BLAKE3 matched the snapshot: {}",
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

    Ok(QuickstartReport {
        dir,
        repository: repo.describe(),
        key_file,
        source,
        restored_to,
        snapshot: outcome.snapshot_id,
        steps,
        files_compared,
        mismatches,
        restore: report,
        verify: verified,
    })
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
