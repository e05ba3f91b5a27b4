//! What the numbers mean: per flow or step, the signals (median shift, P95, P99) with their
//! intervals, the conventions' budgets as an absolute bar, and one verdict with its reason.
//!
//! A signal is a *regression* when it is significantly slower at the configured confidence, its
//! point estimate is at least `max_increase` and the absolute change is at least `min_delta`; it
//! is *slower* when significant but smaller than that. Significance comes from the Moses
//! interval of the Hodges-Lehmann shift for the median, and for P95 and P99 from the
//! order-statistic interval of the quantiles' ratio; where the samples are spans too few for
//! that interval at the signal's level (P99 needs 635 per side at 99% confidence), from the
//! exceedance test instead ([`stats::exceedance_test`]: Fisher's exact test on how many of each
//! side lie above the pooled quantile), which is exact at any sample size and has power at a
//! few hundred samples per side. Which test applies depends on the sample sizes alone. The
//! signals share the confidence (Bonferroni), each tested one-sided in each direction at half
//! its share. The
//! verdict is `fail` on any regression or any after-quantile over its budget (even when before
//! was as bad), `marginal` on a significant but small slowdown, `insufficient_data` when a side
//! has fewer than `min_samples` (unless the after side alone is enough to break a budget), and
//! `pass` otherwise. Statistics live in [`super::stats`]; rendering in [`super::render`].

use flowtel_conventions::ResolvedRegress;
use serde::Serialize;

use super::histogram::{self, Buckets};
use super::stats::{self, Estimate, Exceedance, UMethod};

/// Signals per flow or step: the median (shift), P95 and P99.
pub const SIGNALS: usize = 3;

/// The quantiles every side reports.
pub const QUANTILES: [f64; 3] = [0.5, 0.95, 0.99];

/// A value with its confidence interval, in seconds (or as a relative change for
/// [`Signal::change`]); an absent bound is unbounded.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Interval {
    /// The point estimate.
    pub value: f64,
    /// Lower bound, `null` when unbounded.
    pub low: Option<f64>,
    /// Upper bound, `null` when unbounded.
    pub high: Option<f64>,
}

impl From<Estimate> for Interval {
    fn from(e: Estimate) -> Self {
        Interval {
            value: e.value,
            low: e.low,
            high: e.high,
        }
    }
}

/// One side's distribution in numbers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SideSummary {
    /// Number of samples (spans, or observations in the histogram).
    pub count: u64,
    /// Median with its interval.
    pub p50: Interval,
    /// 95th percentile with its interval.
    pub p95: Interval,
    /// 99th percentile with its interval.
    pub p99: Interval,
}

/// What a signal is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SignalKind {
    /// The Hodges-Lehmann shift of the whole distribution, relative to the before median.
    Shift,
    /// The median (histograms: from buckets).
    P50,
    /// The 95th percentile.
    P95,
    /// The 99th percentile.
    P99,
}

impl SignalKind {
    /// `P50 shift`, `P50`, `P95`, `P99` as reports print them.
    pub fn label(self) -> &'static str {
        match self {
            SignalKind::Shift => "P50",
            SignalKind::P50 => "P50",
            SignalKind::P95 => "P95",
            SignalKind::P99 => "P99",
        }
    }

    fn quantile(self) -> f64 {
        match self {
            SignalKind::Shift | SignalKind::P50 => 0.5,
            SignalKind::P95 => 0.95,
            SignalKind::P99 => 0.99,
        }
    }
}

/// What a signal shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Significantly faster.
    Faster,
    /// No significant change (or one below `min_delta`).
    Unchanged,
    /// Too few samples for an interval at this quantile: not tested.
    Untested,
    /// Significantly slower, by less than `max_increase`.
    Slower,
    /// Significantly slower by at least `max_increase` and `min_delta`.
    Regressed,
}

/// One comparison between before and after.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Signal {
    /// What is compared.
    pub kind: SignalKind,
    /// Before value, seconds (for the shift: the before median).
    pub before: f64,
    /// After value, seconds (for the shift: the before median plus the shift).
    pub after: f64,
    /// Relative change `after / before - 1` with its interval (0.56 is +56%); the intervals of
    /// a group's signals hold together at the configured confidence (Bonferroni).
    pub change: Interval,
    /// p-value of the test behind the signal, when there is one (two-sided: Mann-Whitney for
    /// the shift and for histogram medians, the exceedance test for P95 and P99 of spans).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p_value: Option<f64>,
    /// The exceedance test that decides a tail signal of spans.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exceedance: Option<Exceedance>,
    /// What it shows.
    pub outcome: Outcome,
    /// Whether the test behind it found the after side significantly slower, whether or not
    /// by as much as matters (`max_increase`, `min_delta`).
    pub significantly_slower: bool,
}

/// Where a budget comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BudgetSource {
    /// A step's `budget`.
    Budget,
    /// A flow's `slo.latency` threshold at its target percentile.
    Slo,
}

/// An absolute limit from the conventions, checked on the after side.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BudgetCheck {
    /// The quantile the limit applies to (0.95 for a `p95` budget, the SLO target / 100).
    pub quantile: f64,
    /// The limit, seconds.
    pub limit: f64,
    /// The limit as written (`300ms`).
    pub written: String,
    /// Where it comes from.
    pub source: BudgetSource,
    /// Before value at that quantile, seconds.
    pub before: f64,
    /// After value at that quantile, seconds.
    pub after: f64,
    /// Whether the after value is over the limit.
    pub over: bool,
}

/// An absolute limit to check.
#[derive(Debug, Clone, PartialEq)]
pub struct Limit {
    /// Quantile, 0..1.
    pub quantile: f64,
    /// Seconds.
    pub seconds: f64,
    /// As written.
    pub written: String,
    /// Where it comes from.
    pub source: BudgetSource,
}

/// The verdict of one flow or step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// No significant slowdown, within budget.
    Pass,
    /// Too few samples on a side to say.
    InsufficientData,
    /// A significant slowdown smaller than what matters.
    Marginal,
    /// A slowdown that matters, or over budget.
    Fail,
}

impl Verdict {
    /// `pass`, `insufficient data`, `marginal`, `fail`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::InsufficientData => "insufficient data",
            Verdict::Marginal => "marginal",
            Verdict::Fail => "fail",
        }
    }
}

/// The Mann-Whitney test as reported.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct UTest {
    /// U of the after sample.
    pub u: f64,
    /// Standardised statistic (positive: after tends to be slower).
    pub z: f64,
    /// Two-sided p-value.
    pub p_value: f64,
    /// Exact or normal approximation.
    pub method: UMethod,
}

/// Everything computed for one flow or step, before the verdict's wording.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assessment {
    /// Before side.
    pub before: SideSummary,
    /// After side.
    pub after: SideSummary,
    /// Mann-Whitney test of after against before.
    pub mann_whitney: UTest,
    /// Hodges-Lehmann shift `after - before`, seconds, with its interval (samples only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shift: Option<Interval>,
    /// The signals the verdict is made of.
    pub signals: Vec<Signal>,
    /// Budgets and SLO thresholds checked on the after side.
    pub budgets: Vec<BudgetCheck>,
    /// The verdict.
    pub verdict: Verdict,
}

/// Two sides of one flow or step.
#[derive(Debug, Clone, Copy)]
pub enum Pair<'a> {
    /// Individual durations in seconds, each side sorted ascending.
    Samples(&'a [f64], &'a [f64]),
    /// Histograms of the same layout.
    Buckets(&'a Buckets, &'a Buckets),
}

impl Pair<'_> {
    fn counts(&self) -> (u64, u64) {
        match self {
            Pair::Samples(b, a) => (b.len() as u64, a.len() as u64),
            Pair::Buckets(b, a) => (b.total(), a.total()),
        }
    }

    fn estimate(&self, after: bool, q: f64, confidence: f64) -> Estimate {
        match (self, after) {
            (Pair::Samples(b, _), false) => stats::quantile_estimate(b, q, confidence),
            (Pair::Samples(_, a), true) => stats::quantile_estimate(a, q, confidence),
            (Pair::Buckets(b, _), false) => b.quantile_estimate(q, confidence),
            (Pair::Buckets(_, a), true) => a.quantile_estimate(q, confidence),
        }
    }

    fn quantile(&self, after: bool, q: f64) -> f64 {
        match (self, after) {
            (Pair::Samples(b, _), false) => stats::quantile_sorted(b, q),
            (Pair::Samples(_, a), true) => stats::quantile_sorted(a, q),
            (Pair::Buckets(b, _), false) => b.quantile(q),
            (Pair::Buckets(_, a), true) => a.quantile(q),
        }
    }

    fn summary(&self, after: bool, confidence: f64) -> SideSummary {
        let [p50, p95, p99] = QUANTILES.map(|q| self.estimate(after, q, confidence).into());
        SideSummary {
            count: if after {
                self.counts().1
            } else {
                self.counts().0
            },
            p50,
            p95,
            p99,
        }
    }
}

fn relative(e: Option<f64>, base: f64) -> Option<f64> {
    e.map(|x| x / base.max(stats::MIN_POSITIVE))
}

/// What the test behind a signal says about its direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Evidence {
    /// The samples are too small for the test.
    Untestable,
    /// Significantly slower.
    Slower,
    /// Significantly faster.
    Faster,
    /// Neither.
    Neither,
}

/// The evidence of a relative change's interval: significant when it excludes zero.
fn interval_evidence(change: &Interval) -> Evidence {
    match (change.low, change.high) {
        (Some(low), _) if low > 0.0 => Evidence::Slower,
        (_, Some(high)) if high < 0.0 => Evidence::Faster,
        (Some(_), Some(_)) => Evidence::Neither,
        _ => Evidence::Untestable,
    }
}

/// The evidence of an exceedance test at one-sided level `alpha`.
fn exceedance_evidence(e: &Exceedance, alpha: f64) -> Evidence {
    if e.min_p > alpha {
        Evidence::Untestable
    } else if e.p_slower <= alpha {
        Evidence::Slower
    } else if e.p_faster <= alpha {
        Evidence::Faster
    } else {
        Evidence::Neither
    }
}

/// Classifies a signal from its evidence, relative change, absolute change and thresholds.
fn outcome(evidence: Evidence, change: f64, delta: f64, t: &ResolvedRegress) -> Outcome {
    match evidence {
        Evidence::Untestable => Outcome::Untested,
        Evidence::Slower if delta >= t.min_delta_seconds => {
            if change * 100.0 >= t.max_increase {
                Outcome::Regressed
            } else {
                Outcome::Slower
            }
        }
        Evidence::Faster if -delta >= t.min_delta_seconds => Outcome::Faster,
        _ => Outcome::Unchanged,
    }
}

/// Compares the two sides of one flow or step against the thresholds and limits.
pub fn assess(pair: Pair<'_>, t: &ResolvedRegress, limits: &[Limit]) -> Assessment {
    let confidence = t.confidence / 100.0;
    // The intervals of the signals are simultaneous (Bonferroni): together they hold with the
    // configured confidence, so a release with no change fails with probability at most
    // (1 - confidence) / 2 whatever the number of signals.
    let simultaneous = 1.0 - (1.0 - confidence) / SIGNALS as f64;
    let before = pair.summary(false, confidence);
    let after = pair.summary(true, confidence);
    let mw = match pair {
        // U of the after sample: large when after tends to be slower.
        Pair::Samples(b, a) => stats::mann_whitney(a, b),
        Pair::Buckets(b, a) => histogram::mann_whitney(a, b),
    };
    let mann_whitney = UTest {
        u: mw.u,
        z: mw.z,
        p_value: mw.p_value,
        method: mw.method,
    };
    let mut signals = Vec::new();
    let mut shift = None;
    let tails: &[SignalKind] = match pair {
        Pair::Samples(b, a) => {
            if let Some(hl) = stats::hodges_lehmann(b, a, simultaneous) {
                let base = before.p50.value;
                let change = Interval {
                    value: hl.value / base.max(stats::MIN_POSITIVE),
                    low: relative(hl.low, base),
                    high: relative(hl.high, base),
                };
                signals.push(Signal {
                    kind: SignalKind::Shift,
                    before: base,
                    after: base + hl.value,
                    outcome: outcome(interval_evidence(&change), change.value, hl.value, t),
                    significantly_slower: interval_evidence(&change) == Evidence::Slower,
                    change,
                    p_value: Some(mw.p_value),
                    exceedance: None,
                });
                shift = Some(hl.into());
            }
            &[SignalKind::P95, SignalKind::P99]
        }
        Pair::Buckets(..) => &[SignalKind::P50, SignalKind::P95, SignalKind::P99],
    };
    for &kind in tails {
        let q = kind.quantile();
        let b = pair.estimate(false, q, simultaneous);
        let a = pair.estimate(true, q, simultaneous);
        let ratio = stats::quantile_ratio(&b, &a, simultaneous);
        let (before_q, after_q) = (b.value, a.value);
        let change = Interval {
            value: ratio.value - 1.0,
            low: ratio.low.map(|x| x - 1.0),
            high: ratio.high.map(|x| x - 1.0),
        };
        // The interval of the ratio decides where the sample sizes give one at the signal's
        // level (it weighs how far the tail moved); spans too small for one (P99 below 635
        // per side at 99%) go to the exceedance test, exact at any size (it counts how many
        // moved). Which test applies depends on the sample sizes alone.
        let (evidence, exceedance) = match pair {
            Pair::Samples(bs, as_) if change.low.is_none() || change.high.is_none() => {
                let e = stats::exceedance_test(bs, as_, q);
                (exceedance_evidence(&e, tail_alpha(t)), Some(e))
            }
            _ => (interval_evidence(&change), None),
        };
        let p_value = match &exceedance {
            Some(e) => Some((2.0 * e.p_slower.min(e.p_faster)).min(1.0)),
            None => (kind == SignalKind::P50).then_some(mw.p_value),
        };
        signals.push(Signal {
            kind,
            before: before_q,
            after: after_q,
            outcome: outcome(evidence, change.value, after_q - before_q, t),
            significantly_slower: evidence == Evidence::Slower,
            change,
            p_value,
            exceedance,
        });
    }
    let budgets: Vec<BudgetCheck> = limits
        .iter()
        .map(|l| {
            let a = pair.quantile(true, l.quantile);
            BudgetCheck {
                quantile: l.quantile,
                limit: l.seconds,
                written: l.written.clone(),
                source: l.source,
                before: pair.quantile(false, l.quantile),
                after: a,
                over: a > l.seconds,
            }
        })
        .collect();
    let (nb, na) = pair.counts();
    let min = u64::from(t.min_samples);
    let over_budget = na >= min && budgets.iter().any(|b| b.over);
    let verdict = if over_budget {
        Verdict::Fail
    } else if nb < min || na < min {
        Verdict::InsufficientData
    } else {
        match signals.iter().map(|s| s.outcome).max() {
            Some(Outcome::Regressed) => Verdict::Fail,
            Some(Outcome::Slower) => Verdict::Marginal,
            _ => Verdict::Pass,
        }
    };
    Assessment {
        before,
        after,
        mann_whitney,
        shift,
        signals,
        budgets,
        verdict,
    }
}

/// A duration for people: `0.42 ms`, `220 ms`, `1.25 s`.
pub fn fmt_duration(seconds: f64) -> String {
    if !seconds.is_finite() {
        return if seconds.is_nan() {
            "n/a".into()
        } else {
            "∞".into()
        };
    }
    let ms = seconds * 1000.0;
    if ms.abs() < 1.0 {
        format!("{ms:.2} ms")
    } else if ms.abs() < 10.0 {
        format!("{ms:.1} ms")
    } else if ms.abs() < 1000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{seconds:.2} s")
    }
}

/// A relative change for people: `+56%`, `-3.2%`, `+0.4%`.
pub fn fmt_change(change: f64) -> String {
    let pct = change * 100.0;
    if !pct.is_finite() {
        return if pct > 0.0 {
            "+∞%".into()
        } else {
            "n/a".into()
        };
    }
    if pct.abs() >= 10.0 {
        format!("{pct:+.0}%")
    } else {
        format!("{pct:+.1}%")
    }
}

fn fmt_interval(change: &Interval, confidence: f64) -> String {
    let b = |x: Option<f64>, inf: &str| x.map_or_else(|| inf.to_string(), fmt_change);
    format!(
        "{}% CI {}..{}",
        fmt_pct(confidence),
        b(change.low, "-∞"),
        b(change.high, "+∞")
    )
}

/// A one-sided p-value for people: `p = 0.0021`, `p < 0.0001`.
fn fmt_p(p: f64) -> String {
    if p < 1e-4 {
        "one-sided p < 0.0001".into()
    } else {
        format!("one-sided p = {p:.4}")
    }
}

/// The one-sided level each signal is tested at: its Bonferroni share of the confidence, halved.
fn tail_alpha(t: &ResolvedRegress) -> f64 {
    (1.0 - t.confidence / 100.0) / SIGNALS as f64 / 2.0
}

fn fmt_pct(p: f64) -> String {
    if p.fract() == 0.0 {
        format!("{p:.0}")
    } else {
        format!("{p}")
    }
}

fn q_label(q: f64) -> String {
    let p = q * 100.0;
    if (p - p.round()).abs() < 1e-9 {
        format!("P{:.0}", p.round())
    } else {
        format!("P{p}")
    }
}

impl Assessment {
    /// The verdict's reason in one line, starting with `subject` (`checkout`,
    /// `checkout/payment.authorize`), e.g. "checkout P99 220 ms → 344 ms (+56%, 95% CI
    /// +41%..+72%), P50 unchanged; over the 300ms P99 budget".
    pub fn reason(&self, subject: &str, t: &ResolvedRegress) -> String {
        let over: Vec<&BudgetCheck> = self.budgets.iter().filter(|b| b.over).collect();
        let budget_text = over
            .iter()
            .map(|b| {
                let what = match b.source {
                    BudgetSource::Budget => "budget",
                    BudgetSource::Slo => "SLO threshold",
                };
                format!(
                    "over the {} {} {what} ({} after{})",
                    b.written,
                    q_label(b.quantile),
                    fmt_duration(b.after),
                    if b.before > b.limit {
                        format!(", {} before", fmt_duration(b.before))
                    } else {
                        String::new()
                    }
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        let min = u64::from(t.min_samples);
        if self.verdict == Verdict::InsufficientData {
            return format!(
                "{subject} has {} samples before and {} after; a verdict needs at least {min} on each side",
                self.before.count, self.after.count
            );
        }
        // The worst signal leads; the median follows when it is not the lead.
        let lead = self
            .signals
            .iter()
            .filter(|s| matches!(s.outcome, Outcome::Regressed | Outcome::Slower))
            .max_by(|a, b| {
                a.outcome
                    .cmp(&b.outcome)
                    .then(a.change.value.total_cmp(&b.change.value))
            });
        let describe = |s: &Signal| {
            let mut text = format!(
                "{} {} → {} ({}",
                s.kind.label(),
                fmt_duration(s.before),
                fmt_duration(s.after),
                fmt_change(s.change.value),
            );
            let bounded = s.change.low.is_some() && s.change.high.is_some();
            if bounded || s.exceedance.is_none() {
                text.push_str(", ");
                text.push_str(&fmt_interval(&s.change, t.confidence));
            }
            if let Some(e) = &s.exceedance {
                text.push_str(&format!(
                    "; {} of {} after and {} of {} before above the pooled {} {}, {}",
                    e.after_above,
                    e.after_count,
                    e.before_above,
                    e.before_count,
                    s.kind.label(),
                    fmt_duration(e.threshold),
                    fmt_p(
                        if e.after_above as f64 * e.before_count as f64
                            >= e.before_above as f64 * e.after_count as f64
                        {
                            e.p_slower
                        } else {
                            e.p_faster
                        }
                    )
                ));
            }
            text.push(')');
            text
        };
        let mut text = match lead {
            Some(s) => {
                let mut text = format!("{subject} {}", describe(s));
                let median = self
                    .signals
                    .iter()
                    .find(|m| matches!(m.kind, SignalKind::Shift | SignalKind::P50));
                if let Some(m) = median
                    && m.kind != s.kind
                {
                    match m.outcome {
                        Outcome::Regressed | Outcome::Slower => {
                            text.push_str(&format!(
                                ", P50 {} ({})",
                                fmt_change(m.change.value),
                                fmt_interval(&m.change, t.confidence)
                            ));
                        }
                        Outcome::Faster => text.push_str(", P50 faster"),
                        _ => text.push_str(", P50 unchanged"),
                    }
                }
                if s.outcome == Outcome::Slower {
                    text.push_str(&format!(
                        "; significant but under the {}% that matters",
                        fmt_pct(t.max_increase)
                    ));
                }
                text
            }
            None => {
                let tail = self
                    .signals
                    .iter()
                    .rev()
                    .find(|s| s.outcome != Outcome::Untested)
                    .or(self.signals.last());
                let below_floor = self
                    .signals
                    .iter()
                    .find(|s| s.outcome == Outcome::Unchanged && s.significantly_slower);
                let mut text = match (tail, below_floor) {
                    (_, Some(s)) => format!(
                        "{subject} no slowdown that counts: {}, under the {} minimum",
                        describe(s),
                        fmt_duration(t.min_delta_seconds)
                    ),
                    (Some(s), _) if s.outcome == Outcome::Faster => {
                        format!("{subject} faster: {}", describe(s))
                    }
                    (Some(s), _) => {
                        format!("{subject} no significant slowdown: {}", describe(s))
                    }
                    (None, _) => format!("{subject} no signal"),
                };
                let untested: Vec<&str> = self
                    .signals
                    .iter()
                    .filter(|s| s.outcome == Outcome::Untested)
                    .map(|s| s.kind.label())
                    .collect();
                if !untested.is_empty() {
                    text.push_str(&format!(
                        "; {} not tested (too few samples for an interval)",
                        untested.join(", ")
                    ));
                }
                text
            }
        };
        if !budget_text.is_empty() {
            text.push_str("; ");
            text.push_str(&budget_text);
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flowtel_conventions::Regress;

    fn lognormal_like(n: usize, scale: f64) -> Vec<f64> {
        // A deterministic skewed sample: exp of evenly spaced normal-ish scores.
        let mut v: Vec<f64> = (0..n)
            .map(|i| {
                let u = (i as f64 + 0.5) / n as f64;
                let z = statrs::distribution::ContinuousCDF::inverse_cdf(
                    &statrs::distribution::Normal::standard(),
                    u,
                );
                scale * (0.02f64.ln() + 0.4 * z).exp()
            })
            .collect();
        v.sort_by(f64::total_cmp);
        v
    }

    #[test]
    fn identical_samples_pass() {
        let t = Regress::BUILT_IN;
        let s = lognormal_like(2000, 1.0);
        let a = assess(Pair::Samples(&s, &s), &t, &[]);
        assert_eq!(a.verdict, Verdict::Pass, "{a:#?}");
        assert!(
            a.reason("checkout", &t)
                .starts_with("checkout no significant slowdown: P99")
        );
    }

    #[test]
    fn a_tail_only_slowdown_fails_on_the_tail() {
        let t = Regress::BUILT_IN;
        let before = lognormal_like(5000, 1.0);
        let p97 = stats::quantile_sorted(&before, 0.97);
        let mut after: Vec<f64> = before
            .iter()
            .map(|&x| if x > p97 { x * 1.6 } else { x })
            .collect();
        after.sort_by(f64::total_cmp);
        let a = assess(Pair::Samples(&before, &after), &t, &[]);
        assert_eq!(a.verdict, Verdict::Fail);
        let reason = a.reason("checkout", &t);
        assert!(reason.starts_with("checkout P99 "), "{reason}");
        assert!(reason.contains("P50 unchanged"), "{reason}");
    }

    #[test]
    fn over_budget_fails_even_when_before_was_as_bad() {
        let t = Regress::BUILT_IN;
        let s = lognormal_like(1000, 1.0);
        let limit = Limit {
            quantile: 0.99,
            seconds: 0.03,
            written: "30ms".into(),
            source: BudgetSource::Budget,
        };
        let a = assess(Pair::Samples(&s, &s), &t, &[limit]);
        assert_eq!(a.verdict, Verdict::Fail);
        let reason = a.reason("checkout/payment.authorize", &t);
        assert!(reason.contains("over the 30ms P99 budget"), "{reason}");
        assert!(reason.contains("before"), "{reason}");
    }

    #[test]
    fn too_few_samples_is_never_a_pass() {
        let t = Regress::BUILT_IN;
        let s = lognormal_like(20, 1.0);
        let a = assess(Pair::Samples(&s, &s), &t, &[]);
        assert_eq!(a.verdict, Verdict::InsufficientData);
        assert_eq!(
            a.reason("login", &t),
            "login has 20 samples before and 20 after; a verdict needs at least 50 on each side"
        );
    }

    #[test]
    fn formats() {
        assert_eq!(fmt_duration(0.22), "220 ms");
        assert_eq!(fmt_duration(0.0042), "4.2 ms");
        assert_eq!(fmt_duration(2.5), "2.50 s");
        assert_eq!(fmt_change(0.564), "+56%");
        assert_eq!(fmt_change(-0.032), "-3.2%");
    }
}
