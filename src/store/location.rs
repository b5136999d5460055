//! Repository locations as users write them: a path, or `file:///path`.
//! Cloud locations (`s3:`, `gs://`) are recognised so the error can say they are not
//! available in this build rather than treating them as odd local paths.

use super::{FsStore, Store};
use crate::error::{Error, Result};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    Local(PathBuf),
}

impl Location {
    pub fn parse(text: &str) -> Result<Location> {
        let text = text.trim();
        if text.is_empty() {
            return Err(Error::Usage("empty repository location".into()));
        }
        if let Some(path) = text.strip_prefix("file://") {
            if !path.starts_with('/') {
                return Err(Error::Usage(format!(
                    "{text:?}: a file:// location needs an absolute path, as in file:///srv/backup"
                )));
            }
            return Ok(Location::Local(PathBuf::from(path)));
        }
        if text.starts_with("s3:") || text.starts_with("gs://") {
            return Err(Error::Usage(format!(
                "{text:?}: S3 and GCS locations are not supported by this build yet; use a local path or file:///path"
            )));
        }
        if let Some((scheme, _)) = text.split_once("://") {
            return Err(Error::Usage(format!(
                "{text:?}: unknown location scheme {scheme:?}; use a path or file:///path"
            )));
        }
        Ok(Location::Local(PathBuf::from(text)))
    }
}

pub fn open_location(location: &Location) -> Arc<dyn Store> {
    match location {
        Location::Local(path) => Arc::new(FsStore::new(path.clone())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_paths_and_file_urls() {
        assert_eq!(
            Location::parse("/srv/repo").unwrap(),
            Location::Local("/srv/repo".into())
        );
        assert_eq!(
            Location::parse("rel/repo").unwrap(),
            Location::Local("rel/repo".into())
        );
        assert_eq!(
            Location::parse("file:///srv/repo").unwrap(),
            Location::Local("/srv/repo".into())
        );
        assert!(Location::parse("file://relative").is_err());
        assert!(Location::parse("ftp://x/y").is_err());
        assert!(
            Location::parse("s3:https://host/bucket")
                .unwrap_err()
                .to_string()
                .contains("not supported")
        );
    }
}
