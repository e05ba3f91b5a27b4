//! Durations as written in conventions files: `250ms`, `2s`, `1.5m`, `30d`.
//!
//! A [`Duration`] keeps the text as written so that a malformed value is still loaded and
//! reported by validation (rule `invalid-duration`) at its own line, rather than failing the
//! whole file at decode time.

use std::borrow::Cow;
use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A duration as written in YAML (`250ms`, `2s`, `30d`).
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Duration {
    raw: String,
}

/// Pattern of a valid duration, shared by the parser's error text and the JSON Schema.
pub const DURATION_PATTERN: &str = r"^[0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h|d|w)$";

impl Duration {
    /// Wraps text without checking it; [`Duration::get`] parses it.
    pub fn from_raw(raw: impl Into<String>) -> Self {
        Duration { raw: raw.into() }
    }

    /// The text as written.
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// The parsed value, or `None` when the text is not a duration.
    pub fn get(&self) -> Option<std::time::Duration> {
        parse(&self.raw).ok()
    }

    /// The parsed value in seconds, or `None` when the text is not a duration.
    pub fn seconds(&self) -> Option<f64> {
        self.get().map(|d| d.as_secs_f64())
    }
}

impl fmt::Debug for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.raw)
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl JsonSchema for Duration {
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": DURATION_PATTERN,
            "description": "A duration: a number and a unit (ns, us, ms, s, m, h, d, w), e.g. `250ms`, `30d`.",
            "examples": ["250ms", "2s", "30d"]
        })
    }
}

/// Parses `250ms`, `2s`, `1.5h`, `30d`, `1w`.
pub fn parse(text: &str) -> Result<std::time::Duration, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(|| format!("`{text}` has no unit; write e.g. `{t}ms` or `{t}s`"))?;
    let (num, unit) = t.split_at(split);
    if num.is_empty() {
        return Err(format!("`{text}` does not start with a number"));
    }
    let value: f64 = num
        .parse()
        .map_err(|_| format!("`{num}` in `{text}` is not a number"))?;
    let secs_per_unit = match unit {
        "ns" => 1e-9,
        "us" | "µs" => 1e-6,
        "ms" => 1e-3,
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        "d" => 86_400.0,
        "w" => 604_800.0,
        _ => {
            return Err(format!(
                "`{unit}` in `{text}` is not a duration unit; use ns, us, ms, s, m, h, d or w"
            ));
        }
    };
    let secs = value * secs_per_unit;
    if !secs.is_finite() || secs > 1e12 {
        return Err(format!("`{text}` is too long a duration"));
    }
    Ok(std::time::Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_units_conventions_use() {
        assert_eq!(parse("250ms").unwrap().as_millis(), 250);
        assert_eq!(parse("2s").unwrap().as_secs(), 2);
        assert_eq!(parse("1.5m").unwrap().as_secs(), 90);
        assert_eq!(parse("30d").unwrap().as_secs(), 30 * 86_400);
        assert_eq!(parse("1w").unwrap().as_secs(), 604_800);
    }

    #[test]
    fn rejects_what_is_not_a_duration() {
        for bad in ["", "ms", "250", "2 parsecs", "1..2s", "9e99d", "-1s"] {
            assert!(parse(bad).is_err(), "{bad} should not parse");
        }
    }
}
