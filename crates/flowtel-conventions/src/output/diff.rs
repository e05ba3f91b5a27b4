//! The `flowtel diff` verdict in every format it has: human (a verdict line, then the changes as
//! findings), JSON (the findings document plus a `diff` object), SARIF (the findings) and
//! Markdown (a pull-request comment). The comparison itself is [`crate::diff`].

use std::fmt::Write as _;

use serde_json::json;

use super::findings;
use super::markdown::{self, Table};
use super::{Format, Render, RenderOptions, Unsupported};
use crate::diff::{Bump, Change, Diff};
use crate::finding::Finding;

/// A diff and its findings (settled: overrides applied, sorted), ready to render.
#[derive(Debug, Clone, Copy)]
pub struct DiffReport<'a> {
    /// The comparison.
    pub diff: &'a Diff,
    /// [`Diff::findings`], after [`super::settle`].
    pub findings: &'a [Finding],
}

impl Render for DiffReport<'_> {
    fn render(&self, format: Format, opts: &RenderOptions<'_>) -> Result<String, Unsupported> {
        match format {
            Format::Human => Ok(human(self.diff, self.findings, opts)),
            Format::Json => Ok(json(self.diff, self.findings)),
            Format::Sarif => Ok(findings::sarif(self.findings)),
            Format::Markdown => Ok(markdown(self.diff)),
            other => Err(Unsupported(other)),
        }
    }
}

/// The verdict line, then the findings rustc-style.
pub fn human(d: &Diff, list: &[Finding], opts: &RenderOptions<'_>) -> String {
    let mut out = format!(
        "flowtel diff {} -> {}: {} breaking, {} compatible; needs a {} bump, makes a {} bump\n\n",
        d.old_version,
        d.new_version,
        d.changes.iter().filter(|c| c.is_breaking()).count(),
        d.changes.iter().filter(|c| !c.is_breaking()).count(),
        d.effective_required().as_str(),
        d.actual_bump.map_or("invalid", |b| b.as_str()),
    );
    out.push_str(&findings::human(list, opts.sources, opts.color));
    out
}

/// The findings document with a `diff` object: versions, bumps, counts and every change.
pub fn json(d: &Diff, list: &[Finding]) -> String {
    let mut doc = findings::json_value(list);
    doc["diff"] = json!({
        "old_version": d.old_version,
        "new_version": d.new_version,
        "required_bump": d.effective_required(),
        "actual_bump": d.actual_bump,
        "bump_ok": d.bump_ok(),
        "breaking": d.changes.iter().filter(|c| c.is_breaking()).count(),
        "compatible": d.changes.iter().filter(|c| !c.is_breaking()).count(),
        "changes": d.changes,
    });
    super::json::pretty(&doc)
}

/// Markdown for a pull-request comment: verdict, then breaking and compatible changes.
pub fn markdown(d: &Diff) -> String {
    let mut out = String::new();
    let verdict = if d.bump_ok() { "✅" } else { "❌" };
    let _ = writeln!(
        out,
        "### flowtel conventions diff: {} → {}\n",
        d.old_version, d.new_version
    );
    let _ = writeln!(
        out,
        "{verdict} The changes need a **{}** version bump; this update makes a **{}** bump.\n",
        d.effective_required().as_str(),
        d.actual_bump.map_or("invalid", Bump::as_str)
    );
    let breaking: Vec<&Change> = d.changes.iter().filter(|c| c.is_breaking()).collect();
    let compatible: Vec<&Change> = d.changes.iter().filter(|c| !c.is_breaking()).collect();
    for (title, list) in [
        ("Breaking changes", &breaking),
        ("Compatible changes", &compatible),
    ] {
        if list.is_empty() {
            continue;
        }
        let _ = writeln!(out, "#### {title} ({})\n", list.len());
        let mut table = Table::new(["kind", "name", "change", "where"]);
        for c in list {
            let loc = c
                .location
                .as_ref()
                .map(|l| markdown::code(&format!("{}:{}", l.file, l.line)))
                .unwrap_or_default();
            table.row([
                c.kind.to_string(),
                markdown::code(&c.name),
                c.description.clone(),
                loc,
            ]);
        }
        out.push_str(&table.to_string());
        out.push('\n');
    }
    if d.changes.is_empty() {
        out.push_str("No changes.\n");
    }
    out
}
