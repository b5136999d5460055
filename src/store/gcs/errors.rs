//! Sorting failures from both HTTP paths (the storage client and our JSON API calls)
//! into [`StoreError`]s, which decide what the caller's retry decorator does.

use crate::store::StoreError;
use google_cloud_auth::errors::CredentialsError;
use std::error::Error as _;

/// A failed call, before it is tied to a key.
#[derive(Debug)]
pub(super) enum Failure {
    /// The server answered with an error status.
    Status {
        code: u16,
        message: String,
    },
    /// Timeouts, refused or reset connections: worth another try.
    Transient(String),
    /// The credentials could not produce a token, and trying again will not help.
    NoToken(String),
    Other(String),
}

/// What a 404 means for the call that got it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Missing {
    /// The object is absent (unless the message says the bucket is).
    Object,
    /// Only the bucket can be absent: uploads and listings never 404 otherwise.
    Bucket,
}

/// Where a store's objects live, for error messages.
#[derive(Debug)]
pub(super) struct Site {
    pub bucket: String,
    pub endpoint: String,
    pub store: String,
}

impl Site {
    pub fn error(&self, key: &str, failure: Failure, missing: Missing) -> StoreError {
        let (store, key) = (self.store.clone(), key.to_string());
        let endpoint = &self.endpoint;
        match failure {
            Failure::Status { code: 404, message } => {
                if missing == Missing::Bucket || mentions_bucket(&message) {
                    let detail = format!("bucket {} does not exist at {endpoint}", self.bucket);
                    StoreError::Other { store, key, detail }
                } else {
                    StoreError::NotFound { store, key }
                }
            }
            Failure::Status { code: 412, .. } => StoreError::AlreadyExists { store, key },
            Failure::Status {
                code: code @ (401 | 403),
                message,
            } => StoreError::PermissionDenied {
                store,
                key,
                detail: format!("{endpoint} refused the credentials (HTTP {code}): {message}"),
            },
            Failure::Status {
                code: code @ (408 | 429 | 500..=599),
                message,
            } => StoreError::Transient {
                store,
                key,
                detail: format!("HTTP {code} from {endpoint}: {message}"),
            },
            Failure::Status { code: 416, .. } => StoreError::Other {
                store,
                key,
                detail: "the range is beyond the object's end: truncated?".to_string(),
            },
            Failure::Status { code, message } => StoreError::Other {
                store,
                key,
                detail: format!("HTTP {code} from {endpoint}: {message}"),
            },
            Failure::Transient(detail) => StoreError::Transient { store, key, detail },
            Failure::NoToken(why) => StoreError::PermissionDenied {
                store,
                key,
                detail: format!("no usable credentials for {endpoint}: {why}"),
            },
            Failure::Other(detail) => StoreError::Other { store, key, detail },
        }
    }

    pub fn other(&self, key: &str, detail: impl Into<String>) -> StoreError {
        StoreError::Other {
            store: self.store.clone(),
            key: key.to_string(),
            detail: detail.into(),
        }
    }

    pub fn transient(&self, key: &str, detail: impl Into<String>) -> StoreError {
        StoreError::Transient {
            store: self.store.clone(),
            key: key.to_string(),
            detail: detail.into(),
        }
    }
}

/// GCS says "The specified bucket does not exist." where an object's absence reads
/// "No such object: ...".
fn mentions_bucket(message: &str) -> bool {
    message
        .to_ascii_lowercase()
        .contains("bucket does not exist")
}

/// The message of a JSON API error body (`{"error": {"message": ...}}`), else the body.
pub(super) fn error_message(body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct Body {
        error: Inner,
    }
    #[derive(serde::Deserialize)]
    struct Inner {
        message: String,
    }
    match serde_json::from_slice::<Body>(body) {
        Ok(parsed) => parsed.error.message,
        Err(_) => {
            let text = String::from_utf8_lossy(body);
            let text = text.trim();
            match text.char_indices().nth(300) {
                Some((cut, _)) => format!("{}...", &text[..cut]),
                None => text.to_string(),
            }
        }
    }
}

/// An error and its causes on one line: reqwest and the storage client put the useful
/// part ("connection refused") in the source chain.
pub(super) fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut next = err.source();
    while let Some(cause) = next {
        let text = cause.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        next = cause.source();
    }
    out
}

impl From<reqwest::Error> for Failure {
    fn from(err: reqwest::Error) -> Self {
        if let Some(status) = err.status() {
            return Failure::Status {
                code: status.as_u16(),
                message: chain(&err),
            };
        }
        if err.is_builder() || err.is_redirect() {
            Failure::Other(chain(&err))
        } else {
            // Connect, timeout, reset, truncated body: all on the way, not in the request.
            Failure::Transient(chain(&err))
        }
    }
}

impl From<CredentialsError> for Failure {
    fn from(err: CredentialsError) -> Self {
        if err.is_transient() {
            Failure::Transient(format!("fetching a token: {}", chain(&err)))
        } else {
            Failure::NoToken(chain(&err))
        }
    }
}

impl From<google_cloud_storage::Error> for Failure {
    fn from(err: google_cloud_storage::Error) -> Self {
        if let Some(code) = err.http_status_code() {
            // The client parses JSON error bodies into a status; other bodies stay raw.
            let message = match (err.status(), err.http_payload()) {
                (Some(status), _) => status.message.clone(),
                (None, Some(payload)) => error_message(payload),
                (None, None) => String::new(),
            };
            return Failure::Status { code, message };
        }
        if err.is_authentication() {
            let cred = err
                .source()
                .and_then(|s| s.downcast_ref::<CredentialsError>());
            return match cred {
                Some(cred) if !cred.is_transient() => Failure::NoToken(chain(cred)),
                _ => Failure::Transient(chain(&err)),
            };
        }
        if err.is_timeout() || err.is_connect() || err.is_transport() || is_corrupted(&err) {
            return Failure::Transient(chain(&err));
        }
        Failure::Other(chain(&err))
    }
}

/// A checksum mismatch or a body of the wrong length: damaged in transit, so another
/// attempt is likely to succeed.
fn is_corrupted(err: &google_cloud_storage::Error) -> bool {
    use google_cloud_storage::error::{ReadError, WriteError};
    let Some(source) = err.source() else {
        return false;
    };
    matches!(
        source.downcast_ref::<ReadError>(),
        Some(ReadError::ChecksumMismatch(_) | ReadError::ShortRead(_) | ReadError::LongRead { .. })
    ) || matches!(
        source.downcast_ref::<WriteError>(),
        Some(WriteError::ChecksumMismatch { .. })
    )
}

pub(super) fn is_short_read(err: &google_cloud_storage::Error) -> bool {
    use google_cloud_storage::error::ReadError;
    let source = err.source().and_then(|s| s.downcast_ref::<ReadError>());
    matches!(source, Some(ReadError::ShortRead(_)))
}
