//! OTLP protobuf: decoding `Export*ServiceRequest` messages with the `opentelemetry-proto` prost
//! types and converting them into the compact model, for request bodies ([`decode_proto`]) and
//! for files ([`ProtoReader`]).
//!
//! # Files of protobuf
//!
//! Protobuf is not self-delimiting, so a file holds one of three framings, detected from its
//! first two bytes:
//!
//! * first byte `0x00`: every message is preceded by its length as a 4-byte big-endian integer
//!   (as the Collector `file` exporter writes with `format: proto`);
//! * first byte `0x0A` (the tag of field 1, `resource_*`), second byte not `0x0A`: one single
//!   message, the whole file (bounded by the batch limit);
//! * any other first byte: messages each preceded by their length as a varint (prost
//!   `encode_length_delimited`, Java `writeDelimitedTo`);
//! * `0x0A 0x0A` is ambiguous (a 10-byte first frame, or a 10-byte first resource): the file is
//!   read up to the batch limit and decoded as a single message if that succeeds, else as
//!   varint-delimited.
//!
//! The signal (traces, metrics, logs) cannot be told from the framing: it is given by the caller,
//! or guessed from the file name (`trace`/`span`, `metric`, `log`), or else from the content by
//! decoding the first message as each signal and keeping the one that is plausible.

use std::io::{BufRead, Read};
use std::sync::Arc;

use opentelemetry_proto::tonic as pb;
use prost::Message as _;

use crate::error::{Error, ErrorKind, Result};
use crate::model::{
    AnyValue, Batch, DataPoint, Event, ExpBuckets, Format, InstrumentKind, KeyValue, Link,
    LogRecord, Metric, Origin, Payload, Quantile, Resource, ResourceBlock, Scope, ScopeBlock,
    Signal, Span, SpanId, SpanKind, Status, StatusCode, Temporality, TraceId,
};

/// Decodes one protobuf `Export{Trace,Metrics,Logs}ServiceRequest` (e.g. an OTLP/HTTP request
/// body with `Content-Type: application/x-protobuf`) into a batch; `name` names the source.
pub fn decode_proto(signal: Signal, name: &str, body: &[u8]) -> Result<Batch> {
    let file: Arc<str> = Arc::from(name);
    let payload = decode_payload(signal, body)
        .map_err(|m| Error::new(ErrorKind::Protobuf, &file, m).at_offset(0))?;
    Ok(Batch::new(
        Origin {
            file,
            line: None,
            byte_offset: 0,
            format: Format::OtlpProtobuf,
            gzip: false,
        },
        payload,
    ))
}

/// An `Export*ServiceRequest` already decoded (by a gRPC server, say), for [`from_message`].
#[derive(Debug)]
pub enum Message {
    /// `ExportTraceServiceRequest`.
    Traces(pb::collector::trace::v1::ExportTraceServiceRequest),
    /// `ExportMetricsServiceRequest`.
    Metrics(pb::collector::metrics::v1::ExportMetricsServiceRequest),
    /// `ExportLogsServiceRequest`.
    Logs(pb::collector::logs::v1::ExportLogsServiceRequest),
}

impl Message {
    /// The signal the message carries.
    pub fn signal(&self) -> Signal {
        match self {
            Message::Traces(_) => Signal::Traces,
            Message::Metrics(_) => Signal::Metrics,
            Message::Logs(_) => Signal::Logs,
        }
    }
}

/// Converts a decoded `Export*ServiceRequest` into a batch without encoding it again (an
/// OTLP/gRPC receiver gets messages, not bytes); `name` names the source. Fails as
/// [`decode_proto`] does on ids of the wrong length.
pub fn from_message(name: &str, message: Message) -> Result<Batch> {
    let file: Arc<str> = Arc::from(name);
    let payload = match message {
        Message::Traces(m) => traces(m).map(Payload::Traces),
        Message::Metrics(m) => Ok(Payload::Metrics(metrics(m))),
        Message::Logs(m) => logs(m).map(Payload::Logs),
    }
    .map_err(|m| Error::new(ErrorKind::Protobuf, &file, m).at_offset(0))?;
    Ok(Batch::new(
        Origin {
            file,
            line: None,
            byte_offset: 0,
            format: Format::OtlpProtobuf,
            gzip: false,
        },
        payload,
    ))
}

/// Decodes a message of `signal` into a payload; the error is a message for the user.
pub(crate) fn decode_payload(signal: Signal, bytes: &[u8]) -> Result<Payload, String> {
    let hint = |e: prost::DecodeError| {
        format!(
            "cannot decode an OTLP {signal} protobuf message: {e}; check that the input is an Export{}ServiceRequest and not truncated",
            match signal {
                Signal::Traces => "Trace",
                Signal::Metrics => "Metrics",
                Signal::Logs => "Logs",
            }
        )
    };
    Ok(match signal {
        Signal::Traces => {
            let m =
                pb::collector::trace::v1::ExportTraceServiceRequest::decode(bytes).map_err(hint)?;
            Payload::Traces(traces(m)?)
        }
        Signal::Metrics => {
            let m = pb::collector::metrics::v1::ExportMetricsServiceRequest::decode(bytes)
                .map_err(hint)?;
            Payload::Metrics(metrics(m))
        }
        Signal::Logs => {
            let m =
                pb::collector::logs::v1::ExportLogsServiceRequest::decode(bytes).map_err(hint)?;
            Payload::Logs(logs(m)?)
        }
    })
}

fn any(v: pb::common::v1::AnyValue) -> AnyValue {
    use pb::common::v1::any_value::Value as V;
    match v.value {
        None => AnyValue::Empty,
        Some(V::StringValue(s)) => AnyValue::String(s),
        Some(V::BoolValue(b)) => AnyValue::Bool(b),
        Some(V::IntValue(i)) => AnyValue::Int(i),
        Some(V::DoubleValue(d)) => AnyValue::Double(d),
        Some(V::ArrayValue(a)) => AnyValue::Array(a.values.into_iter().map(any).collect()),
        Some(V::KvlistValue(kv)) => AnyValue::KvList(attrs(kv.values)),
        Some(V::BytesValue(b)) => AnyValue::Bytes(b),
        // String tables exist only in profiles; nothing to resolve against here.
        Some(V::StringValueStrindex(_)) => AnyValue::Empty,
    }
}

fn attrs(kvs: Vec<pb::common::v1::KeyValue>) -> Vec<KeyValue> {
    kvs.into_iter()
        .map(|kv| KeyValue {
            key: kv.key,
            value: kv.value.map(any).unwrap_or_default(),
        })
        .collect()
}

fn resource(r: Option<pb::resource::v1::Resource>) -> Resource {
    r.map(|r| Resource {
        attributes: attrs(r.attributes),
        dropped_attributes_count: r.dropped_attributes_count,
    })
    .unwrap_or_default()
}

fn scope(s: Option<pb::common::v1::InstrumentationScope>) -> Scope {
    s.map(|s| Scope {
        name: s.name,
        version: s.version,
        attributes: attrs(s.attributes),
        dropped_attributes_count: s.dropped_attributes_count,
    })
    .unwrap_or_default()
}

fn id<const N: usize>(bytes: &[u8], what: &str) -> Result<Option<[u8; N]>, String> {
    match bytes.len() {
        0 => Ok(None),
        n if n == N => {
            let mut out = [0; N];
            out.copy_from_slice(bytes);
            Ok(Some(out))
        }
        n => Err(format!(
            "{what} has {n} bytes, expected {N}: fix the producer's id generation"
        )),
    }
}

fn traces(
    m: pb::collector::trace::v1::ExportTraceServiceRequest,
) -> Result<Vec<crate::model::ResourceSpans>, String> {
    let mut out = Vec::with_capacity(m.resource_spans.len());
    for (ri, rs) in m.resource_spans.into_iter().enumerate() {
        let mut scopes = Vec::with_capacity(rs.scope_spans.len());
        for (si, ss) in rs.scope_spans.into_iter().enumerate() {
            let mut items = Vec::with_capacity(ss.spans.len());
            for (i, s) in ss.spans.into_iter().enumerate() {
                let at = |e: String| format!("/resourceSpans/{ri}/scopeSpans/{si}/spans/{i}: {e}");
                let mut events = Vec::with_capacity(s.events.len());
                for e in s.events {
                    events.push(Event {
                        time_unix_nano: e.time_unix_nano,
                        name: e.name,
                        attributes: attrs(e.attributes),
                        dropped_attributes_count: e.dropped_attributes_count,
                    });
                }
                let mut links = Vec::with_capacity(s.links.len());
                for l in s.links {
                    links.push(Link {
                        trace_id: TraceId(
                            id(&l.trace_id, "link traceId")
                                .map_err(at)?
                                .unwrap_or_default(),
                        ),
                        span_id: SpanId(
                            id(&l.span_id, "link spanId")
                                .map_err(at)?
                                .unwrap_or_default(),
                        ),
                        trace_state: l.trace_state,
                        attributes: attrs(l.attributes),
                        dropped_attributes_count: l.dropped_attributes_count,
                        flags: l.flags,
                    });
                }
                let status = s.status.map(|st| Status {
                    code: StatusCode::from_i32(st.code),
                    message: st.message,
                });
                items.push(Span {
                    trace_id: TraceId(id(&s.trace_id, "traceId").map_err(at)?.unwrap_or_default()),
                    span_id: SpanId(id(&s.span_id, "spanId").map_err(at)?.unwrap_or_default()),
                    parent_span_id: id(&s.parent_span_id, "parentSpanId")
                        .map_err(at)?
                        .map(SpanId),
                    trace_state: s.trace_state,
                    flags: s.flags,
                    name: s.name,
                    kind: SpanKind::from_i32(s.kind),
                    start_time_unix_nano: s.start_time_unix_nano,
                    end_time_unix_nano: s.end_time_unix_nano,
                    attributes: attrs(s.attributes),
                    dropped_attributes_count: s.dropped_attributes_count,
                    events,
                    dropped_events_count: s.dropped_events_count,
                    links,
                    dropped_links_count: s.dropped_links_count,
                    status: status.unwrap_or_default(),
                });
            }
            scopes.push(ScopeBlock {
                scope: scope(ss.scope),
                schema_url: ss.schema_url,
                items,
            });
        }
        out.push(ResourceBlock {
            resource: resource(rs.resource),
            schema_url: rs.schema_url,
            scopes,
        });
    }
    Ok(out)
}

fn number_point(p: pb::metrics::v1::NumberDataPoint) -> DataPoint {
    use pb::metrics::v1::number_data_point::Value;
    let (as_int, as_double) = match p.value {
        Some(Value::AsInt(i)) => (Some(i), None),
        Some(Value::AsDouble(d)) => (None, Some(d)),
        None => (None, None),
    };
    DataPoint {
        attributes: attrs(p.attributes),
        start_time_unix_nano: p.start_time_unix_nano,
        time_unix_nano: p.time_unix_nano,
        as_int,
        as_double,
        flags: p.flags,
        ..DataPoint::default()
    }
}

fn buckets(
    b: Option<pb::metrics::v1::exponential_histogram_data_point::Buckets>,
) -> Option<ExpBuckets> {
    b.map(|b| ExpBuckets {
        offset: b.offset,
        bucket_counts: b.bucket_counts,
    })
}

/// A point of either histogram type: the fields both carry under the same names, then the
/// type's own (`{ field: value, ... }`). A macro because the two point types share no trait.
macro_rules! histogram_point {
    ($p:ident, { $($field:ident: $value:expr),* $(,)? }) => {
        DataPoint {
            attributes: attrs($p.attributes),
            start_time_unix_nano: $p.start_time_unix_nano,
            time_unix_nano: $p.time_unix_nano,
            count: $p.count,
            sum: $p.sum,
            min: $p.min,
            max: $p.max,
            flags: $p.flags,
            $($field: $value,)*
            ..DataPoint::default()
        }
    };
}

fn metric(m: pb::metrics::v1::Metric) -> Metric {
    use pb::metrics::v1::metric::Data;
    let (kind, temporality, points) = match m.data {
        None => (InstrumentKind::Empty, 0, Vec::new()),
        Some(Data::Gauge(g)) => (
            InstrumentKind::Gauge,
            0,
            g.data_points.into_iter().map(number_point).collect(),
        ),
        Some(Data::Sum(s)) => (
            if s.is_monotonic {
                InstrumentKind::Counter
            } else {
                InstrumentKind::UpDownCounter
            },
            s.aggregation_temporality,
            s.data_points.into_iter().map(number_point).collect(),
        ),
        Some(Data::Histogram(h)) => (
            InstrumentKind::Histogram,
            h.aggregation_temporality,
            h.data_points
                .into_iter()
                .map(|p| {
                    histogram_point!(p, {
                        bucket_counts: p.bucket_counts,
                        explicit_bounds: p.explicit_bounds,
                    })
                })
                .collect(),
        ),
        Some(Data::ExponentialHistogram(h)) => (
            InstrumentKind::ExponentialHistogram,
            h.aggregation_temporality,
            h.data_points
                .into_iter()
                .map(|p| {
                    histogram_point!(p, {
                        scale: p.scale,
                        zero_count: p.zero_count,
                        positive: buckets(p.positive),
                        negative: buckets(p.negative),
                    })
                })
                .collect(),
        ),
        Some(Data::Summary(s)) => (
            InstrumentKind::Summary,
            0,
            s.data_points
                .into_iter()
                .map(|p| DataPoint {
                    attributes: attrs(p.attributes),
                    start_time_unix_nano: p.start_time_unix_nano,
                    time_unix_nano: p.time_unix_nano,
                    count: p.count,
                    sum: Some(p.sum),
                    quantile_values: p
                        .quantile_values
                        .into_iter()
                        .map(|q| Quantile {
                            quantile: q.quantile,
                            value: q.value,
                        })
                        .collect(),
                    flags: p.flags,
                    ..DataPoint::default()
                })
                .collect(),
        ),
    };
    Metric {
        name: m.name,
        description: m.description,
        unit: m.unit,
        kind,
        temporality: Temporality::from_i32(temporality),
        points,
    }
}

fn metrics(
    m: pb::collector::metrics::v1::ExportMetricsServiceRequest,
) -> Vec<crate::model::ResourceMetrics> {
    m.resource_metrics
        .into_iter()
        .map(|rm| ResourceBlock {
            resource: resource(rm.resource),
            schema_url: rm.schema_url,
            scopes: rm
                .scope_metrics
                .into_iter()
                .map(|sm| ScopeBlock {
                    scope: scope(sm.scope),
                    schema_url: sm.schema_url,
                    items: sm.metrics.into_iter().map(metric).collect(),
                })
                .collect(),
        })
        .collect()
}

fn logs(
    m: pb::collector::logs::v1::ExportLogsServiceRequest,
) -> Result<Vec<crate::model::ResourceLogs>, String> {
    let mut out = Vec::with_capacity(m.resource_logs.len());
    for (ri, rl) in m.resource_logs.into_iter().enumerate() {
        let mut scopes = Vec::with_capacity(rl.scope_logs.len());
        for (si, sl) in rl.scope_logs.into_iter().enumerate() {
            let mut items = Vec::with_capacity(sl.log_records.len());
            for (i, l) in sl.log_records.into_iter().enumerate() {
                let at =
                    |e: String| format!("/resourceLogs/{ri}/scopeLogs/{si}/logRecords/{i}: {e}");
                items.push(LogRecord {
                    time_unix_nano: l.time_unix_nano,
                    observed_time_unix_nano: l.observed_time_unix_nano,
                    severity_number: l.severity_number,
                    severity_text: l.severity_text,
                    body: l.body.map(any).unwrap_or_default(),
                    attributes: attrs(l.attributes),
                    dropped_attributes_count: l.dropped_attributes_count,
                    flags: l.flags,
                    trace_id: id(&l.trace_id, "traceId").map_err(at)?.map(TraceId),
                    span_id: id(&l.span_id, "spanId").map_err(at)?.map(SpanId),
                    event_name: l.event_name,
                });
            }
            scopes.push(ScopeBlock {
                scope: scope(sl.scope),
                schema_url: sl.schema_url,
                items,
            });
        }
        out.push(ResourceBlock {
            resource: resource(rl.resource),
            schema_url: rl.schema_url,
            scopes,
        });
    }
    Ok(out)
}

/// Guesses the signal of a protobuf message: decodes it as each signal and keeps the first that
/// decodes and looks plausible (traces: 16-byte trace ids; metrics: every metric has data; logs:
/// at least one record).
pub fn sniff_signal(bytes: &[u8]) -> Option<Signal> {
    use pb::collector::{logs, metrics, trace};
    if let Ok(m) = trace::v1::ExportTraceServiceRequest::decode(bytes) {
        let mut spans = m
            .resource_spans
            .iter()
            .flat_map(|r| &r.scope_spans)
            .flat_map(|s| &s.spans)
            .peekable();
        if spans.peek().is_some() && spans.all(|s| s.trace_id.len() == 16 && s.span_id.len() == 8) {
            return Some(Signal::Traces);
        }
    }
    if let Ok(m) = metrics::v1::ExportMetricsServiceRequest::decode(bytes) {
        let mut ms = m
            .resource_metrics
            .iter()
            .flat_map(|r| &r.scope_metrics)
            .flat_map(|s| &s.metrics)
            .peekable();
        if ms.peek().is_some() && ms.all(|m| m.data.is_some() && !m.name.is_empty()) {
            return Some(Signal::Metrics);
        }
    }
    if let Ok(m) = logs::v1::ExportLogsServiceRequest::decode(bytes)
        && m.resource_logs
            .iter()
            .flat_map(|r| &r.scope_logs)
            .any(|s| !s.log_records.is_empty())
    {
        return Some(Signal::Logs);
    }
    None
}

/// Guesses the signal from a file name (`traces.pb`, `metrics.binpb`, `app-logs.pb`, ...).
pub fn signal_from_name(name: &str) -> Option<Signal> {
    let base = name
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or(name)
        .to_ascii_lowercase();
    if base.contains("trace") || base.contains("span") {
        Some(Signal::Traces)
    } else if base.contains("metric") {
        Some(Signal::Metrics)
    } else if base.contains("log") || base.contains("event") {
        Some(Signal::Logs)
    } else {
        None
    }
}

/// How messages are delimited in a protobuf file (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// The whole input is one message.
    Single,
    /// Each message is preceded by a varint length.
    Varint,
    /// Each message is preceded by a 4-byte big-endian length.
    BigEndianU32,
}

/// Streams batches from a protobuf file.
pub struct ProtoReader<R> {
    src: R,
    file: Arc<str>,
    signal: Option<Signal>,
    framing: Framing,
    limit: usize,
    offset: u64,
    buf: Vec<u8>,
    gzip: bool,
    done: bool,
    /// The file starts `0x0A 0x0A`: single message or varint frames.
    ambiguous: bool,
    /// Varint frames split out of a whole file read for an ambiguous start.
    split: Option<std::vec::IntoIter<(usize, usize)>>,
}

/// The framing of a protobuf file from its first bytes, and whether it is ambiguous
/// (`0x0A 0x0A`).
pub(crate) fn detect_framing(head: &[u8]) -> (Framing, bool) {
    match head {
        [0, ..] => (Framing::BigEndianU32, false),
        [0x0A, 0x0A, ..] => (Framing::Single, true),
        [0x0A, ..] | [] => (Framing::Single, false),
        _ => (Framing::Varint, false),
    }
}

/// Splits `buf` into varint-delimited frames, `None` unless they cover it exactly.
fn split_varint(buf: &[u8]) -> Option<Vec<(usize, usize)>> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < buf.len() {
        let mut v: u64 = 0;
        let mut shift = 0;
        loop {
            let b = *buf.get(pos)?;
            pos += 1;
            if shift > 63 {
                return None;
            }
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                break;
            }
            shift += 7;
        }
        let end = pos.checked_add(usize::try_from(v).ok()?)?;
        if end > buf.len() {
            return None;
        }
        out.push((pos, end));
        pos = end;
    }
    Some(out)
}

impl<R: BufRead> ProtoReader<R> {
    /// Reads from `src` with a known or detected framing; `signal` `None` means guess it from
    /// `file` or the first message.
    pub fn new(mut src: R, file: &str, signal: Option<Signal>, limit: usize) -> Result<Self> {
        let file: Arc<str> = Arc::from(file);
        let head = src.fill_buf().map_err(|e| Error::io(&file, e, 0))?;
        let (framing, ambiguous) = detect_framing(head);
        let mut r = Self::with_framing(src, file, signal, framing, limit, false);
        r.ambiguous = ambiguous;
        Ok(r)
    }

    pub(crate) fn with_framing(
        src: R,
        file: Arc<str>,
        signal: Option<Signal>,
        framing: Framing,
        limit: usize,
        gzip: bool,
    ) -> Self {
        ProtoReader {
            signal: signal.or_else(|| signal_from_name(&file)),
            src,
            file,
            framing,
            limit,
            offset: 0,
            buf: Vec::new(),
            gzip,
            done: false,
            ambiguous: false,
            split: None,
        }
    }

    pub(crate) fn set_ambiguous(&mut self, ambiguous: bool) {
        self.ambiguous = ambiguous;
    }

    /// The framing in use.
    pub fn framing(&self) -> Framing {
        self.framing
    }

    fn too_large(&self, at: u64, len: u64) -> Error {
        self.err(
            ErrorKind::TooLarge,
            at,
            format!(
                "protobuf message of {len} bytes is over the batch limit of {} bytes: raise the limit (max batch size), or the length prefix is corrupt",
                self.limit
            ),
        )
    }

    /// Reads the next frame into `self.buf`; `Ok(false)` at a clean end of input.
    fn next_frame(&mut self) -> Result<bool> {
        let start = self.offset;
        let len: u64 = match self.framing {
            Framing::Single => {
                self.done = true;
                self.buf.clear();
                let fits = crate::io::read_bounded(&mut self.src, &mut self.buf, self.limit)
                    .map_err(|e| Error::io(&self.file, e, start))?;
                if !fits {
                    return Err(self.too_large(start, self.buf.len() as u64));
                }
                self.offset += self.buf.len() as u64;
                return Ok(start == 0 || !self.buf.is_empty());
            }
            Framing::BigEndianU32 => {
                let mut p = [0u8; 4];
                match read_exact_or_eof(&mut self.src, &mut p)
                    .map_err(|e| Error::io(&self.file, e, start))?
                {
                    0 => return Ok(false),
                    4 => {}
                    n => {
                        return Err(self.err(
                            ErrorKind::Protobuf,
                            start + n as u64,
                            "truncated 4-byte length prefix at the end of the file: the file was cut short; re-export it",
                        ));
                    }
                }
                self.offset += 4;
                u64::from(u32::from_be_bytes(p))
            }
            Framing::Varint => {
                let mut v: u64 = 0;
                let mut shift = 0;
                loop {
                    let mut b = [0u8; 1];
                    let n = read_exact_or_eof(&mut self.src, &mut b)
                        .map_err(|e| Error::io(&self.file, e, self.offset))?;
                    if n == 0 {
                        if shift == 0 {
                            return Ok(false);
                        }
                        return Err(self.err(
                            ErrorKind::Protobuf,
                            self.offset,
                            "truncated varint length prefix at the end of the file: the file was cut short; re-export it",
                        ));
                    }
                    self.offset += 1;
                    if shift >= 63 && b[0] > 1 {
                        return Err(self.err(
                            ErrorKind::Protobuf,
                            start,
                            "invalid varint length prefix: the file is not length-delimited OTLP protobuf",
                        ));
                    }
                    v |= u64::from(b[0] & 0x7f) << shift;
                    if b[0] & 0x80 == 0 {
                        break;
                    }
                    shift += 7;
                }
                v
            }
        };
        if len > self.limit as u64 {
            return Err(self.too_large(start, len));
        }
        self.buf.clear();
        // Grows with the data actually present, so a lying length cannot allocate much.
        let got = (&mut self.src)
            .take(len)
            .read_to_end(&mut self.buf)
            .map_err(|e| Error::io(&self.file, e, self.offset))?;
        self.offset += got as u64;
        if (got as u64) < len {
            return Err(self.err(
                ErrorKind::Protobuf,
                self.offset,
                format!(
                    "truncated message: the length prefix at byte {start} announces {len} bytes but only {got} follow; the file was cut short or is not length-delimited"
                ),
            ));
        }
        Ok(true)
    }
}

fn read_exact_or_eof<R: Read>(r: &mut R, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

impl<R: BufRead> Iterator for ProtoReader<R> {
    type Item = Result<Batch>;

    fn next(&mut self) -> Option<Result<Batch>> {
        if let Some(frames) = &mut self.split {
            let (start, end) = frames.next()?;
            let signal = self.signal.or_else(|| sniff_signal(&self.buf[start..end]));
            let Some(signal) = signal else {
                self.split = None;
                return Some(Err(self.unknown_signal(start as u64)));
            };
            self.signal = Some(signal);
            return Some(
                decode_payload(signal, &self.buf[start..end])
                    .map(|p| self.batch(start as u64, p))
                    .map_err(|m| self.err(ErrorKind::Protobuf, start as u64, m)),
            );
        }
        if self.done {
            return None;
        }
        let frame_start = self.offset;
        match self.next_frame() {
            Ok(false) => {
                self.done = true;
                return None;
            }
            Ok(true) => {}
            Err(e) => {
                self.done = true;
                return Some(Err(e));
            }
        }
        let payload_start = self.offset - self.buf.len() as u64;
        let signal = match self.signal.or_else(|| sniff_signal(&self.buf)) {
            Some(s) => s,
            None if self.buf.is_empty() => {
                return Some(Ok(self.batch(frame_start, Payload::Empty)));
            }
            None => {
                if let Some(r) = self.try_split() {
                    return r;
                }
                self.done = true;
                return Some(Err(self.unknown_signal(payload_start)));
            }
        };
        self.signal = Some(signal);
        match decode_payload(signal, &self.buf) {
            Ok(p) => Some(Ok(self.batch(frame_start, p))),
            Err(m) => {
                if let Some(r) = self.try_split() {
                    return r;
                }
                if self.framing == Framing::Single {
                    self.done = true;
                }
                Some(Err(self.err(ErrorKind::Protobuf, payload_start, m)))
            }
        }
    }
}

impl<R: BufRead> ProtoReader<R> {
    /// For an ambiguous start that did not decode as one message: serve varint frames instead.
    fn try_split(&mut self) -> Option<Option<Result<Batch>>> {
        if !self.ambiguous || self.framing != Framing::Single {
            return None;
        }
        self.ambiguous = false;
        let frames = split_varint(&self.buf)?;
        self.framing = Framing::Varint;
        self.split = Some(frames.into_iter());
        Some(self.next())
    }
}

impl<R> ProtoReader<R> {
    fn err(&self, kind: ErrorKind, at: u64, msg: impl Into<String>) -> Error {
        Error::new(kind, &self.file, msg).at_offset(at)
    }

    fn unknown_signal(&self, at: u64) -> Error {
        Error::new(
            ErrorKind::UnknownFormat,
            &self.file,
            "cannot tell whether this protobuf holds traces, metrics or logs: name the file after its signal (traces.pb, metrics.pb, logs.pb) or pass the signal explicitly",
        )
        .at_offset(at)
    }

    fn batch(&self, start: u64, payload: Payload) -> Batch {
        Batch::new(
            Origin {
                file: Arc::clone(&self.file),
                line: None,
                byte_offset: start,
                format: Format::OtlpProtobuf,
                gzip: self.gzip,
            },
            payload,
        )
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use pb::collector::trace::v1::ExportTraceServiceRequest;
    use pb::common::v1::{AnyValue as PAny, KeyValue as PKv, any_value::Value};
    use pb::trace::v1::{ResourceSpans, ScopeSpans, Span as PSpan};

    pub(crate) fn sample_trace(name: &str) -> ExportTraceServiceRequest {
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans: vec![PSpan {
                        trace_id: vec![1; 16],
                        span_id: vec![2; 8],
                        name: name.into(),
                        kind: 3,
                        attributes: vec![PKv {
                            key: "k".into(),
                            value: Some(PAny {
                                value: Some(Value::IntValue(7)),
                            }),
                            key_strindex: 0,
                        }],
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
    }

    #[test]
    fn decodes_body() {
        let bytes = sample_trace("a").encode_to_vec();
        assert_eq!(sniff_signal(&bytes), Some(Signal::Traces));
        let b = decode_proto(Signal::Traces, "body", &bytes).unwrap();
        let s = b.spans().next().unwrap();
        assert_eq!(s.item.name, "a");
        assert_eq!(s.item.kind, SpanKind::Client);
        assert_eq!(s.item.attributes[0].value, AnyValue::Int(7));
        assert_eq!(s.item.parent_span_id, None);
    }

    #[test]
    fn bad_id_length() {
        let mut m = sample_trace("a");
        m.resource_spans[0].scope_spans[0].spans[0].trace_id = vec![1; 3];
        let e = decode_proto(Signal::Traces, "body", &m.encode_to_vec()).unwrap_err();
        assert!(e.message.contains("traceId has 3 bytes"), "{e}");
    }

    #[test]
    fn framings() {
        let a = sample_trace("a");
        let b = sample_trace("b");
        let mut varint = Vec::new();
        a.encode_length_delimited(&mut varint).unwrap();
        b.encode_length_delimited(&mut varint).unwrap();
        let mut be = Vec::new();
        for m in [&a, &b] {
            let bytes = m.encode_to_vec();
            be.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
            be.extend_from_slice(&bytes);
        }
        for (data, framing) in [(varint, Framing::Varint), (be, Framing::BigEndianU32)] {
            let r = ProtoReader::new(&data[..], "x.pb", None, 1 << 20).unwrap();
            assert_eq!(r.framing(), framing);
            let names: Vec<String> = r
                .map(|b| b.unwrap().spans().next().unwrap().item.name.clone())
                .collect();
            assert_eq!(names, ["a", "b"]);
        }
        let single = a.encode_to_vec();
        let r = ProtoReader::new(&single[..], "x.pb", None, 1 << 20).unwrap();
        assert_eq!(r.framing(), Framing::Single);
        assert_eq!(r.count(), 1);
    }

    #[test]
    fn truncated_and_lying_lengths() {
        let mut data = Vec::new();
        sample_trace("a")
            .encode_length_delimited(&mut data)
            .unwrap();
        data.truncate(data.len() - 3);
        let out: Vec<_> = ProtoReader::new(&data[..], "x.pb", None, 1 << 20)
            .unwrap()
            .collect();
        assert!(out[0].as_ref().unwrap_err().message.contains("truncated"));
        let lying = [0x00, 0xff, 0xff, 0xff, 0x0a];
        let out: Vec<_> = ProtoReader::new(&lying[..], "x.pb", None, 1 << 20)
            .unwrap()
            .collect();
        assert_eq!(out[0].as_ref().unwrap_err().kind, ErrorKind::TooLarge);
    }
}
