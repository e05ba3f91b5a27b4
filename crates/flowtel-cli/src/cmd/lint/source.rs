//! `flowtel lint source [PATH...]`: checks the names Rust code writes in `tracing`,
//! OpenTelemetry and `metrics` calls against the conventions; the work is
//! `flowtel_lint::source`.

use std::path::PathBuf;

use crate::common::GlobalArgs;

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
    global.emit(&findings, None)
}
