//! Rules over the conventions registry itself (`flowtel check`): `FT00xx`.

use super::rule::Rule;

declare_rule!(MALFORMED_YAML, "FT0001", "malformed-yaml", Fatal,
    summary: "The file is not valid YAML.",
    what: "Reports a YAML syntax error with the parser's line and column. Nothing else in the file is checked until it parses.",
    why: "A registry that does not parse cannot be enforced; every tool that reads it would fail.",
    bad: "metrics:\n  http.server.request.duration: {instrument: histogram, unit: s",
    good: "metrics:\n  http.server.request.duration: {instrument: histogram, unit: s}",
);

declare_rule!(UNREADABLE_INPUT, "FT0002", "unreadable-input", Fatal,
    summary: "An input file or import cannot be read.",
    what: "Reports a file that does not exist, cannot be opened, or is not UTF-8 text, including files named by `imports`.",
    why: "A missing layer silently changes what the registry declares.",
    bad: "imports: [otel-htp.yaml]   # no such file",
    good: "imports: [otel-http.yaml]",
);

declare_rule!(UNKNOWN_KEY, "FT0003", "unknown-key", Error,
    summary: "A key that the flowtel/v1 schema does not define.",
    what: "Reports every mapping key the schema does not know, with the closest known key as a suggestion.",
    why: "A misspelt key (`cardinality_limt`) is silently ignored by YAML readers: the limit you meant to set is not set.",
    bad: "metrics:\n  flow.step.duration:\n    instrument: histogram\n    unit: s\n    cardinality_limt: 500",
    good: "metrics:\n  flow.step.duration:\n    instrument: histogram\n    unit: s\n    cardinality_limit: 500",
);

declare_rule!(DUPLICATE_KEY, "FT0004", "duplicate-key", Error,
    summary: "A mapping key appears twice; steps, metrics and attributes must be unique.",
    what: "Reports a key written twice in one mapping (a step listed twice in a flow, an attribute declared twice), naming both places.",
    why: "YAML readers keep one of the two silently; which one depends on the reader.",
    bad: "steps:\n  payment.authorize: {service: payments}\n  payment.authorize: {service: billing}",
    good: "steps:\n  payment.authorize: {service: payments}\n  payment.capture: {service: billing}",
);

declare_rule!(INVALID_VALUE, "FT0005", "invalid-value", Error,
    summary: "A value of the wrong type or outside the allowed set.",
    what: "Reports values the schema does not accept: a word where a number belongs, an unknown `instrument` or `type`, a missing required key.",
    why: "Every tool reads the registry the same way; a value it cannot read has no meaning for any of them.",
    bad: "metrics:\n  http.server.active_requests: {instrument: guage, unit: '{request}'}",
    good: "metrics:\n  http.server.active_requests: {instrument: updown_counter, unit: '{request}'}",
);

declare_rule!(UNSUPPORTED_SCHEMA, "FT0006", "unsupported-schema", Error,
    summary: "The file does not declare `schema: flowtel/v1`.",
    what: "Reports a conventions file whose `schema` is not one this flowtel reads.",
    why: "The schema id lets a newer flowtel read old files and an old flowtel refuse new ones clearly.",
    bad: "schema: flowtel/v2\nname: acme",
    good: "schema: flowtel/v1\nname: acme",
);

declare_rule!(IMPORT_CYCLE, "FT0007", "import-cycle", Error,
    summary: "Layers import each other in a cycle.",
    what: "Reports an `imports` entry that leads back to a file already being imported, naming every file in the cycle.",
    why: "Layers stack from general to specific; a cycle has no order in which to apply them.",
    bad: "# a.yaml\nimports: [b.yaml]\n# b.yaml\nimports: [a.yaml]",
    good: "# a.yaml\nimports: [b.yaml]\n# b.yaml\nimports: []",
);

declare_rule!(IMPORT_CONFLICT, "FT0008", "import-conflict", Error,
    summary: "Two layers define the same name differently.",
    what: "Reports an attribute redefined with another type, a metric with another instrument or unit, or a flow defined in two layers, naming both places. A layer may narrow what it imports (add `max_values`, mark `pii`, add a `brief`).",
    why: "When two teams define `order.id` differently, the data they emit cannot be joined and one of them breaks the other's dashboards.",
    bad: "# base.yaml\nattributes: {order.id: {type: string}}\n# team.yaml (imports base.yaml)\nattributes: {order.id: {type: int}}",
    good: "# team.yaml (imports base.yaml)\nattributes: {order.id: {type: string, max_values: 100}}",
);

declare_rule!(INVALID_VERSION, "FT0009", "invalid-version", Error,
    summary: "`version` is not a semantic version.",
    what: "Reports a `version` that is not `MAJOR.MINOR.PATCH` as semver.org defines it.",
    why: "`flowtel diff` checks that breaking changes bump the major version; it needs a version to compare.",
    bad: "version: 2.3",
    good: "version: 2.3.0",
);

declare_rule!(INVALID_REGEX, "FT0010", "invalid-naming-regex", Error,
    summary: "A `naming` pattern is not a valid regular expression.",
    what: "Reports a pattern under `naming` that does not compile, with the regex engine's message.",
    why: "A naming rule that cannot be evaluated checks nothing.",
    bad: "naming:\n  metric: '^[a-z(.*$'",
    good: "naming:\n  metric: '^[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)+$'",
);

declare_rule!(NAME_NOT_CONVENTIONAL, "FT0011", "name-not-conventional", Error,
    summary: "A name does not match the registry's `naming` pattern.",
    what: "Checks every metric, attribute, flow and step name against the pattern for its kind under `naming`.",
    why: "Consistent names are what make telemetry from many teams queryable as one; OpenTelemetry names are dotted lower snake case.",
    bad: "metrics:\n  CheckoutLatency: {instrument: histogram, unit: s}",
    good: "metrics:\n  checkout.duration: {instrument: histogram, unit: s}",
);

declare_rule!(UNDECLARED_LABEL, "FT0012", "label-not-an-attribute", Error,
    summary: "A metric label that is not a declared attribute.",
    what: "Reports a metric `labels` entry that no layer declares under `attributes`.",
    why: "Labels without a declaration have no type, no value limit and no PII marking: they are how cardinality explosions and leaks start.",
    bad: "metrics:\n  flow.step.duration: {instrument: histogram, unit: s, labels: [flow.name, tenant]}",
    good: "attributes:\n  tenant: {type: string, max_values: 50}\nmetrics:\n  flow.step.duration: {instrument: histogram, unit: s, labels: [flow.name, tenant]}",
);

declare_rule!(PII_LABEL, "FT0013", "pii-metric-label", Error,
    summary: "A `pii` attribute used as a metric label.",
    what: "Reports a metric that lists an attribute marked `pii: true` among its labels.",
    why: "Metric labels are stored unredacted in every time-series database and copied to every dashboard; personal data must never be one. It is also unbounded cardinality.",
    bad: "attributes:\n  user.id: {type: string, pii: true}\nmetrics:\n  login.attempts: {instrument: counter, unit: '{attempt}', labels: [user.id]}",
    good: "metrics:\n  login.attempts: {instrument: counter, unit: '{attempt}', labels: [outcome]}",
);

declare_rule!(ENUM_VALUES, "FT0014", "enum-values", Error,
    summary: "An enum attribute without values, or values on a non-enum.",
    what: "Reports `type: enum` with no `values`, duplicate values, and `values` given to an attribute that is not an enum.",
    why: "The values of an enum are its contract: linters and the runtime check recorded values against them.",
    bad: "attributes:\n  customer.tier: {type: enum}",
    good: "attributes:\n  customer.tier: {type: enum, values: [free, pro, enterprise]}",
);

declare_rule!(BUCKETS_NOT_INCREASING, "FT0015", "buckets-not-increasing", Error,
    summary: "Histogram buckets that do not strictly increase, or buckets on a non-histogram.",
    what: "Reports `buckets` whose boundaries are not strictly increasing finite numbers, and `buckets` on an instrument that is not a histogram.",
    why: "OpenTelemetry SDKs reject or silently reorder such boundaries; Prometheus `le` buckets must increase.",
    bad: "buckets: [0.1, 0.05, 0.5]",
    good: "buckets: [0.05, 0.1, 0.5]",
);

declare_rule!(SLO_OUT_OF_RANGE, "FT0016", "slo-out-of-range", Error,
    summary: "An SLO target outside (0, 100).",
    what: "Reports an `availability` or latency `target` that is not strictly between 0 and 100 percent.",
    why: "100% leaves no error budget, so every burn-rate alert fires on the first error; 0% or less is meaningless.",
    bad: "slo: {availability: 100}",
    good: "slo: {availability: 99.9}",
);

declare_rule!(INVALID_DURATION, "FT0017", "invalid-duration", Error,
    summary: "A duration that does not parse.",
    what: "Reports budgets, thresholds and windows that are not a number followed by a unit (`250ms`, `2s`, `30d`).",
    why: "Budgets and SLO thresholds drive alerts and regression checks; an unreadable one disables them.",
    bad: "budget: {p95: 250}",
    good: "budget: {p95: 250ms}",
);

declare_rule!(FLOW_WITHOUT_OWNER, "FT0018", "flow-without-owner", Error,
    summary: "A flow with no `owner`.",
    what: "Reports a flow that does not name the team that owns it.",
    why: "Alerts for a flow route to its owner; an ownerless flow pages nobody when it breaks.",
    bad: "flows:\n  checkout: {entry: ['POST /checkout']}",
    good: "flows:\n  checkout: {owner: team-payments, entry: ['POST /checkout']}",
);

declare_rule!(INVALID_UNIT, "FT0019", "invalid-unit", Error,
    summary: "A unit that is not UCUM as OpenTelemetry uses it.",
    what: "Checks `unit` against the UCUM case-sensitive units OpenTelemetry uses: base units with prefixes (`s`, `ms`, `By`, `KiBy`), `1`, annotations in braces (`{request}`), products and quotients (`By/s`, `{packet}/s`).",
    why: "Prometheus names are derived from the unit (`s` -> `_seconds`); an unknown unit gives wrong or missing suffixes and mismatched dashboards.",
    bad: "unit: seconds",
    good: "unit: s",
);

declare_rule!(UNIT_IN_NAME, "FT0020", "unit-in-metric-name", Warning,
    summary: "A unit spelled into a metric name.",
    what: "Reports metric names whose last segment ends with a unit (`_seconds`, `_ms`, `_bytes`, `_total`, `_percent`).",
    why: "OpenTelemetry keeps the unit in `unit`; exporters add the suffix. A unit in the name is doubled on export (`duration_seconds_seconds`) and goes wrong when the unit changes.",
    bad: "metrics:\n  checkout.duration_ms: {instrument: histogram, unit: ms}",
    good: "metrics:\n  checkout.duration: {instrument: histogram, unit: ms}",
);

declare_rule!(BUDGET_OVER_SLO, "FT0021", "budget-over-slo", Warning,
    summary: "A step's latency budget exceeds its flow's latency SLO threshold.",
    what: "Reports a step whose p95 or p99 budget is larger than the flow's `slo.latency.threshold`.",
    why: "If one step may take longer than the whole flow is allowed to, the flow's SLO cannot be met while the step is within budget.",
    bad: "steps:\n  payment.authorize: {budget: {p95: 800ms}}\nslo: {latency: {threshold: 500ms, target: 99}}",
    good: "steps:\n  payment.authorize: {budget: {p95: 250ms}}\nslo: {latency: {threshold: 500ms, target: 99}}",
);

declare_rule!(MALFORMED_ENTRY, "FT0022", "malformed-entry-route", Error,
    summary: "A flow entry that is not `METHOD /route` in axum 0.8 syntax.",
    what: "Reports `entry` routes that are not an HTTP method followed by a route template starting with `/` in axum 0.8 syntax (`{id}`, `{*rest}`), with the 0.8 form as the fix for axum 0.7's `:id` and `*rest`; and routes claimed by two flows.",
    why: "The server middleware maps requests to flows by the router's matched route; a malformed or shared entry maps requests to no flow or the wrong one, and axum 0.8 matches `/orders/:id` literally, so that flow never starts.",
    bad: "entry: ['/checkout', 'GET /orders/:id']",
    good: "entry: ['POST /checkout', 'GET /orders/{id}']",
);

declare_rule!(DEPRECATION_TARGET_MISSING, "FT0023", "deprecation-target-missing", Warning,
    summary: "A deprecation names a replacement that is not declared.",
    what: "Reports `deprecated: {renamed_to: x}` where `x` is not declared in the registry.",
    why: "Linters tell users to move to the replacement; pointing them at a name that does not exist helps nobody.",
    bad: "attributes:\n  http.method: {type: string, deprecated: {renamed_to: http.request.methd}}",
    good: "attributes:\n  http.method: {type: string, deprecated: {renamed_to: http.request.method}}",
);

declare_rule!(PII_WITHOUT_PII_FLAG, "FT0024", "redact-without-pii", Warning,
    summary: "`redact` on an attribute that is not `pii`.",
    what: "Reports `redact` set on an attribute without `pii: true`, where it has no effect.",
    why: "The author probably meant the attribute to be personal data; without `pii: true` it is recorded in clear and may be a metric label.",
    bad: "attributes:\n  user.email: {type: string, redact: hash}",
    good: "attributes:\n  user.email: {type: string, pii: true, redact: hash}",
);

declare_rule!(STEP_WITHOUT_SERVICE, "FT0025", "step-without-service", Note,
    summary: "A step that does not name its service.",
    what: "Reports a flow step without `service`.",
    why: "The service map and runbooks show which service runs each step; without it on-call engineers cannot tell where to look.",
    bad: "steps:\n  payment.authorize: {budget: {p95: 250ms}}",
    good: "steps:\n  payment.authorize: {service: payments, budget: {p95: 250ms}}",
);

declare_rule!(UNKNOWN_RULE_OVERRIDE, "FT0026", "unknown-rule-override", Error,
    summary: "`lint.rules` names a rule that does not exist.",
    what: "Reports a key under `lint.rules` that is neither a rule id nor a rule name.",
    why: "A misspelt override silently leaves the rule at its default severity.",
    bad: "lint:\n  rules: {FT9999: off}",
    good: "lint:\n  rules: {FT0020: off}",
);

declare_rule!(SLO_THRESHOLD_NOT_A_BUCKET, "FT0027", "slo-threshold-not-a-bucket", Warning,
    summary: "A latency SLO threshold that is not a bucket bound of the SLI histogram.",
    what: "Reports a flow whose `slo.latency.threshold` is not one of the `buckets` of its SLI metric (`slo.sli`, default `http.server.request.duration`), naming the nearest bounds below and above.",
    why: "A latency SLI counts the requests in the bucket whose bound equals the threshold; without that bound Prometheus cannot tell how many requests were faster than the threshold. `flowtel slo` then measures against the nearest lower bound (stricter than the objective) and says so.",
    bad: "metrics:\n  http.server.request.duration: {instrument: histogram, unit: s, buckets: [0.1, 0.25, 0.5]}\nflows:\n  login:\n    slo: {latency: {threshold: 300ms, target: 99}}",
    good: "metrics:\n  http.server.request.duration: {instrument: histogram, unit: s, buckets: [0.1, 0.25, 0.3, 0.5]}\nflows:\n  login:\n    slo: {latency: {threshold: 300ms, target: 99}}",
);

declare_rule!(UNKNOWN_SLI_METRIC, "FT0028", "unknown-sli-metric", Error,
    summary: "`slo.sli` names a metric that is not a declared histogram with `flow.name`.",
    what: "Reports a flow whose `slo.sli` is not declared, is not a histogram, or does not carry the `flow.name` label.",
    why: "SLO recording rules, burn-rate alerts and dashboards select the flow's series of this histogram by `flow.name`; any other metric gives rules that match nothing, so the alerts never fire.",
    bad: "slo: {availability: 99.9, sli: checkout.latency}   # not declared",
    good: "slo: {availability: 99.9, sli: flow.duration}",
);

declare_rule!(RECORDED_METRIC_MISSING, "FT0030", "recorded-metric-missing", Warning,
    summary: "The registry declares flows but not a metric flowtel records for them.",
    what: "For a registry that declares flows, reports each metric the SDK records by itself (the flow RED metrics, `http.server.request.duration`, `flowtel.violations`) that the registry does not declare, with the line to add. A layer without flows (a shared base) is not checked.",
    why: "The SDK records only declared metrics: without these declarations a service's flows export no rate, errors or duration, and nothing says so until someone looks for the dashboard.",
    bad: "flows:\n  signup: {owner: team-growth}\nmetrics: {}",
    good: "imports: [/srv/platform/conventions/platform.yaml]   # declares flow.requests, flow.duration, ...\nflows:\n  signup: {owner: team-growth}",
);

declare_rule!(SATURATION_INSTRUMENT, "FT0040", "saturation-on-monotonic-instrument", Error,
    summary: "`saturation` on a counter or histogram.",
    what: "Reports a metric that declares `saturation` but is not an `updown_counter` or a `gauge`.",
    why: "A saturation signal is a level that rises and falls (requests in flight, items queued); a counter only grows and a histogram has no current value, so neither can be compared with a limit.",
    bad: "metrics:\n  orders.queue.depth: {instrument: counter, unit: '{order}', saturation: {limit: 100}}",
    good: "metrics:\n  orders.queue.depth: {instrument: updown_counter, unit: '{order}', saturation: {limit: 100}}",
);

declare_rule!(SATURATION_LIMIT, "FT0041", "saturation-limit-invalid", Error,
    summary: "A saturation `limit` that is not a positive number, or a `warn` fraction outside (0, 1].",
    what: "Reports `saturation.limit` that is zero, negative or not finite, and `saturation.warn` or `defaults.saturation_warn` outside (0, 1].",
    why: "Saturation alerts and dashboards divide the signal by its limit and warn at `warn * limit`; a zero or negative limit makes every value saturated, a fraction above 1 warns only after the resource is full.",
    bad: "saturation: {limit: 0, warn: 1.5}",
    good: "saturation: {limit: 512, warn: 0.8}",
);

declare_rule!(SATURATION_PER_LABEL, "FT0042", "saturation-per-label-unbounded", Error,
    summary: "A saturation signal's `per` label that is not one of its labels, or whose values are not bounded within its cardinality limit.",
    what: "Checks every label in `saturation.per`: it must be one of the metric's `labels`, have bounded values (`enum`, `bool`, or `max_values`), and the `per` labels together must not allow more label sets than the metric's cardinality limit.",
    why: "The limit applies to each resource that the `per` labels identify. When they overflow, the runtime folds resources into one overflow series whose value is the sum of several queues or pools, and comparing that sum with one resource's limit raises false saturation alerts.",
    bad: "attributes:\n  queue.name: {type: string}\nmetrics:\n  orders.queue.depth: {instrument: updown_counter, unit: '{order}', labels: [queue.name], saturation: {limit: 100, per: [queue.name]}}",
    good: "attributes:\n  queue.name: {type: string, max_values: 20}\nmetrics:\n  orders.queue.depth: {instrument: updown_counter, unit: '{order}', labels: [queue.name], saturation: {limit: 100, per: [queue.name]}}",
);

declare_rule!(LIMIT_METRIC_CONFLICT, "FT0043", "saturation-limit-metric-conflict", Error,
    summary: "A layer declares `<signal>.limit` differently from the limit gauge flowtel derives.",
    what: "Every saturation signal `x` has a limit gauge `x.limit` in the signal's unit, labelled by `per`, that the SDK exports. Reports a declaration of `x.limit` that is not a gauge in that unit.",
    why: "Dashboards and alerts divide `x` by `x.limit`; a limit metric of another kind or unit makes that ratio meaningless.",
    bad: "metrics:\n  orders.queue.depth: {instrument: updown_counter, unit: '{order}', saturation: {limit: 100}}\n  orders.queue.depth.limit: {instrument: counter, unit: '1'}",
    good: "metrics:\n  orders.queue.depth: {instrument: updown_counter, unit: '{order}', saturation: {limit: 100}}",
);

declare_rule!(SAMPLING_RATIO, "FT0045", "sampling-ratio-out-of-range", Error,
    summary: "A sampling `ratio` outside [0, 1], or a tail sampler setting that cannot work.",
    what: "Reports `sampling.<flow>.ratio` and `defaults.sampling.ratio` that are not a number between 0 and 1, and `defaults.sampling.num_traces: 0`.",
    why: "The ratio is the probability of keeping a trace; outside [0, 1] it means nothing, and samplers silently clamp it to keep-all or drop-all.",
    bad: "sampling:\n  browse: {ratio: 10}",
    good: "sampling:\n  browse: {ratio: 0.1}",
);

declare_rule!(SAMPLING_UNKNOWN_FLOW, "FT0046", "sampling-unknown-flow", Error,
    summary: "A `sampling` entry for a flow that no layer declares.",
    what: "Reports a key of the top-level `sampling` section that is not a declared flow, with the closest flow as a suggestion.",
    why: "Samplers decide by the flow's name; sampling for a misspelt flow applies to nothing, and the real flow falls back to the default ratio.",
    bad: "sampling:\n  browze: {ratio: 0.1}",
    good: "sampling:\n  browse: {ratio: 0.1}",
);

declare_rule!(EVENT_UNDECLARED_ATTRIBUTE, "FT0060", "event-undeclared-attribute", Error,
    summary: "A log event lists an attribute that is not declared.",
    what: "Reports an entry of an event's `attributes` or `required_attributes` that is not a declared attribute, with the closest declared name as a suggestion.",
    why: "An event's attributes are checked in code (`flowtel::event!`), at run time (redaction) and by the linters against the declared attributes; an undeclared one has no type, no `pii` flag and no bound, so none of them can check it.",
    bad: "attributes:\n  payment.decline_reason: {type: string}\nevents:\n  payment.declined: {attributes: [payment.decline_reson]}",
    good: "attributes:\n  payment.decline_reason: {type: string}\nevents:\n  payment.declined: {attributes: [payment.decline_reason]}",
);

declare_rule!(EVENT_REQUIRED_PII_DROPPED, "FT0061", "event-required-pii-dropped", Error,
    summary: "A log event requires a personal attribute that redaction drops.",
    what: "Reports a `required_attributes` entry that is `pii: true` without `redact: hash`: flowtel drops such attributes from every log record, so the event can never carry what it requires.",
    why: "Every record of the event would then be reported as missing the attribute, or the attribute would have to be logged in clear. Hashing keeps equal values correlatable without exposing them.",
    bad: "attributes:\n  user.email: {type: string, pii: true}\nevents:\n  login.failed: {required_attributes: [user.email]}",
    good: "attributes:\n  user.email: {type: string, pii: true, redact: hash}\nevents:\n  login.failed: {required_attributes: [user.email]}",
);

declare_rule!(EVENT_UNKNOWN_FLOW, "FT0062", "event-unknown-flow", Error,
    summary: "A log event names a flow or step that is not declared.",
    what: "Reports an event whose `flow` is not a declared flow, whose `step` is not a step of that flow, or which names a `step` without a `flow`.",
    why: "Events declared for a flow are checked to arrive inside that flow's traces; a misspelt flow makes that check report every record.",
    bad: "events:\n  payment.declined: {flow: chekout, step: payment.authorize}",
    good: "events:\n  payment.declined: {flow: checkout, step: payment.authorize}",
);

declare_rule!(INVALID_BODY_PATTERN, "FT0063", "invalid-body-pattern", Error,
    summary: "A `lint.body_patterns` entry that is not a valid regular expression or names an undeclared attribute.",
    what: "Reports a body pattern whose `pattern` does not compile (Rust `regex` syntax) or whose `attribute` is not declared.",
    why: "The telemetry linter checks log bodies against these patterns; a broken one checks nothing.",
    bad: "lint:\n  body_patterns:\n    order-id: {pattern: 'ord-[0-9+', attribute: order.id}",
    good: "lint:\n  body_patterns:\n    order-id: {pattern: 'ord-[0-9]+', attribute: order.id}",
);

declare_rule!(INVALID_ALLOW_ATTRIBUTE, "FT0064", "invalid-allow-attribute", Error,
    summary: "A `lint.allow_attributes` entry that is not an attribute key, a namespace (`process.*`) or `*`.",
    what: "Reports an `allow_attributes` entry that is empty, holds white space, or has a `*` anywhere but as a whole trailing segment (`**`, `process*`, `*.name`, `http.*.method`). An entry is a key (`host.name`), every key under a namespace (`process.*`), or every key (`*`).",
    why: "The telemetry linter matches entries only in those three shapes; any other entry matches no key, so the attributes it was meant to accept are reported as undeclared, or it silently accepts nothing you expect.",
    bad: "lint:\n  allow_attributes: ['**', 'process*', '']",
    good: "lint:\n  allow_attributes: ['process.*', host.name]",
);

declare_rule!(ALLOW_ATTRIBUTE_COVERS_DECLARED, "FT0065", "allow-attribute-covers-declared", Warning,
    summary: "A `lint.allow_attributes` entry covers attributes the conventions declare.",
    what: "Reports an `allow_attributes` entry that names a declared attribute, or a namespace (`http.*`, `*`) holding attributes a flowtel layer declares, naming them. Namespaces owned by an imported semantic-conventions registry are not reported.",
    why: "Declared attributes are checked already; allowing their namespace accepts every misspelling in it (`http.request.methd`) without a finding or a did-you-mean, which is what the undeclared-attribute check is for.",
    bad: "attributes: {checkout.coupon: {type: string}}\nlint: {allow_attributes: ['checkout.*']}",
    good: "attributes: {checkout.coupon: {type: string}}\nlint: {allow_attributes: ['process.*']}",
);

declare_rule!(PII_DETECTION_INVALID, "FT0050", "pii-detection-invalid", Error,
    summary: "The `pii` section cannot be applied: a value pattern that does not compile, or a key word that is not one word.",
    what: "Reports a `pii.value_patterns` entry that is not a valid regular expression (with the regex engine's message) and a `pii.key_words` entry that is empty or holds a separator (`.`, `_`, `-`, `/`, space), since keys are matched word by word.",
    why: "A pattern that cannot be evaluated catches nothing, and a key word such as `user_email` never matches a token: personal data you meant to catch passes every linter and reaches metrics.",
    bad: "pii:\n  key_words: [user_email]\n  value_patterns: {employee_id: '^E[0-9{6}$'}",
    good: "pii:\n  key_words: [email, badge]\n  value_patterns: {employee_id: '^E[0-9]{6}$'}",
);

/// Every registry rule, in id order.
pub static RULES: &[&Rule] = &[
    &MALFORMED_YAML,
    &UNREADABLE_INPUT,
    &UNKNOWN_KEY,
    &DUPLICATE_KEY,
    &INVALID_VALUE,
    &UNSUPPORTED_SCHEMA,
    &IMPORT_CYCLE,
    &IMPORT_CONFLICT,
    &INVALID_VERSION,
    &INVALID_REGEX,
    &NAME_NOT_CONVENTIONAL,
    &UNDECLARED_LABEL,
    &PII_LABEL,
    &ENUM_VALUES,
    &BUCKETS_NOT_INCREASING,
    &SLO_OUT_OF_RANGE,
    &INVALID_DURATION,
    &FLOW_WITHOUT_OWNER,
    &INVALID_UNIT,
    &UNIT_IN_NAME,
    &BUDGET_OVER_SLO,
    &MALFORMED_ENTRY,
    &DEPRECATION_TARGET_MISSING,
    &PII_WITHOUT_PII_FLAG,
    &STEP_WITHOUT_SERVICE,
    &UNKNOWN_RULE_OVERRIDE,
    &SLO_THRESHOLD_NOT_A_BUCKET,
    &UNKNOWN_SLI_METRIC,
    &RECORDED_METRIC_MISSING,
    &SATURATION_INSTRUMENT,
    &SATURATION_LIMIT,
    &SATURATION_PER_LABEL,
    &LIMIT_METRIC_CONFLICT,
    &SAMPLING_RATIO,
    &SAMPLING_UNKNOWN_FLOW,
    &PII_DETECTION_INVALID,
    &EVENT_UNDECLARED_ATTRIBUTE,
    &EVENT_REQUIRED_PII_DROPPED,
    &EVENT_UNKNOWN_FLOW,
    &INVALID_BODY_PATTERN,
    &INVALID_ALLOW_ATTRIBUTE,
    &ALLOW_ATTRIBUTE_COVERS_DECLARED,
];
