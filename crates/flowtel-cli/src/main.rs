//! The `flowtel` command: argument parsing and wiring only.
//!
//! Each subcommand lives in its own module under `cmd/` and returns an exit code; the work itself
//! is done by the library crates. Exit codes follow the contract: 0 clean, 1 findings, 2 usage
//! or input error.
#![forbid(unsafe_code)]

mod cmd;
mod common;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use common::GlobalArgs;

/// flowtel: one conventions registry for traces, metrics and flows, enforced everywhere.
#[derive(Parser)]
#[command(name = "flowtel", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Validate a conventions registry (a file or a folder).
    Check(cmd::check::Args),
    /// Classify the changes between two registries and check the version bump.
    Diff(cmd::diff::Args),
    /// Explain what a lint rule checks, why, and how to fix it.
    Explain(cmd::explain::Args),
    /// Print the JSON Schema of conventions files (for yaml-language-server).
    Schema(cmd::schema::Args),
    /// Lint exported telemetry or Rust sources against the conventions.
    Lint(cmd::lint::Args),
    /// Receive OTLP (HTTP and gRPC) and lint what arrives; write the report when idle or done.
    Live(cmd::live::Args),
    /// Service dependency map per flow: edge health, latency, retries (human, json, mermaid, dot, svg).
    Map(cmd::analyze::MapArgs),
    /// Critical path per trace and per flow: where time goes, what drives the tail.
    CriticalPath(cmd::analyze::CriticalPathArgs),
    /// P50/P95/P99 per flow and step against budgets and SLO thresholds; exit 1 over budget.
    Latency(cmd::analyze::LatencyArgs),
    /// One self-contained HTML page: map, critical paths, latency distributions.
    Report(cmd::analyze::ReportArgs),
    /// Generate Prometheus SLO rules: recording rules, multi-window burn-rate alerts, early warnings.
    Slo(cmd::govern::Args),
    /// Generate the Alertmanager configuration: routes by flow and owner, inhibitions, receivers.
    Alerts(cmd::govern::Args),
    /// Generate OpenTelemetry Collector tail sampling per flow (and its trace-id load balancer).
    Sampling(cmd::govern::Args),
    /// Generate OpenSLO v1 documents of the flows' SLOs.
    Openslo(cmd::govern::Args),
    /// Generate Grafana dashboards: one per flow (SLO, RED per step, saturation, dependencies) and an overview.
    Dashboards(cmd::govern::Args),
    /// Generate Markdown runbooks, one per flow: owner, SLOs, steps, alerts, queries, what to check before scaling.
    Runbooks(cmd::govern::Args),
    /// Release regression check: latency per flow and step, before against after, with budgets.
    Regress(cmd::regress::Args),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // clap uses 0 for --help/--version and 2 for usage errors, as the contract wants.
            return ExitCode::from(e.exit_code() as u8);
        }
    };
    let code = match cli.command {
        Command::Check(a) => cmd::check::run(&cli.global, a),
        Command::Diff(a) => cmd::diff::run(&cli.global, a),
        Command::Explain(a) => cmd::explain::run(&cli.global, a),
        Command::Schema(a) => cmd::schema::run(&cli.global, a),
        Command::Lint(a) => cmd::lint::run(&cli.global, a),
        Command::Live(a) => cmd::live::run(&cli.global, a),
        Command::Map(a) => cmd::analyze::run_map(&cli.global, a),
        Command::CriticalPath(a) => cmd::analyze::run_critical_path(&cli.global, a),
        Command::Latency(a) => cmd::analyze::run_latency(&cli.global, a),
        Command::Report(a) => cmd::analyze::run_report(&cli.global, a),
        Command::Slo(a) => cmd::govern::run(&cli.global, flowtel_govern::Generator::Slo, a),
        Command::Alerts(a) => cmd::govern::run(&cli.global, flowtel_govern::Generator::Alerts, a),
        Command::Openslo(a) => cmd::govern::run(&cli.global, flowtel_govern::Generator::OpenSlo, a),
        Command::Dashboards(a) => {
            cmd::govern::run(&cli.global, flowtel_govern::Generator::Dashboards, a)
        }
        Command::Runbooks(a) => {
            cmd::govern::run(&cli.global, flowtel_govern::Generator::Runbooks, a)
        }
        Command::Sampling(a) => {
            cmd::govern::run(&cli.global, flowtel_govern::Generator::Sampling, a)
        }
        Command::Regress(a) => cmd::regress::run(&cli.global, a),
    };
    ExitCode::from(code as u8)
}
