//! [`init`]: wiring of `tracing`, `tracing-opentelemetry` and the OpenTelemetry SDK.
//!
//! One builder sets up the tracer and meter providers with a resource carrying `service.name`,
//! `service.version` and `deployment.environment.name`, the [`FlowLayer`], flow-aware head
//! sampling ([`crate::FlowSampler`], unless `OTEL_TRACES_SAMPLER` is set), redaction of
//! personal data at span export, the [`FlowPropagator`], and one of the exports: OTLP (HTTP,
//! or gRPC with the `otlp-grpc` feature) configured by the standard `OTEL_*` variables, OTLP
//! JSON lines in a folder, or memory only (for tests); optionally a Prometheus scrape endpoint
//! beside it. The returned [`Telemetry`] is the guard: dropping it flushes and shuts down.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry::{KeyValue, metrics::MeterProvider as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::logs::{
    BatchLogProcessor, InMemoryLogExporter, SdkLoggerProvider, SimpleLogProcessor,
};
#[cfg(any(feature = "otlp-http", feature = "otlp-grpc"))]
use opentelemetry_sdk::metrics::Temporality;
use opentelemetry_sdk::metrics::{
    Aggregation, InMemoryMetricExporter, Instrument as SdkInstrument, PeriodicReader,
    SdkMeterProvider, Stream, data::ResourceMetrics,
};
use opentelemetry_sdk::trace::{
    BatchSpanProcessor, InMemorySpanExporter, SdkTracerProvider, SpanData,
};
use tracing::Dispatch;
use tracing_subscriber::layer::SubscriberExt;

use crate::Conventions;
#[cfg(any(feature = "otlp-http", feature = "otlp-grpc"))]
use crate::export::CountingMetricExporter;
use crate::export::{JsonLinesLogExporter, JsonLinesMetricExporter, JsonLinesSpanExporter};
use crate::layer::FlowLayer;
use crate::logs::{FlowLogProcessor, LogLayer};
use crate::meter::Meter;
use crate::otel_layer::TraceLayer;
use crate::propagation::FlowPropagator;
use crate::redact::{RedactingSpanExporter, Redactor};
use crate::shutdown::{CountingProcessor, CountingSpanExporter, SpanAccounting};
use crate::violations::Violations;

/// Starts configuring telemetry for a service that follows `conventions`.
pub fn init(conventions: Conventions) -> TelemetryBuilder {
    TelemetryBuilder {
        conventions,
        service_name: None,
        service_version: None,
        environment: None,
        export: Export::Otlp { endpoint: None },
        prometheus: None,
        metric_interval: None,
        filter: None,
        shutdown_timeout: None,
        context_activation: true,
        console: false,
        trace_id_seed: None,
        hooks: Hooks::default(),
    }
}

/// A change to the tracer provider's builder: what [`TelemetryBuilder::span_processor`] adds.
type TracesHook = Box<
    dyn FnOnce(
            opentelemetry_sdk::trace::TracerProviderBuilder,
        ) -> opentelemetry_sdk::trace::TracerProviderBuilder
        + Send,
>;
/// A change to the meter provider's builder: what [`TelemetryBuilder::metric_reader`] adds.
type MetersHook = Box<
    dyn FnOnce(
            opentelemetry_sdk::metrics::MeterProviderBuilder,
        ) -> opentelemetry_sdk::metrics::MeterProviderBuilder
        + Send,
>;

/// Span processors and metric readers the user adds next to flowtel's export.
#[derive(Default)]
struct Hooks {
    traces: Vec<TracesHook>,
    meters: Vec<MetersHook>,
}

impl std::fmt::Debug for Hooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hooks")
            .field("span_processors", &self.traces.len())
            .field("metric_readers", &self.meters.len())
            .finish()
    }
}

/// Loads a conventions registry from a file or folder at run time (for services that read
/// `FLOWTEL_CONVENTIONS` instead of embedding the registry with `flowtel::conventions!()`).
/// Fails with the rendered findings when the registry has errors.
pub fn conventions_from_path(path: &std::path::Path) -> Result<Conventions, String> {
    use flowtel_conventions::finding::Severity;
    let loaded = flowtel_conventions::check(path);
    let errors: Vec<String> = loaded
        .findings
        .iter()
        .filter(|f| f.severity >= Severity::Error)
        .map(|f| f.message.clone())
        .collect();
    match loaded.registry {
        Some(registry) if errors.is_empty() => Ok(Arc::new(registry)),
        _ if errors.is_empty() => Err(format!("no registry at `{}`", path.display())),
        _ => Err(errors.join("; ")),
    }
}

/// The one line `init` prints when the registry declares flows but lacks metrics the SDK
/// records for them (`flowtel.violations` is recorded regardless, so it is never named).
pub(crate) fn missing_metrics_notice(conventions: &Conventions) -> Option<String> {
    let missing: Vec<String> = flowtel_conventions::recorded::missing(conventions)
        .into_iter()
        .filter(|m| m.name != crate::meter::VIOLATIONS_METRIC)
        .map(|m| format!("`{}`", m.name))
        .collect();
    if missing.is_empty() {
        return None;
    }
    Some(format!(
        "flowtel: the conventions `{}` declare flows but not {}: these metrics are not recorded; \
         import the platform layer that declares them, or run `flowtel check` for the lines to add",
        conventions.name,
        missing.join(", ")
    ))
}

/// Where telemetry goes.
#[derive(Debug, Clone)]
enum Export {
    Otlp {
        #[cfg_attr(
            not(any(feature = "otlp-http", feature = "otlp-grpc")),
            allow(dead_code)
        )]
        endpoint: Option<String>,
    },
    JsonLines(PathBuf),
    InMemory,
    Nowhere,
}

/// Why telemetry could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InitError {
    /// An exporter could not be built (bad endpoint, unsupported protocol).
    #[error("cannot build the {signal} exporter: {message}")]
    Exporter {
        /// `traces` or `metrics`.
        signal: &'static str,
        /// What went wrong.
        message: String,
    },
    /// An output file or the Prometheus endpoint could not be opened.
    #[error("{what}: {source}")]
    Io {
        /// What was being opened.
        what: String,
        /// The error.
        source: std::io::Error,
    },
    /// A global subscriber was already installed.
    #[error("a global tracing subscriber is already set")]
    SubscriberAlreadySet,
}

/// Configures telemetry; finish with [`install`](TelemetryBuilder::install) (global) or
/// [`build`](TelemetryBuilder::build) (a `Dispatch` to scope yourself, for tests).
#[derive(Debug)]
pub struct TelemetryBuilder {
    conventions: Conventions,
    service_name: Option<String>,
    service_version: Option<String>,
    environment: Option<String>,
    export: Export,
    prometheus: Option<SocketAddr>,
    metric_interval: Option<Duration>,
    filter: Option<String>,
    shutdown_timeout: Option<Duration>,
    context_activation: bool,
    console: bool,
    trace_id_seed: Option<u64>,
    hooks: Hooks,
}

impl TelemetryBuilder {
    /// Whether entering a flowtel (or any `tracing`) span makes it the current OpenTelemetry
    /// context (default: yes).
    ///
    /// With activation, code that uses the OpenTelemetry API directly (an instrumented
    /// database driver or HTTP client calling `Context::current()`, `tracer.start(..)`) sees
    /// the enclosing flow, step or server span as its parent, so its spans land in the right
    /// trace. `context_activation(false)` is the fast mode: entering a flow or step span costs
    /// less (see `BENCHMARKS.md`), but spans started through the OpenTelemetry API inside them
    /// get the nearest span that is always current as their parent (the request's server span
    /// from `flowtel-tower`, which it builds through the OpenTelemetry API), or outside a
    /// request become roots of new traces. Use it only when every instrumented library goes
    /// through `tracing`; flowtel's own propagation and flow lookup work in both modes.
    pub fn context_activation(mut self, activate: bool) -> Self {
        self.context_activation = activate;
        self
    }

    /// Also write events to stderr with `tracing-subscriber`'s `fmt` layer, as a service that
    /// used `tracing_subscriber::fmt` before flowtel did (default: off; events are exported as
    /// log records either way).
    pub fn console(mut self, on: bool) -> Self {
        self.console = on;
        self
    }

    /// Draw trace ids from fixed sequences seeded by `seed` (mixed with the service name, so
    /// the services of one process draw different ids), one sequence per flow, instead of at
    /// random: which traces of a flow the head sampler keeps is then the same in every run,
    /// however requests interleave, as long as each flow's requests are the same. For tests
    /// and reproducible examples only: two processes with the same seed and service name
    /// draw the same trace ids. See [`crate::sampling::FlowIdGenerator::seeded`].
    pub fn trace_id_seed(mut self, seed: u64) -> Self {
        self.trace_id_seed = Some(seed);
        self
    }

    /// Adds a span processor of your own next to flowtel's export (a second backend, a test's
    /// or a benchmark's processor). It sees the spans flowtel builds, before redaction.
    pub fn span_processor<P>(mut self, processor: P) -> Self
    where
        P: opentelemetry_sdk::trace::SpanProcessor + 'static,
    {
        self.hooks
            .traces
            .push(Box::new(move |b| b.with_span_processor(processor)));
        self
    }

    /// Adds a metric reader of your own next to flowtel's export (a test's or a benchmark's
    /// reader, a pull exporter of another format).
    pub fn metric_reader<R>(mut self, reader: R) -> Self
    where
        R: opentelemetry_sdk::metrics::reader::MetricReader,
    {
        self.hooks
            .meters
            .push(Box::new(move |b| b.with_reader(reader)));
        self
    }

    /// `service.name` and `service.version` (`OTEL_SERVICE_NAME` wins over the name).
    pub fn service(mut self, name: &str, version: &str) -> Self {
        self.service_name = Some(name.to_owned());
        self.service_version = Some(version.to_owned());
        self
    }

    /// `deployment.environment.name` (default: `FLOWTEL_ENVIRONMENT`, else `development`).
    pub fn environment(mut self, environment: &str) -> Self {
        self.environment = Some(environment.to_owned());
        self
    }

    /// Export over OTLP as the `OTEL_EXPORTER_OTLP_*` variables say (the default).
    pub fn otlp(mut self) -> Self {
        self.export = Export::Otlp { endpoint: None };
        self
    }

    /// Export over OTLP/HTTP to `base` (e.g. `http://127.0.0.1:4318`; `/v1/traces` and
    /// `/v1/metrics` are appended).
    pub fn otlp_endpoint(mut self, base: &str) -> Self {
        self.export = Export::Otlp {
            endpoint: Some(base.trim_end_matches('/').to_owned()),
        };
        self
    }

    /// Append OTLP JSON lines to `dir/traces.jsonl`, `dir/metrics.jsonl` and `dir/logs.jsonl`
    /// (several services of one process may share the folder).
    pub fn json_lines(mut self, dir: impl Into<PathBuf>) -> Self {
        self.export = Export::JsonLines(dir.into());
        self
    }

    /// Keep everything in memory (no exporter): read it back with
    /// [`Telemetry::finished_spans`], [`Telemetry::finished_metrics`] and
    /// [`Telemetry::finished_logs`].
    pub fn in_memory(mut self) -> Self {
        self.export = Export::InMemory;
        self
    }

    /// Push nothing (useful with [`prometheus`](TelemetryBuilder::prometheus) alone).
    pub fn no_push(mut self) -> Self {
        self.export = Export::Nowhere;
        self
    }

    /// Serve metrics for scraping in the Prometheus text format on `addr` (path `/metrics`).
    pub fn prometheus(mut self, addr: SocketAddr) -> Self {
        self.prometheus = Some(addr);
        self
    }

    /// How often metrics are pushed (default: `OTEL_METRIC_EXPORT_INTERVAL`, else 60 s).
    pub fn metric_interval(mut self, interval: Duration) -> Self {
        self.metric_interval = Some(interval);
        self
    }

    /// A `RUST_LOG`-style directive for which spans and events are recorded (default:
    /// `RUST_LOG`, else `info`). Targets and levels only (`info,my_crate=debug`) filter when a
    /// callsite is first seen and cost nothing per span; span and field directives
    /// (`my_crate[checkout]=debug`) are `EnvFilter`'s, checked on every span.
    pub fn filter(mut self, directive: &str) -> Self {
        self.filter = Some(directive.to_owned());
        self
    }

    /// How long dropping the [`Telemetry`] may take to export what is pending, whatever the
    /// collector does (default [`crate::shutdown::DEFAULT_SHUTDOWN_TIMEOUT`], or
    /// `FLOWTEL_SHUTDOWN_TIMEOUT` in milliseconds); what is not sent by then is counted as
    /// `export-dropped` and reported once.
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = Some(timeout);
        self
    }

    /// Installs globally: the subscriber, the propagator and the meter provider.
    pub fn install(self) -> Result<Telemetry, InitError> {
        let (telemetry, dispatch) = self.build()?;
        tracing::dispatcher::set_global_default(dispatch)
            .map_err(|_| InitError::SubscriberAlreadySet)?;
        opentelemetry::global::set_text_map_propagator(telemetry.propagator.clone());
        opentelemetry::global::set_meter_provider(telemetry.meter_provider.clone());
        opentelemetry::global::set_tracer_provider(telemetry.tracer_provider.clone());
        Ok(telemetry)
    }

    /// Builds everything without installing anything global.
    ///
    /// `FLOWTEL_PII_KEY` (32 hex digits), when set, keys [`crate::hash_pii`], so the services
    /// of a deployment hash personal data alike; otherwise each process draws a random key.
    pub fn build(mut self) -> Result<(Telemetry, Dispatch), InitError> {
        if let Some(key) = std::env::var("FLOWTEL_PII_KEY")
            .ok()
            .and_then(|hex| parse_key(hex.trim()))
        {
            crate::redact::set_pii_key(key);
        }
        if let Some(line) = missing_metrics_notice(&self.conventions) {
            eprintln!("{line}");
        }
        let violations = Arc::new(Violations::new());
        let resource = self.resource();
        let registry = &self.conventions;
        let ids = match self.trace_id_seed {
            Some(seed) => {
                let service = resource
                    .get(&opentelemetry::Key::from_static_str("service.name"))
                    .map(|v| v.as_str().into_owned())
                    .unwrap_or_default();
                let seed = seed ^ crate::sampling::fnv1a(service.as_bytes());
                crate::sampling::FlowIdGenerator::seeded(seed, registry.flows.keys())
            }
            None => crate::sampling::FlowIdGenerator::default(),
        };

        let mut meters = SdkMeterProvider::builder()
            .with_resource(resource.clone())
            .with_view(view(registry));
        let mut traces = SdkTracerProvider::builder().with_resource(resource.clone());
        let mut logs = SdkLoggerProvider::builder().with_resource(resource);
        // Head sampling per flow from the conventions, unless the operator chose a sampler
        // with OpenTelemetry's own variable (the SDK reads it when none is set here).
        let flow_sampler = std::env::var_os("OTEL_TRACES_SAMPLER")
            .is_none_or(|v| v.is_empty())
            .then(|| Arc::new(crate::sampling::FlowSampler::new(registry)));
        if let Some(sampler) = &flow_sampler {
            traces = traces
                .with_sampler(sampler.as_ref().clone())
                .with_id_generator(ids.clone());
        } else if self.trace_id_seed.is_some() {
            traces = traces.with_id_generator(ids.clone());
        }
        let redactor = Arc::new(Redactor::from_registry(registry));
        fn redacting<E>(
            e: E,
            redactor: &Arc<Redactor>,
            violations: &Arc<Violations>,
        ) -> RedactingSpanExporter<E> {
            RedactingSpanExporter::new(e, redactor.clone(), violations.clone())
        }
        // Spans through the batch processor, for what a bounded shutdown could not send.
        let accounting = Arc::new(SpanAccounting::default());
        fn batch<E: opentelemetry_sdk::trace::SpanExporter + 'static>(
            exporter: E,
            accounting: &Arc<SpanAccounting>,
        ) -> CountingProcessor<BatchSpanProcessor> {
            CountingProcessor::new(
                BatchSpanProcessor::builder(exporter).build(),
                accounting.clone(),
            )
        }
        let mut memory = None;
        let mut memory_logs = None;
        fn batch_logs<E: opentelemetry_sdk::logs::LogExporter + 'static>(
            exporter: E,
        ) -> FlowLogProcessor<BatchLogProcessor> {
            FlowLogProcessor::new(BatchLogProcessor::builder(exporter).build())
        }
        match &self.export {
            #[cfg(any(feature = "otlp-http", feature = "otlp-grpc"))]
            Export::Otlp { endpoint } => {
                let (spans, metrics, log_exporter) = otlp_exporters(endpoint.as_deref())?;
                logs = logs.with_log_processor(batch_logs(log_exporter));
                traces = traces.with_span_processor(batch(
                    redacting(
                        CountingSpanExporter::new(spans, accounting.clone()),
                        &redactor,
                        &violations,
                    ),
                    &accounting,
                ));
                meters = meters.with_reader(
                    self.periodic(CountingMetricExporter::new(metrics, violations.clone())),
                );
            }
            #[cfg(not(any(feature = "otlp-http", feature = "otlp-grpc")))]
            Export::Otlp { .. } => {
                return Err(InitError::Exporter {
                    signal: "traces",
                    message: "OTLP export needs flowtel's `otlp-http` or `otlp-grpc` feature"
                        .into(),
                });
            }
            Export::JsonLines(dir) => {
                let io = |what: &str| {
                    let path = dir.join(what);
                    move |source| InitError::Io {
                        what: format!("cannot create `{}`", path.display()),
                        source,
                    }
                };
                let spans = JsonLinesSpanExporter::append(&dir.join("traces.jsonl"))
                    .map_err(io("traces.jsonl"))?;
                let metrics = JsonLinesMetricExporter::append(&dir.join("metrics.jsonl"))
                    .map_err(io("metrics.jsonl"))?;
                let log_exporter = JsonLinesLogExporter::append(&dir.join("logs.jsonl"))
                    .map_err(io("logs.jsonl"))?;
                logs = logs.with_log_processor(batch_logs(log_exporter));
                traces = traces.with_span_processor(batch(
                    redacting(
                        CountingSpanExporter::new(spans, accounting.clone()),
                        &redactor,
                        &violations,
                    ),
                    &accounting,
                ));
                meters = meters.with_reader(self.periodic(metrics));
            }
            Export::InMemory => {
                let spans = InMemorySpanExporter::default();
                let metrics = InMemoryMetricExporter::default();
                traces =
                    traces.with_simple_exporter(redacting(spans.clone(), &redactor, &violations));
                meters = meters.with_reader(self.periodic(metrics.clone()));
                memory = Some((spans, metrics));
                let log_exporter = InMemoryLogExporter::default();
                logs = logs.with_log_processor(FlowLogProcessor::new(SimpleLogProcessor::new(
                    log_exporter.clone(),
                )));
                memory_logs = Some(log_exporter);
            }
            Export::Nowhere => {}
        }
        #[cfg_attr(not(feature = "prometheus"), allow(unused_mut))]
        let mut prometheus = None;
        #[cfg(feature = "prometheus")]
        if let Some(addr) = self.prometheus {
            let (reader, server) = crate::scrape::serve(addr)?;
            meters = meters.with_reader(reader);
            prometheus = Some(server);
        }
        #[cfg(not(feature = "prometheus"))]
        if self.prometheus.is_some() {
            return Err(InitError::Exporter {
                signal: "metrics",
                message: "flowtel was built without the `prometheus` feature".into(),
            });
        }

        for hook in std::mem::take(&mut self.hooks.meters) {
            meters = hook(meters);
        }
        for hook in std::mem::take(&mut self.hooks.traces) {
            traces = hook(traces);
        }
        let meter_provider = meters.build();
        let tracer_provider = traces.build();
        let logger_provider = logs.build();
        let meter = Meter::with_violations(
            self.conventions.clone(),
            meter_provider.meter("flowtel"),
            violations.clone(),
        );
        let tracer = tracer_provider.tracer("flowtel");
        let (targets, env_filter) = level_filter(self.filter.as_deref());
        // Spans of dropped traces skip the OpenTelemetry layer (decided before it builds them);
        // the `FlowLayer` sees every span, so metrics are never sampled.
        // Entering a span makes it the current OpenTelemetry context, so spans that libraries
        // start through the OpenTelemetry API get the right parent; `context_activation(false)`
        // trades that for speed.
        let otel = crate::otel_layer::span_layer(tracer.clone())
            .with_context_activation(self.context_activation);
        let mut trace_layer = TraceLayer::new(otel).lending(tracer, self.context_activation);
        if let Some(sampler) = flow_sampler {
            trace_layer = trace_layer.sampled_by(sampler, ids);
        }
        let subscriber = tracing_subscriber::registry()
            .with(FlowLayer::new(&meter))
            .with(trace_layer)
            .with(LogLayer::new(
                &logger_provider,
                registry,
                redactor.clone(),
                violations.clone(),
            ))
            .with(
                self.console
                    .then(|| tracing_subscriber::fmt::layer().with_writer(std::io::stderr)),
            )
            .with(targets)
            .with(env_filter);
        let propagator = FlowPropagator::new(Some(violations));
        let batched = matches!(self.export, Export::Otlp { .. } | Export::JsonLines(_));
        let telemetry = Telemetry {
            accounting: batched.then_some(accounting),
            shutdown_timeout: self
                .shutdown_timeout
                .or_else(crate::shutdown::timeout_from_env)
                .unwrap_or(crate::shutdown::DEFAULT_SHUTDOWN_TIMEOUT),
            tracer_provider,
            meter_provider,
            logger_provider,
            meter,
            propagator,
            memory,
            memory_logs,
            prometheus,
        };
        Ok((telemetry, Dispatch::new(subscriber)))
    }

    fn periodic<E>(&self, exporter: E) -> PeriodicReader<E>
    where
        E: opentelemetry_sdk::metrics::exporter::PushMetricExporter,
    {
        let reader = PeriodicReader::builder(exporter);
        match self.metric_interval {
            Some(i) => reader.with_interval(i).build(),
            None => reader.build(),
        }
    }

    fn resource(&self) -> Resource {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let name = env("OTEL_SERVICE_NAME")
            .or_else(|| self.service_name.clone())
            .unwrap_or_else(|| "unknown_service".to_owned());
        let version = self
            .service_version
            .clone()
            .unwrap_or_else(|| "0.0.0".to_owned());
        let environment = self
            .environment
            .clone()
            .or_else(|| env("FLOWTEL_ENVIRONMENT"))
            .unwrap_or_else(|| "development".to_owned());
        Resource::builder()
            .with_attributes([
                KeyValue::new("service.version", version),
                KeyValue::new("deployment.environment.name", environment),
            ])
            .with_service_name(name)
            .build()
    }
}

/// The subscriber's level filter for `directive` (else `RUST_LOG`, else `info`): a `Targets`
/// filter when the directive names targets and levels only, decided once per callsite; an
/// `EnvFilter` when it filters on spans or field values, which it must track span by span.
fn level_filter(
    directive: Option<&str>,
) -> (
    Option<tracing_subscriber::filter::Targets>,
    Option<tracing_subscriber::EnvFilter>,
) {
    let from_env = std::env::var(tracing_subscriber::EnvFilter::DEFAULT_ENV).ok();
    let directive = directive
        .or(from_env.as_deref())
        .filter(|d| !d.trim().is_empty())
        .unwrap_or("info");
    let dynamic = directive.contains(['[', '{']);
    if !dynamic && let Ok(targets) = directive.parse() {
        return (Some(targets), None);
    }
    let env = tracing_subscriber::EnvFilter::try_new(directive)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    (None, Some(env))
}

/// 32 hex digits as a 16-byte key.
fn parse_key(hex: &str) -> Option<[u8; 16]> {
    if hex.len() != 32 || !hex.is_ascii() {
        return None;
    }
    let mut key = [0u8; 16];
    for (i, byte) in key.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(key)
}

/// Per-instrument SDK settings from the registry: the SDK's own cardinality limit sits above
/// flowtel's (so the SDK never folds first), and histograms get the registry's buckets.
fn view(
    registry: &Conventions,
) -> impl Fn(&SdkInstrument) -> Option<Stream> + Send + Sync + 'static {
    let registry = registry.clone();
    move |inst: &SdkInstrument| {
        let metric = registry.metrics.get(inst.name())?;
        let limit = metric
            .cardinality_limit
            .unwrap_or(registry.defaults.cardinality_limit) as usize;
        let mut stream = Stream::builder().with_cardinality_limit(limit + 2);
        if let Some(buckets) = &metric.buckets {
            stream = stream.with_aggregation(Aggregation::ExplicitBucketHistogram {
                boundaries: buckets.clone(),
                record_min_max: true,
            });
        }
        stream.build().ok()
    }
}

#[cfg(any(feature = "otlp-http", feature = "otlp-grpc"))]
type OtlpPair = (
    opentelemetry_otlp::SpanExporter,
    opentelemetry_otlp::MetricExporter,
    opentelemetry_otlp::LogExporter,
);

#[cfg(any(feature = "otlp-http", feature = "otlp-grpc"))]
fn otlp_exporters(endpoint: Option<&str>) -> Result<OtlpPair, InitError> {
    #[cfg_attr(not(feature = "otlp-http"), allow(unused_imports))]
    use opentelemetry_otlp::{Protocol, WithExportConfig};
    let protocol = std::env::var("OTEL_EXPORTER_OTLP_PROTOCOL").unwrap_or_default();
    let err = |signal| {
        move |e: opentelemetry_otlp::ExporterBuildError| InitError::Exporter {
            signal,
            message: e.to_string(),
        }
    };
    if protocol == "grpc" {
        #[cfg(feature = "otlp-grpc")]
        {
            let mut spans = opentelemetry_otlp::SpanExporter::builder().with_tonic();
            let mut metrics = opentelemetry_otlp::MetricExporter::builder()
                .with_tonic()
                .with_temporality(Temporality::Cumulative);
            let mut logs = opentelemetry_otlp::LogExporter::builder().with_tonic();
            if let Some(e) = endpoint {
                spans = spans.with_endpoint(e);
                metrics = metrics.with_endpoint(e);
                logs = logs.with_endpoint(e);
            }
            return Ok((
                spans.build().map_err(err("traces"))?,
                metrics.build().map_err(err("metrics"))?,
                logs.build().map_err(err("logs"))?,
            ));
        }
        #[cfg(not(feature = "otlp-grpc"))]
        return Err(InitError::Exporter {
            signal: "traces",
            message: "OTEL_EXPORTER_OTLP_PROTOCOL=grpc needs flowtel's `otlp-grpc` feature".into(),
        });
    }
    #[cfg(feature = "otlp-http")]
    {
        let protocol = if protocol == "http/json" {
            Protocol::HttpJson
        } else {
            Protocol::HttpBinary
        };
        let mut spans = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(protocol);
        let mut metrics = opentelemetry_otlp::MetricExporter::builder()
            .with_http()
            .with_protocol(protocol)
            .with_temporality(Temporality::Cumulative);
        let mut logs = opentelemetry_otlp::LogExporter::builder()
            .with_http()
            .with_protocol(protocol);
        if let Some(base) = endpoint {
            spans = spans.with_endpoint(format!("{base}/v1/traces"));
            metrics = metrics.with_endpoint(format!("{base}/v1/metrics"));
            logs = logs.with_endpoint(format!("{base}/v1/logs"));
        }
        Ok((
            spans.build().map_err(err("traces"))?,
            metrics.build().map_err(err("metrics"))?,
            logs.build().map_err(err("logs"))?,
        ))
    }
    #[cfg(not(feature = "otlp-http"))]
    {
        let _ = (endpoint, err);
        Err(InitError::Exporter {
            signal: "traces",
            message: "OTLP over HTTP needs flowtel's `otlp-http` feature; set OTEL_EXPORTER_OTLP_PROTOCOL=grpc".into(),
        })
    }
}

/// The running telemetry of a service. Dropping it flushes and shuts down the providers.
pub struct Telemetry {
    accounting: Option<Arc<SpanAccounting>>,
    shutdown_timeout: Duration,
    tracer_provider: SdkTracerProvider,
    meter_provider: SdkMeterProvider,
    logger_provider: SdkLoggerProvider,
    meter: Meter,
    propagator: FlowPropagator,
    memory: Option<(InMemorySpanExporter, InMemoryMetricExporter)>,
    memory_logs: Option<InMemoryLogExporter>,
    #[cfg_attr(not(feature = "prometheus"), allow(dead_code))]
    prometheus: Option<crate::scrape::ScrapeServer>,
}

impl std::fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Telemetry")
            .field("meter", &self.meter)
            .finish_non_exhaustive()
    }
}

impl Telemetry {
    /// The registry-enforcing meter, for the service's own metrics and for the middleware.
    pub fn meter(&self) -> &Meter {
        &self.meter
    }

    /// The typed handle of the saturation signal `name`; see [`crate::Saturation`] (and
    /// `flowtel::saturation!`, which checks the name at compile time).
    pub fn saturation(&self, name: &str) -> crate::Saturation {
        self.meter.saturation(name)
    }

    /// Enforcement counters.
    pub fn violations(&self) -> &Arc<Violations> {
        self.meter.violations()
    }

    /// The propagator (W3C trace context and baggage with limits).
    pub fn propagator(&self) -> &FlowPropagator {
        &self.propagator
    }

    /// The underlying SDK tracer provider.
    pub fn tracer_provider(&self) -> &SdkTracerProvider {
        &self.tracer_provider
    }

    /// The underlying SDK meter provider.
    pub fn meter_provider(&self) -> &SdkMeterProvider {
        &self.meter_provider
    }

    /// The address the Prometheus endpoint listens on, when enabled.
    pub fn prometheus_addr(&self) -> Option<SocketAddr> {
        #[cfg(feature = "prometheus")]
        return self.prometheus.as_ref().map(|s| s.addr());
        #[cfg(not(feature = "prometheus"))]
        None
    }

    /// The underlying SDK logger provider (log records from `tracing` events).
    pub fn logger_provider(&self) -> &SdkLoggerProvider {
        &self.logger_provider
    }

    /// Exports whatever is pending now.
    pub fn flush(&self) {
        let _ = self.tracer_provider.force_flush();
        let _ = self.meter_provider.force_flush();
        let _ = self.logger_provider.force_flush();
    }

    /// Log records emitted so far (in-memory mode; empty otherwise), with their resource.
    pub fn finished_logs(
        &self,
    ) -> Vec<opentelemetry_sdk::logs::in_memory_exporter::LogDataWithResource> {
        match &self.memory_logs {
            Some(logs) => logs.get_emitted_logs().unwrap_or_default(),
            None => Vec::new(),
        }
    }

    /// Spans finished so far (in-memory mode; empty otherwise).
    pub fn finished_spans(&self) -> Vec<SpanData> {
        match &self.memory {
            Some((spans, _)) => spans.get_finished_spans().unwrap_or_default(),
            None => Vec::new(),
        }
    }

    /// The metrics as of now (in-memory mode; `None` otherwise): collects, then returns the
    /// latest cumulative export.
    pub fn finished_metrics(&self) -> Option<ResourceMetrics> {
        let (_, metrics) = self.memory.as_ref()?;
        let _ = self.meter_provider.force_flush();
        metrics.get_finished_metrics().ok()?.pop()
    }
}

impl Drop for Telemetry {
    /// Exports what is pending and shuts the providers down within the shutdown deadline
    /// ([`TelemetryBuilder::shutdown_timeout`]), whatever the collector does.
    fn drop(&mut self) {
        // Log records first (their batch queue is bounded; what does not leave by the deadline
        // is dropped), then spans and metrics within the same deadline.
        let _ = self
            .logger_provider
            .shutdown_with_timeout(self.shutdown_timeout);
        crate::shutdown::shut_down(
            &self.tracer_provider,
            &self.meter_provider,
            self.shutdown_timeout,
            self.accounting.as_deref(),
            self.meter.violations(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_names_the_red_metrics_a_registry_with_flows_lacks() {
        let text = "schema: flowtel/v1\nname: signup-svc\nversion: 0.1.0\n\
                    flows:\n  signup: {owner: team-growth}\n";
        let reg = crate::__private::embedded("flowtel.yaml", &[("flowtel.yaml", text)]);
        let line = missing_metrics_notice(&reg).expect("a notice");
        assert!(line.contains("`flow.requests`"), "{line}");
        assert!(line.contains("`http.server.request.duration`"), "{line}");
        assert!(!line.contains("flowtel.violations"), "{line}");
        let bundled = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../conventions");
        let bundled = conventions_from_path(&bundled).expect("bundled conventions");
        assert_eq!(missing_metrics_notice(&bundled), None);
    }

    #[test]
    fn pii_keys_are_32_hex_digits() {
        let key = parse_key("000102030405060708090a0b0c0d0e0f").unwrap();
        assert_eq!(key[15], 15);
        assert!(parse_key("00").is_none());
        assert!(parse_key("zz0102030405060708090a0b0c0d0e0f").is_none());
    }
}
