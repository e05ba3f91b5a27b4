//! [`TraceLayer`]: `tracing-opentelemetry`'s layer as flowtel installs it.
//!
//! It does two things around the OpenTelemetry layer it wraps, in one place so that each span
//! costs one registry lookup per callback rather than one per concern:
//!
//! - **Head sampling before the span is built** (see [`crate::sampling`]): a span of a dropped
//!   trace never reaches the OpenTelemetry layer.
//! - **Spans that stand for an OpenTelemetry context.** A `tracing` span opened through
//!   [`stand_for`] is not built by the OpenTelemetry layer: it stands for a span the caller
//!   built itself through the OpenTelemetry API (the server middleware does, with the tracer
//!   [`with_direct_tracer`] lends it, as OpenTelemetry's own HTTP instrumentations do), and so
//!   does every span of a dropped trace, for the trace's non-sampled context. While such a span
//!   is entered its context is the current OpenTelemetry context (whatever the
//!   context-activation mode), so `tracing` spans opened inside it, spans started through the
//!   OpenTelemetry API and log records get it as their parent; events written in it become
//!   events of the OpenTelemetry span, values recorded on it its attributes.
//!
//! A `tracing` span opened with an explicit `parent:` that stands for a built span (the
//! request's span, captured and used from another task) is built through the OpenTelemetry API
//! below it, since `tracing-opentelemetry` cannot see the OpenTelemetry span; it then stands
//! for that span like its parent, and ends when it closes.

use std::any::TypeId;
use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt;

use opentelemetry::trace::{SpanContext, SpanKind, Status, TraceContextExt, Tracer as _};
use opentelemetry::{Context, ContextGuard, Key, KeyValue, Value};
use opentelemetry_sdk::trace::SdkTracer;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::{self, Layer};
use tracing_subscriber::registry::{LookupSpan, SpanRef};

use crate::sampling::RootSampling;

thread_local! {
    /// The context the `tracing` span being opened by [`stand_for`] stands for.
    static STANDING: RefCell<Option<Context>> = const { RefCell::new(None) };
    /// The spans entered on this thread, innermost last, as the registry's span stack has them:
    /// what each is to this layer, so exits, records and events need no lookup.
    static ENTERED: RefCell<Vec<Entered>> = const { RefCell::new(Vec::new()) };
}

/// Marks a `tracing` span that stands for an OpenTelemetry context instead of being built by
/// the OpenTelemetry layer.
#[derive(Debug, Clone)]
pub(crate) struct Stands(Context);

/// What an entered span is to this layer.
enum Kind {
    /// Built by the OpenTelemetry layer: it gets the callbacks.
    Inner,
    /// Stands for a recorded span built through the API: what is written in it goes there.
    Built(Context),
    /// Stands for a dropped trace's context: what is written in it is dropped.
    Dropped,
}

/// A span entered on this thread.
struct Entered {
    id: Id,
    kind: Kind,
    /// Entered again while already entered: not the current span (as in the registry).
    duplicate: bool,
    /// Restores the context that was current, when entering changed it.
    _guard: Option<ContextGuard>,
}

/// What the entered span `id` is to this layer (`None`: not entered on this thread), as `f`
/// sees it.
fn with_entered<R>(id: &Id, f: impl FnOnce(&Kind) -> R) -> Option<R> {
    ENTERED
        .try_with(|e| {
            e.borrow()
                .iter()
                .rev()
                .find(|en| en.id == *id)
                .map(|en| f(&en.kind))
        })
        .ok()
        .flatten()
}

/// What the current span (the innermost entered one) is to this layer, as `f` sees it.
fn with_current<R>(f: impl FnOnce(&Kind) -> R) -> Option<R> {
    ENTERED
        .try_with(|e| {
            e.borrow()
                .iter()
                .rev()
                .find(|en| !en.duplicate)
                .map(|en| f(&en.kind))
        })
        .ok()
        .flatten()
}

/// The tracer of a [`TraceLayer`], found through the subscriber by [`with_direct_tracer`].
struct DirectTracer {
    tracer: SdkTracer,
    /// Whether the wrapped layer makes entered spans the current OpenTelemetry context.
    activation: bool,
}

/// The OpenTelemetry layer `inner` (`tracing_opentelemetry::layer()`) behind flowtel's head
/// sampling, with spans that stand for an OpenTelemetry context; see the module docs.
/// Installed by [`crate::init()`], after the [`crate::FlowLayer`].
pub struct TraceLayer<L> {
    inner: L,
    roots: Option<RootSampling>,
    direct: Option<DirectTracer>,
}

impl<L> fmt::Debug for TraceLayer<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TraceLayer")
            .field("sampled", &self.roots.is_some())
            .field("direct", &self.direct.is_some())
            .finish_non_exhaustive()
    }
}

impl<L> TraceLayer<L> {
    /// `inner` with no decision of its own: every span is built (and sampled by the SDK's
    /// sampler) except those opened through [`stand_for`].
    pub fn new(inner: L) -> Self {
        TraceLayer {
            inner,
            roots: None,
            direct: None,
        }
    }

    /// Decides traces before their spans are built, as `sampler` will when the SDK builds
    /// them: give the tracer provider the same sampler and a clone of `ids` as its id
    /// generator.
    pub fn sampled_by(
        mut self,
        sampler: std::sync::Arc<crate::FlowSampler>,
        ids: crate::sampling::FlowIdGenerator,
    ) -> Self {
        self.roots = Some(RootSampling::new(sampler, ids));
        self
    }

    /// Lends `tracer` (the one `inner` builds spans with) to middleware that builds its spans
    /// through the OpenTelemetry API ([`with_direct_tracer`]); `context_activation` says
    /// whether `inner` makes entered spans the current context, as it was configured
    /// (`with_context_activation`), for [`current_context`].
    pub fn lending(mut self, tracer: SdkTracer, context_activation: bool) -> Self {
        self.direct = Some(DirectTracer {
            tracer,
            activation: context_activation,
        });
        self
    }

    /// The context a new span stands for: the one [`stand_for`] set, or for a span of a
    /// dropped trace the trace's non-sampled context. `None`: `inner` builds the span.
    fn stands_for<S>(&self, attrs: &Attributes<'_>, ctx: &layer::Context<'_, S>) -> Option<Context>
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        if let Some(cx) = STANDING.try_with(|s| s.borrow_mut().take()).ok().flatten() {
            return Some(cx);
        }
        if let Some(parent) = attrs.parent() {
            // Below a span standing for a context, its decision; below a built one, the SDK's.
            let cx = stands(&ctx.span(parent)?)?;
            if !is_sampled(&cx) {
                return Some(cx);
            }
            // The OpenTelemetry layer cannot see a parent built through the API: the span is
            // built the same way, below it (and ends when it closes, its context dropped).
            return self
                .direct
                .as_ref()
                .map(|t| build_below(&t.tracer, attrs, &cx));
        }
        if attrs.is_contextual() {
            // Below a span, its trace's decision: one look at the current context.
            let below = Context::map_current(|cx| {
                let span = cx.span();
                let sc = span.span_context();
                sc.is_valid()
                    .then(|| (!sc.is_sampled()).then(|| cx.clone()))
            });
            match below {
                Some(None) => return None,
                Some(Some(dropped)) => return Some(dropped),
                None if ctx.lookup_current().is_some() => return None,
                None => {}
            }
        }
        self.roots.as_ref()?.decide(attrs.metadata()).flatten()
    }
}

/// A span for `attrs` built through the OpenTelemetry API below `parent`: its name from
/// `otel.name` or the span's, its kind from `otel.kind`, its fields as attributes.
fn build_below(tracer: &SdkTracer, attrs: &Attributes<'_>, parent: &Context) -> Context {
    let mut fields = Fields::default();
    attrs.record(&mut fields);
    let name = fields
        .name
        .take()
        .map_or(Cow::Borrowed(attrs.metadata().name()), Cow::Owned);
    let span = tracer
        .span_builder(name)
        .with_kind(fields.kind.take().unwrap_or(SpanKind::Internal))
        .with_attributes(std::mem::take(&mut fields.attributes))
        .start_with_context(tracer, parent);
    let cx = parent.with_span(span);
    fields.apply_to(&cx.span());
    cx
}

/// The context `span` stands for, if it stands for one.
fn stands<S: for<'a> LookupSpan<'a>>(span: &SpanRef<'_, S>) -> Option<Context> {
    span.extensions().get::<Stands>().map(|s| s.0.clone())
}

fn is_sampled(cx: &Context) -> bool {
    cx.span().span_context().is_sampled()
}

fn span_id(sc: &SpanContext) -> u64 {
    u64::from_be_bytes(sc.span_id().to_bytes())
}

impl<S, L> Layer<S> for TraceLayer<L>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    L: Layer<S>,
{
    fn on_register_dispatch(&self, subscriber: &tracing::Dispatch) {
        self.inner.on_register_dispatch(subscriber);
    }

    fn on_layer(&mut self, subscriber: &mut S) {
        self.inner.on_layer(subscriber);
    }

    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        self.inner.register_callsite(metadata)
    }

    fn enabled(&self, metadata: &Metadata<'_>, ctx: layer::Context<'_, S>) -> bool {
        self.inner.enabled(metadata, ctx)
    }

    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        self.inner.max_level_hint()
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: layer::Context<'_, S>) {
        match self.stands_for(attrs, &ctx) {
            Some(cx) => {
                if let Some(span) = ctx.span(id) {
                    span.extensions_mut().insert(Stands(cx));
                }
            }
            None => self.inner.on_new_span(attrs, id, ctx),
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: layer::Context<'_, S>) {
        // An entered span (the common case) is known without a lookup.
        let built = match with_entered(id, |k| match k {
            Kind::Inner => Ok(None),
            Kind::Built(cx) => Ok(Some(cx.clone())),
            Kind::Dropped => Err(()),
        }) {
            Some(Ok(built)) => built,
            Some(Err(())) => return,
            None => ctx.span(id).and_then(|s| stands(&s)),
        };
        match built {
            Some(cx) => {
                let span = cx.span();
                if span.is_recording() {
                    let mut fields = Fields::default();
                    values.record(&mut fields);
                    fields.apply_to(&span);
                }
            }
            None => self.inner.on_record(id, values, ctx),
        }
    }

    fn on_follows_from(&self, span: &Id, follows: &Id, ctx: layer::Context<'_, S>) {
        self.inner.on_follows_from(span, follows, ctx);
    }

    fn event_enabled(&self, event: &Event<'_>, ctx: layer::Context<'_, S>) -> bool {
        self.inner.event_enabled(event, ctx)
    }

    fn on_event(&self, event: &Event<'_>, ctx: layer::Context<'_, S>) {
        // A contextual event's span is the current one, known without a lookup.
        let stands = if event.is_contextual() {
            with_current(|k| match k {
                Kind::Inner => Ok(None),
                Kind::Built(cx) => Ok(Some(cx.clone())),
                Kind::Dropped => Err(()),
            })
            .unwrap_or(Ok(None))
        } else {
            Ok(event
                .parent()
                .and_then(|p| ctx.span(p))
                .and_then(|s| stands(&s)))
        };
        // Written in a span of a dropped trace: nothing to record.
        let Ok(stands) = stands else { return };
        match stands {
            Some(cx) => {
                let span = cx.span();
                if span.is_recording() {
                    let meta = event.metadata();
                    let mut fields = Fields::default();
                    fields
                        .attributes
                        .push(KeyValue::new("level", meta.level().as_str()));
                    fields
                        .attributes
                        .push(KeyValue::new("target", meta.target()));
                    event.record(&mut fields);
                    if *meta.level() == Level::ERROR {
                        span.set_status(Status::error(""));
                    }
                    let name = fields
                        .message
                        .map_or(Cow::Borrowed(meta.name()), Cow::Owned);
                    span.add_event(name, fields.attributes);
                }
            }
            None => self.inner.on_event(event, ctx),
        }
    }

    fn on_enter(&self, id: &Id, ctx: layer::Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let (kind, guard) = {
            let ext = span.extensions();
            match ext.get::<Stands>() {
                Some(Stands(cx)) => {
                    let (ours, recording) = {
                        let span = cx.span();
                        let sc = span.span_context();
                        (span_id(sc), sc.is_sampled())
                    };
                    let current = Context::map_current(|c| span_id(c.span().span_context()));
                    let kind = if recording {
                        Kind::Built(cx.clone())
                    } else {
                        Kind::Dropped
                    };
                    (kind, (current != ours).then(|| cx.clone().attach()))
                }
                None => (Kind::Inner, None),
            }
        };
        drop(span);
        let inner = matches!(kind, Kind::Inner);
        // When the thread is exiting there is nothing to restore on exit.
        let _ = ENTERED.try_with(|e| {
            let mut e = e.borrow_mut();
            let duplicate = e.iter().any(|en| en.id == *id);
            e.push(Entered {
                id: id.clone(),
                kind,
                duplicate,
                _guard: guard,
            });
        });
        if inner {
            self.inner.on_enter(id, ctx);
        }
    }

    fn on_exit(&self, id: &Id, ctx: layer::Context<'_, S>) {
        let entered = ENTERED
            .try_with(|e| {
                let mut e = e.borrow_mut();
                let at = e.iter().rposition(|en| en.id == *id)?;
                Some(e.remove(at))
            })
            .ok()
            .flatten();
        match entered {
            // The context guard, if any, is dropped here, outside the borrow.
            Some(Entered {
                kind: Kind::Built(_) | Kind::Dropped,
                ..
            }) => {}
            _ => self.inner.on_exit(id, ctx),
        }
    }

    fn on_close(&self, id: Id, ctx: layer::Context<'_, S>) {
        self.inner.on_close(id, ctx);
    }

    fn on_id_change(&self, old: &Id, new: &Id, ctx: layer::Context<'_, S>) {
        self.inner.on_id_change(old, new, ctx);
    }

    // Required for `tracing-opentelemetry`'s `OpenTelemetrySpanExt`, which finds its layer
    // by type through the subscriber: the wrapped layer must still answer.
    #[allow(unsafe_code)]
    unsafe fn downcast_raw(&self, id: TypeId) -> Option<*const ()> {
        if id == TypeId::of::<Self>() {
            return Some(self as *const Self as *const ());
        }
        if id == TypeId::of::<DirectTracer>() {
            return self
                .direct
                .as_ref()
                .map(|t| t as *const DirectTracer as *const ());
        }
        // SAFETY: forwarded to the wrapped layer, which answers for its own types.
        unsafe { self.inner.downcast_raw(id) }
    }
}

/// `tracing-opentelemetry`'s layer as `init` configures it, building spans with `tracer`: no
/// code location, thread, target or level attributes and no busy/idle timings on every span
/// (flowtel's own attributes say where a span belongs). Wrap it in a [`TraceLayer`]; set
/// `with_context_activation` as [`crate::TelemetryBuilder::context_activation`] does.
pub fn span_layer<S>(tracer: SdkTracer) -> tracing_opentelemetry::OpenTelemetryLayer<S, SdkTracer>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_location(false)
        .with_threads(false)
        .with_target(false)
        .with_level(false)
        .with_tracked_inactivity(false)
}

/// Calls `f` with the tracer the current subscriber's [`TraceLayer`] lends (see
/// [`TraceLayer::lending`]): `None` when there is none, and the caller should open its span
/// through `tracing` instead. A span built with it should get a `tracing` span standing for
/// it ([`stand_for`]). `f` runs while the subscriber is in use: `tracing` calls made in it see
/// no subscriber (`Span::current()` is none there; take what it needs from `tracing` before).
pub fn with_direct_tracer<R>(f: impl FnOnce(&SdkTracer) -> R) -> Option<R> {
    let mut f = Some(f);
    tracing::dispatcher::get_default(|d| {
        let tracer = d.downcast_ref::<DirectTracer>()?;
        f.take().map(|f| f(&tracer.tracer))
    })
}

/// The OpenTelemetry context of the current `tracing` span, for a span built through the API
/// below it: with context activation (and under a subscriber without [`TraceLayer`])
/// `Context::current()`, which entering made it; in the fast mode the span's own context
/// ([`otel_context`]), which entering does not make current for spans `tracing-opentelemetry`
/// builds.
pub fn current_context() -> Context {
    let activation = tracing::dispatcher::get_default(|d| {
        d.downcast_ref::<DirectTracer>().map(|t| t.activation)
    });
    if activation != Some(false) {
        return Context::current();
    }
    let current = tracing::Span::current();
    if current.is_none() {
        Context::current()
    } else {
        otel_context(&current)
    }
}

/// Opens the `tracing` span `make` returns as one standing for `cx` (an OpenTelemetry span
/// the caller built through [`with_direct_tracer`]'s tracer): the OpenTelemetry layer does
/// not build it; see the module docs. `make` opens that one span and no other. The caller
/// ends the OpenTelemetry span, and makes `cx` current itself where a filter disabled the
/// `tracing` span (`Span::is_disabled`).
pub fn stand_for(cx: &Context, make: impl FnOnce() -> tracing::Span) -> tracing::Span {
    let _ = STANDING.try_with(|s| *s.borrow_mut() = Some(cx.clone()));
    let span = make();
    // Not taken when no `TraceLayer` saw the span (disabled by a filter, say).
    let _ = STANDING.try_with(|s| s.borrow_mut().take());
    span
}

/// The OpenTelemetry context that stands for `span` when its context is sent to another
/// service: the span's own, the one it stands for (see the module docs), or for a span of a
/// dropped trace the non-sampled context of the trace (so `traceparent` carries the sampled
/// flag off and the receiver drops the trace too).
pub fn otel_context(span: &tracing::Span) -> Context {
    let standing = span
        .with_subscriber(|(id, dispatch)| {
            let registry = dispatch.downcast_ref::<tracing_subscriber::Registry>()?;
            stands(&registry.span(id)?)
        })
        .flatten();
    standing.unwrap_or_else(|| span.context())
}

/// Field values of an event or a record, as OpenTelemetry attributes (`message` as the
/// event's name; `otel.name`, `otel.status_code` and `otel.status_message` as a span's name and
/// status, as `tracing-opentelemetry` reads them).
#[derive(Default)]
struct Fields {
    message: Option<String>,
    attributes: Vec<KeyValue>,
    name: Option<String>,
    kind: Option<SpanKind>,
    status: Option<&'static str>,
    status_message: Option<String>,
}

impl Fields {
    fn put(&mut self, field: &Field, value: Value) {
        self.attributes
            .push(KeyValue::new(Key::from_static_str(field.name()), value));
    }

    /// Sets what was recorded on `span`.
    fn apply_to(self, span: &opentelemetry::trace::SpanRef<'_>) {
        if let Some(name) = self.name {
            span.update_name(name);
        }
        match self.status {
            Some("error") => {
                span.set_status(Status::error(self.status_message.unwrap_or_default()))
            }
            Some("ok") => span.set_status(Status::Ok),
            _ => {}
        }
        if !self.attributes.is_empty() {
            span.set_attributes(self.attributes);
        }
    }
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "message" => self.message = Some(value.to_owned()),
            "otel.name" => self.name = Some(value.to_owned()),
            "otel.kind" => {
                self.kind = match value.to_ascii_lowercase().as_str() {
                    "server" => Some(SpanKind::Server),
                    "client" => Some(SpanKind::Client),
                    "producer" => Some(SpanKind::Producer),
                    "consumer" => Some(SpanKind::Consumer),
                    "internal" => Some(SpanKind::Internal),
                    _ => None,
                }
            }
            "otel.status_code" => {
                self.status = match value {
                    v if v.eq_ignore_ascii_case("error") => Some("error"),
                    v if v.eq_ignore_ascii_case("ok") => Some("ok"),
                    _ => None,
                }
            }
            "otel.status_message" => self.status_message = Some(value.to_owned()),
            _ => self.put(field, Value::from(value.to_owned())),
        }
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, Value::Bool(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, Value::I64(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        match i64::try_from(value) {
            Ok(v) => self.put(field, Value::I64(v)),
            Err(_) => self.put(field, Value::from(value.to_string())),
        }
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, Value::F64(value));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        if field.name() == "error" {
            self.attributes
                .push(KeyValue::new("exception.message", value.to_string()));
        } else {
            self.put(field, Value::from(value.to_string()));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.record_str(field, &format!("{value:?}"));
    }
}
