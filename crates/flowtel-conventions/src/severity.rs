//! How bad a finding is: the one severity scale of findings and of the rule catalogue's
//! defaults.

use std::fmt;

use serde::Serialize;

/// How bad a finding is. Ordered from least to most severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; never fails a build.
    Note,
    /// Should be fixed; fails a build only with `--deny-warnings`.
    Warning,
    /// Breaks the conventions; exit code 1.
    Error,
    /// The input could not be read at all; exit code 2.
    Fatal,
}

impl Severity {
    /// Lower-case name as printed and serialised.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Error => "error",
            Severity::Fatal => "fatal",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
