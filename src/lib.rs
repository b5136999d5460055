//! firedrill: encrypted, deduplicated backups that are replicated and proven restorable.

pub mod chunker;
pub mod concurrency;
pub mod crypto;
pub mod error;
pub mod host;
pub mod repo;
pub mod store;

pub use error::{Error, Result};
pub mod backup;
pub mod progress;
pub mod restore;
pub mod verify;
pub mod forget;
pub mod prune;
pub mod retention;
pub mod quickstart;
pub mod sample_data;
