//! Restore drills: restore for real from the copy a disaster would leave, check every
//! byte, time it, and judge it against the plan's targets.

pub mod checks;
pub mod definition;
pub mod faults;
pub mod runner;
pub mod select;
mod verdict;
