//! Rules over Prometheus alerting rules and Alertmanager routing (`flowtel lint alerts`): `FT05xx`.
//!
//! They find the alerts that make on-call noisy and uncorrelated: averages where distributions
//! belong, pages on causes instead of symptoms, alerts tied to no flow and no owner, and the
//! hygiene every rule file needs. Unreadable files are [`super::registry::UNREADABLE_INPUT`].

use super::rule::Rule;

declare_rule!(RULE_FILE_MALFORMED, "FT0501", "rule-file-malformed", Error,
    summary: "A rule file or Alertmanager configuration that is not valid YAML or not of the expected shape.",
    what: "Reports YAML syntax errors and entries that Prometheus (or Alertmanager) would refuse: `groups` that is not a list, a rule with neither `alert` nor `record`, an `expr` that is not a string, a `for` that is not a duration, labels that are not a mapping of strings.",
    why: "Prometheus refuses to load the whole file: every alert in it is silently off until someone notices the reload error.",
    bad: "groups:\n- name: api\n  rules:\n  - alert: ApiDown\n    expr: up{job=\"api\"} == 0\n    for: soon",
    good: "groups:\n- name: api\n  rules:\n  - alert: ApiDown\n    expr: up{job=\"api\"} == 0\n    for: 5m",
);

declare_rule!(PROMQL_INVALID, "FT0502", "promql-invalid", Error,
    summary: "An `expr` that is not valid PromQL.",
    what: "Parses every rule's `expr` with a PromQL parser and reports the ones it rejects, with the parser's message.",
    why: "Prometheus refuses the rule file: the alert never evaluates.",
    bad: "expr: rate(http_requests_total[5m] > 1",
    good: "expr: rate(http_requests_total[5m]) > 1",
);

declare_rule!(AVERAGE_LATENCY_ALERT, "FT0503", "average-latency-alert", Warning,
    summary: "An alert on an average latency instead of a quantile or an SLO burn rate.",
    what: "Reports alerts whose expression divides a histogram's or summary's `_sum` by its `_count`, or takes `avg`/`avg_over_time` of a duration, and compares that with a threshold.",
    why: "An average hides the tail users feel: one request in a hundred taking 10 s barely moves it, while a burst of fast health checks pulls it down. Quantiles (`histogram_quantile`) or an SLO burn rate measure what users experience.",
    bad: "expr: rate(http_server_request_duration_seconds_sum[5m]) / rate(http_server_request_duration_seconds_count[5m]) > 0.5",
    good: "expr: histogram_quantile(0.99, sum by (le, flow_name) (rate(http_server_request_duration_seconds_bucket[5m]))) > 0.5\n# better: a multi-window burn-rate alert on the flow's latency SLO (`flowtel slo`)",
);

declare_rule!(CAUSE_BASED_PAGE, "FT0504", "cause-based-page", Warning,
    summary: "A page on a resource (CPU, memory, disk, load, restarts) that names no flow.",
    what: "Reports alerts with a paging severity (`lint.alerts.page_severities`, by default `page` and `critical`) whose expression measures a resource (CPU, memory, disk or filesystem, load, restarts, OOM kills) and that carry no `flow` label.",
    why: "A cause is not an outage: CPU at 90 % while every request succeeds in time wakes someone for nothing, and the page says nothing about who is affected. Page on symptoms (a flow's SLO burn rate); keep resource alerts as tickets or dashboards.",
    bad: "- alert: HighCpu\n  expr: avg(rate(node_cpu_seconds_total{mode!=\"idle\"}[5m])) > 0.9\n  labels: {severity: page}",
    good: "- alert: HighCpu\n  expr: avg(rate(node_cpu_seconds_total{mode!=\"idle\"}[5m])) > 0.9\n  labels: {severity: ticket}\n# and page on `checkout` burn rate instead",
);

declare_rule!(ALERT_NOT_FLOW_ALIGNED, "FT0505", "alert-not-flow-aligned", Warning,
    summary: "An alert without `flow` and `owner` labels.",
    what: "Reports alerts that lack the flow label or the owner label (`lint.alerts.flow_label` and `owner_label`, by default `flow` and `owner`).",
    why: "An alert that names no flow cannot be correlated with the user-facing work it affects, and one that names no owner is routed by guesswork: both make alerting noisy and slow to act on.",
    bad: "labels: {severity: page}",
    good: "labels: {severity: page, flow: checkout, owner: team-payments}",
);

declare_rule!(ALERT_UNKNOWN_FLOW, "FT0506", "alert-unknown-flow", Error,
    summary: "An alert's `flow` label names a flow the conventions do not declare.",
    what: "Reports a flow label value that is not a declared flow, with the closest declared flow as a suggestion.",
    why: "An undeclared flow has no owner, no SLO and no alert route: the alert is routed nowhere useful.",
    bad: "labels: {flow: chekout}",
    good: "labels: {flow: checkout}",
);

declare_rule!(ALERT_OWNER_MISMATCH, "FT0507", "alert-owner-mismatch", Error,
    summary: "An alert's `owner` label is not the owner of its flow.",
    what: "Reports an owner label that differs from the `owner` the conventions declare for the alert's flow.",
    why: "The alert reaches a team that does not own the flow; the owning team learns of the outage last.",
    bad: "# conventions: checkout owned by team-payments\nlabels: {flow: checkout, owner: team-identity}",
    good: "labels: {flow: checkout, owner: team-payments}",
);

declare_rule!(ALERT_UNKNOWN_METRIC, "FT0508", "alert-unknown-metric", Error,
    summary: "A selector names a metric the conventions do not declare (after translation to Prometheus names).",
    what: "With `--conventions`, reports every selector whose metric name is not the Prometheus name of a declared metric (including a histogram's `_bucket`, `_sum` and `_count` series) nor a recording rule of the linted files, with the closest name as a suggestion.",
    why: "A typo in a metric name makes the selector match nothing: the alert can never fire, and nothing says so.",
    bad: "expr: sum(rate(flow_requets_total[5m])) > 0",
    good: "expr: sum(rate(flow_requests_total[5m])) > 0",
);

declare_rule!(ALERT_UNDECLARED_LABEL, "FT0509", "alert-undeclared-label", Warning,
    summary: "A selector or grouping uses a label the metric does not declare.",
    what: "With `--conventions`, reports label matchers and `by`/`without` labels on a declared metric that are not among its declared labels (translated to Prometheus names), nor target labels (`job`, `instance`) or series labels (`le`, `quantile`).",
    why: "A matcher on a label the metric never carries matches nothing (or everything with `!=`), so the alert silently watches the wrong series.",
    bad: "expr: sum by (route) (rate(http_server_request_duration_seconds_count[5m]))",
    good: "expr: sum by (http_route) (rate(http_server_request_duration_seconds_count[5m]))",
);

declare_rule!(ALERT_PII_LABEL, "FT0510", "alert-pii-label", Error,
    summary: "An alert selects, groups by or sets a label that is personal data.",
    what: "Reports a label whose attribute is declared `pii: true` (`user.id` -> `user_id`) in a selector, a `by`/`without` clause or the alert's own labels.",
    why: "Alerts are copied to chat, e-mail and paging tools; personal data must not travel there, and grouping by it creates one alert per person.",
    bad: "expr: sum by (user_id) (rate(checkout_orders_total{outcome=\"error\"}[5m])) > 5",
    good: "expr: sum by (customer_tier) (rate(checkout_orders_total{outcome=\"error\"}[5m])) > 5",
);

declare_rule!(ALERT_MISSING_FOR, "FT0511", "alert-missing-for", Warning,
    summary: "An alert without `for` (or with `for: 0`) fires on a single evaluation.",
    what: "Reports alerting rules with no `for` clause or a zero duration.",
    why: "One bad scrape or one slow evaluation pages someone; a `for` of a few minutes makes the alert wait for a condition that lasts.",
    bad: "- alert: ApiErrors\n  expr: rate(http_errors_total[5m]) > 1",
    good: "- alert: ApiErrors\n  expr: rate(http_errors_total[5m]) > 1\n  for: 5m",
);

declare_rule!(ALERT_NO_COMPARISON, "FT0512", "alert-no-comparison", Warning,
    summary: "An alert expression without a comparison or filter.",
    what: "Reports alerting rules whose expression has no comparison operator (`>`, `<`, `==`, ...), no `absent()` and no set operator that filters: such an alert fires for every series that exists.",
    why: "`expr: rate(errors_total[5m])` is always true while the series exists: the alert fires forever.",
    bad: "expr: rate(http_errors_total[5m])",
    good: "expr: rate(http_errors_total[5m]) > 1",
);

declare_rule!(ALERT_MISSING_ANNOTATION, "FT0513", "alert-missing-annotation", Warning,
    summary: "An alert without a `summary` or a `runbook_url` annotation.",
    what: "Reports alerting rules that lack the `summary` annotation or the `runbook_url` annotation.",
    why: "The person paged at 3 am sees the summary first and follows the runbook next; without them every alert starts with archaeology.",
    bad: "annotations: {description: errors}",
    good: "annotations: {summary: Checkout errors above budget, runbook_url: https://runbooks.example/checkout}",
);

declare_rule!(COUNTER_WITHOUT_RATE, "FT0514", "counter-without-rate", Error,
    summary: "A counter used without `rate`, `irate` or `increase`.",
    what: "Reports selectors of counters (declared `counter`s, or series named `_total`, `_count`, `_sum` or `_bucket`) that are compared or aggregated directly instead of through `rate()`, `irate()` or `increase()` (`resets()`, `changes()`, `absent()` and `timestamp()` are fine).",
    why: "A counter's raw value only grows and resets to zero on restart: a threshold on it fires forever once crossed, or stops firing after a deploy.",
    bad: "expr: http_requests_total{code=~\"5..\"} > 100",
    good: "expr: rate(http_requests_total{code=~\"5..\"}[5m]) > 1",
);

declare_rule!(RANGE_TOO_SHORT, "FT0515", "range-too-short", Warning,
    summary: "A range selector shorter than twice the scrape interval.",
    what: "Reports range vectors (`[1m]`) shorter than twice the scrape interval (`--scrape-interval`, `lint.alerts.scrape_interval`, by default 15s): `rate()` needs at least two samples in the range.",
    why: "With fewer than two samples `rate()` returns nothing: the alert goes blind whenever one scrape is late.",
    bad: "# scrape interval 30s\nexpr: rate(http_errors_total[30s]) > 1",
    good: "expr: rate(http_errors_total[2m]) > 1",
);

declare_rule!(DUPLICATE_ALERT_NAME, "FT0516", "duplicate-alert-name", Warning,
    summary: "Two alerting rules share one name with different expressions.",
    what: "Reports an alert name used again (in any linted file) with another expression.",
    why: "Alertmanager groups, silences and inhibits by `alertname`: two meanings behind one name are silenced together and confused in every dashboard.",
    bad: "- alert: HighLatency   # p99 of checkout\n- alert: HighLatency   # p99 of login",
    good: "- alert: CheckoutHighLatency\n- alert: LoginHighLatency",
);

declare_rule!(ALERT_COPIED, "FT0517", "alert-copied", Warning,
    summary: "The same alert (expression and labels) in more than one group.",
    what: "Reports an alerting rule whose expression and labels repeat an alert of another group or file.",
    why: "Every copy fires: one incident becomes several pages, and a fix to one copy leaves the others stale.",
    bad: "# groups api and api-copy both hold: alert ApiDown, expr up{job=\"api\"} == 0",
    good: "# one ApiDown in one group",
);

declare_rule!(ALERT_UNROUTED, "FT0518", "alert-unrouted", Error,
    summary: "An alert whose labels reach no Alertmanager receiver (or one that notifies nobody).",
    what: "With `--alertmanager FILE`, routes each alert's labels through the Alertmanager routing tree and reports alerts that end at a receiver with no notification configured (a black hole).",
    why: "The alert fires, Alertmanager accepts it, and no one is told.",
    bad: "route: {receiver: 'null'}\nreceivers: [{name: 'null'}]",
    good: "route:\n  receiver: default\n  routes: [{matchers: ['flow=\"checkout\"'], receiver: payments-oncall}]",
);

declare_rule!(ALERT_WRONG_RECEIVER, "FT0519", "alert-wrong-receiver", Error,
    summary: "A flow's alert reaches another receiver than the flow's `alert_route`.",
    what: "With `--alertmanager FILE`, reports alerts of a declared flow that Alertmanager would send to receivers other than the flow's `alert_route`, or to a receiver the configuration does not define.",
    why: "The page reaches a team that does not own the flow; the owners learn of the outage from their users.",
    bad: "# conventions: checkout alert_route payments-oncall\nroute: {receiver: platform-oncall}",
    good: "route:\n  receiver: platform-oncall\n  routes: [{matchers: ['flow=\"checkout\"'], receiver: payments-oncall}]",
);

/// Every alert rule, in id order.
pub static RULES: &[&Rule] = &[
    &RULE_FILE_MALFORMED,
    &PROMQL_INVALID,
    &AVERAGE_LATENCY_ALERT,
    &CAUSE_BASED_PAGE,
    &ALERT_NOT_FLOW_ALIGNED,
    &ALERT_UNKNOWN_FLOW,
    &ALERT_OWNER_MISMATCH,
    &ALERT_UNKNOWN_METRIC,
    &ALERT_UNDECLARED_LABEL,
    &ALERT_PII_LABEL,
    &ALERT_MISSING_FOR,
    &ALERT_NO_COMPARISON,
    &ALERT_MISSING_ANNOTATION,
    &COUNTER_WITHOUT_RATE,
    &RANGE_TOO_SHORT,
    &DUPLICATE_ALERT_NAME,
    &ALERT_COPIED,
    &ALERT_UNROUTED,
    &ALERT_WRONG_RECEIVER,
];
