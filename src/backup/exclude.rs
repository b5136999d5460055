//! `--exclude` and `--exclude-file` patterns. A pattern with a `/` matches the whole
//! absolute path; one without matches any file or directory of that name, the way
//! users expect `*.tmp` or `node_modules` to behave.

use crate::error::{Error, Result};
use globset::{Glob, GlobSet, GlobSetBuilder};
use std::path::Path;

#[derive(Debug)]
pub struct Excludes {
    by_path: GlobSet,
    by_name: GlobSet,
}

impl Excludes {
    pub fn new(patterns: &[String], files: &[std::path::PathBuf]) -> Result<Self> {
        let mut all: Vec<(String, String)> = patterns
            .iter()
            .map(|p| ("--exclude".to_string(), p.clone()))
            .collect();
        for file in files {
            let text = std::fs::read_to_string(file).map_err(|e| {
                Error::Usage(format!("cannot read exclude file {}: {e}", file.display()))
            })?;
            for (n, line) in text.lines().enumerate() {
                let line = line.trim();
                if !line.is_empty() && !line.starts_with('#') {
                    all.push((format!("{}:{}", file.display(), n + 1), line.to_string()));
                }
            }
        }
        let (mut by_path, mut by_name) = (GlobSetBuilder::new(), GlobSetBuilder::new());
        for (origin, pattern) in all {
            let glob = Glob::new(pattern.trim_end_matches('/')).map_err(|e| {
                Error::Usage(format!("{origin}: bad exclude pattern {pattern:?}: {e}"))
            })?;
            if pattern.contains('/') {
                by_path.add(glob);
            } else {
                by_name.add(glob);
            }
        }
        let build = |b: GlobSetBuilder| {
            b.build()
                .map_err(|e| Error::Usage(format!("exclude patterns: {e}")))
        };
        Ok(Excludes {
            by_path: build(by_path)?,
            by_name: build(by_name)?,
        })
    }

    pub fn is_excluded(&self, path: &Path) -> bool {
        self.by_path.is_match(path)
            || path
                .file_name()
                .is_some_and(|name| self.by_name.is_match(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_paths() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("excludes");
        std::fs::write(&file, "# caches\nnode_modules\n\n/srv/data/tmp/**\n").unwrap();
        let ex = Excludes::new(&["*.tmp".into()], &[file]).unwrap();
        assert!(ex.is_excluded(Path::new("/a/b/x.tmp")));
        assert!(ex.is_excluded(Path::new("/a/node_modules")));
        assert!(ex.is_excluded(Path::new("/srv/data/tmp/a/b")));
        assert!(!ex.is_excluded(Path::new("/srv/data/keep.txt")));
        let bad = Excludes::new(&["a[".into()], &[]).unwrap_err().to_string();
        assert!(bad.contains("--exclude"), "{bad}");
    }
}
