//! Where a batch was read from, and in which format.

use std::fmt;
use std::sync::Arc;

/// The format an input was read as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// OTLP JSON, one request per line.
    OtlpJsonLines,
    /// OTLP JSON, one (possibly pretty-printed) document, or several concatenated.
    OtlpJsonDocument,
    /// OTLP protobuf.
    OtlpProtobuf,
    /// Prometheus text exposition format 0.0.4.
    PrometheusText,
    /// OpenMetrics text format 1.0.
    OpenMetricsText,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::OtlpJsonLines => "OTLP JSON lines",
            Format::OtlpJsonDocument => "OTLP JSON document",
            Format::OtlpProtobuf => "OTLP protobuf",
            Format::PrometheusText => "Prometheus text 0.0.4",
            Format::OpenMetricsText => "OpenMetrics text",
        })
    }
}

/// Where a batch came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// The file name as given (`-` for stdin, the URL of a scrape).
    pub file: Arc<str>,
    /// 1-based line where the batch starts (text input); `None` for protobuf.
    pub line: Option<u64>,
    /// Byte offset of the batch in the (decompressed) input.
    pub byte_offset: u64,
    /// The format the batch was read as.
    pub format: Format,
    /// Whether the input was gzip-compressed.
    pub gzip: bool,
}
