//! The optional TOML config file. Secrets are referenced (a file, an environment
//! variable), never written inline.

use firedrill::{Error, Result};
use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    pub repository: RepositorySection,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RepositorySection {
    pub location: String,
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
                .map(|span| {
                    let before = &text[..span.start.min(text.len())];
                    let line = before.matches('\n').count() + 1;
                    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
                    format!(":{line}:{column}")
                })
                .unwrap_or_default();
            Error::Usage(format!("{}{place}: {}", path.display(), e.message()))
        })?;
        // Relative paths in the file are relative to the file, not to where firedrill runs.
        let base = path.parent().unwrap_or(Path::new("."));
        let repo = &mut config.repository;
        for p in [&mut repo.password_file, &mut repo.key_file]
            .into_iter()
            .flatten()
        {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        if !repo.location.contains("://")
            && !repo.location.starts_with("s3:")
            && Path::new(&repo.location).is_relative()
        {
            repo.location = base.join(&repo.location).display().to_string();
        }
        Ok(config)
    }
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
            c.repository.location,
            dir.path().join("repo").display().to_string()
        );
        assert_eq!(c.repository.password_file.unwrap(), dir.path().join("pass"));
    }
}
