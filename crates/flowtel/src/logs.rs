//! Logs: `tracing` events exported as OpenTelemetry log records, correlated and bounded.
//!
//! [`LogLayer`] sits in the subscriber beside `tracing-opentelemetry` and hands each event to
//! OpenTelemetry's own bridge (`opentelemetry-appender-tracing`), which maps level, name, fields
//! and message and takes the trace and span ids from the current OpenTelemetry context (the
//! span the event was written in, which `tracing-opentelemetry` activates on enter). Around the
//! bridge, flowtel adds what the conventions ask for:
//!
//! - **flow context**: the event's `flow.name` and `flow.step`, found from the enclosing flow and
//!   step spans, are added to the record by [`FlowLogProcessor`] on the emitting thread. The
//!   walk up the span tree is done once per entry of a span on a thread: the layer keeps the
//!   entered spans in a small per-thread stack and remembers there the flow their events get,
//!   so further events in the same span copy two static strings;
//! - **a rate limit per event name** ([`EventLimiter`]): records of one event beyond its
//!   `rate_limit` (or `defaults.event_rate_limit`) per second are dropped before any layer of
//!   the subscriber sees them (`Layer::event_enabled`: no record, no span event, no console
//!   line) and counted as `event-rate-limited` in `flowtel.violations`. A hash and an atomic
//!   compare-and-swap in a fixed table, and a clock read only once the second's budget is
//!   spent: a hot loop that logs never blocks and never grows memory;
//! - **personal data**: an event with a `pii` field does not go through the bridge; flowtel
//!   builds the record itself, with the field hashed or dropped as on spans (the SDK's log
//!   records cannot be edited after the fact), and counts `pii-redacted`.
//!
//! Export (OTLP, JSON lines, memory) is `init`'s choice, as for spans.

use std::cell::Cell;
use std::collections::HashMap;
use std::fmt;
use std::hash::BuildHasher;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use flowtel_conventions::Registry;
use flowtel_conventions::model::Redaction;
use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, LoggerProvider as _, Severity};
use opentelemetry::{InstrumentationScope, Key, StringValue};
use opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{LogProcessor, SdkLogRecord, SdkLogger, SdkLoggerProvider};
use tracing::field::{Field, Visit};
use tracing::span::{Id, Record};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

use crate::layer::{STEP_FIELD, flow_of_scope};
use crate::propagation::FLOW_KEY;
use crate::redact::{Redactor, hash_pii};
use crate::violations::{Rule, Violations};

/// Slots of the rate-limit table: events whose names collide share a slot (and take turns
/// resetting it), so the table never grows whatever names arrive.
const SLOTS: usize = 4096;

/// One slot of [`EventLimiter`]: the name it counts, that name's limit and its window.
#[derive(Default)]
struct Slot {
    /// Name hash of the event counted here.
    tag: AtomicU64,
    /// The limit of that event, looked up once when the name took the slot.
    limit: AtomicU32,
    /// `second << 32 | count`: records admitted in the window that began at `second`.
    window: AtomicU64,
}

/// A per-second rate limit per event name, lock-free and of fixed size.
///
/// Each name counts its records in a window that begins at a whole second. While the window's
/// count is under the limit, a record is admitted with one compare-and-swap and no clock read;
/// only a record that finds the budget spent reads the clock, and starts a new window when its
/// second has passed (else it is dropped). So no window admits more than the limit, at most one
/// window begins per second, and a flood costs a clock read and two atomic operations per
/// dropped record. (As with any fixed window, a burst across a second boundary may pass up to
/// twice the limit within one second; a window may also last longer than a second, which only
/// lowers the rate.)
pub struct EventLimiter {
    start: Instant,
    default_limit: u32,
    /// Limits of the declared events that set their own, by name hash.
    limits: HashMap<u64, u32, foldhash::fast::FixedState>,
    slots: Box<[Slot]>,
}

impl fmt::Debug for EventLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventLimiter")
            .field("default_limit", &self.default_limit)
            .finish_non_exhaustive()
    }
}

fn name_hash(name: &str) -> u64 {
    foldhash::fast::FixedState::with_seed(0x1095).hash_one(name)
}

impl EventLimiter {
    /// The limits of `registry`: each event's `rate_limit`, else `defaults.event_rate_limit`.
    pub fn from_registry(registry: &Registry) -> Self {
        let limits = registry
            .events
            .iter()
            .filter_map(|(n, e)| Some((name_hash(n), e.rate_limit?)))
            .collect();
        EventLimiter {
            start: Instant::now(),
            default_limit: registry.defaults.event_rate_limit,
            limits,
            slots: (0..SLOTS).map(|_| Slot::default()).collect(),
        }
    }

    /// Whether one more record of event `name` may be exported now.
    pub fn admit(&self, name: &str) -> bool {
        self.admit_with(name, || self.start.elapsed().as_secs() as u32)
    }

    /// [`Self::admit`] at `second` (tests).
    #[cfg(test)]
    fn admit_at(&self, name: &str, second: u32) -> bool {
        self.admit_with(name, || second)
    }

    /// The limiter, reading the current second from `now` only when a window must begin or
    /// its budget is spent.
    fn admit_with(&self, name: &str, now: impl FnOnce() -> u32) -> bool {
        let h = name_hash(name);
        let slot = &self.slots[(h as usize) & (SLOTS - 1)];
        // The clock, read at most once.
        let mut now = Some(now);
        let mut read = None;
        let mut second = || *read.get_or_insert_with(|| now.take().map_or(0, |f| f()));
        if slot.tag.load(Ordering::Relaxed) != h {
            // A new name in this slot: its limit, and a window that starts now. (Two names
            // racing for one slot may briefly mix limit and window; either is a bounded one.)
            let limit = self.limits.get(&h).copied().unwrap_or(self.default_limit);
            slot.tag.store(h, Ordering::Relaxed);
            slot.limit.store(limit, Ordering::Relaxed);
            slot.window
                .store(u64::from(second()) << 32, Ordering::Relaxed);
        }
        let limit = slot.limit.load(Ordering::Relaxed);
        if limit == 0 {
            return false;
        }
        let mut cur = slot.window.load(Ordering::Relaxed);
        loop {
            let (sec, count) = ((cur >> 32) as u32, cur as u32);
            let next = if count < limit {
                cur + 1
            } else {
                let now = second();
                if now <= sec {
                    return false;
                }
                (u64::from(now) << 32) | 1
            };
            match slot
                .window
                .compare_exchange_weak(cur, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return true,
                Err(actual) => cur = actual,
            }
        }
    }
}

/// The flow and step of an event, and whether the event set either itself.
struct EventFlow {
    flow: StringValue,
    step: Option<StringValue>,
    /// The event has a `flow.name` field of its own (kept, not overwritten).
    own_flow: bool,
    /// The event has a `flow.step` field of its own.
    own_step: bool,
}

thread_local! {
    /// The flow context of the event being emitted on this thread, from [`LogLayer`] to
    /// [`FlowLogProcessor`] (the bridge's record passes between them inside one call).
    static EMITTING: Cell<Option<EventFlow>> = const { Cell::new(None) };
}

/// A log processor that adds the emitting event's `flow.name` and `flow.step`, then hands the
/// record to `inner` (a batch or simple processor with the chosen exporter).
#[derive(Debug)]
pub struct FlowLogProcessor<P> {
    inner: P,
}

impl<P> FlowLogProcessor<P> {
    /// Wraps `inner`.
    pub fn new(inner: P) -> Self {
        FlowLogProcessor { inner }
    }
}

impl<P: LogProcessor> LogProcessor for FlowLogProcessor<P> {
    fn emit(&self, record: &mut SdkLogRecord, scope: &InstrumentationScope) {
        if let Some(flow) = EMITTING.try_with(Cell::take).ok().flatten() {
            add_flow(record, flow);
        }
        self.inner.emit(record, scope);
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &opentelemetry_sdk::Resource) {
        self.inner.set_resource(resource);
    }
}

fn add_flow(record: &mut SdkLogRecord, flow: EventFlow) {
    if !flow.own_flow {
        record.add_attribute(Key::from_static_str(FLOW_KEY), AnyValue::String(flow.flow));
    }
    if let Some(step) = flow.step
        && !flow.own_step
    {
        record.add_attribute(Key::from_static_str(STEP_FIELD), AnyValue::String(step));
    }
}

/// Numbers of the log layers made in this process.
static LAYERS: AtomicU64 = AtomicU64::new(1);

/// The `tracing` layer exporting events as OpenTelemetry log records (see the module docs).
pub struct LogLayer {
    bridge: OpenTelemetryTracingBridge<SdkLoggerProvider, SdkLogger>,
    logger: SdkLogger,
    limiter: EventLimiter,
    redactor: Arc<Redactor>,
    /// The `pii` attribute names, compared with an event's field names on the hot path (a few
    /// string comparisons cost less than hashing every field name).
    pii_names: Box<[String]>,
    violations: Arc<Violations>,
    /// This layer's number in the process, telling its entries in [`entered`]'s stack apart.
    serial: u64,
}

impl fmt::Debug for LogLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogLayer")
            .field("limiter", &self.limiter)
            .finish_non_exhaustive()
    }
}

impl LogLayer {
    /// A layer emitting through `provider`, limited and redacted as `registry` says, counting
    /// its interventions in `violations`.
    pub fn new(
        provider: &SdkLoggerProvider,
        registry: &Registry,
        redactor: Arc<Redactor>,
        violations: Arc<Violations>,
    ) -> Self {
        LogLayer {
            bridge: OpenTelemetryTracingBridge::new(provider),
            logger: provider.logger(""),
            limiter: EventLimiter::from_registry(registry),
            redactor,
            pii_names: registry
                .attributes
                .iter()
                .filter(|(_, a)| a.pii)
                .map(|(k, _)| k.clone())
                .collect(),
            violations,
            serial: LAYERS.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// Builds the record of an event with personal data, redacting as the conventions say.
    fn emit_redacted(&self, event: &Event<'_>, flow: Option<EventFlow>) {
        let meta = event.metadata();
        let mut record = self.logger.create_log_record();
        record.set_target(meta.target());
        record.set_event_name(meta.name());
        record.set_severity_number(severity(meta.level()));
        record.set_severity_text(meta.level().as_str());
        let mut visitor = RedactingVisitor {
            record: &mut record,
            redactor: &self.redactor,
            redacted: 0,
        };
        event.record(&mut visitor);
        let redacted = visitor.redacted;
        if let Some(flow) = flow {
            add_flow(&mut record, flow);
        }
        self.violations.count(Rule::PiiRedacted, redacted, || {
            format!("personal data on log event `{}` was redacted", meta.name())
        });
        self.logger.emit(record);
    }
}

const fn severity(level: &Level) -> Severity {
    match *level {
        Level::TRACE => Severity::Trace,
        Level::DEBUG => Severity::Debug,
        Level::INFO => Severity::Info,
        Level::WARN => Severity::Warn,
        Level::ERROR => Severity::Error,
    }
}

impl<S> Layer<S> for LogLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    /// The rate limit, asked before any layer sees the event: an event over its limit is
    /// dropped for the whole subscriber (no log record, no span event, no console line), so a
    /// flood costs the limiter's few atomic operations and nothing else.
    fn event_enabled(&self, event: &Event<'_>, _ctx: Context<'_, S>) -> bool {
        let meta = event.metadata();
        if self.limiter.admit(meta.name()) {
            return true;
        }
        self.violations.count(Rule::EventRateLimited, 1, || {
            format!(
                "log event `{}` was written more often than its rate limit; the excess is dropped",
                meta.name()
            )
        });
        false
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let meta = event.metadata();
        // One pass over the field names: personal data, and flow keys the event sets itself.
        let (mut personal, mut own_flow, mut own_step) = (false, false, false);
        for f in meta.fields() {
            match f.name() {
                FLOW_KEY => own_flow = true,
                STEP_FIELD => own_step = true,
                n => personal |= self.pii_names.iter().any(|p| p == n),
            }
        }
        let flow = self.flow_of(event, &ctx).map(|(flow, step)| EventFlow {
            flow,
            step,
            own_flow,
            own_step,
        });
        if personal {
            self.emit_redacted(event, flow);
            return;
        }
        let has_flow = flow.is_some();
        if has_flow {
            let _ = EMITTING.try_with(|e| e.set(flow));
        }
        self.bridge.on_event(event, ctx);
        if has_flow {
            // Cleared whether or not a processor took it (a filtered record never reaches one).
            let _ = EMITTING.try_with(Cell::take);
        }
    }

    fn on_enter(&self, id: &Id, _ctx: Context<'_, S>) {
        entered::push(self.serial, id);
    }

    fn on_exit(&self, id: &Id, _ctx: Context<'_, S>) {
        entered::pop(self.serial, id);
    }

    fn on_record(&self, _id: &Id, values: &Record<'_>, _ctx: Context<'_, S>) {
        let mut flow_keys = FlowKeys(false);
        values.record(&mut flow_keys);
        if flow_keys.0 {
            entered::flows_changed();
        }
    }
}

/// Finds whether recorded values include `flow.name` or `flow.step`.
struct FlowKeys(bool);

impl Visit for FlowKeys {
    fn record_debug(&mut self, field: &Field, _value: &dyn fmt::Debug) {
        self.0 |= matches!(field.name(), FLOW_KEY | STEP_FIELD);
    }
}

impl LogLayer {
    /// The flow and step of `event`: from the span it was written in, found once per entry of
    /// that span on this thread and then remembered in [`entered`]'s stack (the walk up the
    /// span tree costs a registry lookup and an extensions lock per span).
    fn flow_of<S>(&self, event: &Event<'_>, ctx: &Context<'_, S>) -> FlowOf
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        if !event.is_contextual() {
            return ctx.event_scope(event).and_then(flow_of_scope);
        }
        match entered::cached(self.serial) {
            entered::Cached::Hit(flow) => flow,
            entered::Cached::Miss(id, epoch) => {
                let flow = ctx.event_scope(event).and_then(flow_of_scope);
                // Remembered only for the span found current here (it always is).
                if ctx.current_span().id().map(Id::into_u64) == Some(id) {
                    entered::remember(self.serial, id, epoch, &flow);
                }
                flow
            }
            entered::Cached::Unknown => ctx.event_scope(event).and_then(flow_of_scope),
        }
    }
}

/// A flow and its step, as log records carry them.
type FlowOf = Option<(StringValue, Option<StringValue>)>;

/// The spans each log layer has seen entered on this thread, innermost last, each with the
/// flow and step its events get once the first event looked them up.
///
/// The stack mirrors the registry's own (an enter pushes, an exit removes the innermost entry
/// of that span) and is bounded: beyond [`entered::CAP`] entries a layer stops remembering and
/// looks every event's flow up again until the stack is back under the bound. A span that
/// records `flow.name` or `flow.step` after it was created bumps an epoch that makes every
/// remembered flow stale. Nothing here panics, also while the thread's locals are destroyed.
mod entered {
    use std::cell::RefCell;
    use std::sync::atomic::{AtomicU64, Ordering};

    use tracing::span::Id;

    use super::FlowOf;

    /// Entries per thread, over all layers.
    pub(super) const CAP: usize = 64;

    /// Bumped when a span's flow or step changes after creation.
    static EPOCH: AtomicU64 = AtomicU64::new(0);

    struct Entry {
        layer: u64,
        id: u64,
        /// The flow of the span's events, and the epoch it was found in.
        flow: Option<(u64, FlowOf)>,
    }

    struct Stack {
        entries: Vec<Entry>,
        /// Enters not pushed because the stack was full (no lookup is remembered meanwhile).
        skipped: u32,
    }

    thread_local! {
        static STACK: RefCell<Stack> = const {
            RefCell::new(Stack {
                entries: Vec::new(),
                skipped: 0,
            })
        };
    }

    fn with<R>(f: impl FnOnce(&mut Stack) -> R) -> Option<R> {
        STACK
            .try_with(|s| s.try_borrow_mut().ok().map(|mut s| f(&mut s)))
            .ok()
            .flatten()
    }

    pub(super) fn push(layer: u64, id: &Id) {
        with(|s| {
            if s.entries.len() < CAP {
                s.entries.push(Entry {
                    layer,
                    id: id.into_u64(),
                    flow: None,
                });
            } else {
                s.skipped += 1;
            }
        });
    }

    pub(super) fn pop(layer: u64, id: &Id) {
        let id = id.into_u64();
        with(|s| {
            match s
                .entries
                .iter()
                .rposition(|e| e.layer == layer && e.id == id)
            {
                Some(i) => {
                    s.entries.remove(i);
                }
                None => s.skipped = s.skipped.saturating_sub(1),
            }
        });
    }

    pub(super) fn flows_changed() {
        EPOCH.fetch_add(1, Ordering::Relaxed);
    }

    /// What the stack knows of the current span of `layer`.
    pub(super) enum Cached {
        /// Its events' flow, found before.
        Hit(FlowOf),
        /// The span (its id) is known, its flow not yet (or not in this epoch).
        Miss(u64, u64),
        /// Nothing: look it up and do not remember.
        Unknown,
    }

    pub(super) fn cached(layer: u64) -> Cached {
        let epoch = EPOCH.load(Ordering::Relaxed);
        with(|s| {
            if s.skipped > 0 {
                return Cached::Unknown;
            }
            match s.entries.iter().rev().find(|e| e.layer == layer) {
                Some(Entry {
                    flow: Some((at, flow)),
                    ..
                }) if *at == epoch => Cached::Hit(flow.clone()),
                Some(e) => Cached::Miss(e.id, epoch),
                None => Cached::Unknown,
            }
        })
        .unwrap_or(Cached::Unknown)
    }

    /// Remembers `flow`, found in `epoch`, for the current span of `layer` if it is still span `id`.
    pub(super) fn remember(layer: u64, id: u64, epoch: u64, flow: &FlowOf) {
        with(|s| {
            if let Some(e) = s.entries.iter_mut().rev().find(|e| e.layer == layer)
                && e.id == id
            {
                e.flow = Some((epoch, flow.clone()));
            }
        });
    }
}

/// The bridge's field mapping (`message` is the body, other fields attributes), with `pii`
/// fields hashed or dropped.
struct RedactingVisitor<'a> {
    record: &'a mut SdkLogRecord,
    redactor: &'a Redactor,
    redacted: u64,
}

impl RedactingVisitor<'_> {
    fn put(&mut self, field: &Field, value: AnyValue, text: impl FnOnce() -> String) {
        if field.name() == "message" {
            self.record.set_body(value);
            return;
        }
        match self.redactor.redaction_of(field.name()) {
            None => self
                .record
                .add_attribute(Key::from_static_str(field.name()), value),
            Some(Redaction::Drop) => self.redacted += 1,
            Some(Redaction::Hash) => {
                let text = text();
                let hashed = if crate::redact::is_hashed(&text) {
                    text
                } else {
                    self.redacted += 1;
                    hash_pii(&text)
                };
                self.record
                    .add_attribute(Key::from_static_str(field.name()), AnyValue::from(hashed));
            }
        }
    }
}

impl Visit for RedactingVisitor<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let text = format!("{value:?}");
        self.put(field, AnyValue::from(text.clone()), || text);
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, AnyValue::from(value.to_owned()), || value.to_owned());
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, AnyValue::from(value), || value.to_string());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        let v =
            i64::try_from(value).map_or_else(|_| AnyValue::from(value.to_string()), AnyValue::from);
        self.put(field, v, || value.to_string());
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, AnyValue::from(value), || value.to_string());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, AnyValue::from(value), || value.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(yaml_events: &str) -> EventLimiter {
        let text = format!(
            "schema: flowtel/v1\nname: t\nversion: 1.0.0\ndefaults: {{event_rate_limit: 3}}\n{yaml_events}"
        );
        let reg = flowtel_conventions::check_str("t.yaml", &text)
            .registry
            .unwrap();
        EventLimiter::from_registry(&reg)
    }

    #[test]
    fn each_event_gets_its_own_budget_per_second() {
        let l = limiter("events:\n  payment.declined: {rate_limit: 1}\n");
        assert!(l.admit_at("payment.declined", 7));
        assert!(!l.admit_at("payment.declined", 7), "own limit of 1");
        let admitted = (0..10).filter(|_| l.admit_at("cache.miss", 7)).count();
        assert_eq!(admitted, 3, "the default limit");
        assert!(
            l.admit_at("payment.declined", 8),
            "a new second, a new budget"
        );
        assert!(l.admit_at("cache.miss", 8));
    }

    #[test]
    fn the_clock_is_read_only_to_begin_a_window() {
        let l = limiter("events:\n  payment.declined: {rate_limit: 2}\n");
        let reads = Cell::new(0);
        let reads = &reads;
        let at = |second| {
            move || {
                reads.set(reads.get() + 1);
                second
            }
        };
        assert!(l.admit_with("payment.declined", at(4)), "a window begins");
        assert_eq!(reads.get(), 1);
        assert!(l.admit_with("payment.declined", at(4)));
        assert_eq!(reads.get(), 1, "under the budget: no clock");
        assert!(!l.admit_with("payment.declined", at(4)), "budget spent");
        assert_eq!(reads.get(), 2);
        assert!(l.admit_with("payment.declined", at(5)), "a new second");
        assert!(l.admit_with("payment.declined", at(5)));
        assert!(!l.admit_with("payment.declined", at(5)));
    }

    #[test]
    fn a_zero_limit_drops_every_record() {
        let l = limiter("events:\n  payment.declined: {rate_limit: 0}\n");
        assert!((0..5).all(|s| !l.admit_at("payment.declined", s)));
        assert!(l.admit_at("cache.miss", 0), "other events keep the default");
    }

    proptest::proptest! {
        #[test]
        fn never_more_than_the_limit_in_one_second(names in proptest::collection::vec(0u8..6, 0..200)) {
            let l = limiter("");
            let mut admitted = [0u32; 6];
            for n in names {
                if l.admit_at(&format!("event.{n}"), 1) {
                    admitted[n as usize] += 1;
                }
            }
            for a in admitted {
                proptest::prop_assert!(a <= 3);
            }
        }
    }
}
