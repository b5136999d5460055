//! Store locations as users write them, in restic's forms: a path or `file:///path`,
//! `s3://BUCKET/PREFIX` (AWS), `s3:https://HOST[:PORT]/BUCKET/PREFIX` (any S3-compatible
//! endpoint, path-style) and `gs://BUCKET/PREFIX`.

use crate::error::{Error, Result};
use std::fmt;
use std::path::PathBuf;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    Local(PathBuf),
    S3 {
        /// `None` means AWS itself; otherwise `scheme://host[:port]`.
        endpoint: Option<String>,
        bucket: String,
        prefix: String,
    },
    Gcs {
        bucket: String,
        prefix: String,
    },
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
        if let Some(rest) = text.strip_prefix("s3://") {
            let (bucket, prefix) = bucket_and_prefix(text, rest)?;
            return Ok(Location::S3 {
                endpoint: None,
                bucket,
                prefix,
            });
        }
        if let Some(rest) = text.strip_prefix("s3:") {
            let (scheme, rest) = match rest.split_once("://") {
                Some((scheme @ ("http" | "https"), rest)) => (scheme, rest),
                Some((other, _)) => {
                    return Err(Error::Usage(format!(
                        "{text:?}: unknown endpoint scheme {other:?}; use s3:https://HOST/BUCKET/PREFIX"
                    )));
                }
                // restic accepts s3:HOST/BUCKET and means https.
                None => ("https", rest),
            };
            let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
            if host.is_empty() {
                return Err(Error::Usage(format!(
                    "{text:?}: no endpoint host; use s3:https://HOST[:PORT]/BUCKET/PREFIX"
                )));
            }
            let (bucket, prefix) = bucket_and_prefix(text, path)?;
            return Ok(Location::S3 {
                endpoint: Some(format!("{scheme}://{host}")),
                bucket,
                prefix,
            });
        }
        if let Some(rest) = text.strip_prefix("gs://") {
            let (bucket, prefix) = bucket_and_prefix(text, rest)?;
            return Ok(Location::Gcs { bucket, prefix });
        }
        if let Some((scheme, _)) = text.split_once("://") {
            return Err(Error::Usage(format!(
                "{text:?}: unknown location scheme {scheme:?}; use a path, file:///path, \
                 s3://BUCKET/PREFIX, s3:https://HOST/BUCKET/PREFIX or gs://BUCKET/PREFIX"
            )));
        }
        Ok(Location::Local(PathBuf::from(text)))
    }

    /// The provider's short name, as reports and placement rules count it.
    pub fn provider(&self) -> &'static str {
        match self {
            Location::Local(_) => "file",
            Location::S3 { .. } => "s3",
            Location::Gcs { .. } => "gcs",
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let join = |bucket: &str, prefix: &str| {
            if prefix.is_empty() {
                bucket.to_string()
            } else {
                format!("{bucket}/{prefix}")
            }
        };
        match self {
            Location::Local(path) => write!(f, "{}", path.display()),
            Location::S3 {
                endpoint: None,
                bucket,
                prefix,
            } => write!(f, "s3://{}", join(bucket, prefix)),
            Location::S3 {
                endpoint: Some(endpoint),
                bucket,
                prefix,
            } => write!(f, "s3:{endpoint}/{}", join(bucket, prefix)),
            Location::Gcs { bucket, prefix } => write!(f, "gs://{}", join(bucket, prefix)),
        }
    }
}

fn bucket_and_prefix(text: &str, rest: &str) -> Result<(String, String)> {
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let valid = (3..=222).contains(&bucket.len())
        && bucket
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-' | '_'));
    if !valid {
        return Err(Error::Usage(format!(
            "{text:?}: {bucket:?} is not a valid bucket name (3 or more lowercase letters, digits, '.', '-', '_')"
        )));
    }
    let prefix = prefix.trim_matches('/');
    if prefix.split('/').any(|p| p == "." || p == "..") {
        return Err(Error::Usage(format!(
            "{text:?}: the prefix may not contain . or .. components"
        )));
    }
    Ok((bucket.to_string(), prefix.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s3(endpoint: Option<&str>, bucket: &str, prefix: &str) -> Location {
        Location::S3 {
            endpoint: endpoint.map(str::to_string),
            bucket: bucket.into(),
            prefix: prefix.into(),
        }
    }

    #[test]
    fn parses_every_form() {
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
        assert_eq!(
            Location::parse("s3://bkt/a/b/").unwrap(),
            s3(None, "bkt", "a/b")
        );
        assert_eq!(
            Location::parse("s3:http://127.0.0.1:9000/bkt/repo").unwrap(),
            s3(Some("http://127.0.0.1:9000"), "bkt", "repo")
        );
        assert_eq!(
            Location::parse("s3:minio.example.com/bkt").unwrap(),
            s3(Some("https://minio.example.com"), "bkt", "")
        );
        assert_eq!(
            Location::parse("gs://bkt/p").unwrap(),
            Location::Gcs {
                bucket: "bkt".into(),
                prefix: "p".into()
            }
        );
    }

    #[test]
    fn displays_as_parsed() {
        for text in [
            "s3://bkt/a/b",
            "s3:https://h:9/bkt/p",
            "gs://bkt",
            "gs://bkt/x",
        ] {
            assert_eq!(Location::parse(text).unwrap().to_string(), text);
        }
    }

    #[test]
    fn refuses_malformed_locations() {
        for bad in [
            "file://relative",
            "ftp://x/y",
            "s3://",
            "s3://AB/x",
            "s3:https:///bkt",
            "s3:ftp://h/bkt",
            "gs://b",
            "gs://bkt/../x",
        ] {
            assert!(Location::parse(bad).is_err(), "{bad} accepted");
        }
    }
}
