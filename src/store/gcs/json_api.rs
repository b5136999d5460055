//! Listing, metadata and deletes through the JSON API. The storage client offers these
//! only over gRPC, which emulators and some private endpoints do not serve; the JSON API
//! works everywhere, and is authorised with the same credentials object as the client.

use super::errors::{Failure, error_message};
use google_cloud_auth::credentials::{CacheableResource, Credentials};
use reqwest::{Method, Response, Url};
use serde::Deserialize;
use std::time::Duration;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Between two reads of the socket: a server that accepts and never answers.
const READ_TIMEOUT: Duration = Duration::from_secs(60);
/// A whole call; these are small requests and answers.
const CALL_TIMEOUT: Duration = Duration::from_secs(180);
const PAGE_SIZE: &str = "1000";

#[derive(Clone, Debug)]
pub(super) struct JsonApi {
    http: reqwest::Client,
    base: Url,
    credentials: Credentials,
}

#[derive(Debug, Deserialize)]
pub(super) struct ObjectList {
    #[serde(default)]
    pub items: Vec<ObjectResource>,
    #[serde(rename = "nextPageToken")]
    pub next_page_token: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct ObjectResource {
    pub name: String,
    size: Size,
}

/// The JSON API sends 64-bit integers as strings.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Size {
    Text(String),
    Number(u64),
}

impl ObjectResource {
    pub fn size(&self) -> Result<u64, Failure> {
        match &self.size {
            Size::Number(n) => Ok(*n),
            Size::Text(text) => text.parse().map_err(|_| {
                Failure::Other(format!(
                    "object {:?} has an unreadable size {text:?}",
                    self.name
                ))
            }),
        }
    }
}

impl JsonApi {
    pub fn new(endpoint: &str, credentials: Credentials) -> Result<Self, String> {
        let base = Url::parse(endpoint).map_err(|e| format!("bad endpoint {endpoint:?}: {e}"))?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(format!("bad endpoint {endpoint:?}: not an http(s) URL"));
        }
        let http = reqwest::Client::builder()
            .user_agent(concat!("firedrill/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(CONNECT_TIMEOUT)
            .read_timeout(READ_TIMEOUT)
            .timeout(CALL_TIMEOUT)
            .build()
            .map_err(|e| format!("cannot build an HTTP client: {}", super::errors::chain(&e)))?;
        Ok(JsonApi {
            http,
            base,
            credentials,
        })
    }

    /// `{endpoint}/storage/v1/b/BUCKET/o[/NAME]`, each part percent-encoded as one
    /// segment (so a `/` in an object name becomes `%2F`).
    fn url(&self, bucket: &str, name: Option<&str>) -> Url {
        let mut url = self.base.clone();
        {
            let mut path = url
                .path_segments_mut()
                .expect("checked in new: the endpoint can be a base");
            path.pop_if_empty()
                .extend(["storage", "v1", "b", bucket, "o"]);
            if let Some(name) = name {
                path.push(name);
            }
        }
        url
    }

    async fn send(
        &self,
        method: Method,
        url: Url,
        query: &[(&str, &str)],
    ) -> Result<Response, Failure> {
        let headers = match self.credentials.headers(Default::default()).await? {
            CacheableResource::New { data, .. } => data,
            CacheableResource::NotModified => {
                return Err(Failure::Other("the credentials returned no headers".into()));
            }
        };
        let response = self
            .http
            .request(method, url)
            .headers(headers)
            .query(query)
            .send()
            .await?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let body = response.bytes().await.unwrap_or_default();
        Err(Failure::Status {
            code: status.as_u16(),
            message: error_message(&body),
        })
    }

    pub async fn list(
        &self,
        bucket: &str,
        prefix: &str,
        token: Option<&str>,
    ) -> Result<ObjectList, Failure> {
        let mut query = vec![
            ("prefix", prefix),
            ("maxResults", PAGE_SIZE),
            ("fields", "items(name,size),nextPageToken"),
        ];
        if let Some(token) = token {
            query.push(("pageToken", token));
        }
        let response = self
            .send(Method::GET, self.url(bucket, None), &query)
            .await?;
        Ok(response.json().await?)
    }

    pub async fn metadata(&self, bucket: &str, name: &str) -> Result<ObjectResource, Failure> {
        let query = [("fields", "name,size")];
        let response = self
            .send(Method::GET, self.url(bucket, Some(name)), &query)
            .await?;
        Ok(response.json().await?)
    }

    pub async fn delete(&self, bucket: &str, name: &str) -> Result<(), Failure> {
        self.send(Method::DELETE, self.url(bucket, Some(name)), &[])
            .await?;
        Ok(())
    }
}
