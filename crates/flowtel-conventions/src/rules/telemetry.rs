//! Rules over exported telemetry (OTLP, Prometheus): `FT01xx`.
//!
//! `flowtel lint telemetry` and `flowtel live` raise these; deprecated names in telemetry are
//! reported with [`super::semconv::DEPRECATED_NAME`] and missing required metric labels with
//! [`super::semconv::MISSING_REQUIRED_ATTRIBUTE`], so each idea has one rule whoever checks it.

use super::rule::Rule;

declare_rule!(UNKNOWN_METRIC, "FT0101", "unknown-metric", Error,
    summary: "A metric that the conventions do not declare.",
    what: "Reports every metric name in the telemetry that the registry does not declare (OTLP names as they are; Prometheus names after undoing the OpenTelemetry-to-Prometheus translation), with the closest declared name as a suggestion.",
    why: "An undeclared metric has no owner, no agreed unit and no cardinality limit: nobody knows what it means, and dashboards built on it break silently when it is renamed.",
    bad: "# exported\nmetrics: [{name: checkout.order.count, sum: {...}}]",
    good: "# conventions\nmetrics:\n  checkout.orders: {instrument: counter, unit: '{order}', labels: [outcome]}\n# exported\nmetrics: [{name: checkout.orders, sum: {...}}]",
);

declare_rule!(UNDECLARED_LABEL, "FT0102", "undeclared-label", Error,
    summary: "A metric carries a label it does not declare.",
    what: "Reports every attribute key on a data point of a declared metric that is not among the metric's `labels`.",
    why: "Every label multiplies the series count; an undeclared one is unbounded cost nobody agreed to, and often personal data or a raw path that slipped in.",
    bad: "# conventions: flow.step.duration labels [flow.name, flow.step, outcome]\nflow.step.duration{flow.name=\"checkout\", user.id=\"u-42\"}",
    good: "flow.step.duration{flow.name=\"checkout\", flow.step=\"payment.authorize\", outcome=\"ok\"}",
);

declare_rule!(INSTRUMENT_MISMATCH, "FT0103", "instrument-mismatch", Error,
    summary: "A metric is exported as another instrument than the conventions declare.",
    what: "Reports a declared metric whose data shape (sum, histogram, gauge, summary) is not the declared `instrument`: a counter exported as a gauge, a histogram as a summary. In Prometheus input an `updown_counter` is expected as a gauge.",
    why: "Queries depend on the instrument: `rate()` of a gauge or `histogram_quantile()` of a counter give nonsense, and two services emitting one name as two instruments cannot be aggregated.",
    bad: "# conventions: flow.requests: {instrument: counter}\nmetrics: [{name: flow.requests, gauge: {...}}]",
    good: "metrics: [{name: flow.requests, sum: {isMonotonic: true, ...}}]",
);

declare_rule!(UNIT_MISMATCH, "FT0104", "unit-mismatch", Error,
    summary: "A metric is exported with another unit than the conventions declare.",
    what: "Reports a declared metric whose OTLP `unit` differs from the declared `unit` (`ms` where `s` is declared).",
    why: "A latency in milliseconds read as seconds is off by a factor of 1000: SLOs, alerts and budgets computed on it are wrong without any visible error.",
    bad: "# conventions: http.server.request.duration: {unit: s}\nmetrics: [{name: http.server.request.duration, unit: ms}]",
    good: "metrics: [{name: http.server.request.duration, unit: s}]",
);

declare_rule!(PII_ATTRIBUTE, "FT0105", "pii-attribute", Error,
    summary: "Personal data in telemetry: a `pii` attribute on a metric, or unredacted on a span or log record.",
    what: "Reports a `pii: true` attribute used as a metric label, or present on a span or log record with a value that is not a flowtel redaction hash (`hash:` and 16 hex digits).",
    why: "Telemetry is copied to many backends, kept for months and read by many people; personal data there breaks privacy law and promises, and on a metric it also explodes the series count.",
    bad: "span checkout {user.id=\"alice@example.com\"}",
    good: "span checkout {user.id=\"hash:5f1c0a9e3b7d2c41\"}   # #[flowtel::flow] fields(user.id = redact(uid))",
);

declare_rule!(ENUM_VALUE_OUTSIDE, "FT0106", "enum-value-outside", Error,
    summary: "An enum attribute has a value outside its declared `values`.",
    what: "Reports a value of a closed `type: enum` attribute (on a span, a data point or a log record) that is not one of the declared `values`.",
    why: "Dashboards and alerts filter on the declared values; an unexpected value (`Pro` for `pro`) falls through every filter and the data silently disappears from views.",
    bad: "# conventions: customer.tier: {type: enum, values: [free, pro, enterprise]}\ncheckout.orders{customer.tier=\"gold\"}",
    good: "checkout.orders{customer.tier=\"enterprise\"}",
);

declare_rule!(CARDINALITY_OVER_LIMIT, "FT0107", "cardinality-over-limit", Error,
    summary: "A metric has more series than its `cardinality_limit`.",
    what: "Counts the distinct label sets of each declared metric across the whole input and reports a metric over its `cardinality_limit` (or `defaults.cardinality_limit`), showing the label with the most values and its most frequent values.",
    why: "Each series costs memory and money in every backend; over the limit the runtime folds new series into one overflow series, so the data you see is no longer split the way you think.",
    bad: "# conventions: flow.step.duration cardinality_limit 500\n# telemetry: 12000 series, label flow.step has 11000 values (raw ids in step names)",
    good: "# step names are the declared step names only: 3 flows x 3 steps x 2 outcomes = 18 series",
);

declare_rule!(ATTRIBUTE_VALUES_OVER_MAX, "FT0108", "attribute-values-over-max", Warning,
    summary: "An attribute has more distinct values than its `max_values`.",
    what: "Counts the distinct values of each attribute with `max_values` across the whole input (spans, data points and log records) and reports the attributes over it, with their most frequent values.",
    why: "`max_values` is what the platform budgeted for the attribute; far more values usually mean an id or a raw path where a template belongs (`/orders/8812` instead of `/orders/{id}`).",
    bad: "# conventions: http.route: {max_values: 200}\nhttp.route=\"/orders/8812\", http.route=\"/orders/8813\", ...",
    good: "http.route=\"/orders/{id}\"",
);

declare_rule!(FLOW_NAME_MISSING, "FT0109", "flow-name-missing", Error,
    summary: "A flow or step span has no `flow.name`.",
    what: "Reports a span marked as flowtel flow or step work (`flowtel.kind` of `flow` or `step`, or carrying `flow.step`) that lacks the `flow.name` attribute.",
    why: "`flow.name` is how flow maps, critical paths and per-flow SLOs find a span; without it the work is counted in no flow.",
    bad: "span \"payment.authorize\" {flowtel.kind=\"step\", flow.step=\"payment.authorize\"}",
    good: "span \"checkout payment.authorize\" {flowtel.kind=\"step\", flow.step=\"payment.authorize\", flow.name=\"checkout\"}",
);

declare_rule!(UNKNOWN_FLOW, "FT0110", "unknown-flow", Error,
    summary: "`flow.name` names a flow the conventions do not declare.",
    what: "Reports a `flow.name` value on a span or a data point that is not a declared flow, with the closest flow as a suggestion.",
    why: "A flow that is not declared has no owner, no SLO and no alert route: its errors page nobody.",
    bad: "span {flow.name=\"chekout\"}",
    good: "span {flow.name=\"checkout\"}",
);

declare_rule!(UNKNOWN_STEP, "FT0111", "unknown-step", Error,
    summary: "`flow.step` names a step its flow does not declare.",
    what: "Reports a `flow.step` value on a span or a data point that is not a step of the flow named by `flow.name`, with the closest step as a suggestion.",
    why: "Step budgets, critical paths and step dashboards are keyed by the declared steps; an undeclared step is invisible to all of them.",
    bad: "span {flow.name=\"checkout\", flow.step=\"payment.charge\"}",
    good: "span {flow.name=\"checkout\", flow.step=\"payment.authorize\"}",
);

declare_rule!(NAME_NOT_CONVENTIONAL, "FT0112", "telemetry-name-not-conventional", Warning,
    summary: "A span or metric name does not match the registry's `naming` pattern.",
    what: "Reports span names that do not match `naming.span` and OTLP metric names that do not match `naming.metric`.",
    why: "Consistent names make telemetry findable: a `CheckoutLatencyMs` next to `flow.duration` is missed by every query and every person looking for it.",
    bad: "metrics: [{name: CheckoutLatencyMs}]",
    good: "metrics: [{name: checkout.latency, unit: s}]",
);

declare_rule!(MISSING_RESOURCE_ATTRIBUTE, "FT0113", "missing-resource-attribute", Error,
    summary: "The resource lacks `service.name`, `service.version` or `deployment.environment.name`.",
    what: "Reports each resource (once per service) that lacks one of the resource attributes every service must set: `service.name`, `service.version` and `deployment.environment.name`.",
    why: "Without them telemetry cannot be told apart by service, release or environment: a regression cannot be tied to a deploy, and staging traffic pollutes production SLOs.",
    bad: "resource: {service.name: checkout}",
    good: "resource: {service.name: checkout, service.version: 1.4.2, deployment.environment.name: production}",
);

declare_rule!(PROMETHEUS_NAME_TRANSLATION, "FT0114", "prometheus-name-translation", Error,
    summary: "A declared metric is exposed under another name than the OpenTelemetry-to-Prometheus translation gives.",
    what: "Reports a Prometheus family that is a declared metric under the wrong name: dots not turned into underscores, the unit suffix missing (`_seconds`, `_bytes`, `_ratio`), or `_total` missing on a counter. The expected name is given.",
    why: "Dashboards and alerts generated from the conventions query the translated name (`flow.step.duration` + `s` is `flow_step_duration_seconds`); any other name leaves them empty.",
    bad: "# TYPE flow_step_duration histogram",
    good: "# TYPE flow_step_duration_seconds histogram",
);

declare_rule!(PROMETHEUS_SNAKE_CASE, "FT0115", "prometheus-snake-case", Warning,
    summary: "A Prometheus metric or label name is not snake_case.",
    what: "Reports Prometheus metric and label names with upper-case letters (as Prometheus's `promlint` does).",
    why: "Prometheus names are snake_case by convention; camelCase names are easy to mistype and look foreign next to every exporter's metrics.",
    bad: "http_requestDuration_seconds{statusCode=\"200\"}",
    good: "http_request_duration_seconds{status_code=\"200\"}",
);

declare_rule!(PROMETHEUS_BASE_UNITS, "FT0116", "prometheus-base-units", Warning,
    summary: "A Prometheus metric name uses a non-base unit.",
    what: "Reports Prometheus metric names with a non-base unit such as `_milliseconds`, `_minutes`, `_kilobytes` or `_percent` (as `promlint` does); Prometheus uses seconds, bytes and ratios.",
    why: "Mixing units across metrics makes every query that combines them wrong by a constant factor, and PromQL functions assume seconds.",
    bad: "request_latency_milliseconds",
    good: "request_latency_seconds",
);

declare_rule!(PROMETHEUS_TOTAL_SUFFIX, "FT0117", "prometheus-total-suffix", Warning,
    summary: "A counter without `_total`, or `_total` on something that is not a counter.",
    what: "Reports Prometheus counters whose samples do not end in `_total` and non-counter families whose name ends in `_total` (as `promlint` does).",
    why: "`_total` tells readers and tools that `rate()` applies; on a gauge it invites a meaningless `rate()`, and a counter without it is taken for a gauge.",
    bad: "# TYPE queue_depth_total gauge",
    good: "# TYPE queue_depth gauge",
);

declare_rule!(PROMETHEUS_RESERVED_SUFFIX, "FT0118", "prometheus-reserved-suffix", Warning,
    summary: "`_bucket`, `_count`, `_sum`, `le` or `quantile` used outside a histogram or summary.",
    what: "Reports families that are not histograms or summaries but are named with `_bucket`, `_count` or `_sum`, an `le` label outside a histogram and a `quantile` label outside a summary (as `promlint` does).",
    why: "Those suffixes and labels are how Prometheus encodes histograms and summaries; elsewhere they collide with generated series names and mislead `histogram_quantile()`.",
    bad: "# TYPE jobs_count gauge\njobs_count{le=\"5\"} 3",
    good: "# TYPE jobs gauge\njobs{priority=\"5\"} 3",
);

declare_rule!(PROMETHEUS_COLON_IN_NAME, "FT0119", "prometheus-colon-in-name", Warning,
    summary: "A Prometheus metric name contains `:`.",
    what: "Reports exposed metric names containing a colon (as `promlint` does).",
    why: "Colons are reserved for recording rules (`job:http_requests:rate5m`); an exposed name with one collides with rule outputs.",
    bad: "checkout:orders_total",
    good: "checkout_orders_total",
);

declare_rule!(PROMETHEUS_MISSING_HELP, "FT0120", "prometheus-missing-help", Note,
    summary: "A Prometheus metric family has no `# HELP` text.",
    what: "Reports families without a `# HELP` line, or with an empty one (as `promlint` does). The OpenTelemetry exporter writes the instrument's description there: declare a `brief`.",
    why: "The help text is the only documentation a reader of the metric sees in Prometheus and Grafana.",
    bad: "# TYPE checkout_orders_total counter\ncheckout_orders_total 3",
    good: "# HELP checkout_orders_total Orders placed.\n# TYPE checkout_orders_total counter\ncheckout_orders_total 3",
);

declare_rule!(MALFORMED_TELEMETRY, "FT0121", "malformed-telemetry", Fatal,
    summary: "Telemetry input that cannot be read: malformed, truncated or over the size limit.",
    what: "Reports an input (file, stdin, scrape or received request) that is not valid OTLP JSON, OTLP protobuf, Prometheus or OpenMetrics text, or whose batch is over the size limit, with its file, line and column (or byte offset).",
    why: "Telemetry that cannot be read cannot be checked; a linter that skipped it would pass a broken export.",
    bad: "{\"resourceSpans\": [{\"scopeSpans\": [",
    good: "{\"resourceSpans\": [{\"scopeSpans\": []}]}",
);

declare_rule!(SATURATION_LIMIT_MISSING, "FT0140", "saturation-limit-missing", Error,
    summary: "A saturation signal exported without its declared limit.",
    what: "For every metric the conventions declare with `saturation`, checks that the telemetry also carries its limit gauge `<name>.limit` (the flowtel SDK exports it beside the signal).",
    why: "Saturation alerts and dashboards divide the signal by its limit; without the limit series they cannot say how full the resource is.",
    bad: "orders.queue.depth{queue.name=authorizations} 12   # and no orders.queue.depth.limit",
    good: "orders.queue.depth{queue.name=authorizations} 12\norders.queue.depth.limit{queue.name=authorizations} 64",
);

declare_rule!(SATURATION_LIMIT_MISMATCH, "FT0141", "saturation-limit-mismatch", Error,
    summary: "An exported saturation limit that differs from the declared one.",
    what: "Compares every point of a `<name>.limit` gauge with the `saturation.limit` the conventions declare for `<name>`.",
    why: "The conventions are the one place capacities are stated; a service exporting another limit makes its saturation alerts disagree with everyone else's.",
    bad: "orders.queue.depth.limit 100   # the conventions say limit: 64",
    good: "orders.queue.depth.limit 64",
);

declare_rule!(COVERAGE_BELOW_MINIMUM, "FT0150", "coverage-below-minimum", Error,
    summary: "A declared flow (or all flows together) was seen less than `--min-coverage` requires.",
    what: "With `--min-coverage X`, compares the flows, steps, services and entry routes the conventions declare with those the telemetry carried, and reports each flow whose share seen is below X, naming what never appeared, and the overall share when it is below X.",
    why: "A declared flow without telemetry looks the same as a healthy one on a dashboard that shows nothing; coverage turns \"partial\" visibility into a number CI can hold.",
    bad: "flowtel lint telemetry --min-coverage 0.9 out/   # the refund flow never ran",
    good: "flowtel lint telemetry --min-coverage 0.9 out/   # the load exercises every flow and step",
);

declare_rule!(PERSONAL_DATA_KEY, "FT0160", "personal-data-key", Error,
    summary: "Telemetry carries an undeclared attribute whose name says personal data.",
    what: "Reports an attribute key on a span, log record or metric data point (a label, in Prometheus input) that the conventions do not declare and that has a token from `pii.key_words` (`email`, `phone`, `address`, `ip`, `card`, `ssn`, a person's `name`, ...), as in `user_email` or `customer.firstName`.",
    why: "An undeclared key has no `pii` marking, so nothing redacts it: the value leaves the service in clear, is copied to every backend and kept for months. The SDK drops undeclared metric labels, but spans and logs carry them out.",
    bad: "span signup {user_email=\"ada@example.com\"}",
    good: "# conventions: user.email: {type: string, pii: true, redact: hash}\nspan signup {user.email=\"hash:5f1c0a9e3b7d2c41\"}   # or drop the attribute",
);

declare_rule!(PERSONAL_DATA_VALUE, "FT0161", "personal-data-value", Error,
    summary: "A value that looks like personal data on an attribute not declared `pii`.",
    what: "Reports a string value shaped like an e-mail address, a phone number (`+` and 8 to 15 digits), a card number passing the Luhn check or an IP address (`pii.value_shapes`), or matching one of `pii.value_patterns`, on any attribute of a span, log record or data point that is not declared `pii: true`. The finding names the attribute and shows a redacted sample (`a***@example.com`). An IP address is expected on a declared attribute that is a network address (not `pii`, and its key ends in `address`, `addr` or `ip`, or its brief or examples speak of IP addresses, as OpenTelemetry's `server.address`, `client.address` and `network.peer.address` do): it is not reported there. Declare such an attribute `pii: true` where the addresses are people's.",
    why: "Personal data hides in attributes named for something else (a free-text `order.note`, an e-mail address used as an id): a name-based check misses it, and once exported it cannot be recalled.",
    bad: "span checkout {order.ref=\"ada@example.com\"}",
    good: "span checkout {order.ref=\"ord-8812\"}   # or declare the attribute `pii: true` and redact it",
);

/// Every telemetry rule, in id order.
pub static RULES: &[&Rule] = &[
    &UNKNOWN_METRIC,
    &UNDECLARED_LABEL,
    &INSTRUMENT_MISMATCH,
    &UNIT_MISMATCH,
    &PII_ATTRIBUTE,
    &ENUM_VALUE_OUTSIDE,
    &CARDINALITY_OVER_LIMIT,
    &ATTRIBUTE_VALUES_OVER_MAX,
    &FLOW_NAME_MISSING,
    &UNKNOWN_FLOW,
    &UNKNOWN_STEP,
    &NAME_NOT_CONVENTIONAL,
    &MISSING_RESOURCE_ATTRIBUTE,
    &PROMETHEUS_NAME_TRANSLATION,
    &PROMETHEUS_SNAKE_CASE,
    &PROMETHEUS_BASE_UNITS,
    &PROMETHEUS_TOTAL_SUFFIX,
    &PROMETHEUS_RESERVED_SUFFIX,
    &PROMETHEUS_COLON_IN_NAME,
    &PROMETHEUS_MISSING_HELP,
    &MALFORMED_TELEMETRY,
    &SATURATION_LIMIT_MISSING,
    &SATURATION_LIMIT_MISMATCH,
    &COVERAGE_BELOW_MINIMUM,
    &PERSONAL_DATA_KEY,
    &PERSONAL_DATA_VALUE,
];
