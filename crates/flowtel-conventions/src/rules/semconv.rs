//! Rules about OpenTelemetry semantic-conventions layers and deprecated names: `FT04xx`.

use super::Rule;

/// Every semantic-conventions rule, in id order.
pub static RULES: &[&Rule] = &[];
