//! What a run returns: the findings, what arrived, and why it ended.

use flowtel_analyze::stream::StreamStats;
use flowtel_conventions::Finding;

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
    /// With `--save`: accepted requests that could not be written to the folder.
    pub save_failures: u64,
    /// Why the first of them could not.
    pub save_error: Option<String>,
}

/// Why a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// No request for [`LiveOptions::until_idle`](crate::LiveOptions::until_idle).
    Idle,
    /// [`LiveOptions::duration`](crate::LiveOptions::duration) passed.
    Duration,
    /// Ctrl-C (SIGINT) or SIGTERM.
    Interrupted,
}
