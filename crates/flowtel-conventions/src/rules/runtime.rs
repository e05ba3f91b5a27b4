//! What the SDK enforces at run time: `FT08xx`, and [`VIOLATIONS`], every rule the runtime
//! counts.
//!
//! The runtime never fails a call over the conventions: it drops, folds or redacts, and counts
//! each intervention in `flowtel.violations{rule}`, whose `rule` label is the rule's `name`
//! (`cardinality-overflow`), so `flowtel explain <label value>` explains a counted violation.
//! Where the runtime enforces the same idea the telemetry linter checks (an undeclared metric,
//! an undeclared label, another instrument), it counts under that `FT01xx` rule; the rules here
//! are the interventions only the runtime makes.

use super::rule::Rule;
use super::telemetry;

declare_rule!(PII_LABEL, "FT0801", "pii-label", Warning,
    summary: "At run time: a personal-data attribute offered as a metric label was dropped.",
    what: "Counts every time code records a metric with an attribute the conventions mark `pii: true` as a label. The SDK drops that label before aggregation and records the rest of the point.",
    why: "Personal data on a metric reaches every backend and stays for the retention period, and a per-user label makes one series per user. The count shows that a call site still passes it.",
    bad: "flow_requests.add(1, &[KeyValue::new(\"user.id\", user)]);   // user.id: {pii: true}",
    good: "flow_requests.add(1, &[KeyValue::new(\"flow.name\", \"checkout\")]);   // user.id on the span, redacted",
);

declare_rule!(CARDINALITY_OVERFLOW, "FT0802", "cardinality-overflow", Warning,
    summary: "At run time: a label set beyond the metric's `cardinality_limit` was folded into the overflow series.",
    what: "Counts every measurement whose label set would have been a new series past the metric's `cardinality_limit` (or `defaults.cardinality_limit`). The SDK records it in the one series labelled `otel.metric.overflow=true` instead, so memory stays bounded. The exported telemetry's series count is checked by `FT0107 cardinality-over-limit`.",
    why: "Once folded, new series are indistinguishable: a dashboard split by the label silently misses them. A steady count means a label carries ids or raw values where the conventions budgeted a few.",
    bad: "# conventions: flow.step.duration cardinality_limit 500\n# code: flow.step = format!(\"load {order_id}\")",
    good: "# code: flow.step = \"cart.load\" (a declared step); the order id goes on the span",
);

declare_rule!(VALUE_OVERFLOW, "FT0803", "value-overflow", Warning,
    summary: "At run time: an attribute value past `max_values`, outside its enum or too long was replaced by `_OTHER`.",
    what: "Counts every attribute value the SDK replaced by `_OTHER`: a value of an attribute with `max_values` after that many distinct values were seen, a value of a closed `enum` attribute that is not among its `values`, or a value longer than the limit.",
    why: "`_OTHER` keeps the series count bounded but hides which values were lost; a count here means the code writes values the conventions did not plan for, often an id or a raw path.",
    bad: "# conventions: http.route: {max_values: 200}\n# code: http.route = req.uri().path()   // /orders/8812, /orders/8813, ...",
    good: "# code: http.route = the matched route template   // /orders/{id}",
);

declare_rule!(PII_REDACTED, "FT0804", "pii-redacted", Note,
    summary: "At run time: a personal-data attribute on a span was removed or replaced by a keyed hash.",
    what: "Counts every `pii: true` attribute value that reached a span or span event raw and was redacted at export: replaced by `hash:` and 16 hex digits of a keyed hash (`redact: hash`) or removed (`redact: drop`).",
    why: "Redaction is working as designed; the count shows how much personal data the code hands to telemetry. An unexpected rise points at a new call site recording it where a redacted field was meant.",
    bad: "#[flowtel::flow(\"checkout\", fields(user.email = email))]   // recorded raw, then redacted",
    good: "#[flowtel::flow(\"checkout\", fields(user.email = redact(email)))]   // redacted where it is recorded",
);

declare_rule!(BAGGAGE_OVERFLOW, "FT0805", "baggage-overflow", Warning,
    summary: "At run time: a baggage member beyond the W3C limits was dropped.",
    what: "Counts the baggage members the propagator dropped because the header would have passed the W3C Baggage limits (64 members, 8192 bytes). The flow (`flow.name`) is written first, so it is never the one dropped.",
    why: "Downstream services read the flow from baggage; a baggage header filled by other members can crowd out what analysis and per-flow metrics need, and most proxies reject oversized headers.",
    bad: "baggage: flow.name=checkout,debug.blob=<8 KiB>,...",
    good: "baggage: flow.name=checkout,tenant.tier=pro",
);

declare_rule!(EXPORT_DROPPED, "FT0806", "export-dropped", Warning,
    summary: "At run time: spans or metric batches the exporter could not deliver.",
    what: "Counts the spans and metric batches that never left the process: rejected by the full batch queue, failed by the exporter (collector down, timeout), or still unsent when shutdown's deadline passed. Reported once at warn level as well.",
    why: "Dropped telemetry makes traces partial and rates low without any visible error; analysis then reports broken propagation or missing steps that are really a delivery problem.",
    bad: "OTEL_EXPORTER_OTLP_ENDPOINT=http://collector:4318   # collector down during a deploy",
    good: "# a collector beside the service (or a larger OTEL_BSP_MAX_QUEUE_SIZE), and shutdown that flushes",
);

declare_rule!(EVENT_RATE_LIMITED, "FT0807", "event-rate-limited", Warning,
    summary: "At run time: log records of one event beyond its rate limit were dropped.",
    what: "Counts every log record the SDK dropped because its event (a declared event, or one `tracing` event name) was written more often in one second than its `rate_limit` (or `defaults.event_rate_limit`). The check is a hash and one atomic compare-and-swap per record (a clock read only once the second's budget is spent): a hot loop that logs never blocks, queues or grows memory.",
    why: "A flood of one line (a retry loop logging each attempt) drowns the other records, fills the export queue so that spans and other logs are dropped, and costs the service CPU. The count shows the flood without exporting it.",
    bad: "for attempt in 0.. { tracing::warn!(attempt, \"retrying\"); }",
    good: "tracing::warn!(attempts, \"gave up after retries\");   // one record per outcome",
);

/// The rules the runtime enforces with its own interventions, in id order.
pub static RULES: &[&Rule] = &[
    &PII_LABEL,
    &CARDINALITY_OVERFLOW,
    &VALUE_OVERFLOW,
    &PII_REDACTED,
    &BAGGAGE_OVERFLOW,
    &EXPORT_DROPPED,
    &EVENT_RATE_LIMITED,
];

/// Every rule the runtime counts in `flowtel.violations`; the `rule` label is its `name`.
/// Three are the telemetry linter's rules for the same mistake, caught before export.
pub static VIOLATIONS: &[&Rule] = &[
    &telemetry::UNKNOWN_METRIC,
    &telemetry::INSTRUMENT_MISMATCH,
    &telemetry::UNDECLARED_LABEL,
    &PII_LABEL,
    &CARDINALITY_OVERFLOW,
    &VALUE_OVERFLOW,
    &PII_REDACTED,
    &BAGGAGE_OVERFLOW,
    &EXPORT_DROPPED,
    &EVENT_RATE_LIMITED,
];
