//! The one finding type every flowtel check produces.
//!
//! Registry validation, `diff`, telemetry lint and source lint all report [`Finding`]s; the
//! [`crate::report`] module renders them in every output format. A finding names its rule from
//! the [`crate::rules`] catalogue, so ids, names and explanations are never written twice.

use std::fmt;

use indexmap::IndexMap;
use serde::Serialize;

use crate::rules::Rule;
pub use crate::severity::Severity;

/// A place in an input: file, 1-based line and column, optionally a JSON pointer.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Location {
    /// The file as the user named it (or `-` for standard input).
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column (in characters).
    pub column: u32,
    /// 1-based line where the offending node ends, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_line: Option<u32>,
    /// 1-based column where the offending node ends (exclusive), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_column: Option<u32>,
    /// JSON pointer into the batch on that line, for JSON telemetry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pointer: Option<String>,
}

impl Location {
    /// A location at a line and column.
    pub fn new(file: impl Into<String>, line: u32, column: u32) -> Self {
        Location {
            file: file.into(),
            line: line.max(1),
            column: column.max(1),
            end_line: None,
            end_column: None,
            pointer: None,
        }
    }

    /// The same location with an end position.
    pub fn with_end(mut self, line: u32, column: u32) -> Self {
        self.end_line = Some(line);
        self.end_column = Some(column);
        self
    }

    /// The same location with a JSON pointer.
    pub fn with_pointer(mut self, pointer: impl Into<String>) -> Self {
        self.pointer = Some(pointer.into());
        self
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)?;
        if let Some(p) = &self.pointer {
            write!(f, " ({p})")?;
        }
        Ok(())
    }
}

/// Another place that explains a finding (the first definition of a duplicate, say).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Related {
    /// Where.
    pub location: Location,
    /// What is there.
    pub message: String,
}

/// One problem found by any flowtel check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// The rule that produced it.
    #[serde(serialize_with = "ser_rule_id")]
    pub rule: &'static Rule,
    /// Severity after overrides.
    pub severity: Severity,
    /// One sentence saying what is wrong, naming the subject.
    pub message: String,
    /// Where, when the finding has a place.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// Structured facts (`metric`, `label`, `flow`, ...), for scripts.
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub subject: IndexMap<String, String>,
    /// What to do about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// Other places that explain the finding.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<Related>,
}

fn ser_rule_id<S: serde::Serializer>(rule: &&'static Rule, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(rule.id)
}

impl Finding {
    /// A finding of `rule` at the rule's default severity.
    pub fn new(rule: &'static Rule, message: impl Into<String>) -> Self {
        Finding {
            rule,
            severity: rule.severity,
            message: message.into(),
            location: None,
            subject: IndexMap::new(),
            help: None,
            related: Vec::new(),
        }
    }

    /// Sets the location.
    pub fn at(mut self, location: impl Into<Option<Location>>) -> Self {
        self.location = location.into();
        self
    }

    /// Adds a structured fact.
    pub fn subject(mut self, key: &str, value: impl Into<String>) -> Self {
        self.subject.insert(key.to_string(), value.into());
        self
    }

    /// Sets the help text.
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Sets the help text when there is one.
    pub fn maybe_help(mut self, help: Option<String>) -> Self {
        if help.is_some() {
            self.help = help;
        }
        self
    }

    /// Adds a related place.
    pub fn related(mut self, location: Option<Location>, message: impl Into<String>) -> Self {
        if let Some(location) = location {
            self.related.push(Related {
                location,
                message: message.into(),
            });
        }
        self
    }

    /// Overrides the severity.
    pub fn severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }
}

/// Counts of findings by severity, as in the JSON report's `summary`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Errors (including fatal input errors).
    pub errors: usize,
    /// Warnings.
    pub warnings: usize,
    /// Notes.
    pub notes: usize,
}

impl Summary {
    /// Counts `findings`.
    pub fn of(findings: &[Finding]) -> Self {
        let mut s = Summary::default();
        for f in findings {
            match f.severity {
                Severity::Fatal | Severity::Error => s.errors += 1,
                Severity::Warning => s.warnings += 1,
                Severity::Note => s.notes += 1,
            }
        }
        s
    }
}

/// Process exit code for a set of findings, as DESIGN's contract says: 2 for an input error,
/// 1 for errors (or warnings when `deny_warnings`), 0 otherwise.
pub fn exit_code(findings: &[Finding], deny_warnings: bool) -> i32 {
    let worst = findings.iter().map(|f| f.severity).max();
    match worst {
        Some(Severity::Fatal) => 2,
        Some(Severity::Error) => 1,
        Some(Severity::Warning) if deny_warnings => 1,
        _ => 0,
    }
}

/// Finds the closest of `candidates` to `name`, for "did you mean" help.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let mut best: Option<(f64, &str)> = None;
    for c in candidates {
        let score = strsim::jaro_winkler(name, c);
        if score >= 0.8 && best.is_none_or(|(b, _)| score > b) {
            best = Some((score, c));
        }
    }
    best.map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let names = ["checkout", "login", "browse"];
        assert_eq!(did_you_mean("chekout", names), Some("checkout"));
        assert_eq!(did_you_mean("logn", names), Some("login"));
        assert_eq!(did_you_mean("payments", names), None);
    }
}
