//! Sorting the SDK's errors into what the caller can do about them.

use super::S3Store;
use crate::store::{Store, StoreError};
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

type S3Error<E> = SdkError<E, HttpResponse>;

fn status<E>(err: &S3Error<E>) -> Option<u16> {
    err.raw_response().map(|r| r.status().as_u16())
}

/// The server does not implement a header we sent (conditional writes, on some servers).
pub(super) fn not_implemented<E: ProvideErrorMetadata>(err: &S3Error<E>) -> bool {
    status(err) == Some(501) || err.code() == Some("NotImplemented")
}

pub(super) fn classify<E>(store: &S3Store, key: &str, err: S3Error<E>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let (store_name, key) = (store.describe(), key.to_string());
    let status = status(&err);
    let code = err.code().unwrap_or_default().to_string();
    let explained = match (&err, status) {
        (SdkError::ServiceError(_), Some(status)) => {
            let message = err.message().unwrap_or_default();
            format!("HTTP {status} {code} {message}")
                .trim_end()
                .to_string()
        }
        _ => DisplayErrorContext(&err).to_string(),
    };
    let transient = |detail| StoreError::Transient {
        store: store_name.clone(),
        key: key.clone(),
        detail,
    };
    match &err {
        // No answer, or half of one: worth asking again.
        SdkError::TimeoutError(_) | SdkError::ResponseError(_) => return transient(explained),
        SdkError::DispatchFailure(failure) if !failure.is_user() => return transient(explained),
        SdkError::ServiceError(_) => {}
        _ => {
            return StoreError::Other {
                store: store_name,
                key,
                detail: explained,
            };
        }
    }
    match (status.unwrap_or(0), code.as_str()) {
        (_, "NoSuchBucket") => StoreError::Other {
            detail: format!(
                "bucket {:?} does not exist at {} ({explained})",
                store.bucket, store.server
            ),
            store: store_name,
            key,
        },
        // The upload was aborted under us (a lifecycle rule, another process).
        (_, "NoSuchUpload") => StoreError::Other {
            store: store_name,
            key,
            detail: explained,
        },
        (404, _) | (_, "NoSuchKey" | "NotFound") => StoreError::NotFound {
            store: store_name,
            key,
        },
        (412, _) | (_, "PreconditionFailed") => StoreError::AlreadyExists {
            store: store_name,
            key,
        },
        (401 | 403, _)
        | (
            _,
            "InvalidAccessKeyId"
            | "SignatureDoesNotMatch"
            | "AccessDenied"
            | "ExpiredToken"
            | "InvalidToken",
        ) => StoreError::PermissionDenied {
            detail: format!(
                "the credentials were refused by {} ({explained})",
                store.server
            ),
            store: store_name,
            key,
        },
        // ConditionalRequestConflict (409): a concurrent conditional write, AWS asks for a
        // retry. BadDigest: the body was damaged on the way; the retry sends it again.
        (429 | 500 | 502 | 503 | 504, _)
        | (
            _,
            "SlowDown"
            | "RequestTimeout"
            | "InternalError"
            | "ServiceUnavailable"
            | "ConditionalRequestConflict"
            | "BadDigest",
        ) => transient(explained),
        _ => StoreError::Other {
            store: store_name,
            key,
            detail: explained,
        },
    }
}
