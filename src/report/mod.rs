//! Drill reports: the JSON record and its renderings.

pub mod model;
