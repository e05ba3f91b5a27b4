//! The `flowtel/v1` conventions schema as plain Rust data.
//!
//! These types are what every flowtel tool reads: the loader decodes YAML into them, the JSON
//! Schema for editors is generated from them, and the macros and the runtime consume them. They
//! carry no positions; where a finding needs a line and column it asks the [`crate::source::SourceMap`]
//! for the node at a path (`["metrics", "flow.step.duration", "labels", 2]`).

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::duration::Duration;
pub use crate::route::EntryRoute;

/// The only schema identifier this version of flowtel reads.
pub const SCHEMA_V1: &str = "flowtel/v1";

/// One conventions file exactly as written: a layer of a registry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "flowtel conventions registry (flowtel/v1)")]
pub struct RegistryFile {
    /// Schema identifier; must be `flowtel/v1`.
    pub schema: String,
    /// Name of this registry layer, e.g. `acme-platform`.
    pub name: String,
    /// Semantic version of this layer; `flowtel diff` checks that updates bump it correctly.
    pub version: String,
    /// Other layers this one builds on. Paths are relative to this file.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub imports: Vec<Import>,
    /// Regular expressions that names must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub naming: Option<Naming>,
    /// Defaults applied where a metric or flow does not say otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub defaults: Option<Defaults>,
    /// Attribute keys (span attributes and metric labels), by name.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub attributes: IndexMap<String, Attribute>,
    /// Metrics, by OpenTelemetry name (dotted, unit not in the name).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub metrics: IndexMap<String, Metric>,
    /// Business flows, by name (`checkout`, `login`, ...).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub flows: IndexMap<String, Flow>,
    /// Span conventions, by id (`span.http.server`): the attributes a kind of span carries.
    /// Usually imported from OpenTelemetry's semantic conventions.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub spans: IndexMap<String, Span>,
    /// Log events, by name (`payment.declined`): what a service logs as a declared event, with
    /// its severity and attributes. OpenTelemetry's event groups import here.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub events: IndexMap<String, Event>,
    /// Head and tail sampling per flow, by flow name (`browse: {ratio: 0.1}`); flows not listed
    /// use `defaults.sampling`.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub sampling: IndexMap<String, Sampling>,
    /// Lint configuration: severity overrides per rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lint: Option<LintConfig>,
    /// What counts as personal data by shape where nothing is declared `pii`: the words of
    /// attribute keys and the value shapes that the linters report and the SDK drops from
    /// metric labels. The most specific layer that sets it wins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pii: Option<PiiDetection>,
}

/// An entry of `imports`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Import {
    /// Another flowtel conventions file or folder: absolute, or relative to the importing file.
    Path(String),
    /// An OpenTelemetry semantic-conventions registry folder (Weaver format).
    Semconv(SemconvImport),
}

/// Import of an OpenTelemetry semantic-conventions registry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SemconvImport {
    /// Folder holding the semantic-conventions model: absolute, or relative to the importing file.
    pub semconv: String,
    /// Root namespaces to take (`http`, `url`, ...); all when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub only: Option<Vec<String>>,
}

/// Naming rules: regular expressions every name of a kind must match.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Naming {
    /// Regex for metric names.
    #[serde(default = "Naming::default_metric")]
    pub metric: String,
    /// Regex for attribute keys.
    #[serde(default = "Naming::default_attribute")]
    pub attribute: String,
    /// Regex for flow names.
    #[serde(default = "Naming::default_flow")]
    pub flow: String,
    /// Regex for step names.
    #[serde(default = "Naming::default_step")]
    pub step: String,
    /// Regex for span names.
    #[serde(default = "Naming::default_span")]
    pub span: String,
    /// Regex for log event names.
    #[serde(default = "Naming::default_event")]
    pub event: String,
}

impl Naming {
    fn default_metric() -> String {
        r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$".into()
    }
    fn default_attribute() -> String {
        r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$".into()
    }
    fn default_flow() -> String {
        r"^[a-z][a-z0-9_]*$".into()
    }
    fn default_step() -> String {
        r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$".into()
    }
    fn default_span() -> String {
        r"^\S(.*\S)?$".into()
    }
    fn default_event() -> String {
        r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$".into()
    }
}

impl Default for Naming {
    fn default() -> Self {
        Naming {
            metric: Self::default_metric(),
            attribute: Self::default_attribute(),
            flow: Self::default_flow(),
            step: Self::default_step(),
            span: Self::default_span(),
            event: Self::default_event(),
        }
    }
}

/// Defaults for metrics and flows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    /// Distinct label sets a metric may have before new ones fold into the overflow series.
    #[serde(default = "Defaults::default_cardinality_limit")]
    pub cardinality_limit: u32,
    /// SLO window used by flows that do not name one.
    #[serde(default = "Defaults::default_slo_window")]
    pub slo_window: Duration,
    /// Fraction of a saturation signal's `limit` at which it counts as nearly saturated, in
    /// (0, 1]; a signal's own `saturation.warn` overrides it.
    #[serde(default = "Defaults::default_saturation_warn")]
    pub saturation_warn: f64,
    /// Sampling of flows that the top-level `sampling` section does not list, and the tail
    /// sampler's settings.
    #[serde(default)]
    pub sampling: SamplingDefaults,
    /// Thresholds of the release regression check for flows that do not set their own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regress: Option<Regress>,
    /// Log records of one event a process exports per second before the excess is dropped
    /// and counted in `flowtel.violations` (an event's own `rate_limit` overrides it).
    #[serde(default = "Defaults::default_event_rate_limit")]
    pub event_rate_limit: u32,
}

impl Defaults {
    fn default_cardinality_limit() -> u32 {
        2000
    }
    fn default_slo_window() -> Duration {
        Duration::from_raw("30d")
    }
    fn default_saturation_warn() -> f64 {
        0.8
    }
    fn default_event_rate_limit() -> u32 {
        100
    }
}

impl Default for Defaults {
    fn default() -> Self {
        Defaults {
            cardinality_limit: Self::default_cardinality_limit(),
            slo_window: Self::default_slo_window(),
            saturation_warn: Self::default_saturation_warn(),
            sampling: SamplingDefaults::default(),
            regress: None,
            event_rate_limit: Self::default_event_rate_limit(),
        }
    }
}

/// Type of an attribute's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AttributeType {
    /// A string.
    String,
    /// A 64-bit integer.
    Int,
    /// A 64-bit float.
    Double,
    /// A boolean.
    Bool,
    /// One of the listed `values`.
    Enum,
    /// An array of strings.
    #[serde(rename = "string[]")]
    StringArray,
    /// An array of integers.
    #[serde(rename = "int[]")]
    IntArray,
    /// An array of floats.
    #[serde(rename = "double[]")]
    DoubleArray,
    /// An array of booleans.
    #[serde(rename = "bool[]")]
    BoolArray,
    /// A map of keys to values (OpenTelemetry `template[...]` attributes).
    Template,
    /// Any value: a scalar, an array or a map (OpenTelemetry `any`, for structured content).
    Any,
}

impl AttributeType {
    /// The name as written in YAML.
    pub fn as_str(self) -> &'static str {
        match self {
            AttributeType::String => "string",
            AttributeType::Int => "int",
            AttributeType::Double => "double",
            AttributeType::Bool => "bool",
            AttributeType::Enum => "enum",
            AttributeType::StringArray => "string[]",
            AttributeType::IntArray => "int[]",
            AttributeType::DoubleArray => "double[]",
            AttributeType::BoolArray => "bool[]",
            AttributeType::Template => "template",
            AttributeType::Any => "any",
        }
    }
}

/// How a `pii` attribute is redacted on spans.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Redaction {
    /// The attribute is removed.
    #[default]
    Drop,
    /// The value is replaced by a keyed hash, so equal values stay correlatable.
    Hash,
}

/// A declared attribute key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Attribute {
    /// Value type.
    #[serde(rename = "type")]
    pub ty: AttributeType,
    /// Allowed values, for `type: enum`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
    /// Distinct values allowed before new ones fold into `_OTHER`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_values: Option<u32>,
    /// Personal data: never a metric label, redacted on spans.
    #[serde(default, skip_serializing_if = "is_false")]
    pub pii: bool,
    /// How a `pii` attribute is redacted on spans (default `drop`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redact: Option<Redaction>,
    /// One-line description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brief: Option<String>,
    /// Example values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub examples: Vec<String>,
    /// Set when the attribute should no longer be used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deprecated: Option<Deprecation>,
    /// Maturity of the definition, as OpenTelemetry's semantic conventions state it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stability: Option<Stability>,
    /// For `type: enum`: `values` lists well-known values and other values are allowed too
    /// (OpenTelemetry semantic-conventions enums are open).
    #[serde(default, skip_serializing_if = "is_false")]
    pub open: bool,
}

/// Maturity of a definition (OpenTelemetry semantic-conventions `stability`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Stability {
    /// Stable: will not change incompatibly.
    Stable,
    /// Release candidate: expected to become stable unchanged.
    ReleaseCandidate,
    /// Under development: may change or go away.
    #[serde(alias = "experimental", alias = "alpha", alias = "beta")]
    Development,
    /// Deprecated.
    Deprecated,
    /// No longer maintained.
    Unmaintained,
}

impl Stability {
    /// The name as written in YAML.
    pub fn as_str(self) -> &'static str {
        match self {
            Stability::Stable => "stable",
            Stability::ReleaseCandidate => "release_candidate",
            Stability::Development => "development",
            Stability::Deprecated => "deprecated",
            Stability::Unmaintained => "unmaintained",
        }
    }

    /// Reads a semantic-conventions stability value (old spellings included).
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "stable" => Stability::Stable,
            "release_candidate" => Stability::ReleaseCandidate,
            "development" | "experimental" | "alpha" | "beta" => Stability::Development,
            "deprecated" => Stability::Deprecated,
            "unmaintained" => Stability::Unmaintained,
            _ => return None,
        })
    }
}

/// How strongly a convention asks for an attribute (OpenTelemetry `requirement_level`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Requirement {
    /// Must be present.
    Required,
    /// Must be present when a stated condition holds.
    ConditionallyRequired,
    /// Should be present.
    Recommended,
    /// Only when the user asks for it.
    OptIn,
}

impl Requirement {
    /// The name as written in YAML.
    pub fn as_str(self) -> &'static str {
        match self {
            Requirement::Required => "required",
            Requirement::ConditionallyRequired => "conditionally_required",
            Requirement::Recommended => "recommended",
            Requirement::OptIn => "opt_in",
        }
    }
}

/// Why a name was deprecated (OpenTelemetry `deprecated.reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeprecationReason {
    /// Replaced by `renamed_to`, with the same meaning.
    Renamed,
    /// Removed without a replacement.
    Obsoleted,
    /// Replaced in some other way the note explains.
    Uncategorized,
}

/// Kind of a span (OpenTelemetry `SpanKind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SpanKind {
    /// Internal operation.
    Internal,
    /// Server side of a request.
    Server,
    /// Client side of a request.
    Client,
    /// Sender of a message.
    Producer,
    /// Receiver of a message.
    Consumer,
}

impl SpanKind {
    /// The name as written in YAML.
    pub fn as_str(self) -> &'static str {
        match self {
            SpanKind::Internal => "internal",
            SpanKind::Server => "server",
            SpanKind::Client => "client",
            SpanKind::Producer => "producer",
            SpanKind::Consumer => "consumer",
        }
    }

    /// Reads a span kind (`server`, ...).
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "internal" => SpanKind::Internal,
            "server" => SpanKind::Server,
            "client" => SpanKind::Client,
            "producer" => SpanKind::Producer,
            "consumer" => SpanKind::Consumer,
            _ => return None,
        })
    }
}

/// A span convention: a kind of span and the attributes it carries.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Span {
    /// Span kind, when the convention fixes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<SpanKind>,
    /// Attribute keys the span may carry.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<String>,
    /// Attribute keys the span must carry (a subset of `attributes`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub required_attributes: Vec<String>,
    /// One-line description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brief: Option<String>,
    /// Maturity of the definition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stability: Option<Stability>,
    /// Set when the convention should no longer be used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deprecated: Option<Deprecation>,
}

/// Severity of a log record, as OpenTelemetry's log data model ranks them.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum LogSeverity {
    /// `TRACE` (severity numbers 1-4).
    Trace,
    /// `DEBUG` (5-8).
    Debug,
    /// `INFO` (9-12).
    Info,
    /// `WARN` (13-16).
    #[serde(alias = "warning")]
    Warn,
    /// `ERROR` (17-20).
    Error,
    /// `FATAL` (21-24).
    Fatal,
}

impl LogSeverity {
    /// Every severity, lowest first.
    pub const ALL: [LogSeverity; 6] = [
        LogSeverity::Trace,
        LogSeverity::Debug,
        LogSeverity::Info,
        LogSeverity::Warn,
        LogSeverity::Error,
        LogSeverity::Fatal,
    ];

    /// The name as written in YAML.
    pub fn as_str(self) -> &'static str {
        match self {
            LogSeverity::Trace => "trace",
            LogSeverity::Debug => "debug",
            LogSeverity::Info => "info",
            LogSeverity::Warn => "warn",
            LogSeverity::Error => "error",
            LogSeverity::Fatal => "fatal",
        }
    }

    /// The lowest OpenTelemetry severity number of this range (`INFO` is 9).
    pub fn number(self) -> i32 {
        match self {
            LogSeverity::Trace => 1,
            LogSeverity::Debug => 5,
            LogSeverity::Info => 9,
            LogSeverity::Warn => 13,
            LogSeverity::Error => 17,
            LogSeverity::Fatal => 21,
        }
    }

    /// The range an OpenTelemetry severity number (1-24) falls in; `None` for 0 (unspecified)
    /// and numbers out of range.
    pub fn from_number(n: i32) -> Option<Self> {
        match n {
            1..=24 => Some(Self::ALL[((n - 1) / 4) as usize]),
            _ => None,
        }
    }

    /// Reads a severity name or text (`warn`, `WARNING`, `Info`), case-insensitively.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim().to_ascii_lowercase();
        let base = s.trim_end_matches(|c: char| c.is_ascii_digit());
        Some(match base {
            "trace" => LogSeverity::Trace,
            "debug" => LogSeverity::Debug,
            "info" | "information" => LogSeverity::Info,
            "warn" | "warning" => LogSeverity::Warn,
            "error" => LogSeverity::Error,
            "fatal" | "critical" => LogSeverity::Fatal,
            _ => return None,
        })
    }
}

/// A declared log event: a log record with a name (`payment.declined`), a severity and known
/// attributes, written by services with `flowtel::event!` or a `tracing` event of that name.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Event {
    /// One-line description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brief: Option<String>,
    /// Lowest severity the event may be logged at (any when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<LogSeverity>,
    /// Attribute keys the event may carry (declared attributes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<String>,
    /// Attribute keys the event must carry (declared attributes; allowed without repeating
    /// them under `attributes`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub required_attributes: Vec<String>,
    /// Flow the event belongs to: it is logged inside that flow's trace, with `flow.name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow: Option<String>,
    /// Step of `flow` the event is logged in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// Records of this event a process exports per second (default
    /// `defaults.event_rate_limit`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<u32>,
    /// Maturity of the definition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stability: Option<Stability>,
    /// Set when the event should no longer be used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deprecated: Option<Deprecation>,
}

impl Event {
    /// Whether the event may carry `key` (listed under `attributes` or `required_attributes`).
    pub fn allows(&self, key: &str) -> bool {
        self.attributes.iter().any(|a| a == key)
            || self.required_attributes.iter().any(|a| a == key)
    }

    /// Every attribute the event may carry: `attributes`, then the required ones not listed
    /// there.
    pub fn all_attributes(&self) -> impl Iterator<Item = &str> {
        self.attributes.iter().map(String::as_str).chain(
            self.required_attributes
                .iter()
                .filter(|r| !self.attributes.contains(r))
                .map(String::as_str),
        )
    }
}

/// A deprecation: a reason text, or the name that replaces it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Deprecation {
    /// Free text, e.g. "use `http.request.method`".
    Note(String),
    /// Structured form.
    Detail(DeprecationDetail),
}

/// Structured deprecation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeprecationDetail {
    /// The name that replaces this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renamed_to: Option<String>,
    /// Why, and what to do instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Why it was deprecated (as OpenTelemetry's semantic conventions classify it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<DeprecationReason>,
}

impl Deprecation {
    /// The replacement name, when the deprecation names one.
    pub fn renamed_to(&self) -> Option<&str> {
        match self {
            Deprecation::Note(_) => None,
            Deprecation::Detail(d) => d.renamed_to.as_deref(),
        }
    }

    /// A sentence for messages: "renamed to `x`" or the note.
    pub fn describe(&self) -> String {
        match self {
            Deprecation::Note(n) => n.clone(),
            Deprecation::Detail(d) => match (&d.renamed_to, &d.note) {
                (Some(r), _) => format!("renamed to `{r}`"),
                (None, Some(n)) => n.clone(),
                (None, None) => "deprecated".into(),
            },
        }
    }
}

/// Kind of metric instrument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Instrument {
    /// Monotonic sum.
    Counter,
    /// Non-monotonic sum.
    #[serde(alias = "updowncounter")]
    UpdownCounter,
    /// Distribution of values.
    Histogram,
    /// Last value.
    Gauge,
}

impl Instrument {
    /// The name as written in YAML.
    pub fn as_str(self) -> &'static str {
        match self {
            Instrument::Counter => "counter",
            Instrument::UpdownCounter => "updown_counter",
            Instrument::Histogram => "histogram",
            Instrument::Gauge => "gauge",
        }
    }
}

/// A declared metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Metric {
    /// Instrument kind.
    pub instrument: Instrument,
    /// UCUM unit as OpenTelemetry uses it (`s`, `ms`, `By`, `1`, `{request}`).
    pub unit: String,
    /// Labels (attribute keys) the metric may carry; anything else is dropped.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    /// Distinct label sets before new ones fold into the overflow series.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cardinality_limit: Option<u32>,
    /// Explicit histogram bucket boundaries, strictly increasing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buckets: Option<Vec<f64>>,
    /// One-line description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brief: Option<String>,
    /// Set when the metric should no longer be used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deprecated: Option<Deprecation>,
    /// Labels every data point must carry (a subset of `labels`; OpenTelemetry
    /// `requirement_level: required`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub required_labels: Vec<String>,
    /// Maturity of the definition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stability: Option<Stability>,
    /// Declares the metric a saturation signal (in-flight requests, queue depth, pool usage)
    /// with the capacity it saturates at. Only for `updown_counter` and `gauge`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saturation: Option<Saturation>,
}

impl Metric {
    /// Name of the gauge that carries a saturation signal's declared limit: `<name>.limit`
    /// (OpenTelemetry's pattern, as in `system.memory.limit`). The merged registry declares it
    /// for every metric with `saturation`.
    pub fn limit_metric_name(name: &str) -> String {
        format!("{name}.limit")
    }
}

/// A saturation signal's capacity: the value at which the resource is full.
///
/// The limit applies per service instance to the signal's value summed over every label except
/// those in `per`: `http.server.active_requests` with `limit: 512` means 512 requests in flight
/// in one process whatever their route; `orders.queue.depth` with `per: [queue.name]` means
/// each queue holds at most `limit` items. Governance generators alert when the signal grows
/// towards `warn * limit`; the SDK exports the limit as the gauge `<name>.limit` so dashboards
/// and alerts read it next to the signal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Saturation {
    /// Capacity of the resource, in the metric's unit; a positive number.
    pub limit: f64,
    /// Labels that identify one resource (one queue, one pool); the limit applies to each.
    /// Every entry is one of the metric's `labels`, with bounded values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub per: Vec<String>,
    /// Fraction of `limit` at which the signal counts as nearly saturated, in (0, 1]
    /// (default: `defaults.saturation_warn`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warn: Option<f64>,
}

/// How the traces of one flow are sampled.
///
/// The SDK's head sampler keeps a flow's trace with probability `ratio`, decided once at the
/// root and followed by every service below it; the OpenTelemetry Collector's tail sampler
/// (configured by `flowtel sampling`) additionally keeps every trace with an error and every
/// trace slower than `keep_slower_than`. Metrics are never sampled.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Sampling {
    /// Probability of keeping a trace of the flow, in [0, 1] (default:
    /// `defaults.sampling.ratio`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ratio: Option<f64>,
    /// Keep every trace with an error span (tail sampling; default `true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_errors: Option<bool>,
    /// Keep every trace slower than this (tail sampling; default: the flow's
    /// `slo.latency.threshold`, none when the flow has no latency SLO).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_slower_than: Option<Duration>,
}

/// Registry-wide sampling settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SamplingDefaults {
    /// Probability of keeping a trace of a flow that sets no `ratio`, in [0, 1] (default 1).
    #[serde(default = "SamplingDefaults::default_ratio")]
    pub ratio: f64,
    /// How long the tail sampler waits after a trace's first span before deciding (default 10s).
    #[serde(default = "SamplingDefaults::default_decision_wait")]
    pub decision_wait: Duration,
    /// Traces the tail sampler holds in memory while waiting (default 50000).
    #[serde(default = "SamplingDefaults::default_num_traces")]
    pub num_traces: u64,
}

impl SamplingDefaults {
    fn default_ratio() -> f64 {
        1.0
    }
    fn default_decision_wait() -> Duration {
        Duration::from_raw("10s")
    }
    fn default_num_traces() -> u64 {
        50_000
    }
}

impl Default for SamplingDefaults {
    fn default() -> Self {
        SamplingDefaults {
            ratio: Self::default_ratio(),
            decision_wait: Self::default_decision_wait(),
            num_traces: Self::default_num_traces(),
        }
    }
}

/// A business flow: work that crosses services and has an owner and an SLO.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Flow {
    /// Team that owns the flow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Alertmanager receiver that pages for this flow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert_route: Option<String>,
    /// One-line description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brief: Option<String>,
    /// HTTP routes (`METHOD /template`) that start this flow.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entry: Vec<EntryRoute>,
    /// Steps of the flow, by name.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub steps: IndexMap<String, Step>,
    /// Service level objective.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slo: Option<Slo>,
    /// Thresholds of the release regression check for this flow and its steps (unset keys
    /// come from `defaults.regress`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regress: Option<Regress>,
    /// Set when the flow should no longer be used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deprecated: Option<Deprecation>,
}

/// A step of a flow.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Service that performs the step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// Latency budget of the step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<Budget>,
    /// One-line description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brief: Option<String>,
}

/// Latency budget by percentile.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    /// Median latency budget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p50: Option<Duration>,
    /// 95th percentile latency budget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p95: Option<Duration>,
    /// 99th percentile latency budget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p99: Option<Duration>,
}

impl Budget {
    /// The budgets that are set, as `(name, duration)`.
    pub fn entries(&self) -> impl Iterator<Item = (&'static str, &Duration)> {
        [("p50", &self.p50), ("p95", &self.p95), ("p99", &self.p99)]
            .into_iter()
            .filter_map(|(n, d)| d.as_ref().map(|d| (n, d)))
    }
}

/// Service level objective of a flow.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Slo {
    /// Percentage of requests that must succeed, in (0, 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub availability: Option<f64>,
    /// Latency objective.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<LatencySlo>,
    /// Window the objective is measured over (default: `defaults.slo_window`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<Duration>,
    /// Metric whose series measure the objectives (default `http.server.request.duration`, as
    /// the server middleware records a flow's entry requests): a declared histogram in seconds
    /// labelled with `flow.name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sli: Option<String>,
}

/// Metric a flow's SLIs come from unless its `slo.sli` names another.
pub const DEFAULT_SLI_METRIC: &str = "http.server.request.duration";

impl Slo {
    /// The metric the SLIs come from: `sli`, else [`DEFAULT_SLI_METRIC`].
    pub fn sli_metric(&self) -> &str {
        self.sli.as_deref().unwrap_or(DEFAULT_SLI_METRIC)
    }
}

/// Latency objective: `target` percent of requests faster than `threshold`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LatencySlo {
    /// Latency a request must stay under.
    pub threshold: Duration,
    /// Percentage of requests that must stay under the threshold, in (0, 100).
    pub target: f64,
}

/// Thresholds of the release regression check (`flowtel regress`): when a change in a latency
/// distribution between two releases matters. Every key is optional; a flow's block overrides
/// `defaults.regress`, which overrides the built-in defaults ([`Regress::BUILT_IN`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Regress {
    /// Confidence level of every interval and test, in percent, in [80, 100) (default 99: a
    /// release gate that blocks on noise is soon ignored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
    /// Smallest slowdown that fails a release, in percent of the before value: a significant
    /// increase of the median shift, P95 or P99 at least this large fails (default 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_increase: Option<f64>,
    /// Smallest absolute slowdown that counts at all (timer resolution, scheduling noise;
    /// default 1ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_delta: Option<Duration>,
    /// Fewest samples each side needs for a verdict; fewer is `insufficient data` (default 50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_samples: Option<u32>,
}

impl Regress {
    /// The built-in thresholds: 99% confidence, 5% increase, 1ms, 50 samples.
    pub const BUILT_IN: ResolvedRegress = ResolvedRegress {
        confidence: 99.0,
        max_increase: 5.0,
        min_delta_seconds: 0.001,
        min_samples: 50,
    };

    /// This block with the keys it leaves unset taken from `fallback`.
    pub fn or(&self, fallback: &Regress) -> Regress {
        Regress {
            confidence: self.confidence.or(fallback.confidence),
            max_increase: self.max_increase.or(fallback.max_increase),
            min_delta: self
                .min_delta
                .clone()
                .or_else(|| fallback.min_delta.clone()),
            min_samples: self.min_samples.or(fallback.min_samples),
        }
    }

    /// The thresholds in force: this block, then [`Regress::BUILT_IN`] (an unreadable
    /// `min_delta`, which validation reports, counts as unset).
    pub fn resolve(&self) -> ResolvedRegress {
        let b = Self::BUILT_IN;
        ResolvedRegress {
            confidence: self.confidence.unwrap_or(b.confidence),
            max_increase: self.max_increase.unwrap_or(b.max_increase),
            min_delta_seconds: self
                .min_delta
                .as_ref()
                .and_then(Duration::seconds)
                .unwrap_or(b.min_delta_seconds),
            min_samples: self.min_samples.unwrap_or(b.min_samples),
        }
    }
}

/// Regression-check thresholds with every value set (see [`Regress`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ResolvedRegress {
    /// Confidence level in percent.
    pub confidence: f64,
    /// Smallest failing slowdown in percent.
    pub max_increase: f64,
    /// Smallest absolute slowdown that counts, in seconds.
    pub min_delta_seconds: f64,
    /// Fewest samples per side.
    pub min_samples: u32,
}

/// Lint configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LintConfig {
    /// Severity per rule id (`FT0101`) or name (`unknown-metric`).
    #[serde(default)]
    pub rules: IndexMap<String, SeverityOverride>,
    /// How `flowtel lint alerts` reads alerting rules: which labels name the flow and the owner,
    /// which severities page, the scrape interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alerts: Option<AlertLint>,
    /// Attribute keys `flowtel lint telemetry` accepts on spans, events, links, log records and
    /// resources without a declaration: a key (`host.name`) or a namespace (`process.*`, every
    /// key under `process.`). Typically what SDKs and resource detectors add. Layers add to it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_attributes: Vec<String>,
    /// Patterns of log body text that belongs in an attribute (an e-mail address, an id), by
    /// name; log records whose body matches one are reported. When absent, flowtel's built-in
    /// set ([`BodyPattern::built_in`]) applies; an empty map turns the check off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_patterns: Option<IndexMap<String, BodyPattern>>,
}

impl LintConfig {
    /// Whether `key` is in `allow_attributes` (as itself or under an allowed namespace).
    pub fn allows_attribute(&self, key: &str) -> bool {
        self.allow_attributes
            .iter()
            .any(|p| attribute_pattern_matches(p, key))
    }
}

/// Whether an `allow_attributes` entry matches a key: `ns.*` matches every key under `ns.`,
/// `*` every key, anything else only itself.
pub fn attribute_pattern_matches(pattern: &str, key: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some("") => true,
        Some(prefix) if prefix.ends_with('.') => key.starts_with(prefix),
        _ => pattern == key,
    }
}

/// What is wrong with an `allow_attributes` entry, if anything: it must be a key, a namespace
/// (`ns.*`) or `*` (see [`attribute_pattern_matches`]).
pub fn attribute_pattern_problem(pattern: &str) -> Option<&'static str> {
    if pattern.is_empty() {
        return Some("is empty");
    }
    if pattern.chars().any(char::is_whitespace) {
        return Some("holds white space");
    }
    let body = match pattern.strip_suffix(".*") {
        Some(ns) => ns,
        None if pattern == "*" => return None,
        None => pattern,
    };
    if body.contains('*') {
        return Some("has a `*` that is not a whole last segment, so it matches no key");
    }
    if body.is_empty() || body.split('.').any(str::is_empty) {
        return Some("has an empty segment");
    }
    None
}

/// Text that should not be in a log body: a regular expression and the attribute that should
/// carry the value instead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BodyPattern {
    /// Regular expression matched against the body text.
    pub pattern: String,
    /// Declared attribute that should carry the value instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribute: Option<String>,
    /// The value is personal data: the finding is a warning about a leak, not only style.
    #[serde(default, skip_serializing_if = "is_false")]
    pub pii: bool,
}

impl BodyPattern {
    /// The built-in patterns: e-mail addresses and payment card numbers (personal data), UUIDs
    /// (ids that belong in attributes).
    pub fn built_in() -> IndexMap<String, BodyPattern> {
        let mut m = IndexMap::new();
        m.insert(
            "email".into(),
            BodyPattern {
                pattern: r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}".into(),
                attribute: None,
                pii: true,
            },
        );
        m.insert(
            "card-number".into(),
            BodyPattern {
                pattern: r"(?-u:\b)[0-9](?:[ -]?[0-9]){12,18}(?-u:\b)".into(),
                attribute: None,
                pii: true,
            },
        );
        m.insert(
            "uuid".into(),
            BodyPattern {
                pattern: r"(?-u:\b)[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(?-u:\b)".into(),
                attribute: None,
                pii: false,
            },
        );
        m
    }
}

/// Configuration of `flowtel lint alerts`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertLint {
    /// Alert label that names the flow an alert is about.
    #[serde(default = "AlertLint::default_flow_label")]
    pub flow_label: String,
    /// Alert label that names the team that owns the alert.
    #[serde(default = "AlertLint::default_owner_label")]
    pub owner_label: String,
    /// Alert label that carries the severity.
    #[serde(default = "AlertLint::default_severity_label")]
    pub severity_label: String,
    /// Severity values that page someone.
    #[serde(default = "AlertLint::default_page_severities")]
    pub page_severities: Vec<String>,
    /// Scrape interval of the metrics alerts read; ranges shorter than twice it are reported.
    #[serde(default = "AlertLint::default_scrape_interval")]
    pub scrape_interval: Duration,
}

impl AlertLint {
    fn default_flow_label() -> String {
        "flow".into()
    }
    fn default_owner_label() -> String {
        "owner".into()
    }
    fn default_severity_label() -> String {
        "severity".into()
    }
    fn default_page_severities() -> Vec<String> {
        vec!["page".into(), "critical".into()]
    }
    fn default_scrape_interval() -> Duration {
        Duration::from_raw("15s")
    }
}

impl Default for AlertLint {
    fn default() -> Self {
        AlertLint {
            flow_label: Self::default_flow_label(),
            owner_label: Self::default_owner_label(),
            severity_label: Self::default_severity_label(),
            page_severities: Self::default_page_severities(),
            scrape_interval: Self::default_scrape_interval(),
        }
    }
}

/// Personal data by shape: how flowtel recognises personal data that is not declared `pii`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PiiDetection {
    /// Words that, as a whole token of an attribute key (split at `.`, `_`, `-` and camel
    /// case), say the key holds personal data: `user_email` has `email`. The word `name` counts
    /// only after a person (`user_name`, `first.name`), never alone (`service.name`). Default:
    /// flowtel's list (email, mail, phone, mobile, msisdn, ssn, passport, iban, card, pan, cvv,
    /// ip, address, firstname, lastname, fullname, surname, birthdate, dob, name).
    #[serde(default = "PiiDetection::default_key_words")]
    pub key_words: Vec<String>,
    /// Built-in value shapes reported on attributes not declared `pii` and dropped from metric
    /// labels at run time. Default: all of them.
    #[serde(default = "PiiDetection::default_value_shapes")]
    pub value_shapes: Vec<ValueShape>,
    /// Further value shapes, by name: a string value that the regular expression matches (Rust
    /// `regex` syntax; anchor it with `^...$` to match whole values) is personal data.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub value_patterns: IndexMap<String, String>,
}

impl PiiDetection {
    /// flowtel's words for personal-data keys.
    pub const DEFAULT_KEY_WORDS: &[&str] = &[
        "email",
        "mail",
        "phone",
        "mobile",
        "msisdn",
        "ssn",
        "passport",
        "iban",
        "card",
        "pan",
        "cvv",
        "ip",
        "address",
        "firstname",
        "lastname",
        "fullname",
        "surname",
        "birthdate",
        "dob",
        "name",
    ];

    fn default_key_words() -> Vec<String> {
        Self::DEFAULT_KEY_WORDS
            .iter()
            .map(|w| w.to_string())
            .collect()
    }

    fn default_value_shapes() -> Vec<ValueShape> {
        ValueShape::ALL.to_vec()
    }
}

impl Default for PiiDetection {
    fn default() -> Self {
        PiiDetection {
            key_words: Self::default_key_words(),
            value_shapes: Self::default_value_shapes(),
            value_patterns: IndexMap::new(),
        }
    }
}

/// A built-in shape of personal-data values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ValueShape {
    /// An e-mail address (`ada@example.com`).
    Email,
    /// An international phone number: `+` and 8 to 15 digits, separators allowed.
    Phone,
    /// A payment card number: 13 to 19 digits passing the Luhn check.
    Card,
    /// An IPv4 or IPv6 address.
    Ip,
}

impl ValueShape {
    /// Every built-in shape.
    pub const ALL: [ValueShape; 4] = [
        ValueShape::Email,
        ValueShape::Phone,
        ValueShape::Card,
        ValueShape::Ip,
    ];

    /// The name as written in YAML and in findings.
    pub fn as_str(self) -> &'static str {
        match self {
            ValueShape::Email => "email",
            ValueShape::Phone => "phone",
            ValueShape::Card => "card",
            ValueShape::Ip => "ip",
        }
    }
}

/// Severity a rule is overridden to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SeverityOverride {
    /// Report as an error (fails the build).
    Error,
    /// Report as a warning.
    #[serde(alias = "warning")]
    Warn,
    /// Report as a note.
    Note,
    /// Do not report.
    Off,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// The JSON Schema of a conventions file, generated once from the model.
pub fn registry_schema() -> &'static serde_json::Value {
    static SCHEMA: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    SCHEMA.get_or_init(|| {
        serde_json::to_value(schemars::schema_for!(RegistryFile)).unwrap_or(serde_json::Value::Null)
    })
}
