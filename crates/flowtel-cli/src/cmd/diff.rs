//! `flowtel diff OLD NEW`: classify changes between two registries, check the version bump.

use std::path::PathBuf;

use flowtel_conventions::diff::{self, Diff};
use flowtel_conventions::report::{self, Either, SourceText};
use flowtel_conventions::source::Seg;
use flowtel_conventions::{Finding, Severity};
use serde_json::json;

use crate::common::{FormatArg, GlobalArgs, load_for_report, print_out};

/// Arguments of `flowtel diff`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The registry before the update (file or folder).
    pub old: PathBuf,
    /// The registry after the update (file or folder).
    pub new: PathBuf,
}

/// Runs the command and returns the exit code.
pub fn run(global: &GlobalArgs, args: Args) -> i32 {
    let old = load_for_report(&args.old);
    let new = load_for_report(&args.new);
    // Either side failing to load is an input error: the diff would be meaningless.
    let mut broken: Vec<Finding> = old
        .findings
        .iter()
        .chain(&new.findings)
        .filter(|f| f.severity >= Severity::Error)
        .cloned()
        .collect();
    let (Some(old_reg), Some(new_reg)) = (old.registry.as_ref(), new.registry.as_ref()) else {
        for f in &mut broken {
            f.severity = Severity::Fatal;
        }
        return global.emit(&broken, None);
    };
    if !broken.is_empty() {
        for f in &mut broken {
            f.severity = Severity::Fatal;
        }
        let sources = Either(&old_reg.sources, &new_reg.sources);
        return global.emit(&broken, Some(&sources));
    }
    let d = diff::diff(old_reg, new_reg);
    let version_loc = new_reg
        .layers
        .iter()
        .rev()
        .find(|l| l.content.version == new_reg.version)
        .and_then(|l| new_reg.sources.locate(l.file, &[Seg::Key("version")]));
    let findings = d.findings(version_loc);
    let code = if d.bump_ok() { 0 } else { 1 };
    let sources = Either(&new_reg.sources, &old_reg.sources);
    match global.format {
        FormatArg::Markdown => print_out(&diff::markdown(&d)),
        FormatArg::Json => print_out(&json_report(&d, &findings)),
        FormatArg::Sarif => print_out(&report::sarif(&findings)),
        _ => print_out(&human(&d, &findings, &sources, global.color())),
    }
    code
}

fn json_report(d: &Diff, findings: &[Finding]) -> String {
    let mut doc = report::json_value(findings);
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
    format!(
        "{}\n",
        serde_json::to_string_pretty(&doc).unwrap_or_default()
    )
}

fn human(d: &Diff, findings: &[Finding], sources: &dyn SourceText, color: bool) -> String {
    let mut out = format!(
        "flowtel diff {} -> {}: {} breaking, {} compatible; needs a {} bump, makes a {} bump\n\n",
        d.old_version,
        d.new_version,
        d.changes.iter().filter(|c| c.is_breaking()).count(),
        d.changes.iter().filter(|c| !c.is_breaking()).count(),
        d.effective_required().as_str(),
        d.actual_bump.map_or("invalid", |b| b.as_str()),
    );
    out.push_str(&report::human(findings, sources, color));
    out
}
