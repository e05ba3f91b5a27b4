//! OTLP JSON: the JSON-lines reader (one `Export*ServiceRequest` per line, as the Collector `file`
//! exporter and the Python `opentelemetry-exporter-otlp-json-file` write), the document reader
//! (one pretty-printed request, or several concatenated) and the request envelope that picks the
//! signal. The model's own `Deserialize` impls (with the scalar helpers in `de.rs`) do the rest.
//!
//! Parsing goes straight from the input bytes into the compact model with `serde_json`, with no
//! intermediate `Value`. Its recursion limit (128) stays on. JSON lines are read one at a time
//! into a reused buffer, so memory is bounded by the longest line, and a line over the batch
//! limit is skipped with an error instead of being buffered.

use std::io::BufRead;
use std::sync::Arc;

use serde::Deserialize;
use serde::de::{self as sde, IgnoredAny, MapAccess, Visitor};

use crate::de;
use crate::error::{Error, ErrorKind, Result};
use crate::io::{LineRead, read_line_bounded};
use crate::model::{Batch, Format, KeyStyle, Origin, Payload};

pub(crate) enum TopKey {
    Spans(KeyStyle),
    Metrics(KeyStyle),
    Logs(KeyStyle),
    Other,
}

impl<'de> Deserialize<'de> for TopKey {
    fn deserialize<D: sde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        de::key(d, "a key of an OTLP export request", |v| {
            use KeyStyle::*;
            match v {
                "resourceSpans" => TopKey::Spans(CamelCase),
                "resource_spans" => TopKey::Spans(SnakeCase),
                "resourceMetrics" => TopKey::Metrics(CamelCase),
                "resource_metrics" => TopKey::Metrics(SnakeCase),
                "resourceLogs" => TopKey::Logs(CamelCase),
                "resource_logs" => TopKey::Logs(SnakeCase),
                _ => TopKey::Other,
            }
        })
    }
}

/// One `Export{Trace,Metrics,Logs}ServiceRequest`, signal detected from its top-level key.
pub(crate) struct Request {
    pub payload: Payload,
    pub style: KeyStyle,
}

impl<'de> Deserialize<'de> for Request {
    fn deserialize<D: sde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Request;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(
                    "an OTLP export request object with resourceSpans, resourceMetrics or resourceLogs",
                )
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Request, A::Error> {
                let mut out = Request {
                    payload: Payload::Empty,
                    style: KeyStyle::CamelCase,
                };
                while let Some(key) = map.next_key::<TopKey>()? {
                    let (payload, style) = match key {
                        TopKey::Spans(s) => (Payload::Traces(map.next_value()?), s),
                        TopKey::Metrics(s) => (Payload::Metrics(map.next_value()?), s),
                        TopKey::Logs(s) => (Payload::Logs(map.next_value()?), s),
                        TopKey::Other => {
                            map.next_value::<IgnoredAny>()?;
                            continue;
                        }
                    };
                    if !matches!(out.payload, Payload::Empty) {
                        return Err(sde::Error::custom(
                            "an export request holds more than one of resourceSpans, resourceMetrics and resourceLogs: write one signal per request",
                        ));
                    }
                    out = Request { payload, style };
                }
                Ok(out)
            }
        }
        d.deserialize_map(V)
    }
}

/// Converts a `serde_json` error on a slice that starts at 1-based `line`, `column` of the file.
pub(crate) fn json_error(
    file: &Arc<str>,
    err: serde_json::Error,
    line: u64,
    column: u64,
    offset: u64,
) -> Error {
    let kind = match err.classify() {
        serde_json::error::Category::Data => ErrorKind::Invalid,
        serde_json::error::Category::Io => ErrorKind::Io,
        _ => ErrorKind::Syntax,
    };
    let (el, ec) = (err.line() as u64, err.column() as u64);
    let full = err.to_string();
    let msg = full
        .strip_suffix(&format!(" at line {el} column {ec}"))
        .unwrap_or(&full);
    let hint = match err.classify() {
        serde_json::error::Category::Eof => {
            "; the JSON is truncated: check that the exporter flushed and closed the file"
        }
        serde_json::error::Category::Syntax => {
            if msg.contains("recursion limit") {
                "; the value nests deeper than 128 levels: flatten the attribute values"
            } else {
                "; the input is not valid JSON: check that the file is OTLP JSON and not corrupted"
            }
        }
        serde_json::error::Category::Data => {
            "; fix the producer so it writes valid OTLP JSON (see the OTLP JSON mapping)"
        }
        serde_json::error::Category::Io => "",
    };
    let (l, c) = if el <= 1 {
        (line, column + ec.saturating_sub(1))
    } else {
        (line + el - 1, ec)
    };
    Error::new(kind, file, format!("{msg}{hint}"))
        .at_line(l, c.max(1))
        .at_offset(offset)
        .with_source(err)
}

/// Parses one OTLP JSON export request (e.g. an OTLP/HTTP request body with
/// `Content-Type: application/json`). `name` names the source in errors and the origin.
pub fn decode_json(name: &str, body: &[u8]) -> Result<Batch> {
    let file: Arc<str> = Arc::from(name);
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let req: Request = serde_json::from_slice(body).map_err(|e| json_error(&file, e, 1, 1, 0))?;
    Ok(Batch {
        origin: Origin {
            file,
            line: Some(1),
            byte_offset: 0,
            format: Format::OtlpJsonDocument,
            gzip: false,
        },
        key_style: req.style,
        payload: req.payload,
        prometheus: None,
    })
}

fn is_blank(b: &[u8]) -> bool {
    b.iter().all(|c| matches!(c, b' ' | b'\t' | b'\r' | b'\n'))
}

/// Streams batches from OTLP JSON lines: one export request per line, blank lines skipped.
/// A bad line yields an error and reading goes on with the next line.
pub struct JsonLinesReader<R> {
    src: R,
    buf: Vec<u8>,
    file: Arc<str>,
    line: u64,
    offset: u64,
    limit: usize,
    gzip: bool,
    failed_io: bool,
}

impl<R: BufRead> JsonLinesReader<R> {
    /// Reads from `src`; `file` names it in origins and errors; lines over `limit` bytes are
    /// rejected.
    pub fn new(src: R, file: &str, limit: usize) -> Self {
        Self::with_file(src, Arc::from(file), limit, false)
    }

    /// Marks the first line (of `consumed` bytes) as already read and rejected.
    pub(crate) fn skip_first_line(&mut self, consumed: u64) {
        self.line = 1;
        self.offset = consumed;
    }

    pub(crate) fn with_file(src: R, file: Arc<str>, limit: usize, gzip: bool) -> Self {
        JsonLinesReader {
            src,
            buf: Vec::new(),
            file,
            line: 0,
            offset: 0,
            limit,
            gzip,
            failed_io: false,
        }
    }
}

impl<R: BufRead> JsonLinesReader<R> {
    /// The next request, undecoded: its line's bytes and where it is (blank lines skipped). A
    /// read error ends the input; a line over the limit is an error and reading goes on.
    pub fn next_request(&mut self) -> Option<Result<JsonRequest<'_>>> {
        if self.failed_io {
            return None;
        }
        let (start, from) = loop {
            let start = self.offset;
            let read = match read_line_bounded(&mut self.src, &mut self.buf, self.limit) {
                Ok(r) => r,
                Err(e) => {
                    self.failed_io = true;
                    return Some(Err(Error::io(&self.file, e, start)));
                }
            };
            self.line += 1;
            match read {
                LineRead::Eof => return None,
                LineRead::TooLong(n) => {
                    self.offset += n;
                    return Some(Err(Error::new(
                        ErrorKind::TooLarge,
                        &self.file,
                        format!(
                            "line is over the batch limit of {} bytes; it was skipped: raise the limit (max batch size) or export smaller batches",
                            self.limit
                        ),
                    )
                    .at_line(self.line, 1)
                    .at_offset(start)));
                }
                LineRead::Line(n) => {
                    self.offset += n as u64;
                    let from = if self.line == 1 && self.buf.starts_with(b"\xEF\xBB\xBF") {
                        3
                    } else {
                        0
                    };
                    if !is_blank(&self.buf[from..]) {
                        break (start, from);
                    }
                }
            }
        };
        Some(Ok(JsonRequest {
            bytes: &self.buf[from..],
            file: &self.file,
            line: self.line,
            offset: start,
            gzip: self.gzip,
        }))
    }
}

impl<R: BufRead> Iterator for JsonLinesReader<R> {
    type Item = Result<Batch>;

    fn next(&mut self) -> Option<Result<Batch>> {
        Some(self.next_request()?.and_then(|req| req.decode()))
    }
}

/// One OTLP JSON export request as read, not yet decoded: a line of a JSON-lines input. Decode
/// it into a [`Batch`] ([`JsonRequest::decode`]) or hand its spans to a
/// [`SpanViewSink`](crate::spanview::SpanViewSink) without building one
/// ([`JsonRequest::decode_spans`], in [`crate::spanview`]); either locates its
/// errors in the file.
#[derive(Clone, Copy, Debug)]
pub struct JsonRequest<'a> {
    /// The request's bytes (no byte-order mark).
    pub bytes: &'a [u8],
    /// The input's name.
    pub file: &'a Arc<str>,
    /// 1-based line where it starts.
    pub line: u64,
    /// Byte offset where it starts in the (decompressed) input.
    pub offset: u64,
    /// Whether the input was gzip-compressed.
    pub gzip: bool,
}

impl JsonRequest<'_> {
    /// Where the request came from, as its batch would say.
    pub fn origin(&self) -> Origin {
        Origin {
            file: Arc::clone(self.file),
            line: Some(self.line),
            byte_offset: self.offset,
            format: Format::OtlpJsonLines,
            gzip: self.gzip,
        }
    }

    /// Decodes the request into a batch.
    pub fn decode(&self) -> Result<Batch> {
        match serde_json::from_slice::<Request>(self.bytes) {
            Ok(req) => Ok(Batch {
                origin: self.origin(),
                key_style: req.style,
                payload: req.payload,
                prometheus: None,
            }),
            Err(e) => Err(json_error(self.file, e, self.line, 1, self.offset)),
        }
    }
}

/// Batches from an OTLP JSON document read into memory (bounded by the batch limit): one
/// pretty-printed request, or several requests one after the other.
pub struct JsonDocumentReader {
    buf: Vec<u8>,
    pos: usize,
    line: u64,
    line_start: usize,
    file: Arc<str>,
    gzip: bool,
    done: bool,
    pending: Option<Error>,
}

impl JsonDocumentReader {
    /// Reads the whole document from `src`, failing if it is over `limit` bytes.
    pub fn new<R: std::io::Read>(src: R, file: &str, limit: usize) -> Self {
        Self::with_file(src, Arc::from(file), limit, false)
    }

    pub(crate) fn with_file<R: std::io::Read>(
        src: R,
        file: Arc<str>,
        limit: usize,
        gzip: bool,
    ) -> Self {
        let mut buf = Vec::new();
        let mut pending = None;
        match crate::io::read_bounded(src, &mut buf, limit) {
            Ok(true) => {}
            Ok(false) => {
                pending = Some(
                    Error::new(
                        ErrorKind::TooLarge,
                        &file,
                        format!(
                            "the JSON document is over the batch limit of {limit} bytes: raise the limit (max batch size) or write JSON lines (one request per line) instead"
                        ),
                    )
                    .at_line(1, 1),
                );
            }
            Err(e) => pending = Some(Error::io(&file, e, buf.len() as u64)),
        }
        let pos = if buf.starts_with(b"\xEF\xBB\xBF") {
            3
        } else {
            0
        };
        JsonDocumentReader {
            buf,
            pos,
            line: 1,
            line_start: 0,
            file,
            gzip,
            done: false,
            pending,
        }
    }

    fn advance_to(&mut self, to: usize) {
        let seg = &self.buf[self.pos..to];
        for nl in memchr::memchr_iter(b'\n', seg) {
            self.line += 1;
            self.line_start = self.pos + nl + 1;
        }
        self.pos = to;
    }
}

impl Iterator for JsonDocumentReader {
    type Item = Result<Batch>;

    fn next(&mut self) -> Option<Result<Batch>> {
        if let Some(e) = self.pending.take() {
            self.done = true;
            return Some(Err(e));
        }
        if self.done {
            return None;
        }
        let ws = self.buf[self.pos..]
            .iter()
            .position(|c| !matches!(c, b' ' | b'\t' | b'\r' | b'\n'))
            .unwrap_or(self.buf.len() - self.pos);
        self.advance_to(self.pos + ws);
        if self.pos >= self.buf.len() {
            self.done = true;
            return None;
        }
        let start = self.pos;
        let (line, column) = (self.line, (start - self.line_start) as u64 + 1);
        let mut stream =
            serde_json::Deserializer::from_slice(&self.buf[start..]).into_iter::<Request>();
        let res = stream.next()?;
        let consumed = stream.byte_offset();
        match res {
            Ok(req) => {
                self.advance_to(start + consumed);
                Some(Ok(Batch {
                    origin: Origin {
                        file: Arc::clone(&self.file),
                        line: Some(line),
                        byte_offset: start as u64,
                        format: Format::OtlpJsonDocument,
                        gzip: self.gzip,
                    },
                    key_style: req.style,
                    payload: req.payload,
                    prometheus: None,
                }))
            }
            Err(e) => {
                self.done = true;
                Some(Err(json_error(&self.file, e, line, column, start as u64)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::de;
    use crate::model::{AnyValue, SpanKind, StatusCode, Temporality};

    const LINE: &str = r#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]},"scopeSpans":[{"scope":{"name":"lib"},"spans":[{"traceId":"5B8EFFF798038103D269B633813FC60C","spanId":"EEE19B7EC3C1B174","parentSpanId":"","name":"GET /","kind":"SPAN_KIND_SERVER","startTimeUnixNano":"1544712660000000000","endTimeUnixNano":1544712661000000000,"attributes":[{"key":"i","value":{"intValue":"42"}},{"key":"d","value":{"doubleValue":"NaN"}},{"key":"a","value":{"arrayValue":{"values":[{"boolValue":true}]}}},{"key":"b","value":{"bytesValue":"AQI="}}],"status":{"code":"STATUS_CODE_ERROR","message":"boom"}}]}]}]}"#;

    #[test]
    fn parses_a_line() {
        let b = decode_json("x", LINE.as_bytes()).unwrap();
        let s = b.spans().next().unwrap();
        assert_eq!(s.item.name, "GET /");
        assert_eq!(s.item.kind, SpanKind::Server);
        assert_eq!(
            s.item.trace_id.to_string(),
            "5b8efff798038103d269b633813fc60c"
        );
        assert_eq!(s.item.parent_span_id, None);
        assert_eq!(s.item.end_time_unix_nano, 1544712661000000000);
        assert_eq!(s.item.status.code, StatusCode::Error);
        assert_eq!(s.item.attributes[0].value, AnyValue::Int(42));
        assert!(matches!(s.item.attributes[1].value, AnyValue::Double(d) if d.is_nan()));
        assert_eq!(
            s.item.attributes[2].value,
            AnyValue::Array(vec![AnyValue::Bool(true)])
        );
        assert_eq!(s.item.attributes[3].value, AnyValue::Bytes(vec![1, 2]));
        assert_eq!(s.resource.attributes[0].value.as_str(), Some("svc"));
    }

    #[test]
    fn snake_case_and_base64_ids() {
        let doc = r#"{"resource_spans":[{"scope_spans":[{"spans":[{"trace_id":"W47/95gDgQPSabYzgT/GDA==","span_id":"7uGbfsPBsXQ=","kind":3}]}]}]}"#;
        let b = decode_json("x", doc.as_bytes()).unwrap();
        assert_eq!(b.key_style, KeyStyle::SnakeCase);
        let s = b.spans().next().unwrap();
        assert_eq!(
            s.item.trace_id.to_string(),
            "5b8efff798038103d269b633813fc60c"
        );
        assert_eq!(s.item.span_id.to_string(), "eee19b7ec3c1b174");
        assert_eq!(s.pointer(), "/resource_spans/0/scope_spans/0/spans/0");
    }

    #[test]
    fn bad_ids_are_located() {
        let doc = "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":\"zz\"}]}]}]}";
        let e = decode_json("f.json", doc.as_bytes()).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Invalid);
        assert_eq!(e.line, Some(1));
        assert!(e.message.contains("invalid trace id"), "{e}");
        let long = format!(
            "{{\"resourceSpans\":[{{\"scopeSpans\":[{{\"spans\":[{{\"spanId\":\"{}\"}}]}}]}}]}}",
            "a".repeat(10_000)
        );
        let e = decode_json("f.json", long.as_bytes()).unwrap_err();
        assert!(e.message.len() < 400, "{e}");
    }

    #[test]
    fn lines_reader_positions_and_resync() {
        let input = format!("{LINE}\n\n{{oops\n{LINE}\n");
        let r = JsonLinesReader::new(input.as_bytes(), "t.jsonl", 1 << 20);
        let out: Vec<_> = r.collect();
        assert_eq!(out.len(), 3);
        assert_eq!(out[0].as_ref().unwrap().origin.line, Some(1));
        let e = out[1].as_ref().unwrap_err();
        assert_eq!((e.line, e.kind), (Some(3), ErrorKind::Syntax));
        let b = out[2].as_ref().unwrap();
        assert_eq!(b.origin.line, Some(4));
        assert_eq!(b.origin.byte_offset as usize, LINE.len() + 1 + 1 + 6);
    }

    #[test]
    fn too_long_line_is_skipped() {
        let input = format!("{LINE}\n{LINE}\n");
        let r = JsonLinesReader::new(input.as_bytes(), "t.jsonl", 100);
        let out: Vec<_> = r.collect();
        assert_eq!(out.len(), 2);
        assert!(
            out.iter()
                .all(|r| r.as_ref().unwrap_err().kind == ErrorKind::TooLarge)
        );
    }

    #[test]
    fn document_reader_handles_concatenated_documents() {
        let input = format!("\n  {LINE}\n{{\n}}\n{LINE}");
        let out: Vec<_> = JsonDocumentReader::new(input.as_bytes(), "d.json", 1 << 20)
            .collect::<Result<_>>()
            .unwrap();
        assert_eq!(out.len(), 3);
        assert_eq!(out[0].origin.line, Some(2));
        assert_eq!(out[1].payload, Payload::Empty);
        assert_eq!(out[1].origin.line, Some(3));
        assert_eq!(out[2].origin.line, Some(5));
    }

    #[test]
    fn document_error_position_is_absolute() {
        let input = "{\n  \"resourceSpans\": [\n    {\"scopeSpans\": 5}\n  ]\n}\n";
        let e = JsonDocumentReader::new(input.as_bytes(), "d.json", 1 << 20)
            .next()
            .unwrap()
            .unwrap_err();
        assert_eq!(e.line, Some(3), "{e}");
    }

    #[test]
    fn deep_nesting_is_an_error() {
        let mut s = String::from("{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"body\":");
        for _ in 0..200 {
            s.push_str("{\"arrayValue\":{\"values\":[");
        }
        let e = decode_json("deep", s.as_bytes()).unwrap_err();
        assert!(e.message.contains("recursion limit"), "{e}");
    }

    #[test]
    fn mixed_signals_rejected() {
        let e = decode_json("m", br#"{"resourceSpans":[],"resourceLogs":[]}"#).unwrap_err();
        assert!(e.message.contains("one signal"), "{e}");
    }

    #[test]
    fn metrics_kinds() {
        let doc = r#"{"resourceMetrics":[{"scopeMetrics":[{"metrics":[
            {"name":"c","sum":{"isMonotonic":true,"aggregationTemporality":"AGGREGATION_TEMPORALITY_CUMULATIVE","dataPoints":[{"asInt":"3"}]}},
            {"name":"u","sum":{"aggregationTemporality":1,"dataPoints":[{"asDouble":1.5}]}},
            {"name":"h","histogram":{"dataPoints":[{"count":"3","sum":6,"bucketCounts":["1","2"],"explicitBounds":[5]}]}},
            {"name":"g","gauge":{"dataPoints":[{"asDouble":"Infinity"}]}},
            {"name":"e","exponential_histogram":{"dataPoints":[{"scale":2,"positive":{"offset":-1,"bucketCounts":[1]}}]}},
            {"name":"s","summary":{"dataPoints":[{"quantileValues":[{"quantile":0.5,"value":2}]}]}},
            {"name":"n"}
        ]}]}]}"#;
        let b = decode_json("m", doc.as_bytes()).unwrap();
        let ms: Vec<_> = b.metrics().collect();
        let kinds: Vec<_> = ms.iter().map(|m| m.item.kind.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "counter",
                "updown_counter",
                "histogram",
                "gauge",
                "exponential_histogram",
                "summary",
                "empty"
            ]
        );
        assert_eq!(ms[0].item.temporality, Temporality::Cumulative);
        assert_eq!(ms[0].item.points[0].number(), Some(3.0));
        assert_eq!(ms[2].item.points[0].bucket_counts, [1, 2]);
        assert_eq!(ms[2].item.points[0].explicit_bounds, [5.0]);
        assert_eq!(ms[2].item.points[0].count, 3);
        assert_eq!(
            ms[2].point_pointer(0),
            "/resourceMetrics/0/scopeMetrics/0/metrics/2/histogram/dataPoints/0"
        );
        assert_eq!(ms[4].item.points[0].positive.as_ref().unwrap().offset, -1);
        assert_eq!(ms[5].item.points[0].quantile_values[0].value, 2.0);
    }

    #[test]
    fn base64() {
        assert_eq!(de::base64_decode("AQI=").unwrap(), [1, 2]);
        assert_eq!(de::base64_decode("AQI").unwrap(), [1, 2]);
        assert!(de::base64_decode("A").is_none());
        assert!(de::base64_decode("A*").is_none());
    }
}
