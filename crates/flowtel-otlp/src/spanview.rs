//! Lean decoding of OTLP JSON trace requests: each span handed to a [`SpanViewSink`] as a
//! [`SpanView`] borrowing its strings from the input, with only the attributes the sink keeps,
//! instead of a [`crate::Batch`] of owned spans.
//!
//! A consumer that keeps a compact form of its own (the flow analysis interns a few strings per
//! span) would otherwise pay for every name, key and value as a `String` and every attribute
//! list as a `Vec`, then throw most of it away. Here nothing is allocated per span: strings are
//! slices of the line (copied only when they hold JSON escapes), the values of attributes the
//! sink does not keep and the events are skipped unread ([`IgnoredAny`]), and the attribute and
//! link buffers are reused from span to span.
//!
//! The scalars follow the same OTLP JSON mapping as the model's `Deserialize` impls (ids in hex
//! or base64, 64-bit integers as numbers or strings, enums as numbers or names, camelCase or
//! snake_case keys), with the same error messages; fields the view does not carry are not
//! checked. Reached through [`crate::JsonRequest::decode_spans`], which locates errors in the
//! file as [`crate::JsonRequest::decode`] does.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self as sde, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

use crate::de;
use crate::json::{JsonRequest, json_error};
use crate::model::{ItemIndex, KeyStyle, Signal, SpanId, SpanKind, StatusCode, TraceId};

/// An attribute value as the view carries it: scalars only; arrays, key-value lists and bytes
/// are [`ValueView::Other`].
#[derive(Clone, Debug, PartialEq)]
pub enum ValueView<'a> {
    /// `stringValue`.
    Str(Cow<'a, str>),
    /// `intValue`.
    Int(i64),
    /// `doubleValue`.
    Double(f64),
    /// `boolValue`.
    Bool(bool),
    /// Empty, an array, a key-value list or bytes.
    Other,
}

impl ValueView<'_> {
    /// The string, if it is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            ValueView::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The integer, if it is one.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            ValueView::Int(n) => Some(*n),
            _ => None,
        }
    }
}

/// One attribute of a [`SpanView`] or of a resource.
#[derive(Clone, Debug, PartialEq)]
pub struct KeyValueView<'a> {
    /// The key.
    pub key: Cow<'a, str>,
    /// The value.
    pub value: ValueView<'a>,
}

/// A span link: the linked trace and span.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinkView {
    /// Linked trace.
    pub trace_id: TraceId,
    /// Linked span.
    pub span_id: SpanId,
}

/// One span, borrowed from the input: what [`SpanViewSink::span`] receives.
#[derive(Clone, Debug)]
pub struct SpanView<'a> {
    /// Trace id (zero if absent).
    pub trace_id: TraceId,
    /// Span id (zero if absent).
    pub span_id: SpanId,
    /// Parent span id; `None` for a root span.
    pub parent_span_id: Option<SpanId>,
    /// W3C trace state.
    pub trace_state: &'a str,
    /// Span name.
    pub name: &'a str,
    /// Span kind.
    pub kind: SpanKind,
    /// Start time.
    pub start_time_unix_nano: u64,
    /// End time.
    pub end_time_unix_nano: u64,
    /// Status code.
    pub status: StatusCode,
    /// The attributes the sink keeps ([`SpanViewSink::keep_attribute`]), in input order.
    pub attributes: &'a [KeyValueView<'a>],
    /// The span's links.
    pub links: &'a [LinkView],
    /// Its position in the request.
    pub index: ItemIndex,
    /// The request's key style (for pointers).
    pub style: KeyStyle,
}

impl SpanView<'_> {
    /// JSON pointer of the span in its request, e.g. `/resourceSpans/0/scopeSpans/1/spans/3`.
    pub fn pointer(&self) -> String {
        self.index.pointer(Signal::Traces, self.style)
    }
}

/// Receives the spans of a request decoded by [`crate::JsonRequest::decode_spans`].
pub trait SpanViewSink {
    /// Whether the span attribute `key` is wanted; the values of the others are skipped unread.
    fn keep_attribute(&self, key: &str) -> bool {
        let _ = key;
        true
    }

    /// The attributes of resource number `index` of the request. JSON objects are unordered:
    /// it may come before or after the spans of its block; it does not come at all when the
    /// block has no `resource`.
    fn resource(&mut self, index: usize, attributes: &[KeyValueView<'_>]);

    /// One span of resource block [`SpanView::index`]`.resource`.
    fn span(&mut self, span: &SpanView<'_>);

    /// The end of resource block `index`: its resource and every span of it were delivered.
    fn end_resource(&mut self, index: usize);

    /// The request holds `signal` (metrics or logs), whose content was skipped unread: a sink
    /// that reads that signal too decodes the request again ([`crate::JsonRequest::decode`]).
    fn other_signal(&mut self, signal: Signal) {
        let _ = signal;
    }
}

impl JsonRequest<'_> {
    /// Hands the request's spans to `sink` as borrowed views (see [`crate::spanview`]); a
    /// request of metrics or logs hands over nothing. On an error the sink may already have
    /// received part of the request: a sink that must take a request whole undoes it.
    pub fn decode_spans(&self, sink: &mut dyn SpanViewSink) -> crate::error::Result<()> {
        decode(self.bytes, sink).map_err(|e| json_error(self.file, e, self.line, 1, self.offset))
    }
}

/// Decodes one OTLP JSON export request into `sink` (errors are `serde_json`'s, to be located
/// by the caller). A request of metrics or logs delivers nothing.
///
/// The line is checked to be UTF-8 once, as a whole, and then parsed as a `str`, so the parser
/// does not check every string again (a tenth of the time on ids, names and keys); a line that
/// is not UTF-8 is parsed as bytes, which reports where.
pub(crate) fn decode(bytes: &[u8], sink: &mut dyn SpanViewSink) -> serde_json::Result<()> {
    match std::str::from_utf8(bytes) {
        Ok(text) => run(serde_json::Deserializer::from_str(text), sink),
        Err(_) => run(serde_json::Deserializer::from_slice(bytes), sink),
    }
}

fn run<'de, R: serde_json::de::Read<'de>>(
    mut de: serde_json::Deserializer<R>,
    sink: &mut dyn SpanViewSink,
) -> serde_json::Result<()> {
    RequestSeed { sink }.deserialize(&mut de)?;
    de.end()
}

/// Whatever state the visitors share while walking one request.
struct Ctx<'s, 'de> {
    sink: &'s mut dyn SpanViewSink,
    style: KeyStyle,
    attributes: Vec<KeyValueView<'de>>,
    links: Vec<LinkView>,
}

struct RequestSeed<'s> {
    sink: &'s mut dyn SpanViewSink,
}

impl<'de> DeserializeSeed<'de> for RequestSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RequestSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "an OTLP export request object with resourceSpans, resourceMetrics or resourceLogs",
        )
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        use crate::json::TopKey;
        let mut ctx = Ctx {
            sink: self.sink,
            style: KeyStyle::CamelCase,
            attributes: Vec::new(),
            links: Vec::new(),
        };
        let mut signals = 0;
        while let Some(key) = map.next_key::<TopKey>()? {
            match key {
                TopKey::Spans(style) => {
                    ctx.style = style;
                    map.next_value_seed(Blocks { ctx: &mut ctx })?;
                }
                TopKey::Metrics(_) => {
                    map.next_value::<IgnoredAny>()?;
                    ctx.sink.other_signal(Signal::Metrics);
                }
                TopKey::Logs(_) => {
                    map.next_value::<IgnoredAny>()?;
                    ctx.sink.other_signal(Signal::Logs);
                }
                TopKey::Other => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            }
            signals += 1;
            if signals > 1 {
                return Err(sde::Error::custom(
                    "an export request holds more than one of resourceSpans, resourceMetrics and resourceLogs: write one signal per request",
                ));
            }
        }
        Ok(())
    }
}

/// `resourceSpans`: an array of resource blocks (or `null`).
struct Blocks<'c, 's, 'de> {
    ctx: &'c mut Ctx<'s, 'de>,
}

impl<'de> DeserializeSeed<'de> for Blocks<'_, '_, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Blocks<'_, '_, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of ResourceSpans")
    }
    fn visit_unit<E: sde::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut resource = 0;
        while seq
            .next_element_seed(Block {
                ctx: &mut *self.ctx,
                resource,
            })?
            .is_some()
        {
            resource += 1;
        }
        Ok(())
    }
}

/// Keys of a `ResourceSpans` object.
enum BlockKey {
    Resource,
    Scopes,
    Other,
}

impl<'de> Deserialize<'de> for BlockKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        de::key(d, "a ResourceSpans key", |k| match k {
            "resource" => BlockKey::Resource,
            "scopeSpans" | "scope_spans" => BlockKey::Scopes,
            _ => BlockKey::Other,
        })
    }
}

/// One `ResourceSpans` object.
struct Block<'c, 's, 'de> {
    ctx: &'c mut Ctx<'s, 'de>,
    resource: usize,
}

impl<'de> DeserializeSeed<'de> for Block<'_, '_, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Block<'_, '_, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a ResourceSpans object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<BlockKey>()? {
            match key {
                BlockKey::Resource => {
                    let attrs = map.next_value_seed(ResourceSeed)?;
                    self.ctx.sink.resource(self.resource, &attrs);
                }
                BlockKey::Scopes => map.next_value_seed(Scopes {
                    ctx: &mut *self.ctx,
                    resource: self.resource,
                })?,
                BlockKey::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        self.ctx.sink.end_resource(self.resource);
        Ok(())
    }
}

/// A `Resource` object: its attributes, all kept.
struct ResourceSeed;

impl<'de> DeserializeSeed<'de> for ResourceSeed {
    type Value = Vec<KeyValueView<'de>>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ResourceSeed {
    type Value = Vec<KeyValueView<'de>>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Resource object")
    }
    fn visit_unit<E: sde::Error>(self) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(k) = map.next_key::<CowStr<'de>>()? {
            if k.0 == "attributes" {
                map.next_value_seed(Attributes {
                    out: &mut out,
                    keep: &|_| true,
                })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(out)
    }
}

/// `scopeSpans`: an array of scope blocks.
struct Scopes<'c, 's, 'de> {
    ctx: &'c mut Ctx<'s, 'de>,
    resource: usize,
}

impl<'de> DeserializeSeed<'de> for Scopes<'_, '_, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Scopes<'_, '_, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of ScopeSpans")
    }
    fn visit_unit<E: sde::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut scope = 0;
        while seq
            .next_element_seed(ScopeSeed {
                ctx: &mut *self.ctx,
                resource: self.resource,
                scope,
            })?
            .is_some()
        {
            scope += 1;
        }
        Ok(())
    }
}

/// One `ScopeSpans` object: its `spans`.
struct ScopeSeed<'c, 's, 'de> {
    ctx: &'c mut Ctx<'s, 'de>,
    resource: usize,
    scope: usize,
}

impl<'de> DeserializeSeed<'de> for ScopeSeed<'_, '_, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ScopeSeed<'_, '_, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a ScopeSpans object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(k) = map.next_key::<CowStr<'de>>()? {
            if k.0 == "spans" {
                map.next_value_seed(Spans {
                    ctx: &mut *self.ctx,
                    resource: self.resource,
                    scope: self.scope,
                })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

/// `spans`: an array of spans.
struct Spans<'c, 's, 'de> {
    ctx: &'c mut Ctx<'s, 'de>,
    resource: usize,
    scope: usize,
}

impl<'de> DeserializeSeed<'de> for Spans<'_, '_, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Spans<'_, '_, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of spans")
    }
    fn visit_unit<E: sde::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut item = 0;
        while seq
            .next_element_seed(SpanSeed {
                ctx: &mut *self.ctx,
                index: ItemIndex {
                    resource: self.resource,
                    scope: self.scope,
                    item,
                },
            })?
            .is_some()
        {
            item += 1;
        }
        Ok(())
    }
}

/// Keys of a `Span` object.
enum SpanKey {
    TraceId,
    SpanId,
    ParentSpanId,
    TraceState,
    Name,
    Kind,
    Start,
    End,
    Attributes,
    Links,
    Status,
    Other,
}

impl<'de> Deserialize<'de> for SpanKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        de::key(d, "a Span key", |k| match k {
            "traceId" | "trace_id" => SpanKey::TraceId,
            "spanId" | "span_id" => SpanKey::SpanId,
            "parentSpanId" | "parent_span_id" => SpanKey::ParentSpanId,
            "traceState" | "trace_state" => SpanKey::TraceState,
            "name" => SpanKey::Name,
            "kind" => SpanKey::Kind,
            "startTimeUnixNano" | "start_time_unix_nano" => SpanKey::Start,
            "endTimeUnixNano" | "end_time_unix_nano" => SpanKey::End,
            "attributes" => SpanKey::Attributes,
            "links" => SpanKey::Links,
            "status" => SpanKey::Status,
            _ => SpanKey::Other,
        })
    }
}

struct SpanSeed<'c, 's, 'de> {
    ctx: &'c mut Ctx<'s, 'de>,
    index: ItemIndex,
}

impl<'de> DeserializeSeed<'de> for SpanSeed<'_, '_, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

/// A `u64` in the OTLP JSON mapping (number or decimal string).
struct U64(u64);
impl<'de> Deserialize<'de> for U64 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        de::u64_any(d).map(U64)
    }
}

/// A parent span id: `None` when empty or `null`.
struct ParentId(Option<SpanId>);
impl<'de> Deserialize<'de> for ParentId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(ParentId(de::opt_id(d, "span id")?.map(SpanId)))
    }
}

impl<'de> Visitor<'de> for SpanSeed<'_, '_, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Span object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let ctx = self.ctx;
        ctx.attributes.clear();
        ctx.links.clear();
        let mut trace_id = TraceId::default();
        let mut span_id = SpanId::default();
        let mut parent = None;
        let mut trace_state = CowStr::default();
        let mut name = CowStr::default();
        let mut kind = SpanKind::default();
        let (mut start, mut end) = (0, 0);
        let mut status = StatusCode::default();
        while let Some(key) = map.next_key::<SpanKey>()? {
            match key {
                SpanKey::TraceId => trace_id = map.next_value()?,
                SpanKey::SpanId => span_id = map.next_value()?,
                SpanKey::ParentSpanId => parent = map.next_value::<ParentId>()?.0,
                SpanKey::TraceState => trace_state = map.next_value()?,
                SpanKey::Name => name = map.next_value()?,
                SpanKey::Kind => kind = map.next_value()?,
                SpanKey::Start => start = map.next_value::<U64>()?.0,
                SpanKey::End => end = map.next_value::<U64>()?.0,
                SpanKey::Attributes => {
                    let sink = &*ctx.sink;
                    map.next_value_seed(Attributes {
                        out: &mut ctx.attributes,
                        keep: &|k| sink.keep_attribute(k),
                    })?
                }
                SpanKey::Links => map.next_value_seed(Links {
                    out: &mut ctx.links,
                })?,
                SpanKey::Status => status = map.next_value::<StatusSeed>()?.0,
                SpanKey::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let view = SpanView {
            trace_id,
            span_id,
            parent_span_id: parent,
            trace_state: &trace_state.0,
            name: &name.0,
            kind,
            start_time_unix_nano: start,
            end_time_unix_nano: end,
            status,
            attributes: &ctx.attributes,
            links: &ctx.links,
            index: self.index,
            style: ctx.style,
        };
        ctx.sink.span(&view);
        Ok(())
    }
}

/// A string borrowed from the input when it holds no escapes; `null` is empty.
#[derive(Default)]
struct CowStr<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for CowStr<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = CowStr<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: sde::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Borrowed(v)))
            }
            fn visit_str<E: sde::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(v.to_string())))
            }
            fn visit_string<E: sde::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(v)))
            }
            fn visit_unit<E: sde::Error>(self) -> Result<Self::Value, E> {
                Ok(CowStr::default())
            }
        }
        d.deserialize_any(V)
    }
}

/// `status`: its code.
struct StatusSeed(StatusCode);

impl<'de> Deserialize<'de> for StatusSeed {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = StatusSeed;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a Status object")
            }
            fn visit_unit<E: sde::Error>(self) -> Result<Self::Value, E> {
                Ok(StatusSeed(StatusCode::default()))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut code = StatusCode::default();
                while let Some(k) = map.next_key::<CowStr<'de>>()? {
                    if k.0 == "code" {
                        code = map.next_value()?;
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(StatusSeed(code))
            }
        }
        d.deserialize_any(V)
    }
}

/// `links`: each link's trace and span id.
struct Links<'o> {
    out: &'o mut Vec<LinkView>,
}

impl<'de> DeserializeSeed<'de> for Links<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Links<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of links")
    }
    fn visit_unit<E: sde::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(link) = seq.next_element::<LinkSeed>()? {
            self.out.push(link.0);
        }
        Ok(())
    }
}

struct LinkSeed(LinkView);

impl<'de> Deserialize<'de> for LinkSeed {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = LinkSeed;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a Link object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut link = LinkView {
                    trace_id: TraceId::default(),
                    span_id: SpanId::default(),
                };
                while let Some(k) = map.next_key::<CowStr<'de>>()? {
                    match &*k.0 {
                        "traceId" | "trace_id" => link.trace_id = map.next_value()?,
                        "spanId" | "span_id" => link.span_id = map.next_value()?,
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(LinkSeed(link))
            }
        }
        d.deserialize_map(V)
    }
}

/// `attributes`: the kept ones appended to `out`.
struct Attributes<'o, 'de, 'k> {
    out: &'o mut Vec<KeyValueView<'de>>,
    keep: &'k dyn Fn(&str) -> bool,
}

impl<'de> DeserializeSeed<'de> for Attributes<'_, 'de, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Attributes<'_, 'de, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of KeyValue")
    }
    fn visit_unit<E: sde::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(kv) = seq.next_element_seed(KeyValueSeed { keep: self.keep })? {
            if let Some(kv) = kv {
                self.out.push(kv);
            }
        }
        Ok(())
    }
}

/// One `KeyValue`: `None` when its key is not kept (its value then skipped unread, unless it
/// came before the key).
struct KeyValueSeed<'k> {
    keep: &'k dyn Fn(&str) -> bool,
}

impl<'de> DeserializeSeed<'de> for KeyValueSeed<'_> {
    type Value = Option<KeyValueView<'de>>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for KeyValueSeed<'_> {
    type Value = Option<KeyValueView<'de>>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a KeyValue object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut key: Option<Cow<'de, str>> = None;
        let mut value = ValueView::Other;
        let mut skip = false;
        while let Some(k) = map.next_key::<CowStr<'de>>()? {
            match &*k.0 {
                "key" => {
                    let kk = map.next_value::<CowStr<'de>>()?.0;
                    skip = !(self.keep)(&kk);
                    key = Some(kk);
                }
                "value" if skip => {
                    map.next_value::<IgnoredAny>()?;
                }
                "value" => value = map.next_value::<ValueSeed>()?.0,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(match key {
            Some(key) if !skip => Some(KeyValueView { key, value }),
            _ => None,
        })
    }
}

/// An `AnyValue` object, scalars only.
struct ValueSeed<'de>(ValueView<'de>);

impl<'de> Deserialize<'de> for ValueSeed<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ValueSeed<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an AnyValue object such as {\"stringValue\": \"...\"}")
            }
            fn visit_unit<E: sde::Error>(self) -> Result<Self::Value, E> {
                Ok(ValueSeed(ValueView::Other))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                struct I(i64);
                impl<'de> Deserialize<'de> for I {
                    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                        de::i64_any(d).map(I)
                    }
                }
                struct F(f64);
                impl<'de> Deserialize<'de> for F {
                    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                        de::f64_any(d).map(F)
                    }
                }
                let mut out = ValueView::Other;
                while let Some(k) = map.next_key::<CowStr<'de>>()? {
                    match &*k.0 {
                        "stringValue" | "string_value" => {
                            if let Some(s) = map.next_value::<Option<CowStr<'de>>>()? {
                                out = ValueView::Str(s.0);
                            }
                        }
                        "intValue" | "int_value" => out = ValueView::Int(map.next_value::<I>()?.0),
                        "doubleValue" | "double_value" => {
                            out = ValueView::Double(map.next_value::<F>()?.0)
                        }
                        "boolValue" | "bool_value" => out = ValueView::Bool(map.next_value()?),
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                            out = ValueView::Other;
                        }
                    }
                }
                Ok(ValueSeed(out))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Seen {
        resources: Vec<(usize, Vec<String>)>,
        spans: Vec<String>,
        ends: Vec<usize>,
        others: Vec<Signal>,
    }

    impl SpanViewSink for Seen {
        fn keep_attribute(&self, key: &str) -> bool {
            key.starts_with("keep.")
        }
        fn resource(&mut self, index: usize, attributes: &[KeyValueView<'_>]) {
            let keys = attributes
                .iter()
                .map(|kv| format!("{}={:?}", kv.key, kv.value))
                .collect();
            self.resources.push((index, keys));
        }
        fn span(&mut self, s: &SpanView<'_>) {
            let attrs: Vec<String> = s
                .attributes
                .iter()
                .map(|kv| format!("{}={:?}", kv.key, kv.value))
                .collect();
            self.spans.push(format!(
                "{} {} {} {:?} {:?} {:?} {}-{} [{}] links={} ts={:?} {}",
                s.name,
                s.trace_id,
                s.span_id,
                s.parent_span_id.map(|p| p.to_string()),
                s.kind,
                s.status,
                s.start_time_unix_nano,
                s.end_time_unix_nano,
                attrs.join(","),
                s.links.len(),
                s.trace_state,
                s.pointer(),
            ));
        }
        fn end_resource(&mut self, index: usize) {
            self.ends.push(index);
        }
        fn other_signal(&mut self, signal: Signal) {
            self.others.push(signal);
        }
    }

    const LINE: &str = r#"{"resourceSpans":[{"scopeSpans":[{"scope":{"name":"lib"},"spans":[{"traceId":"5B8EFFF798038103D269B633813FC60C","spanId":"EEE19B7EC3C1B174","parentSpanId":"","name":"GET \"/\"","kind":"SPAN_KIND_SERVER","startTimeUnixNano":"1544712660000000000","endTimeUnixNano":1544712661000000000,"events":[{"name":"e","attributes":[{"key":"x","value":{"stringValue":"y"}}]}],"attributes":[{"key":"keep.i","value":{"intValue":"42"}},{"value":{"stringValue":"late key"},"key":"keep.s"},{"key":"drop","value":{"arrayValue":{"values":[{"boolValue":true}]}}},{"key":"keep.a","value":{"kvlistValue":{"values":[]}}}],"links":[{"traceId":"5B8EFFF798038103D269B633813FC60C","spanId":"0000000000000001","attributes":[]}],"status":{"code":"STATUS_CODE_ERROR","message":"boom"}}]}],"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]}}]}"#;

    #[test]
    fn views_every_field_and_keeps_only_wanted_attributes() {
        let mut seen = Seen::default();
        decode(LINE.as_bytes(), &mut seen).unwrap();
        assert_eq!(
            seen.spans,
            [
                "GET \"/\" 5b8efff798038103d269b633813fc60c eee19b7ec3c1b174 None Server Error 1544712660000000000-1544712661000000000 [keep.i=Int(42),keep.s=Str(\"late key\"),keep.a=Other] links=1 ts=\"\" /resourceSpans/0/scopeSpans/0/spans/0"
            ]
        );
        assert_eq!(
            seen.resources,
            [(0, vec!["service.name=Str(\"svc\")".to_string()])]
        );
        assert_eq!(seen.ends, [0]);
    }

    #[test]
    fn agrees_with_the_model_on_errors_and_snake_case() {
        let doc = r#"{"resource_spans":[{"scope_spans":[{"spans":[{"trace_id":"W47/95gDgQPSabYzgT/GDA==","span_id":"7uGbfsPBsXQ=","kind":3,"parent_span_id":null}]}]},null]}"#;
        let mut seen = Seen::default();
        decode(doc.as_bytes(), &mut seen).unwrap_err();
        let doc = doc.replace(",null]", "]");
        let mut seen = Seen::default();
        decode(doc.as_bytes(), &mut seen).unwrap();
        assert!(
            seen.spans[0].contains("5b8efff798038103d269b633813fc60c eee19b7ec3c1b174 None Client"),
            "{:?}",
            seen.spans
        );
        assert!(seen.spans[0].ends_with("/resource_spans/0/scope_spans/0/spans/0"));
        for bad in [
            r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"zz"}]}]}]}"#,
            r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"kind":"SPAN_KIND_NOPE"}]}]}]}"#,
            r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"startTimeUnixNano":"-3"}]}]}]}"#,
            r#"{"resourceSpans":[],"resourceLogs":[]}"#,
            r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{}]}]}]} trailing"#,
        ] {
            let lean = decode(bad.as_bytes(), &mut Seen::default()).unwrap_err();
            let model = serde_json::from_slice::<crate::json::Request>(bad.as_bytes())
                .map(|_| ())
                .unwrap_err();
            assert_eq!(lean.to_string(), model.to_string(), "{bad}");
        }
    }

    #[test]
    fn metrics_and_logs_deliver_nothing() {
        let mut seen = Seen::default();
        decode(br#"{"resourceMetrics":[{"resource":{}}]}"#, &mut seen).unwrap();
        decode(br#"{"resourceLogs":[]}"#, &mut seen).unwrap();
        decode(b"{}", &mut seen).unwrap();
        assert!(seen.spans.is_empty() && seen.resources.is_empty() && seen.ends.is_empty());
        assert_eq!(seen.others, [Signal::Metrics, Signal::Logs]);
        decode(LINE.as_bytes(), &mut seen).unwrap();
        assert_eq!(seen.others.len(), 2, "a trace request is no other signal");
    }
}
