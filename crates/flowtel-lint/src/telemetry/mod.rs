//! Lint of exported telemetry (OTLP, Prometheus) against the conventions.
//!
//! Plain data in, findings out: a [`TelemetryLinter`] is fed [`flowtel_otlp::Batch`]es one at a
//! time (from files through [`lint_inputs`], or from requests by the live receiver) and returns
//! [`Finding`]s when [`TelemetryLinter::finish`] is called. Per-item rules (unknown metrics,
//! undeclared labels and attributes, value types, personal data, enum values, flows and steps,
//! span shape, names, resources, the Prometheus rules) run while a batch is in hand;
//! whole-input rules (series per metric, values per attribute) keep bounded tallies and report
//! at the end. Memory is bounded by the largest
//! batch plus those capped tallies, never by the size of the input. Reading is left to
//! `flowtel-otlp`; rendering to `flowtel_conventions::report`.
//!
//! ```
//! let reg = flowtel_conventions::check_str(
//!     "flowtel.yaml",
//!     "schema: flowtel/v1\nname: demo\nversion: 1.0.0\nmetrics:\n  flow.requests: {instrument: counter, unit: '{request}'}\n",
//! ).registry.unwrap();
//! let text = "# HELP flow_requests_total Flows.\n# TYPE flow_requests_total counter\nflow_requests_total 3\nother_thing 1\n";
//! let mut linter = flowtel_lint::telemetry::TelemetryLinter::new(&reg);
//! for batch in flowtel_otlp::from_reader("metrics.prom", text.as_bytes()).unwrap() {
//!     linter.batch(&batch.unwrap());
//! }
//! let findings = linter.finish();
//! assert!(findings.iter().any(|f| f.rule.name == "unknown-metric"));
//! ```

mod attributes;
mod collect;
mod coverage;
mod index;
mod logs;
mod otlp;
mod prometheus;
mod resource;
mod span_conventions;
mod span_shape;
mod tally;
mod types;

use flowtel_conventions::rules::registry::UNREADABLE_INPUT;
use flowtel_conventions::rules::telemetry as rules;
use flowtel_conventions::{Finding, Location, Registry, Severity};
use flowtel_otlp::{Batch, ErrorKind, InputPosition, InputSink, ReadOptions};

pub use collect::MAX_DISTINCT_FINDINGS;
pub use flowtel_conventions::coverage::{Coverage, Seen};

use collect::Collected;
use index::{FastMap, Index, fast_map};
use tally::{Series, Values};

/// At most this many input errors are reported per input (JSON lines go on after a bad line).
pub use flowtel_otlp::MAX_ERRORS_PER_INPUT;

/// Lints telemetry batch by batch against one registry.
pub struct TelemetryLinter<'r> {
    ix: Index<'r>,
    found: Collected,
    values: Vec<Values>,
    series: Vec<Series>,
    /// Span names already checked against `naming.span` (bounded cache).
    span_names: FastMap<u64, bool>,
    /// Span-convention verdicts by span shape.
    span_shapes: span_conventions::Shapes,
    /// Verdicts on attribute keys no layer declares by name (bounded cache).
    keys: FastMap<u64, attributes::KeyVerdict>,
    /// Whether the batch in hand has typed values (OTLP; Prometheus labels are text).
    typed_values: bool,
    /// Saturation signals seen (first place) and whether their limit gauge was seen.
    saturation: FastMap<&'r str, SaturationSeen>,
    stats: Stats,
    /// What arrived of the declared flows, steps, services, routes and metrics.
    seen: coverage::SeenCollector,
    /// Body patterns and per-service correlation of log records.
    logs: logs::LogChecks,
}

/// What the input showed of one saturation signal.
#[derive(Debug, Default)]
struct SaturationSeen {
    signal_at: Option<Location>,
    limit_seen: bool,
}

/// What a lint run has seen so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Batches linted.
    pub batches: u64,
    /// Spans, metrics and log records linted.
    pub items: u64,
    /// Input errors reported.
    pub errors: u64,
    /// Distinct findings dropped past [`MAX_DISTINCT_FINDINGS`].
    pub dropped_findings: u64,
}

const SPAN_NAME_CACHE: usize = 65_536;

impl<'r> TelemetryLinter<'r> {
    /// A linter for `reg`.
    pub fn new(reg: &'r Registry) -> Self {
        let ix = Index::new(reg);
        let mut values: Vec<Values> = Vec::with_capacity(ix.value_tallies);
        for a in reg.attributes.values() {
            if let Some(max) = a.max_values {
                values.push(Values::new(tally_cap(max)));
            }
        }
        let series = ix
            .reg
            .metrics
            .keys()
            .map(|n| Series::new(tally_cap(ix.metrics[n.as_str()].limit)))
            .collect();
        TelemetryLinter {
            ix,
            found: Collected::new(),
            values,
            series,
            span_names: fast_map(),
            span_shapes: Default::default(),
            keys: fast_map(),
            typed_values: true,
            saturation: fast_map(),
            stats: Stats::default(),
            seen: coverage::SeenCollector::new(reg),
            logs: logs::LogChecks::new(reg),
        }
    }

    /// Lints one batch.
    pub fn batch(&mut self, batch: &Batch) {
        self.stats.batches += 1;
        self.seen.batch(batch);
        self.typed_values = batch.prometheus.is_none();
        if let Some(exp) = &batch.prometheus {
            self.stats.items += exp.families.len() as u64;
            self.prometheus(batch, exp);
        } else {
            self.stats.items += batch.item_count() as u64;
            self.otlp(batch);
        }
    }

    /// Reports an input error as a fatal finding at its position.
    pub fn error(&mut self, err: &flowtel_otlp::Error) {
        self.stats.errors += 1;
        self.found.push(error_finding(err));
    }

    /// What has been seen so far.
    pub fn stats(&self) -> Stats {
        Stats {
            dropped_findings: self.found.dropped,
            ..self.stats
        }
    }

    /// What has arrived so far of the names the conventions declare.
    pub fn seen(&self) -> Seen {
        self.seen.seen()
    }

    /// Visibility coverage so far: declared flows, steps, services, entry routes and metrics
    /// against what arrived (see [`flowtel_conventions::coverage`]).
    pub fn coverage(&self) -> Coverage {
        flowtel_conventions::coverage::coverage(self.ix.reg, &self.seen.seen())
    }

    /// [`finish`](Self::finish), and the coverage of the whole run.
    pub fn finish_with_coverage(self) -> (Vec<Finding>, Coverage) {
        let coverage = self.coverage();
        (self.finish(), coverage)
    }

    /// The findings: whole-input rules evaluated, severity overrides of the conventions'
    /// `lint.rules` applied, sorted by place.
    pub fn finish(mut self) -> Vec<Finding> {
        self.whole_input();
        let mut findings = self.found.into_findings();
        flowtel_conventions::apply_overrides(&mut findings, &self.ix.reg.lint);
        flowtel_conventions::sort(&mut findings);
        findings
    }

    fn whole_input(&mut self) {
        self.logs_whole_input();
        let mut missing: Vec<(&str, Option<Location>)> = self
            .saturation
            .iter()
            .filter(|(_, s)| s.signal_at.is_some() && !s.limit_seen)
            .map(|(n, s)| (*n, s.signal_at.clone()))
            .collect();
        missing.sort_by_key(|(n, _)| *n);
        for (name, at) in missing {
            let limit = flowtel_conventions::Metric::limit_metric_name(name);
            self.found.push(
                Finding::new(
                    &rules::SATURATION_LIMIT_MISSING,
                    format!("saturation signal `{name}` is exported without its limit gauge `{limit}`"),
                )
                .at(at)
                .subject("metric", name)
                .help(format!(
                    "record `{name}` through the flowtel SDK's saturation handle, which exports `{limit}`, or export `{limit}` with the declared limit yourself"
                )),
            );
        }
        for (name, info) in &self.ix.metrics {
            let s = &self.series[info.series];
            if s.count() as u64 <= u64::from(info.limit) {
                continue;
            }
            let count = if s.saturated() {
                format!("at least {}", s.count())
            } else {
                s.count().to_string()
            };
            let mut f = Finding::new(
                &rules::CARDINALITY_OVER_LIMIT,
                format!(
                    "metric `{name}` has {count} series, over its cardinality limit of {}",
                    info.limit
                ),
            )
            .at(s.first_over.clone())
            .subject("metric", *name)
            .subject("series", s.count().to_string())
            .subject("limit", info.limit.to_string());
            if let Some((label, values)) = s.widest_label() {
                f = f
                    .subject("label", label.clone())
                    .subject("top_values", values.describe_top())
                    .help(format!(
                        "label `{label}` has the most values ({}); most frequent: {}; bound its values or drop it from the metric",
                        values.distinct(),
                        values.describe_top()
                    ));
            }
            self.found.push(f);
        }
        for info in self.ix.attributes.values() {
            let (Some(t), Some(max)) = (info.tally, info.attr.max_values) else {
                continue;
            };
            let v = &self.values[t];
            if v.distinct() as u64 <= u64::from(max) {
                continue;
            }
            let count = if v.saturated() {
                format!("at least {}", v.distinct())
            } else {
                v.distinct().to_string()
            };
            self.found.push(
                Finding::new(
                    &rules::ATTRIBUTE_VALUES_OVER_MAX,
                    format!(
                        "attribute `{}` has {count} distinct values, over its max_values of {max}",
                        info.name
                    ),
                )
                .at(v.first_over.clone())
                .subject("attribute", info.name)
                .subject("values", v.distinct().to_string())
                .subject("max_values", max.to_string())
                .subject("top_values", v.describe_top())
                .help(format!(
                    "most frequent values: {}; use a bounded value (a template, a class) instead of an id",
                    v.describe_top()
                )),
            );
        }
    }
}

/// Distinct values counted exactly before a tally saturates: enough to report well past the
/// limit, bounded whatever the limit says.
fn tally_cap(limit: u32) -> usize {
    (limit as usize)
        .saturating_mul(2)
        .clamp(limit as usize + 1, 1 << 20)
}

/// The fatal finding for a reader error, at its file, line and column (or byte offset).
pub fn error_finding(err: &flowtel_otlp::Error) -> Finding {
    let rule = if err.kind == ErrorKind::Io {
        &UNREADABLE_INPUT
    } else {
        &rules::MALFORMED_TELEMETRY
    };
    let line = err.line.map_or(1, clamp_u32);
    let column = err.column.map_or(1, clamp_u32);
    let mut message = err.message.clone();
    if err.line.is_none()
        && let Some(off) = err.byte_offset
    {
        message = format!("{message} (at byte {off})");
    }
    let mut f = Finding::new(rule, message)
        .at(Location::new(err.file.to_string(), line, column))
        .severity(Severity::Fatal)
        .subject("input", err.file.to_string());
    if let Some(off) = err.byte_offset {
        f = f.subject("byte_offset", off.to_string());
    }
    if err.kind == ErrorKind::TooLarge {
        f = f.help("raise the limit with `--max-batch-bytes`, or export smaller batches");
    }
    f
}

fn clamp_u32(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Progress of [`lint_inputs`], reported after every batch.
#[derive(Debug, Clone, Copy)]
pub struct Progress<'a> {
    /// Index of the input being read.
    pub input: usize,
    /// Its name.
    pub name: &'a str,
    /// Bytes of it read so far (decompressed), as far as known.
    pub bytes: u64,
    /// Totals so far.
    pub stats: Stats,
}

/// Lints every input (file path, `-` for stdin, `http://` URL to scrape) and returns the
/// findings of the whole run; `progress` is called after each batch. The input loop is
/// [`flowtel_otlp::read_inputs`].
pub fn lint_inputs(
    reg: &Registry,
    inputs: &[String],
    options: &ReadOptions,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Vec<Finding> {
    lint_inputs_with_coverage(reg, inputs, options, progress).0
}

/// [`lint_inputs`], and the visibility coverage of what the inputs held.
pub fn lint_inputs_with_coverage(
    reg: &Registry,
    inputs: &[String],
    options: &ReadOptions,
    progress: &mut dyn FnMut(Progress<'_>),
) -> (Vec<Finding>, Coverage) {
    struct Sink<'a, 'r> {
        linter: TelemetryLinter<'r>,
        progress: &'a mut dyn FnMut(Progress<'_>),
    }
    impl InputSink for Sink<'_, '_> {
        fn batch(&mut self, at: InputPosition<'_>, batch: &Batch) {
            self.linter.batch(batch);
            (self.progress)(Progress {
                input: at.input,
                name: at.name,
                bytes: at.bytes,
                stats: self.linter.stats(),
            });
        }
        fn error(&mut self, err: &flowtel_otlp::Error) {
            self.linter.error(err);
        }
    }
    let mut sink = Sink {
        linter: TelemetryLinter::new(reg),
        progress,
    };
    flowtel_otlp::read_inputs(inputs, options, &mut sink);
    sink.linter.finish_with_coverage()
}

/// The findings of a coverage threshold (`--min-coverage`): one error per flow whose coverage
/// is below `min`, naming what was not seen, and one when the overall figure is below it.
pub fn coverage_findings(coverage: &Coverage, min: f64) -> Vec<Finding> {
    let pct = |x: f64| format!("{:.1}%", x * 100.0);
    let mut out = Vec::new();
    for f in coverage.below(min) {
        let mut missing = Vec::new();
        if !f.seen {
            missing.push("no telemetry of the flow at all".to_string());
        }
        for (what, items) in [
            ("steps", &f.steps),
            ("services", &f.services),
            ("entry routes", &f.entry),
        ] {
            if !items.missing.is_empty() {
                missing.push(format!("{what} {}", items.missing.join(", ")));
            }
        }
        out.push(
            Finding::new(
                &rules::COVERAGE_BELOW_MINIMUM,
                format!(
                    "flow `{}` is {} covered, below the minimum of {}: {}",
                    f.flow,
                    pct(f.coverage),
                    pct(min),
                    missing.join("; ")
                ),
            )
            .subject("flow", f.flow.clone())
            .subject("coverage", format!("{:.4}", f.coverage))
            .help("exercise the flow in the run that produced this telemetry (a load test, the e2e suite), instrument the missing steps and services, or lower `--min-coverage`"),
        );
    }
    if coverage.overall < min {
        out.push(
            Finding::new(
                &rules::COVERAGE_BELOW_MINIMUM,
                format!(
                    "overall flow coverage is {}, below the minimum of {}",
                    pct(coverage.overall),
                    pct(min)
                ),
            )
            .subject("coverage", format!("{:.4}", coverage.overall))
            .help("see the coverage summary for the flows, steps, services and routes never seen"),
        );
    }
    out
}
