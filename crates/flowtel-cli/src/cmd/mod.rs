//! One module per subcommand.

pub mod analyze;
pub mod check;
pub mod diff;
pub mod explain;
pub mod govern;
pub mod lint;
pub mod live;
pub mod schema;
