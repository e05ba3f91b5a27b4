//! Opening inputs: file, stdin (`-`), `http://` scrape or any `Read`; gzip detection by magic
//! bytes; format detection from content; and [`TelemetryReader`], the one streaming iterator of
//! batches over every format.
//!
//! Detection looks at the first bytes of the (decompressed) input:
//! `1f 8b` is gzip; `{` (after optional whitespace, with UTF-8 text) is OTLP JSON, as JSON lines
//! if the first line is a complete JSON value and as a document otherwise; `#` or a metric-name
//! line is Prometheus/OpenMetrics text; anything else is OTLP protobuf (see [`crate::proto`] for
//! framings). [`ReadOptions::format`] overrides detection.

use std::fs::File;
use std::io::{BufRead, BufReader, Cursor, Read};
use std::sync::Arc;
use std::time::Duration;

use crate::error::{Error, ErrorKind, Result};
use crate::io::{LineRead, read_bounded, read_line_bounded};
use crate::json::{JsonDocumentReader, JsonLinesReader, JsonRequest};
use crate::model::{Batch, Format, Signal};
use crate::prometheus;
use crate::proto::{ProtoReader, detect_framing};

/// Default limit on one batch (a JSON line, a document, a protobuf message, an exposition).
pub const DEFAULT_MAX_BATCH_BYTES: usize = 64 << 20;

const PEEK: usize = 4096;
const BUF: usize = 64 * 1024;

type Src = Box<dyn BufRead + Send>;

/// Options for opening inputs.
#[derive(Clone, Debug)]
pub struct ReadOptions {
    /// Largest batch accepted, in bytes (default [`DEFAULT_MAX_BATCH_BYTES`]).
    pub max_batch_bytes: usize,
    /// Force a format instead of detecting it.
    pub format: Option<Format>,
    /// The signal of protobuf input, instead of guessing it from the file name or content.
    pub signal: Option<Signal>,
    /// Connect/read timeout of `http://` scrapes.
    pub scrape_timeout: Duration,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            max_batch_bytes: DEFAULT_MAX_BATCH_BYTES,
            format: None,
            signal: None,
            scrape_timeout: Duration::from_secs(10),
        }
    }
}

/// Opens `path` with default options: a file, `-` for stdin, or an `http://` URL to scrape.
pub fn open(path: &str) -> Result<TelemetryReader> {
    ReadOptions::default().open(path)
}

/// Reads from any `Read` with default options; `name` names it in origins and errors.
pub fn from_reader<R: Read + Send + 'static>(name: &str, src: R) -> Result<TelemetryReader> {
    ReadOptions::default().read(name, src)
}

enum Inner {
    Lines(JsonLinesReader<Src>),
    Doc(JsonDocumentReader),
    Proto(ProtoReader<Src>),
    Prom(Option<Src>),
    Done(Option<Batch>),
}

/// A streaming iterator of batches from one input, whatever its format. Memory is bounded by
/// the largest batch. After an error, JSON lines go on with the next line; other formats stop.
pub struct TelemetryReader {
    inner: Inner,
    file: Arc<str>,
    format: Format,
    gzip: bool,
    limit: usize,
    pending: Option<Error>,
}

fn peek(src: &mut dyn Read, n: usize) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(n);
    src.take(n as u64).read_to_end(&mut buf)?;
    Ok(buf)
}

fn is_ws(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

fn text_prefix(b: &[u8]) -> bool {
    match std::str::from_utf8(b) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none(),
    }
}

/// Detects the format of input starting with `head` (no gzip).
pub fn detect_format(head: &[u8]) -> Format {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let ws = head.iter().take_while(|c| is_ws(**c)).count();
    let body = &head[ws..];
    if body.is_empty() {
        return if head.is_empty() || text_prefix(head) {
            Format::OtlpJsonLines
        } else {
            Format::OtlpProtobuf
        };
    }
    if body[0] == b'{' {
        let after = &body[1..];
        let after = &after[after.iter().take_while(|c| is_ws(**c)).count()..];
        if after.starts_with(b"\"resource") || after.starts_with(b"\"resource_") || after == b"}" {
            // JSON even if invalid UTF-8 follows: the JSON reader reports where.
            return Format::OtlpJsonLines;
        }
    }
    if !text_prefix(head) {
        return Format::OtlpProtobuf;
    }
    if body[0] == b'{' && !body.starts_with(b"{\"") || body.starts_with(b"{\"resource") {
        return Format::OtlpJsonLines;
    }
    if body.starts_with(b"{\"") {
        // `{"` is a JSON object or an OpenMetrics 2 quoted metric name.
        let line = &body[..memchr::memchr(b'\n', body).unwrap_or(body.len())];
        if prometheus::looks_like_exposition_line(line)
            && memchr::memmem::find(line, b"\"}").is_some()
            && !line.ends_with(b"{")
            && !line.contains(&b':')
        {
            return Format::PrometheusText;
        }
        return Format::OtlpJsonLines;
    }
    let line = &body[..memchr::memchr(b'\n', body).unwrap_or(body.len())];
    if prometheus::looks_like_exposition_line(line) {
        if memchr::memmem::find(head, b"# EOF").is_some()
            || memchr::memmem::find(head, b"# UNIT ").is_some()
        {
            return Format::OpenMetricsText;
        }
        return Format::PrometheusText;
    }
    Format::OtlpProtobuf
}

impl ReadOptions {
    /// Opens `path`: a file, `-` for stdin, or an `http://` URL to scrape.
    pub fn open(&self, path: &str) -> Result<TelemetryReader> {
        if path == "-" {
            return self.read("-", std::io::stdin());
        }
        if path.starts_with("http://") || path.starts_with("https://") {
            let file: Arc<str> = Arc::from(path);
            let exp = crate::scrape::scrape(path, self.scrape_timeout, self.max_batch_bytes)?;
            let format = exp.format;
            let batch = prometheus::exposition_batch(exp, Arc::clone(&file), false);
            return Ok(TelemetryReader {
                inner: Inner::Done(Some(batch)),
                file,
                format,
                gzip: false,
                limit: self.max_batch_bytes,
                pending: None,
            });
        }
        let f = File::open(path).map_err(|e| Error::io(&Arc::from(path), e, 0))?;
        self.read(path, f)
    }

    /// Reads from any `Read`; `name` names it in origins and errors.
    pub fn read<R: Read + Send + 'static>(
        &self,
        name: &str,
        mut src: R,
    ) -> Result<TelemetryReader> {
        let file: Arc<str> = Arc::from(name);
        let head = peek(&mut src, PEEK).map_err(|e| Error::io(&file, e, 0))?;
        let (gzip, head, src): (bool, Vec<u8>, Box<dyn Read + Send>) =
            if head.starts_with(&[0x1f, 0x8b]) {
                let mut dec: Box<dyn Read + Send> = Box::new(flate2::read::MultiGzDecoder::new(
                    Cursor::new(head).chain(src),
                ));
                let head = peek(&mut dec, PEEK).map_err(|e| Error::io(&file, e, 0))?;
                (true, head, dec)
            } else {
                (false, head, Box::new(src))
            };
        let format = self.format.unwrap_or_else(|| detect_format(&head));
        let src: Src = Box::new(BufReader::with_capacity(BUF, Cursor::new(head).chain(src)));
        self.build(file, format, gzip, src)
    }

    fn build(
        &self,
        file: Arc<str>,
        format: Format,
        gzip: bool,
        mut src: Src,
    ) -> Result<TelemetryReader> {
        let limit = self.max_batch_bytes;
        let mut pending = None;
        let (inner, format) = match format {
            Format::OtlpJsonLines | Format::OtlpJsonDocument => {
                let mut first = Vec::new();
                let (doc, consumed) = match read_line_bounded(&mut src, &mut first, limit) {
                    Err(e) => return Err(Error::io(&file, e, 0)),
                    Ok(LineRead::TooLong(n)) => {
                        pending = Some(
                            Error::new(
                                ErrorKind::TooLarge,
                                &file,
                                format!("line is over the batch limit of {limit} bytes: raise the limit (max batch size) or export smaller batches"),
                            )
                            .at_line(1, 1),
                        );
                        (false, n)
                    }
                    Ok(LineRead::Eof) => (false, 0),
                    Ok(LineRead::Line(_)) => {
                        let complete = match serde_json::from_slice::<serde::de::IgnoredAny>(
                            first.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&first),
                        ) {
                            Ok(_) => true,
                            Err(e) => !e.is_eof(),
                        };
                        let blank = first.iter().all(|c| is_ws(*c));
                        (format == Format::OtlpJsonDocument || !complete || blank, 0)
                    }
                };
                let src: Src = Box::new(Cursor::new(first).chain(src));
                if doc {
                    (
                        Inner::Doc(JsonDocumentReader::with_file(
                            src,
                            Arc::clone(&file),
                            limit,
                            gzip,
                        )),
                        Format::OtlpJsonDocument,
                    )
                } else {
                    let mut r = JsonLinesReader::with_file(src, Arc::clone(&file), limit, gzip);
                    if consumed > 0 {
                        r.skip_first_line(consumed);
                    }
                    (Inner::Lines(r), Format::OtlpJsonLines)
                }
            }
            Format::OtlpProtobuf => {
                let head = src.fill_buf().map_err(|e| Error::io(&file, e, 0))?;
                let (framing, ambiguous) = detect_framing(head);
                let mut r = ProtoReader::with_framing(
                    src,
                    Arc::clone(&file),
                    self.signal,
                    framing,
                    limit,
                    gzip,
                );
                r.set_ambiguous(ambiguous);
                (Inner::Proto(r), format)
            }
            Format::PrometheusText | Format::OpenMetricsText => (Inner::Prom(Some(src)), format),
        };
        Ok(TelemetryReader {
            inner,
            file,
            format,
            gzip,
            limit,
            pending,
        })
    }
}

/// Decodes an OTLP/HTTP request body sent to the `signal` endpoint: a gzip body (detected by its
/// magic bytes, whatever `Content-Encoding` said) is inflated up to `limit` bytes; a
/// `Content-Type` of `application/json` selects OTLP JSON, anything else protobuf. A JSON body
/// holding another signal is an [`ErrorKind::Invalid`] error.
pub fn decode_request(
    signal: Signal,
    content_type: &str,
    body: &[u8],
    limit: usize,
) -> Result<Batch> {
    let name = format!("<{signal} request>");
    let file: Arc<str> = Arc::from(name.as_str());
    let inflated;
    let mut gzip = false;
    let body = if body.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        let fits = read_bounded(flate2::read::MultiGzDecoder::new(body), &mut out, limit)
            .map_err(|e| Error::io(&file, e, 0))?;
        if !fits {
            return Err(Error::new(
                ErrorKind::TooLarge,
                &file,
                format!("the inflated request body is over {limit} bytes: send smaller batches"),
            ));
        }
        inflated = out;
        gzip = true;
        &inflated[..]
    } else if body.len() > limit {
        return Err(Error::new(
            ErrorKind::TooLarge,
            &file,
            format!("the request body is over {limit} bytes: send smaller batches"),
        ));
    } else {
        body
    };
    let json = content_type
        .split(';')
        .next()
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"));
    let mut batch = if json {
        let b = crate::json::decode_json(&name, body)?;
        if let Some(got) = b.signal().filter(|s| *s != signal) {
            return Err(Error::new(
                ErrorKind::Invalid,
                &file,
                format!(
                    "the request holds {got} but was sent to the {signal} endpoint: send it to /v1/{got}"
                ),
            ));
        }
        b
    } else {
        crate::proto::decode_proto(signal, &name, body)?
    };
    batch.origin.gzip = gzip;
    Ok(batch)
}

impl TelemetryReader {
    /// The detected (or forced) format.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Whether the input was gzip-compressed.
    pub fn is_gzip(&self) -> bool {
        self.gzip
    }

    /// The input's name.
    pub fn file(&self) -> &str {
        &self.file
    }
}

/// What [`TelemetryReader::next_raw`] yields: a JSON line undecoded, or a batch.
#[derive(Debug)]
pub enum Raw<'a> {
    /// One OTLP JSON export request, to decode as the caller likes.
    Json(JsonRequest<'a>),
    /// A batch of any other format (JSON documents, protobuf, Prometheus text).
    Batch(Batch),
}

impl TelemetryReader {
    /// The next request, with JSON lines left undecoded so the caller can decode only what it
    /// needs ([`JsonRequest::decode_spans`]); errors as from [`Iterator::next`].
    pub fn next_raw(&mut self) -> Option<Result<Raw<'_>>> {
        if let Some(e) = self.pending.take() {
            return Some(Err(e));
        }
        if !matches!(self.inner, Inner::Lines(_)) {
            return self.next().map(|r| r.map(Raw::Batch));
        }
        match &mut self.inner {
            Inner::Lines(r) => r.next_request().map(|r| r.map(Raw::Json)),
            _ => None,
        }
    }
}

impl Iterator for TelemetryReader {
    type Item = Result<Batch>;

    fn next(&mut self) -> Option<Result<Batch>> {
        if let Some(e) = self.pending.take() {
            return Some(Err(e));
        }
        match &mut self.inner {
            Inner::Lines(r) => r.next(),
            Inner::Doc(r) => r.next(),
            Inner::Proto(r) => r.next(),
            Inner::Done(b) => b.take().map(Ok),
            Inner::Prom(src) => {
                let mut src = src.take()?;
                let om = (self.format == Format::OpenMetricsText).then_some(true);
                Some(
                    prometheus::parse_with(&mut src, Arc::clone(&self.file), self.limit, om).map(
                        |e| prometheus::exposition_batch(e, Arc::clone(&self.file), self.gzip),
                    ),
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detection() {
        assert_eq!(
            detect_format(b"{\"resourceSpans\":[]}\n"),
            Format::OtlpJsonLines
        );
        assert_eq!(
            detect_format(b"\n  {\n  \"resourceSpans\""),
            Format::OtlpJsonLines
        );
        assert_eq!(detect_format(b"# HELP x y\n"), Format::PrometheusText);
        assert_eq!(
            detect_format(b"x_total 1\n# EOF\n"),
            Format::OpenMetricsText
        );
        assert_eq!(
            detect_format(b"{\"my.metric\"} 1\n"),
            Format::PrometheusText
        );
        assert_eq!(
            detect_format(&[0x0a, 0x05, 0xff, 0x00]),
            Format::OtlpProtobuf
        );
        assert_eq!(
            detect_format(&[0x00, 0x00, 0x01, 0x00]),
            Format::OtlpProtobuf
        );
        assert_eq!(detect_format(b""), Format::OtlpJsonLines);
        assert_eq!(
            detect_format(b"{\n  \"resourceLogs\": \xff"),
            Format::OtlpJsonLines
        );
    }

    #[test]
    fn invalid_utf8_in_json_line_is_located() {
        let input = b"{\"resourceLogs\":[]}\n{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"body\":{\"stringValue\":\"a\xffb\"}}]}]}]}\n".to_vec();
        let out: Vec<_> = from_reader("l.jsonl", Cursor::new(input))
            .unwrap()
            .collect();
        let e = out[1].as_ref().unwrap_err();
        assert_eq!(e.kind, ErrorKind::Syntax);
        assert_eq!(e.line, Some(2));
        assert!(e.column.unwrap() > 50, "{e}");
    }

    #[test]
    fn deep_protobuf_nesting_is_an_error() {
        use opentelemetry_proto::tonic::common::v1::{AnyValue, ArrayValue, any_value::Value};
        use prost::Message;
        let mut v = AnyValue {
            value: Some(Value::IntValue(1)),
        };
        for _ in 0..200 {
            v = AnyValue {
                value: Some(Value::ArrayValue(ArrayValue { values: vec![v] })),
            };
        }
        let mut req = crate::proto::tests::sample_trace("deep");
        req.resource_spans[0].scope_spans[0].spans[0].attributes[0].value = Some(v);
        let e = crate::decode_proto(Signal::Traces, "body", &req.encode_to_vec()).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Protobuf);
        assert!(e.message.contains("recursion"), "{e}");
    }

    #[test]
    fn gzip_json_document() {
        use std::io::Write;
        let doc = "{\n \"resourceLogs\": [\n  {\"scopeLogs\": [{\"logRecords\": [{\"body\": {\"stringValue\": \"hi\"}, \"severityNumber\": \"SEVERITY_NUMBER_WARN\"}]}]}\n ]\n}\n";
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(doc.as_bytes()).unwrap();
        let gz = enc.finish().unwrap();
        let r = from_reader("logs.json.gz", Cursor::new(gz)).unwrap();
        assert!(r.is_gzip());
        assert_eq!(r.format(), Format::OtlpJsonDocument);
        let batches: Vec<_> = r.collect::<Result<_>>().unwrap();
        let rec = batches[0].log_records().next().unwrap();
        assert_eq!(rec.item.severity_number, 13);
        assert_eq!(rec.item.body.as_str(), Some("hi"));
        assert!(batches[0].origin.gzip);
    }

    #[test]
    fn long_first_line_is_an_error_then_continues() {
        let line = "{\"resourceSpans\":[]}";
        let input = format!("{}\n{line}\n", " ".repeat(200));
        let opts = ReadOptions {
            max_batch_bytes: 100,
            ..Default::default()
        };
        let out: Vec<_> = opts.read("x", Cursor::new(input)).unwrap().collect();
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].as_ref().unwrap_err().kind, ErrorKind::TooLarge);
        assert_eq!(out[1].as_ref().unwrap().origin.line, Some(2));
    }

    #[test]
    fn request_bodies() {
        use prost::Message;
        use std::io::Write;
        let pb = crate::proto::tests::sample_trace("req").encode_to_vec();
        let b = decode_request(Signal::Traces, "application/x-protobuf", &pb, 1 << 20).unwrap();
        assert_eq!(b.spans().next().unwrap().item.name, "req");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(br#"{"resourceLogs":[]}"#).unwrap();
        let gz = enc.finish().unwrap();
        let b = decode_request(
            Signal::Logs,
            "application/json; charset=utf-8",
            &gz,
            1 << 20,
        )
        .unwrap();
        assert!(b.origin.gzip);
        let e = decode_request(
            Signal::Traces,
            "application/json",
            br#"{"resourceLogs":[{}]}"#,
            1 << 20,
        )
        .unwrap_err();
        assert!(e.message.contains("/v1/logs"), "{e}");
        let e = decode_request(Signal::Traces, "application/json", &gz, 5).unwrap_err();
        assert_eq!(e.kind, ErrorKind::TooLarge);
    }

    #[test]
    fn empty_input_has_no_batches() {
        assert_eq!(
            from_reader("e", Cursor::new(Vec::new())).unwrap().count(),
            0
        );
    }

    #[test]
    fn missing_file() {
        let e = open("/nonexistent/flowtel.jsonl").err().unwrap();
        assert_eq!(e.kind, ErrorKind::Io);
        assert!(e.message.contains("check the path"), "{e}");
    }
}
