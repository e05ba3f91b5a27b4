//! `flowtel lint telemetry FILE...`: reads exported telemetry and lints it against the
//! conventions; the work is `flowtel_lint::telemetry`.

use std::io::IsTerminal;

use flowtel_conventions::output::{FINDING_FORMATS, Format, Formats, Render};
use flowtel_conventions::report;
use flowtel_otlp::ReadOptions;
use indicatif::{ProgressBar, ProgressStyle};

use crate::common::{GlobalArgs, print_out};

/// The formats of `flowtel lint telemetry` (and of `flowtel live`'s report).
pub const FORMATS: Formats = Formats::new("lint telemetry", FINDING_FORMATS);

/// `flowtel lint telemetry` arguments.
#[derive(clap::Args)]
pub struct Args {
    /// Inputs: files (OTLP JSON lines or documents, OTLP protobuf, Prometheus or OpenMetrics
    /// text, optionally gzip-compressed), `-` for stdin, or `http://HOST:PORT/metrics` to scrape.
    #[arg(required = true, value_name = "FILE")]
    pub inputs: Vec<String>,
    /// Examples shown per rule in the human report.
    #[arg(long, default_value_t = 3, value_name = "N")]
    pub max_examples: usize,
    /// Largest batch (a JSON line, a document, a protobuf message, an exposition) accepted.
    #[arg(long, default_value_t = flowtel_otlp::DEFAULT_MAX_BATCH_BYTES, value_name = "BYTES")]
    pub max_batch_bytes: usize,
    /// Fail (exit 1) when a declared flow, or all flows together, were seen less than this share
    /// (0 to 1) of their steps, services and entry routes.
    #[arg(long, value_parser = parse_share, value_name = "SHARE")]
    pub min_coverage: Option<f64>,
}

/// A share between 0 and 1 (`0.9`), for `--min-coverage`.
pub fn parse_share(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(x) if (0.0..=1.0).contains(&x) => Ok(x),
        _ => Err(format!("`{s}` is not a share between 0 and 1 (e.g. 0.9)")),
    }
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
    let options = ReadOptions {
        max_batch_bytes: args.max_batch_bytes,
        ..ReadOptions::default()
    };
    let bar = progress_bar(&args.inputs);
    let sizes: Vec<u64> = args
        .inputs
        .iter()
        .map(|p| std::fs::metadata(p).map_or(0, |m| m.len()))
        .collect();
    let (findings, coverage) = flowtel_lint::telemetry::lint_inputs_with_coverage(
        &reg,
        &args.inputs,
        &options,
        &mut |p| {
            if let Some(bar) = &bar {
                let done: u64 = sizes[..p.input].iter().sum();
                bar.set_position(done + p.bytes.min(sizes[p.input]));
                bar.set_message(format!("{} items", p.stats.items));
            }
        },
    );
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    emit(
        global,
        format,
        findings,
        &reg,
        args.max_examples,
        Some((&coverage, args.min_coverage)),
    )
}

/// Prints findings (grouped by rule in the human format) with the coverage summary when given
/// (`(coverage, --min-coverage)`), and returns the exit code.
pub fn emit(
    global: &GlobalArgs,
    format: Format,
    mut findings: Vec<flowtel_conventions::Finding>,
    reg: &flowtel_conventions::Registry,
    max_examples: usize,
    coverage: Option<(&flowtel_lint::telemetry::Coverage, Option<f64>)>,
) -> i32 {
    let (text, code) = render(
        global,
        format,
        std::mem::take(&mut findings),
        reg,
        max_examples,
        coverage,
    );
    print_out(&text);
    code
}

/// The report [`emit`] prints, and its exit code.
pub fn render(
    global: &GlobalArgs,
    format: Format,
    mut findings: Vec<flowtel_conventions::Finding>,
    reg: &flowtel_conventions::Registry,
    max_examples: usize,
    coverage: Option<(&flowtel_lint::telemetry::Coverage, Option<f64>)>,
) -> (String, i32) {
    let mut sections = Vec::new();
    if let Some((coverage, min)) = coverage {
        if let Some(min) = min {
            findings.extend(flowtel_lint::telemetry::coverage_findings(coverage, min));
        }
        if !reg.flows.is_empty() || !reg.metrics.is_empty() {
            sections.push(report::Section {
                key: "coverage",
                value: serde_json::to_value(coverage).unwrap_or_default(),
                human: coverage.human(),
            });
        }
    }
    flowtel_conventions::settle(&mut findings, &reg.lint);
    let grouped = report::Findings {
        list: &findings,
        max_examples: Some(max_examples),
        sections: &sections,
    };
    let disk = ShortLines(report::DiskSource::default());
    let sources = report::Either(&reg.sources, &disk);
    let text = grouped
        .render(format, &global.render_options(&sources))
        .unwrap_or_default();
    (
        text,
        flowtel_conventions::exit_code(&findings, global.deny_warnings),
    )
}

/// Source lines for snippets, except long ones: a JSON line is a whole batch, and the
/// finding's pointer says where in it far better than a caret under its first characters.
struct ShortLines(report::DiskSource);

impl report::SourceText for ShortLines {
    fn line(&self, file: &str, line: u32) -> Option<String> {
        self.0.line(file, line).filter(|l| l.len() <= 200)
    }
}

/// A progress bar on stderr when it is a terminal and the inputs are files of known size.
fn progress_bar(inputs: &[String]) -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let total: u64 = inputs
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    // Small inputs finish before a bar would be seen.
    if total < 16 * 1024 * 1024 {
        return None;
    }
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({bytes_per_sec}) {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    Some(bar)
}
