use std::io;

/// What went wrong with a store call, sorted by what the caller should do about it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{key}: not found in {store}")]
    NotFound { store: String, key: String },
    #[error("{key}: already exists in {store}")]
    AlreadyExists { store: String, key: String },
    #[error("{key}: permission denied by {store}: {detail}")]
    PermissionDenied {
        store: String,
        key: String,
        detail: String,
    },
    /// Worth retrying: a timeout, a reset connection, a throttled or unavailable server.
    #[error("{key}: temporary failure at {store}: {detail}")]
    Transient {
        store: String,
        key: String,
        detail: String,
    },
    #[error("{key}: {store}: {detail}")]
    Other {
        store: String,
        key: String,
        detail: String,
    },
}

pub type StoreResult<T> = Result<T, StoreError>;

impl StoreError {
    pub fn is_not_found(&self) -> bool {
        matches!(self, StoreError::NotFound { .. })
    }

    pub fn is_transient(&self) -> bool {
        matches!(self, StoreError::Transient { .. })
    }

    /// Sorts an I/O error from a filesystem-backed store.
    pub fn from_io(store: &str, key: &str, err: io::Error) -> Self {
        let (store, key) = (store.to_string(), key.to_string());
        let detail = err.to_string();
        match err.kind() {
            // A path component that is a file: nothing can be stored below it either.
            io::ErrorKind::NotFound | io::ErrorKind::NotADirectory => {
                StoreError::NotFound { store, key }
            }
            io::ErrorKind::AlreadyExists => StoreError::AlreadyExists { store, key },
            io::ErrorKind::PermissionDenied => StoreError::PermissionDenied { store, key, detail },
            io::ErrorKind::Interrupted | io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => {
                StoreError::Transient { store, key, detail }
            }
            _ => StoreError::Other { store, key, detail },
        }
    }
}
