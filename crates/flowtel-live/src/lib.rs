//! A live OTLP receiver that lints what arrives.
//!
//! `flowtel-live` listens for OTLP/HTTP on `/v1/traces`, `/v1/metrics` and `/v1/logs`
//! (protobuf or JSON, optionally gzip-compressed) and for OTLP/gRPC (the three collector
//! services, gzip accepted), decodes each request with `flowtel-otlp` and
//! hands the batch to a [`flowtel_lint::telemetry::TelemetryLinter`] running on its own thread.
//! When the run ends (idle for a while, a fixed duration, or Ctrl-C) it returns the findings,
//! so CI can start it, exercise a service, and fail the build on what the service emitted.
//!
//! Answers follow the OTLP/HTTP specification: `200` with an empty `Export*ServiceResponse`
//! (flowtel never rejects data, so there is no partial success to report), `400` with a
//! `google.rpc.Status` naming the problem for malformed bodies, `413` for bodies over the
//! limit, `408` for bodies that do not arrive within [`LiveOptions::body_timeout`] (slowly
//! dripped or stalled), `415` for other content types or encodings, each in the request's
//! encoding. Memory is bounded whatever clients do: request bodies being read share a budget of
//! [`LiveOptions::max_concurrency`] x [`LiveOptions::max_body_bytes`] bytes, taken as their
//! bytes arrive (so a client dripping a body holds only what it sent, and only until its
//! timeout), at most [`LiveOptions::max_concurrency`] bodies are decoded at once, and decoded
//! batches wait for the linter in a queue of [`LiveOptions::queue`]. With
//! [`LiveOptions::save`] every accepted request is also kept, as it arrived, in files the other
//! commands read (see the `save` module).
//!
//! ```no_run
//! # fn main() -> std::io::Result<()> {
//! let reg = flowtel_conventions::check(std::path::Path::new("conventions")).registry.unwrap();
//! let options = flowtel_live::LiveOptions {
//!     until_idle: Some(std::time::Duration::from_secs(5)),
//!     ..Default::default()
//! };
//! let report = flowtel_live::run(std::sync::Arc::new(reg), options, |bound| {
//!     eprintln!("listening on http://{}", bound.http);
//! })?;
//! println!("{} findings from {} requests", report.findings.len(), report.stats.requests);
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod analyze;
mod grpc;
mod http;
mod options;
mod report;
mod save;
mod server;
mod shared;
mod status;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use flowtel_conventions::Registry;
use flowtel_lint::telemetry::TelemetryLinter;

pub use analyze::{AnalyzeOptions, DEFAULT_METRICS_LISTEN};
pub use flowtel_analyze::stream::{StreamOptions, StreamStats};
pub use options::{Bound, DEFAULT_GRPC_LISTEN, DEFAULT_HTTP_LISTEN, LiveOptions};
pub use report::{EndReason, LiveReport, ReceiverStats};
use shared::{Shared, body_budget_kib};

/// Runs the receiver until it is idle, its duration passes or Ctrl-C, and returns the report.
/// `on_ready` is called with the bound addresses once the receiver accepts requests.
pub fn run(
    reg: Arc<Registry>,
    options: LiveOptions,
    on_ready: impl FnOnce(Bound),
) -> std::io::Result<LiveReport> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<Box<flowtel_otlp::Batch>>(options.queue.max(1));
    let analysis = match &options.analyze {
        Some(a) => Some(analyze::Analysis::start(&reg, a)?),
        None => None,
    };
    let to_analysis = analysis.as_ref().map(|a| a.to_analysis.clone());
    let lint_reg = Arc::clone(&reg);
    let linter = std::thread::Builder::new()
        .name("flowtel-live-lint".into())
        .spawn(move || {
            let mut linter = TelemetryLinter::new(&lint_reg);
            while let Ok(b) = rx.recv() {
                linter.batch(&b);
                if let Some(to) = &to_analysis {
                    let _ = to.send(b);
                }
            }
            let items = linter.stats().items;
            let (findings, coverage) = linter.finish_with_coverage();
            (findings, coverage, items)
        })?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let saver = match &options.save {
        Some(dir) => Some(save::Saver::create(dir)?),
        None => None,
    };
    let shared = Arc::new(Shared {
        start: Instant::now(),
        last_request_ms: AtomicU64::new(0),
        requests: AtomicU64::new(0),
        rejected: AtomicU64::new(0),
        rejections: Default::default(),
        rejected_findings: Default::default(),
        bytes: AtomicU64::new(0),
        sequence: AtomicU64::new(0),
        permits: tokio::sync::Semaphore::new(options.max_concurrency.max(1)),
        body_budget: tokio::sync::Semaphore::new(body_budget_kib(&options)),
        options: options.clone(),
        to_linter: tx,
        saver,
    });
    let (stop_metrics, metrics_stopped) = tokio::sync::oneshot::channel::<()>();
    let metrics = match (&analysis, &options.analyze) {
        (Some(a), Some(o)) => Some(runtime.block_on(a.serve(o.metrics_listen, async {
            let _ = metrics_stopped.await;
        }))?),
        _ => None,
    };
    let metrics_addr = metrics.as_ref().map(|(addr, _)| *addr);
    let on_ready = move |bound: Bound| {
        on_ready(Bound {
            metrics: metrics_addr,
            ..bound
        })
    };
    let ended = runtime.block_on(server::serve(Arc::clone(&shared), on_ready))?;
    let _ = stop_metrics.send(());
    if let Some((_, task)) = metrics {
        let _ = runtime.block_on(task);
    }
    // Requests in flight finish decoding before the runtime goes away.
    runtime.shutdown_timeout(Duration::from_secs(5));
    let stats = ReceiverStats {
        requests: shared.requests.load(Ordering::Relaxed),
        rejected: shared.rejected.load(Ordering::Relaxed),
        bytes: shared.bytes.load(Ordering::Relaxed),
        items: 0,
    };
    let (save_failures, save_error) = shared
        .saver
        .as_ref()
        .map(save::Saver::failures)
        .unwrap_or_default();
    let rejections = std::mem::take(
        &mut *shared
            .rejections
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    let rejected_findings = std::mem::take(
        &mut *shared
            .rejected_findings
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    drop(shared);
    let (mut findings, coverage, items) = linter
        .join()
        .map_err(|_| std::io::Error::other("the lint thread stopped unexpectedly"))?;
    // The lint thread's sender is gone with it: the analysis drains its queue and finishes.
    findings.extend(rejected_findings);
    flowtel_conventions::sort(&mut findings);
    let analysis = analysis.map(analyze::Analysis::finish);
    Ok(LiveReport {
        findings,
        coverage,
        stats: ReceiverStats { items, ..stats },
        rejections,
        ended,
        analysis,
        save_failures,
        save_error,
    })
}
