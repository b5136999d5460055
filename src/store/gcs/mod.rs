//! Google Cloud Storage. Object bodies go through the `google-cloud-storage` client
//! (JSON API media uploads and downloads, resumable uploads for large objects);
//! listing, metadata and deletes go through the JSON API directly (see `json_api`).
//! The client's own retries are off: the program wraps every store in its retry
//! decorator, which retries exactly the errors classified here as transient.

mod errors;
mod json_api;
mod upload;
mod watchdog;

use super::{ListPage, ObjectMeta, PartStream, PutMode, Store, StoreError, StoreResult};
use async_trait::async_trait;
use bytes::Bytes;
use errors::{Failure, Missing, Site};
use futures::StreamExt;
use google_cloud_auth::credentials::{self, Credentials};
use google_cloud_gax::retry_policy::NeverRetry;
use google_cloud_storage::client::Storage;
use google_cloud_storage::model_ext::ReadRange;
use google_cloud_storage::read_resume_policy::NeverResume;
use json_api::JsonApi;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use watchdog::{Progress, watch};

const GOOGLE_ENDPOINT: &str = "https://storage.googleapis.com";
/// Objects below this go up in one request, larger ones in resumable chunks of half of
/// it (the client's defaults). The watchdog must allow for one such request.
const LARGEST_REQUEST: u64 = 16 << 20;
/// The slowest upload rate tolerated before a request counts as hung (1 Mbit/s).
const SLOWEST_UPLOAD: u64 = 128 << 10;
/// Silence allowed while waiting for a response or for the next piece of a download.
const READ_STALL: Duration = Duration::from_secs(60);
/// `put` feeds the upload slices of its buffer (not copies) this large, so that the
/// watchdog sees the client take them.
const PUT_PIECE: usize = 1 << 20;

#[derive(Clone, Debug)]
pub struct GcsConfig {
    pub bucket: String,
    /// Object-name prefix, no leading or trailing slash; may be empty.
    pub prefix: String,
    /// None: Google Cloud Storage itself. Some(url): an emulator or private endpoint,
    /// e.g. "http://127.0.0.2:80" or "https://127.0.0.1:4443".
    pub endpoint: Option<String>,
    pub credentials: GcsCredentials,
}

#[derive(Clone, Debug)]
pub enum GcsCredentials {
    /// Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS, gcloud's ADC
    /// file, the metadata server).
    Default,
    /// A service-account (or other) JSON key file.
    KeyFile(PathBuf),
    /// No credentials: for emulators.
    Anonymous,
}

#[derive(Clone, Debug)]
pub struct GcsStore {
    client: Storage,
    json: JsonApi,
    site: Arc<Site>,
    /// `"{prefix}/"`, or empty.
    name_prefix: String,
}

impl GcsStore {
    /// Builds the clients; makes no network call beyond what credential loading needs.
    pub async fn connect(config: GcsConfig) -> StoreResult<GcsStore> {
        crate::tls::install_crypto_provider();
        let prefix = config.prefix.trim_matches('/');
        let custom = config.endpoint.as_deref().map(|e| e.trim_end_matches('/'));
        let endpoint = custom.unwrap_or(GOOGLE_ENDPOINT).to_string();
        let mut store = format!("gs://{}", config.bucket);
        if !prefix.is_empty() {
            store = format!("{store}/{prefix}");
        }
        if let Some(custom) = custom {
            store = format!("{store} at {custom}");
        }
        let site = Site {
            bucket: config.bucket.clone(),
            endpoint: endpoint.clone(),
            store,
        };
        if config.bucket.is_empty() || config.bucket.contains('/') {
            return Err(site.other("", format!("invalid bucket name {:?}", config.bucket)));
        }
        let credentials = load_credentials(&config.credentials).map_err(|e| site.other("", e))?;
        let json = JsonApi::new(&endpoint, credentials.clone()).map_err(|e| site.other("", e))?;
        let mut builder = Storage::builder()
            .with_credentials(credentials)
            .with_retry_policy(NeverRetry)
            .with_read_resume_policy(NeverResume);
        if let Some(custom) = custom {
            builder = builder.with_endpoint(custom);
        }
        let client = builder.build().await.map_err(|e| {
            site.other(
                "",
                format!("cannot set up the storage client: {}", errors::chain(&e)),
            )
        })?;
        Ok(GcsStore {
            client,
            json,
            site: Arc::new(site),
            name_prefix: if prefix.is_empty() {
                String::new()
            } else {
                format!("{prefix}/")
            },
        })
    }

    fn bucket_path(&self) -> String {
        format!("projects/_/buckets/{}", self.site.bucket)
    }

    fn object_name(&self, key: &str) -> StoreResult<String> {
        let valid = !key.is_empty()
            && key.len() <= 512
            && !key.chars().any(char::is_control)
            && key.split('/').all(|part| !matches!(part, "" | "." | ".."));
        if !valid {
            return Err(self.site.other(key, format!("invalid object key {key:?}")));
        }
        Ok(format!("{}{key}", self.name_prefix))
    }

    async fn read(&self, key: &str, range: Option<(u64, u64)>) -> StoreResult<Vec<u8>> {
        let name = self.object_name(key)?;
        let progress = Progress::new();
        let work = async {
            let mut request = self.client.read_object(self.bucket_path(), name);
            if let Some((offset, len)) = range {
                request = request.set_read_range(ReadRange::segment(offset, len));
            }
            let mut response = request.send().await?;
            progress.mark();
            let expected = range.map(|(_, len)| len);
            let mut out = Vec::with_capacity(expected.unwrap_or(0).min(64 << 20) as usize);
            while let Some(piece) = response.next().await {
                progress.mark();
                match piece {
                    Ok(piece) => out.extend_from_slice(&piece),
                    // Judged below, where a short range is told from a cut transfer.
                    Err(e) if range.is_some() && errors::is_short_read(&e) => break,
                    Err(e) => return Err(e.into()),
                }
                if expected.is_some_and(|len| out.len() as u64 > len) {
                    return Err(Failure::Transient(
                        "the server sent more than the range asked for".into(),
                    ));
                }
            }
            Ok::<_, Failure>(out)
        };
        let out = match watch(&progress, READ_STALL, work).await {
            Some(result) => result.map_err(|f| self.site.error(key, f, Missing::Object))?,
            None => return Err(self.stalled(key, READ_STALL)),
        };
        match range {
            Some((offset, len)) if (out.len() as u64) < len => {
                Err(self.short_read(key, offset, len, out.len()).await)
            }
            _ => Ok(out),
        }
    }

    /// A range answered with fewer bytes: permanent if the object really is that short,
    /// otherwise the transfer was cut and another attempt may succeed.
    async fn short_read(&self, key: &str, offset: u64, len: u64, got: usize) -> StoreError {
        if let Ok(meta) = self.head(key).await
            && offset.saturating_add(len) > meta.size
        {
            return self.site.other(
                key,
                format!(
                    "range {offset}+{len} is beyond the object's end ({} bytes): truncated?",
                    meta.size
                ),
            );
        }
        self.site
            .transient(key, format!("asked for {len} bytes at {offset}, got {got}"))
    }

    fn stalled(&self, key: &str, limit: Duration) -> StoreError {
        self.site.transient(
            key,
            format!(
                "no progress from {} for {}s",
                self.site.endpoint,
                limit.as_secs()
            ),
        )
    }
}

fn load_credentials(choice: &GcsCredentials) -> Result<Credentials, String> {
    match choice {
        GcsCredentials::Anonymous => Ok(credentials::anonymous::Builder::new().build()),
        GcsCredentials::Default => credentials::Builder::default().build().map_err(|e| {
            format!(
                "cannot load Application Default Credentials: {}",
                errors::chain(&e)
            )
        }),
        GcsCredentials::KeyFile(path) => key_file_credentials(path)
            .map_err(|e| format!("cannot load credentials from {}: {e}", path.display())),
    }
}

/// The key file kinds that `GOOGLE_APPLICATION_CREDENTIALS` accepts.
fn key_file_credentials(path: &Path) -> Result<Credentials, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("not JSON: {e}"))?;
    let kind = json
        .get("type")
        .and_then(|t| t.as_str())
        .unwrap_or_default()
        .to_string();
    let built = match kind.as_str() {
        "service_account" => credentials::service_account::Builder::new(json).build(),
        "authorized_user" => credentials::user_account::Builder::new(json).build(),
        "impersonated_service_account" => credentials::impersonated::Builder::new(json).build(),
        "external_account" => credentials::external_account::Builder::new(json).build(),
        _ => return Err(format!("unsupported credentials type {kind:?}")),
    };
    built.map_err(|e| errors::chain(&e))
}

/// Slack for one whole request of `size` bytes at the slowest tolerated rate.
fn write_stall_limit(size: u64) -> Duration {
    Duration::from_secs(30 + size.min(LARGEST_REQUEST) / SLOWEST_UPLOAD)
}

#[async_trait]
impl Store for GcsStore {
    fn describe(&self) -> String {
        self.site.store.clone()
    }

    async fn put(&self, key: &str, data: Bytes, mode: PutMode) -> StoreResult<()> {
        let size = data.len() as u64;
        let pieces: Vec<StoreResult<Bytes>> = (0..data.len())
            .step_by(PUT_PIECE)
            .map(|at| Ok(data.slice(at..data.len().min(at + PUT_PIECE))))
            .collect();
        self.put_stream(key, size, futures::stream::iter(pieces).boxed(), mode)
            .await
    }

    async fn get(&self, key: &str) -> StoreResult<Vec<u8>> {
        self.read(key, None).await
    }

    async fn get_range(&self, key: &str, offset: u64, len: u64) -> StoreResult<Vec<u8>> {
        if len == 0 {
            // No byte range can express this; only check that the offset is in bounds.
            let size = self.head(key).await?.size;
            if offset > size {
                return Err(self.site.other(
                    key,
                    format!("offset {offset} is beyond the object's end ({size} bytes)"),
                ));
            }
            return Ok(Vec::new());
        }
        self.read(key, Some((offset, len))).await
    }

    async fn head(&self, key: &str) -> StoreResult<ObjectMeta> {
        let name = self.object_name(key)?;
        let fail = |f| self.site.error(key, f, Missing::Object);
        let object = self
            .json
            .metadata(&self.site.bucket, &name)
            .await
            .map_err(fail)?;
        Ok(ObjectMeta {
            key: key.to_string(),
            size: object.size().map_err(fail)?,
        })
    }

    async fn list_page(&self, prefix: &str, token: Option<String>) -> StoreResult<ListPage> {
        let full = format!("{}{prefix}", self.name_prefix);
        let fail = |f| self.site.error(prefix, f, Missing::Bucket);
        let page = self
            .json
            .list(&self.site.bucket, &full, token.as_deref())
            .await
            .map_err(fail)?;
        let mut objects = Vec::with_capacity(page.items.len());
        for item in &page.items {
            // Folder placeholders ("a/b/") made by other tools are not objects of ours.
            let Some(key) = item.name.strip_prefix(&self.name_prefix) else {
                continue;
            };
            if self.object_name(key).is_ok() {
                objects.push(ObjectMeta {
                    key: key.to_string(),
                    size: item.size().map_err(fail)?,
                });
            }
        }
        Ok(ListPage {
            objects,
            next: page.next_page_token.filter(|t| !t.is_empty()),
        })
    }

    async fn delete(&self, key: &str) -> StoreResult<()> {
        let name = self.object_name(key)?;
        self.json
            .delete(&self.site.bucket, &name)
            .await
            .map_err(|f| self.site.error(key, f, Missing::Object))
    }

    async fn put_stream(
        &self,
        key: &str,
        size: u64,
        body: PartStream<'_>,
        mode: PutMode,
    ) -> StoreResult<()> {
        let name = self.object_name(key)?;
        let progress = Arc::new(Progress::new());
        let (source, tx) = upload::channel(size, progress.clone());
        let mut write = self.client.write_object(self.bucket_path(), name, source);
        if mode == PutMode::CreateOnly {
            write = write.set_if_generation_match(0);
        }
        let mismatch = |detail| self.site.other(key, detail);
        let both = async {
            futures::join!(
                upload::pump(body, size, tx, mismatch),
                write.send_buffered()
            )
        };
        let limit = write_stall_limit(size);
        match watch(&progress, limit, both).await {
            None => Err(self.stalled(key, limit)),
            // The stream's own failure explains any upload error that followed it.
            Some((Err(stream_error), _)) => Err(stream_error),
            Some((Ok(()), Err(e))) => Err(self.site.error(key, e.into(), Missing::Bucket)),
            Some((Ok(()), Ok(_))) => Ok(()),
        }
    }
}
