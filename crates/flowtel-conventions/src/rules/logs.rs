//! Rules over exported log records (`FT017x`, part of the telemetry area): declared events,
//! their required attributes and severity, trace correlation, and what a body should not hold.
//!
//! `flowtel lint telemetry` and `flowtel live` raise these; per-attribute checks on log
//! records (undeclared keys, personal data, enum values) are the telemetry rules' own.

use super::rule::Rule;

declare_rule!(UNKNOWN_EVENT, "FT0170", "unknown-event", Error,
    summary: "A log record names an event that the conventions do not declare.",
    what: "Reports a log record whose event name (OTLP `eventName`, or the `event.name` attribute) is not a declared event, with the closest declared name as a suggestion. Records without an event name, and `tracing`'s default names (`event src/main.rs:12`), are plain logs and not checked.",
    why: "An event is a contract: dashboards, alerts and audits search for its name and attributes. An undeclared name has no owner and no agreed shape, and a misspelt one is an event nobody finds.",
    bad: "# exported\nlogRecords: [{eventName: payment.decline, attributes: [...]}]",
    good: "# conventions\nevents:\n  payment.declined: {severity: warn, required_attributes: [payment.decline_reason]}\n# exported\nlogRecords: [{eventName: payment.declined, ...}]",
);

declare_rule!(EVENT_MISSING_ATTRIBUTE, "FT0171", "event-missing-attribute", Error,
    summary: "A declared event arrives without an attribute it requires.",
    what: "Reports a log record of a declared event that lacks one of the event's `required_attributes`.",
    why: "Whoever searches for the event relies on its required attributes (why a payment was declined); a record without them answers nothing.",
    bad: "logRecords: [{eventName: payment.declined, attributes: []}]",
    good: "logRecords: [{eventName: payment.declined, attributes: [{key: payment.decline_reason, value: {stringValue: card_expired}}]}]",
);

declare_rule!(EVENT_ATTRIBUTE_NOT_LISTED, "FT0172", "event-attribute-not-listed", Warning,
    summary: "A declared event carries an attribute the event does not list.",
    what: "Reports an attribute on a record of a declared event that is neither in the event's `attributes` nor in its `required_attributes` (`flow.name`, `flow.step`, `event.name` and the `code.*`, `exception.*` and `thread.*` attributes logging bridges add are always allowed).",
    why: "An event's shape is agreed in the conventions; extra attributes drift from it silently and are often data that should not be logged at all.",
    bad: "# conventions: payment.declined: {attributes: [order.id]}\nlogRecords: [{eventName: payment.declined, attributes: [{key: customer.tier, ...}]}]",
    good: "# conventions: payment.declined: {attributes: [order.id, customer.tier]}",
);

declare_rule!(EVENT_SEVERITY_TOO_LOW, "FT0173", "event-severity-too-low", Error,
    summary: "A declared event is logged below its declared severity.",
    what: "Reports a log record of a declared event whose severity (OTLP `severityNumber`, or `severityText` when the number is unset) is below the event's `severity`.",
    why: "Log pipelines filter and alert by severity; a declined payment logged at `debug` is dropped in production and never seen.",
    bad: "# conventions: payment.declined: {severity: warn}\nlogRecords: [{eventName: payment.declined, severityNumber: 9}]   # INFO",
    good: "logRecords: [{eventName: payment.declined, severityNumber: 13}]   # WARN",
);

declare_rule!(UNCORRELATED_LOG, "FT0174", "uncorrelated-log", Error,
    summary: "A log record without trace context where it should have one.",
    what: "Reports log records without a trace id from a service whose other records carry one (one finding per service, with the count), and records of an event declared for a flow that arrive without a trace id or without `flow.name`.",
    why: "A log line written inside a request can only be found from that request's trace through its trace id; an uncorrelated line from a service that otherwise correlates was written outside the request's span (a spawned task, another thread) and is lost to whoever debugs the trace.",
    bad: "tokio::spawn(async move { tracing::warn!(\"payment declined\") });   // the span is not entered in the task",
    good: "tokio::spawn(async move { tracing::warn!(\"payment declined\") }.in_current_span());",
);

declare_rule!(LOG_BODY_HOLDS_ATTRIBUTE, "FT0175", "log-body-holds-attribute", Warning,
    summary: "A log body holds text that belongs in an attribute (an e-mail address, an id).",
    what: "Matches log bodies against the conventions' `lint.body_patterns` (built in: e-mail addresses and payment card numbers as personal data, UUIDs as ids) and reports each pattern once per event or service, naming the attribute that should carry the value.",
    why: "Text in a body cannot be redacted, searched or aggregated: an e-mail address in a message leaks personal data past flowtel's redaction, an id in a message cannot be joined with the trace's attributes.",
    bad: "tracing::warn!(\"payment declined for alice@example.com\");",
    good: "flowtel::event!(\"payment.declined\", payment.decline_reason = \"card_expired\", user.id = redact(user));",
);

/// Every log rule, in id order.
pub static RULES: &[&Rule] = &[
    &UNKNOWN_EVENT,
    &EVENT_MISSING_ATTRIBUTE,
    &EVENT_ATTRIBUTE_NOT_LISTED,
    &EVENT_SEVERITY_TOO_LOW,
    &UNCORRELATED_LOG,
    &LOG_BODY_HOLDS_ATTRIBUTE,
];
