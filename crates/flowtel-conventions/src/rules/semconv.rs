//! Rules about OpenTelemetry semantic-conventions layers and deprecated names: `FT04xx`.

use super::rule::Rule;

declare_rule!(SEMCONV_REDEFINED, "FT0401", "semconv-redefined", Error,
    summary: "A flowtel layer redefines a semantic-conventions name with another type, instrument or unit.",
    what: "Reports an attribute that a flowtel layer declares with another value type than OpenTelemetry's semantic conventions give it, or a metric with another instrument or unit, naming both places. Narrowing is allowed: a layer may add `max_values`, `pii`, `redact`, a `brief`, a subset of an enum's values, or labels.",
    why: "`http.route` or `http.server.request.duration` mean what OpenTelemetry says in every backend, dashboard and instrumentation library; a different type or unit breaks queries that join your data with everyone else's.",
    bad: "imports: [{semconv: semconv/model}]\nattributes:\n  http.response.status_code: {type: string}",
    good: "imports: [{semconv: semconv/model}]\nattributes:\n  http.response.status_code: {type: int, max_values: 60}",
);

declare_rule!(SEMCONV_NAMESPACE, "FT0402", "semconv-namespace", Warning,
    summary: "A new name inside a namespace that OpenTelemetry's semantic conventions own.",
    what: "Reports an attribute or metric that a flowtel layer adds under a root namespace the imported semantic conventions use (`http.*`, `db.*`, `server.*`, ...) but that the conventions do not define.",
    why: "OpenTelemetry's naming guidance reserves its namespaces: a future version may define the same name with another meaning, and readers assume every `http.*` name is OpenTelemetry's. Your own prefix avoids both.",
    bad: "attributes:\n  http.tenant: {type: string}",
    good: "attributes:\n  acme.http.tenant: {type: string}",
);

declare_rule!(DEPRECATED_NAME, "FT0403", "deprecated-name", Warning,
    summary: "A deprecated attribute or metric name is used; the replacement is named.",
    what: "Reports a deprecated name (from the semantic conventions or a flowtel layer) wherever it is used: declared or narrowed by a flowtel layer, used as a metric label, emitted in telemetry, or written in source. The message names the replacement (`http.method` -> `http.request.method`) or says why there is none.",
    why: "Deprecated names are on their way out: new instrumentation emits the replacement, so dashboards and alerts that read the old name go blind one library upgrade at a time.",
    bad: "metrics:\n  checkout.duration: {instrument: histogram, unit: s, labels: [http.method]}",
    good: "metrics:\n  checkout.duration: {instrument: histogram, unit: s, labels: [http.request.method]}",
);

declare_rule!(MISSING_REQUIRED_ATTRIBUTE, "FT0404", "missing-required-attribute", Error,
    summary: "Telemetry lacks an attribute its convention requires.",
    what: "Reports a data point of a metric, or a span, that lacks an attribute whose `requirement_level` is `required` in its convention (`http.request.method` on `http.server.request.duration`).",
    why: "Required attributes are what every dashboard and alert built on the convention groups by; a series without them cannot be split or compared.",
    bad: "http.server.request.duration{http.route=\"/checkout\"}",
    good: "http.server.request.duration{http.request.method=\"POST\", url.scheme=\"https\", http.route=\"/checkout\"}",
);

declare_rule!(SEMCONV_UNRESOLVED, "FT0405", "semconv-unresolved", Error,
    summary: "A semantic-conventions `ref`, `ref_group`, `extends` or refinement names nothing.",
    what: "Reports a reference in a semantic-conventions registry that does not resolve: an attribute `ref` to an undefined attribute, a `ref_group` or `extends` to an unknown group, a refinement of an unknown span or metric, or a cycle of `extends`.",
    why: "An unresolved reference silently drops attributes from the conventions built on it.",
    bad: "groups:\n  - id: span.acme.client\n    type: span\n    extends: attributes.htp.client",
    good: "groups:\n  - id: span.acme.client\n    type: span\n    extends: attributes.http.client",
);

declare_rule!(SEMCONV_MALFORMED, "FT0406", "semconv-malformed", Error,
    summary: "A semantic-conventions file has a value flowtel cannot read.",
    what: "Reports YAML errors and malformed definitions in a semantic-conventions registry: a group without `id`, an unknown `type`, `instrument`, `stability` or `requirement_level`, an attribute defined twice, a metric without `unit`.",
    why: "What cannot be read cannot be enforced; the definition is left out of the registry.",
    bad: "attributes:\n  - key: acme.tier\n    type: strng",
    good: "attributes:\n  - key: acme.tier\n    type: string",
);

/// Every semantic-conventions rule, in id order.
pub static RULES: &[&Rule] = &[
    &SEMCONV_REDEFINED,
    &SEMCONV_NAMESPACE,
    &DEPRECATED_NAME,
    &MISSING_REQUIRED_ATTRIBUTE,
    &SEMCONV_UNRESOLVED,
    &SEMCONV_MALFORMED,
];
