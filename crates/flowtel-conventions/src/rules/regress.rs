//! Rules of the release regression check (`flowtel regress`): `FT09xx`.
//!
//! The check compares the latency distributions of two releases per flow and step; each flow
//! or step that is not a clean pass is one finding of these rules, and inputs that cannot be
//! compared at all are one fatal finding.

use super::rule::Rule;

declare_rule!(LATENCY_REGRESSION, "FT0901", "latency-regression", Error,
    summary: "A flow or step got significantly slower between two releases, by more than the threshold.",
    what: "Compares the before and after latency distributions of each flow and step: the Hodges-Lehmann shift of the whole distribution (with the Mann-Whitney U test) and the P95 and P99 ratios, each with a confidence interval. Fails when an interval lies above zero and the estimated slowdown is at least `regress.max_increase` percent and `regress.min_delta`.",
    why: "A slowdown that only shows in the tail is what users feel and averages hide; caught at release time it is a revert, caught in production it is an incident.",
    bad: "checkout P99 220 ms → 344 ms (+56%, 99% CI +41%..+72%), P50 unchanged",
    good: "checkout P99 220 ms → 224 ms (+1.8%, 99% CI -4.0%..+7.9%): no significant slowdown",
);

declare_rule!(OVER_LATENCY_BUDGET, "FT0902", "over-latency-budget", Error,
    summary: "After the release, a quantile is over its budget or the flow's SLO latency threshold.",
    what: "Checks the after side against the conventions' absolute bar: each step's `budget` (p50, p95, p99) and each flow's `slo.latency.threshold` at its target percentile. Fails even when the before side was just as bad.",
    why: "A release that does not get slower but stays over budget still spends the error budget; the regression check is the place to stop it.",
    bad: "checkout/payment.authorize P99 520 ms over the 400ms P99 budget (510 ms before)",
    good: "checkout/payment.authorize P99 310 ms, within the 400ms P99 budget",
);

declare_rule!(MARGINAL_SLOWDOWN, "FT0903", "marginal-slowdown", Warning,
    summary: "A flow or step got significantly slower, but by less than the threshold.",
    what: "Reports a signal (median shift, P95, P99) whose interval lies above zero while the estimated slowdown is below `regress.max_increase` percent.",
    why: "Small slowdowns add up release after release; worth a look before they cross the threshold.",
    bad: "login P50 40 ms → 41 ms (+2.5%, 99% CI +1.1%..+3.9%); significant but under the 5% that matters",
    good: "login P50 40 ms → 40 ms (+0.2%, 99% CI -1.0%..+1.4%): no significant slowdown",
);

declare_rule!(INSUFFICIENT_SAMPLES, "FT0904", "insufficient-samples", Warning,
    summary: "Too few samples on a side to judge a flow or step.",
    what: "Reports a flow or step with fewer than `regress.min_samples` samples before or after (a step seen on one side only included). Its verdict is `insufficient data`, never a pass.",
    why: "With a handful of samples every test passes; a check that passes for lack of data would wave regressions through.",
    bad: "login has 12 samples before and 400 after; a verdict needs at least 50 on each side",
    good: "run the same load before and after, long enough for every flow to reach `min_samples`",
);

declare_rule!(INCOMPARABLE_INPUTS, "FT0905", "incomparable-inputs", Fatal,
    summary: "The two sides of a regression check cannot be compared.",
    what: "Reports an empty side (no flow durations in its inputs), a flow present on one side only, histograms of one flow or step with different bucket layouts, and spans on one side against histograms on the other.",
    why: "Comparing unlike data would produce a verdict that means nothing; a silent pass would be worse. The check stops with exit code 2 instead.",
    bad: "flowtel regress before/metrics.jsonl -- after/traces.jsonl",
    good: "flowtel regress before/traces.jsonl -- after/traces.jsonl",
);

/// Every regression-check rule, in id order.
pub static RULES: &[&Rule] = &[
    &LATENCY_REGRESSION,
    &OVER_LATENCY_BUDGET,
    &MARGINAL_SLOWDOWN,
    &INSUFFICIENT_SAMPLES,
    &INCOMPARABLE_INPUTS,
];
