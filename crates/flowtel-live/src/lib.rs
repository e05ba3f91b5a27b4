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
//! batches wait for the linter in a queue of [`LiveOptions::queue`].
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
mod status;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use flowtel_conventions::{Finding, Registry};
use flowtel_lint::telemetry::TelemetryLinter;
use flowtel_otlp::Batch;

pub use analyze::{AnalyzeOptions, DEFAULT_METRICS_LISTEN};
pub use flowtel_analyze::stream::{StreamOptions, StreamStats};

/// Default OTLP/HTTP address.
pub const DEFAULT_HTTP_LISTEN: &str = "127.0.0.1:4318";

/// Default OTLP/gRPC address.
pub const DEFAULT_GRPC_LISTEN: &str = "127.0.0.1:4317";

/// The addresses a receiver listens on, once bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bound {
    /// OTLP/HTTP.
    pub http: SocketAddr,
    /// OTLP/gRPC, when enabled.
    pub grpc: Option<SocketAddr>,
    /// The Prometheus endpoint of `--analyze` (`/metrics`), when enabled.
    pub metrics: Option<SocketAddr>,
}

/// How the receiver runs.
#[derive(Debug, Clone)]
pub struct LiveOptions {
    /// OTLP/HTTP address (port 0 picks a free port; see the `on_ready` callback of [`run`]).
    pub listen: SocketAddr,
    /// OTLP/gRPC address (`TraceService`, `MetricsService`, `LogsService`); `None` serves
    /// OTLP/HTTP only.
    pub grpc_listen: Option<SocketAddr>,
    /// Largest request body accepted, compressed or inflated, in bytes.
    pub max_body_bytes: usize,
    /// Requests decoded at the same time; bodies being read share a budget of this many
    /// times [`LiveOptions::max_body_bytes`].
    pub max_concurrency: usize,
    /// Longest time a request body may take to arrive once its headers have; a slower
    /// request is answered `408` and its connection closed.
    pub body_timeout: Duration,
    /// Decoded batches waiting for the linter.
    pub queue: usize,
    /// Stop after this long without a request (counted from the start, too).
    pub until_idle: Option<Duration>,
    /// Stop after this long in any case.
    pub duration: Option<Duration>,
    /// Stop on Ctrl-C (SIGINT) or SIGTERM; the report of what arrived is still returned.
    pub stop_on_ctrl_c: bool,
    /// Also assemble traces and serve their aggregates for Prometheus (`--analyze`).
    pub analyze: Option<AnalyzeOptions>,
}

impl Default for LiveOptions {
    fn default() -> Self {
        LiveOptions {
            listen: SocketAddr::from(([127, 0, 0, 1], 4318)),
            grpc_listen: Some(SocketAddr::from(([127, 0, 0, 1], 4317))),
            max_body_bytes: 16 * 1024 * 1024,
            max_concurrency: 8,
            body_timeout: Duration::from_secs(10),
            queue: 4,
            until_idle: None,
            duration: None,
            stop_on_ctrl_c: true,
            analyze: None,
        }
    }
}

/// What a run received.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReceiverStats {
    /// Export requests answered with success.
    pub requests: u64,
    /// Requests answered with an error status (malformed, too large, unsupported).
    pub rejected: u64,
    /// Request body bytes received (as sent, before inflating).
    pub bytes: u64,
    /// Spans, metrics and log records linted.
    pub items: u64,
}

/// The result of a run.
#[derive(Debug)]
pub struct LiveReport {
    /// Lint findings over everything received (rejected requests are findings too, of the
    /// `malformed-telemetry` rule, as warnings: the sender was told).
    pub findings: Vec<Finding>,
    /// Visibility coverage of the conventions by everything received.
    pub coverage: flowtel_lint::telemetry::Coverage,
    /// Counts.
    pub stats: ReceiverStats,
    /// Rejected requests by how they were answered (`"HTTP 408"`, `"gRPC 3"`, ...), every one
    /// counted (the findings list only the first of them).
    pub rejections: std::collections::BTreeMap<String, u64>,
    /// Why the run ended.
    pub ended: EndReason,
    /// With `--analyze`: traces analysed, evicted, spans dropped.
    pub analysis: Option<StreamStats>,
}

/// Why a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// No request for [`LiveOptions::until_idle`].
    Idle,
    /// [`LiveOptions::duration`] passed.
    Duration,
    /// Ctrl-C (SIGINT) or SIGTERM.
    Interrupted,
}

/// Shared between the request handlers and the run loop.
pub(crate) struct Shared {
    pub start: Instant,
    /// Milliseconds since `start` of the last request.
    pub last_request_ms: AtomicU64,
    pub requests: AtomicU64,
    pub rejected: AtomicU64,
    /// Rejections by transport and status (the reject path only; never the success path).
    pub rejections: std::sync::Mutex<std::collections::BTreeMap<String, u64>>,
    pub bytes: AtomicU64,
    pub sequence: AtomicU64,
    pub options: LiveOptions,
    pub permits: tokio::sync::Semaphore,
    /// Request body bytes that may be held while bodies are read, in KiB.
    pub body_budget: tokio::sync::Semaphore,
    pub to_linter: std::sync::mpsc::SyncSender<Message>,
}

impl Shared {
    pub fn touch(&self) {
        let ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_request_ms.store(ms, Ordering::Relaxed);
    }
}

/// What the linter thread receives.
pub(crate) enum Message {
    Batch(Box<Batch>),
    Rejected(Box<Finding>),
}

/// The body budget in KiB: `max_concurrency` bodies of `max_body_bytes`, at least one.
pub(crate) fn body_budget_kib(options: &LiveOptions) -> usize {
    let one = options.max_body_bytes.div_ceil(1024).max(1);
    one.saturating_mul(options.max_concurrency.max(1))
        .min(tokio::sync::Semaphore::MAX_PERMITS)
}

/// Runs the receiver until it is idle, its duration passes or Ctrl-C, and returns the report.
/// `on_ready` is called with the bound addresses once the receiver accepts requests.
pub fn run(
    reg: Arc<Registry>,
    options: LiveOptions,
    on_ready: impl FnOnce(Bound),
) -> std::io::Result<LiveReport> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<Message>(options.queue.max(1));
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
            let mut rejected = Vec::new();
            while let Ok(m) = rx.recv() {
                match m {
                    Message::Batch(b) => {
                        linter.batch(&b);
                        if let Some(to) = &to_analysis {
                            let _ = to.send(b);
                        }
                    }
                    Message::Rejected(f) => {
                        let f = *f;
                        if rejected.len() < flowtel_lint::telemetry::MAX_ERRORS_PER_INPUT {
                            rejected.push(f);
                        }
                    }
                }
            }
            let items = linter.stats().items;
            let (mut findings, coverage) = linter.finish_with_coverage();
            findings.extend(rejected);
            flowtel_conventions::sort(&mut findings);
            (findings, coverage, items)
        })?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let shared = Arc::new(Shared {
        start: Instant::now(),
        last_request_ms: AtomicU64::new(0),
        requests: AtomicU64::new(0),
        rejected: AtomicU64::new(0),
        rejections: Default::default(),
        bytes: AtomicU64::new(0),
        sequence: AtomicU64::new(0),
        permits: tokio::sync::Semaphore::new(options.max_concurrency.max(1)),
        body_budget: tokio::sync::Semaphore::new(body_budget_kib(&options)),
        options: options.clone(),
        to_linter: tx,
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
    let ended = runtime.block_on(http::serve(Arc::clone(&shared), on_ready))?;
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
    let rejections = std::mem::take(
        &mut *shared
            .rejections
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    drop(shared);
    let (findings, coverage, items) = linter
        .join()
        .map_err(|_| std::io::Error::other("the lint thread stopped unexpectedly"))?;
    // The lint thread's sender is gone with it: the analysis drains its queue and finishes.
    let analysis = analysis.map(analyze::Analysis::finish);
    Ok(LiveReport {
        findings,
        coverage,
        stats: ReceiverStats { items, ..stats },
        rejections,
        ended,
        analysis,
    })
}
