//! The scheduler's library side: when jobs fire, what it remembers, and what it serves.

pub mod http;
pub mod metrics;
pub mod schedule;
pub mod state;
