//! Spans built in memory, for tests, benchmarks and examples: [`span`] makes one OTLP span from
//! small integer ids, and [`generate`] a platform's worth of traces (services calling each other
//! over several levels, with retries and asynchronous branches) from a seed.

use flowtel_otlp::{AnyValue, KeyValue, Link, SpanId, SpanKind, Status, StatusCode, TraceId};

/// An OTLP span with ids made from integers (`trace` and `id` must be non-zero to be valid;
/// `parent` 0 means a root).
pub fn span(
    trace: u128,
    id: u64,
    parent: u64,
    name: &str,
    kind: SpanKind,
    start: u64,
    end: u64,
) -> flowtel_otlp::Span {
    flowtel_otlp::Span {
        trace_id: TraceId(trace.to_be_bytes()),
        span_id: SpanId(id.to_be_bytes()),
        parent_span_id: (parent != 0).then_some(SpanId(parent.to_be_bytes())),
        name: name.to_string(),
        kind,
        start_time_unix_nano: start,
        end_time_unix_nano: end,
        ..Default::default()
    }
}

/// Adds a string attribute.
pub fn with_attr(mut s: flowtel_otlp::Span, key: &str, value: &str) -> flowtel_otlp::Span {
    s.attributes.push(KeyValue {
        key: key.to_string(),
        value: AnyValue::String(value.to_string()),
    });
    s
}

/// Adds an integer attribute.
pub fn with_int(mut s: flowtel_otlp::Span, key: &str, value: i64) -> flowtel_otlp::Span {
    s.attributes.push(KeyValue {
        key: key.to_string(),
        value: AnyValue::Int(value),
    });
    s
}

/// Marks the span failed (status `ERROR`).
pub fn failed(mut s: flowtel_otlp::Span) -> flowtel_otlp::Span {
    s.status = Status {
        code: StatusCode::Error,
        message: String::new(),
    };
    s
}

/// Adds a link to its own parent (a follows-from relation).
pub fn follows_from_parent(mut s: flowtel_otlp::Span) -> flowtel_otlp::Span {
    if let Some(p) = s.parent_span_id {
        s.links.push(Link {
            trace_id: s.trace_id,
            span_id: p,
            ..Default::default()
        });
    }
    s
}

/// Shape of generated traces.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    /// Number of services (`svc0` .. `svcN-1`); `svc0` is the entry.
    pub services: u32,
    /// Levels of service calls below the entry.
    pub depth: u32,
    /// Spans per trace, about.
    pub spans_per_trace: u32,
    /// One client call in this many is retried once.
    pub retry_every: u32,
    /// One service call in this many is asynchronous (producer / consumer).
    pub async_every: u32,
}

impl Default for Shape {
    fn default() -> Self {
        Shape {
            services: 10,
            depth: 6,
            spans_per_trace: 50,
            retry_every: 10,
            async_every: 8,
        }
    }
}

/// A small deterministic generator (SplitMix64), so generated traces are the same every run.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// Seeded.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// Generates `traces` traces of `shape`, calling `emit(service, span)` for every span, in an
/// order that spreads each trace over the output (spans of one trace are not adjacent).
pub fn generate(
    traces: u32,
    shape: Shape,
    seed: u64,
    mut emit: impl FnMut(&str, flowtel_otlp::Span),
) {
    let services: Vec<String> = (0..shape.services).map(|i| format!("svc{i}")).collect();
    let mut rng = Rng::new(seed);
    let mut next_id = 1u64;
    let base = 1_700_000_000_000_000_000u64;
    let mut pending: Vec<(u32, flowtel_otlp::Span)> = Vec::new();
    for t in 0..traces {
        let trace = u128::from(t) + 1 + (u128::from(seed) << 64);
        let start = base + u64::from(t) * 1_000_000;
        let root = next_id;
        next_id += 1;
        let budget = shape.spans_per_trace.max(2);
        let mut made = 1u32;
        // (service, span id, start, end, level)
        let mut frontier = vec![(0u32, root, start, start + 100_000_000, 0u32)];
        let root_span = with_attr(
            with_attr(
                span(
                    trace,
                    root,
                    0,
                    "POST /checkout",
                    SpanKind::Server,
                    start,
                    start + 100_000_000,
                ),
                "http.route",
                "/checkout",
            ),
            "http.request.method",
            "POST",
        );
        pending.push((0, with_attr(root_span, "flow.name", "checkout")));
        while let Some((svc, parent, s, e, level)) = frontier.pop() {
            if made >= budget {
                break;
            }
            let calls = 1 + rng.below(3) as u32;
            let width = (e - s) / u64::from(calls + 1);
            for c in 0..calls {
                if made + 3 > budget {
                    break;
                }
                let cs = s + width * u64::from(c) + rng.below(width / 4 + 1);
                let ce = cs + width / 2 + rng.below(width / 2 + 1);
                // In-process step.
                let step_id = next_id;
                next_id += 1;
                pending.push((
                    svc,
                    with_attr(
                        span(
                            trace,
                            step_id,
                            parent,
                            &format!("step{c}"),
                            SpanKind::Internal,
                            cs,
                            ce,
                        ),
                        "flow.step",
                        &format!("svc{svc}.step{c}"),
                    ),
                ));
                made += 1;
                if level + 1 >= shape.depth {
                    continue;
                }
                let callee = 1 + rng.below(u64::from(shape.services - 1)) as u32;
                let asynchronous = rng.below(u64::from(shape.async_every.max(1))) == 0;
                let retried = !asynchronous && rng.below(u64::from(shape.retry_every.max(1))) == 0;
                let tries = if retried { 2 } else { 1 };
                let seg = (ce - cs) / tries;
                for k in 0..tries {
                    let ks = cs + seg * k;
                    let ke = ks + seg - seg / 10;
                    let client = next_id;
                    let server = next_id + 1;
                    next_id += 2;
                    let (ck, sk) = if asynchronous {
                        (SpanKind::Producer, SpanKind::Consumer)
                    } else {
                        (SpanKind::Client, SpanKind::Server)
                    };
                    let route = format!("/api/{callee}");
                    let mut cspan = with_attr(
                        with_attr(
                            span(trace, client, step_id, "POST", ck, ks, ke),
                            "peer.service",
                            &services[callee as usize],
                        ),
                        "url.template",
                        &route,
                    );
                    if k > 0 {
                        cspan = with_int(cspan, "http.request.resend_count", i64::from(k as u32));
                    }
                    let (ss, se) = if asynchronous {
                        (ke + 1_000, ke + seg)
                    } else {
                        (ks + seg / 20, ke - seg / 20)
                    };
                    let mut sspan = with_attr(
                        span(trace, server, client, &format!("POST {route}"), sk, ss, se),
                        "http.route",
                        &route,
                    );
                    if retried && k == 0 {
                        sspan = failed(sspan);
                        cspan = failed(cspan);
                    }
                    pending.push((svc, cspan));
                    pending.push((callee, sspan));
                    made += 2;
                    if k + 1 == tries {
                        frontier.push((callee, server, ss, se, level + 1));
                    }
                }
            }
        }
        // Spread traces: flush in a shuffled order every 64 traces.
        if pending.len() > 4096 || t + 1 == traces {
            for i in (1..pending.len()).rev() {
                let j = rng.below(i as u64 + 1) as usize;
                pending.swap(i, j);
            }
            for (svc, s) in pending.drain(..) {
                emit(&services[svc as usize], s);
            }
        }
    }
}

/// One in-memory batch holding `spans`, each under a resource with its `service.name` (spans of
/// one service in a row share a resource), as a receiver would decode it.
pub fn batch(spans: Vec<(&str, flowtel_otlp::Span)>) -> flowtel_otlp::Batch {
    let mut resources: Vec<flowtel_otlp::ResourceSpans> = Vec::new();
    let mut last: Option<String> = None;
    for (service, span) in spans {
        if last.as_deref() != Some(service) {
            resources.push(flowtel_otlp::ResourceSpans {
                resource: flowtel_otlp::Resource {
                    attributes: vec![KeyValue {
                        key: "service.name".into(),
                        value: AnyValue::String(service.to_string()),
                    }],
                    ..Default::default()
                },
                scopes: vec![flowtel_otlp::ScopeBlock::default()],
                ..Default::default()
            });
            last = Some(service.to_string());
        }
        if let Some(r) = resources.last_mut() {
            r.scopes[0].items.push(span);
        }
    }
    flowtel_otlp::Batch::new(
        flowtel_otlp::Origin {
            file: "<memory>".into(),
            line: None,
            byte_offset: 0,
            format: flowtel_otlp::Format::OtlpProtobuf,
            gzip: false,
        },
        flowtel_otlp::Payload::Traces(resources),
    )
}

/// Writes `traces` generated traces of `shape` (see [`generate`]) as OTLP JSON lines to `out`:
/// about 500 spans a line, grouped under one resource per service, as an SDK's file exporter
/// would batch them. Returns the number of spans written. For the end-to-end benchmarks
/// (`cargo run --release -p flowtel-analyze --example gen_traces`).
pub fn write_json_lines(
    traces: u32,
    shape: Shape,
    seed: u64,
    out: &mut impl std::io::Write,
) -> std::io::Result<u64> {
    let mut pending: Vec<(String, flowtel_otlp::Span)> = Vec::with_capacity(512);
    let mut written = 0u64;
    let mut line = String::new();
    let mut result = Ok(());
    generate(traces, shape, seed, |svc, s| {
        if result.is_err() {
            return;
        }
        pending.push((svc.to_string(), s));
        if pending.len() == 500 {
            written += pending.len() as u64;
            result = flush_line(&mut pending, &mut line, out);
        }
    });
    result?;
    if !pending.is_empty() {
        written += pending.len() as u64;
        flush_line(&mut pending, &mut line, out)?;
    }
    Ok(written)
}

fn flush_line(
    pending: &mut Vec<(String, flowtel_otlp::Span)>,
    line: &mut String,
    out: &mut impl std::io::Write,
) -> std::io::Result<()> {
    use std::fmt::Write as _;
    pending.sort_by(|a, b| a.0.cmp(&b.0));
    line.clear();
    line.push_str(r#"{"resourceSpans":["#);
    let mut last: Option<&str> = None;
    for (svc, s) in pending.iter() {
        if last != Some(svc.as_str()) {
            if last.is_some() {
                line.push_str("]}]},");
            }
            let _ = write!(
                line,
                r#"{{"resource":{{"attributes":[{{"key":"service.name","value":{{"stringValue":{}}}}}]}},"scopeSpans":[{{"scope":{{"name":"flowtel-synth"}},"spans":["#,
                json_str(svc)
            );
            last = Some(svc.as_str());
        } else {
            line.push(',');
        }
        let _ = write!(
            line,
            r#"{{"traceId":"{}","spanId":"{}","#,
            s.trace_id, s.span_id
        );
        if let Some(p) = s.parent_span_id {
            let _ = write!(line, r#""parentSpanId":"{p}","#);
        }
        let _ = write!(
            line,
            r#""name":{},"kind":{},"startTimeUnixNano":"{}","endTimeUnixNano":"{}","attributes":["#,
            json_str(&s.name),
            s.kind.to_i32(),
            s.start_time_unix_nano,
            s.end_time_unix_nano
        );
        for (i, kv) in s.attributes.iter().enumerate() {
            if i > 0 {
                line.push(',');
            }
            let value = match &kv.value {
                AnyValue::Int(n) => format!(r#"{{"intValue":"{n}"}}"#),
                AnyValue::String(v) => format!(r#"{{"stringValue":{}}}"#, json_str(v)),
                _ => String::from("{}"),
            };
            let _ = write!(line, r#"{{"key":{},"value":{value}}}"#, json_str(&kv.key));
        }
        line.push(']');
        if s.status.code == StatusCode::Error {
            line.push_str(r#","status":{"code":2}"#);
        }
        if !s.links.is_empty() {
            line.push_str(r#","links":["#);
            for (i, l) in s.links.iter().enumerate() {
                if i > 0 {
                    line.push(',');
                }
                let _ = write!(
                    line,
                    r#"{{"traceId":"{}","spanId":"{}"}}"#,
                    l.trace_id, l.span_id
                );
            }
            line.push(']');
        }
        line.push('}');
    }
    if last.is_some() {
        line.push_str("]}]}");
    }
    line.push_str("]}\n");
    pending.clear();
    out.write_all(line.as_bytes())
}

fn json_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| String::from("\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::{AssemblyOptions, TraceSetBuilder};

    #[test]
    fn json_lines_read_back_as_the_generated_traces() {
        let shape = Shape::default();
        let mut file = Vec::new();
        let written = write_json_lines(20, shape, 3, &mut file).unwrap();
        let reg = crate::testing::registry();

        let mut direct = TraceSetBuilder::new(&reg, AssemblyOptions::default());
        generate(20, shape, 3, |svc, s| direct.add_span(svc, &s));
        let direct = direct.finish();

        let mut read = TraceSetBuilder::new(&reg, AssemblyOptions::default());
        let text = String::from_utf8(file).unwrap();
        for (i, line) in text.lines().enumerate() {
            let batch = flowtel_otlp::decode_json(&format!("line {i}"), line.as_bytes())
                .unwrap_or_else(|e| panic!("line {i}: {e}"));
            read.add_batch(&batch);
        }
        let read = read.finish();
        assert_eq!(written, direct.stats.spans_held);
        assert_eq!(read.stats.spans_held, direct.stats.spans_held);
        assert_eq!(read.traces.len(), 20);
        let shape_of = |set: &crate::TraceSet| {
            let mut v: Vec<(String, u64, String, String, bool, u32)> = set
                .spans
                .iter()
                .map(|s| {
                    (
                        s.span_id.to_string(),
                        s.duration(),
                        set.str(s.service).to_string(),
                        set.str(s.label).to_string(),
                        s.is_error(),
                        s.resend_count,
                    )
                })
                .collect();
            v.sort();
            v
        };
        assert_eq!(shape_of(&read), shape_of(&direct));
    }
}
