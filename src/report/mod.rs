//! Drill reports: the JSON record and its renderings.

pub mod archive;
pub mod html;
pub mod markdown;
pub mod model;
pub mod notify;
pub mod publish;
mod svg;
