//! The compact, reader-independent data model: a [`Batch`] (one `Export*ServiceRequest`, one
//! document or one scrape) holding resources → scopes → spans, metrics or log records.
//!
//! Lint and analysis code consumes these types without knowing the wire format. Every item can
//! name its place in the source with a JSON pointer ([`Located::pointer`]), and every batch
//! carries its [`Origin`]. The `Deserialize` impls implement the OTLP JSON mapping (camelCase and
//! snake_case keys, ids in hex or base64, 64-bit integers as strings or numbers, enums as numbers
//! or names); use the readers of this crate rather than calling them directly.

use std::fmt;

use serde::Deserialize;

use crate::de;
use crate::exposition::Exposition;
pub use crate::origin::{Format, Origin};
pub use crate::value::{AnyValue, KeyValue, attribute};

macro_rules! otlp_enum {
    (
        $(#[$meta:meta])*
        $name:ident, prefix = $prefix:literal,
        { $( $(#[$vmeta:meta])* $var:ident = $num:literal => $label:literal ),* $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $var, )*
            /// A number this version does not know.
            Unknown(i32),
        }

        impl $name {
            /// From the protobuf enum number.
            pub fn from_i32(n: i32) -> Self {
                match n {
                    $( $num => Self::$var, )*
                    other => Self::Unknown(other),
                }
            }

            /// The protobuf enum number.
            pub fn to_i32(self) -> i32 {
                match self {
                    $( Self::$var => $num, )*
                    Self::Unknown(n) => n,
                }
            }

            /// From the proto enum name, with or without its prefix
            #[doc = concat!("(`", $prefix, "`).")]
            pub fn from_name(name: &str) -> Option<Self> {
                match name.strip_prefix($prefix).unwrap_or(name) {
                    $( $label => Some(Self::$var), )*
                    _ => None,
                }
            }

            /// The proto enum name without its prefix (`UNKNOWN` for unknown numbers).
            pub fn name(self) -> &'static str {
                match self {
                    $( Self::$var => $label, )*
                    Self::Unknown(_) => "UNKNOWN",
                }
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::from_i32(0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self {
                    Self::Unknown(n) => write!(f, "{n}"),
                    other => f.write_str(other.name()),
                }
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                de::enum_any(d, stringify!($name), Self::from_name).map(|r| match r {
                    de::EnumRepr::Number(n) => Self::from_i32(n),
                    de::EnumRepr::Known(v) => v,
                })
            }
        }
    };
}

otlp_enum! {
    /// `Span.kind`.
    SpanKind, prefix = "SPAN_KIND_", {
        /// 0, not set.
        Unspecified = 0 => "UNSPECIFIED",
        /// 1.
        Internal = 1 => "INTERNAL",
        /// 2.
        Server = 2 => "SERVER",
        /// 3.
        Client = 3 => "CLIENT",
        /// 4.
        Producer = 4 => "PRODUCER",
        /// 5.
        Consumer = 5 => "CONSUMER",
    }
}

otlp_enum! {
    /// `Status.code`.
    StatusCode, prefix = "STATUS_CODE_", {
        /// 0, not set.
        Unset = 0 => "UNSET",
        /// 1.
        Ok = 1 => "OK",
        /// 2.
        Error = 2 => "ERROR",
    }
}

otlp_enum! {
    /// The aggregation temporality of a sum, histogram or exponential histogram.
    Temporality, prefix = "AGGREGATION_TEMPORALITY_", {
        /// 0, not set (gauges and summaries have none).
        Unspecified = 0 => "UNSPECIFIED",
        /// 1.
        Delta = 1 => "DELTA",
        /// 2.
        Cumulative = 2 => "CUMULATIVE",
    }
}

/// A 16-byte trace id. All zeros means absent or invalid.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TraceId(pub [u8; 16]);

/// An 8-byte span id. All zeros means absent or invalid.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SpanId(pub [u8; 8]);

fn write_hex(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    for b in bytes {
        write!(f, "{b:02x}")?;
    }
    Ok(())
}

impl TraceId {
    /// Whether the id is all zeros (invalid per W3C Trace Context).
    pub fn is_zero(&self) -> bool {
        self.0 == [0; 16]
    }
}

impl SpanId {
    /// Whether the id is all zeros (invalid per W3C Trace Context).
    pub fn is_zero(&self) -> bool {
        self.0 == [0; 8]
    }
}

impl fmt::Display for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}

impl fmt::Debug for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TraceId({self})")
    }
}

impl fmt::Display for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}

impl fmt::Debug for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SpanId({self})")
    }
}

impl<'de> Deserialize<'de> for TraceId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(opt_trace_id(d)?.unwrap_or_default())
    }
}

impl<'de> Deserialize<'de> for SpanId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(opt_span_id(d)?.unwrap_or_default())
    }
}

fn opt_trace_id<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<TraceId>, D::Error> {
    Ok(de::opt_id(d, "trace id")?.map(TraceId))
}

fn opt_span_id<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<SpanId>, D::Error> {
    Ok(de::opt_id(d, "span id")?.map(SpanId))
}

fn severity_any<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
    de::enum_any(d, "severityNumber", severity_from_name).map(|r| match r {
        de::EnumRepr::Number(n) | de::EnumRepr::Known(n) => n,
    })
}

/// A resource: the entity producing telemetry.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Resource {
    /// Resource attributes (`service.name`, ...).
    pub attributes: Vec<KeyValue>,
    /// `droppedAttributesCount`.
    #[serde(
        rename = "droppedAttributesCount",
        alias = "dropped_attributes_count",
        deserialize_with = "de::u32_any"
    )]
    pub dropped_attributes_count: u32,
}

/// An instrumentation scope (library name and version).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Scope {
    /// Scope name.
    pub name: String,
    /// Scope version.
    pub version: String,
    /// Scope attributes.
    pub attributes: Vec<KeyValue>,
    /// `droppedAttributesCount`.
    #[serde(
        rename = "droppedAttributesCount",
        alias = "dropped_attributes_count",
        deserialize_with = "de::u32_any"
    )]
    pub dropped_attributes_count: u32,
}

/// A resource with its scopes (`ResourceSpans`, `ResourceMetrics` or `ResourceLogs`).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default, bound(deserialize = "T: Deserialize<'de> + Default"))]
pub struct ResourceBlock<T> {
    /// The resource.
    pub resource: Resource,
    /// `schemaUrl`.
    #[serde(rename = "schemaUrl", alias = "schema_url")]
    pub schema_url: String,
    /// The scopes (`scopeSpans`, `scopeMetrics` or `scopeLogs`).
    #[serde(
        rename = "scopeSpans",
        alias = "scope_spans",
        alias = "scopeMetrics",
        alias = "scope_metrics",
        alias = "scopeLogs",
        alias = "scope_logs"
    )]
    pub scopes: Vec<ScopeBlock<T>>,
}

/// A scope with its items (`ScopeSpans`, `ScopeMetrics` or `ScopeLogs`).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default, bound(deserialize = "T: Deserialize<'de> + Default"))]
pub struct ScopeBlock<T> {
    /// The instrumentation scope.
    pub scope: Scope,
    /// `schemaUrl`.
    #[serde(rename = "schemaUrl", alias = "schema_url")]
    pub schema_url: String,
    /// The spans, metrics or log records.
    #[serde(
        rename = "spans",
        alias = "metrics",
        alias = "logRecords",
        alias = "log_records"
    )]
    pub items: Vec<T>,
}

/// `ResourceSpans`.
pub type ResourceSpans = ResourceBlock<Span>;
/// `ResourceMetrics`.
pub type ResourceMetrics = ResourceBlock<Metric>;
/// `ResourceLogs`.
pub type ResourceLogs = ResourceBlock<LogRecord>;

/// A span's status.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Status {
    /// The status code.
    pub code: StatusCode,
    /// The status message.
    pub message: String,
}

/// A span event.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Event {
    /// Event time.
    #[serde(
        rename = "timeUnixNano",
        alias = "time_unix_nano",
        deserialize_with = "de::u64_any"
    )]
    pub time_unix_nano: u64,
    /// Event name.
    pub name: String,
    /// Event attributes.
    pub attributes: Vec<KeyValue>,
    /// `droppedAttributesCount`.
    #[serde(
        rename = "droppedAttributesCount",
        alias = "dropped_attributes_count",
        deserialize_with = "de::u32_any"
    )]
    pub dropped_attributes_count: u32,
}

/// A span link.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Link {
    /// Linked trace.
    #[serde(rename = "traceId", alias = "trace_id")]
    pub trace_id: TraceId,
    /// Linked span.
    #[serde(rename = "spanId", alias = "span_id")]
    pub span_id: SpanId,
    /// W3C trace state.
    #[serde(rename = "traceState", alias = "trace_state")]
    pub trace_state: String,
    /// Link attributes.
    pub attributes: Vec<KeyValue>,
    /// `droppedAttributesCount`.
    #[serde(
        rename = "droppedAttributesCount",
        alias = "dropped_attributes_count",
        deserialize_with = "de::u32_any"
    )]
    pub dropped_attributes_count: u32,
    /// Flags.
    #[serde(deserialize_with = "de::u32_any")]
    pub flags: u32,
}

/// A span.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Span {
    /// Trace id (zero if absent).
    #[serde(rename = "traceId", alias = "trace_id")]
    pub trace_id: TraceId,
    /// Span id (zero if absent).
    #[serde(rename = "spanId", alias = "span_id")]
    pub span_id: SpanId,
    /// Parent span id; `None` for a root span.
    #[serde(
        rename = "parentSpanId",
        alias = "parent_span_id",
        deserialize_with = "opt_span_id"
    )]
    pub parent_span_id: Option<SpanId>,
    /// W3C trace state.
    #[serde(rename = "traceState", alias = "trace_state")]
    pub trace_state: String,
    /// Flags.
    #[serde(deserialize_with = "de::u32_any")]
    pub flags: u32,
    /// Span name.
    pub name: String,
    /// Span kind.
    pub kind: SpanKind,
    /// Start time.
    #[serde(
        rename = "startTimeUnixNano",
        alias = "start_time_unix_nano",
        deserialize_with = "de::u64_any"
    )]
    pub start_time_unix_nano: u64,
    /// End time.
    #[serde(
        rename = "endTimeUnixNano",
        alias = "end_time_unix_nano",
        deserialize_with = "de::u64_any"
    )]
    pub end_time_unix_nano: u64,
    /// Span attributes.
    pub attributes: Vec<KeyValue>,
    /// `droppedAttributesCount`.
    #[serde(
        rename = "droppedAttributesCount",
        alias = "dropped_attributes_count",
        deserialize_with = "de::u32_any"
    )]
    pub dropped_attributes_count: u32,
    /// Events.
    pub events: Vec<Event>,
    /// `droppedEventsCount`.
    #[serde(
        rename = "droppedEventsCount",
        alias = "dropped_events_count",
        deserialize_with = "de::u32_any"
    )]
    pub dropped_events_count: u32,
    /// Links.
    pub links: Vec<Link>,
    /// `droppedLinksCount`.
    #[serde(
        rename = "droppedLinksCount",
        alias = "dropped_links_count",
        deserialize_with = "de::u32_any"
    )]
    pub dropped_links_count: u32,
    /// Status (default: unset, no message).
    pub status: Status,
}

/// The instrument kind a metric came from, as far as the data shape tells.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum InstrumentKind {
    /// A monotonic sum.
    Counter,
    /// A non-monotonic sum.
    UpDownCounter,
    /// An explicit-bucket histogram.
    Histogram,
    /// An exponential histogram.
    ExponentialHistogram,
    /// A gauge.
    Gauge,
    /// A summary.
    Summary,
    /// No data field at all.
    #[default]
    Empty,
}

impl InstrumentKind {
    /// `counter`, `updown_counter`, `histogram`, `exponential_histogram`, `gauge`, `summary`,
    /// `empty`.
    pub fn as_str(self) -> &'static str {
        match self {
            InstrumentKind::Counter => "counter",
            InstrumentKind::UpDownCounter => "updown_counter",
            InstrumentKind::Histogram => "histogram",
            InstrumentKind::ExponentialHistogram => "exponential_histogram",
            InstrumentKind::Gauge => "gauge",
            InstrumentKind::Summary => "summary",
            InstrumentKind::Empty => "empty",
        }
    }

    /// The OTLP JSON key of the metric's data field (`sum`, `gauge`, ...), `None` for
    /// [`InstrumentKind::Empty`].
    pub fn data_key(self, style: KeyStyle) -> Option<&'static str> {
        Some(match self {
            InstrumentKind::Counter | InstrumentKind::UpDownCounter => "sum",
            InstrumentKind::Histogram => "histogram",
            InstrumentKind::ExponentialHistogram => match style {
                KeyStyle::CamelCase => "exponentialHistogram",
                KeyStyle::SnakeCase => "exponential_histogram",
            },
            InstrumentKind::Gauge => "gauge",
            InstrumentKind::Summary => "summary",
            InstrumentKind::Empty => return None,
        })
    }
}

impl fmt::Display for InstrumentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The buckets of one side of an exponential histogram.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct ExpBuckets {
    /// Bucket index offset.
    #[serde(deserialize_with = "de::i32_any")]
    pub offset: i32,
    /// Counts per bucket.
    #[serde(
        rename = "bucketCounts",
        alias = "bucket_counts",
        deserialize_with = "de::vec_u64_any"
    )]
    pub bucket_counts: Vec<u64>,
}

/// One quantile of a summary point.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Quantile {
    /// The quantile, 0.0 to 1.0.
    #[serde(deserialize_with = "de::f64_any")]
    pub quantile: f64,
    /// The value at the quantile.
    #[serde(deserialize_with = "de::f64_any")]
    pub value: f64,
}

/// A metric data point, flattened: which fields are meaningful depends on the metric's
/// [`InstrumentKind`] (number for sums and gauges; count, sum, buckets for histograms; scale and
/// buckets for exponential histograms; count, sum, quantiles for summaries).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct DataPoint {
    /// Point attributes.
    pub attributes: Vec<KeyValue>,
    /// Start time.
    #[serde(
        rename = "startTimeUnixNano",
        alias = "start_time_unix_nano",
        deserialize_with = "de::u64_any"
    )]
    pub start_time_unix_nano: u64,
    /// Time.
    #[serde(
        rename = "timeUnixNano",
        alias = "time_unix_nano",
        deserialize_with = "de::u64_any"
    )]
    pub time_unix_nano: u64,
    /// Sum and gauge: `asInt`.
    #[serde(
        rename = "asInt",
        alias = "as_int",
        deserialize_with = "de::opt_i64_any"
    )]
    pub as_int: Option<i64>,
    /// Sum and gauge: `asDouble`.
    #[serde(
        rename = "asDouble",
        alias = "as_double",
        deserialize_with = "de::opt_f64_any"
    )]
    pub as_double: Option<f64>,
    /// Histograms and summaries: number of observations.
    #[serde(deserialize_with = "de::u64_any")]
    pub count: u64,
    /// Histograms and summaries: sum of observations.
    #[serde(deserialize_with = "de::opt_f64_any")]
    pub sum: Option<f64>,
    /// Histograms: minimum.
    #[serde(deserialize_with = "de::opt_f64_any")]
    pub min: Option<f64>,
    /// Histograms: maximum.
    #[serde(deserialize_with = "de::opt_f64_any")]
    pub max: Option<f64>,
    /// Histogram: count per bucket (one more than bounds).
    #[serde(
        rename = "bucketCounts",
        alias = "bucket_counts",
        deserialize_with = "de::vec_u64_any"
    )]
    pub bucket_counts: Vec<u64>,
    /// Histogram: bucket upper bounds.
    #[serde(
        rename = "explicitBounds",
        alias = "explicit_bounds",
        deserialize_with = "de::vec_f64_any"
    )]
    pub explicit_bounds: Vec<f64>,
    /// Exponential histogram: scale.
    #[serde(deserialize_with = "de::i32_any")]
    pub scale: i32,
    /// Exponential histogram: count of zeros.
    #[serde(
        rename = "zeroCount",
        alias = "zero_count",
        deserialize_with = "de::u64_any"
    )]
    pub zero_count: u64,
    /// Exponential histogram: positive buckets.
    pub positive: Option<ExpBuckets>,
    /// Exponential histogram: negative buckets.
    pub negative: Option<ExpBuckets>,
    /// Summary: quantiles.
    #[serde(rename = "quantileValues", alias = "quantile_values")]
    pub quantile_values: Vec<Quantile>,
    /// Flags.
    #[serde(deserialize_with = "de::u32_any")]
    pub flags: u32,
}

impl DataPoint {
    /// The number of a sum or gauge point.
    pub fn number(&self) -> Option<f64> {
        self.as_double.or(self.as_int.map(|i| i as f64))
    }
}

/// A metric.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(from = "WireMetric")]
pub struct Metric {
    /// Metric name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Unit (UCUM).
    pub unit: String,
    /// Instrument kind, from the data shape.
    pub kind: InstrumentKind,
    /// Aggregation temporality (unspecified for gauges and summaries).
    pub temporality: Temporality,
    /// Data points.
    pub points: Vec<DataPoint>,
}

/// A metric's data field (`sum`, `gauge`, ...) as written in JSON.
#[derive(Deserialize, Default)]
#[serde(default)]
struct WireData {
    #[serde(rename = "dataPoints", alias = "data_points")]
    data_points: Vec<DataPoint>,
    #[serde(rename = "aggregationTemporality", alias = "aggregation_temporality")]
    aggregation_temporality: Temporality,
    #[serde(rename = "isMonotonic", alias = "is_monotonic")]
    is_monotonic: bool,
}

/// A metric as written in JSON: the data is a oneof of sibling keys.
#[derive(Deserialize, Default)]
#[serde(default)]
struct WireMetric {
    name: String,
    description: String,
    unit: String,
    gauge: Option<WireData>,
    sum: Option<WireData>,
    histogram: Option<WireData>,
    #[serde(rename = "exponentialHistogram", alias = "exponential_histogram")]
    exponential_histogram: Option<WireData>,
    summary: Option<WireData>,
}

impl From<WireMetric> for Metric {
    fn from(w: WireMetric) -> Metric {
        let (kind, data) = if let Some(d) = w.sum {
            let k = if d.is_monotonic {
                InstrumentKind::Counter
            } else {
                InstrumentKind::UpDownCounter
            };
            (k, Some(d))
        } else if let Some(d) = w.gauge {
            (InstrumentKind::Gauge, Some(d))
        } else if let Some(d) = w.histogram {
            (InstrumentKind::Histogram, Some(d))
        } else if let Some(d) = w.exponential_histogram {
            (InstrumentKind::ExponentialHistogram, Some(d))
        } else if let Some(d) = w.summary {
            (InstrumentKind::Summary, Some(d))
        } else {
            (InstrumentKind::Empty, None)
        };
        let (points, temporality) = data
            .map(|d| (d.data_points, d.aggregation_temporality))
            .unwrap_or_default();
        Metric {
            name: w.name,
            description: w.description,
            unit: w.unit,
            kind,
            temporality,
            points,
        }
    }
}

/// A log record.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct LogRecord {
    /// Event time.
    #[serde(
        rename = "timeUnixNano",
        alias = "time_unix_nano",
        deserialize_with = "de::u64_any"
    )]
    pub time_unix_nano: u64,
    /// Observed time.
    #[serde(
        rename = "observedTimeUnixNano",
        alias = "observed_time_unix_nano",
        deserialize_with = "de::u64_any"
    )]
    pub observed_time_unix_nano: u64,
    /// Severity number, 0 (unspecified) to 24; see [`severity_name`].
    #[serde(
        rename = "severityNumber",
        alias = "severity_number",
        deserialize_with = "severity_any"
    )]
    pub severity_number: i32,
    /// Severity text.
    #[serde(rename = "severityText", alias = "severity_text")]
    pub severity_text: String,
    /// Body.
    pub body: AnyValue,
    /// Attributes.
    pub attributes: Vec<KeyValue>,
    /// `droppedAttributesCount`.
    #[serde(
        rename = "droppedAttributesCount",
        alias = "dropped_attributes_count",
        deserialize_with = "de::u32_any"
    )]
    pub dropped_attributes_count: u32,
    /// Flags.
    #[serde(deserialize_with = "de::u32_any")]
    pub flags: u32,
    /// Trace id, if the record is correlated.
    #[serde(
        rename = "traceId",
        alias = "trace_id",
        deserialize_with = "opt_trace_id"
    )]
    pub trace_id: Option<TraceId>,
    /// Span id, if the record is correlated.
    #[serde(rename = "spanId", alias = "span_id", deserialize_with = "opt_span_id")]
    pub span_id: Option<SpanId>,
    /// Event name (log-based events).
    #[serde(rename = "eventName", alias = "event_name")]
    pub event_name: String,
}

const SEVERITY_BASES: [&str; 6] = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"];

/// The OTLP name of a severity number (`INFO`, `WARN2`, ...), `None` if out of range (0 is
/// `UNSPECIFIED`).
pub fn severity_name(number: i32) -> Option<String> {
    match number {
        0 => Some("UNSPECIFIED".to_owned()),
        1..=24 => {
            let base = SEVERITY_BASES[((number - 1) / 4) as usize];
            let n = (number - 1) % 4 + 1;
            Some(if n == 1 {
                base.to_owned()
            } else {
                format!("{base}{n}")
            })
        }
        _ => None,
    }
}

/// The severity number of an OTLP severity name (`SEVERITY_NUMBER_INFO`, `INFO`, `WARN2`, ...).
pub fn severity_from_name(name: &str) -> Option<i32> {
    let short = name.strip_prefix("SEVERITY_NUMBER_").unwrap_or(name);
    if short == "UNSPECIFIED" {
        return Some(0);
    }
    let (base, digit) = match short.as_bytes().last() {
        Some(d @ b'2'..=b'4') => (&short[..short.len() - 1], i32::from(d - b'0')),
        _ => (short, 1),
    };
    let idx = SEVERITY_BASES.iter().position(|b| *b == base)? as i32;
    Some(idx * 4 + digit)
}

/// Which telemetry signal a batch holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Signal {
    /// Spans.
    Traces,
    /// Metrics.
    Metrics,
    /// Log records.
    Logs,
}

impl Signal {
    /// `traces`, `metrics` or `logs`.
    pub fn as_str(self) -> &'static str {
        match self {
            Signal::Traces => "traces",
            Signal::Metrics => "metrics",
            Signal::Logs => "logs",
        }
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The key style of the source document, so pointers name the keys the file really has.
/// Protobuf and Prometheus input use [`KeyStyle::CamelCase`] (the canonical OTLP JSON mapping).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum KeyStyle {
    /// `resourceSpans`, `scopeSpans`, ... (canonical).
    #[default]
    CamelCase,
    /// `resource_spans`, `scope_spans`, ...
    SnakeCase,
}

/// The content of a batch.
#[derive(Clone, Debug, PartialEq)]
pub enum Payload {
    /// An `ExportTraceServiceRequest`.
    Traces(Vec<ResourceSpans>),
    /// An `ExportMetricsServiceRequest` (or a Prometheus scrape, converted).
    Metrics(Vec<ResourceMetrics>),
    /// An `ExportLogsServiceRequest`.
    Logs(Vec<ResourceLogs>),
    /// A request with no resources at all (`{}`).
    Empty,
}

/// One unit of exported telemetry: one `Export*ServiceRequest` (a JSON line, a document, a
/// protobuf message) or one Prometheus scrape.
#[derive(Clone, Debug, PartialEq)]
pub struct Batch {
    /// Where it came from.
    pub origin: Origin,
    /// Key style of the source, for pointers.
    pub key_style: KeyStyle,
    /// The content.
    pub payload: Payload,
    /// For Prometheus/OpenMetrics input: the exposition as parsed, with line numbers, for
    /// Prometheus-specific checks.
    pub prometheus: Option<Box<Exposition>>,
}

impl Batch {
    /// A batch of `payload` from `origin`, camelCase keys, no Prometheus data.
    pub fn new(origin: Origin, payload: Payload) -> Self {
        Batch {
            origin,
            key_style: KeyStyle::CamelCase,
            payload,
            prometheus: None,
        }
    }

    /// The signal, `None` for an empty batch.
    pub fn signal(&self) -> Option<Signal> {
        match self.payload {
            Payload::Traces(_) => Some(Signal::Traces),
            Payload::Metrics(_) => Some(Signal::Metrics),
            Payload::Logs(_) => Some(Signal::Logs),
            Payload::Empty => None,
        }
    }

    /// The resources of a traces batch (empty otherwise).
    pub fn resource_spans(&self) -> &[ResourceSpans] {
        match &self.payload {
            Payload::Traces(r) => r,
            _ => &[],
        }
    }

    /// The resources of a metrics batch (empty otherwise).
    pub fn resource_metrics(&self) -> &[ResourceMetrics] {
        match &self.payload {
            Payload::Metrics(r) => r,
            _ => &[],
        }
    }

    /// The resources of a logs batch (empty otherwise).
    pub fn resource_logs(&self) -> &[ResourceLogs] {
        match &self.payload {
            Payload::Logs(r) => r,
            _ => &[],
        }
    }

    /// Every span with its resource, scope and position.
    pub fn spans(&self) -> impl Iterator<Item = Located<'_, Span>> {
        located(self.resource_spans(), self.key_style)
    }

    /// Every metric with its resource, scope and position.
    pub fn metrics(&self) -> impl Iterator<Item = Located<'_, Metric>> {
        located(self.resource_metrics(), self.key_style)
    }

    /// Every log record with its resource, scope and position.
    pub fn log_records(&self) -> impl Iterator<Item = Located<'_, LogRecord>> {
        located(self.resource_logs(), self.key_style)
    }

    /// Number of spans, metrics or log records.
    pub fn item_count(&self) -> usize {
        fn count<T>(r: &[ResourceBlock<T>]) -> usize {
            r.iter()
                .flat_map(|r| &r.scopes)
                .map(|s| s.items.len())
                .sum()
        }
        match &self.payload {
            Payload::Traces(r) => count(r),
            Payload::Metrics(r) => count(r),
            Payload::Logs(r) => count(r),
            Payload::Empty => 0,
        }
    }

    /// JSON pointer of resource `resource` (`/resourceSpans/0`), for resource attributes.
    pub fn resource_pointer(&self, resource: usize) -> Option<String> {
        let names = names(self.signal()?, self.key_style);
        Some(format!("/{}/{resource}/resource", names[0]))
    }
}

fn located<T: Item>(
    resources: &[ResourceBlock<T>],
    style: KeyStyle,
) -> impl Iterator<Item = Located<'_, T>> {
    resources.iter().enumerate().flat_map(move |(ri, r)| {
        r.scopes.iter().enumerate().flat_map(move |(si, s)| {
            s.items.iter().enumerate().map(move |(ii, item)| Located {
                resource: &r.resource,
                resource_schema_url: &r.schema_url,
                scope: &s.scope,
                scope_schema_url: &s.schema_url,
                item,
                index: ItemIndex {
                    resource: ri,
                    scope: si,
                    item: ii,
                },
                style,
            })
        })
    })
}

/// The position of an item in its batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ItemIndex {
    /// Index in `resourceSpans` / `resourceMetrics` / `resourceLogs`.
    pub resource: usize,
    /// Index in `scopeSpans` / ...
    pub scope: usize,
    /// Index in `spans` / `metrics` / `logRecords`.
    pub item: usize,
}

impl ItemIndex {
    /// JSON pointer of the item of `signal` at this position in a request written in `style`,
    /// e.g. `/resourceSpans/0/scopeSpans/1/spans/3`.
    pub(crate) fn pointer(&self, signal: Signal, style: KeyStyle) -> String {
        let [r, s, i] = names(signal, style);
        let ItemIndex {
            resource,
            scope,
            item,
        } = self;
        format!("/{r}/{resource}/{s}/{scope}/{i}/{item}")
    }
}

/// Spans, metrics and log records: the items of a scope.
pub trait Item {
    /// The signal of this item type.
    const SIGNAL: Signal;
}

impl Item for Span {
    const SIGNAL: Signal = Signal::Traces;
}
impl Item for Metric {
    const SIGNAL: Signal = Signal::Metrics;
}
impl Item for LogRecord {
    const SIGNAL: Signal = Signal::Logs;
}

pub(crate) fn names(signal: Signal, style: KeyStyle) -> [&'static str; 3] {
    match (signal, style) {
        (Signal::Traces, KeyStyle::CamelCase) => ["resourceSpans", "scopeSpans", "spans"],
        (Signal::Traces, KeyStyle::SnakeCase) => ["resource_spans", "scope_spans", "spans"],
        (Signal::Metrics, KeyStyle::CamelCase) => ["resourceMetrics", "scopeMetrics", "metrics"],
        (Signal::Metrics, KeyStyle::SnakeCase) => ["resource_metrics", "scope_metrics", "metrics"],
        (Signal::Logs, KeyStyle::CamelCase) => ["resourceLogs", "scopeLogs", "logRecords"],
        (Signal::Logs, KeyStyle::SnakeCase) => ["resource_logs", "scope_logs", "log_records"],
    }
}

/// An item with its resource, scope and position in the batch.
#[derive(Clone, Copy, Debug)]
pub struct Located<'a, T> {
    /// The resource.
    pub resource: &'a Resource,
    /// The resource's schema URL.
    pub resource_schema_url: &'a str,
    /// The scope.
    pub scope: &'a Scope,
    /// The scope's schema URL.
    pub scope_schema_url: &'a str,
    /// The item.
    pub item: &'a T,
    /// Its position.
    pub index: ItemIndex,
    style: KeyStyle,
}

impl<T: Item> Located<'_, T> {
    /// JSON pointer of the item in its batch, e.g. `/resourceSpans/0/scopeSpans/1/spans/3`.
    pub fn pointer(&self) -> String {
        self.index.pointer(T::SIGNAL, self.style)
    }

    /// JSON pointer of the item's attribute number `index`.
    pub fn attribute_pointer(&self, index: usize) -> String {
        format!("{}/attributes/{index}", self.pointer())
    }

    /// JSON pointer of the item's resource (`/resourceSpans/0/resource`).
    pub fn resource_pointer(&self) -> String {
        let [r, _, _] = names(T::SIGNAL, self.style);
        format!("/{r}/{}/resource", self.index.resource)
    }

    /// JSON pointer of the scope (`.../scopeSpans/1/scope`).
    pub fn scope_pointer(&self) -> String {
        let [r, s, _] = names(T::SIGNAL, self.style);
        format!(
            "/{r}/{}/{s}/{}/scope",
            self.index.resource, self.index.scope
        )
    }
}

impl Located<'_, Metric> {
    /// JSON pointer of data point `point` (`.../metrics/2/sum/dataPoints/0`).
    pub fn point_pointer(&self, point: usize) -> String {
        let key = self.item.kind.data_key(self.style).unwrap_or("sum");
        let dp = match self.style {
            KeyStyle::CamelCase => "dataPoints",
            KeyStyle::SnakeCase => "data_points",
        };
        format!("{}/{key}/{dp}/{point}", self.pointer())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn severity_names_round_trip() {
        for n in 0..=24 {
            let name = severity_name(n).unwrap();
            assert_eq!(severity_from_name(&name), Some(n), "{name}");
        }
        assert_eq!(severity_from_name("SEVERITY_NUMBER_WARN2"), Some(14));
        assert_eq!(severity_from_name("NOPE"), None);
        assert_eq!(severity_name(25), None);
    }

    #[test]
    fn enums() {
        assert_eq!(
            SpanKind::from_name("SPAN_KIND_SERVER"),
            Some(SpanKind::Server)
        );
        assert_eq!(SpanKind::from_i32(9), SpanKind::Unknown(9));
        assert_eq!(StatusCode::Error.to_i32(), 2);
        assert_eq!(Temporality::default(), Temporality::Unspecified);
        assert_eq!(SpanKind::Client.to_string(), "CLIENT");
    }

    #[test]
    fn pointers() {
        let span = Span::default();
        let res = vec![ResourceBlock {
            scopes: vec![
                ScopeBlock::default(),
                ScopeBlock {
                    items: vec![span.clone(), span],
                    ..Default::default()
                },
            ],
            ..Default::default()
        }];
        let origin = Origin {
            file: Arc::from("f"),
            line: Some(1),
            byte_offset: 0,
            format: Format::OtlpJsonLines,
            gzip: false,
        };
        let mut b = Batch::new(origin, Payload::Traces(res));
        let ps: Vec<_> = b.spans().map(|s| s.pointer()).collect();
        assert_eq!(
            ps,
            [
                "/resourceSpans/0/scopeSpans/1/spans/0",
                "/resourceSpans/0/scopeSpans/1/spans/1"
            ]
        );
        b.key_style = KeyStyle::SnakeCase;
        assert_eq!(
            b.spans().nth(1).unwrap().attribute_pointer(2),
            "/resource_spans/0/scope_spans/1/spans/1/attributes/2"
        );
        assert_eq!(b.item_count(), 2);
        let first = b.spans().next().unwrap();
        assert_eq!(first.resource_pointer(), "/resource_spans/0/resource");
        assert_eq!(
            first.scope_pointer(),
            "/resource_spans/0/scope_spans/1/scope"
        );
    }
}
