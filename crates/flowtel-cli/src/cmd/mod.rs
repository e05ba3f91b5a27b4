//! One module per subcommand.

pub mod analyze;
pub mod check;
pub mod diff;
pub mod explain;
pub mod lint;
pub mod live;
pub mod schema;
