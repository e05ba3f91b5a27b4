//! `flowtel check [PATH]`: validate a conventions registry.

use std::path::PathBuf;

use flowtel_conventions::output::{FINDING_FORMATS, Formats, SourceText};

use crate::common::{GlobalArgs, load_for_report};

/// The formats of `flowtel check`.
pub const FORMATS: Formats = Formats::new("check", FINDING_FORMATS);

/// Arguments of `flowtel check`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Registry file or folder (default: `--conventions`, or discovered).
    pub path: Option<PathBuf>,
}

/// Runs the command and returns the exit code.
pub fn run(global: &GlobalArgs, args: Args) -> i32 {
    let format = match global.format_for(&FORMATS) {
        Ok(f) => f,
        Err(code) => return code,
    };
    let path = match args
        .path
        .map(Ok)
        .unwrap_or_else(|| global.conventions_path())
    {
        Ok(p) => p,
        Err(f) => return global.emit(&[*f], None),
    };
    let loaded = load_for_report(&path);
    let sources = loaded
        .registry
        .as_ref()
        .map(|r| &r.sources as &dyn SourceText);
    let lint = loaded.registry.as_ref().map(|r| &r.lint);
    global.emit_in(format, &loaded.findings, sources, lint)
}
