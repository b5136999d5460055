//! The optional TOML config file: the repository, its primary store and replicas, and
//! the placement policy. Secrets are referenced (a file, an environment variable), never
//! written inline.

mod schedule;
mod stores;

pub use schedule::{AgentSection, JobSection};
pub use stores::StoreSection;

use firedrill::replicate::placement::PlacementPolicy;
use firedrill::{Error, Result};
use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    #[serde(default)]
    pub repository: RepositorySection,
    /// Where the repository lives; `repository.location` is the short form.
    pub primary: Option<toml::Spanned<StoreSection>>,
    #[serde(default, rename = "replica")]
    pub replicas: Vec<toml::Spanned<StoreSection>>,
    #[serde(default)]
    pub placement: PlacementPolicy,
    /// The plan's targets, the defaults of every drill.
    #[serde(default)]
    pub plan: PlanSection,
    #[serde(default)]
    pub drills: DrillsSection,
    #[serde(default)]
    pub reports: ReportsSection,
    #[serde(default)]
    pub notify: NotifySection,
    #[serde(default)]
    pub agent: AgentSection,
    #[serde(default, rename = "job")]
    pub jobs: Vec<toml::Spanned<JobSection>>,
    /// The file this was read from, for errors.
    #[serde(skip)]
    pub path: PathBuf,
    #[serde(skip)]
    text: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanSection {
    /// Default RTO of every drill, e.g. "4h".
    pub rto: Option<toml::Spanned<String>>,
    /// Default RPO of every drill, e.g. "26h".
    pub rpo: Option<toml::Spanned<String>>,
    pub min_throughput_mib_s: Option<f64>,
    /// Every replica must be the source of a passed drill at least this often, e.g. "31d".
    pub replica_drill_every: Option<toml::Spanned<String>>,
    /// Drills that must pass at least this often.
    #[serde(default)]
    pub require: Vec<RequiredDrill>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequiredDrill {
    pub drill: String,
    pub every: toml::Spanned<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DrillsSection {
    /// Where `drill run NAME` and `drill list` look (default: `drills` beside this file).
    pub dir: Option<PathBuf>,
}

/// A webhook told about drills. The URL often carries a token, so it is referenced
/// through an environment variable.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifySection {
    pub webhook_url_env: Option<String>,
    /// "failure" (FAIL or ERROR; the default) or "always".
    pub on: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportsSection {
    /// Where a copy of every report is written as JSON, Markdown and HTML.
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RepositorySection {
    pub location: Option<String>,
    /// A file holding the passphrase.
    pub password_file: Option<PathBuf>,
    /// The name of an environment variable holding the passphrase.
    pub password_env: Option<String>,
    pub key_file: Option<PathBuf>,
}

impl ConfigFile {
    pub fn load(path: &Path) -> Result<ConfigFile> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::Usage(format!("cannot read config file {}: {e}", path.display()))
        })?;
        let mut config: ConfigFile = toml::from_str(&text).map_err(|e| {
            let place = e
                .span()
                .map(|span| line_column(&text, span.start))
                .unwrap_or_default();
            Error::Usage(format!("{}{place}: {}", path.display(), e.message()))
        })?;
        config.path = path.to_path_buf();
        // Relative paths in the file are relative to the file, not to where firedrill runs.
        let base = path.parent().unwrap_or(Path::new("."));
        let repo = &mut config.repository;
        for p in [
            &mut repo.password_file,
            &mut repo.key_file,
            &mut config.drills.dir,
            &mut config.reports.dir,
            &mut config.agent.state_dir,
        ]
        .into_iter()
        .flatten()
        {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        if let Some(location) = &mut repo.location
            && !location.contains("://")
            && !location.starts_with("s3:")
            && Path::new(location.as_str()).is_relative()
        {
            *location = base.join(location.as_str()).display().to_string();
        }
        for job in &mut config.jobs {
            if let Some(p) = &mut job.get_mut().config
                && p.is_relative()
            {
                *p = base.join(&*p);
            }
        }
        config.text = text;
        Ok(config)
    }

    /// `file:line:column` of a byte offset in this file, for errors about a section.
    pub fn place(&self, offset: usize) -> String {
        format!("{}{}", self.path.display(), line_column(&self.text, offset))
    }

    pub fn base_dir(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("."))
    }
}

fn line_column(text: &str, offset: usize) -> String {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    format!(":{line}:{column}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_file_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("firedrill.toml");
        std::fs::write(
            &path,
            "[repository]\nlocation = \"/srv/r\"\npasword_file = \"x\"\n",
        )
        .unwrap();
        let err = ConfigFile::load(&path).unwrap_err().to_string();
        assert!(err.contains("firedrill.toml:3:1"), "{err}");
        assert!(err.contains("pasword_file"), "{err}");
    }

    #[test]
    fn relative_paths_follow_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(
            &path,
            "[repository]\nlocation = \"repo\"\npassword_file = \"pass\"\n",
        )
        .unwrap();
        let c = ConfigFile::load(&path).unwrap();
        assert_eq!(
            c.repository.location.unwrap(),
            dir.path().join("repo").display().to_string()
        );
        assert_eq!(c.repository.password_file.unwrap(), dir.path().join("pass"));
    }
}
