//! How a receiver runs ([`LiveOptions`]) and the addresses it bound ([`Bound`]).

use std::net::SocketAddr;
use std::time::Duration;

use crate::analyze::AnalyzeOptions;

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
    /// OTLP/HTTP address (port 0 picks a free port; see the `on_ready` callback of [`run`](crate::run)).
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
    /// Also keep every accepted request in this folder (`--save`): per signal,
    /// `<signal>.binpb` (protobuf, length-framed) and `<signal>.jsonl` (JSON requests), files
    /// every flowtel command reads. The folder's files of an earlier run are replaced.
    pub save: Option<std::path::PathBuf>,
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
            save: None,
        }
    }
}
