//! Exporters writing OTLP JSON lines, and metric-export accounting.
//!
//! [`JsonLinesSpanExporter`] and [`JsonLinesMetricExporter`] write one
//! `ExportTraceServiceRequest` / `ExportMetricsServiceRequest` per line in the OTLP JSON
//! encoding (camelCase, hex ids, 64-bit integers as strings), the shape the OpenTelemetry
//! Collector's file exporter writes and `flowtel lint telemetry` reads. [`CountingMetricExporter`]
//! counts metric batches an exporter failed to deliver. Choosing an exporter is `init`'s job.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::metrics::Temporality;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

use crate::violations::{Rule, Violations};

type Sink = Arc<Mutex<BufWriter<File>>>;

fn write_line(sink: &Sink, value: &impl serde::Serialize) -> OTelSdkResult {
    let mut w = sink.lock().unwrap_or_else(PoisonError::into_inner);
    serde_json::to_writer(&mut *w, value)
        .map_err(|e| OTelSdkError::InternalFailure(e.to_string()))?;
    w.write_all(b"\n")
        .and_then(|()| w.flush())
        .map_err(|e| OTelSdkError::InternalFailure(e.to_string()))
}

fn create(path: &Path) -> std::io::Result<Sink> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    Ok(Arc::new(Mutex::new(BufWriter::new(File::create(path)?))))
}

/// Writes spans as OTLP JSON lines (`ExportTraceServiceRequest` per line).
#[derive(Debug)]
pub struct JsonLinesSpanExporter {
    sink: Sink,
    resource: ResourceAttributesWithSchema,
}

impl JsonLinesSpanExporter {
    /// Creates (truncates) the file at `path`.
    pub fn create(path: &Path) -> std::io::Result<Self> {
        Ok(JsonLinesSpanExporter {
            sink: create(path)?,
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

/// Writes metrics as OTLP JSON lines (`ExportMetricsServiceRequest` per line), cumulative.
#[derive(Debug)]
pub struct JsonLinesMetricExporter {
    sink: Sink,
}

impl JsonLinesMetricExporter {
    /// Creates (truncates) the file at `path`.
    pub fn create(path: &Path) -> std::io::Result<Self> {
        Ok(JsonLinesMetricExporter {
            sink: create(path)?,
        })
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
