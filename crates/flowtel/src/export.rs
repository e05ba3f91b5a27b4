//! Exporters writing OTLP JSON lines, and metric-export accounting.
//!
//! [`JsonLinesSpanExporter`], [`JsonLinesMetricExporter`] and [`JsonLinesLogExporter`] write one
//! `ExportTraceServiceRequest` / `ExportMetricsServiceRequest` / `ExportLogsServiceRequest` per line in the OTLP JSON
//! encoding (camelCase, hex ids, 64-bit integers as strings), the shape the OpenTelemetry
//! Collector's file exporter writes and `flowtel lint telemetry` reads. [`CountingMetricExporter`]
//! counts metric batches an exporter failed to deliver. Choosing an exporter is `init`'s job.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_proto::transform::logs::tonic::group_logs_by_resource_and_scope;
use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::metrics::Temporality;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

use crate::violations::{Rule, Violations};

type Sink = Arc<Mutex<File>>;

/// Writes one whole line with one `write` on a file opened for appending, so several
/// exporters (e.g. two services of one process) can share a file without tearing lines.
fn write_line(sink: &Sink, value: &impl serde::Serialize) -> OTelSdkResult {
    let mut line =
        serde_json::to_vec(value).map_err(|e| OTelSdkError::InternalFailure(e.to_string()))?;
    line.push(b'\n');
    let mut file = sink.lock().unwrap_or_else(PoisonError::into_inner);
    file.write_all(&line)
        .map_err(|e| OTelSdkError::InternalFailure(e.to_string()))
}

fn open(path: &Path) -> std::io::Result<Sink> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let file = OpenOptions::new().create(true).append(true).open(path)?;
    Ok(Arc::new(Mutex::new(file)))
}

/// Writes spans as OTLP JSON lines (`ExportTraceServiceRequest` per line).
#[derive(Debug)]
pub struct JsonLinesSpanExporter {
    sink: Sink,
    resource: ResourceAttributesWithSchema,
}

impl JsonLinesSpanExporter {
    /// Appends to the file at `path` (created when missing).
    pub fn append(path: &Path) -> std::io::Result<Self> {
        Ok(JsonLinesSpanExporter {
            sink: open(path)?,
            resource: ResourceAttributesWithSchema::default(),
        })
    }
}

impl SpanExporter for JsonLinesSpanExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        if batch.is_empty() {
            return Ok(());
        }
        let request = ExportTraceServiceRequest {
            resource_spans: group_spans_by_resource_and_scope(batch, &self.resource),
        };
        write_line(&self.sink, &request)
    }

    fn set_resource(&mut self, resource: &opentelemetry_sdk::Resource) {
        self.resource = resource.into();
    }
}

/// Writes log records as OTLP JSON lines (`ExportLogsServiceRequest` per line).
#[derive(Debug)]
pub struct JsonLinesLogExporter {
    sink: Sink,
    resource: ResourceAttributesWithSchema,
}

impl JsonLinesLogExporter {
    /// Appends to the file at `path` (created when missing).
    pub fn append(path: &Path) -> std::io::Result<Self> {
        Ok(JsonLinesLogExporter {
            sink: open(path)?,
            resource: ResourceAttributesWithSchema::default(),
        })
    }
}

impl opentelemetry_sdk::logs::LogExporter for JsonLinesLogExporter {
    async fn export(&self, batch: opentelemetry_sdk::logs::LogBatch<'_>) -> OTelSdkResult {
        let request = ExportLogsServiceRequest {
            resource_logs: group_logs_by_resource_and_scope(&batch, &self.resource),
        };
        if request.resource_logs.is_empty() {
            return Ok(());
        }
        write_line(&self.sink, &request)
    }

    fn set_resource(&mut self, resource: &opentelemetry_sdk::Resource) {
        self.resource = resource.into();
    }
}

/// Writes metrics as OTLP JSON lines (`ExportMetricsServiceRequest` per line), cumulative.
#[derive(Debug)]
pub struct JsonLinesMetricExporter {
    sink: Sink,
}

impl JsonLinesMetricExporter {
    /// Appends to the file at `path` (created when missing).
    pub fn append(path: &Path) -> std::io::Result<Self> {
        Ok(JsonLinesMetricExporter { sink: open(path)? })
    }
}

impl PushMetricExporter for JsonLinesMetricExporter {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        let request = ExportMetricsServiceRequest::from(metrics);
        if request
            .resource_metrics
            .iter()
            .all(|r| r.scope_metrics.iter().all(|s| s.metrics.is_empty()))
        {
            return Ok(());
        }
        write_line(&self.sink, &request)
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }

    fn temporality(&self) -> Temporality {
        Temporality::Cumulative
    }
}

/// Counts metric batches the wrapped exporter failed to deliver as `export-dropped`.
#[derive(Debug)]
pub struct CountingMetricExporter<E> {
    inner: E,
    violations: Arc<Violations>,
}

impl<E> CountingMetricExporter<E> {
    /// Wraps `inner`.
    pub fn new(inner: E, violations: Arc<Violations>) -> Self {
        CountingMetricExporter { inner, violations }
    }
}

impl<E: PushMetricExporter> PushMetricExporter for CountingMetricExporter<E> {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        let result = self.inner.export(metrics).await;
        if result.is_err() {
            self.violations.count(Rule::ExportDropped, 1, || {
                "the metric exporter failed; a metric batch was dropped".into()
            });
        }
        result
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn temporality(&self) -> Temporality {
        self.inner.temporality()
    }
}
