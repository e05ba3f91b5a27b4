//! `flowtel lint alerts FILE|DIR...`: Prometheus alerting rules (and optionally an Alertmanager
//! configuration) checked against the conventions, with a signal-quality summary; the work is
//! `flowtel_lint::alerts`.

use std::path::PathBuf;

use flowtel_conventions::output::{FINDING_FORMATS, Formats};
use flowtel_conventions::report::{Findings, Section};
use flowtel_lint::alerts::{AlertOptions, Input};

use crate::common::GlobalArgs;

/// The formats of `flowtel lint alerts`.
pub const FORMATS: Formats = Formats::new("lint alerts", FINDING_FORMATS);

/// `flowtel lint alerts` arguments.
#[derive(clap::Args)]
pub struct Args {
    /// Prometheus rule files, or folders searched for `.yml` and `.yaml` files.
    #[arg(required = true, value_name = "FILE|DIR")]
    pub paths: Vec<PathBuf>,
    /// Alertmanager configuration: check that every alert reaches a receiver, and a flow's
    /// alerts its `alert_route`.
    #[arg(long, value_name = "FILE")]
    pub alertmanager: Option<PathBuf>,
    /// Scrape interval of the metrics the rules read (ranges under twice it are reported).
    /// Default: `lint.alerts.scrape_interval` of the conventions, else 15s.
    #[arg(long, value_name = "DURATION", value_parser = parse_interval)]
    pub scrape_interval: Option<f64>,
    /// Examples shown per rule in the human report.
    #[arg(long, default_value_t = 5, value_name = "N")]
    pub max_examples: usize,
}

fn parse_interval(text: &str) -> Result<f64, String> {
    flowtel_lint::alerts::read::parse_duration(text)
        .filter(|s| *s > 0.0)
        .ok_or_else(|| format!("`{text}` is not a positive duration (`15s`, `1m`)"))
}

/// Runs the lint and returns the exit code. Flows and owners are checked whenever conventions
/// are found; metric names and labels only when `--conventions` names them, since rule files
/// also watch exporters the conventions do not describe.
pub fn run(global: &GlobalArgs, args: Args) -> i32 {
    let format = match global.format_for(&FORMATS) {
        Ok(f) => f,
        Err(code) => return code,
    };
    let explicit = global.conventions.is_some();
    let discovered = explicit || global.conventions_path().is_ok();
    let reg = if discovered {
        match global.load_conventions() {
            Ok(r) => Some(r),
            Err(code) => return code,
        }
    } else {
        None
    };
    let opts = AlertOptions {
        check_metrics: explicit,
        scrape_interval: args.scrape_interval,
        alertmanager: args.alertmanager.map(|p| Input {
            file: p.display().to_string(),
            text: String::new(),
        }),
    };
    let mut result = flowtel_lint::alerts::lint_paths(reg.as_ref(), &args.paths, &opts);
    if let Some(reg) = &reg {
        flowtel_conventions::settle(&mut result.findings, &reg.lint);
    }
    let section = Section {
        key: "signal_quality",
        value: serde_json::to_value(result.quality).unwrap_or_default(),
        human: format!("signal quality: {}", result.quality),
    };
    let report = Findings {
        list: &result.findings,
        max_examples: Some(args.max_examples),
        sections: &[section],
    };
    global.print_with(&report, format, None);
    flowtel_conventions::exit_code(&result.findings, global.deny_warnings)
}
