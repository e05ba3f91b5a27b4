//! What both transports share: the state the request handlers and the run loop hold, the
//! queue of decoded batches to the linter, and how a rejected request becomes a finding.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use flowtel_conventions::rules::telemetry::MALFORMED_TELEMETRY;
use flowtel_conventions::{Finding, Location, Severity};
use flowtel_otlp::{Batch, Signal};

use crate::options::LiveOptions;

/// Shared between the request handlers and the run loop.
pub(crate) struct Shared {
    pub start: Instant,
    /// Milliseconds since `start` of the last request.
    pub last_request_ms: AtomicU64,
    pub requests: AtomicU64,
    pub rejected: AtomicU64,
    /// Rejections by transport and status (the reject path only; never the success path).
    pub rejections: std::sync::Mutex<std::collections::BTreeMap<String, u64>>,
    /// The findings of the first rejected requests (at most the linter's per-input limit).
    pub rejected_findings: std::sync::Mutex<Vec<Finding>>,
    pub bytes: AtomicU64,
    pub sequence: AtomicU64,
    pub options: LiveOptions,
    pub permits: tokio::sync::Semaphore,
    /// Request body bytes that may be held while bodies are read, in KiB.
    pub body_budget: tokio::sync::Semaphore,
    pub to_linter: std::sync::mpsc::SyncSender<Box<Batch>>,
    /// Where accepted requests are saved (`--save`).
    pub saver: Option<crate::save::Saver>,
}

impl Shared {
    pub fn touch(&self) {
        let ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_request_ms.store(ms, Ordering::Relaxed);
    }
}

/// The body budget in KiB: `max_concurrency` bodies of `max_body_bytes`, at least one.
pub(crate) fn body_budget_kib(options: &LiveOptions) -> usize {
    let one = options.max_body_bytes.div_ceil(1024).max(1);
    one.saturating_mul(options.max_concurrency.max(1))
        .min(tokio::sync::Semaphore::MAX_PERMITS)
}

/// Queues a decoded batch for the linter (waiting while the queue is full), named after the
/// endpoint and numbered by request.
pub(crate) fn queue(shared: &Shared, signal: Signal, mut batch: flowtel_otlp::Batch, seq: u64) {
    // The request number stands in for the line: findings say which request it was.
    batch.origin.file = source_name(signal).into();
    batch.origin.line = Some(seq);
    let _ = shared.to_linter.send(Box::new(batch));
}

/// The file name findings of received telemetry carry.
pub(crate) fn source_name(signal: Signal) -> String {
    format!("live:/v1/{signal}")
}

/// Counts a rejected request and records it as a finding (`via` HTTP or gRPC, with the status
/// it was answered with).
pub(crate) fn rejected(shared: &Shared, signal: Signal, via: &str, status: u16, message: &str) {
    shared.rejected.fetch_add(1, Ordering::Relaxed);
    *shared
        .rejections
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .entry(format!("{via} {status}"))
        .or_default() += 1;
    let seq = shared.sequence.fetch_add(1, Ordering::Relaxed) + 1;
    // Kept here, not queued behind the batches: a full queue never loses them, and a flood of
    // bad requests keeps only the first ones (the report lists only those anyway);
    // `rejections` counts them all.
    let mut kept = shared
        .rejected_findings
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if kept.len() >= flowtel_lint::telemetry::MAX_ERRORS_PER_INPUT {
        return;
    }
    kept.push(
        Finding::new(
            &MALFORMED_TELEMETRY,
            format!("a {via} request to /v1/{signal} was rejected ({status}): {message}"),
        )
        .at(Location::new(
            source_name(signal),
            u32::try_from(seq).unwrap_or(u32::MAX),
            1,
        ))
        // The sender was told; what it sent is a finding about it, not an input error of ours.
        .severity(Severity::Error)
        .subject("status", status.to_string()),
    );
}
