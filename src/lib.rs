//! firedrill: encrypted, deduplicated backups that are replicated and proven restorable.

pub mod agent;
pub mod chunker;
pub mod concurrency;
pub mod crypto;
pub mod drill;
pub mod error;
pub mod host;
pub mod replicate;
pub mod repo;
pub mod report;
pub mod store;
pub mod tls;

pub use error::{Error, Result};
pub mod backup;
pub mod forget;
pub mod plan;
pub mod progress;
pub mod prune;
pub mod quickstart;
pub mod restore;
pub mod retention;
pub mod sample_data;
pub mod verify;
