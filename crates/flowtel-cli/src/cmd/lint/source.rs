//! `flowtel lint source [PATH...]`: checks the names Rust code writes in `tracing`,
//! OpenTelemetry and `metrics` calls against the conventions; the work is
//! `flowtel_lint::source`.

use std::path::PathBuf;

use flowtel_conventions::output::{FINDING_FORMATS, Formats};

use crate::common::GlobalArgs;

/// The formats of `flowtel lint source`.
pub const FORMATS: Formats = Formats::new("lint source", FINDING_FORMATS);

/// `flowtel lint source` arguments.
#[derive(clap::Args)]
pub struct Args {
    /// Rust files or folders (folders are searched for `.rs` files, skipping `target/` and
    /// hidden folders). Default: the working directory.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

/// Runs the lint and returns the exit code.
pub fn run(global: &GlobalArgs, args: Args) -> i32 {
    let format = match global.format_for(&FORMATS) {
        Ok(f) => f,
        Err(code) => return code,
    };
    let reg = match global.load_conventions() {
        Ok(r) => r,
        Err(code) => return code,
    };
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths
    };
    let findings = flowtel_lint::source::lint_paths(&reg, &paths);
    global.emit_in(format, &findings, None, Some(&reg.lint))
}
