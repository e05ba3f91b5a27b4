//! Prometheus text exposition format 0.0.4 and OpenMetrics text 1.0: the parser into an
//! [`Exposition`] (the types live in `exposition.rs`) and its conversion into the OTLP-shaped
//! [`Payload`]. Scraping `http://host:port/path` is `scrape.rs`.

use std::collections::HashMap;
use std::io::BufRead;
use std::sync::Arc;

use crate::error::{Error, ErrorKind, Result};
pub use crate::exposition::{Exposition, MetricFamily, MetricType, Sample};
use crate::io::{LineRead, read_line_bounded};
use crate::model::{
    AnyValue, Batch, DataPoint, Format, InstrumentKind, KeyValue, Metric, Origin, Payload,
    Quantile, ResourceBlock, Scope, ScopeBlock, Temporality,
};

fn unescape(s: &str, quotes: bool) -> String {
    if !s.contains('\\') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match it.next() {
            Some('n') => out.push('\n'),
            Some('\\') => out.push('\\'),
            Some('"') if quotes => out.push('"'),
            Some(o) => {
                out.push('\\');
                out.push(o);
            }
            None => out.push('\\'),
        }
    }
    out
}

fn parse_float(s: &str) -> Option<f64> {
    match s {
        "+Inf" | "Inf" | "+inf" | "inf" => Some(f64::INFINITY),
        "-Inf" | "-inf" => Some(f64::NEG_INFINITY),
        "NaN" | "nan" => Some(f64::NAN),
        _ => s.parse().ok(),
    }
}

fn is_name_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c == b':'
}

fn is_name_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b':'
}

/// Whether `line` looks like the start of a Prometheus/OpenMetrics exposition.
pub(crate) fn looks_like_exposition_line(line: &[u8]) -> bool {
    if line.starts_with(b"#") {
        return true;
    }
    match line.first() {
        Some(&c) if is_name_start(c) => {
            let n = line.iter().take_while(|c| is_name_char(**c)).count();
            matches!(line.get(n), Some(b' ' | b'\t' | b'{'))
        }
        Some(b'{') => line.get(1) == Some(&b'"'),
        _ => false,
    }
}

/// Parsing state for one exposition.
struct Parser {
    file: Arc<str>,
    families: Vec<MetricFamily>,
    index: HashMap<String, usize>,
    eof_line: Option<u64>,
    open_metrics: bool,
}

type LineResult<T> = std::result::Result<T, (usize, String)>;

impl Parser {
    fn family(&mut self, name: &str) -> &mut MetricFamily {
        let i = match self.index.get(name) {
            Some(i) => *i,
            None => {
                self.families.push(MetricFamily::new(name));
                self.index.insert(name.to_owned(), self.families.len() - 1);
                self.families.len() - 1
            }
        };
        &mut self.families[i]
    }

    fn family_for_sample(&mut self, name: &str) -> &mut MetricFamily {
        if !self.index.contains_key(name) {
            for suffix in [
                "_total", "_created", "_bucket", "_sum", "_count", "_gsum", "_gcount", "_info",
            ] {
                if let Some(base) = name.strip_suffix(suffix)
                    && let Some(&i) = self.index.get(base)
                    && self.families[i].metric_type.suffixes().contains(&suffix)
                {
                    return &mut self.families[i];
                }
            }
        }
        self.family(name)
    }

    fn line(&mut self, line: &str, no: u64) -> LineResult<()> {
        if self.eof_line.is_some() {
            return Err((
                0,
                "content after `# EOF`: `# EOF` must be the last line".into(),
            ));
        }
        if let Some(rest) = line.strip_prefix('#') {
            return self.comment(rest, no);
        }
        if line.trim().is_empty() {
            return Ok(());
        }
        self.sample(line, no)
    }

    fn comment(&mut self, rest: &str, no: u64) -> LineResult<()> {
        let rest = rest.trim_start_matches([' ', '\t']);
        if rest == "EOF" {
            self.eof_line = Some(no);
            self.open_metrics = true;
            return Ok(());
        }
        let (kw, tail) = rest.split_once([' ', '\t']).unwrap_or((rest, ""));
        if !matches!(kw, "HELP" | "TYPE" | "UNIT") {
            return Ok(());
        }
        let tail = tail.trim_start_matches([' ', '\t']);
        let (name, text) = tail.split_once([' ', '\t']).unwrap_or((tail, ""));
        let col = 1 + 1 + (rest.len() - tail.len());
        if name.is_empty() || !name.bytes().all(is_name_char) || !is_name_start(name.as_bytes()[0])
        {
            return Err((
                col,
                format!("`# {kw}` needs a valid metric name: write `# {kw} <name> ...`"),
            ));
        }
        let om = self.open_metrics;
        let fam = self.family(name);
        match kw {
            "HELP" => {
                if fam.help_line.is_some() {
                    return Err((col, format!("second `# HELP` for {name}: keep one")));
                }
                fam.help = Some(unescape(text, om));
                fam.help_line = Some(no);
            }
            "TYPE" => {
                if fam.type_line.is_some() {
                    return Err((col, format!("second `# TYPE` for {name}: keep one")));
                }
                let t = text.trim();
                fam.metric_type = MetricType::parse(t).ok_or_else(|| {
                    (col, format!("unknown metric type {t:?}: use counter, gauge, histogram, summary or untyped"))
                })?;
                fam.type_line = Some(no);
                if !fam.samples.is_empty() {
                    return Err((
                        col,
                        format!("`# TYPE` for {name} after its samples: move it before them"),
                    ));
                }
            }
            _ => {
                fam.unit = Some(text.trim().to_owned());
                fam.unit_line = Some(no);
                self.open_metrics = true;
            }
        }
        Ok(())
    }

    fn sample(&mut self, line: &str, no: u64) -> LineResult<()> {
        let b = line.as_bytes();
        let mut pos = 0;
        let mut name = String::new();
        if is_name_start(b[0]) {
            pos = b.iter().take_while(|c| is_name_char(**c)).count();
            name.push_str(&line[..pos]);
        } else if b[0] != b'{' {
            return Err((
                1,
                "expected a metric name: a sample line is `name{labels} value [timestamp]`".into(),
            ));
        }
        let mut labels = Vec::new();
        if b.get(pos) == Some(&b'{') {
            pos += 1;
            loop {
                while matches!(b.get(pos), Some(b' ' | b'\t')) {
                    pos += 1;
                }
                match b.get(pos) {
                    Some(b'}') => {
                        pos += 1;
                        break;
                    }
                    None => {
                        return Err((
                            pos + 1,
                            "unterminated label set: add the closing `}`".into(),
                        ));
                    }
                    _ => {}
                }
                let (key, quoted_key) = if b[pos] == b'"' {
                    let (s, end) = quoted(line, pos)?;
                    pos = end;
                    (s, true)
                } else {
                    let start = pos;
                    if !is_name_start(b[pos]) || b[pos] == b':' {
                        return Err((
                            pos + 1,
                            "invalid label name: use [a-zA-Z_][a-zA-Z0-9_]*".into(),
                        ));
                    }
                    while pos < b.len() && (b[pos].is_ascii_alphanumeric() || b[pos] == b'_') {
                        pos += 1;
                    }
                    (line[start..pos].to_owned(), false)
                };
                while matches!(b.get(pos), Some(b' ' | b'\t')) {
                    pos += 1;
                }
                if quoted_key && name.is_empty() && matches!(b.get(pos), Some(b',' | b'}')) {
                    // `{"metric.name", label="v"}`: a quoted metric name.
                    name = key;
                } else {
                    if b.get(pos) != Some(&b'=') {
                        return Err((pos + 1, "expected `=` after the label name".into()));
                    }
                    pos += 1;
                    while matches!(b.get(pos), Some(b' ' | b'\t')) {
                        pos += 1;
                    }
                    if b.get(pos) != Some(&b'"') {
                        return Err((pos + 1, "label values must be double-quoted".into()));
                    }
                    let (v, end) = quoted(line, pos)?;
                    pos = end;
                    labels.push((key, v));
                }
                while matches!(b.get(pos), Some(b' ' | b'\t')) {
                    pos += 1;
                }
                match b.get(pos) {
                    Some(b',') => pos += 1,
                    Some(b'}') => {}
                    _ => return Err((pos + 1, "expected `,` or `}` in the label set".into())),
                }
            }
        }
        if name.is_empty() {
            return Err((1, "sample without a metric name".into()));
        }
        let rest = &line[pos..];
        if !rest.starts_with([' ', '\t']) {
            return Err((
                pos + 1,
                "expected a space and the value after the metric name and labels".into(),
            ));
        }
        let (values, exemplar) = match rest.find(" # ") {
            Some(i) => (&rest[..i], true),
            None => (rest, false),
        };
        let mut parts = values.split_ascii_whitespace();
        let vs = parts
            .next()
            .ok_or((pos + 1, "missing sample value".to_owned()))?;
        let value = parse_float(vs).ok_or_else(|| {
            (
                pos + 2,
                format!("invalid sample value {vs:?}: write a float, +Inf, -Inf or NaN"),
            )
        })?;
        let timestamp = match parts.next() {
            Some(t) => {
                Some(parse_float(t).ok_or_else(|| (pos + 2, format!("invalid timestamp {t:?}")))?)
            }
            None => None,
        };
        if parts.next().is_some() {
            return Err((pos + 2, "unexpected text after the timestamp".into()));
        }
        let sample = Sample {
            name: name.clone(),
            labels,
            value,
            timestamp,
            has_exemplar: exemplar,
            line: no,
        };
        self.family_for_sample(&name).samples.push(sample);
        Ok(())
    }
}

/// Reads a double-quoted string at `start`; returns it unescaped and the index after it.
fn quoted(line: &str, start: usize) -> LineResult<(String, usize)> {
    let b = line.as_bytes();
    let mut i = start + 1;
    let mut escaped = false;
    while i < b.len() {
        match b[i] {
            b'\\' if !escaped => escaped = true,
            b'"' if !escaped => {
                return Ok((unescape(&line[start + 1..i], true), i + 1));
            }
            _ => escaped = false,
        }
        i += 1;
    }
    Err((
        start + 1,
        "unterminated quoted string: add the closing `\"`".into(),
    ))
}

/// Parses an exposition from `src`, reading at most `limit` bytes in total.
pub fn parse<R: BufRead>(mut src: R, file: &str, limit: usize) -> Result<Exposition> {
    parse_with(&mut src, Arc::from(file), limit, None)
}

pub(crate) fn parse_with<R: BufRead + ?Sized>(
    src: &mut R,
    file: Arc<str>,
    limit: usize,
    open_metrics: Option<bool>,
) -> Result<Exposition> {
    let mut p = Parser {
        file,
        families: Vec::new(),
        index: HashMap::new(),
        eof_line: None,
        open_metrics: open_metrics.unwrap_or(false),
    };
    let mut buf = Vec::new();
    let mut total: usize = 0;
    let mut no = 0u64;
    let mut offset = 0u64;
    loop {
        let read =
            read_line_bounded(src, &mut buf, limit).map_err(|e| Error::io(&p.file, e, offset))?;
        no += 1;
        let n = match read {
            LineRead::Eof => break,
            LineRead::Line(n) => n,
            LineRead::TooLong(_) => 0,
        };
        total = total.saturating_add(n);
        if matches!(read, LineRead::TooLong(_)) || total > limit {
            return Err(Error::new(
                ErrorKind::TooLarge,
                &p.file,
                format!("the exposition is over the batch limit of {limit} bytes: raise the limit (max batch size)"),
            )
            .at_line(no, 1));
        }
        offset += n as u64;
        let mut bytes = &buf[..n];
        if no == 1 {
            bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        }
        let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
        let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
        let line = std::str::from_utf8(bytes).map_err(|e| {
            Error::new(
                ErrorKind::Prometheus,
                &p.file,
                "invalid UTF-8: the exposition format is UTF-8 text; check the file is not binary or in another encoding",
            )
            .at_line(no, e.valid_up_to() as u64 + 1)
        })?;
        p.line(line, no).map_err(|(col, msg)| {
            Error::new(ErrorKind::Prometheus, &p.file, msg).at_line(no, col.max(1) as u64)
        })?;
    }
    Ok(Exposition {
        format: if p.open_metrics {
            Format::OpenMetricsText
        } else {
            Format::PrometheusText
        },
        families: p.families,
        eof_line: p.eof_line,
    })
}

fn attrs(labels: &[(String, String)], skip: &str) -> Vec<KeyValue> {
    labels
        .iter()
        .filter(|(k, _)| k != skip)
        .map(|(k, v)| KeyValue {
            key: k.clone(),
            value: AnyValue::String(v.clone()),
        })
        .collect()
}

impl Exposition {
    /// The exposition in OTLP shape: one resource, one scope `prometheus`, one metric per
    /// family (counters lose `_total`; histograms and summaries are regrouped by label set;
    /// untyped, unknown, info and stateset families become gauges).
    pub fn to_payload(&self) -> Payload {
        let om = self.format == Format::OpenMetricsText;
        let metrics = self
            .families
            .iter()
            .map(|f| family_to_metric(f, om))
            .collect();
        Payload::Metrics(vec![ResourceBlock {
            scopes: vec![ScopeBlock {
                scope: Scope {
                    name: "prometheus".into(),
                    ..Scope::default()
                },
                schema_url: String::new(),
                items: metrics,
            }],
            ..ResourceBlock::default()
        }])
    }
}

fn time_nanos(s: &Sample, open_metrics: bool) -> u64 {
    match s.timestamp {
        Some(t) if t.is_finite() && t > 0.0 => {
            let ns = if open_metrics { t * 1e9 } else { t * 1e6 };
            ns as u64
        }
        _ => 0,
    }
}

/// Samples of one label set of a histogram or summary: key labels, point, (bound, value) pairs.
type Group = (Vec<(String, String)>, DataPoint, Vec<(f64, f64)>);

fn family_to_metric(f: &MetricFamily, om: bool) -> Metric {
    let (kind, temporality) = match f.metric_type {
        MetricType::Counter => (InstrumentKind::Counter, Temporality::Cumulative),
        MetricType::Histogram => (InstrumentKind::Histogram, Temporality::Cumulative),
        MetricType::GaugeHistogram => (InstrumentKind::Histogram, Temporality::Unspecified),
        MetricType::Summary => (InstrumentKind::Summary, Temporality::Unspecified),
        _ => (InstrumentKind::Gauge, Temporality::Unspecified),
    };
    let mut points: Vec<DataPoint> = Vec::new();
    match kind {
        InstrumentKind::Histogram | InstrumentKind::Summary => {
            let split = if kind == InstrumentKind::Histogram {
                "le"
            } else {
                "quantile"
            };
            let mut groups: Vec<Group> = Vec::new();
            for s in &f.samples {
                let key: Vec<(String, String)> = s
                    .labels
                    .iter()
                    .filter(|(k, _)| k != split)
                    .cloned()
                    .collect();
                let gi = match groups.iter().position(|g| g.0 == key) {
                    Some(i) => i,
                    None => {
                        let dp = DataPoint {
                            attributes: attrs(&s.labels, split),
                            time_unix_nano: time_nanos(s, om),
                            ..DataPoint::default()
                        };
                        groups.push((key, dp, Vec::new()));
                        groups.len() - 1
                    }
                };
                let g = &mut groups[gi];
                let suffix = s.name.strip_prefix(f.name.as_str()).unwrap_or("");
                match suffix {
                    "_sum" | "_gsum" => g.1.sum = Some(s.value),
                    "_count" | "_gcount" => g.1.count = s.value.max(0.0) as u64,
                    "_bucket" | "" => {
                        if let Some(b) = s.label(split).and_then(parse_float) {
                            g.2.push((b, s.value));
                        }
                    }
                    _ => {}
                }
            }
            for (_, mut dp, mut bs) in groups {
                bs.sort_by(|a, b| a.0.total_cmp(&b.0));
                if kind == InstrumentKind::Histogram {
                    let mut prev = 0.0;
                    for (le, cum) in bs {
                        if le.is_finite() {
                            dp.explicit_bounds.push(le);
                        }
                        dp.bucket_counts.push((cum - prev).max(0.0) as u64);
                        prev = cum;
                    }
                } else {
                    dp.quantile_values = bs
                        .into_iter()
                        .map(|(q, v)| Quantile {
                            quantile: q,
                            value: v,
                        })
                        .collect();
                }
                points.push(dp);
            }
        }
        _ => {
            for s in &f.samples {
                if s.name.ends_with("_created") && s.name != f.name {
                    continue;
                }
                points.push(DataPoint {
                    attributes: attrs(&s.labels, ""),
                    time_unix_nano: time_nanos(s, om),
                    as_double: Some(s.value),
                    ..DataPoint::default()
                });
            }
        }
    }
    let name = match f.metric_type {
        MetricType::Counter => f.name.strip_suffix("_total").unwrap_or(&f.name),
        _ => &f.name,
    };
    Metric {
        name: name.to_owned(),
        description: f.help.clone().unwrap_or_default(),
        unit: f.unit.clone().unwrap_or_default(),
        kind,
        temporality,
        points,
    }
}

/// Builds the batch of an exposition.
pub fn exposition_batch(exp: Exposition, file: Arc<str>, gzip: bool) -> Batch {
    let mut b = Batch::new(
        Origin {
            file,
            line: Some(1),
            byte_offset: 0,
            format: exp.format,
            gzip,
        },
        exp.to_payload(),
    );
    b.prometheus = Some(Box::new(exp));
    b
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scrape::scrape;
    use std::io::{Read, Write};
    use std::time::Duration;

    const TEXT: &str = "# HELP http_requests_total The total number of HTTP requests.\n# TYPE http_requests_total counter\nhttp_requests_total{method=\"post\",code=\"200\"} 1027 1395066363000\nhttp_requests_total{method=\"post\",code=\"400\"}    3 1395066363000\n\n# A comment\nmetric_without_timestamp_and_labels 12.47\n# HELP latency A histogram.\n# TYPE latency histogram\nlatency_bucket{le=\"0.05\"} 24054\nlatency_bucket{le=\"0.1\"} 33444\nlatency_bucket{le=\"+Inf\"} 144320\nlatency_sum 53423\nlatency_count 144320\n# TYPE rpc summary\nrpc{quantile=\"0.5\"} 4773\nrpc_sum 1.7560473e+07\nrpc_count 2693\nescaped{a=\"x\\\"y\\\\z\\n\"} -Inf\n";

    #[test]
    fn parses_families() {
        let e = parse(TEXT.as_bytes(), "m.prom", 1 << 20).unwrap();
        assert_eq!(e.format, Format::PrometheusText);
        let names: Vec<_> = e.families.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "http_requests_total",
                "metric_without_timestamp_and_labels",
                "latency",
                "rpc",
                "escaped"
            ]
        );
        let c = &e.families[0];
        assert_eq!(c.metric_type, MetricType::Counter);
        assert_eq!(c.help_line, Some(1));
        assert_eq!(c.samples[1].line, 4);
        assert_eq!(c.samples[1].label("code"), Some("400"));
        assert_eq!(c.samples[0].timestamp, Some(1395066363000.0));
        assert_eq!(e.families[2].samples.len(), 5);
        assert_eq!(e.families[4].samples[0].label("a"), Some("x\"y\\z\n"));
        let p = e.to_payload();
        let b = Batch::new(
            Origin {
                file: Arc::from("m"),
                line: Some(1),
                byte_offset: 0,
                format: e.format,
                gzip: false,
            },
            p,
        );
        let ms: Vec<_> = b.metrics().map(|m| m.item.clone()).collect();
        assert_eq!(ms[0].name, "http_requests");
        assert_eq!(ms[0].kind, InstrumentKind::Counter);
        assert_eq!(ms[2].kind, InstrumentKind::Histogram);
        assert_eq!(ms[2].points[0].explicit_bounds, [0.05, 0.1]);
        assert_eq!(ms[2].points[0].bucket_counts, [24054, 9390, 110876]);
        assert_eq!(ms[2].points[0].count, 144320);
        assert_eq!(ms[3].points[0].quantile_values[0].value, 4773.0);
    }

    #[test]
    fn open_metrics_and_errors() {
        let om = "# TYPE foo counter\n# UNIT foo seconds\nfoo_total 1 # {a=\"b\"} 1\nfoo_created 123\n{\"my.metric\",x=\"1\"} 2\n# EOF\n";
        let e = parse(om.as_bytes(), "m.om", 1 << 20).unwrap();
        assert_eq!(e.format, Format::OpenMetricsText);
        assert_eq!(e.families[0].samples.len(), 2);
        assert!(e.families[0].samples[0].has_exemplar);
        assert_eq!(e.families[1].name, "my.metric");
        assert_eq!(e.eof_line, Some(6));
        let err = parse("ok 1\nbad{x=1} 2\n".as_bytes(), "m", 1 << 20).unwrap_err();
        assert_eq!((err.line, err.column), (Some(2), Some(7)));
        let err = parse("a 1\n# EOF\nb 2\n".as_bytes(), "m", 1 << 20).unwrap_err();
        assert_eq!(err.line, Some(3));
        let err = parse("a 1\n".repeat(100).as_bytes(), "m", 50).unwrap_err();
        assert_eq!(err.kind, ErrorKind::TooLarge);
    }

    #[test]
    fn scrape_loopback() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let t = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            // The whole request before the answer: a socket closed with unread bytes resets
            // the connection, and the client would see the reset instead of the answer.
            let mut req = Vec::new();
            let mut buf = [0u8; 1024];
            while !req.ends_with(b"\r\n\r\n") {
                let n = s.read(&mut buf).unwrap();
                assert!(n > 0, "the request ended before its headers did");
                req.extend_from_slice(&buf[..n]);
            }
            let body = "# TYPE up gauge\nup 1\n";
            write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{body}\r\n0\r\n\r\n",
                body.len()
            )
            .unwrap();
        });
        let e = scrape(
            &format!("http://127.0.0.1:{port}/metrics"),
            Duration::from_secs(5),
            1 << 20,
        )
        .unwrap();
        t.join().unwrap();
        assert_eq!(e.families[0].name, "up");
        assert_eq!(e.families[0].samples[0].value, 1.0);
    }
}
