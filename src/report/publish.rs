//! Recording a finished drill: chained to the repository's previous report, stored in
//! the repository on every store given, and written as JSON, Markdown and HTML to a
//! local directory.

use super::archive::{self, Placement};
use super::model::DrillReport;
use super::{html, markdown};
use crate::crypto::Id;
use crate::error::{Error, Result};
use crate::replicate::NamedStore;
use crate::repo::Repository;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug)]
pub struct Recorded {
    pub id: Id,
    pub placements: Vec<Placement>,
    /// The local JSON, Markdown and HTML files.
    pub files: Vec<PathBuf>,
    /// Earlier reports of the same drill, oldest first.
    pub history: Vec<DrillReport>,
}

impl Recorded {
    pub fn html(&self) -> Option<&PathBuf> {
        self.files
            .iter()
            .find(|p| p.extension().is_some_and(|e| e == "html"))
    }
}

/// The default local directory: `$XDG_STATE_HOME/firedrill/reports`, else
/// `~/.local/state/firedrill/reports`.
pub fn default_dir() -> PathBuf {
    std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
        .unwrap_or_else(|| PathBuf::from("."))
        .join("firedrill")
        .join("reports")
}

/// Sets `report.previous_report`, stores the report and writes the local files under
/// `local_dir/<repository id>/<drill>/`.
pub async fn record(
    repo: &Repository,
    stores: &[&NamedStore],
    report: &mut DrillReport,
    local_dir: &Path,
) -> Result<Recorded> {
    let (existing, _) = archive::load_all(repo).await?;
    report.previous_report = existing.last().map(|r| r.id.to_hex());
    let history: Vec<DrillReport> = existing
        .into_iter()
        .filter(|r| r.report.drill == report.drill)
        .map(|r| r.report)
        .collect();
    let (id, placements) = archive::save(repo, stores, report).await?;
    let files = write_local(local_dir, &repo.config().id.to_hex(), &id, report, &history)?;
    Ok(Recorded {
        id,
        placements,
        files,
        history,
    })
}

fn write_local(
    base: &Path,
    repository: &str,
    id: &Id,
    report: &DrillReport,
    history: &[DrillReport],
) -> Result<Vec<PathBuf>> {
    let dir = base.join(repository).join(&report.drill);
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let stem = format!(
        "{}-{}-{}",
        report.started.strftime("%Y%m%dT%H%M%SZ"),
        format!("{:?}", report.verdict).to_lowercase(),
        &id.to_hex()[..12]
    );
    let json = serde_json::to_string_pretty(report).map_err(|e| Error::Other(e.to_string()))?;
    let mut written = Vec::new();
    for (ext, text) in [
        ("json", json),
        ("md", markdown::render(report, history)),
        ("html", html::render(report, history)),
    ] {
        let path = dir.join(format!("{stem}.{ext}"));
        std::fs::write(&path, text).map_err(|e| Error::io(&path, e))?;
        written.push(path);
    }
    Ok(written)
}
