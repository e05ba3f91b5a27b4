//! Bounded shutdown: dropping a [`crate::Telemetry`] flushes and shuts down its providers within
//! a deadline, whatever the collector does (refuses, hangs after accepting, answers slowly,
//! resets). The providers are shut down on their own threads, in parallel; when the deadline
//! passes the threads are left behind (the process may exit under them) and what could not be
//! sent is counted as `flowtel.violations{rule="export-dropped"}` and reported once, at warn
//! level, on stderr and through `tracing`.
//!
//! What could not be sent is known exactly for spans: `CountingProcessor` counts the sampled
//! spans that end, `CountingSpanExporter` the spans the exporter delivered or failed (failures
//! are counted as drops when they happen); the difference when shutdown ends is what was still
//! queued, or dropped by the batch processor's full queue. A metric collection that did not
//! finish counts as one dropped batch.
//!
//! The deadline is [`DEFAULT_SHUTDOWN_TIMEOUT`], `FLOWTEL_SHUTDOWN_TIMEOUT` (milliseconds, as
//! `OTEL_*_TIMEOUT` variables are) or [`crate::TelemetryBuilder::shutdown_timeout`].

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use opentelemetry::Context;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::trace::{SdkTracerProvider, Span, SpanData, SpanExporter, SpanProcessor};

use crate::violations::{Rule, Violations};

/// How long dropping a [`crate::Telemetry`] may take by default: well inside Kubernetes' 30 s
/// termination grace period, long enough for a healthy collector to take the last batch.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(3);

/// The environment variable that sets the shutdown deadline, in milliseconds.
pub const SHUTDOWN_TIMEOUT_ENV: &str = "FLOWTEL_SHUTDOWN_TIMEOUT";

/// The deadline from [`SHUTDOWN_TIMEOUT_ENV`], when it is set to a number of milliseconds.
pub(crate) fn timeout_from_env() -> Option<Duration> {
    std::env::var(SHUTDOWN_TIMEOUT_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_millis)
}

/// Counts of spans through the export pipeline.
#[derive(Debug, Default)]
pub(crate) struct SpanAccounting {
    ended: AtomicU64,
    delivered: AtomicU64,
    failed: AtomicU64,
}

impl SpanAccounting {
    /// Spans that ended sampled but were neither delivered nor counted as failed.
    fn unsent(&self) -> u64 {
        let ended = self.ended.load(Ordering::Relaxed);
        let done = self.delivered.load(Ordering::Relaxed) + self.failed.load(Ordering::Relaxed);
        ended.saturating_sub(done)
    }
}

/// Wraps the batch span processor and counts the sampled spans handed to it.
#[derive(Debug)]
pub(crate) struct CountingProcessor<P> {
    inner: P,
    accounting: Arc<SpanAccounting>,
}

impl<P> CountingProcessor<P> {
    pub(crate) fn new(inner: P, accounting: Arc<SpanAccounting>) -> Self {
        CountingProcessor { inner, accounting }
    }
}

impl<P: SpanProcessor> SpanProcessor for CountingProcessor<P> {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        self.inner.on_start(span, cx);
    }

    fn on_end(&self, span: SpanData) {
        if span.span_context.is_sampled() {
            self.accounting.ended.fetch_add(1, Ordering::Relaxed);
        }
        self.inner.on_end(span);
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &opentelemetry_sdk::Resource) {
        self.inner.set_resource(resource);
    }
}

/// Counts the spans the wrapped exporter delivered or failed to deliver.
#[derive(Debug)]
pub(crate) struct CountingSpanExporter<E> {
    inner: E,
    accounting: Arc<SpanAccounting>,
}

impl<E> CountingSpanExporter<E> {
    pub(crate) fn new(inner: E, accounting: Arc<SpanAccounting>) -> Self {
        CountingSpanExporter { inner, accounting }
    }
}

impl<E: SpanExporter> SpanExporter for CountingSpanExporter<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let n = batch.len() as u64;
        let result = self.inner.export(batch).await;
        let counter = if result.is_ok() {
            &self.accounting.delivered
        } else {
            &self.accounting.failed
        };
        counter.fetch_add(n, Ordering::Relaxed);
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &opentelemetry_sdk::Resource) {
        self.inner.set_resource(resource);
    }
}

/// What a bounded shutdown achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Outcome {
    /// Spans that could not be sent (still queued at the deadline, or dropped from a full queue).
    pub spans_unsent: u64,
    /// Whether the last metric collection was not delivered in time.
    pub metrics_unsent: bool,
    /// Whether the deadline passed before both providers finished.
    pub timed_out: bool,
}

/// Shuts both providers down in parallel and returns within `deadline` (plus thread start-up),
/// counting and reporting what could not be sent.
pub(crate) fn shut_down(
    tracer: &SdkTracerProvider,
    meter: &SdkMeterProvider,
    deadline: Duration,
    accounting: Option<&SpanAccounting>,
    violations: &Violations,
) -> Outcome {
    let start = Instant::now();
    // (which provider: traces?, whether it shut down cleanly)
    let (tx, rx) = std::sync::mpsc::channel::<(bool, bool)>();
    let mut pending = 0;
    let traces = tracer.clone();
    let t = tx.clone();
    if std::thread::Builder::new()
        .name("flowtel-shutdown-traces".into())
        .spawn(move || {
            let ok = traces.shutdown_with_timeout(deadline).is_ok();
            let _ = t.send((true, ok));
        })
        .is_ok()
    {
        pending += 1;
    }
    let metrics = meter.clone();
    if std::thread::Builder::new()
        .name("flowtel-shutdown-metrics".into())
        .spawn(move || {
            let ok = metrics.shutdown_with_timeout(deadline).is_ok();
            let _ = tx.send((false, ok));
        })
        .is_ok()
    {
        pending += 1;
    }
    let (mut traces_done, mut metrics_done) = (false, false);
    while pending > 0 {
        let left = deadline.saturating_sub(start.elapsed());
        match rx.recv_timeout(left) {
            Ok((true, _)) => traces_done = true,
            Ok((false, _)) => metrics_done = true,
            Err(_) => break,
        }
        pending -= 1;
    }
    let outcome = Outcome {
        spans_unsent: accounting.map_or(0, SpanAccounting::unsent),
        // A metric exporter that failed has counted its batch already.
        metrics_unsent: !metrics_done,
        timed_out: !(traces_done && metrics_done),
    };
    report(&outcome, deadline, violations);
    outcome
}

fn report(outcome: &Outcome, deadline: Duration, violations: &Violations) {
    violations.count(Rule::ExportDropped, outcome.spans_unsent, || {
        "spans could not be exported before shutdown".into()
    });
    violations.count(
        Rule::ExportDropped,
        u64::from(outcome.metrics_unsent),
        || "the last metric batch could not be exported before shutdown".into(),
    );
    if outcome.spans_unsent == 0 && !outcome.metrics_unsent && !outcome.timed_out {
        return;
    }
    let what = format!(
        "{} span(s){} not exported{}",
        outcome.spans_unsent,
        if outcome.metrics_unsent {
            " and the last metric batch"
        } else {
            ""
        },
        if outcome.timed_out {
            format!(
                ": the collector did not take them within the shutdown deadline of {} ms \
                 ({SHUTDOWN_TIMEOUT_ENV})",
                deadline.as_millis()
            )
        } else {
            ": the exporter failed or its queue was full".into()
        }
    );
    eprintln!("WARN flowtel: {what}; counted in flowtel.violations{{rule=\"export-dropped\"}}");
    tracing::warn!(target: "flowtel", "{what}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsent_is_ended_minus_delivered_and_failed() {
        let a = SpanAccounting::default();
        a.ended.store(10, Ordering::Relaxed);
        a.delivered.store(6, Ordering::Relaxed);
        a.failed.store(1, Ordering::Relaxed);
        assert_eq!(a.unsent(), 3);
        a.delivered.store(20, Ordering::Relaxed);
        assert_eq!(a.unsent(), 0);
    }
}
