//! `flowtel live --analyze`: received spans assembled into traces as they arrive, each completed
//! trace's map and critical path added to mergeable aggregates, and those served for Prometheus.
//!
//! The work is [`flowtel_analyze::stream::TraceStream`]; this module runs it on its own thread
//! (fed by the lint thread, after linting, through a bounded queue, so a slow analysis slows the
//! receiver rather than growing memory), completes idle traces on a timer, and serves
//! `GET /metrics` (Prometheus text 0.0.4) on [`AnalyzeOptions::metrics_listen`]. Many instances
//! run behind the OpenTelemetry Collector's `loadbalancing` exporter routing by trace id, and
//! Prometheus sums their series: see the README.

use std::net::SocketAddr;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use flowtel_analyze::stream::{StreamOptions, StreamStats, TraceStream};
use flowtel_conventions::Registry;
use flowtel_otlp::Batch;

/// Default address of the metrics endpoint.
pub const DEFAULT_METRICS_LISTEN: &str = "127.0.0.1:9464";

/// Batches waiting for the analysis.
const QUEUE: usize = 16;

/// How `--analyze` runs.
#[derive(Debug, Clone)]
pub struct AnalyzeOptions {
    /// Where `GET /metrics` is served (port 0 picks a free port; see [`crate::Bound::metrics`]).
    pub metrics_listen: SocketAddr,
    /// Trace completion and memory limits.
    pub stream: StreamOptions,
}

impl Default for AnalyzeOptions {
    fn default() -> Self {
        AnalyzeOptions {
            metrics_listen: SocketAddr::from(([127, 0, 0, 1], 9464)),
            stream: StreamOptions::default(),
        }
    }
}

/// The running analysis: its input queue, its thread and the endpoint's state.
pub(crate) struct Analysis {
    pub to_analysis: std::sync::mpsc::SyncSender<Box<Batch>>,
    thread: std::thread::JoinHandle<()>,
    stream: Arc<Mutex<TraceStream>>,
}

impl Analysis {
    /// Starts the analysis thread.
    pub fn start(reg: &Registry, options: &AnalyzeOptions) -> std::io::Result<Analysis> {
        let stream = Arc::new(Mutex::new(TraceStream::new(reg, options.stream)));
        let (tx, rx) = std::sync::mpsc::sync_channel::<Box<Batch>>(QUEUE);
        let shared = Arc::clone(&stream);
        let idle = options.stream.trace_idle;
        let thread = std::thread::Builder::new()
            .name("flowtel-live-analyze".into())
            .spawn(move || run_stream(&shared, &rx, idle))?;
        Ok(Analysis {
            to_analysis: tx,
            thread,
            stream,
        })
    }

    /// Binds the metrics endpoint and serves it on the current runtime until `stop` resolves.
    pub async fn serve(
        &self,
        addr: SocketAddr,
        stop: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<std::io::Result<()>>)> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let bound = listener.local_addr()?;
        let app = Router::new()
            .route("/metrics", get(metrics))
            .with_state(Arc::clone(&self.stream));
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(stop)
                .await
        });
        Ok((bound, task))
    }

    /// Waits for the queue to drain (the sender must be gone), analyses the traces still open
    /// and returns the counts.
    pub fn finish(self) -> StreamStats {
        let Analysis {
            to_analysis,
            thread,
            stream,
        } = self;
        drop(to_analysis);
        let _ = thread.join();
        let stream = stream.lock().unwrap_or_else(|p| p.into_inner());
        stream.stats()
    }
}

/// The analysis thread: batches as they come, idle traces completed at least every quarter of
/// `idle` (and every second), everything left analysed when the queue closes.
fn run_stream(stream: &Mutex<TraceStream>, rx: &Receiver<Box<Batch>>, idle: Duration) {
    let tick = (idle / 4).clamp(Duration::from_millis(10), Duration::from_secs(1));
    let mut last_sweep = Instant::now();
    loop {
        let received = rx.recv_timeout(tick);
        let now = Instant::now();
        let mut s = stream.lock().unwrap_or_else(|p| p.into_inner());
        match received {
            Ok(batch) => s.add_batch(&batch, now),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                s.finish();
                return;
            }
        }
        if now.duration_since(last_sweep) >= tick {
            s.sweep(now);
            last_sweep = now;
        }
    }
}

async fn metrics(State(stream): State<Arc<Mutex<TraceStream>>>) -> impl IntoResponse {
    let text = {
        let s = stream.lock().unwrap_or_else(|p| p.into_inner());
        s.exposition()
    };
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
}
