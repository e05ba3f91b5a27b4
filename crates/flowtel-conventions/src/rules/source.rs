//! Rules over Rust sources (`flowtel lint source`): `FT02xx`.

use super::Rule;

/// Every source rule, in id order.
pub static RULES: &[&Rule] = &[];
