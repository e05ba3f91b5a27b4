//! [`FlowLayer`]: the `tracing` layer that turns flow and step spans into RED metrics.
//!
//! Flow and step spans are recognised by their `flowtel.kind` field (`"flow"` / `"step"`, as the
//! macros write them). On close, a flow span records `flow.requests{flow.name,outcome}`,
//! `flow.duration{flow.name,outcome}` and, on error, `flow.errors{flow.name,error.type}`; a
//! step span records `flow.step.duration{flow.name,flow.step,outcome}` and
//! `flow.step.errors{flow.name,flow.step,error.type}`; durations run from span creation to
//! close, in seconds. Every span inside a flow learns the flow (from its own `flow.name`, its
//! parent, or the `flow.name` baggage of the current OpenTelemetry context), and spans that do
//! not carry `flow.name` themselves, including those of other libraries, get it as an
//! OpenTelemetry attribute on first enter. Enforcement of the recorded labels is the
//! [`Meter`]'s; span export is `tracing-opentelemetry`'s.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Instant;

use opentelemetry::{KeyValue, StringValue};
use tracing::Subscriber;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

use crate::meter::{Counter, Histogram, Labels, Meter};
use crate::propagation::{FLOW_KEY, flow_from_context};

/// Field that marks flow and step spans.
pub const KIND_FIELD: &str = "flowtel.kind";
/// Field naming the step.
pub const STEP_FIELD: &str = "flow.step";
/// Field recording `"ok"` or `"error"`.
pub const OUTCOME_FIELD: &str = "outcome";
/// Field recording the error class.
pub const ERROR_TYPE_FIELD: &str = "error.type";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Flow,
    Step,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Ok,
    Error,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Error => "error",
        }
    }
}

/// What the layer keeps per span that belongs to a flow.
#[derive(Debug)]
struct FlowSpan {
    kind: Kind,
    flow: Option<StringValue>,
    step: Option<StringValue>,
    outcome: Option<Outcome>,
    error_type: Option<StringValue>,
    /// When the span opened (flow and step spans; other spans record no duration).
    start: Option<Instant>,
    /// The span lacks `flow.name` as a field value: set the attribute on first enter.
    needs_tag: bool,
}

struct Fields<'a> {
    layer: &'a Inner,
    kind: Option<Kind>,
    flow: Option<StringValue>,
    step: Option<StringValue>,
    outcome: Option<Outcome>,
    error_type: Option<StringValue>,
}

impl<'a> Fields<'a> {
    fn new(layer: &'a Inner) -> Self {
        Fields {
            layer,
            kind: None,
            flow: None,
            step: None,
            outcome: None,
            error_type: None,
        }
    }
}

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            KIND_FIELD => {
                self.kind = Some(match value {
                    "flow" => Kind::Flow,
                    "step" => Kind::Step,
                    _ => Kind::Other,
                })
            }
            FLOW_KEY => self.flow = Some(self.layer.intern(value)),
            STEP_FIELD => self.step = Some(self.layer.intern(value)),
            OUTCOME_FIELD => {
                self.outcome = Some(if value == "ok" {
                    Outcome::Ok
                } else {
                    Outcome::Error
                })
            }
            ERROR_TYPE_FIELD => self.error_type = Some(self.layer.intern(value)),
            _ => {}
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        // `%value` and `?value` arrive here; only the fields read above matter.
        if matches!(
            field.name(),
            KIND_FIELD | FLOW_KEY | STEP_FIELD | OUTCOME_FIELD | ERROR_TYPE_FIELD
        ) {
            let text = format!("{value:?}");
            let text = text.trim_matches('"');
            self.record_str(field, text);
        }
    }
}

struct Inner {
    /// Known flow and step names, so steady-state spans allocate no label strings.
    names: HashMap<String, StringValue, foldhash::fast::RandomState>,
    flow_requests: Counter<u64>,
    flow_errors: Counter<u64>,
    flow_duration: Histogram,
    step_duration: Histogram,
    step_errors: Counter<u64>,
}

impl Inner {
    fn intern(&self, s: &str) -> StringValue {
        match self.names.get(s) {
            Some(v) => v.clone(),
            None => StringValue::from(s.to_owned()),
        }
    }
}

/// The `tracing` layer recording the registry's RED metrics for flow and step spans.
#[derive(Clone)]
pub struct FlowLayer {
    inner: Arc<Inner>,
}

impl fmt::Debug for FlowLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FlowLayer").finish_non_exhaustive()
    }
}

impl FlowLayer {
    /// A layer recording through `meter` (which enforces the registry).
    pub fn new(meter: &Meter) -> Self {
        let registry = meter.conventions();
        let mut names = HashMap::default();
        for (flow, spec) in &registry.flows {
            names.insert(flow.clone(), StringValue::from(static_name(flow)));
            for step in spec.steps.keys() {
                names.insert(step.clone(), StringValue::from(static_name(step)));
            }
        }
        FlowLayer {
            inner: Arc::new(Inner {
                names,
                flow_requests: meter.u64_counter("flow.requests"),
                flow_errors: meter.u64_counter("flow.errors"),
                flow_duration: meter.f64_histogram("flow.duration"),
                step_duration: meter.f64_histogram("flow.step.duration"),
                step_errors: meter.u64_counter("flow.step.errors"),
            }),
        }
    }
}

/// `name` as a `&'static str`, leaked once per process whatever the number of layers: the
/// registry's flow and step names (a bounded set) are copied onto every span of a flow and
/// every log record written in one, and a static string is copied without touching a
/// reference count. Only for names from a bounded set (flows, steps, route templates): each
/// distinct name is kept for the life of the process.
pub fn static_name(name: &str) -> &'static str {
    static NAMES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut names = NAMES
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some(known) = names.get(name) {
        return known;
    }
    let leaked: &'static str = Box::leak(Box::from(name));
    names.insert(leaked);
    leaked
}

fn has_field(attrs: &Attributes<'_>, name: &str) -> bool {
    attrs.metadata().fields().field(name).is_some()
}

impl<S> Layer<S> for FlowLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let declares_flow = has_field(attrs, FLOW_KEY);
        let mut fields = Fields::new(&self.inner);
        if declares_flow || has_field(attrs, KIND_FIELD) {
            attrs.record(&mut fields);
        }
        let kind = fields.kind.unwrap_or(Kind::Other);
        let mut flow = fields.flow.take();
        if flow.is_none() {
            flow = match span.parent() {
                Some(parent) => parent
                    .extensions()
                    .get::<FlowSpan>()
                    .and_then(|p| p.flow.clone()),
                None => flow_from_context(&opentelemetry::Context::current()),
            };
        }
        if kind == Kind::Flow && flow.is_none() {
            flow = Some(self.inner.intern(attrs.metadata().name()));
        }
        if kind == Kind::Other && flow.is_none() {
            return;
        }
        let has_flow_value = declares_flow && fields.flow.is_some();
        let needs_tag = flow.is_some() && !has_flow_value;
        span.extensions_mut().insert(FlowSpan {
            kind,
            needs_tag,
            flow,
            step: fields.step,
            outcome: fields.outcome,
            error_type: fields.error_type,
            start: (kind != Kind::Other).then(Instant::now),
        });
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut ext = span.extensions_mut();
        let Some(data) = ext.get_mut::<FlowSpan>() else {
            return;
        };
        if data.kind == Kind::Other {
            return;
        }
        let mut fields = Fields::new(&self.inner);
        values.record(&mut fields);
        if let Some(flow) = fields.flow {
            data.flow = Some(flow);
            data.needs_tag = false;
        }
        if fields.step.is_some() {
            data.step = fields.step;
        }
        if fields.outcome.is_some() {
            data.outcome = fields.outcome;
        }
        if fields.error_type.is_some() {
            data.error_type = fields.error_type;
        }
    }

    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let flow = {
            let mut ext = span.extensions_mut();
            let Some(data) = ext.get_mut::<FlowSpan>() else {
                return;
            };
            if !data.needs_tag {
                return;
            }
            data.needs_tag = false;
            let flow = data.flow.clone();
            // A span standing for a context (a dropped trace's, or one its opener built) is
            // not built by the OpenTelemetry layer: no attribute to add.
            if ext.get_mut::<crate::otel_layer::Stands>().is_some() {
                return;
            }
            flow
        };
        if let Some(flow) = flow {
            // The registry has already pushed this span: it is the current one.
            let current = tracing::Span::current();
            if current.id().as_ref() == Some(id) {
                current.set_attribute(FLOW_KEY, flow);
            }
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let Some(data) = span.extensions_mut().remove::<FlowSpan>() else {
            return;
        };
        if data.kind == Kind::Other {
            return;
        }
        let seconds = data.start.map_or(0.0, |s| s.elapsed().as_secs_f64());
        let outcome = data.outcome.unwrap_or(if data.error_type.is_some() {
            Outcome::Error
        } else {
            Outcome::Ok
        });
        let outcome_kv = KeyValue::new(OUTCOME_FIELD, outcome.as_str());
        let flow_kv = data.flow.map(|f| KeyValue::new(FLOW_KEY, f));
        let error_kv = (outcome == Outcome::Error).then(|| {
            KeyValue::new(
                ERROR_TYPE_FIELD,
                data.error_type.unwrap_or(StringValue::from("_OTHER")),
            )
        });
        let inner = &self.inner;
        match data.kind {
            Kind::Flow => {
                let mut attrs = Labels::<2>::new();
                attrs.push(flow_kv).push(outcome_kv);
                inner.flow_requests.add(1, attrs.as_slice());
                inner.flow_duration.record(seconds, attrs.as_slice());
                if let Some(e) = error_kv {
                    inner.flow_errors.add(1, attrs.replace_last(e).as_slice());
                }
            }
            Kind::Step => {
                let mut attrs = Labels::<3>::new();
                attrs
                    .push(flow_kv)
                    .push(data.step.map(|s| KeyValue::new(STEP_FIELD, s)))
                    .push(outcome_kv);
                inner.step_duration.record(seconds, attrs.as_slice());
                if let Some(e) = error_kv {
                    inner.step_errors.add(1, attrs.replace_last(e).as_slice());
                }
            }
            Kind::Other => {}
        }
    }
}

/// The flow and step an event inside `scope` (leaf first) belongs to: the nearest span that
/// knows the flow, and the nearest step span's step.
pub(crate) fn flow_of_scope<'a, R: tracing_subscriber::registry::LookupSpan<'a>>(
    scope: tracing_subscriber::registry::Scope<'a, R>,
) -> Option<(StringValue, Option<StringValue>)> {
    let mut step = None;
    for span in scope {
        let ext = span.extensions();
        let Some(data) = ext.get::<FlowSpan>() else {
            continue;
        };
        if step.is_none() && data.kind == Kind::Step {
            step = data.step.clone();
        }
        if let Some(flow) = &data.flow {
            return Some((flow.clone(), step));
        }
    }
    None
}

/// The flow the current span belongs to, or else the `flow.name` of the current
/// OpenTelemetry context's baggage.
pub fn current_flow() -> Option<StringValue> {
    let from_span = tracing::Span::current().with_subscriber(|(id, dispatch)| {
        let registry = dispatch.downcast_ref::<tracing_subscriber::Registry>()?;
        let span = registry.span(id)?;
        let ext = span.extensions();
        ext.get::<FlowSpan>()?.flow.clone()
    });
    from_span
        .flatten()
        .or_else(|| flow_from_context(&opentelemetry::Context::current()))
}
