//! `flowtel lint`: the linters, one subcommand each.

pub mod alerts;
pub mod source;
pub mod telemetry;

use clap::Subcommand;

use crate::common::GlobalArgs;

/// `flowtel lint` arguments.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(Subcommand)]
enum What {
    /// Lint exported telemetry (OTLP JSON, JSON lines, protobuf; Prometheus text; `-` for stdin).
    Telemetry(telemetry::Args),
    /// Lint Rust sources: metric names, attribute keys, units and span names in `tracing`,
    /// OpenTelemetry and `metrics` calls.
    Source(source::Args),
    /// Lint Prometheus alerting rules against the conventions (flows, owners, metrics), with a
    /// signal-quality summary of the whole set.
    Alerts(alerts::Args),
}

/// Runs the chosen linter and returns the exit code.
pub fn run(global: &GlobalArgs, args: Args) -> i32 {
    match args.what {
        What::Telemetry(a) => telemetry::run(global, a),
        What::Source(a) => source::run(global, a),
        What::Alerts(a) => alerts::run(global, a),
    }
}
