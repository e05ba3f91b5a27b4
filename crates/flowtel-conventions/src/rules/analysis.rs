//! Rules of the flow analysis over traces (`flowtel map`, `critical-path`, `latency`, `report`,
//! `regress`, `live --analyze`): `FT06xx`.
//!
//! Trace assembly reports what it could not use (invalid spans, duplicate span ids, parent
//! cycles, oversized traces) and how complete the traces are; the analyses report budgets
//! exceeded and dependencies that amplify load with retries.

use super::rule::Rule;

declare_rule!(PARTIAL_TRACES, "FT0601", "partial-traces", Error,
    summary: "Too many traces of a flow are partial: spans whose parent never arrived.",
    what: "Assembles every trace from all inputs and counts, per flow, the traces in which some span names a parent span that is in none of the inputs. Reports a flow whose share of partial traces is over the threshold (`--max-partial`, default 5%).",
    why: "A partial trace is what makes an incident ambiguous: the slow or failing part may be exactly the part that is missing, and the critical path and the service map computed from it are wrong without saying so.",
    bad: "checkout: 37 of 120 traces partial (31%): payments spans whose parent from gateway never arrived",
    good: "checkout: 0 of 120 traces partial: every service propagates `traceparent` and every exporter flushes on shutdown",
);

declare_rule!(BROKEN_PROPAGATION, "FT0602", "broken-propagation", Warning,
    summary: "Spans of a service whose parent, from another service, never arrived.",
    what: "For each pair of services, counts the spans of the callee whose parent span (inferred to belong to the caller from the complete traces of the same kind) is missing from the inputs, out of all the callee's spans entered from another service.",
    why: "It names where trace context is lost: a caller that does not inject `traceparent`, a proxy that strips it, or a service whose exporter drops spans. Every trace crossing that boundary is broken in two.",
    bad: "payments spans whose parent from gateway never arrived: 37 of 120",
    good: "gateway's HTTP client injects the W3C `traceparent` header (flowtel-tower's client layer does)",
);

declare_rule!(INVALID_SPAN, "FT0603", "invalid-span", Warning,
    summary: "A span that cannot be analysed: no trace or span id, or an end before its start.",
    what: "Reports spans skipped by trace assembly because their trace id or span id is missing (all zeros) or their timestamps are unset or end before they start; the first is shown with its input and position, the rest counted.",
    why: "Such a span cannot be placed in a trace or on a timeline; a producer that writes them loses data on every backend, not only in flowtel.",
    bad: "{\"traceId\": \"\", \"spanId\": \"1111111111111111\", \"startTimeUnixNano\": \"200\", \"endTimeUnixNano\": \"100\"}",
    good: "{\"traceId\": \"5b8efff798038103d269b633813fc60c\", \"spanId\": \"1111111111111111\", \"startTimeUnixNano\": \"100\", \"endTimeUnixNano\": \"200\"}",
);

declare_rule!(DUPLICATE_SPAN_ID, "FT0604", "duplicate-span-id", Warning,
    summary: "Two spans of one trace share a span id.",
    what: "Counts spans whose span id was already seen in the same trace; the first one is kept, the others are skipped.",
    why: "Span ids must be unique in a trace: a duplicate makes the parent of its children ambiguous. It usually means a batch exported twice (a retry after a timeout) or a broken id generator.",
    bad: "two spans {traceId: 5b8e..., spanId: 1111111111111111} in one trace",
    good: "each span of a trace has its own random 8-byte span id",
);

declare_rule!(PARENT_CYCLE, "FT0605", "parent-cycle", Warning,
    summary: "Parent links in a trace form a cycle.",
    what: "Reports traces in which following parent span ids comes back to the start; the cycle is cut at one span, which becomes a root.",
    why: "A cycle is impossible in a real call tree; it means corrupted ids, and the analysis of that trace is a guess.",
    bad: "span A parent B, span B parent A",
    good: "span A parent B, span B without parent (the root)",
);

declare_rule!(TRACE_TOO_LARGE, "FT0606", "trace-too-large", Warning,
    summary: "A trace has more spans than the analysis keeps per trace.",
    what: "Reports a trace with more spans than `--max-trace-spans` (default 100,000); the spans beyond the limit are counted and skipped.",
    why: "A runaway trace (a loop that opens a span per item) costs memory in every backend and hides the calls that matter; bounding it keeps the analysis bounded.",
    bad: "one trace with 1,000,000 spans: a span per row of a batch job",
    good: "one span for the batch with a `batch.size` attribute, or a new trace per item",
);

declare_rule!(OVER_BUDGET, "FT0607", "over-budget", Error,
    summary: "A flow or step is slower than its latency budget or SLO threshold.",
    what: "Computes the P50, P95 and P99 duration of every flow and step in the traces and compares them with the step `budget`s and the flow's `slo.latency` (the quantile at `target` percent against `threshold`).",
    why: "Budgets split a flow's latency objective among the teams; a step over its budget spends another step's share, and in CI it gates a load-test run before the SLO burns in production.",
    bad: "checkout payment.authorize: P95 412 ms, budget 250 ms",
    good: "checkout payment.authorize: P95 118 ms, budget 250 ms",
);

declare_rule!(RETRY_AMPLIFICATION, "FT0608", "retry-amplification", Warning,
    summary: "A dependency is called more than 1.2 times per logical call: retries amplify its load.",
    what: "Counts, on every edge of the service map, the client calls and the retries among them (repeated calls from one parent span to the same peer and route, or `http.request.resend_count` > 0) and reports an edge whose amplification (calls / logical calls) is over 1.2.",
    why: "Retries multiply load exactly when a dependency is struggling; unbounded or layered retries turn a slow service into an outage.",
    bad: "gateway -> payments: 360 calls for 120 logical calls (3.0x)",
    good: "gateway -> payments: 126 calls for 120 logical calls (1.05x): one retry with backoff and a retry budget",
);

/// Every analysis rule, in id order.
pub static RULES: &[&Rule] = &[
    &PARTIAL_TRACES,
    &BROKEN_PROPAGATION,
    &INVALID_SPAN,
    &DUPLICATE_SPAN_ID,
    &PARENT_CYCLE,
    &TRACE_TOO_LARGE,
    &OVER_BUDGET,
    &RETRY_AMPLIFICATION,
];
