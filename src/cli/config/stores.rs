//! `[primary]` and `[[replica]]` sections: where each copy lives, who runs it, under
//! which law, and how to authenticate — turned into store specs.

use super::ConfigFile;
use firedrill::store::Location;
use firedrill::store::s3::{ObjectLockMode, ObjectLockRetention};
use firedrill::store::spec::{CredentialSource, S3Extras, StoreSpec};
use firedrill::{Error, Result};
use serde::Deserialize;
use std::path::PathBuf;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreSection {
    /// Required for replicas: how `replicate --to` and reports name it.
    pub name: Option<String>,
    /// The short form: a path, `s3://…`, `s3:https://…` or `gs://…`.
    pub location: Option<String>,
    /// The long form: `s3`, `gcs` or `file`, with bucket/prefix or path.
    pub provider: Option<String>,
    pub bucket: Option<String>,
    pub prefix: Option<String>,
    pub path: Option<PathBuf>,
    /// An S3-compatible endpoint, or a GCS emulator / private endpoint.
    pub endpoint: Option<String>,
    pub region: Option<String>,
    /// The legal area the data is stored under, e.g. "EU" or "US".
    pub jurisdiction: Option<String>,
    pub credentials: Option<CredentialsSection>,
    #[serde(default)]
    pub allow_insecure_http: bool,
    pub storage_class: Option<String>,
    pub sse_kms_key_id: Option<String>,
    pub object_lock: Option<ObjectLockSection>,
}

/// Exactly one way to authenticate; none means the provider's standard chain.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialsSection {
    /// An AWS profile from ~/.aws/config.
    pub profile: Option<String>,
    pub access_key_id_env: Option<String>,
    pub secret_access_key_env: Option<String>,
    pub session_token_env: Option<String>,
    /// A GCS service-account key file.
    pub key_file: Option<PathBuf>,
    #[serde(default)]
    pub anonymous: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectLockSection {
    /// `governance` or `compliance`.
    pub mode: String,
    pub days: u32,
}

impl ConfigFile {
    /// The primary store: `[primary]`, else `repository.location`; `None` if neither.
    pub fn primary_spec(&self) -> Result<Option<StoreSpec>> {
        match (&self.primary, &self.repository.location) {
            (Some(_), Some(_)) => Err(Error::Usage(format!(
                "{}: give the repository's place once: either repository.location or a [primary] section",
                self.path.display()
            ))),
            (Some(section), None) => self.store_spec(section, "primary", "[primary]").map(Some),
            (None, Some(location)) => {
                Ok(Some(StoreSpec::new("primary", Location::parse(location)?)))
            }
            (None, None) => Ok(None),
        }
    }

    pub fn replica_specs(&self) -> Result<Vec<StoreSpec>> {
        let mut specs: Vec<StoreSpec> = Vec::new();
        for section in &self.replicas {
            let at = self.place(section.span().start);
            let Some(name) = section.get_ref().name.clone() else {
                return Err(Error::Usage(format!("{at}: [[replica]] needs a name")));
            };
            let valid = !name.is_empty()
                && name != "primary"
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
            if !valid {
                return Err(Error::Usage(format!(
                    "{at}: replica name {name:?} must be letters, digits, '-', '_' or '.', and not \"primary\""
                )));
            }
            if specs.iter().any(|s| s.name == name) {
                return Err(Error::Usage(format!(
                    "{at}: a second replica named {name:?}"
                )));
            }
            specs.push(self.store_spec(section, &name, &format!("replica {name:?}"))?);
        }
        Ok(specs)
    }

    fn store_spec(
        &self,
        section: &toml::Spanned<StoreSection>,
        name: &str,
        what: &str,
    ) -> Result<StoreSpec> {
        let at = self.place(section.span().start);
        let s = section.get_ref();
        let bad = |detail: String| Error::Usage(format!("{at}: {what}: {detail}"));
        let mut location = match (&s.location, &s.provider) {
            (Some(text), None) => {
                Location::parse(&self.relative_location(text)).map_err(|e| bad(e.to_string()))?
            }
            (None, Some(provider)) => self.long_form(s, provider).map_err(bad)?,
            (Some(_), Some(_)) => {
                return Err(bad(
                    "give either `location` or `provider` with bucket/path, not both".into(),
                ));
            }
            (None, None) => {
                return Err(bad(
                    "needs `location` (or `provider` with bucket/path)".into()
                ));
            }
        };
        let mut spec_endpoint = None;
        if let Some(endpoint) = &s.endpoint {
            let endpoint = endpoint.trim_end_matches('/').to_string();
            if !endpoint.starts_with("https://") && !endpoint.starts_with("http://") {
                return Err(bad(format!(
                    "endpoint {endpoint:?} must start with https:// or http://"
                )));
            }
            match &mut location {
                Location::S3 {
                    endpoint: e @ None, ..
                } => *e = Some(endpoint),
                Location::S3 { .. } => {
                    return Err(bad(
                        "the location already names an endpoint; drop `endpoint`".into(),
                    ));
                }
                Location::Gcs { .. } => spec_endpoint = Some(endpoint),
                Location::Local(_) => return Err(bad("a local directory has no endpoint".into())),
            }
        }
        let mut spec = StoreSpec::new(name, location);
        spec.endpoint = spec_endpoint;
        spec.region = s.region.clone();
        spec.jurisdiction = s.jurisdiction.clone();
        spec.allow_insecure_http = s.allow_insecure_http;
        spec.credentials = self.credentials(s.credentials.as_ref()).map_err(bad)?;
        spec.s3 = S3Extras {
            storage_class: s.storage_class.clone(),
            sse_kms_key_id: s.sse_kms_key_id.clone(),
            object_lock: s
                .object_lock
                .as_ref()
                .map(|lock| {
                    let mode = match lock.mode.to_ascii_lowercase().as_str() {
                        "governance" => ObjectLockMode::Governance,
                        "compliance" => ObjectLockMode::Compliance,
                        other => {
                            return Err(bad(format!(
                                "object_lock.mode {other:?}: use \"governance\" or \"compliance\""
                            )));
                        }
                    };
                    Ok(ObjectLockRetention {
                        mode,
                        days: lock.days,
                    })
                })
                .transpose()?,
        };
        let s3_only = spec.s3 != S3Extras::default();
        if s3_only && spec.provider() != "s3" {
            return Err(bad(
                "storage_class, sse_kms_key_id and object_lock apply to S3 only".into(),
            ));
        }
        spec.transport().map_err(|e| bad(e.to_string()))?;
        Ok(spec)
    }

    fn relative_location(&self, text: &str) -> String {
        if text.contains("://") || text.starts_with("s3:") || PathBuf::from(text).is_absolute() {
            text.to_string()
        } else {
            self.base_dir().join(text).display().to_string()
        }
    }

    fn long_form(&self, s: &StoreSection, provider: &str) -> std::result::Result<Location, String> {
        let bucket = || {
            s.bucket
                .clone()
                .ok_or_else(|| format!("provider {provider:?} needs `bucket`"))
        };
        let prefix = s.prefix.clone().unwrap_or_default();
        let text = match provider {
            "s3" => format!("s3://{}/{prefix}", bucket()?),
            "gcs" => format!("gs://{}/{prefix}", bucket()?),
            "file" => {
                let path = s.path.clone().ok_or("provider \"file\" needs `path`")?;
                return Ok(Location::Local(if path.is_relative() {
                    self.base_dir().join(path)
                } else {
                    path
                }));
            }
            other => {
                return Err(format!(
                    "unknown provider {other:?}: use \"s3\", \"gcs\" or \"file\""
                ));
            }
        };
        Location::parse(&text).map_err(|e| e.to_string())
    }

    fn credentials(
        &self,
        c: Option<&CredentialsSection>,
    ) -> std::result::Result<CredentialSource, String> {
        let Some(c) = c else {
            return Ok(CredentialSource::Default);
        };
        let chosen = [
            c.profile.is_some(),
            c.access_key_id_env.is_some() || c.secret_access_key_env.is_some(),
            c.key_file.is_some(),
            c.anonymous,
        ]
        .iter()
        .filter(|&&b| b)
        .count();
        if chosen > 1 {
            return Err("credentials: choose one of profile, access_key_id_env + secret_access_key_env, key_file, anonymous".into());
        }
        Ok(if let Some(profile) = &c.profile {
            CredentialSource::AwsProfile(profile.clone())
        } else if let Some(key_file) = &c.key_file {
            CredentialSource::GcsKeyFile(if key_file.is_relative() {
                self.base_dir().join(key_file)
            } else {
                key_file.clone()
            })
        } else if c.anonymous {
            CredentialSource::Anonymous
        } else if c.access_key_id_env.is_some() || c.secret_access_key_env.is_some() {
            match (&c.access_key_id_env, &c.secret_access_key_env) {
                (Some(id), Some(secret)) => CredentialSource::AwsKeysFromEnv {
                    access_key_id_env: id.clone(),
                    secret_access_key_env: secret.clone(),
                    session_token_env: c.session_token_env.clone(),
                },
                _ => {
                    return Err(
                        "credentials: access_key_id_env and secret_access_key_env go together"
                            .into(),
                    );
                }
            }
        } else {
            CredentialSource::Default
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> (tempfile::TempDir, ConfigFile) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("firedrill.toml");
        std::fs::write(&path, text).unwrap();
        let config = ConfigFile::load(&path).unwrap();
        (dir, config)
    }

    #[test]
    fn reads_primary_and_replicas_in_both_forms() {
        let (dir, c) = load(
            r#"
[repository]
password_env = "P"

[primary]
location = "s3:http://127.0.0.1:9000/bkt/repo"
region = "eu-west"
jurisdiction = "EU"
credentials = { access_key_id_env = "K", secret_access_key_env = "S" }

[[replica]]
name = "gcs-eu"
provider = "gcs"
bucket = "bkt2"
prefix = "r"
endpoint = "http://127.0.0.1:80"
credentials = { anonymous = true }

[[replica]]
name = "disk"
location = "copies/disk"

[placement]
min_replicas = 2
allowed_jurisdictions = ["EU"]
"#,
        );
        let primary = c.primary_spec().unwrap().unwrap();
        assert_eq!(
            primary.location.to_string(),
            "s3:http://127.0.0.1:9000/bkt/repo"
        );
        assert_eq!(primary.region.as_deref(), Some("eu-west"));
        assert!(matches!(
            primary.credentials,
            CredentialSource::AwsKeysFromEnv { .. }
        ));
        let replicas = c.replica_specs().unwrap();
        assert_eq!(replicas[0].location.to_string(), "gs://bkt2/r");
        assert_eq!(replicas[0].endpoint.as_deref(), Some("http://127.0.0.1:80"));
        assert_eq!(replicas[0].credentials, CredentialSource::Anonymous);
        assert_eq!(
            replicas[1].location,
            Location::Local(dir.path().join("copies/disk"))
        );
        assert_eq!(c.placement.min_replicas, 2);
    }

    #[test]
    fn errors_name_the_place_and_the_field() {
        let (_dir, c) = load(
            "[repository]\npassword_env = \"P\"\n\n[[replica]]\nname = \"x\"\nlocation = \"s3:http://10.1.2.3/bkt\"\n",
        );
        let err = c.replica_specs().unwrap_err().to_string();
        assert!(err.contains("firedrill.toml:4:1"), "{err}");
        assert!(err.contains("allow_insecure_http"), "{err}");

        let (_dir, c) = load("[[replica]]\nlocation = \"/x\"\n");
        let err = c.replica_specs().unwrap_err().to_string();
        assert!(err.contains("needs a name"), "{err}");

        let (_dir, c) = load(
            "[[replica]]\nname = \"y\"\nlocation = \"gs://bkt/p\"\nstorage_class = \"COLD\"\n",
        );
        let err = c.replica_specs().unwrap_err().to_string();
        assert!(err.contains("S3 only"), "{err}");
    }
}
