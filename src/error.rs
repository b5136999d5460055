//! The crate's error: every failure sorted into what the user should do, which is also
//! what the exit code tells a scheduler.

use crate::store::StoreError;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad command line, config file, repository location or drill file.
    #[error("{0}")]
    Usage(String),
    /// No key slot opens with the given passphrase or key file.
    #[error("{0}")]
    WrongKey(String),
    /// Stored data is damaged: missing, truncated, corrupted or swapped.
    #[error("{object}: {detail}")]
    Damaged { object: String, detail: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Other(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Exit codes, documented in the README: schedulers alert on them.
pub mod exit {
    pub const SUCCESS: i32 = 0;
    pub const DAMAGE: i32 = 1;
    pub const USAGE: i32 = 2;
    pub const FAILURE: i32 = 3;
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) | Error::WrongKey(_) => exit::USAGE,
            Error::Damaged { .. } => exit::DAMAGE,
            // A missing object the repository needs is damage, not an outage.
            Error::Store(e) if e.is_not_found() => exit::DAMAGE,
            Error::Store(_) | Error::Io { .. } | Error::Other(_) => exit::FAILURE,
        }
    }

    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::Store(e) if e.is_not_found())
    }

    pub fn damaged(object: impl Into<String>, detail: impl Into<String>) -> Self {
        Error::Damaged {
            object: object.into(),
            detail: detail.into(),
        }
    }

    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
