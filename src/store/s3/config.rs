//! What a store is configured with, and how that becomes an SDK client.

use super::S3Store;
use crate::store::{StoreError, StoreResult};
use aws_config::environment::region::EnvironmentVariableRegionProvider;
use aws_config::meta::region::RegionProviderChain;
use aws_config::profile::region::ProfileFileRegionProvider;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_s3::Client;
use aws_sdk_s3::config::{Credentials, RequestChecksumCalculation, StalledStreamProtectionConfig};
use aws_sdk_s3::primitives::DateTime;
use aws_sdk_s3::types::{ServerSideEncryption, StorageClass};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, SystemTime};

#[derive(Clone, Debug)]
pub struct S3Config {
    /// None: AWS itself (the regional endpoint, or AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_S3 if set).
    /// Some(url): any S3-compatible endpoint such as "http://127.0.0.1:8333", addressed path-style.
    pub endpoint: Option<String>,
    pub bucket: String,
    /// Key prefix inside the bucket, no leading or trailing slash; may be empty.
    pub prefix: String,
    /// None: from the AWS environment or profile (AWS_REGION, AWS_DEFAULT_REGION, ~/.aws/config);
    /// with an explicit endpoint and no region anywhere, "us-east-1".
    pub region: Option<String>,
    pub credentials: S3Credentials,
    /// Set on every new object, e.g. "STANDARD_IA".
    pub storage_class: Option<String>,
    /// SSE-KMS with this key on every new object.
    pub sse_kms_key_id: Option<String>,
    /// Every new object is retained until now + `days`.
    pub object_lock: Option<ObjectLockRetention>,
}

#[derive(Clone)]
pub enum S3Credentials {
    /// The standard AWS chain: environment, profile, web identity, ECS, instance metadata.
    Chain,
    Profile(String),
    Static {
        access_key_id: String,
        secret_access_key: String,
        session_token: Option<String>,
    },
}

impl fmt::Debug for S3Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            S3Credentials::Chain => f.write_str("Chain"),
            S3Credentials::Profile(name) => f.debug_tuple("Profile").field(name).finish(),
            S3Credentials::Static {
                access_key_id,
                session_token,
                ..
            } => f
                .debug_struct("Static")
                .field("access_key_id", access_key_id)
                .field("secret_access_key", &"<redacted>")
                .field(
                    "session_token",
                    &session_token.as_ref().map(|_| "<redacted>"),
                )
                .finish(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ObjectLockRetention {
    pub mode: ObjectLockMode,
    pub days: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjectLockMode {
    Governance,
    Compliance,
}

/// The settings every new object gets, single or multipart, in the SDK's terms.
#[derive(Clone, Debug, Default)]
pub(super) struct NewObjectOptions {
    pub storage_class: Option<StorageClass>,
    pub encryption: Option<ServerSideEncryption>,
    pub kms_key_id: Option<String>,
    pub lock_mode: Option<aws_sdk_s3::types::ObjectLockMode>,
    lock_days: Option<u32>,
}

impl NewObjectOptions {
    pub fn retain_until(&self) -> Option<DateTime> {
        let days = u64::from(self.lock_days?);
        Some(DateTime::from(
            SystemTime::now() + Duration::from_secs(days * 86_400),
        ))
    }
}

/// Applies [`NewObjectOptions`] to a PutObject or CreateMultipartUpload request, which
/// have the same setters but no trait in common.
macro_rules! with_new_object_options {
    ($request:expr, $options:expr) => {{
        let options = $options;
        $request
            .set_storage_class(options.storage_class.clone())
            .set_server_side_encryption(options.encryption.clone())
            .set_ssekms_key_id(options.kms_key_id.clone())
            .set_object_lock_mode(options.lock_mode.clone())
            .set_object_lock_retain_until_date(options.retain_until())
    }};
}
pub(super) use with_new_object_options;

fn timeouts(read: Duration) -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(10))
        .read_timeout(read)
        .build()
}

/// The SDK's read timeout runs from sending the request to the first byte of the
/// response, so for an upload it includes sending the body (up to 32 MiB, parts in
/// parallel): 60 s would fail uploads over a slow uplink. Stalled-stream protection
/// still ends a body that stops moving for 60 s.
pub(super) fn upload_override() -> aws_sdk_s3::config::Builder {
    aws_sdk_s3::config::Builder::default().timeout_config(timeouts(Duration::from_secs(15 * 60)))
}

impl S3Store {
    /// Builds the client; makes no network call (except, for AWS with no region
    /// configured anywhere, the SDK's instance-metadata region lookup).
    pub async fn connect(config: S3Config) -> StoreResult<S3Store> {
        crate::tls::install_crypto_provider();
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::rustls(CryptoMode::Ring))
            .build_https();
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .http_client(http)
            .retry_config(RetryConfig::disabled())
            .timeout_config(timeouts(Duration::from_secs(60)))
            .stalled_stream_protection(
                StalledStreamProtectionConfig::enabled()
                    .grace_period(Duration::from_secs(60))
                    .build(),
            );
        let mut profile = None;
        match &config.credentials {
            S3Credentials::Chain => {}
            S3Credentials::Profile(name) => {
                loader = loader.profile_name(name);
                profile = Some(name.as_str());
            }
            S3Credentials::Static {
                access_key_id,
                secret_access_key,
                session_token,
            } => {
                loader = loader.credentials_provider(Credentials::new(
                    access_key_id,
                    secret_access_key,
                    session_token.clone(),
                    None,
                    "firedrill-config",
                ));
            }
        }
        // An endpoint from the environment is as custom as one in the configuration:
        // virtual-host addressing (bucket.localhost) rarely resolves on such servers.
        let endpoint = config
            .endpoint
            .clone()
            .or_else(|| {
                ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"]
                    .iter()
                    .find_map(|v| std::env::var(v).ok().filter(|s| !s.trim().is_empty()))
            })
            .map(|e| e.trim().trim_end_matches('/').to_string());
        if let Some(region) = &config.region {
            loader = loader.region(Region::new(region.clone()));
        } else if endpoint.is_some() {
            // Not the default chain: its last resort asks EC2 instance metadata, a
            // network call that means nothing to a non-AWS server.
            let mut from_profile = ProfileFileRegionProvider::builder();
            if let Some(name) = profile {
                from_profile = from_profile.profile_name(name);
            }
            loader = loader.region(
                RegionProviderChain::first_try(EnvironmentVariableRegionProvider::new())
                    .or_else(from_profile.build())
                    .or_else(Region::from_static("us-east-1")),
            );
        }
        let shared = loader.load().await;

        let prefix = config.prefix.trim_matches('/');
        let mut described = match &endpoint {
            Some(url) => format!("s3:{url}/{}", config.bucket),
            None => format!("s3://{}", config.bucket),
        };
        if !prefix.is_empty() {
            described = format!("{described}/{prefix}");
        }
        // Without a region every call would fail, each with a less helpful message.
        let Some(region) = shared.region().map(|r| r.to_string()) else {
            return Err(StoreError::Other {
                store: described,
                key: String::new(),
                detail: "no AWS region configured: set AWS_REGION or the location's region".into(),
            });
        };
        let mut s3 = aws_sdk_s3::config::Builder::from(&shared)
            // Whatever AWS_REQUEST_CHECKSUM_CALCULATION says: uploads always carry one.
            .request_checksum_calculation(RequestChecksumCalculation::WhenSupported);
        if let Some(url) = &endpoint {
            s3 = s3.endpoint_url(url).force_path_style(true);
        }
        let lock = config.object_lock;
        Ok(S3Store {
            client: Client::from_conf(s3.build()),
            bucket: config.bucket,
            key_prefix: if prefix.is_empty() {
                String::new()
            } else {
                format!("{prefix}/")
            },
            server: endpoint.unwrap_or_else(|| format!("AWS S3 ({region})")),
            described,
            new_objects: NewObjectOptions {
                storage_class: config.storage_class.as_deref().map(StorageClass::from),
                encryption: config
                    .sse_kms_key_id
                    .as_ref()
                    .map(|_| ServerSideEncryption::AwsKms),
                kms_key_id: config.sse_kms_key_id,
                lock_mode: lock.map(|l| match l.mode {
                    ObjectLockMode::Governance => aws_sdk_s3::types::ObjectLockMode::Governance,
                    ObjectLockMode::Compliance => aws_sdk_s3::types::ObjectLockMode::Compliance,
                }),
                lock_days: lock.map(|l| l.days),
            },
            no_conditional_writes: Arc::new(AtomicBool::new(false)),
        })
    }
}
