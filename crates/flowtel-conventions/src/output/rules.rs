//! The rule catalogue as `flowtel explain` prints it: one rule's documentation (Markdown, or
//! JSON), or the list of every rule (an aligned table, or JSON). The catalogue itself is
//! [`crate::rules`].

use super::{Format, Render, RenderOptions, Unsupported, json};
use crate::rules::{self, Rule};

impl Render for Rule {
    /// Human and Markdown: the explanation ([`Rule::explain`]); JSON: the rule's fields.
    fn render(&self, format: Format, _: &RenderOptions<'_>) -> Result<String, Unsupported> {
        match format {
            Format::Human | Format::Markdown => Ok(self.explain()),
            Format::Json => Ok(json::pretty(
                &serde_json::to_value(self).unwrap_or_default(),
            )),
            other => Err(Unsupported(other)),
        }
    }
}

/// Every rule of the catalogue, for `flowtel explain --list`.
#[derive(Debug, Clone, Copy, Default)]
pub struct RuleList;

impl Render for RuleList {
    /// Human: one aligned line per rule (id, name, severity, summary); Markdown: a table; JSON:
    /// an array of the rules' fields.
    fn render(&self, format: Format, _: &RenderOptions<'_>) -> Result<String, Unsupported> {
        match format {
            Format::Human => {
                let mut out = String::new();
                for r in rules::all() {
                    out.push_str(&format!(
                        "{}  {:<28} {:<8} {}\n",
                        r.id,
                        r.name,
                        r.severity.as_str(),
                        r.summary
                    ));
                }
                Ok(out)
            }
            Format::Markdown => {
                let mut t = super::markdown::Table::new(["id", "name", "severity", "summary"]);
                for r in rules::all() {
                    t.row([
                        r.id.to_string(),
                        super::markdown::code(r.name),
                        r.severity.as_str().to_string(),
                        r.summary.to_string(),
                    ]);
                }
                Ok(t.to_string())
            }
            Format::Json => {
                let all: Vec<&Rule> = rules::all().collect();
                Ok(json::pretty(&serde_json::to_value(all).unwrap_or_default()))
            }
            other => Err(Unsupported(other)),
        }
    }
}
