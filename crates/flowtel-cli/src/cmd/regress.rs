//! `flowtel regress BEFORE... -- AFTER...`: release regression check of latency distributions
//! per flow and step, against the conventions' thresholds and budgets.
//!
//! Each side takes any number of inputs: positional inputs before `--` are the before side,
//! those after it the after side; `--before PATH` and `--after PATH` (repeatable) add to a side
//! explicitly; two positional inputs without `--` are one before and one after.

use flowtel_analyze::regress::{self, input, render};
use flowtel_conventions::Finding;
use flowtel_conventions::rules::regress::INCOMPARABLE_INPUTS;
use flowtel_otlp::ReadOptions;

use flowtel_conventions::output::{Format, Formats};

use crate::common::{GlobalArgs, print_out};

/// The formats of `flowtel regress`.
pub const FORMATS: Formats = Formats::new(
    "regress",
    &[Format::Human, Format::Json, Format::Sarif, Format::Markdown],
);

/// Arguments of `flowtel regress`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Inputs of the before side (OTLP traces or metric exports, Prometheus text; `-` for
    /// stdin, `http://` to scrape).
    #[arg(value_name = "BEFORE")]
    pub before: Vec<String>,
    /// Inputs of the after side, after `--`.
    #[arg(last = true, value_name = "AFTER")]
    pub after: Vec<String>,
    /// Adds an input to the before side.
    #[arg(long = "before", value_name = "PATH")]
    pub before_opt: Vec<String>,
    /// Adds an input to the after side.
    #[arg(long = "after", value_name = "PATH")]
    pub after_opt: Vec<String>,
    /// Compare only this flow (repeatable).
    #[arg(long = "flow", value_name = "NAME")]
    pub flows: Vec<String>,
}

fn usage(message: String) -> Finding {
    Finding::new(&INCOMPARABLE_INPUTS, message).help(
        "name both sides: `flowtel regress BEFORE... -- AFTER...` or `--before PATH --after PATH`",
    )
}

/// Runs the command and returns the exit code.
pub fn run(global: &GlobalArgs, args: Args) -> i32 {
    let format = match global.format_for(&FORMATS) {
        Ok(f) => f,
        Err(code) => return code,
    };
    let mut before = args.before_opt.clone();
    let mut after = args.after_opt.clone();
    if args.after.is_empty() && args.after_opt.is_empty() && args.before.len() == 2 {
        before.push(args.before[0].clone());
        after.push(args.before[1].clone());
    } else {
        before.extend(args.before.iter().cloned());
        after.extend(args.after.iter().cloned());
    }
    for (name, side) in [("before", &before), ("after", &after)] {
        if side.is_empty() {
            return global.emit(&[usage(format!("no input for the {name} side"))], None);
        }
    }
    let reg = match global.load_conventions() {
        Ok(r) => r,
        Err(code) => return code,
    };
    let options = ReadOptions::default();
    let mut b = input::read_side(&before, &options, &reg);
    let mut a = input::read_side(&after, &options, &reg);
    b.retain_flows(&args.flows);
    a.retain_flows(&args.flows);
    let report = match regress::compare(&reg, &b, &a) {
        Ok(r) => r,
        Err(fatal) => return global.emit(&fatal, None),
    };
    let findings = report.findings();
    let text = match format {
        Format::Json => render::json(&report, &findings),
        Format::Sarif => render::sarif(&report, &findings),
        Format::Markdown => render::markdown(&report),
        _ => render::human(&report, global.color()),
    };
    print_out(&text);
    flowtel_conventions::exit_code(&findings, global.deny_warnings)
}
