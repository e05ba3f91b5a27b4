//! Partial traces: how complete the traces of each flow are, and the service pairs where
//! context propagation breaks.
//!
//! A trace is partial when a span names a parent that is in none of the inputs. The caller of
//! such an orphan is inferred from the complete traces: the service that is the parent of spans
//! with the same service and name elsewhere, else the service of the trace's root. Findings:
//! [`rules::PARTIAL_TRACES`] per flow over the threshold, [`rules::BROKEN_PROPAGATION`] per pair.

use std::collections::{BTreeMap, HashMap};

use flowtel_conventions::Finding;
use flowtel_conventions::rules::analysis as rules;
use serde::Serialize;

use crate::strings::Sym;
use crate::trace::TraceSet;

/// Default of the share of partial traces per flow over which [`Completeness::findings`]
/// reports an error.
pub const DEFAULT_MAX_PARTIAL: f64 = 0.05;

/// Name used for traces without a flow.
pub const NO_FLOW: &str = "(no flow)";

/// Completeness of one flow's traces.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FlowCompleteness {
    /// The flow ([`NO_FLOW`] for traces without one).
    pub flow: String,
    /// Traces of the flow.
    pub traces: u64,
    /// Of them, partial.
    pub partial: u64,
}

impl FlowCompleteness {
    /// Share of complete traces, 1.0 for no traces.
    pub fn complete_ratio(&self) -> f64 {
        if self.traces == 0 {
            1.0
        } else {
            1.0 - self.partial as f64 / self.traces as f64
        }
    }
}

/// Where context propagation breaks: spans of `callee` whose parent, inferred to be in
/// `caller`, never arrived.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PropagationBreak {
    /// The service the missing parents belong to (`unknown` when it cannot be inferred).
    pub caller: String,
    /// The service of the orphans.
    pub callee: String,
    /// Spans of `callee` whose parent never arrived.
    pub orphans: u64,
    /// Spans of `callee` entered from another service or from a missing parent.
    pub entered: u64,
}

/// Completeness per flow and the broken service pairs.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Completeness {
    /// Per flow, in order of first appearance.
    pub flows: Vec<FlowCompleteness>,
    /// Per (caller, callee), most orphans first.
    pub breaks: Vec<PropagationBreak>,
}

impl Completeness {
    /// Computes completeness over every trace of `set`.
    pub fn of(set: &TraceSet) -> Completeness {
        let mut flows: Vec<FlowCompleteness> = Vec::new();
        let mut flow_index: HashMap<Sym, usize> = HashMap::new();
        // (callee service, callee name) -> caller service -> count, from spans whose parent is
        // in another service.
        let mut callers: HashMap<(Sym, Sym), HashMap<Sym, u64>> = HashMap::new();
        let mut entered: HashMap<Sym, u64> = HashMap::new();
        for s in &set.spans {
            if s.has_parent() {
                let p = &set.spans[s.parent as usize];
                if p.service != s.service {
                    *callers
                        .entry((s.service, s.name))
                        .or_default()
                        .entry(p.service)
                        .or_default() += 1;
                    *entered.entry(s.service).or_default() += 1;
                }
            } else if s.is_orphan() {
                *entered.entry(s.service).or_default() += 1;
            }
        }
        let mut pairs: BTreeMap<(String, String), u64> = BTreeMap::new();
        for t in &set.traces {
            let i = *flow_index.entry(t.flow).or_insert_with(|| {
                flows.push(FlowCompleteness {
                    flow: set.flow_of(t).unwrap_or(NO_FLOW).to_string(),
                    traces: 0,
                    partial: 0,
                });
                flows.len() - 1
            });
            flows[i].traces += 1;
            if !t.is_partial() {
                continue;
            }
            flows[i].partial += 1;
            let root = set.root_of(t);
            for s in set.spans_of(t).iter().filter(|s| s.is_orphan()) {
                let caller = callers
                    .get(&(s.service, s.name))
                    .and_then(|c| {
                        c.iter()
                            .max_by_key(|(sym, n)| (**n, std::cmp::Reverse(**sym)))
                    })
                    .map(|(sym, _)| set.str(*sym))
                    .or_else(|| {
                        (root.parent_id.is_zero() && root.service != s.service)
                            .then(|| set.str(root.service))
                    })
                    .unwrap_or("unknown");
                *pairs
                    .entry((caller.to_string(), set.str(s.service).to_string()))
                    .or_default() += 1;
            }
        }
        let mut breaks: Vec<PropagationBreak> = pairs
            .into_iter()
            .map(|((caller, callee), orphans)| {
                let entered = set
                    .strings
                    .get(&callee)
                    .and_then(|c| entered.get(&c).copied())
                    .unwrap_or(orphans);
                PropagationBreak {
                    caller,
                    callee,
                    orphans,
                    entered,
                }
            })
            .collect();
        breaks.sort_by_key(|b| std::cmp::Reverse(b.orphans));
        Completeness { flows, breaks }
    }

    /// [`rules::PARTIAL_TRACES`] for each flow whose share of partial traces is over
    /// `max_partial` (0.05 = 5%), and [`rules::BROKEN_PROPAGATION`] for each broken pair.
    pub fn findings(&self, max_partial: f64) -> Vec<Finding> {
        let mut out = Vec::new();
        for f in &self.flows {
            let share = 1.0 - f.complete_ratio();
            if f.partial > 0 && share > max_partial {
                out.push(
                    Finding::new(
                        &rules::PARTIAL_TRACES,
                        format!(
                            "{}: {} of {} traces partial ({:.1}%, threshold {:.1}%)",
                            f.flow,
                            f.partial,
                            f.traces,
                            share * 100.0,
                            max_partial * 100.0
                        ),
                    )
                    .subject("flow", f.flow.clone())
                    .subject("partial", f.partial.to_string())
                    .subject("traces", f.traces.to_string())
                    .help("see the broken-propagation findings for where context is lost; raise `--max-partial` if the capture window cuts traces"),
                );
            }
        }
        for b in &self.breaks {
            let from = if b.caller == b.callee {
                format!("(in {})", b.caller)
            } else {
                format!("from {}", b.caller)
            };
            out.push(
                Finding::new(
                    &rules::BROKEN_PROPAGATION,
                    format!(
                        "{} spans whose parent {from} never arrived: {} of {}",
                        b.callee, b.orphans, b.entered
                    ),
                )
                .subject("caller", b.caller.clone())
                .subject("callee", b.callee.clone())
                .subject("orphans", b.orphans.to_string())
                .subject("entered", b.entered.to_string())
                .help(format!(
                    "check that {} injects `traceparent` on its calls and that its exporter flushes before exit",
                    b.caller
                )),
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::{span, with_attr};
    use crate::testing::assemble;
    use flowtel_otlp::SpanKind as K;

    /// `n` checkout traces gateway -> payments; in the first `broken` of them the gateway's
    /// client span never arrived.
    fn traces(n: u64, broken: u64) -> Vec<(&'static str, flowtel_otlp::Span)> {
        let mut out = Vec::new();
        for t in 1..=n {
            let id = t * 10;
            let root = with_attr(
                span(t.into(), id, 0, "POST /checkout", K::Server, 100, 900),
                "flow.name",
                "checkout",
            );
            out.push(("gateway", root));
            if t > broken {
                out.push((
                    "gateway",
                    span(t.into(), id + 1, id, "POST", K::Client, 200, 800),
                ));
            }
            out.push((
                "payments",
                span(
                    t.into(),
                    id + 2,
                    id + 1,
                    "POST /payments",
                    K::Server,
                    300,
                    700,
                ),
            ));
        }
        out
    }

    #[test]
    fn names_the_flow_and_the_service_pair_where_context_is_lost() {
        let set = assemble(traces(20, 5));
        let c = Completeness::of(&set);
        assert_eq!(
            c.flows,
            [FlowCompleteness {
                flow: "checkout".into(),
                traces: 20,
                partial: 5
            }]
        );
        assert_eq!(
            c.breaks,
            [PropagationBreak {
                caller: "gateway".into(),
                callee: "payments".into(),
                orphans: 5,
                entered: 20
            }]
        );
        let f = c.findings(DEFAULT_MAX_PARTIAL);
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].rule.id, "FT0601");
        assert_eq!(
            f[0].message,
            "checkout: 5 of 20 traces partial (25.0%, threshold 5.0%)"
        );
        assert_eq!(f[1].rule.id, "FT0602");
        assert_eq!(
            f[1].message,
            "payments spans whose parent from gateway never arrived: 5 of 20"
        );
    }

    #[test]
    fn under_the_threshold_only_the_pair_is_reported_as_a_warning() {
        let set = assemble(traces(100, 1));
        let f = Completeness::of(&set).findings(DEFAULT_MAX_PARTIAL);
        let ids: Vec<&str> = f.iter().map(|f| f.rule.id).collect();
        assert_eq!(ids, ["FT0602"]);
        assert!(
            Completeness::of(&assemble(traces(10, 0)))
                .findings(0.0)
                .is_empty()
        );
    }
}
