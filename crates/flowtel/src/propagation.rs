//! The flow across service boundaries: W3C `traceparent` and `baggage` carrying `flow.name`.
//!
//! [`FlowPropagator`] is a `TextMapPropagator` for W3C Trace Context and W3C Baggage with the
//! W3C limits enforced member by member: at most [`MAX_MEMBERS`] members and [`MAX_BYTES`]
//! bytes; a member that would cross either limit is dropped whole (and counted), the rest are
//! kept, and `flow.name` is always written first so it is never the one dropped. Reading
//! headers from and writing them to `http::HeaderMap` is here too; deciding *which* flow a
//! request belongs to is the HTTP middleware's job.

use std::sync::Arc;

use http::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::baggage::{BaggageExt, KeyValueMetadata};
use opentelemetry::propagation::{
    Extractor, Injector, TextMapPropagator, text_map_propagator::FieldIter,
};
use opentelemetry::{Context, StringValue};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use percent_encoding::{AsciiSet, CONTROLS, percent_decode_str, utf8_percent_encode};

use crate::violations::{Rule, Violations};

/// The baggage key (and attribute) that names the flow.
pub const FLOW_KEY: &str = "flow.name";
/// Most baggage members kept (W3C Baggage limit).
pub const MAX_MEMBERS: usize = 64;
/// Most bytes of a baggage header kept, commas included (W3C Baggage limit).
pub const MAX_BYTES: usize = 8192;
/// The baggage header name.
pub const BAGGAGE_HEADER: &str = "baggage";

const ENCODE: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b',')
    .add(b';')
    .add(b'=')
    .add(b'%')
    .add(b'\\');

/// W3C Trace Context plus W3C Baggage with per-member limits.
#[derive(Debug, Clone)]
pub struct FlowPropagator {
    trace: TraceContextPropagator,
    violations: Option<Arc<Violations>>,
    fields: Vec<String>,
}

impl Default for FlowPropagator {
    fn default() -> Self {
        FlowPropagator::new(None)
    }
}

impl FlowPropagator {
    /// A propagator counting dropped baggage members in `violations` when given.
    pub fn new(violations: Option<Arc<Violations>>) -> Self {
        let trace = TraceContextPropagator::new();
        let mut fields: Vec<String> = trace.fields().map(str::to_owned).collect();
        fields.push(BAGGAGE_HEADER.to_owned());
        FlowPropagator {
            trace,
            violations,
            fields,
        }
    }

    fn count_dropped(&self, n: u64) {
        if let Some(v) = &self.violations {
            v.count(Rule::BaggageOverflow, n, || {
                format!(
                    "baggage beyond {MAX_MEMBERS} members or {MAX_BYTES} bytes; members dropped"
                )
            });
        }
    }

    /// The context of an incoming request: its remote parent span and baggage.
    pub fn extract_headers(&self, headers: &HeaderMap) -> Context {
        self.extract(&HeaderExtractor(headers))
    }

    /// Writes `traceparent`, `tracestate` and `baggage` for `cx` into outgoing `headers`,
    /// with `flow` as the baggage's `flow.name` when given.
    pub fn inject_headers(
        &self,
        cx: &Context,
        flow: Option<&StringValue>,
        headers: &mut HeaderMap,
    ) {
        self.trace.inject_context(cx, &mut HeaderInjector(headers));
        let (value, dropped) = encode_baggage(cx, flow);
        self.count_dropped(dropped);
        if !value.is_empty()
            && let Ok(v) = HeaderValue::try_from(value)
        {
            headers.insert(HeaderName::from_static(BAGGAGE_HEADER), v);
        }
    }
}

impl TextMapPropagator for FlowPropagator {
    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        self.trace.inject_context(cx, injector);
        // Clients that inject through the global propagator get the flow of the current span
        // even when their context carries no baggage.
        let flow = match flow_from_context(cx) {
            Some(_) => None,
            None => crate::layer::current_flow(),
        };
        let (value, dropped) = encode_baggage(cx, flow.as_ref());
        self.count_dropped(dropped);
        if !value.is_empty() {
            injector.set(BAGGAGE_HEADER, value);
        }
    }

    fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        let cx = self.trace.extract_with_context(cx, extractor);
        match extractor.get(BAGGAGE_HEADER) {
            Some(header) => {
                let (members, dropped) = decode_baggage(header);
                self.count_dropped(dropped);
                if members.is_empty() {
                    cx
                } else {
                    cx.with_baggage(members)
                }
            }
            None => cx,
        }
    }

    fn fields(&self) -> FieldIter<'_> {
        FieldIter::new(&self.fields)
    }
}

/// The flow named by a context's baggage.
pub fn flow_from_context(cx: &Context) -> Option<StringValue> {
    cx.baggage().get(FLOW_KEY).cloned()
}

/// Encodes the baggage of `cx` (with `flow` as `flow.name`, first) within the W3C limits.
/// Returns the header value and how many members were dropped.
pub fn encode_baggage(cx: &Context, flow: Option<&StringValue>) -> (String, u64) {
    let baggage = cx.baggage();
    let mut out = String::new();
    let mut members = 0usize;
    let mut dropped = 0u64;
    let mut push = |member: String, out: &mut String| {
        let extra = member.len() + usize::from(!out.is_empty());
        if members >= MAX_MEMBERS || out.len() + extra > MAX_BYTES {
            dropped += 1;
            return;
        }
        if !out.is_empty() {
            out.push(',');
        }
        out.push_str(&member);
        members += 1;
    };
    let flow = flow.or_else(|| baggage.get(FLOW_KEY));
    if let Some(flow) = flow {
        push(
            format!("{FLOW_KEY}={}", utf8_percent_encode(flow.as_str(), ENCODE)),
            &mut out,
        );
    }
    for (key, (value, metadata)) in baggage.iter() {
        if key.as_str() == FLOW_KEY {
            continue;
        }
        let mut member = format!(
            "{}={}",
            utf8_percent_encode(key.as_str().trim(), ENCODE),
            utf8_percent_encode(value.as_str().trim(), ENCODE)
        );
        let meta = metadata.as_str().trim();
        if !meta.is_empty() {
            member.push(';');
            member.push_str(meta);
        }
        push(member, &mut out);
    }
    (out, dropped)
}

/// Decodes a `baggage` header, keeping members while within the W3C limits (measured on the
/// header as received) and dropping whole members beyond. Malformed members are skipped.
/// Returns the members and how many were dropped for the limits.
pub fn decode_baggage(header: &str) -> (Vec<Member>, u64) {
    let mut kept = Vec::new();
    let mut bytes = 0usize;
    let mut dropped = 0u64;
    for raw in header.split(',') {
        let member = raw.trim();
        if member.is_empty() {
            continue;
        }
        let extra = member.len() + usize::from(bytes > 0);
        if kept.len() >= MAX_MEMBERS || bytes + extra > MAX_BYTES {
            dropped += 1;
            continue;
        }
        let (pair, metadata) = member.split_once(';').unwrap_or((member, ""));
        let Some((k, v)) = pair.split_once('=') else {
            continue;
        };
        let (Ok(k), Ok(v)) = (
            percent_decode_str(k.trim()).decode_utf8(),
            percent_decode_str(v.trim()).decode_utf8(),
        ) else {
            continue;
        };
        if k.is_empty() {
            continue;
        }
        bytes += extra;
        kept.push(Member {
            key: k.into_owned(),
            value: v.into_owned(),
            metadata: metadata.trim().to_owned(),
        });
    }
    (kept, dropped)
}

/// One decoded baggage member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Key, percent-decoded.
    pub key: String,
    /// Value, percent-decoded.
    pub value: String,
    /// Properties after `;`, as received.
    pub metadata: String,
}

impl From<Member> for KeyValueMetadata {
    fn from(m: Member) -> Self {
        KeyValueMetadata::new(m.key, m.value, m.metadata)
    }
}

/// Reads propagation headers from an `http::HeaderMap`.
#[derive(Debug)]
pub struct HeaderExtractor<'a>(pub &'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }
}

/// Writes propagation headers into an `http::HeaderMap`.
#[derive(Debug)]
pub struct HeaderInjector<'a>(pub &'a mut HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        // The W3C names without parsing them; the value's bytes without copying them.
        let name = match key {
            "traceparent" => Ok(HeaderName::from_static("traceparent")),
            "tracestate" => Ok(HeaderName::from_static("tracestate")),
            _ => HeaderName::from_bytes(key.as_bytes()),
        };
        if let (Ok(k), Ok(v)) = (name, HeaderValue::try_from(value)) {
            self.0.insert(k, v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flow_name_round_trips_first() {
        let cx = Context::new().with_baggage([KeyValueMetadata::new("tenant", "a b", "")]);
        let (header, dropped) = encode_baggage(&cx, Some(&StringValue::from("checkout")));
        assert_eq!(dropped, 0);
        assert_eq!(header, "flow.name=checkout,tenant=a%20b");
        let (members, _) = decode_baggage(&header);
        let cx = Context::new().with_baggage(members);
        assert_eq!(
            flow_from_context(&cx).as_ref().map(StringValue::as_str),
            Some("checkout")
        );
        assert_eq!(
            cx.baggage().get("tenant").map(StringValue::as_str),
            Some("a b")
        );
    }

    #[test]
    fn more_than_64_members_drop_whole_members() {
        let header: Vec<String> = (0..80).map(|i| format!("k{i}=v{i}")).collect();
        let (members, dropped) = decode_baggage(&header.join(","));
        assert_eq!(members.len(), MAX_MEMBERS);
        assert_eq!(dropped, 16);
        assert_eq!(members[63].key.as_str(), "k63");
    }

    #[test]
    fn more_than_8192_bytes_drop_whole_members() {
        let big = "x".repeat(3000);
        let header = format!("a={big},b={big},c={big},d=1");
        let (members, dropped) = decode_baggage(&header);
        let keys: Vec<_> = members.iter().map(|m| m.key.clone()).collect();
        assert_eq!(
            keys,
            ["a", "b", "d"],
            "c would cross 8192 bytes; d still fits"
        );
        assert_eq!(dropped, 1);
        let cx = Context::new().with_baggage(members);
        let (out, _) = encode_baggage(&cx, Some(&StringValue::from("checkout")));
        assert!(out.len() <= MAX_BYTES);
        assert!(out.starts_with("flow.name=checkout,"));
    }

    #[test]
    fn propagator_round_trips_headers() {
        use opentelemetry::trace::{
            SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState,
        };
        let sc = SpanContext::new(
            TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap(),
            SpanId::from_hex("00f067aa0ba902b7").unwrap(),
            TraceFlags::SAMPLED,
            true,
            TraceState::default(),
        );
        let cx = Context::new().with_remote_span_context(sc);
        let p = FlowPropagator::default();
        let mut headers = HeaderMap::new();
        p.inject_headers(&cx, Some(&StringValue::from("login")), &mut headers);
        assert_eq!(
            headers["traceparent"],
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        );
        let back = p.extract_headers(&headers);
        assert_eq!(
            back.span().span_context().trace_id(),
            cx.span().span_context().trace_id()
        );
        assert_eq!(flow_from_context(&back).unwrap().as_str(), "login");
    }
}
