//! One rule of the catalogue: its id, name, default severity and documentation, and the
//! explanation `flowtel explain` prints.

use serde::Serialize;

use crate::severity::Severity;

/// A lint rule and its documentation.
#[derive(Debug, PartialEq, Serialize)]
pub struct Rule {
    /// Stable id, `FT` and four digits.
    pub id: &'static str,
    /// Stable kebab-case name.
    pub name: &'static str,
    /// Severity unless the conventions' `lint.rules` override it.
    pub severity: Severity,
    /// One line, for listings and SARIF `shortDescription`.
    pub summary: &'static str,
    /// What it does.
    pub what: &'static str,
    /// Why it matters.
    pub why: &'static str,
    /// An example that triggers the rule.
    pub bad: &'static str,
    /// The same example, fixed.
    pub good: &'static str,
}

impl Rule {
    /// The explanation as `flowtel explain` prints it (Markdown).
    pub fn explain(&self) -> String {
        format!(
            "# {id} {name}\n\nDefault severity: {sev}\n\n{summary}\n\n## What it does\n{what}\n\n## Why is this bad\n{why}\n\n## Example\n```\n{bad}\n```\nUse instead:\n```\n{good}\n```\n",
            id = self.id,
            name = self.name,
            sev = self.severity,
            summary = self.summary,
            what = self.what,
            why = self.why,
            bad = self.bad.trim_end(),
            good = self.good.trim_end(),
        )
    }
}
