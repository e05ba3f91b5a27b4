//! Per-batch rules over OTLP telemetry: resources, spans, metrics and their data points, log
//! records. Each problem is reported once per distinct subject (see `collect`), at the JSON
//! pointer of its first occurrence.

use flowtel_conventions::model::Instrument;
use flowtel_conventions::rules::semconv as semconv_rules;
use flowtel_conventions::rules::telemetry as rules;
use flowtel_conventions::semconv::layering::deprecated_finding;
use flowtel_conventions::semconv::lint;
use flowtel_conventions::{Finding, Location, finding::did_you_mean};
use flowtel_otlp::{AnyValue, Batch, InstrumentKind, KeyValue, Origin};

use super::TelemetryLinter;
use super::index::AttrInfo;
use super::resource::{self, REQUIRED_RESOURCE};
use super::tally::{hash_pair, hash_str};

/// The prefix of flowtel's redaction hashes (`hash:` and 16 hex digits).
const HASH_PREFIX: &str = "hash:";

/// What carries a set of attributes: the signal and the name of the item, for messages.
#[derive(Clone, Copy)]
pub(crate) enum Carrier<'a> {
    /// A span, by name.
    Span(&'a str),
    /// An event of a span: the span's name and the event's.
    Event(&'a str, &'a str),
    /// A link of a span, by the span's name.
    Link(&'a str),
    /// A log record, by its event name (empty when it has none).
    Log(&'a str),
    /// A resource, by its `service.name` (empty when it has none).
    Resource(&'a str),
    /// A data point of a metric, by the metric's name.
    Metric(&'a str),
}

impl Carrier<'_> {
    pub(crate) fn kind(self) -> &'static str {
        match self {
            Carrier::Span(_) => "span",
            Carrier::Event(..) => "span event",
            Carrier::Link(_) => "span link",
            Carrier::Log(_) => "log record",
            Carrier::Resource(_) => "resource",
            Carrier::Metric(_) => "metric",
        }
    }

    /// The OTLP signal: `traces`, `logs`, `metrics` (`resource` for resources, which every
    /// signal has).
    pub(crate) fn signal(self) -> &'static str {
        match self {
            Carrier::Span(_) | Carrier::Event(..) | Carrier::Link(_) => "traces",
            Carrier::Log(_) => "logs",
            Carrier::Resource(_) => "resource",
            Carrier::Metric(_) => "metrics",
        }
    }

    /// The carrier as a message starts: "span `checkout`", "a log record", ...
    pub(crate) fn describe(self) -> String {
        match self {
            Carrier::Span(s) => format!("span `{s}`"),
            Carrier::Event(s, e) => format!("event `{e}` of span `{s}`"),
            Carrier::Link(s) => format!("a link of span `{s}`"),
            Carrier::Log("") => "a log record".to_string(),
            Carrier::Log(e) => format!("log record `{e}`"),
            Carrier::Resource("") => "a resource without `service.name`".to_string(),
            Carrier::Resource(svc) => format!("the resource of service `{svc}`"),
            Carrier::Metric(m) => format!("metric `{m}`"),
        }
    }

    /// `f` with the carrier's subjects: `signal`, and `span`, `event`, `log_event`, `service`
    /// or `metric` as they apply.
    pub(crate) fn subjects(self, f: Finding) -> Finding {
        let f = f.subject("signal", self.signal());
        match self {
            Carrier::Span(s) | Carrier::Link(s) => f.subject("span", s),
            Carrier::Event(s, e) => f.subject("span", s).subject("event", e),
            Carrier::Log("") | Carrier::Resource("") => f,
            Carrier::Log(e) => f.subject("log_event", e),
            Carrier::Resource(svc) => f.subject("service", svc),
            Carrier::Metric(m) => f.subject("metric", m),
        }
    }
}

pub(crate) fn location(origin: &Origin, pointer: String) -> Location {
    let line = origin
        .line
        .map_or(1, |l| u32::try_from(l).unwrap_or(u32::MAX));
    Location::new(origin.file.to_string(), line, 1).with_pointer(pointer)
}

/// A borrowed attribute value, from OTLP or Prometheus.
#[derive(Clone, Copy)]
pub(crate) enum Val<'a> {
    Str(&'a str),
    Any(&'a AnyValue),
}

impl<'a> Val<'a> {
    pub fn of(v: &'a AnyValue) -> Self {
        match v {
            AnyValue::String(s) => Val::Str(s),
            other => Val::Any(other),
        }
    }

    pub fn as_str(self) -> Option<&'a str> {
        match self {
            Val::Str(s) => Some(s),
            Val::Any(_) => None,
        }
    }

    pub fn hash(self) -> u64 {
        match self {
            Val::Str(s) => hash_str(s),
            Val::Any(AnyValue::Int(i)) => hash_int(*i),
            Val::Any(AnyValue::Bool(b)) => hash_str(if *b { "true" } else { "false" }),
            Val::Any(AnyValue::Double(d)) => hash_str(&d.to_string()),
            Val::Any(other) => hash_str(&text(other)),
        }
    }

    pub fn text(self) -> String {
        match self {
            Val::Str(s) => s.to_string(),
            Val::Any(v) => text(v),
        }
    }
}

/// The hash of an integer's decimal text (so `200` from OTLP and `"200"` from a Prometheus
/// label count as one value), without allocating.
fn hash_int(i: i64) -> u64 {
    use std::io::Write as _;
    let mut buf = [0u8; 24];
    let mut cur = std::io::Cursor::new(&mut buf[..]);
    let _ = write!(cur, "{i}");
    let n = cur.position() as usize;
    hash_str(std::str::from_utf8(&buf[..n]).unwrap_or(""))
}

fn text(v: &AnyValue) -> String {
    const MAX: usize = 80;
    let s = match v {
        AnyValue::Empty => String::new(),
        AnyValue::String(s) => s.clone(),
        AnyValue::Bool(b) => b.to_string(),
        AnyValue::Int(i) => i.to_string(),
        AnyValue::Double(d) => d.to_string(),
        AnyValue::Array(a) => format!("[{} values]", a.len()),
        AnyValue::KvList(l) => format!("{{{} entries}}", l.len()),
        AnyValue::Bytes(b) => format!("<{} bytes>", b.len()),
    };
    if s.chars().count() > MAX {
        let mut t: String = s.chars().take(MAX).collect();
        t.push_str("...");
        t
    } else {
        s
    }
}

fn is_hashed(s: &str) -> bool {
    s.len() == HASH_PREFIX.len() + 16
        && s.starts_with(HASH_PREFIX)
        && s[HASH_PREFIX.len()..]
            .bytes()
            .all(|b| b.is_ascii_hexdigit())
}

/// The flow attributes of one item, gathered while its attributes are checked.
#[derive(Default, Clone, Copy)]
pub(crate) struct FlowAttrs<'a> {
    pub kind: Option<&'a str>,
    pub flow: Option<(Val<'a>, usize)>,
    pub step: Option<(Val<'a>, usize)>,
    /// `outcome=error` or an `error.type`: the work failed.
    pub failed: bool,
}

impl<'r> TelemetryLinter<'r> {
    pub(super) fn otlp(&mut self, batch: &Batch) {
        self.resources(batch);
        for s in batch.spans() {
            let span = s.item;
            let at = |p: String| location(&batch.origin, p);
            self.span_name(&span.name, || at(s.pointer()));
            let mut fa = FlowAttrs::default();
            self.attributes(Carrier::Span(&span.name), &span.attributes, &mut fa, &|i| {
                at(s.attribute_pointer(i))
            });
            self.flow(Some(&span.name), fa, &|i| match i {
                Some(i) => at(s.attribute_pointer(i)),
                None => at(s.pointer()),
            });
            self.span_convention(span, || at(s.pointer()));
            self.span_shape(&s, fa, &|i| match i {
                Some(i) => at(s.attribute_pointer(i)),
                None => at(s.pointer()),
            });
            for (ei, ev) in span.events.iter().enumerate() {
                self.attributes(
                    Carrier::Event(&span.name, &ev.name),
                    &ev.attributes,
                    &mut FlowAttrs::default(),
                    &|i| at(format!("{}/events/{ei}/attributes/{i}", s.pointer())),
                );
            }
            for (li, link) in span.links.iter().enumerate() {
                self.attributes(
                    Carrier::Link(&span.name),
                    &link.attributes,
                    &mut FlowAttrs::default(),
                    &|i| at(format!("{}/links/{li}/attributes/{i}", s.pointer())),
                );
            }
        }
        for l in batch.log_records() {
            let log = l.item;
            let at = |p: String| location(&batch.origin, p);
            self.log_event_name(&log.event_name, || {
                let field = match batch.key_style {
                    flowtel_otlp::KeyStyle::CamelCase => "eventName",
                    flowtel_otlp::KeyStyle::SnakeCase => "event_name",
                };
                at(format!("{}/{field}", l.pointer()))
            });
            self.attributes(
                Carrier::Log(&log.event_name),
                &log.attributes,
                &mut FlowAttrs::default(),
                &|i| at(l.attribute_pointer(i)),
            );
            self.log_record(batch, &l);
        }
        for m in batch.metrics() {
            let metric = m.item;
            let Some(info) = self.ix.metrics.get(metric.name.as_str()) else {
                self.unknown_metric(&metric.name, || location(&batch.origin, m.pointer()));
                continue;
            };
            let (name, decl) = (info.name, info.metric);
            if let Some(dep) = &decl.deprecated {
                let reg = self.ix.reg;
                self.found
                    .report((semconv_rules::DEPRECATED_NAME.id, "metric", name), || {
                        lint::deprecated_metric(reg, name, "emit")
                            .unwrap_or_else(|| deprecated_finding(reg, "metric", name, dep, "emit"))
                            .at(location(&batch.origin, m.pointer()))
                    });
            }
            if !instrument_fits(decl.instrument, metric.kind, false) {
                let got = metric.kind;
                self.found.report((rules::INSTRUMENT_MISMATCH.id, name, got.as_str()), || {
                    Finding::new(
                        &rules::INSTRUMENT_MISMATCH,
                        format!(
                            "metric `{name}` is exported as a {got}, but the conventions declare a {}",
                            decl.instrument.as_str()
                        ),
                    )
                    .at(location(&batch.origin, m.pointer()))
                    .subject("metric", name)
                    .subject("expected", decl.instrument.as_str())
                    .subject("found", got.as_str())
                    .help(format!("record `{name}` with a {} instrument", decl.instrument.as_str()))
                });
            }
            if metric.unit != decl.unit {
                let unit = metric.unit.as_str();
                self.found.report((rules::UNIT_MISMATCH.id, name, unit), || {
                    Finding::new(
                        &rules::UNIT_MISMATCH,
                        format!(
                            "metric `{name}` is exported in unit `{unit}`, but the conventions declare `{}`",
                            decl.unit
                        ),
                    )
                    .at(location(&batch.origin, format!("{}/unit", m.pointer())))
                    .subject("metric", name)
                    .subject("expected", decl.unit.as_str())
                    .subject("found", unit)
                    .help(format!("create the instrument with unit `{}`", decl.unit))
                });
            }
            self.saturation(name, decl, metric, &|pi| {
                location(&batch.origin, m.point_pointer(pi))
            });
            for (pi, point) in metric.points.iter().enumerate() {
                self.point(name, &point.attributes, &|i| match i {
                    Some(i) => location(
                        &batch.origin,
                        format!("{}/attributes/{i}", m.point_pointer(pi)),
                    ),
                    None => location(&batch.origin, m.point_pointer(pi)),
                });
            }
        }
    }

    fn resources(&mut self, batch: &Batch) {
        let attrs: Vec<&[KeyValue]> = match &batch.payload {
            flowtel_otlp::Payload::Traces(r) => {
                r.iter().map(|r| &r.resource.attributes[..]).collect()
            }
            flowtel_otlp::Payload::Metrics(r) => {
                r.iter().map(|r| &r.resource.attributes[..]).collect()
            }
            flowtel_otlp::Payload::Logs(r) => {
                r.iter().map(|r| &r.resource.attributes[..]).collect()
            }
            flowtel_otlp::Payload::Empty => Vec::new(),
        };
        for (ri, attrs) in attrs.into_iter().enumerate() {
            let service = flowtel_otlp::attribute(attrs, "service.name").and_then(AnyValue::as_str);
            if let Some(p) = batch.resource_pointer(ri) {
                self.attributes(
                    Carrier::Resource(service.unwrap_or("")),
                    attrs,
                    &mut FlowAttrs::default(),
                    &|i| location(&batch.origin, format!("{p}/attributes/{i}")),
                );
            }
            for key in REQUIRED_RESOURCE {
                if flowtel_otlp::attribute(attrs, key).is_none() {
                    resource::missing(&mut self.found, service, "", key, || {
                        batch
                            .resource_pointer(ri)
                            .map(|p| location(&batch.origin, p))
                    });
                }
            }
        }
    }

    pub(super) fn span_name(&mut self, name: &str, loc: impl FnOnce() -> Location) {
        let Some(re) = &self.ix.span_naming else {
            return;
        };
        let h = hash_str(name);
        let ok = match self.span_names.get(&h) {
            Some(&ok) => ok,
            None => {
                let ok = re.is_match(name);
                if self.span_names.len() < super::SPAN_NAME_CACHE {
                    self.span_names.insert(h, ok);
                }
                ok
            }
        };
        if !ok {
            let pattern = re.as_str().to_string();
            self.found
                .report((rules::NAME_NOT_CONVENTIONAL.id, "span", name), || {
                    Finding::new(
                        &rules::NAME_NOT_CONVENTIONAL,
                        format!("span name `{name}` does not match the naming pattern `{pattern}`"),
                    )
                    .at(loc())
                    .subject("span", name)
                    .help("rename the span to match `naming.span` of the conventions")
                });
        }
    }

    pub(super) fn unknown_metric(&mut self, name: &str, loc: impl Fn() -> Location) {
        let ix = &self.ix;
        if let Some(re) = &ix.metric_naming
            && !re.is_match(name)
        {
            let pattern = re.as_str().to_string();
            self.found.report((rules::NAME_NOT_CONVENTIONAL.id, "metric", name), || {
                Finding::new(
                    &rules::NAME_NOT_CONVENTIONAL,
                    format!("metric name `{name}` does not match the naming pattern `{pattern}`"),
                )
                .at(loc())
                .subject("metric", name)
                .help("OpenTelemetry metric names are dotted lower snake case, with the unit in `unit`, not in the name")
            });
        }
        let reg = ix.reg;
        self.found.report((rules::UNKNOWN_METRIC.id, name), || {
            let suggestion = did_you_mean(name, reg.metrics.keys().map(String::as_str));
            Finding::new(
                &rules::UNKNOWN_METRIC,
                format!("metric `{name}` is not declared in the conventions"),
            )
            .at(loc())
            .subject("metric", name)
            .help(match suggestion {
                Some(s) => format!("a declared metric has a similar name: `{s}`"),
                None => "declare the metric in the conventions, or stop emitting it".to_string(),
            })
        });
    }

    /// Checks one attribute of a span, log record or data point.
    pub(super) fn attribute<'a>(
        &mut self,
        carrier: Carrier<'_>,
        key: &'a str,
        value: Val<'a>,
        fa: &mut FlowAttrs<'a>,
        index: usize,
        loc: &dyn Fn(usize) -> Location,
    ) {
        match key {
            "flow.name" => fa.flow = Some((value, index)),
            "flow.step" => fa.step = Some((value, index)),
            "flowtel.kind" => fa.kind = value.as_str(),
            "outcome" => fa.failed |= value.as_str() == Some("error"),
            "error.type" => fa.failed = true,
            _ => {}
        }
        self.personal_data(carrier, key, value, index, loc);
        let Some(info) = self.ix.attribute(key) else {
            self.undeclared(carrier, key, index, loc);
            return;
        };
        let info: &AttrInfo<'r> = info;
        let (name, attr, closed_enum, expect, tally) = (
            info.name,
            info.attr,
            info.closed_enum,
            info.expect,
            info.tally,
        );
        let mut type_ok = true;
        if self.typed_values
            && let Some(expect) = expect
        {
            type_ok = self.value_type(carrier, name, attr, expect, value, || loc(index));
        }
        if attr.pii {
            let hashed = value.as_str().is_some_and(is_hashed);
            if matches!(carrier, Carrier::Metric(_)) || !hashed {
                let subject = match carrier {
                    Carrier::Span(s)
                    | Carrier::Metric(s)
                    | Carrier::Link(s)
                    | Carrier::Event(s, _) => s,
                    Carrier::Log(_) | Carrier::Resource(_) => "",
                };
                let kind = carrier.kind();
                self.found.report((rules::PII_ATTRIBUTE.id, kind, subject, name), || {
                    let (message, help) = match carrier {
                        Carrier::Metric(m) => (
                            format!("metric `{m}` carries the personal attribute `{name}` as a label"),
                            format!("drop `{name}` from the metric; personal data is never a metric label"),
                        ),
                        Carrier::Span(s) => (
                            format!("span `{s}` carries the personal attribute `{name}` unredacted"),
                            format!("record it with `redact({name})` in the span's fields, or drop it"),
                        ),
                        Carrier::Log(_) => (
                            format!("a log record carries the personal attribute `{name}` unredacted"),
                            format!("hash `{name}` with flowtel's redaction before logging it, or drop it"),
                        ),
                        other => (
                            format!("{} carries the personal attribute `{name}` unredacted", other.describe()),
                            format!("hash `{name}` with flowtel's redaction before recording it, or drop it"),
                        ),
                    };
                    let f = Finding::new(&rules::PII_ATTRIBUTE, message)
                        .at(loc(index))
                        .subject("attribute", name)
                        .help(help);
                    match carrier {
                        Carrier::Span(s) => f.subject("span", s),
                        Carrier::Metric(m) => f.subject("metric", m),
                        Carrier::Log(_) => f.subject("signal", "logs"),
                        other => other.subjects(f),
                    }
                });
            }
        }
        if closed_enum && type_ok {
            let ok = match value {
                Val::Str(v) => attr.values.iter().any(|a| a == v),
                Val::Any(AnyValue::Int(i)) => {
                    attr.values.iter().any(|a| a.parse::<i64>() == Ok(*i))
                }
                Val::Any(_) => false,
            };
            if !ok {
                let shown = value.text();
                let values = attr.values.clone();
                self.found.report((rules::ENUM_VALUE_OUTSIDE.id, name, value.hash()), || {
                    let suggestion = did_you_mean(&shown, values.iter().map(String::as_str));
                    Finding::new(
                        &rules::ENUM_VALUE_OUTSIDE,
                        format!(
                            "attribute `{name}` has the value `{shown}`, which is not one of its values ({})",
                            values.join(", ")
                        ),
                    )
                    .at(loc(index))
                    .subject("attribute", name)
                    .subject("value", shown.clone())
                    .help(match suggestion {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => format!("use one of: {}", values.join(", ")),
                    })
                });
            }
        }
        if let Some(dep) = &attr.deprecated {
            let reg = self.ix.reg;
            self.found.report(
                (semconv_rules::DEPRECATED_NAME.id, "attribute", name),
                || {
                    lint::deprecated_attribute(reg, name, "emit")
                        .unwrap_or_else(|| deprecated_finding(reg, "attribute", name, dep, "emit"))
                        .at(loc(index))
                },
            );
        }
        if let (Some(t), Some(max)) = (tally, attr.max_values) {
            let tally = &mut self.values[t];
            if tally.add(value.hash(), || value.text())
                && tally.distinct() as u64 == u64::from(max) + 1
            {
                tally.first_over = Some(loc(index));
            }
        }
    }

    /// Personal data by shape: an undeclared key whose name says personal data, and a value
    /// that looks like personal data on an attribute not declared `pii` (see
    /// [`flowtel_conventions::pii`]). Reported once per carrier, attribute and shape.
    pub(super) fn personal_data(
        &mut self,
        carrier: Carrier<'_>,
        key: &str,
        value: Val<'_>,
        index: usize,
        loc: &dyn Fn(usize) -> Location,
    ) {
        let declared = self.ix.attribute(key).map(|i| i.attr);
        let subject = match carrier {
            Carrier::Span(s) | Carrier::Metric(s) | Carrier::Link(s) | Carrier::Event(s, _) => s,
            Carrier::Log(_) | Carrier::Resource(_) => "",
        };
        let kind = carrier.kind();
        if declared.is_none()
            && let Some(word) = self.ix.pii.key_word(key)
        {
            self.found.report((rules::PERSONAL_DATA_KEY.id, kind, subject, key), || {
                let on = on_carrier(carrier);
                let mut f = Finding::new(
                    &rules::PERSONAL_DATA_KEY,
                    format!("{on} carries `{key}`, which the conventions do not declare and whose name says personal data (`{word}`)"),
                )
                .at(loc(index))
                .subject("attribute", key)
                .subject("word", word)
                .help(format!(
                    "stop recording `{key}`, or declare it under `attributes:` with `pii: true` (and `redact: hash` or `drop`) so flowtel redacts it; if it is not personal data, declare it without `pii`"
                ));
                f = with_carrier(f, carrier);
                f
            });
        }
        let shape = match value {
            Val::Str(s) => self.ix.pii.attribute_value_shape(key, declared, s),
            Val::Any(AnyValue::Int(i)) if !declared.is_some_and(|a| a.pii) => {
                self.ix.pii.int_shape(*i)
            }
            Val::Any(_) => None,
        };
        let Some(shape) = shape else {
            return;
        };
        let pii = &self.ix.pii;
        self.found.report(
            (rules::PERSONAL_DATA_VALUE.id, kind, subject, key, shape),
            || {
                let name = pii.shape_name(shape);
                let sample = flowtel_conventions::pii::redacted_sample(&value.text(), shape);
                let on = on_carrier(carrier);
                let how = if declared.is_some() {
                    format!("declared `{key}` `pii: true` (with `redact: hash` or `drop`) if it holds personal data")
                } else {
                    format!("declare `{key}` with `pii: true` (with `redact: hash` or `drop`) if it holds personal data")
                };
                let f = Finding::new(
                    &rules::PERSONAL_DATA_VALUE,
                    format!("{on} carries a value of `{key}` that looks like personal data ({name}): `{sample}`"),
                )
                .at(loc(index))
                .subject("attribute", key)
                .subject("shape", name)
                .subject("sample", sample)
                .help(format!("record an id or a class instead of the value, or {how}"));
                with_carrier(f, carrier)
            },
        );
    }

    /// Checks the flow attributes gathered from one span or data point.
    pub(super) fn flow(
        &mut self,
        span: Option<&str>,
        fa: FlowAttrs<'_>,
        loc: &dyn Fn(Option<usize>) -> Location,
    ) {
        let flow_work = matches!(fa.kind, Some("flow" | "step")) || fa.step.is_some();
        if flow_work && fa.flow.is_none() {
            let span = span.unwrap_or("");
            self.found.report((rules::FLOW_NAME_MISSING.id, span), || {
                Finding::new(
                    &rules::FLOW_NAME_MISSING,
                    format!("span `{span}` is flow work but has no `flow.name`"),
                )
                .at(loc(None))
                .subject("span", span)
                .help("run it inside a `#[flowtel::flow]` span, or set `flow.name` (it travels in baggage from the caller)")
            });
        }
        let Some((flow, fi)) = fa.flow else {
            return;
        };
        // Most spans name a declared flow: look it up without allocating.
        let flow_name: std::borrow::Cow<'_, str> = match flow.as_str() {
            Some(s) => s.into(),
            None => flow.text().into(),
        };
        let reg = self.ix.reg;
        let Some(decl) = self.ix.flow(&flow_name) else {
            self.found
                .report((rules::UNKNOWN_FLOW.id, flow.hash()), || {
                    let suggestion = did_you_mean(&flow_name, reg.flows.keys().map(String::as_str));
                    Finding::new(
                        &rules::UNKNOWN_FLOW,
                        format!("`flow.name` is `{flow_name}`, which is not a declared flow"),
                    )
                    .at(loc(Some(fi)))
                    .subject("flow", flow_name.to_string())
                    .help(match suggestion {
                        Some(s) => format!("a declared flow has a similar name: `{s}`"),
                        None => "declare the flow in the conventions".to_string(),
                    })
                });
            return;
        };
        let Some((step, si)) = fa.step else {
            return;
        };
        let step_name: std::borrow::Cow<'_, str> = match step.as_str() {
            Some(s) => s.into(),
            None => step.text().into(),
        };
        if decl.steps.contains_key(step_name.as_ref()) {
            return;
        }
        self.found
            .report((rules::UNKNOWN_STEP.id, flow.hash(), step.hash()), || {
                let suggestion = did_you_mean(&step_name, decl.steps.keys().map(String::as_str));
                Finding::new(
                    &rules::UNKNOWN_STEP,
                    format!("flow `{flow_name}` has no step `{step_name}`"),
                )
                .at(loc(Some(si)))
                .subject("flow", flow_name.to_string())
                .subject("step", step_name.to_string())
                .help(match suggestion {
                    Some(s) => format!("a step of `{flow_name}` has a similar name: `{s}`"),
                    None => format!(
                        "declare the step under `flows.{flow_name}.steps`, or use one of: {}",
                        decl.steps.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                })
            });
    }

    /// Checks one data point of a declared metric (OTLP attributes).
    fn point(
        &mut self,
        metric: &'r str,
        attrs: &[KeyValue],
        loc: &dyn Fn(Option<usize>) -> Location,
    ) {
        let pairs = attrs.iter().map(|kv| (kv.key.as_str(), Val::of(&kv.value)));
        self.series_point(metric, pairs, loc);
    }

    /// Checks one series sample of a declared metric: labels, values, flows, series tally.
    /// `pairs` are registry attribute names with their values.
    pub(super) fn series_point<'a>(
        &mut self,
        metric: &'r str,
        pairs: impl Iterator<Item = (&'a str, Val<'a>)>,
        loc: &dyn Fn(Option<usize>) -> Location,
    ) {
        let Some(info) = self.ix.metrics.get(metric) else {
            return;
        };
        let decl = info.metric;
        let series_ix = info.series;
        let limit = info.limit;
        let mut fa = FlowAttrs::default();
        let mut set_hash = 0u64;
        let mut present = 0u64;
        for (i, (key, value)) in pairs.enumerate() {
            let vh = value.hash();
            set_hash = set_hash.wrapping_add(hash_pair(key, vh));
            if decl.labels.iter().any(|l| l == key) {
                if let Some(ri) = decl.required_labels.iter().position(|l| l == key)
                    && ri < 64
                {
                    present |= 1 << ri;
                }
            } else {
                self.found
                    .report((rules::UNDECLARED_LABEL.id, metric, key), || {
                        Finding::new(
                            &rules::UNDECLARED_LABEL,
                            format!(
                                "metric `{metric}` uses label `{key}`, which it does not declare"
                            ),
                        )
                        .at(loc(Some(i)))
                        .subject("metric", metric)
                        .subject("label", key)
                        .help(if decl.labels.is_empty() {
                            "the metric declares no labels: drop it, or declare it under `labels`"
                                .to_string()
                        } else {
                            format!(
                                "declare the label on the metric, or drop it (declared: {})",
                                decl.labels.join(", ")
                            )
                        })
                    });
            }
            if let Some(labels) = self.series[series_ix].label(key) {
                labels.add(vh, || value.text());
            }
            self.attribute(Carrier::Metric(metric), key, value, &mut fa, i, &|i| {
                loc(Some(i))
            });
        }
        if decl.required_labels.len() != present.count_ones() as usize {
            let reg = self.ix.reg;
            let has = |l: &str| {
                decl.required_labels
                    .iter()
                    .position(|r| r == l)
                    .is_some_and(|ri| ri >= 64 || present & (1 << ri) != 0)
            };
            let missing: Vec<&str> = decl
                .required_labels
                .iter()
                .map(String::as_str)
                .filter(|l| !has(l))
                .collect();
            self.found.report(
                (
                    semconv_rules::MISSING_REQUIRED_ATTRIBUTE.id,
                    metric,
                    missing,
                ),
                || {
                    lint::missing_required_labels(reg, metric, has)
                        .map(|f| f.at(loc(None)))
                        .unwrap_or_else(|| {
                            Finding::new(&semconv_rules::MISSING_REQUIRED_ATTRIBUTE, metric)
                        })
                },
            );
        }
        let s = &mut self.series[series_ix];
        if s.add(set_hash) && s.count() as u64 == u64::from(limit) + 1 {
            s.first_over = Some(loc(None));
        }
        self.flow(None, fa, loc);
    }
}

impl<'r> TelemetryLinter<'r> {
    /// Saturation signals and their limit gauges: remembers where a signal was seen and
    /// whether its limit was, and compares every exported limit with the declared one.
    fn saturation(
        &mut self,
        name: &'r str,
        decl: &flowtel_conventions::Metric,
        metric: &flowtel_otlp::Metric,
        loc: &dyn Fn(usize) -> Location,
    ) {
        if decl.saturation.is_some() {
            let seen = self.saturation.entry(name).or_default();
            if seen.signal_at.is_none() && !metric.points.is_empty() {
                seen.signal_at = Some(loc(0));
            }
            return;
        }
        let reg = self.ix.reg;
        let Some((signal, declared)) = name.strip_suffix(".limit").and_then(|signal| {
            let (key, m) = reg.metrics.get_key_value(signal)?;
            Some((key.as_str(), m.saturation.as_ref()?.limit))
        }) else {
            return;
        };
        self.saturation.entry(signal).or_default().limit_seen = true;
        for (pi, p) in metric.points.iter().enumerate() {
            let Some(v) = p.as_double.or(p.as_int.map(|i| i as f64)) else {
                continue;
            };
            if v != declared {
                let got = v.to_string();
                self.found.report((rules::SATURATION_LIMIT_MISMATCH.id, name, got.as_str()), || {
                    Finding::new(
                        &rules::SATURATION_LIMIT_MISMATCH,
                        format!(
                            "`{name}` is exported as {v}, but the conventions declare `saturation.limit: {declared}` for `{signal}`"
                        ),
                    )
                    .at(loc(pi))
                    .subject("metric", signal)
                    .subject("expected", declared.to_string())
                    .subject("found", v.to_string())
                    .help("export the limit the conventions declare (the flowtel SDK does), or change the declaration")
                });
            }
        }
    }
}

/// `span `checkout``, `metric `signup.requests``, `a log record`: the start of a message.
fn on_carrier(carrier: Carrier<'_>) -> String {
    match carrier {
        Carrier::Span(s) => format!("span `{s}`"),
        Carrier::Metric(m) => format!("metric `{m}`"),
        Carrier::Log(_) => "a log record".to_string(),
        other => other.describe(),
    }
}

fn with_carrier(f: Finding, carrier: Carrier<'_>) -> Finding {
    match carrier {
        Carrier::Span(s) => f.subject("span", s),
        Carrier::Metric(m) => f.subject("metric", m),
        Carrier::Log(_) => f.subject("signal", "logs"),
        other => other.subjects(f),
    }
}

/// Whether exported data of kind `got` fits a declared instrument (`prometheus`: an
/// up-down counter is exposed as a gauge).
pub(crate) fn instrument_fits(decl: Instrument, got: InstrumentKind, prometheus: bool) -> bool {
    match (decl, got) {
        (_, InstrumentKind::Empty) => true,
        (Instrument::Counter, InstrumentKind::Counter) => true,
        (Instrument::UpdownCounter, InstrumentKind::UpDownCounter) => true,
        (Instrument::UpdownCounter, InstrumentKind::Gauge) => prometheus,
        (
            Instrument::Histogram,
            InstrumentKind::Histogram | InstrumentKind::ExponentialHistogram,
        ) => true,
        (Instrument::Gauge, InstrumentKind::Gauge) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_count_as_their_decimal_text() {
        for i in [0, 200, -5, i64::MAX, i64::MIN] {
            assert_eq!(Val::Any(&AnyValue::Int(i)).hash(), hash_str(&i.to_string()));
        }
        assert_eq!(Val::Str("200").hash(), Val::Any(&AnyValue::Int(200)).hash());
    }

    #[test]
    fn only_flowtel_hashes_count_as_redacted() {
        assert!(is_hashed("hash:0123456789abcdef"));
        assert!(!is_hashed("hash:0123"));
        assert!(!is_hashed("alice@example.com"));
    }

    #[test]
    fn prometheus_exposes_updown_counters_as_gauges() {
        assert!(instrument_fits(
            Instrument::UpdownCounter,
            InstrumentKind::Gauge,
            true
        ));
        assert!(!instrument_fits(
            Instrument::UpdownCounter,
            InstrumentKind::Gauge,
            false
        ));
        assert!(instrument_fits(
            Instrument::Histogram,
            InstrumentKind::ExponentialHistogram,
            false
        ));
        assert!(!instrument_fits(
            Instrument::Counter,
            InstrumentKind::Gauge,
            false
        ));
    }
}
