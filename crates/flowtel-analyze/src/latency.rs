//! Latency against budgets: P50/P95/P99/max of every flow and step, next to the step budgets
//! and the flow's SLO latency threshold from the conventions.
//!
//! A flow's duration is its trace's root span; a step's are the spans carrying its `flow.step`
//! in the flow's traces. Quantiles are exact on the sample (nearest rank, [`crate::stats`]). A
//! quantile over its budget, or the flow's quantile at the SLO `target` over its `threshold`,
//! is an [`rules::OVER_BUDGET`] finding.

use std::collections::HashMap;

use flowtel_conventions::rules::analysis as rules;
use flowtel_conventions::{Finding, Registry};
use serde::Serialize;

use crate::completeness::NO_FLOW;
use crate::render::ms;
use crate::stats::{Quantiles, quantile};
use crate::strings::Sym;
use crate::trace::TraceSet;

/// One budget compared with the measured quantile.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BudgetCheck {
    /// `p50`, `p95` or `p99`.
    pub quantile: String,
    /// The budget, nanoseconds.
    pub budget_ns: u64,
    /// The measured quantile, nanoseconds.
    pub actual_ns: u64,
    /// Whether the measured quantile is over the budget.
    pub over: bool,
}

/// The flow's SLO latency objective compared with its traces.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SloCheck {
    /// The threshold, nanoseconds.
    pub threshold_ns: u64,
    /// Percentage of requests that must stay under it.
    pub target: f64,
    /// The measured quantile at `target`, nanoseconds.
    pub actual_ns: u64,
    /// Share of traces under the threshold, percent.
    pub under_percent: f64,
    /// Whether the objective is missed.
    pub over: bool,
}

/// Latency of one step of a flow.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StepLatency {
    /// The step.
    pub step: String,
    /// The service that performs it (declared, else seen).
    pub service: String,
    /// Whether the conventions declare the step.
    pub declared: bool,
    /// Quantiles of its spans' durations, nanoseconds.
    pub latency: Quantiles,
    /// Budgets from the conventions.
    pub budgets: Vec<BudgetCheck>,
    /// Sorted durations of its spans (for histograms), nanoseconds.
    #[serde(skip)]
    pub samples: Vec<u64>,
}

/// Latency of one flow and its steps.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FlowLatency {
    /// The flow ([`NO_FLOW`] for traces without one).
    pub flow: String,
    /// Quantiles of its traces' durations (root span), nanoseconds.
    pub latency: Quantiles,
    /// The SLO latency objective, when declared.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slo: Option<SloCheck>,
    /// Steps: declared ones in declaration order, then others seen.
    pub steps: Vec<StepLatency>,
    /// Sorted durations of the flow's traces (for histograms), nanoseconds.
    #[serde(skip)]
    pub samples: Vec<u64>,
}

/// Latency of every flow in a trace set.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct LatencyReport {
    /// Per flow, declared flows first in declaration order.
    pub flows: Vec<FlowLatency>,
}

/// A step's spans in one flow: `((flow, step), (service, durations))`.
type StepSample = ((Sym, Sym), (Sym, Vec<u64>));

fn nanos(d: &flowtel_conventions::duration::Duration) -> Option<u64> {
    d.get()
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

impl LatencyReport {
    /// Computes the latency of every flow and step of `set` against `reg`.
    pub fn of(set: &TraceSet, reg: &Registry) -> LatencyReport {
        let mut flow_samples: HashMap<Sym, Vec<u64>> = HashMap::new();
        let mut step_samples: HashMap<(Sym, Sym), (Sym, Vec<u64>)> = HashMap::new();
        let mut seen_order: Vec<Sym> = Vec::new();
        for t in &set.traces {
            let e = flow_samples.entry(t.flow).or_insert_with(|| {
                seen_order.push(t.flow);
                Vec::new()
            });
            e.push(set.root_of(t).duration());
            for s in set.spans_of(t) {
                if !s.step.is_empty() {
                    step_samples
                        .entry((t.flow, s.step))
                        .or_insert_with(|| (s.service, Vec::new()))
                        .1
                        .push(s.duration());
                }
            }
        }
        let mut flows = Vec::new();
        let mut order: Vec<(String, Sym)> = reg
            .flows
            .keys()
            .filter_map(|f| {
                set.strings
                    .get(f)
                    .filter(|s| flow_samples.contains_key(s))
                    .map(|s| (f.clone(), s))
            })
            .collect();
        for f in seen_order {
            if !order.iter().any(|(_, s)| *s == f) {
                let name = if f.is_empty() { NO_FLOW } else { set.str(f) };
                order.push((name.to_string(), f));
            }
        }
        for (name, sym) in order {
            let mut samples = flow_samples.remove(&sym).unwrap_or_default();
            let latency = Quantiles::of(&mut samples);
            let decl = reg.flows.get(&name);
            let slo = decl
                .and_then(|f| f.slo.as_ref())
                .and_then(|s| s.latency.as_ref())
                .and_then(|l| {
                    let threshold_ns = nanos(&l.threshold)?;
                    let actual_ns = quantile(&samples, l.target / 100.0)?;
                    let under = samples.partition_point(|&d| d <= threshold_ns);
                    let under_percent = 100.0 * under as f64 / samples.len() as f64;
                    Some(SloCheck {
                        threshold_ns,
                        target: l.target,
                        actual_ns,
                        under_percent,
                        over: under_percent < l.target,
                    })
                });
            let mut steps = Vec::new();
            if let Some(f) = decl {
                for (step, spec) in &f.steps {
                    let sample = set
                        .strings
                        .get(step)
                        .and_then(|s| step_samples.remove(&(sym, s)));
                    let (service, mut values) = match sample {
                        Some((svc, v)) => (set.str(svc).to_string(), v),
                        None => (spec.service.clone().unwrap_or_default(), Vec::new()),
                    };
                    let latency = Quantiles::of(&mut values);
                    let budgets = spec
                        .budget
                        .iter()
                        .flat_map(|b| b.entries())
                        .filter_map(|(q, d)| {
                            let budget_ns = nanos(d)?;
                            let actual_ns = latency.get(q)?;
                            Some(BudgetCheck {
                                quantile: q.to_string(),
                                budget_ns,
                                actual_ns,
                                over: latency.count > 0 && actual_ns > budget_ns,
                            })
                        })
                        .collect();
                    steps.push(StepLatency {
                        step: step.clone(),
                        service: spec.service.clone().unwrap_or(service),
                        declared: true,
                        latency,
                        budgets,
                        samples: values,
                    });
                }
            }
            let mut rest: Vec<StepSample> = step_samples
                .iter()
                .filter(|((f, _), _)| *f == sym)
                .map(|(k, v)| (*k, v.clone()))
                .collect();
            rest.sort_by(|a, b| set.str(a.0.1).cmp(set.str(b.0.1)));
            for ((_, step), (svc, mut values)) in rest {
                step_samples.remove(&(sym, step));
                let latency = Quantiles::of(&mut values);
                steps.push(StepLatency {
                    step: set.str(step).to_string(),
                    service: set.str(svc).to_string(),
                    declared: false,
                    latency,
                    budgets: Vec::new(),
                    samples: values,
                });
            }
            flows.push(FlowLatency {
                flow: name,
                latency,
                slo,
                steps,
                samples,
            });
        }
        LatencyReport { flows }
    }

    /// An [`rules::OVER_BUDGET`] finding for every budget exceeded and every SLO latency
    /// objective missed.
    pub fn findings(&self) -> Vec<Finding> {
        let mut out = Vec::new();
        for f in &self.flows {
            if let Some(slo) = &f.slo
                && slo.over
            {
                out.push(
                    Finding::new(
                        &rules::OVER_BUDGET,
                        format!(
                            "{}: P{} {} over the SLO latency threshold {} ({:.1}% of {} traces under it, target {}%)",
                            f.flow,
                            slo.target,
                            ms(slo.actual_ns),
                            ms(slo.threshold_ns),
                            slo.under_percent,
                            f.latency.count,
                            slo.target
                        ),
                    )
                    .subject("flow", f.flow.clone())
                    .subject("quantile", format!("p{}", slo.target))
                    .subject("actual_ns", slo.actual_ns.to_string())
                    .subject("budget_ns", slo.threshold_ns.to_string()),
                );
            }
            for s in &f.steps {
                for b in s.budgets.iter().filter(|b| b.over) {
                    out.push(
                        Finding::new(
                            &rules::OVER_BUDGET,
                            format!(
                                "{} {} on {}: {} {} over its budget {} ({} spans)",
                                f.flow,
                                s.step,
                                s.service,
                                b.quantile.to_uppercase(),
                                ms(b.actual_ns),
                                ms(b.budget_ns),
                                s.latency.count
                            ),
                        )
                        .subject("flow", f.flow.clone())
                        .subject("step", s.step.clone())
                        .subject("service", s.service.clone())
                        .subject("quantile", b.quantile.clone())
                        .subject("actual_ns", b.actual_ns.to_string())
                        .subject("budget_ns", b.budget_ns.to_string())
                        .help("see `flowtel critical-path` for where the time goes"),
                    );
                }
            }
        }
        out
    }
}
