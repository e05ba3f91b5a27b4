//! `flowtel diff OLD NEW`: classify changes between two registries, check the version bump.
//! The comparison is `flowtel_conventions::diff`, its renderings `flowtel_conventions::output::diff`.

use std::path::PathBuf;

use flowtel_conventions::output::diff::DiffReport;
use flowtel_conventions::output::{self, Either, Format, Formats};
use flowtel_conventions::source::Seg;
use flowtel_conventions::{Finding, Severity, diff};

use crate::common::{GlobalArgs, load_for_report};

/// The formats of `flowtel diff`.
pub const FORMATS: Formats = Formats::new(
    "diff",
    &[Format::Human, Format::Json, Format::Sarif, Format::Markdown],
);

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
    let format = match global.format_for(&FORMATS) {
        Ok(f) => f,
        Err(code) => return code,
    };
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
    let mut findings = d.findings(version_loc);
    // The new registry's `lint.rules` apply to the diff's rules (FT03xx) as to any other.
    output::settle(&mut findings, &new_reg.lint);
    let sources = Either(&new_reg.sources, &old_reg.sources);
    let report = DiffReport {
        diff: &d,
        findings: &findings,
    };
    global.print_with(&report, format, Some(&sources));
    flowtel_conventions::exit_code(&findings, global.deny_warnings)
}
