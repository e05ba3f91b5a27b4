//! Critical paths aggregated per flow: each service's and step's share of critical-path time
//! around the flow's P50, P95 and P99, and the tail drivers.
//!
//! The share at a percentile is taken over the traces around it by duration rank (P50: P45 to
//! P55; P95: P93 to P97; P99: P98 and up; always at least the trace at the percentile). The tail
//! drivers compare the flow's median traces (P40 to P60) with its traces above P95: a step's
//! growth is its mean critical-path time in the tail minus its mean in the median traces, and
//! its share of the growth is that over the growth of the mean duration.

use std::collections::HashMap;

use foldhash::fast::RandomState;

use serde::Serialize;

use crate::completeness::NO_FLOW;
use crate::critical::TracePath;
use crate::stats::{Quantiles, rank};
use crate::strings::Sym;
use crate::trace::TraceSet;

/// A step's (or service's) share of critical-path time around three percentiles, 0..=1.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Share {
    /// Service.
    pub service: String,
    /// Step (`flow.step`, else the span name); absent in per-service shares.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// Share around P50.
    pub p50: f64,
    /// Share around P95.
    pub p95: f64,
    /// Share around P99.
    pub p99: f64,
}

/// A step whose critical-path time grows between the median traces and the tail.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TailDriver {
    /// Service.
    pub service: String,
    /// Step (`flow.step`, else the span name).
    pub step: String,
    /// Mean critical-path time in the median traces (P40 to P60), nanoseconds.
    pub median_ns: u64,
    /// Mean critical-path time in the traces above P95, nanoseconds.
    pub tail_ns: u64,
    /// `tail_ns - median_ns` (negative when it shrinks).
    pub growth_ns: i64,
    /// Share of the tail traces' critical-path time, 0..=1.
    pub tail_share: f64,
    /// Share of the growth of the mean duration, 0..=1 (can exceed 1 when others shrink).
    pub growth_share: f64,
}

/// The critical-path aggregates of one flow.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FlowPaths {
    /// The flow ([`NO_FLOW`] for traces without one).
    pub flow: String,
    /// Traces of the flow.
    pub traces: u64,
    /// The traces they stand for: sampled traces (`ot=th:` in `tracestate`) weighed by
    /// 1 / their probability; equal to `traces` for unsampled input. Durations and shares are
    /// those of the traces kept (a flow is sampled at one ratio, so they are unbiased).
    pub estimated_traces: u64,
    /// Quantiles of the flow's duration (root span), nanoseconds.
    pub duration: Quantiles,
    /// Per service, largest share around P99 first.
    pub services: Vec<Share>,
    /// Per step, largest share around P99 first.
    pub steps: Vec<Share>,
    /// Largest growth first.
    pub tail_drivers: Vec<TailDriver>,
    /// A slow trace (duration rank P97, between P95 and P99) to look at.
    pub representative_trace: Option<String>,
    /// Its index in [`TraceSet::traces`].
    #[serde(skip)]
    pub representative: Option<u32>,
    /// The answer in one line.
    pub headline: String,
}

/// Mean critical-path time per (service, step).
type StepMeans = HashMap<(Sym, Sym), f64, RandomState>;

/// Aggregates `paths` (of `set`) per flow, in order of each flow's first trace.
pub fn aggregate(set: &TraceSet, paths: &[TracePath]) -> Vec<FlowPaths> {
    let mut order: Vec<Sym> = Vec::new();
    let mut by_flow: HashMap<Sym, Vec<usize>, RandomState> = HashMap::default();
    for (i, p) in paths.iter().enumerate() {
        let flow = set.traces[p.trace as usize].flow;
        by_flow
            .entry(flow)
            .or_insert_with(|| {
                order.push(flow);
                Vec::new()
            })
            .push(i);
    }
    // Traces without a flow last.
    order.sort_by_key(|f| f.is_empty());
    order
        .iter()
        .map(|flow| flow_paths(set, paths, *flow, &by_flow[flow]))
        .collect()
}

/// Mean critical-path time per (service, step) over `members`, and their mean duration.
fn band_means(set: &TraceSet, paths: &[TracePath], members: &[usize]) -> (StepMeans, f64) {
    let mut sum: HashMap<(Sym, Sym), u64, RandomState> = HashMap::default();
    let mut duration = 0u64;
    for &i in members {
        duration += paths[i].duration;
        for (k, t) in paths[i].time_by_step(set) {
            *sum.entry(k).or_default() += t;
        }
    }
    let n = members.len().max(1) as f64;
    (
        sum.into_iter().map(|(k, v)| (k, v as f64 / n)).collect(),
        duration as f64 / n,
    )
}

fn flow_paths(set: &TraceSet, paths: &[TracePath], flow: Sym, members: &[usize]) -> FlowPaths {
    let mut sorted: Vec<usize> = members.to_vec();
    sorted.sort_by_key(|&i| (paths[i].duration, i));
    let n = sorted.len();
    let durations: Vec<u64> = sorted.iter().map(|&i| paths[i].duration).collect();
    let duration = Quantiles::of_sorted(&durations);
    // Traces with duration rank in [lo, hi] (fractions), at least the one at `at`.
    let band = |lo: f64, hi: f64, at: f64| -> Vec<usize> {
        let a = (lo * n as f64).floor() as usize;
        let b = ((hi * n as f64).ceil() as usize).min(n);
        let mut v: Vec<usize> = sorted[a.min(n)..b.max(a.min(n))].to_vec();
        if v.is_empty() && n > 0 {
            v.push(sorted[rank(n, at)]);
        }
        v
    };
    let bands = [
        band(0.45, 0.55, 0.50),
        band(0.93, 0.97, 0.95),
        band(0.98, 1.0, 0.99),
    ];
    let shares_of = |members: &[usize]| -> (StepMeans, f64) {
        let (means, _) = band_means(set, paths, members);
        let total: f64 = means.values().sum();
        (means, total)
    };
    let band_shares: Vec<(StepMeans, f64)> = bands.iter().map(|b| shares_of(b)).collect();
    let mut keys: Vec<(Sym, Sym)> = band_shares
        .iter()
        .flat_map(|(m, _)| m.keys().copied())
        .collect();
    keys.sort();
    keys.dedup();
    let share = |i: usize, k: &(Sym, Sym)| -> f64 {
        let (m, total) = &band_shares[i];
        if *total > 0.0 {
            m.get(k).copied().unwrap_or(0.0) / total
        } else {
            0.0
        }
    };
    let mut steps: Vec<Share> = keys
        .iter()
        .map(|k| Share {
            service: set.str(k.0).to_string(),
            step: Some(set.str(k.1).to_string()),
            p50: share(0, k),
            p95: share(1, k),
            p99: share(2, k),
        })
        .collect();
    steps.sort_by(|a, b| b.p99.total_cmp(&a.p99).then(b.p95.total_cmp(&a.p95)));
    // Steps that never hold the path (a parent waiting on its children) say nothing.
    steps.retain(|s| s.p50.max(s.p95).max(s.p99) >= 0.005);
    let mut services: Vec<Share> = Vec::new();
    for s in &steps {
        match services.iter_mut().find(|x| x.service == s.service) {
            Some(x) => {
                x.p50 += s.p50;
                x.p95 += s.p95;
                x.p99 += s.p99;
            }
            None => services.push(Share {
                step: None,
                ..s.clone()
            }),
        }
    }
    services.sort_by(|a, b| b.p99.total_cmp(&a.p99).then(b.p95.total_cmp(&a.p95)));

    // Tail drivers: median traces against those above P95.
    let median = band(0.40, 0.60, 0.50);
    let tail = {
        let a = ((0.95 * n as f64).ceil() as usize).min(n.saturating_sub(1));
        sorted[a..].to_vec()
    };
    let (med, med_duration) = band_means(set, paths, &median);
    let (tl, tail_duration) = band_means(set, paths, &tail);
    let tail_total: f64 = tl.values().sum();
    let growth_total = tail_duration - med_duration;
    let mut drivers: Vec<TailDriver> = keys
        .iter()
        .map(|k| {
            let m = med.get(k).copied().unwrap_or(0.0);
            let t = tl.get(k).copied().unwrap_or(0.0);
            TailDriver {
                service: set.str(k.0).to_string(),
                step: set.str(k.1).to_string(),
                median_ns: m.round() as u64,
                tail_ns: t.round() as u64,
                growth_ns: (t - m).round() as i64,
                tail_share: if tail_total > 0.0 {
                    t / tail_total
                } else {
                    0.0
                },
                growth_share: if growth_total > 0.0 {
                    (t - m) / growth_total
                } else {
                    0.0
                },
            }
        })
        .collect();
    drivers.sort_by(|a, b| {
        b.growth_ns
            .cmp(&a.growth_ns)
            .then(b.tail_ns.cmp(&a.tail_ns))
    });

    let representative = (n > 0).then(|| paths[sorted[rank(n, 0.97)]].trace);
    let flow_name = if flow.is_empty() {
        NO_FLOW.to_string()
    } else {
        set.str(flow).to_string()
    };
    let headline = match drivers.first() {
        Some(d) if n > 0 => format!(
            "{flow_name}: P99 {}; {} on {} is {:.0}% of the tail",
            crate::render::ms(duration.p99),
            d.step,
            d.service,
            d.tail_share * 100.0
        ),
        _ => format!("{flow_name}: P99 {}", crate::render::ms(duration.p99)),
    };
    let estimated: f64 = members
        .iter()
        .map(|&i| set.traces[paths[i].trace as usize].weight())
        .sum();
    FlowPaths {
        flow: flow_name,
        traces: n as u64,
        estimated_traces: estimated.round() as u64,
        duration,
        services,
        steps,
        tail_drivers: drivers,
        representative_trace: representative.map(|t| set.traces[t as usize].trace_id.to_string()),
        representative,
        headline,
    }
}
