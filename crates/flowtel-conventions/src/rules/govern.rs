//! Rules the governance generators (`flowtel slo`, `alerts`, `dashboards`, `runbooks`,
//! `openslo`) raise when the conventions lack what an artifact needs: `FT07xx`. They are input
//! errors: the generator writes nothing and exits 2.

use super::rule::Rule;

declare_rule!(FLOW_WITHOUT_SLO, "FT0701", "flow-without-slo", Fatal,
    summary: "A generator that needs every flow's SLO met a flow without one.",
    what: "Reports a flow without `slo` (or with neither `availability` nor `latency`) when generating SLO rules, burn-rate alerts, dashboards, runbooks or OpenSLO documents.",
    why: "An SLO artifact generated for some flows and silently not for others looks complete while a flow has no alerting at all.",
    bad: "flows:\n  checkout: {owner: team-payments, alert_route: payments-oncall}",
    good: "flows:\n  checkout:\n    owner: team-payments\n    alert_route: payments-oncall\n    slo: {availability: 99.9, latency: {threshold: 500ms, target: 99}}",
);

declare_rule!(FLOW_WITHOUT_ALERT_ROUTE, "FT0702", "flow-without-alert-route", Fatal,
    summary: "A flow with no `alert_route` while generating alert routing.",
    what: "Reports a flow without `alert_route` (the Alertmanager receiver of its owner) when generating the Alertmanager configuration, rules or runbooks.",
    why: "Alerts route to the receiver the flow names; a flow without one pages nobody.",
    bad: "flows:\n  checkout: {owner: team-payments}",
    good: "flows:\n  checkout: {owner: team-payments, alert_route: payments-oncall}",
);

declare_rule!(SLI_NOT_MEASURABLE, "FT0703", "sli-not-measurable", Fatal,
    summary: "The SLI metric cannot measure the flow's objective.",
    what: "Reports a flow whose SLI metric (`slo.sli`, default `http.server.request.duration`) is not declared as a histogram with `flow.name`, has none of `http.response.status_code`, `error.type` or `outcome` to tell errors for an availability objective, or has no bucket bound at or below a latency threshold.",
    why: "Recording rules over series that cannot exist evaluate to nothing: the burn-rate alerts would never fire.",
    bad: "metrics:\n  http.server.request.duration: {instrument: histogram, unit: s, labels: [flow.name]}\nflows:\n  checkout: {slo: {availability: 99.9}}",
    good: "metrics:\n  http.server.request.duration: {instrument: histogram, unit: s, labels: [flow.name, http.response.status_code, error.type]}\nflows:\n  checkout: {slo: {availability: 99.9}}",
);

/// Every generator rule, in id order.
pub static RULES: &[&Rule] = &[
    &FLOW_WITHOUT_SLO,
    &FLOW_WITHOUT_ALERT_ROUTE,
    &SLI_NOT_MEASURABLE,
];
