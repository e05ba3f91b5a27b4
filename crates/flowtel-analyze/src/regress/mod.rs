//! The release regression check (`flowtel regress BEFORE... -- AFTER...`): the latency
//! distributions of two releases compared per flow and per step, with the conventions' budgets
//! as the absolute bar.
//!
//! [`input`] reads each side (spans or histograms) into distributions per flow and step;
//! [`compare`] pairs them up, refusing inputs that cannot be compared (an empty side, a flow on
//! one side only, spans against histograms, different bucket layouts); [`verdict`] turns each
//! pair into signals and a verdict using [`stats`] and [`histogram`]; [`render`] prints the
//! [`RegressReport`] for people, scripts, pull requests and code-scanning UIs. The thresholds
//! come from the conventions (`defaults.regress`, a flow's `regress`).

pub mod histogram;
pub mod input;
pub mod render;
pub mod stats;
pub mod verdict;

use std::collections::BTreeSet;

use flowtel_conventions::rules::regress as rules;
use flowtel_conventions::{Finding, Registry, ResolvedRegress, Severity};
use serde::Serialize;

use input::{FLOW_DURATION, GroupKey, HTTP_SERVER_DURATION, STEP_DURATION, SideData};
use verdict::{Assessment, BudgetSource, Limit, Outcome, Pair, Verdict};

/// Where a group's numbers come from.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Source {
    /// Span durations.
    Spans,
    /// A histogram's buckets.
    Histogram {
        /// The metric.
        metric: String,
        /// The finite bucket bounds, seconds.
        bounds: Vec<f64>,
    },
}

/// The result for one flow or step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupResult {
    /// Flow name.
    pub flow: String,
    /// Step name, absent for the flow as a whole.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// Where the numbers come from.
    pub source: Source,
    /// The thresholds in force.
    pub thresholds: ResolvedRegress,
    /// Numbers, signals, budgets and verdict.
    #[serde(flatten)]
    pub assessment: Assessment,
    /// The verdict's reason in one line.
    pub reason: String,
    /// What limits the numbers (the bucket layout of a histogram).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl GroupResult {
    /// `checkout` or `checkout/payment.authorize`.
    pub fn subject(&self) -> String {
        GroupKey {
            flow: self.flow.clone(),
            step: self.step.clone(),
        }
        .subject()
    }
}

/// What one side was read from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SideInfo {
    /// Inputs as named.
    pub inputs: Vec<String>,
    /// Spans read.
    pub spans_read: u64,
    /// Spans that became samples of a flow or step.
    pub spans_used: u64,
    /// Histogram points of the duration metrics used.
    pub histogram_points: u64,
}

/// Verdicts counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct VerdictCounts {
    /// `pass`.
    pub pass: usize,
    /// `marginal`.
    pub marginal: usize,
    /// `fail`.
    pub fail: usize,
    /// `insufficient data`.
    pub insufficient_data: usize,
}

/// The whole comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegressReport {
    /// The before side.
    pub before: SideInfo,
    /// The after side.
    pub after: SideInfo,
    /// One result per flow and step, flows in conventions order, each followed by its steps.
    pub groups: Vec<GroupResult>,
    /// Verdicts counted.
    pub verdicts: VerdictCounts,
}

fn side_info(s: &SideData) -> SideInfo {
    SideInfo {
        inputs: s.inputs.clone(),
        spans_read: s.spans_read,
        spans_used: s.spans_used,
        histogram_points: s.points_used,
    }
}

/// The budgets of a flow or step: a step's `budget`, a flow's SLO latency threshold.
fn limits(reg: &Registry, key: &GroupKey) -> Vec<Limit> {
    let Some(flow) = reg.flows.get(&key.flow) else {
        return Vec::new();
    };
    match &key.step {
        Some(step) => flow
            .steps
            .get(step)
            .and_then(|s| s.budget.as_ref())
            .map(|b| {
                b.entries()
                    .filter_map(|(p, d)| {
                        Some(Limit {
                            quantile: match p {
                                "p50" => 0.5,
                                "p95" => 0.95,
                                _ => 0.99,
                            },
                            seconds: d.seconds()?,
                            written: d.raw().to_string(),
                            source: BudgetSource::Budget,
                        })
                    })
                    .collect()
            })
            .unwrap_or_default(),
        None => flow
            .slo
            .as_ref()
            .and_then(|s| s.latency.as_ref())
            .and_then(|l| {
                Some(Limit {
                    quantile: (l.target / 100.0).clamp(0.0, 1.0),
                    seconds: l.threshold.seconds()?,
                    written: l.threshold.raw().to_string(),
                    source: BudgetSource::Slo,
                })
            })
            .into_iter()
            .collect(),
    }
}

/// Histogram metric preferred for a group: the flowtel metric, else the HTTP server one.
fn metric_order(key: &GroupKey) -> &'static [&'static str] {
    match key.step {
        Some(_) => &[STEP_DURATION],
        None => &[FLOW_DURATION, HTTP_SERVER_DURATION],
    }
}

fn incomparable(message: String, help: &str) -> Finding {
    Finding::new(&rules::INCOMPARABLE_INPUTS, message).help(help)
}

/// Compares two sides: one [`GroupResult`] per flow and step, or the fatal findings that say
/// why the sides cannot be compared (reader errors of either side included).
pub fn compare(
    reg: &Registry,
    before: &SideData,
    after: &SideData,
) -> Result<RegressReport, Vec<Finding>> {
    let mut fatal: Vec<Finding> = before
        .findings
        .iter()
        .chain(&after.findings)
        .filter(|f| f.severity == Severity::Fatal)
        .cloned()
        .collect();
    for (name, side) in [("before", before), ("after", after)] {
        if side.is_empty() && side.findings.is_empty() {
            fatal.push(incomparable(
                format!(
                    "the {name} side has no flow durations: {} spans read, none a flow's root or a step, and no `flow.duration`, `flow.step.duration` or entry-route `http.server.request.duration` histogram",
                    side.spans_read
                ),
                "pass OTLP traces of flowtel-instrumented services (spans with `flow.name` / `flow.step`), or their metric exports",
            ));
        }
    }
    if !fatal.is_empty() {
        return Err(fatal);
    }
    let flows_of = |s: &SideData| -> BTreeSet<String> {
        s.groups
            .iter()
            .filter(|(k, g)| {
                k.step.is_none()
                    && (!g.samples.is_empty() || g.buckets.values().any(|b| b.total() > 0))
            })
            .map(|(k, _)| k.flow.clone())
            .collect()
    };
    let (fb, fa) = (flows_of(before), flows_of(after));
    for (flow, only, other) in fb
        .difference(&fa)
        .map(|f| (f, "before", "after"))
        .chain(fa.difference(&fb).map(|f| (f, "after", "before")))
    {
        fatal.push(
            incomparable(
                format!("flow `{flow}` has durations {only} but none {other}: the sides do not cover the same flows"),
                "compare runs of the same load, or leave the flow out with `--flow` for the others",
            )
            .subject("flow", flow.clone()),
        );
    }
    // Every group either side has, flows in conventions order, each followed by its steps.
    let mut keys: Vec<&GroupKey> = before.groups.keys().chain(after.groups.keys()).collect();
    keys.sort_by_key(|k| {
        (
            reg.flows.get_index_of(&k.flow).unwrap_or(usize::MAX),
            k.flow.clone(),
            k.step.as_ref().map(|s| {
                reg.flows
                    .get(&k.flow)
                    .and_then(|f| f.steps.get_index_of(s))
                    .unwrap_or(usize::MAX)
            }),
            k.step.clone(),
        )
    });
    keys.dedup();
    let empty = input::GroupData::default();
    let mut groups = Vec::new();
    for key in keys {
        let b = before.groups.get(key).unwrap_or(&empty);
        let a = after.groups.get(key).unwrap_or(&empty);
        let t = reg.regress_thresholds(&key.flow);
        let lims = limits(reg, key);
        let histogram = |m: &str| (b.buckets.get(m), a.buckets.get(m));
        let (source, assessment, note) = if !b.samples.is_empty() || !a.samples.is_empty() {
            let has_hist = |g: &input::GroupData| g.buckets.values().any(|h| h.total() > 0);
            if (b.samples.is_empty() && has_hist(b)) || (a.samples.is_empty() && has_hist(a)) {
                fatal.push(
                    incomparable(
                        format!(
                            "{} has spans on one side and only histograms on the other",
                            key.subject()
                        ),
                        "compare traces with traces, or metric exports with metric exports",
                    )
                    .subject("flow", key.flow.clone()),
                );
                continue;
            }
            let assessment = verdict::assess(Pair::Samples(&b.samples, &a.samples), &t, &lims);
            (Source::Spans, assessment, None)
        } else {
            let Some((metric, hb, ha)) =
                metric_order(key).iter().find_map(|m| match histogram(m) {
                    (Some(hb), Some(ha)) => Some((*m, hb.clone(), ha.clone())),
                    (Some(h), None) => {
                        Some((*m, h.clone(), histogram::Buckets::empty(h.bounds.clone())))
                    }
                    (None, Some(h)) => {
                        Some((*m, histogram::Buckets::empty(h.bounds.clone()), h.clone()))
                    }
                    (None, None) => None,
                })
            else {
                continue;
            };
            if !hb.same_layout(&ha) {
                fatal.push(
                    input::layout_finding(key, metric, &hb, &ha, "the after side")
                        .subject("flow", key.flow.clone()),
                );
                continue;
            }
            let assessment = verdict::assess(Pair::Buckets(&hb, &ha), &t, &lims);
            let (lo, hi) = ha.bucket_of(0.99);
            let note = format!(
                "quantiles estimated from `{metric}` buckets as Prometheus' histogram_quantile does: the resolution is the bucket layout (after P99 lies in {}..{})",
                verdict::fmt_duration(lo),
                verdict::fmt_duration(hi)
            );
            (
                Source::Histogram {
                    metric: metric.to_string(),
                    bounds: hb.bounds.clone(),
                },
                assessment,
                Some(note),
            )
        };
        let reason = assessment.reason(&key.subject(), &t);
        groups.push(GroupResult {
            flow: key.flow.clone(),
            step: key.step.clone(),
            source,
            thresholds: t,
            assessment,
            reason,
            note,
        });
    }
    if !fatal.is_empty() {
        return Err(fatal);
    }
    let mut verdicts = VerdictCounts::default();
    for g in &groups {
        match g.assessment.verdict {
            Verdict::Pass => verdicts.pass += 1,
            Verdict::Marginal => verdicts.marginal += 1,
            Verdict::Fail => verdicts.fail += 1,
            Verdict::InsufficientData => verdicts.insufficient_data += 1,
        }
    }
    Ok(RegressReport {
        before: side_info(before),
        after: side_info(after),
        groups,
        verdicts,
    })
}

impl RegressReport {
    /// One finding per flow or step that is not a clean pass.
    pub fn findings(&self) -> Vec<Finding> {
        self.groups
            .iter()
            .filter_map(|g| {
                let a = &g.assessment;
                let rule = match a.verdict {
                    Verdict::Pass => return None,
                    Verdict::Fail if a.signals.iter().any(|s| s.outcome == Outcome::Regressed) => {
                        &rules::LATENCY_REGRESSION
                    }
                    Verdict::Fail => &rules::OVER_LATENCY_BUDGET,
                    Verdict::Marginal => &rules::MARGINAL_SLOWDOWN,
                    Verdict::InsufficientData => &rules::INSUFFICIENT_SAMPLES,
                };
                let mut f = Finding::new(rule, g.reason.clone())
                    .subject("flow", g.flow.clone())
                    .subject("verdict", a.verdict.as_str());
                if let Some(step) = &g.step {
                    f = f.subject("step", step.clone());
                }
                if let Some(note) = &g.note {
                    f = f.help(note.clone());
                }
                Some(f)
            })
            .collect()
    }
}
