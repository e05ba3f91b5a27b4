//! `flowtel live`: an OTLP/HTTP and OTLP/gRPC receiver that lints what arrives and, when the run ends, writes the
//! report and exits with the lint's exit code. The receiver is `flowtel-live`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use flowtel_conventions::output::{FINDING_FORMATS, Formats};

use crate::common::GlobalArgs;

/// The formats of `flowtel live`'s report.
pub const FORMATS: Formats = Formats::new("live", FINDING_FORMATS);

/// `flowtel live` arguments.
#[derive(clap::Args)]
pub struct Args {
    /// OTLP/HTTP address (`/v1/traces`, `/v1/metrics`, `/v1/logs`); port 0 picks a free port.
    #[arg(long, default_value = flowtel_live::DEFAULT_HTTP_LISTEN, value_name = "ADDR")]
    pub listen: SocketAddr,
    /// OTLP/gRPC address (the collector's trace, metrics and logs services; gzip accepted).
    #[arg(long, default_value = flowtel_live::DEFAULT_GRPC_LISTEN, value_name = "ADDR")]
    pub grpc_listen: SocketAddr,
    /// Serve OTLP/HTTP only.
    #[arg(long)]
    pub no_grpc: bool,
    /// Stop after this long without a request (e.g. `5s`), then write the report.
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    pub until_idle: Option<Duration>,
    /// Stop after this long in any case (e.g. `30s`), then write the report.
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    pub duration: Option<Duration>,
    /// Largest request body accepted (compressed or inflated); larger ones get 413.
    #[arg(long, default_value_t = 16 * 1024 * 1024, value_name = "BYTES")]
    pub max_body_bytes: usize,
    /// Requests decoded at the same time; bodies being read share a budget of N times
    /// --max-body-bytes.
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub max_concurrency: usize,
    /// Longest time a request body may take to arrive (e.g. `10s`); slower ones get 408 and
    /// their connection is closed.
    #[arg(long, value_parser = parse_duration, default_value = "10s", value_name = "DURATION")]
    pub body_timeout: Duration,
    /// Examples shown per rule in the human report.
    #[arg(long, default_value_t = 3, value_name = "N")]
    pub max_examples: usize,
    /// Write the report to FILE (atomically: a complete report or none, also when the run
    /// ends on Ctrl-C or SIGTERM) instead of stdout.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<std::path::PathBuf>,
    /// Fail (exit 1) when a declared flow, or all flows together, were seen less than this share
    /// (0 to 1) of their steps, services and entry routes.
    #[arg(long, value_parser = super::lint::telemetry::parse_share, value_name = "SHARE")]
    pub min_coverage: Option<f64>,
    /// Also assemble traces as they arrive and serve their map and critical-path aggregates as
    /// Prometheus counters and histograms on `--metrics-listen`.
    #[arg(long)]
    pub analyze: bool,
    /// With `--analyze`: where `GET /metrics` is served; port 0 picks a free port.
    #[arg(long, default_value = flowtel_live::DEFAULT_METRICS_LISTEN, value_name = "ADDR", requires = "analyze")]
    pub metrics_listen: SocketAddr,
    /// With `--analyze`: a trace is complete after this long without a new span.
    #[arg(long, default_value = "10s", value_parser = parse_duration, value_name = "DURATION", requires = "analyze")]
    pub trace_idle: Duration,
    /// With `--analyze`: traces held open at most; past it the one idle longest is analysed at
    /// once (counted in `flowtel_traces_evicted_total`).
    #[arg(long, default_value_t = 50_000, value_name = "N", requires = "analyze")]
    pub max_open_traces: usize,
    /// With `--analyze`: spans held at most over all open traces (evicting likewise).
    #[arg(
        long,
        default_value_t = 500_000,
        value_name = "N",
        requires = "analyze"
    )]
    pub max_open_spans: usize,
    /// Also keep every accepted request in DIR, as it arrived, for the other commands to read:
    /// per signal `traces.binpb`, `metrics.binpb`, `logs.binpb` (protobuf, length-framed) and
    /// `*.jsonl` (JSON requests). Files of an earlier run there are replaced.
    #[arg(long, value_name = "DIR")]
    pub save: Option<std::path::PathBuf>,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    flowtel_conventions::duration::parse(s)
}

/// Runs the receiver and returns the exit code.
pub fn run(global: &GlobalArgs, args: Args) -> i32 {
    let format = match global.format_for(&FORMATS) {
        Ok(f) => f,
        Err(code) => return code,
    };
    let reg = match global.load_conventions() {
        Ok(r) => Arc::new(r),
        Err(code) => return code,
    };
    let options = flowtel_live::LiveOptions {
        listen: args.listen,
        grpc_listen: (!args.no_grpc).then_some(args.grpc_listen),
        max_body_bytes: args.max_body_bytes,
        max_concurrency: args.max_concurrency,
        body_timeout: args.body_timeout,
        until_idle: args.until_idle,
        duration: args.duration,
        analyze: args.analyze.then(|| flowtel_live::AnalyzeOptions {
            metrics_listen: args.metrics_listen,
            stream: flowtel_live::StreamOptions {
                trace_idle: args.trace_idle,
                max_open_traces: args.max_open_traces.max(1),
                max_open_spans: args.max_open_spans.max(1),
                ..Default::default()
            },
        }),
        save: args.save.clone(),
        ..Default::default()
    };
    if let Some(dir) = &args.save
        && let Err(e) = std::fs::create_dir_all(dir)
    {
        return global.emit(
            &[crate::common::io_finding(
                dir,
                "create the --save folder",
                &e,
            )],
            None,
        );
    }
    let report = flowtel_live::run(Arc::clone(&reg), options, |bound| {
        eprintln!(
            "flowtel live: listening for OTLP/HTTP on http://{}",
            bound.http
        );
        if let Some(grpc) = bound.grpc {
            eprintln!("flowtel live: listening for OTLP/gRPC on http://{grpc}");
        }
        if let Some(metrics) = bound.metrics {
            eprintln!("flowtel live: serving flow aggregates on http://{metrics}/metrics");
        }
    });
    match report {
        Ok(report) => {
            eprintln!(
                "flowtel live: {} requests ({} rejected), {} items, {} bytes",
                report.stats.requests + report.stats.rejected,
                report.stats.rejected,
                report.stats.items,
                report.stats.bytes
            );
            if let Some(a) = &report.analysis {
                eprintln!(
                    "flowtel live: analysed {} traces ({} evicted early to stay within the limits), {} spans dropped over the per-trace limit",
                    a.completed, a.evicted, a.dropped
                );
            }
            if !report.rejections.is_empty() {
                let by: Vec<String> = report
                    .rejections
                    .iter()
                    .map(|(answer, n)| format!("{n} x {answer}"))
                    .collect();
                eprintln!("flowtel live: rejected: {}", by.join(", "));
            }
            if report.stats.requests + report.stats.rejected == 0 {
                eprintln!(
                    "flowtel live: warning: no telemetry arrived; point the exporters at the addresses above (OTEL_EXPORTER_OTLP_ENDPOINT), or raise --until-idle"
                );
            }
            if report.ended == flowtel_live::EndReason::Interrupted {
                eprintln!("flowtel live: interrupted; reporting what arrived");
            }
            let coverage = Some((&report.coverage, args.min_coverage));
            let (save_failures, save_error) = (report.save_failures, report.save_error.clone());
            let code = match &args.output {
                None => super::lint::telemetry::emit(
                    global,
                    format,
                    report.findings,
                    &reg,
                    args.max_examples,
                    coverage,
                ),
                Some(path) => {
                    let mut plain = global.clone();
                    plain.color = crate::common::ColorArg::Never;
                    let (text, code) = super::lint::telemetry::render(
                        &plain,
                        format,
                        report.findings,
                        &reg,
                        args.max_examples,
                        coverage,
                    );
                    match crate::common::write_atomic(path, text.as_bytes()) {
                        Ok(()) => {
                            eprintln!("flowtel live: wrote the report to {}", path.display());
                            code
                        }
                        Err(e) => global.emit(
                            &[crate::common::io_finding(path, "write the report to", &e)],
                            None,
                        ),
                    }
                }
            };
            match (&args.save, save_error) {
                (Some(dir), Some(e)) => {
                    // The report is out already (one document on stdout): the failure goes to
                    // stderr, and the exit code says the run's input side failed.
                    eprintln!(
                        "flowtel live: error: {save_failures} requests could not be saved in `{}`: {e}; free space or pick another folder with --save (the report is complete)",
                        dir.display()
                    );
                    2
                }
                (Some(dir), None) => {
                    eprintln!("flowtel live: saved what arrived in {}", dir.display());
                    code
                }
                (None, _) => code,
            }
        }
        Err(e) => {
            let f = flowtel_conventions::Finding::new(
                &flowtel_conventions::rules::registry::UNREADABLE_INPUT,
                format!(
                    "cannot listen on {} (or the gRPC address {}): {e}",
                    args.listen, args.grpc_listen
                ),
            )
            .help("pick another address with `--listen`, or stop what uses the port");
            global.emit(&[f], None)
        }
    }
}
