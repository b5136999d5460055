//! A store as the config declares it: where it is, who runs it and under which law,
//! how to authenticate, and how to reach it safely. `open` turns it into a live store
//! wrapped in the retry policy.

use super::gcs::{GcsConfig, GcsCredentials, GcsStore};
use super::retry::{RetryPolicy, RetryingStore};
use super::s3::{ObjectLockRetention, S3Config, S3Credentials, S3Store};
use super::{FsStore, Location, Store};
use crate::error::{Error, Result};
use serde::Serialize;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum CredentialSource {
    /// The provider's standard chain: the AWS environment, profile, web identity and
    /// instance metadata; Google's Application Default Credentials.
    #[default]
    Default,
    AwsProfile(String),
    /// Static S3 keys read from these environment variables (never written in the config).
    AwsKeysFromEnv {
        access_key_id_env: String,
        secret_access_key_env: String,
        session_token_env: Option<String>,
    },
    GcsKeyFile(PathBuf),
    Anonymous,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct S3Extras {
    pub storage_class: Option<String>,
    pub sse_kms_key_id: Option<String>,
    pub object_lock: Option<ObjectLockRetention>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreSpec {
    /// How reports and `replicate --to` name it: "primary", or a replica's name.
    pub name: String,
    pub location: Location,
    pub region: Option<String>,
    pub jurisdiction: Option<String>,
    /// GCS only: an emulator or private endpoint (S3 endpoints are part of the location).
    pub endpoint: Option<String>,
    pub credentials: CredentialSource,
    pub allow_insecure_http: bool,
    pub s3: S3Extras,
}

/// How the bytes travel to a store; reports show it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Transport {
    LocalDisk,
    Https,
    /// Plain HTTP to this machine: nothing crosses a network.
    LoopbackHttp,
    /// Plain HTTP across a network, allowed by `allow_insecure_http = true`.
    InsecureHttp,
}

impl StoreSpec {
    pub fn new(name: &str, location: Location) -> StoreSpec {
        StoreSpec {
            name: name.to_string(),
            location,
            region: None,
            jurisdiction: None,
            endpoint: None,
            credentials: CredentialSource::Default,
            allow_insecure_http: false,
            s3: S3Extras::default(),
        }
    }

    pub fn provider(&self) -> &'static str {
        self.location.provider()
    }

    /// The endpoint requests go to, as reports show it.
    pub fn endpoint(&self) -> String {
        match &self.location {
            Location::Local(path) => format!("file://{}", absolute(path).display()),
            Location::S3 {
                endpoint: Some(e), ..
            } => e.clone(),
            Location::S3 { endpoint: None, .. } => match &self.region {
                Some(region) => format!("https://s3.{region}.amazonaws.com"),
                None => "https://s3.amazonaws.com".into(),
            },
            Location::Gcs { .. } => self
                .gcs_endpoint()
                .unwrap_or_else(|| "https://storage.googleapis.com".into()),
        }
    }

    /// GCS's endpoint: the config's, else `STORAGE_EMULATOR_HOST` as Google's own
    /// clients honour it, else Google's.
    fn gcs_endpoint(&self) -> Option<String> {
        self.endpoint.clone().or_else(|| {
            let host = std::env::var("STORAGE_EMULATOR_HOST").ok()?;
            let host = host.trim();
            if host.is_empty() {
                None
            } else if host.contains("://") {
                Some(host.trim_end_matches('/').to_string())
            } else {
                Some(format!("http://{host}"))
            }
        })
    }

    /// Refuses plain HTTP across a network unless this store's config allows it.
    pub fn transport(&self) -> Result<Transport> {
        if matches!(self.location, Location::Local(_)) {
            return Ok(Transport::LocalDisk);
        }
        let endpoint = self.endpoint();
        let Some(rest) = endpoint.strip_prefix("http://") else {
            if endpoint.starts_with("https://") {
                return Ok(Transport::Https);
            }
            return Err(Error::Usage(format!(
                "store {:?}: endpoint {endpoint:?} must start with https:// (or http:// for this machine)",
                self.name
            )));
        };
        let host = host_of(rest);
        if is_loopback(host) {
            Ok(Transport::LoopbackHttp)
        } else if self.allow_insecure_http {
            Ok(Transport::InsecureHttp)
        } else {
            Err(Error::Usage(format!(
                "store {:?}: plain http:// to {host} would send credentials and data unprotected \
                 across the network; use https://, or set allow_insecure_http = true for this store \
                 if the network is trusted",
                self.name
            )))
        }
    }

    /// Connects (no network call is made until the first request) and wraps the store
    /// in the retry policy.
    pub async fn open(&self) -> Result<Arc<dyn Store>> {
        self.transport()?;
        let store: Arc<dyn Store> = match &self.location {
            Location::Local(path) => return Ok(Arc::new(FsStore::new(path.clone()))),
            Location::S3 {
                endpoint,
                bucket,
                prefix,
            } => Arc::new(
                S3Store::connect(S3Config {
                    endpoint: endpoint.clone(),
                    bucket: bucket.clone(),
                    prefix: prefix.clone(),
                    region: self.region.clone(),
                    credentials: self.s3_credentials()?,
                    storage_class: self.s3.storage_class.clone(),
                    sse_kms_key_id: self.s3.sse_kms_key_id.clone(),
                    object_lock: self.s3.object_lock,
                })
                .await?,
            ),
            Location::Gcs { bucket, prefix } => {
                let endpoint = self.gcs_endpoint();
                let credentials = match &self.credentials {
                    CredentialSource::Anonymous => GcsCredentials::Anonymous,
                    CredentialSource::GcsKeyFile(path) => GcsCredentials::KeyFile(path.clone()),
                    // An emulator named by the environment takes no credentials, as with
                    // Google's own clients.
                    CredentialSource::Default if self.endpoint.is_none() && endpoint.is_some() => {
                        GcsCredentials::Anonymous
                    }
                    CredentialSource::Default => GcsCredentials::Default,
                    other => {
                        return Err(Error::Usage(format!(
                            "store {:?}: {other:?} credentials are for S3, not GCS",
                            self.name
                        )));
                    }
                };
                Arc::new(
                    GcsStore::connect(GcsConfig {
                        bucket: bucket.clone(),
                        prefix: prefix.clone(),
                        endpoint,
                        credentials,
                    })
                    .await?,
                )
            }
        };
        Ok(Arc::new(RetryingStore::new(store, RetryPolicy::from_env())))
    }

    fn s3_credentials(&self) -> Result<S3Credentials> {
        Ok(match &self.credentials {
            CredentialSource::Default => S3Credentials::Chain,
            CredentialSource::AwsProfile(p) => S3Credentials::Profile(p.clone()),
            CredentialSource::AwsKeysFromEnv {
                access_key_id_env,
                secret_access_key_env,
                session_token_env,
            } => {
                let var = |name: &str| {
                    std::env::var(name).map_err(|_| {
                        Error::Usage(format!(
                            "store {:?}: environment variable {name} (named in the config) is not set",
                            self.name
                        ))
                    })
                };
                S3Credentials::Static {
                    access_key_id: var(access_key_id_env)?,
                    secret_access_key: var(secret_access_key_env)?,
                    session_token: session_token_env.as_deref().map(var).transpose()?,
                }
            }
            other => {
                return Err(Error::Usage(format!(
                    "store {:?}: {other:?} credentials are not for S3",
                    self.name
                )));
            }
        })
    }
}

fn absolute(path: &std::path::Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// The host part of `host[:port]/...`, IPv6 brackets removed.
fn host_of(authority_and_path: &str) -> &str {
    let authority = authority_and_path.split('/').next().unwrap_or("");
    if let Some(rest) = authority.strip_prefix('[') {
        return rest.split(']').next().unwrap_or("");
    }
    authority.rsplit_once(':').map_or(authority, |(h, _)| h)
}

pub fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(location: &str) -> StoreSpec {
        StoreSpec::new("r", Location::parse(location).unwrap())
    }

    #[test]
    fn plain_http_only_to_this_machine_unless_allowed() {
        assert_eq!(
            spec("s3:http://127.0.0.1:9000/bkt").transport().unwrap(),
            Transport::LoopbackHttp
        );
        assert_eq!(
            spec("s3:http://[::1]:9000/bkt").transport().unwrap(),
            Transport::LoopbackHttp
        );
        assert_eq!(
            spec("s3:http://localhost/bkt").transport().unwrap(),
            Transport::LoopbackHttp
        );
        let remote = spec("s3:http://10.0.0.5:9000/bkt");
        let err = remote.transport().unwrap_err().to_string();
        assert!(err.contains("allow_insecure_http"), "{err}");
        let allowed = StoreSpec {
            allow_insecure_http: true,
            ..remote
        };
        assert_eq!(allowed.transport().unwrap(), Transport::InsecureHttp);
        assert_eq!(spec("s3://bkt/p").transport().unwrap(), Transport::Https);
        assert_eq!(spec("/srv/r").transport().unwrap(), Transport::LocalDisk);
    }

    #[test]
    fn endpoints_for_reports() {
        let mut aws = spec("s3://bkt/p");
        aws.region = Some("eu-west-1".into());
        assert_eq!(aws.endpoint(), "https://s3.eu-west-1.amazonaws.com");
        let mut gcs = spec("gs://bkt/p");
        gcs.endpoint = Some("http://127.0.0.1:80".into());
        assert_eq!(gcs.endpoint(), "http://127.0.0.1:80");
        assert_eq!(gcs.transport().unwrap(), Transport::LoopbackHttp);
    }
}
