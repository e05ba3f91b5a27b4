//! OpenTelemetry SDK pipelines that build and aggregate for real but export nothing: span and
//! log processors that discard what ends, and a meter provider whose in-memory reader never
//! collects during a run. Benchmarks use them so both sides of a comparison pay the same SDK
//! work and no export.

use std::time::Duration;

use opentelemetry::InstrumentationScope;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{LogProcessor, SdkLogRecord};
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::{SdkTracerProvider, Span, SpanData, SpanProcessor};

/// Ends spans into nothing: span work is measured, export is not.
#[derive(Debug, Default, Clone, Copy)]
pub struct DiscardSpans;

impl SpanProcessor for DiscardSpans {
    fn on_start(&self, _span: &mut Span, _cx: &opentelemetry::Context) {}
    fn on_end(&self, _span: SpanData) {}
    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }
    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
}

/// Takes log records and drops them (after `black_box`, so building them is not optimised
/// away): the emitting thread's cost up to the exporter's queue.
#[derive(Debug, Default, Clone, Copy)]
pub struct DiscardLogs;

impl LogProcessor for DiscardLogs {
    fn emit(&self, record: &mut SdkLogRecord, _scope: &InstrumentationScope) {
        std::hint::black_box(record);
    }
    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }
    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
}

/// A reader into memory that collects once an hour: every record is aggregated, none exported
/// during a benchmark.
pub fn idle_reader() -> PeriodicReader<InMemoryMetricExporter> {
    PeriodicReader::builder(InMemoryMetricExporter::default())
        .with_interval(Duration::from_secs(3600))
        .build()
}

/// A meter provider with an [`idle_reader`].
pub fn meter_provider() -> SdkMeterProvider {
    SdkMeterProvider::builder()
        .with_reader(idle_reader())
        .build()
}

/// A tracer provider ending spans into [`DiscardSpans`].
pub fn tracer_provider() -> SdkTracerProvider {
    SdkTracerProvider::builder()
        .with_span_processor(DiscardSpans)
        .build()
}
