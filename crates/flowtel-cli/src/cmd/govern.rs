//! `flowtel slo`: governance artifacts generated from the conventions, written into `-o DIR`
//! atomically or to stdout; `--check` compares DIR with what the conventions generate now.

use std::path::PathBuf;

use flowtel_conventions::report::SourceText;
use flowtel_govern::{Generator, Options};

use crate::common::{GlobalArgs, io_finding, print_out};

/// Arguments shared by every generator.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Folder to write into (created if needed); without it the artifact goes to stdout.
    #[arg(short = 'o', long = "output", value_name = "DIR")]
    pub output: Option<PathBuf>,
    /// Write nothing; exit 1 when the files in DIR are not what the conventions generate now.
    #[arg(long, requires = "output")]
    pub check: bool,
    /// Base URL of the runbooks (`<URL>/<flow>.md`), for alert annotations.
    #[arg(long, value_name = "URL", default_value_t = Options::default().runbook_url)]
    pub runbook_url: String,
    /// Base URL of Grafana (`<URL>/d/flowtel-<flow>`), for alert annotations and links.
    #[arg(long, value_name = "URL", default_value_t = Options::default().dashboard_url)]
    pub dashboard_url: String,
}

/// Runs a generator and returns the exit code.
pub fn run(global: &GlobalArgs, generator: Generator, args: Args) -> i32 {
    let reg = match global.load_conventions() {
        Ok(r) => r,
        Err(code) => return code,
    };
    let opts = Options {
        runbook_url: args.runbook_url,
        dashboard_url: args.dashboard_url,
    };
    let out = match generator.generate(&reg, &opts) {
        Ok(out) => out,
        Err(findings) => return global.emit(&findings, Some(&reg.sources as &dyn SourceText)),
    };
    for note in &out.notes {
        eprintln!("note: {note}");
    }
    let files = out.file_set(generator);
    let Some(dir) = args.output else {
        print_out(&String::from_utf8_lossy(&files.to_stdout()));
        return 0;
    };
    if args.check {
        let drift = match files.check(&dir) {
            Ok(d) => d,
            Err(e) => return global.emit(&[io_finding(&dir, "read", &e)], None),
        };
        if drift.is_empty() {
            eprintln!(
                "{}: {} file(s) in {} are up to date",
                generator.name(),
                files.len(),
                dir.display()
            );
            return 0;
        }
        for d in &drift {
            eprintln!("{}: {d}", dir.display());
        }
        eprintln!(
            "help: regenerate with `flowtel {} -o {}`",
            generator.name(),
            dir.display()
        );
        return 1;
    }
    match files.write_to(&dir) {
        Ok(()) => {
            for (path, _) in files.iter() {
                eprintln!("wrote {}", dir.join(path).display());
            }
            0
        }
        Err(e) => global.emit(&[io_finding(&dir, "write into", &e)], None),
    }
}
