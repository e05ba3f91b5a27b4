//! A parsed Prometheus text 0.0.4 or OpenMetrics exposition: families with `TYPE`, `HELP`,
//! `UNIT` and their line numbers, samples with labels and line numbers, as naming checks need
//! them. The parser is `prometheus.rs`; a [`crate::Batch`] carries the exposition it was read from.

use crate::origin::Format;

/// The `# TYPE` of a family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MetricType {
    /// `counter`.
    Counter,
    /// `gauge`.
    Gauge,
    /// `histogram`.
    Histogram,
    /// `gaugehistogram` (OpenMetrics).
    GaugeHistogram,
    /// `summary`.
    Summary,
    /// `info` (OpenMetrics).
    Info,
    /// `stateset` (OpenMetrics).
    StateSet,
    /// `unknown` (OpenMetrics).
    Unknown,
    /// `untyped` (0.0.4), or no `# TYPE` line.
    Untyped,
}

impl MetricType {
    pub(crate) fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "counter" => MetricType::Counter,
            "gauge" => MetricType::Gauge,
            "histogram" => MetricType::Histogram,
            "gaugehistogram" => MetricType::GaugeHistogram,
            "summary" => MetricType::Summary,
            "info" => MetricType::Info,
            "stateset" => MetricType::StateSet,
            "unknown" => MetricType::Unknown,
            "untyped" => MetricType::Untyped,
            _ => return None,
        })
    }

    /// The name as written after `# TYPE`.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Histogram => "histogram",
            MetricType::GaugeHistogram => "gaugehistogram",
            MetricType::Summary => "summary",
            MetricType::Info => "info",
            MetricType::StateSet => "stateset",
            MetricType::Unknown => "unknown",
            MetricType::Untyped => "untyped",
        }
    }

    /// Sample-name suffixes a family of this type may use.
    pub(crate) fn suffixes(self) -> &'static [&'static str] {
        match self {
            MetricType::Counter => &["_total", "_created"],
            MetricType::Histogram => &["_bucket", "_sum", "_count", "_created"],
            MetricType::GaugeHistogram => &["_bucket", "_gsum", "_gcount"],
            MetricType::Summary => &["_sum", "_count", "_created"],
            MetricType::Info => &["_info"],
            _ => &[],
        }
    }
}

/// One sample line.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// The sample name as written (`http_requests_total`, `latency_bucket`).
    pub name: String,
    /// Labels in the order written.
    pub labels: Vec<(String, String)>,
    /// The value.
    pub value: f64,
    /// The timestamp as written (milliseconds in 0.0.4, seconds in OpenMetrics).
    pub timestamp: Option<f64>,
    /// Whether an exemplar (`# {...} v`) follows.
    pub has_exemplar: bool,
    /// 1-based line.
    pub line: u64,
}

impl Sample {
    /// The value of label `name`.
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A metric family: its metadata lines and its samples.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricFamily {
    /// Family name (from `# TYPE`/`# HELP`, or the sample name when there is none).
    pub name: String,
    /// The type (`Untyped` without a `# TYPE` line).
    pub metric_type: MetricType,
    /// Line of `# TYPE`.
    pub type_line: Option<u64>,
    /// `# HELP` text, unescaped.
    pub help: Option<String>,
    /// Line of `# HELP`.
    pub help_line: Option<u64>,
    /// `# UNIT` (OpenMetrics).
    pub unit: Option<String>,
    /// Line of `# UNIT`.
    pub unit_line: Option<u64>,
    /// The samples, in order.
    pub samples: Vec<Sample>,
}

impl MetricFamily {
    pub(crate) fn new(name: &str) -> Self {
        MetricFamily {
            name: name.to_owned(),
            metric_type: MetricType::Untyped,
            type_line: None,
            help: None,
            help_line: None,
            unit: None,
            unit_line: None,
            samples: Vec::new(),
        }
    }

    /// First line mentioning the family.
    pub fn first_line(&self) -> u64 {
        [
            self.type_line,
            self.help_line,
            self.unit_line,
            self.samples.first().map(|s| s.line),
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(0)
    }
}

/// A parsed exposition (one file or one scrape).
#[derive(Clone, Debug, PartialEq)]
pub struct Exposition {
    /// Prometheus 0.0.4 or OpenMetrics (an `# EOF` line, a `# UNIT` line, or the HTTP
    /// `Content-Type` says so).
    pub format: Format,
    /// Families in order of first appearance.
    pub families: Vec<MetricFamily>,
    /// Line of `# EOF`, if any.
    pub eof_line: Option<u64>,
}
