//! Release regression check.
pub mod histogram;
pub mod stats;
pub mod verdict;
