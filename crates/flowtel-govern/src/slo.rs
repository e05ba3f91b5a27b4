//! `flowtel slo`: Prometheus recording and alerting rules for every flow's SLOs.
//!
//! Per flow, one group of recording rules (request rate, error ratio and burn rate per SLI over
//! every window the alerts read, error budget remaining over the SLO window, P50/P99 latency)
//! and one group of alerts: multi-window, multi-burn-rate pages and tickets ([`crate::burn`]),
//! and the early warnings that open tickets before the budget burns (tail expansion against the
//! latency threshold, the step budgets and last week's tail ratio; saturation growth: each
//! declared saturation signal of the services on the flow's path, by `predict_linear` over the
//! last hour, crossing its declared limit within 4 hours). A flow whose services have no
//! declared saturation signal gets none, and the file and the notes say so.
//!
//! Recorded series (labels `flow_name` and, where two SLIs share a name, `sli`):
//! `flow:slo_requests:rate<w>`, `flow:slo_error_ratio:rate<w>`, `flow:slo_burn_rate:rate<w>`,
//! `flow:slo_error_budget_remaining:ratio`, `flow:slo_objective:ratio`,
//! `flow:slo_latency_p50:rate5m`, `flow:slo_latency_p99:rate5m`; and per saturation signal, its
//! level per service instance and resource (`job_instance:<signal>:sum`).

use std::fmt::Write as _;

use crate::burn::{BurnWindow, Severity, recorded_windows};
use crate::plan::{FlowPlan, LatencyObjective, Objectives, Plan, SaturationSignal, Sli, budget};
use crate::promql::{Matcher, duration, number, selector, sum_by, union_rate};
use crate::{Options, names, yaml};

/// File the rules are written to.
pub const FILE: &str = "flowtel-slo.rules.yml";

/// One SLI of a flow as the rules see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SliKind {
    /// 1 - errors / requests.
    Availability,
    /// Share of requests under the latency threshold.
    Latency,
}

impl SliKind {
    /// The `sli` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            SliKind::Availability => "availability",
            SliKind::Latency => "latency",
        }
    }

    /// Capitalised (`Availability`), for alert names and titles.
    pub fn title(self) -> &'static str {
        match self {
            SliKind::Availability => "Availability",
            SliKind::Latency => "Latency",
        }
    }
}

/// An alert rule as the generators know it (also listed in runbooks and dashboards).
#[derive(Debug, Clone, PartialEq)]
pub struct AlertRule {
    /// `alertname`.
    pub name: String,
    /// PromQL expression.
    pub expr: String,
    /// `for` duration.
    pub for_: &'static str,
    /// Page or ticket.
    pub severity: Severity,
    /// The `sli` label, if the alert is about one SLI.
    pub sli: Option<SliKind>,
    /// One-line summary.
    pub summary: String,
    /// What it means and what to look at (Markdown-free).
    pub description: String,
    /// Comment lines written above the rule.
    pub comments: Vec<String>,
    /// Static labels besides `flow`, `owner`, `severity` and `sli` (`signal` of a saturation
    /// warning).
    pub labels: Vec<(String, String)>,
}

/// The names of every series the rules of `plan` record (what dashboards may query besides the
/// declared metrics).
pub fn recorded_series(plan: &Plan<'_>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for f in &plan.flows {
        let Some((o, _)) = f.measured() else {
            continue;
        };
        for w in recorded_windows(o.window.seconds) {
            let d = duration(w);
            for base in [
                "flow:slo_requests:rate",
                "flow:slo_error_ratio:rate",
                "flow:slo_burn_rate:rate",
            ] {
                out.push(format!("{base}{d}"));
            }
        }
    }
    out.extend(
        [
            "flow:slo_error_budget_remaining:ratio",
            "flow:slo_objective:ratio",
            "flow:slo_latency_p50:rate5m",
            "flow:slo_latency_p99:rate5m",
        ]
        .map(String::from),
    );
    out.sort();
    out.dedup();
    out
}

/// The objectives of a flow as a list of `(kind, objective percent)`.
pub fn slis(o: &Objectives) -> Vec<(SliKind, f64)> {
    let mut v = Vec::new();
    if let Some(a) = o.availability {
        v.push((SliKind::Availability, a));
    }
    if let Some(l) = &o.latency {
        v.push((SliKind::Latency, l.target));
    }
    v
}

/// CamelCase of a flow name (`checkout` -> `Checkout`, `order_history` -> `OrderHistory`).
pub fn camel(name: &str) -> String {
    name.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut c = p.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

fn flow_sel(flow: &str) -> String {
    selector(&[Matcher::eq(&names::label("flow.name"), flow)])
}

fn sli_sel(flow: &str, kind: SliKind) -> String {
    selector(&[
        Matcher::eq(&names::label("flow.name"), flow),
        Matcher::eq("sli", kind.as_str()),
    ])
}

/// The expression of the P`q` latency of a flow's entry requests over `window`.
pub fn quantile_expr(sli: &Sli, q: f64, window: &str, offset: Option<&str>) -> String {
    let fl = names::label("flow.name");
    let series = format!("{}_bucket", sli.prometheus);
    let inner = sli
        .requests
        .iter()
        .map(|set| {
            let off = offset.map(|o| format!(" offset {o}")).unwrap_or_default();
            format!("rate({series}{}[{window}]{off})", selector(set))
        })
        .collect::<Vec<_>>()
        .join(" or ");
    format!(
        "histogram_quantile({}, {})",
        number(q),
        sum_by(&[&fl, "le"], &inner)
    )
}

/// The alerts of one flow (burn rates and early warnings), in file order.
pub fn alerts(f: &FlowPlan<'_>, plan: &Plan<'_>) -> Vec<AlertRule> {
    let Some((o, sli)) = f.measured() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let flow = f.name;
    let w = o.window.seconds;
    for (kind, objective) in slis(o) {
        for severity in [Severity::Page, Severity::Ticket] {
            let pairs: Vec<&BurnWindow> = BurnWindow::applicable(w)
                .filter(|b| b.severity == severity)
                .collect();
            if pairs.is_empty() {
                continue;
            }
            let sel = sli_sel(flow, kind);
            let expr = pairs
                .iter()
                .map(|b| {
                    let factor = number(b.factor(w));
                    format!(
                        "(\n  flow:slo_burn_rate:rate{long}{sel} > {factor}\n  and\n  flow:slo_burn_rate:rate{short}{sel} > {factor}\n)",
                        long = duration(b.long),
                        short = duration(b.short),
                    )
                })
                .collect::<Vec<_>>()
                .join("\nor\n");
            let conditions = pairs
                .iter()
                .map(|b| {
                    format!(
                        "{} and {} above {}x",
                        duration(b.long),
                        duration(b.short),
                        number(b.factor(w))
                    )
                })
                .collect::<Vec<_>>()
                .join(", or ");
            let what = match kind {
                SliKind::Availability => format!("{}% of requests succeed", number(objective)),
                SliKind::Latency => {
                    let l = o.latency.as_ref().expect("latency SLI has an objective");
                    format!(
                        "{}% of requests are faster than {}",
                        number(objective),
                        l.threshold_text
                    )
                }
            };
            let speed = match severity {
                Severity::Page => "fast enough to exhaust it within days",
                Severity::Ticket => "faster than the window allows",
            };
            out.push(AlertRule {
                name: format!("{}{}BurnRate{}", camel(flow), kind.title(), camel(severity.as_str())),
                expr,
                for_: match severity {
                    Severity::Page => "2m",
                    Severity::Ticket => "15m",
                },
                severity,
                sli: Some(kind),
                summary: format!(
                    "Flow {flow} burns its {} error budget {speed}",
                    kind.as_str()
                ),
                description: format!(
                    "The {} SLO of flow {flow} ({what} over {}) burns its error budget at {{{{ $value | humanize }}}}x the sustainable rate. Fires when {conditions}.",
                    kind.as_str(),
                    o.window.prometheus(),
                ),
                labels: Vec::new(),
                comments: vec![format!(
                    "{} burn rate, {}: {conditions} (budget share x {} / long window).",
                    kind.as_str(),
                    severity.as_str(),
                    o.window.prometheus()
                )],
            });
        }
    }
    if let Some(l) = &o.latency {
        out.push(AlertRule {
            name: format!("{}TailOverThreshold", camel(flow)),
            expr: format!(
                "flow:slo_latency_p99:rate5m{} > {}",
                flow_sel(flow),
                number(l.threshold)
            ),
            for_: "30m",
            severity: Severity::Ticket,
            sli: Some(SliKind::Latency),
            summary: format!(
                "Flow {flow}'s P99 latency stays over its SLO threshold of {}",
                l.threshold_text
            ),
            description: format!(
                "For 30 minutes the P99 latency of flow {flow}'s entry requests ({{{{ $value | humanizeDuration }}}}) has been over the {} latency threshold: the tail is expanding before the latency budget burns.",
                l.threshold_text
            ),
            comments: vec!["Early warning: tail expansion over the latency threshold.".into()],
            labels: Vec::new(),
        });
    }
    if let Some(step_alert) = step_tail_alert(f, plan) {
        out.push(step_alert);
    }
    out.extend(saturation_alerts(f, plan));
    if o.latency.is_some() || o.availability.is_some() {
        let p99 = quantile_expr(sli, 0.99, "1h", None);
        let p50 = quantile_expr(sli, 0.5, "1h", None);
        let p99w = quantile_expr(sli, 0.99, "1h", Some("1w"));
        let p50w = quantile_expr(sli, 0.5, "1h", Some("1w"));
        out.push(AlertRule {
            name: format!("{}TailExpansion", camel(flow)),
            expr: format!("(\n  {p99}\n  /\n  {p50}\n)\n> 1.5 * (\n  {p99w}\n  /\n  {p50w}\n)"),
            for_: "30m",
            severity: Severity::Ticket,
            sli: Some(SliKind::Latency),
            summary: format!("Flow {flow}'s latency tail grows against last week"),
            description: format!(
                "The P99/P50 latency ratio of flow {flow} over the last hour is more than 1.5 times the ratio of the same hour one week ago: a few requests got much slower while the median did not."
            ),
            comments: vec!["Early warning: tail expansion, P99/P50 against the same hour last week.".into()],
            labels: Vec::new(),
        });
    }
    out
}

fn step_tail_alert(f: &FlowPlan<'_>, plan: &Plan<'_>) -> Option<AlertRule> {
    let metric = plan.registry.metrics.get("flow.step.duration")?;
    if !metric.labels.iter().any(|l| l == "flow.step") {
        return None;
    }
    let series = format!("{}_bucket", names::metric("flow.step.duration", metric));
    let fl = names::label("flow.name");
    let st = names::label("flow.step");
    let parts: Vec<String> = f
        .flow
        .steps
        .iter()
        .filter_map(|(step, s)| {
            let p99 = s.budget.as_ref()?.p99.as_ref()?.seconds()?;
            let sel = selector(&[Matcher::eq(&fl, f.name), Matcher::eq(&st, step)]);
            Some(format!(
                "histogram_quantile(0.99, sum by ({fl}, {st}, le) (rate({series}{sel}[5m]))) > {}",
                number(p99)
            ))
        })
        .collect();
    if parts.is_empty() {
        return None;
    }
    Some(AlertRule {
        name: format!("{}StepTailOverBudget", camel(f.name)),
        expr: parts.join("\nor\n"),
        for_: "30m",
        severity: Severity::Ticket,
        sli: None,
        summary: format!("A step of flow {} stays over its P99 budget", f.name),
        description: format!(
            "For 30 minutes the P99 duration of step {{{{ $labels.{st} }}}} of flow {} ({{{{ $value | humanizeDuration }}}}) has been over its P99 budget.",
            f.name
        ),
        comments: vec!["Early warning: a step's P99 over its declared p99 budget.".into()],
        labels: Vec::new(),
    })
}

/// Renders the rule file.
pub fn render(plan: &Plan<'_>, opts: &Options, notes: &mut Vec<String>) -> String {
    let mut out = String::new();
    let reg = plan.registry;
    let _ = writeln!(
        out,
        "# Generated by flowtel from the conventions {} {}; do not edit.\n# Regenerate with `flowtel slo -o DIR`; `flowtel slo --check -o DIR` fails when this file is stale.\n#\n# SLO recording rules and multi-window, multi-burn-rate alerts (Google SRE workbook,\n# \"Alerting on SLOs\") for every flow, and early-warning tickets.",
        reg.name, reg.version
    );
    out.push_str("groups:\n");
    for f in &plan.flows {
        let Some((o, sli)) = f.measured() else {
            continue;
        };
        render_recording(&mut out, f, o, sli, notes);
        render_alerts(&mut out, f, plan, opts, notes);
    }
    render_saturation(&mut out, plan);
    out
}

/// The level of every saturation signal per resource, recorded once for all flows (the
/// saturation-growth warnings extrapolate these series).
fn render_saturation(out: &mut String, plan: &Plan<'_>) {
    if plan.saturation.is_empty() {
        return;
    }
    out.push_str("\n  # Saturation signals: the level per service instance (and `per` resource), summed over every\n  # other label, as their declared limit applies to it.\n");
    out.push_str("  - name: flowtel-saturation\n    rules:\n");
    for s in &plan.saturation {
        let _ = writeln!(
            out,
            "      # `{}`: limit {}, warn at {}%.",
            s.metric,
            number(s.limit),
            number(crate::plan::round(s.warn * 100.0, 6))
        );
        let _ = writeln!(out, "      - record: {}", saturation_record(s));
        let _ = writeln!(out, "        expr: {}", s.level(&[]));
    }
}

fn render_recording(
    out: &mut String,
    f: &FlowPlan<'_>,
    o: &Objectives,
    sli: &Sli,
    notes: &mut Vec<String>,
) {
    let flow = f.name;
    let fl = names::label("flow.name");
    let _ = writeln!(
        out,
        "\n  # Flow {flow}: owner {}, alerts to {}.",
        f.owner(),
        f.route()
    );
    let _ = writeln!(
        out,
        "  # SLIs from `{}` ({}), entry requests {}.",
        sli.metric,
        sli.prometheus,
        f.flow.entry.join(", ")
    );
    if let Some(a) = o.availability {
        let _ = writeln!(
            out,
            "  # Availability: {}% over {} (error budget {}); errors are 5xx responses or a set `error.type`.",
            number(a),
            o.window.prometheus(),
            number(budget(a))
        );
    }
    if let Some(l) = &o.latency {
        let _ = writeln!(
            out,
            "  # Latency: {}% of requests under {} over {} (error budget {}).",
            number(l.target),
            l.threshold_text,
            o.window.prometheus(),
            number(budget(l.target))
        );
        if l.approximated {
            let _ = writeln!(out, "  # {}", approximation(flow, l, sli));
            notes.push(approximation(flow, l, sli));
        }
    }
    let _ = writeln!(out, "  - name: flowtel-slo-{flow}\n    rules:");
    let count = format!("{}_count", sli.prometheus);
    let bucket = format!("{}_bucket", sli.prometheus);
    let fsel = flow_sel(flow);
    for w in recorded_windows(o.window.seconds) {
        let d = duration(w);
        let requests = sum_by(&[&fl], &union_rate(&count, &sli.requests, &d));
        rule(
            out,
            flow,
            &format!("flow:slo_requests:rate{d}"),
            &[],
            &requests,
        );
        if o.availability.is_some() {
            let errors = sum_by(&[&fl], &union_rate(&count, &sli.error_sets(), &d));
            let expr = format!(
                "(\n  {errors}\n  or\n  0 * flow:slo_requests:rate{d}{fsel}\n)\n/\nflow:slo_requests:rate{d}{fsel}"
            );
            rule(
                out,
                flow,
                &format!("flow:slo_error_ratio:rate{d}"),
                &[("sli", "availability")],
                &expr,
            );
        }
        if let Some(l) = &o.latency {
            let fast = sum_by(&[&fl], &union_rate(&bucket, &sli.bucket_sets(l.bound), &d));
            let expr = format!("1 - (\n  {fast}\n  /\n  flow:slo_requests:rate{d}{fsel}\n)");
            rule(
                out,
                flow,
                &format!("flow:slo_error_ratio:rate{d}"),
                &[("sli", "latency")],
                &expr,
            );
        }
    }
    for (kind, objective) in slis(o) {
        let b = number(budget(objective));
        let labels = [("sli", kind.as_str())];
        for w in recorded_windows(o.window.seconds) {
            let d = duration(w);
            rule(
                out,
                flow,
                &format!("flow:slo_burn_rate:rate{d}"),
                &labels,
                &format!("flow:slo_error_ratio:rate{d}{} / {b}", sli_sel(flow, kind)),
            );
        }
        rule(
            out,
            flow,
            "flow:slo_error_budget_remaining:ratio",
            &labels,
            &format!(
                "1 - flow:slo_error_ratio:rate{}{} / {b}",
                o.window.prometheus(),
                sli_sel(flow, kind)
            ),
        );
        rule(
            out,
            flow,
            "flow:slo_objective:ratio",
            &[("sli", kind.as_str())],
            &format!(
                "vector({})",
                number(crate::plan::round(objective / 100.0, 12))
            ),
        );
    }
    for (q, name) in [(0.5, "p50"), (0.99, "p99")] {
        rule(
            out,
            flow,
            &format!("flow:slo_latency_{name}:rate5m"),
            &[],
            &quantile_expr(sli, q, "5m", None),
        );
    }
}

fn approximation(flow: &str, l: &LatencyObjective, sli: &Sli) -> String {
    format!(
        "flow `{flow}`: latency threshold {} is not a bucket bound of `{}`; the SLI counts requests under the nearest lower bound {}s (stricter than the objective). Add {} to its `buckets`.",
        l.threshold_text,
        sli.metric,
        number(l.bound),
        number(l.threshold)
    )
}

/// Writes a recording rule. Every rule carries its flow as a static label too, so rules of
/// different flows never look like duplicates (promtool's lint compares names and labels).
fn rule(out: &mut String, flow: &str, record: &str, labels: &[(&str, &str)], expr: &str) {
    let _ = writeln!(out, "      - record: {record}");
    out.push_str("        labels:\n");
    let _ = writeln!(
        out,
        "          {}: {}",
        names::label("flow.name"),
        yaml::scalar(flow)
    );
    for (k, v) in labels {
        let _ = writeln!(out, "          {k}: {}", yaml::scalar(v));
    }
    let _ = writeln!(out, "        expr: {}", yaml::block(expr, 10));
}

fn render_alerts(
    out: &mut String,
    f: &FlowPlan<'_>,
    plan: &Plan<'_>,
    opts: &Options,
    notes: &mut Vec<String>,
) {
    let flow = f.name;
    let _ = writeln!(out, "  - name: flowtel-slo-{flow}-alerts\n    rules:");
    for a in alerts(f, plan) {
        write_alert(out, f, &a, opts);
    }
    if let Some(text) = saturation_gap(plan, f) {
        let _ = writeln!(out, "      # {text}.");
        notes.push(text);
    }
}

/// Why the conventions give flow `f` no saturation-growth warning, if they do not: its steps
/// name no service, or no saturation signal is declared.
pub fn saturation_gap(plan: &Plan<'_>, f: &FlowPlan<'_>) -> Option<String> {
    if f.services.is_empty() {
        Some(format!(
            "flow `{}`: its steps name no service, so no saturation signal can be attributed to it and no saturation-growth warning is generated",
            f.name
        ))
    } else if plan.saturation.is_empty() {
        Some(format!(
            "flow `{}`: no saturation signal is declared for its services ({}), so no saturation-growth warning is generated; declare `saturation: {{limit: ...}}` on an in-flight or queue-depth metric",
            f.name,
            f.services.join(", ")
        ))
    } else {
        None
    }
}

/// Name of the recording rule of a saturation signal's level per resource
/// (`job_instance:http_server_active_requests:sum`).
pub fn saturation_record(s: &SaturationSignal) -> String {
    format!("{}:{}:sum", s.resource_labels().join("_"), s.prometheus)
}

/// How far ahead the saturation-growth warning looks, seconds.
pub const SATURATION_HORIZON: u64 = 4 * 3_600;

fn saturation_alerts(f: &FlowPlan<'_>, plan: &Plan<'_>) -> Vec<AlertRule> {
    let Some(svc) = f.service_matcher() else {
        return Vec::new();
    };
    let flow = f.name;
    plan.saturation
        .iter()
        .map(|s| {
            let record = saturation_record(s);
            let sel = selector(std::slice::from_ref(&svc));
            AlertRule {
                name: format!("{}SaturationGrowth{}", camel(flow), camel(&s.metric)),
                expr: format!(
                    "predict_linear({record}{sel}[1h], {SATURATION_HORIZON})\n> {}",
                    number(s.limit)
                ),
                for_: "15m",
                severity: Severity::Ticket,
                sli: None,
                labels: vec![("signal".into(), s.metric.clone())],
                summary: format!(
                    "`{}` of a service on flow {flow}'s path grows towards its limit {}",
                    s.metric,
                    number(s.limit)
                ),
                description: format!(
                    "At the pace of the last hour, `{}` of a service instance ({{{{ $labels.job }}}} {{{{ $labels.instance }}}}) reaches its declared limit {} within 4 hours (predicted {{{{ $value | humanize }}}}). Flow {flow} passes through it: find what grows before adding capacity.",
                    s.metric,
                    number(s.limit)
                ),
                comments: vec![format!(
                    "Early warning: saturation growth of `{}` (limit {}) on the services of flow {flow} ({}), predicted 4h ahead from the last hour.",
                    s.metric,
                    number(s.limit),
                    f.services.join(", ")
                )],
            }
        })
        .collect()
}

fn write_alert(out: &mut String, f: &FlowPlan<'_>, a: &AlertRule, opts: &Options) {
    for c in &a.comments {
        let _ = writeln!(out, "      # {c}");
    }
    let _ = writeln!(out, "      - alert: {}", a.name);
    let _ = writeln!(out, "        expr: {}", yaml::block(&a.expr, 10));
    let _ = writeln!(out, "        for: {}", a.for_);
    out.push_str("        labels:\n");
    let _ = writeln!(out, "          flow: {}", yaml::scalar(f.name));
    let _ = writeln!(out, "          owner: {}", yaml::scalar(f.owner()));
    let _ = writeln!(out, "          severity: {}", a.severity.as_str());
    if let Some(k) = a.sli {
        let _ = writeln!(out, "          sli: {}", k.as_str());
    }
    for (k, v) in &a.labels {
        let _ = writeln!(out, "          {k}: {}", yaml::scalar(v));
    }
    out.push_str("        annotations:\n");
    let _ = writeln!(out, "          summary: {}", yaml::quoted(&a.summary));
    let _ = writeln!(
        out,
        "          description: {}",
        yaml::quoted(&a.description)
    );
    let _ = writeln!(
        out,
        "          runbook_url: {}",
        yaml::quoted(&opts.runbook_link(f.name, &a.name))
    );
    let _ = writeln!(
        out,
        "          dashboard_url: {}",
        yaml::quoted(&opts.dashboard_link(f.name))
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn camel_case_of_flow_names() {
        assert_eq!(camel("checkout"), "Checkout");
        assert_eq!(camel("order_history"), "OrderHistory");
        assert_eq!(camel("page"), "Page");
    }
}
