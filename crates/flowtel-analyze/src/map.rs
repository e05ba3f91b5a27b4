//! The service dependency map: services as nodes, calls between them as edges with health,
//! latency and retries.
//!
//! Edges come from CLIENT→SERVER and PRODUCER→CONSUMER pairs across services, and from
//! parent→child across services when the kinds are missing. A client or producer span with no
//! child in another service calls an uninstrumented peer: it becomes a virtual node named from
//! `peer.service`, `server.address[:port]`, `db.system.name` or `messaging.system`, unless that
//! address was seen answering as an instrumented service elsewhere. An edge carries its calls,
//! error rate, P50/P95/P99 of the client-side duration, and retries: a call is a retry when an
//! earlier call from the same parent span went to the same peer with the same name and route,
//! or when it carries `http.request.resend_count` > 0. Amplification is calls / logical calls;
//! over [`AMPLIFICATION_LIMIT`] the edge is flagged ([`rules::RETRY_AMPLIFICATION`]).
//!
//! Errors follow the availability SLO's classification ([`crate::trace::Span::is_fault`]): a
//! 5xx answer or a call that failed without an answer is an error and makes the edge unhealthy;
//! a 4xx answer (a declined card, a wrong password, a 404) is the caller's mistake, counted as a
//! client error beside it and never colouring the edge. Span status alone (which marks a
//! client's 4xx as an error) would show an outage where the SLO reads 100%.

use std::collections::HashMap;

use foldhash::fast::RandomState;

use flowtel_conventions::Finding;
use flowtel_conventions::rules::analysis as rules;
use serde::Serialize;

use crate::stats::Quantiles;
use crate::strings::Sym;
use crate::trace::{Kind, NO_PARENT, TraceSet};

/// No answering service (a symbol no string has).
const NOBODY: Sym = Sym(u32::MAX);

/// Amplification (calls / logical calls) over which an edge is flagged.
pub const AMPLIFICATION_LIMIT: f64 = 1.2;

/// A service, or an uninstrumented peer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Node {
    /// Service name, or the peer's name for a virtual node.
    pub name: String,
    /// Whether it is an uninstrumented peer seen only from its callers.
    #[serde(rename = "virtual")]
    pub is_virtual: bool,
    /// Spans it reported (0 for a virtual node).
    pub spans: u64,
    /// Of them, failed by the SLO's classification ([`crate::trace::Span::is_fault`]).
    pub errors: u64,
    /// Of them, answered with a 4xx ([`crate::trace::Span::is_client_error`]).
    pub client_errors: u64,
}

/// Calls from one node to another.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Edge {
    /// Caller.
    pub from: String,
    /// Callee.
    pub to: String,
    /// `request` (client/server), `message` (producer/consumer) or `inferred` (kinds missing).
    pub kind: &'static str,
    /// Calls, retries included.
    pub calls: u64,
    /// Failed calls by the availability SLO's classification: answered with a 5xx, or failed
    /// without an answer (status `ERROR` with no 4xx). 4xx answers are not in it (see
    /// `client_errors`); before `client_errors` existed they were.
    pub errors: u64,
    /// `errors / calls`: the share of calls the callee (or the way to it) failed. Health
    /// ([`Edge::health`]) reads it.
    pub error_rate: f64,
    /// Calls answered with a 4xx (`http.response.status_code` 400-499): the caller's mistake,
    /// reported but not unhealthy.
    pub client_errors: u64,
    /// `client_errors / calls`.
    pub client_error_rate: f64,
    /// Caller-side duration of the calls, nanoseconds.
    pub latency: Quantiles,
    /// Calls that were retries.
    pub retries: u64,
    /// `calls - retries`.
    pub logical_calls: u64,
    /// `calls / logical_calls`.
    pub amplification: f64,
    /// Whether `amplification` is over [`AMPLIFICATION_LIMIT`].
    pub flagged: bool,
}

impl Edge {
    /// `ok`, `degraded` (error rate over 1%) or `failing` (over 5%); client errors (4xx) do not
    /// count.
    pub fn health(&self) -> &'static str {
        if self.error_rate > 0.05 {
            "failing"
        } else if self.error_rate > 0.01 {
            "degraded"
        } else {
            "ok"
        }
    }
}

/// The map of one flow, or of all traces.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ServiceMap {
    /// The flow, `None` for the map of every trace.
    pub flow: Option<String>,
    /// Traces the map is built from.
    pub traces: u64,
    /// The traces they stand for: sampled traces (`ot=th:` in `tracestate`) weighed by
    /// 1 / their probability; equal to `traces` for unsampled input. Calls, errors, retries and
    /// span counts are weighed the same way.
    pub estimated_traces: u64,
    /// Nodes, instrumented services first, by name.
    pub nodes: Vec<Node>,
    /// Edges, by caller then callee.
    pub edges: Vec<Edge>,
}

#[derive(Default)]
struct EdgeAcc {
    kind: &'static str,
    calls: f64,
    errors: f64,
    client_errors: f64,
    retries: f64,
    durations: Vec<u64>,
}

#[derive(Default)]
struct NodeAcc {
    is_virtual: bool,
    spans: f64,
    errors: f64,
    client_errors: f64,
}

/// One call between services in one trace, as the live aggregates count it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Call {
    /// Caller's service.
    pub client: Sym,
    /// Callee: the service that answered, else the peer the caller named (empty when none).
    pub server: Sym,
    /// Client-side duration (nanoseconds), `None` when the call was inferred from a parent in
    /// another service without client/server kinds.
    pub client_ns: Option<u64>,
    /// Server-side duration (nanoseconds), `None` for an uninstrumented peer.
    pub server_ns: Option<u64>,
    /// Whether the call failed by the SLO's classification (the client span, else the server
    /// span, is a [fault](crate::trace::Span::is_fault); a 4xx answer is not).
    pub failed: bool,
    /// Whether it repeats an earlier call of the same parent to the same peer and route, or
    /// carries `http.request.resend_count` > 0.
    pub retry: bool,
}

/// The calls between services in `trace` of `set`, into `out` (cleared first), with the rules of
/// [`ServiceMap::build`] applied to one trace: a client or producer span answered by a span of
/// another service calls that service, else its peer; a child of a span in another service
/// without client/server kinds is an inferred call.
pub fn calls_of(set: &TraceSet, trace: &crate::trace::Trace, out: &mut Vec<Call>) {
    out.clear();
    let spans = set.spans_of(trace);
    let base = trace.spans.start;
    // First answering span of each outgoing span.
    let mut answered: HashMap<u32, u32, RandomState> = HashMap::default();
    for (off, s) in spans.iter().enumerate() {
        if s.parent == NO_PARENT {
            continue;
        }
        let p = &set.spans[s.parent as usize];
        if p.service != s.service && p.kind.is_outgoing() {
            answered.entry(s.parent).or_insert(base + off as u32);
        }
    }
    let mut seen: HashMap<(u32, Sym, Sym, Sym, Sym), u32, RandomState> = HashMap::default();
    for (off, s) in spans.iter().enumerate() {
        let i = base + off as u32;
        if s.kind.is_outgoing() {
            let callee = answered.get(&i).map(|&c| &set.spans[c as usize]);
            let server = callee.map_or(s.peer, |c| c.service);
            if server == s.service {
                continue;
            }
            let before = seen
                .entry((s.parent, server, s.name, s.route, s.method))
                .or_insert(0);
            let retry = s.resend_count > 0 || (s.parent != NO_PARENT && *before > 0);
            *before += 1;
            out.push(Call {
                client: s.service,
                server,
                client_ns: Some(s.duration()),
                server_ns: callee.map(|c| c.duration()),
                failed: s.is_fault()
                    || (!s.is_client_error() && callee.is_some_and(|c| c.is_fault())),
                retry,
            });
        } else if s.parent != NO_PARENT {
            let p = &set.spans[s.parent as usize];
            if p.service != s.service && !p.kind.is_outgoing() {
                out.push(Call {
                    client: p.service,
                    server: s.service,
                    client_ns: None,
                    server_ns: Some(s.duration()),
                    failed: s.is_fault(),
                    retry: false,
                });
            }
        }
    }
}

/// A weighed count as a whole number.
fn count(x: f64) -> u64 {
    x.round().max(0.0) as u64
}

impl ServiceMap {
    /// The map of the traces of `flow` (every trace when `None`).
    ///
    /// Linear in the spans: one pass over every span finds which peer addresses answer as
    /// instrumented services, then each trace in scope is walked with per-trace buffers that
    /// are reused (so memory touched per trace stays small and in cache whatever the input's
    /// size).
    pub fn build(set: &TraceSet, flow: Option<&str>) -> ServiceMap {
        let flow_sym = flow.map(|f| set.strings.get(f));
        let in_scope = |t: u32| match flow_sym {
            None => true,
            Some(None) => false,
            Some(Some(f)) => set.traces[t as usize].flow == f,
        };
        // What each peer address is, when some outgoing span naming it was answered by an
        // instrumented service.
        let mut address: HashMap<Sym, Sym, RandomState> = HashMap::default();
        for s in &set.spans {
            if s.parent == NO_PARENT {
                continue;
            }
            let p = &set.spans[s.parent as usize];
            if p.service != s.service && p.kind.is_outgoing() && !p.peer.is_empty() {
                address.entry(p.peer).or_insert(s.service);
            }
        }
        let mut nodes: HashMap<Sym, NodeAcc, RandomState> = HashMap::default();
        let mut edges: HashMap<(Sym, Sym), EdgeAcc, RandomState> = HashMap::default();
        // Per trace: the service that first answered each outgoing span (offset in the trace),
        // and the calls seen per (parent, callee, name, route, method) for retries.
        let mut answered: Vec<Sym> = Vec::new();
        let mut seen_calls: HashMap<(u32, Sym, Sym, Sym, Sym), u32, RandomState> =
            HashMap::default();
        let mut traces = 0u64;
        let mut estimated = 0f64;
        for (t, trace) in set.traces.iter().enumerate() {
            if !in_scope(t as u32) {
                continue;
            }
            traces += 1;
            let w = trace.weight();
            estimated += w;
            let spans = set.spans_of(trace);
            let base = trace.spans.start;
            answered.clear();
            answered.resize(spans.len(), NOBODY);
            for s in spans {
                if s.parent == NO_PARENT {
                    continue;
                }
                let off = (s.parent - base) as usize;
                let p = &spans[off];
                if p.service != s.service && p.kind.is_outgoing() && answered[off] == NOBODY {
                    answered[off] = s.service;
                }
            }
            seen_calls.clear();
            for (off, s) in spans.iter().enumerate() {
                let node = nodes.entry(s.service).or_default();
                node.spans += w;
                node.errors += if s.is_fault() { w } else { 0.0 };
                node.client_errors += if s.is_client_error() { w } else { 0.0 };
                if s.kind.is_outgoing() {
                    let (to, is_virtual) = match answered[off] {
                        NOBODY => match address.get(&s.peer) {
                            Some(&svc) if !s.peer.is_empty() => (svc, false),
                            _ => (s.peer, true),
                        },
                        svc => (svc, false),
                    };
                    if to == s.service && !is_virtual {
                        continue;
                    }
                    if is_virtual {
                        nodes.entry(to).or_insert_with(|| NodeAcc {
                            is_virtual: true,
                            ..NodeAcc::default()
                        });
                    }
                    let key = (s.parent, to, s.name, s.route, s.method);
                    let before = seen_calls.entry(key).or_insert(0);
                    let retry = s.resend_count > 0 || (s.parent != NO_PARENT && *before > 0);
                    *before += 1;
                    let e = edges.entry((s.service, to)).or_default();
                    e.kind = if s.kind == Kind::Producer {
                        "message"
                    } else {
                        "request"
                    };
                    e.calls += w;
                    e.errors += if s.is_fault() { w } else { 0.0 };
                    e.client_errors += if s.is_client_error() { w } else { 0.0 };
                    e.retries += if retry { w } else { 0.0 };
                    e.durations.push(s.duration());
                } else if s.parent != NO_PARENT {
                    let p = &spans[(s.parent - base) as usize];
                    if p.service != s.service && !p.kind.is_outgoing() {
                        // Context crossed services without client/server kinds.
                        let e = edges.entry((p.service, s.service)).or_default();
                        e.kind = "inferred";
                        e.calls += w;
                        e.errors += if s.is_fault() { w } else { 0.0 };
                        e.client_errors += if s.is_client_error() { w } else { 0.0 };
                        e.durations.push(s.duration());
                    }
                }
            }
        }
        let mut nodes: Vec<Node> = nodes
            .into_iter()
            .map(|(sym, n)| Node {
                name: nodes_name(set, sym),
                is_virtual: n.is_virtual,
                spans: count(n.spans),
                errors: count(n.errors),
                client_errors: count(n.client_errors),
            })
            .collect();
        nodes.sort_by(|a, b| a.is_virtual.cmp(&b.is_virtual).then(a.name.cmp(&b.name)));
        let mut edges: Vec<Edge> = edges
            .into_iter()
            .map(|((from, to), mut acc)| {
                let (calls, retries) = (count(acc.calls), count(acc.retries));
                let logical = calls - retries.min(calls);
                let amplification = if logical > 0 {
                    calls as f64 / logical as f64
                } else {
                    calls as f64
                };
                Edge {
                    from: set.str(from).to_string(),
                    to: nodes_name(set, to),
                    kind: acc.kind,
                    calls,
                    errors: count(acc.errors),
                    error_rate: acc.errors / acc.calls.max(1.0),
                    client_errors: count(acc.client_errors),
                    client_error_rate: acc.client_errors / acc.calls.max(1.0),
                    latency: Quantiles::of(&mut acc.durations),
                    retries,
                    logical_calls: logical,
                    amplification,
                    flagged: amplification > AMPLIFICATION_LIMIT,
                }
            })
            .collect();
        edges.sort_by(|a, b| a.from.cmp(&b.from).then(a.to.cmp(&b.to)));
        ServiceMap {
            flow: flow.map(str::to_string),
            traces,
            estimated_traces: count(estimated),
            nodes,
            edges,
        }
    }

    /// A [`rules::RETRY_AMPLIFICATION`] finding for every flagged edge.
    pub fn findings(&self) -> Vec<Finding> {
        self.edges
            .iter()
            .filter(|e| e.flagged)
            .map(|e| {
                let mut f = Finding::new(
                    &rules::RETRY_AMPLIFICATION,
                    format!(
                        "{} -> {}: {} calls for {} logical calls ({:.2}x){}",
                        e.from,
                        e.to,
                        e.calls,
                        e.logical_calls,
                        e.amplification,
                        self.flow.as_ref().map(|f| format!(" in {f}")).unwrap_or_default()
                    ),
                )
                .subject("from", e.from.clone())
                .subject("to", e.to.clone())
                .subject("calls", e.calls.to_string())
                .subject("retries", e.retries.to_string())
                .help("bound retries (one retry with backoff, a retry budget) and retry at one layer only");
                if let Some(flow) = &self.flow {
                    f = f.subject("flow", flow.clone());
                }
                f
            })
            .collect()
    }
}

fn nodes_name(set: &TraceSet, sym: Sym) -> String {
    match set.str(sym) {
        "" => "unknown".to_string(),
        s => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::{failed, span, with_attr};
    use crate::testing::assemble;
    use flowtel_otlp::SpanKind as K;

    /// A gateway -> payments call in trace `t`; `trace_state` on every span.
    fn call(t: u128, trace_state: &str, error: bool) -> Vec<(&'static str, flowtel_otlp::Span)> {
        let base = t as u64 * 1_000;
        let mut client = span(t, base + 2, base + 1, "POST", K::Client, 1010, 1090);
        if error {
            client = failed(client);
        }
        let mut spans = vec![
            (
                "gateway",
                with_attr(
                    span(t, base + 1, 0, "POST /checkout", K::Server, 1000, 1100),
                    "flow.name",
                    "checkout",
                ),
            ),
            ("gateway", client),
            (
                "payments",
                span(t, base + 3, base + 2, "POST /pay", K::Server, 1020, 1080),
            ),
        ];
        for (_, s) in &mut spans {
            s.trace_state = trace_state.to_string();
        }
        spans
    }

    #[test]
    fn sampled_traces_are_weighed_back_to_the_traffic_they_stand_for() {
        // Two traces kept by a 10% sampler (`th:e6666666666666`) and one unsampled trace.
        let tenth = "ot=th:e6666666666666";
        let mut spans = call(1, tenth, false);
        spans.extend(call(2, tenth, true));
        spans.extend(call(3, "", false));
        let set = assemble(spans);
        let sampled = set.sampled_input().expect("the input is sampled");
        assert_eq!(sampled.traces, 3);
        assert_eq!(sampled.sampled_traces, 2);
        assert_eq!(sampled.estimated_traces, 21);
        assert!(
            sampled.note().contains("2 of 3 traces"),
            "{}",
            sampled.note()
        );

        let map = ServiceMap::build(&set, Some("checkout"));
        assert_eq!((map.traces, map.estimated_traces), (3, 21));
        let edge = &map.edges[0];
        assert_eq!(
            (edge.from.as_str(), edge.to.as_str()),
            ("gateway", "payments")
        );
        assert_eq!(edge.calls, 21);
        assert_eq!(edge.errors, 10);
        assert!((edge.error_rate - 10.0 / 21.0).abs() < 1e-9);
        let gateway = map.nodes.iter().find(|n| n.name == "gateway").unwrap();
        assert_eq!(gateway.spans, 42);
    }

    #[test]
    fn unsampled_input_is_not_called_sampled() {
        let set = assemble(call(1, "vendor=x", false));
        assert_eq!(set.sampled_input(), None);
        let map = ServiceMap::build(&set, None);
        assert_eq!((map.traces, map.estimated_traces), (1, 1));
        assert_eq!(map.edges[0].calls, 1);
    }

    #[test]
    fn four_hundreds_are_client_errors_and_leave_the_edge_healthy() {
        use crate::synth::with_int;
        // Ten calls gateway -> payments: three declined cards (402, the client span ERROR as
        // semantic conventions have it), one 503, one timeout with no answer, five fine.
        let mut spans = Vec::new();
        for t in 1..=10u128 {
            let mut call = call(t, "", false);
            let status = match t {
                1..=3 => Some(402),
                4 => Some(503),
                5 => None,
                _ => Some(200),
            };
            let (client, server) = (&mut call[1].1, t == 5);
            if let Some(code) = status {
                *client = with_int(client.clone(), "http.response.status_code", code);
                call[2].1 = with_int(call[2].1.clone(), "http.response.status_code", code);
                if code >= 400 {
                    call[1].1 = failed(call[1].1.clone());
                }
                if code >= 500 {
                    call[2].1 = failed(call[2].1.clone());
                }
            } else if server {
                // Timed out: the client failed, the server's span never arrived.
                call[1].1 = failed(with_attr(call[1].1.clone(), "peer.service", "payments"));
                call.pop();
            }
            spans.extend(call);
        }
        let set = assemble(spans);
        let map = ServiceMap::build(&set, Some("checkout"));
        let edge = &map.edges[0];
        assert_eq!((edge.calls, edge.errors, edge.client_errors), (10, 2, 3));
        assert!((edge.error_rate - 0.2).abs() < 1e-9);
        assert!((edge.client_error_rate - 0.3).abs() < 1e-9);
        let gateway = map.nodes.iter().find(|n| n.name == "gateway").unwrap();
        assert_eq!((gateway.errors, gateway.client_errors), (2, 3));
        let payments = map.nodes.iter().find(|n| n.name == "payments").unwrap();
        assert_eq!((payments.errors, payments.client_errors), (1, 3));

        // Only the declines: span status says 30% errors, the edge stays healthy.
        let mut declines = Vec::new();
        for t in 1..=10u128 {
            let mut call = call(t, "", t <= 3);
            if t <= 3 {
                call[1].1 = with_int(call[1].1.clone(), "http.response.status_code", 402);
                call[2].1 = with_int(call[2].1.clone(), "http.response.status_code", 402);
            }
            declines.extend(call);
        }
        let set = assemble(declines);
        assert_eq!(set.spans.iter().filter(|s| s.is_error()).count(), 3);
        let map = ServiceMap::build(&set, None);
        let edge = &map.edges[0];
        assert_eq!(
            (edge.errors, edge.client_errors, edge.health()),
            (0, 3, "ok")
        );
        let mut calls = Vec::new();
        let failed_calls: usize = set
            .traces
            .iter()
            .map(|t| {
                calls_of(&set, t, &mut calls);
                calls.iter().filter(|c| c.failed).count()
            })
            .sum();
        assert_eq!(failed_calls, 0);
    }
}
