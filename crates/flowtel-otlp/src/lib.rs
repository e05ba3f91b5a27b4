//! Reads exported telemetry into one compact in-memory form, streaming.
//!
//! `flowtel-otlp` turns what OpenTelemetry exporters and Prometheus endpoints write into
//! [`Batch`]es of a small, reader-independent model (resources → scopes → spans, metrics, log
//! records), one batch at a time, so memory is bounded by the largest batch and not by the file.
//!
//! Inputs: OTLP JSON lines (Collector `file` exporter, Python `opentelemetry-exporter-otlp-json-file`),
//! OTLP JSON documents, OTLP protobuf (single message or length-delimited), Prometheus text 0.0.4
//! and OpenMetrics text (files or `http://` scrapes), any of them gzip-compressed, from a file or
//! stdin (`-`). The format is detected from the content.
//!
//! ```no_run
//! for batch in flowtel_otlp::open("traces.jsonl")? {
//!     let batch = batch?;
//!     for span in batch.spans() {
//!         println!("{} {} at {}", batch.origin.file, span.item.name, span.pointer());
//!     }
//! }
//! # Ok::<(), flowtel_otlp::Error>(())
//! ```
//!
//! A command reading a list of inputs (files, `-`, URLs) runs [`read_inputs`] with its own
//! [`InputSink`].
//!
//! Request bodies of an OTLP/HTTP receiver decode with [`decode_request`] (gzip, JSON or
//! protobuf by `Content-Type`), or directly with [`decode_proto`] and [`decode_json`].
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod de;
pub mod error;
pub mod exposition;
pub mod inputs;
mod io;
pub mod json;
pub mod model;
mod origin;
pub mod prometheus;
pub mod proto;
pub mod reader;
pub mod sampling;
pub mod scrape;
pub mod spanview;
mod value;

pub use error::{Error, ErrorKind, Result};
pub use exposition::{Exposition, MetricFamily, MetricType, Sample};
pub use inputs::{InputPosition, InputSink, MAX_ERRORS_PER_INPUT, read_inputs};
pub use json::{JsonDocumentReader, JsonLinesReader, JsonRequest, decode_json};
pub use model::*;
pub use proto::{Framing, Message, ProtoReader, decode_proto, from_message};
pub use reader::{
    DEFAULT_MAX_BATCH_BYTES, Raw, ReadOptions, TelemetryReader, decode_request, detect_format,
    from_reader, open,
};
pub use scrape::scrape;
pub use spanview::{KeyValueView, LinkView, SpanView, SpanViewSink, ValueView};
