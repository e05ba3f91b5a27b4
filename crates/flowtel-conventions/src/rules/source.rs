//! Rules over Rust sources (`flowtel lint source`): `FT02xx`.
//!
//! The source linter reads names written in `tracing` span and event macros and
//! `#[instrument]`, OpenTelemetry meter instrument constructors and `KeyValue::new`, and the
//! `metrics` crate's macros. Deprecated names in source are reported with
//! [`super::semconv::DEPRECATED_NAME`], so each idea has one rule whoever checks it.

use super::rule::Rule;

declare_rule!(UNKNOWN_METRIC_IN_SOURCE, "FT0201", "unknown-metric-name-in-source", Error,
    summary: "Code creates a metric that the conventions do not declare.",
    what: "Reports the name passed to an OpenTelemetry instrument constructor (`meter.u64_counter(\"..\")`, `f64_histogram`, `i64_up_down_counter`, `u64_gauge`, observable variants) or to a `metrics` crate macro (`counter!`, `histogram!`, `gauge!`) when the registry does not declare it, with the closest declared name as a suggestion.",
    why: "A metric that is not declared has no owner, unit or cardinality limit; catching it in the pull request is cheaper than finding it in production telemetry.",
    bad: "let orders = meter.u64_counter(\"checkout.order.count\").build();",
    good: "let orders = meter.u64_counter(\"checkout.orders\").build();",
);

declare_rule!(UNDECLARED_ATTRIBUTE_KEY, "FT0202", "undeclared-attribute-key", Warning,
    summary: "Code records an attribute key that the conventions do not declare.",
    what: "Reports attribute keys written in source that no layer declares: fields of `tracing` span and event macros and of `#[instrument(fields(..))]`, `KeyValue::new(\"..\", ..)` keys, and label keys of `metrics` macros. `otel.*` fields (read by `tracing-opentelemetry`) and `message` are not attributes and are skipped.",
    why: "Undeclared keys have no type, value limit or PII marking; they are how inconsistent names (`userId`, `user_id`, `user.id`) and cardinality explosions start.",
    bad: "let span = tracing::info_span!(\"load\", cart_items = n);",
    good: "let span = tracing::info_span!(\"load\", cart.size = n);",
);

declare_rule!(INSTRUMENT_MISMATCH_IN_SOURCE, "FT0203", "instrument-mismatch-in-source", Error,
    summary: "Code creates a declared metric as another instrument than the conventions declare.",
    what: "Reports an instrument constructor or `metrics` macro whose kind is not the metric's declared `instrument`: `u64_counter` or `counter!` for a histogram, `f64_gauge` for a counter, `i64_up_down_counter` for a counter.",
    why: "Backends store and query each instrument differently; a histogram recorded as a counter loses its distribution and `histogram_quantile()` over it returns nothing.",
    bad: "# conventions: flow.step.duration: {instrument: histogram}\nlet d = meter.u64_counter(\"flow.step.duration\").build();",
    good: "let d = meter.f64_histogram(\"flow.step.duration\").with_unit(\"s\").build();",
);

declare_rule!(SPAN_NAME_NOT_CONVENTIONAL, "FT0204", "span-name-not-conventional", Warning,
    summary: "A span name in source does not match the conventions' `naming.span` pattern.",
    what: "Checks the literal names of `tracing` span macros (`info_span!(\"..\")`, `span!(Level::INFO, \"..\")`) and `#[instrument(name = \"..\")]` against the registry's `naming.span` pattern.",
    why: "Span names are what trace search and span metrics group by; names that vary in form or carry identifiers (`GET /orders/42`) make traces hard to find and explode the number of span names.",
    bad: "tracing::info_span!(\"Load Cart For User 42 \")",
    good: "tracing::info_span!(\"cart.load\")",
);

declare_rule!(PII_KEY_RECORDED, "FT0205", "pii-key-recorded", Error,
    summary: "Code records an attribute marked `pii` in clear.",
    what: "Reports a `pii: true` attribute written as a field of a `tracing` span or event, in `#[instrument(fields(..))]`, as a `KeyValue::new` key, or as a label of a `metrics` macro.",
    why: "Spans and metrics are copied to many systems with long retention and wide access; personal data in them is a privacy incident. flowtel's macros hash or drop such values (`fields(user.id = redact(uid))`).",
    bad: "tracing::info_span!(\"login\", user.id = %uid)",
    good: "#[flowtel::step(\"credentials.verify\", fields(user.id = redact(uid)))]",
);

declare_rule!(UNDECLARED_METRIC_LABEL_IN_SOURCE, "FT0206", "undeclared-metric-label-in-source", Error,
    summary: "A `metrics` macro gives a declared metric a label it does not declare.",
    what: "Reports a label key passed to `counter!`, `histogram!` or `gauge!` that is not among the declared metric's `labels`.",
    why: "Every label multiplies the series count; the runtime drops undeclared labels, so the data the code meant to record is lost anyway.",
    bad: "# conventions: flow.requests labels [flow.name, outcome]\ncounter!(\"flow.requests\", \"user.tier\" => tier).increment(1);",
    good: "counter!(\"flow.requests\", \"flow.name\" => \"checkout\", \"outcome\" => \"ok\").increment(1);",
);

declare_rule!(UNIT_MISMATCH_IN_SOURCE, "FT0207", "unit-mismatch-in-source", Error,
    summary: "Code gives a declared metric another unit than the conventions declare.",
    what: "Reports `.with_unit(\"..\")` on an instrument builder when the unit differs from the metric's declared `unit` (`ms` where `s` is declared).",
    why: "A latency in milliseconds read as seconds is off by a factor of 1000: SLOs and budgets computed on it are wrong without any visible error.",
    bad: "meter.f64_histogram(\"flow.step.duration\").with_unit(\"ms\").build()",
    good: "meter.f64_histogram(\"flow.step.duration\").with_unit(\"s\").build()",
);

declare_rule!(SOURCE_NOT_PARSED, "FT0208", "source-not-parsed", Warning,
    summary: "A Rust file could not be parsed, so its names were not checked.",
    what: "Reports a `.rs` file that the linter's Rust parser rejects (a syntax error, or syntax newer than the parser), with the parser's line and column.",
    why: "Names in a file that was not read are not checked; saying so keeps a clean report honest.",
    bad: "fn main( {",
    good: "fn main() {}",
);

declare_rule!(UNKNOWN_EVENT_IN_SOURCE, "FT0209", "unknown-event-in-source", Error,
    summary: "A `tracing` event names a log event that the conventions do not declare.",
    what: "Reports a `tracing` event macro (`info!`, `warn!`, `event!`, ...) whose event name, given as `name: \"..\"` or as an `event.name = \"..\"` field, is not a declared event, with the closest declared name as a suggestion. Events without a name are plain logs and not checked; `flowtel::event!` is checked by the compiler instead.",
    why: "The name is what dashboards, alerts and audits search for; a misspelt one is exported as an event nobody finds, and `flowtel lint telemetry` would only report it once it has shipped.",
    bad: "tracing::warn!(name: \"payment.declned\", payment.decline_reason = \"card_expired\");",
    good: "tracing::warn!(name: \"payment.declined\", payment.decline_reason = \"card_expired\");\n// or, checked at compile time:\nflowtel::event!(\"payment.declined\", payment.decline_reason = \"card_expired\");",
);

declare_rule!(EVENT_ATTRIBUTE_NOT_LISTED_IN_SOURCE, "FT0210", "event-attribute-not-listed-in-source", Warning,
    summary: "A `tracing` event of a declared log event records a field the event does not list.",
    what: "Reports a field of a `tracing` event naming a declared event when the key is a declared attribute but neither in the event's `attributes` nor in its `required_attributes` (undeclared keys are `FT0202`; `message`, `event.name`, `flow.name` and `flow.step` are always allowed).",
    why: "An event's shape is agreed in the conventions; extra fields drift from it silently and are reported on every exported record (`FT0172`).",
    bad: "# conventions: payment.declined: {attributes: [order.id]}\ntracing::warn!(name: \"payment.declined\", customer.tier = \"pro\", ..);",
    good: "# conventions: payment.declined: {attributes: [order.id, customer.tier]}",
);

declare_rule!(EVENT_MISSING_ATTRIBUTE_IN_SOURCE, "FT0211", "event-missing-attribute-in-source", Error,
    summary: "A `tracing` event of a declared log event lacks an attribute the event requires.",
    what: "Reports a `tracing` event naming a declared event that does not record one of the event's `required_attributes` as a field (a field recorded later cannot be: events are written at once).",
    why: "Whoever searches for the event relies on its required attributes; every record written here would be reported by `flowtel lint telemetry` (`FT0171`).",
    bad: "tracing::warn!(name: \"payment.declined\", order.id = %id, \"declined\");",
    good: "tracing::warn!(name: \"payment.declined\", payment.decline_reason = reason, order.id = %id, \"declined\");",
);

declare_rule!(EVENT_SEVERITY_TOO_LOW_IN_SOURCE, "FT0212", "event-severity-too-low-in-source", Error,
    summary: "A `tracing` event of a declared log event is written below the event's severity.",
    what: "Reports a `tracing` event naming a declared event whose level (`info!`, `event!(Level::INFO, ..)`) is below the event's declared `severity`.",
    why: "Log pipelines filter by severity; a declined payment written at `info` where `warn` is agreed is dropped in production, and every record is reported (`FT0173`).",
    bad: "# conventions: payment.declined: {severity: warn}\ntracing::info!(name: \"payment.declined\", ..);",
    good: "tracing::warn!(name: \"payment.declined\", ..);",
);

declare_rule!(PII_NAMED_KEY_IN_SOURCE, "FT0220", "personal-data-key-in-source", Error,
    summary: "Code records an undeclared attribute key whose name says personal data.",
    what: "Reports undeclared attribute keys (span fields, `KeyValue::new` keys, metric labels) with a token from the conventions' `pii.key_words` (by default `email`, `phone`, `address`, `ip`, `card`, `ssn`, a person's `name` as in `user_name` or `first.name`, ...).",
    why: "An undeclared key has no `pii` marking, so nothing redacts it: `user_email = %email` puts addresses in every exported span. The runtime drops undeclared metric labels, but spans and logs carry them out.",
    bad: "counter.add(1, &[KeyValue::new(\"user_email\", email)]);",
    good: "// declare `user.email: {type: string, pii: true, redact: hash}` and record it with redact(..)\n#[flowtel::step(\"signup.create\", fields(user.email = redact(email)))]",
);

/// Every source rule, in id order.
pub static RULES: &[&Rule] = &[
    &UNKNOWN_METRIC_IN_SOURCE,
    &UNDECLARED_ATTRIBUTE_KEY,
    &INSTRUMENT_MISMATCH_IN_SOURCE,
    &SPAN_NAME_NOT_CONVENTIONAL,
    &PII_KEY_RECORDED,
    &UNDECLARED_METRIC_LABEL_IN_SOURCE,
    &UNIT_MISMATCH_IN_SOURCE,
    &SOURCE_NOT_PARSED,
    &UNKNOWN_EVENT_IN_SOURCE,
    &EVENT_ATTRIBUTE_NOT_LISTED_IN_SOURCE,
    &EVENT_MISSING_ATTRIBUTE_IN_SOURCE,
    &EVENT_SEVERITY_TOO_LOW_IN_SOURCE,
    &PII_NAMED_KEY_IN_SOURCE,
];
