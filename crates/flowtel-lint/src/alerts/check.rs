//! The alert rules (`FT0503`-`FT0517`) over one rule at a time, and the classes of each alert
//! that the signal-quality summary counts.
//!
//! Parsing is [`super::read`]'s and [`super::expr`]'s; routing through Alertmanager is
//! [`super::alertmanager`]'s. Names are matched to the conventions through
//! `flowtel_conventions::prometheus`, the one OpenTelemetry-to-Prometheus translation.

use std::collections::{HashMap, HashSet};

use flowtel_conventions::finding::did_you_mean;
use flowtel_conventions::rules::alerts as r;
use flowtel_conventions::{AlertLint, Finding, Instrument, Registry, prometheus};

use super::expr::{self, ExprFacts};
use super::read::{Pos, Rule, RuleKind, Spanned};

/// Series every Prometheus has without being declared anywhere.
const BUILTIN_SERIES: &[&str] = &[
    "up",
    "ALERTS",
    "ALERTS_FOR_STATE",
    "scrape_duration_seconds",
    "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling",
    "scrape_series_added",
    "target_info",
];

/// Labels a scraped series has whatever its metric declares.
const TARGET_LABELS: &[&str] = &[
    "job",
    "instance",
    "__name__",
    "otel_scope_name",
    "otel_scope_version",
];

/// A series name of a declared metric.
#[derive(Debug, Clone)]
pub(crate) struct SeriesInfo<'r> {
    /// The OpenTelemetry name.
    pub metric: &'r str,
    /// Prometheus label names the series may carry.
    pub labels: HashSet<String>,
    /// The series counts up (a counter, or a histogram's `_bucket`, `_sum`, `_count`).
    pub cumulative: bool,
}

/// What the checks know: the conventions as Prometheus names, and the options.
pub(crate) struct Context<'r> {
    pub reg: Option<&'r Registry>,
    pub config: AlertLint,
    pub check_metrics: bool,
    pub scrape_seconds: f64,
    pub series: HashMap<String, SeriesInfo<'r>>,
    pub pii_labels: HashMap<String, &'r str>,
    /// Names recorded by recording rules of the linted files.
    pub recorded: HashSet<String>,
}

impl<'r> Context<'r> {
    pub fn new(
        reg: Option<&'r Registry>,
        check_metrics: bool,
        scrape_override: Option<f64>,
    ) -> Self {
        let config = reg.and_then(|r| r.lint.alerts.clone()).unwrap_or_default();
        let scrape_seconds = scrape_override
            .or_else(|| config.scrape_interval.seconds())
            .unwrap_or(15.0);
        let mut series = HashMap::new();
        let mut pii_labels = HashMap::new();
        if let Some(reg) = reg {
            for (name, a) in &reg.attributes {
                if a.pii {
                    pii_labels.insert(prometheus::label_name(name), name.as_str());
                }
            }
            for (name, m) in &reg.metrics {
                let labels: HashSet<String> =
                    m.labels.iter().map(|l| prometheus::label_name(l)).collect();
                let base = prometheus::metric_name(name, m);
                let histogram = m.instrument == Instrument::Histogram;
                for s in prometheus::series_names(name, m) {
                    let mut labels = labels.clone();
                    if s.ends_with("_bucket") {
                        labels.insert("le".into());
                    }
                    series.insert(
                        s,
                        SeriesInfo {
                            metric: name,
                            labels,
                            cumulative: histogram || m.instrument == Instrument::Counter,
                        },
                    );
                }
                series.entry(base).or_insert_with(|| SeriesInfo {
                    metric: name,
                    labels: labels.clone(),
                    cumulative: m.instrument == Instrument::Counter,
                });
            }
        }
        Context {
            reg,
            config,
            check_metrics,
            scrape_seconds,
            series,
            pii_labels,
            recorded: HashSet::new(),
        }
    }

    fn is_page(&self, rule: &Rule) -> bool {
        rule.label(&self.config.severity_label).is_some_and(|s| {
            self.config
                .page_severities
                .iter()
                .any(|p| p.eq_ignore_ascii_case(s.value.trim()))
        })
    }

    fn is_counter(&self, name: &str) -> bool {
        if let Some(info) = self.series.get(name) {
            return info.cumulative;
        }
        !name.contains(':') && (name.ends_with("_total") || name.ends_with("_bucket"))
    }
}

/// How an alert counts in the signal-quality summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AlertClass {
    /// Carries a declared flow and its owner.
    pub flow_aligned: bool,
    /// Reads an SLO (burn rate, error budget).
    pub slo_based: bool,
    /// Measures a resource (a cause, not a symptom).
    pub cause_based: bool,
    /// Alerts on an average latency.
    pub average_based: bool,
    /// Pages someone.
    pub page: bool,
    /// Flagged as low-signal: a finding says it should go or be rewritten.
    pub flagged: bool,
}

/// Rules whose finding marks an alert as one to remove or rewrite.
const LOW_SIGNAL: &[&str] = &[
    "FT0502", "FT0503", "FT0504", "FT0508", "FT0512", "FT0514", "FT0517",
];

/// Checks one rule whose expression parsed (or not: `facts` is `None` then); returns its
/// findings and, for an alert, its class.
#[allow(clippy::too_many_arguments)]
pub(crate) fn check_rule(
    ctx: &Context<'_>,
    source: &str,
    file: &str,
    group: &str,
    rule: &Rule,
    facts: Option<&ExprFacts>,
    out: &mut Vec<Finding>,
) -> Option<AlertClass> {
    let start = out.len();
    let name = &rule.name.value;
    let at_expr = rule.expr.pos.at(file);
    let at_name = rule.name.pos.at(file);
    let kind = match rule.kind {
        RuleKind::Alert => "alert",
        RuleKind::Record => "recording rule",
    };
    let f = |rule_def, msg: String| {
        Finding::new(rule_def, msg)
            .subject(kind, name.clone())
            .subject("group", group)
    };
    let mut class = AlertClass::default();

    if let Some(facts) = facts {
        selectors(ctx, source, rule, facts, file, &f, out);
        if rule.kind == RuleKind::Alert {
            class.slo_based = facts.slo_based;
            class.cause_based = !facts.slo_based
                && facts
                    .selectors
                    .iter()
                    .any(|s| s.name.as_deref().is_some_and(expr::is_resource_name));
            class.average_based = facts.average_latency;
            if facts.average_latency {
                out.push(
                    f(&r::AVERAGE_LATENCY_ALERT, format!("alert `{name}` fires on an average latency"))
                        .at(at_expr.clone())
                        .help("alert on a quantile (`histogram_quantile(0.99, ...)`) or, better, on the flow's latency SLO burn rate (`flowtel slo`)"),
                );
            }
            if !facts.filters {
                out.push(
                    f(&r::ALERT_NO_COMPARISON, format!("alert `{name}` has no comparison: it fires for every series its expression returns"))
                        .at(at_expr.clone())
                        .help("compare with a threshold (`> 0.05`), or filter with `absent()`/`and`"),
                );
            }
        }
    }
    if rule.kind == RuleKind::Record {
        return None;
    }

    class.page = ctx.is_page(rule);
    let flow = rule.label(&ctx.config.flow_label);
    let owner = rule.label(&ctx.config.owner_label);
    if class.page && class.cause_based && flow.is_none() {
        out.push(
            f(&r::CAUSE_BASED_PAGE, format!("alert `{name}` pages on a resource and names no flow"))
                .at(rule.label(&ctx.config.severity_label).map_or(at_name.clone(), |s| s.pos.at(file)))
                .help(format!("page on a flow's symptoms (its SLO burn rate); make this a ticket or a dashboard, or add the `{}` it threatens", ctx.config.flow_label)),
        );
    }
    class.flow_aligned = flow_alignment(ctx, rule, flow, owner, class, file, &f, out);

    match rule.for_seconds {
        Some((s, _)) if s > 0.0 => {}
        Some((_, pos)) => out.push(
            f(
                &r::ALERT_MISSING_FOR,
                format!("alert `{name}` has `for: 0`: one evaluation fires it"),
            )
            .at(pos.at(file))
            .help("wait for the condition to last: `for: 5m` (burn-rate alerts: `for: 2m`)"),
        ),
        None => out.push(
            f(
                &r::ALERT_MISSING_FOR,
                format!("alert `{name}` has no `for`: one evaluation fires it"),
            )
            .at(at_name.clone())
            .help("wait for the condition to last: `for: 5m` (burn-rate alerts: `for: 2m`)"),
        ),
    }
    let missing: Vec<&str> = ["summary", "runbook_url"]
        .into_iter()
        .filter(|a| !rule.has_annotation(a))
        .collect();
    if !missing.is_empty() {
        let list = missing
            .iter()
            .map(|m| format!("`{m}`"))
            .collect::<Vec<_>>()
            .join(" and ");
        out.push(
            f(
                &r::ALERT_MISSING_ANNOTATION,
                format!("alert `{name}` has no {list} annotation"),
            )
            .at(at_name)
            .help("add `annotations: {summary: ..., runbook_url: ...}` so the person paged knows what broke and what to do"),
        );
    }
    class.flagged = out[start..].iter().any(|f| LOW_SIGNAL.contains(&f.rule.id));
    Some(class)
}

#[allow(clippy::too_many_arguments)]
fn flow_alignment(
    ctx: &Context<'_>,
    rule: &Rule,
    flow: Option<&Spanned>,
    owner: Option<&Spanned>,
    class: AlertClass,
    file: &str,
    f: &dyn Fn(&'static flowtel_conventions::rules::Rule, String) -> Finding,
    out: &mut Vec<Finding>,
) -> bool {
    let name = &rule.name.value;
    let (fl, ol) = (&ctx.config.flow_label, &ctx.config.owner_label);
    let (Some(flow), Some(owner)) = (flow, owner) else {
        // A cause-based page without a flow is already reported as such.
        if !(class.page && class.cause_based && flow.is_none()) {
            let missing = match (flow, owner) {
                (None, None) => format!("`{fl}` and `{ol}` labels"),
                (None, _) => format!("`{fl}` label"),
                _ => format!("`{ol}` label"),
            };
            out.push(
                f(&r::ALERT_NOT_FLOW_ALIGNED, format!("alert `{name}` has no {missing}"))
                    .at(rule.name.pos.at(file))
                    .help(format!("name the user-facing flow it threatens and the team that owns it: `labels: {{{fl}: checkout, {ol}: team-payments}}`")),
            );
        }
        return false;
    };
    let Some(reg) = ctx.reg else {
        return true;
    };
    // Templated values (`{{ $labels.flow_name }}`) are only known when the alert fires.
    if flow.value.contains("{{") {
        return true;
    }
    let Some(decl) = reg.flows.get(flow.value.as_str()) else {
        out.push(
            f(
                &r::ALERT_UNKNOWN_FLOW,
                format!(
                    "alert `{name}` names flow `{}`, which the conventions do not declare",
                    flow.value
                ),
            )
            .subject("flow", flow.value.clone())
            .at(flow.pos.at(file))
            .maybe_help(
                did_you_mean(&flow.value, reg.flows.keys().map(String::as_str))
                    .map(|s| format!("did you mean `{s}`?")),
            )
            .help_if_none("declare the flow under `flows`, or name a declared one"),
        );
        return false;
    };
    match &decl.owner {
        Some(o) if *o != owner.value && !owner.value.contains("{{") => {
            out.push(
                f(
                    &r::ALERT_OWNER_MISMATCH,
                    format!(
                        "alert `{name}` names owner `{}`, but flow `{}` is owned by `{o}`",
                        owner.value, flow.value
                    ),
                )
                .subject("flow", flow.value.clone())
                .subject("owner", owner.value.clone())
                .at(owner.pos.at(file))
                .help(format!("set `{ol}: {o}`")),
            );
            false
        }
        _ => true,
    }
}

#[allow(clippy::too_many_arguments)]
fn selectors(
    ctx: &Context<'_>,
    source: &str,
    rule: &Rule,
    facts: &ExprFacts,
    file: &str,
    f: &dyn Fn(&'static flowtel_conventions::rules::Rule, String) -> Finding,
    out: &mut Vec<Finding>,
) {
    let name = &rule.name.value;
    let at_word = |word: &str| {
        locate_word(source, rule.expr.pos, rule.expr.value.len(), word).map_or_else(
            || rule.expr.pos.at(file),
            |(p, chars)| p.at(file).with_end(p.line, p.column + chars as u32),
        )
    };
    let mut reported: HashSet<(&'static str, String)> = HashSet::new();
    let mut once = |id: &'static str, what: &str| reported.insert((id, what.to_string()));
    let known = |metric: &str| {
        ctx.series.contains_key(metric)
            || ctx.recorded.contains(metric)
            || BUILTIN_SERIES.contains(&metric)
    };
    let pii = |label: &str,
               out: &mut Vec<Finding>,
               once: &mut dyn FnMut(&'static str, &str) -> bool|
     -> bool {
        let Some(attr) = ctx.pii_labels.get(label) else {
            return false;
        };
        if once("pii", label) {
            out.push(
                f(&r::ALERT_PII_LABEL, format!("`{name}` uses label `{label}`, which is personal data (`{attr}` is declared `pii`)"))
                    .subject("label", label)
                    .at(at_word(label))
                    .help("never select, group or alert by personal data; use a bounded attribute (a tier, a region) instead"),
            );
        }
        true
    };
    for s in &facts.selectors {
        for m in &s.matchers {
            pii(&m.label, out, &mut once);
        }
        let Some(metric) = s.name.as_deref() else {
            continue;
        };
        if let Some(range) = s.range
            && range < 2.0 * ctx.scrape_seconds
            && once("range", metric)
        {
            out.push(
                f(&r::RANGE_TOO_SHORT, format!("`{name}` reads `{metric}` over {}, less than twice the {}s scrape interval", fmt_secs(range), fmt_secs(ctx.scrape_seconds)))
                    .subject("metric", metric)
                    .at(at_word(metric))
                    .help(format!("use a range of at least {} so it always holds two samples", fmt_secs(2.0 * ctx.scrape_seconds))),
            );
        }
        if rule.kind == RuleKind::Alert
            && !s.counter_safe
            && ctx.is_counter(metric)
            && once("counter", metric)
        {
            out.push(
                f(&r::COUNTER_WITHOUT_RATE, format!("`{name}` reads counter `{metric}` without `rate()` or `increase()`"))
                    .subject("metric", metric)
                    .at(at_word(metric))
                    .help(format!("alert on `rate({metric}[5m])` or `increase({metric}[1h])`; the raw value only grows and resets on restart")),
            );
        }
        if !ctx.check_metrics {
            continue;
        }
        if !known(metric) {
            if once("unknown", metric) {
                let candidates = ctx
                    .series
                    .keys()
                    .chain(ctx.recorded.iter())
                    .map(String::as_str);
                out.push(
                    f(&r::ALERT_UNKNOWN_METRIC, format!("`{name}` selects `{metric}`, which is not a declared metric"))
                        .subject("metric", metric)
                        .at(at_word(metric))
                        .maybe_help(did_you_mean(metric, candidates).map(|c| format!("did you mean `{c}`?")))
                        .help_if_none("declare the metric in the conventions (Prometheus names are derived: `flow.step.duration` + unit `s` is `flow_step_duration_seconds`)"),
                );
            }
            continue;
        }
        if let Some(info) = ctx.series.get(metric) {
            for m in &s.matchers {
                if !ctx.pii_labels.contains_key(&m.label)
                    && !info.labels.contains(&m.label)
                    && !TARGET_LABELS.contains(&m.label.as_str())
                    && once("label", &m.label)
                {
                    out.push(
                        undeclared_label(f, name, metric, info, &m.label).at(at_word(&m.label)),
                    );
                }
            }
        }
    }
    for g in &facts.groupings {
        let mut infos = Vec::new();
        let mut all_declared = !g.relabels && !g.selectors.is_empty();
        for s in &facts.selectors[g.selectors.clone()] {
            match s
                .name
                .as_deref()
                .and_then(|n| ctx.series.get(n).map(|i| (n, i)))
            {
                Some(x) => infos.push(x),
                None => all_declared = false,
            }
        }
        for label in &g.labels {
            if pii(label, out, &mut once) || !ctx.check_metrics || !all_declared {
                continue;
            }
            let known = TARGET_LABELS.contains(&label.as_str())
                || infos.iter().any(|(_, i)| i.labels.contains(label));
            if !known && once("label", label) {
                let (metric, info) = infos[0];
                out.push(undeclared_label(f, name, metric, info, label).at(at_word(label)));
            }
        }
    }
    if rule.kind == RuleKind::Alert {
        for (k, _) in &rule.labels {
            if let Some(attr) = ctx.pii_labels.get(&k.value)
                && once("pii", &k.value)
            {
                out.push(
                    f(&r::ALERT_PII_LABEL, format!("alert `{name}` sets label `{}`, which is personal data (`{attr}` is declared `pii`)", k.value))
                        .subject("label", k.value.clone())
                        .at(k.pos.at(file))
                        .help("remove the label; alerts travel to chat and paging tools"),
                );
            }
        }
    }
}

fn undeclared_label(
    f: &dyn Fn(&'static flowtel_conventions::rules::Rule, String) -> Finding,
    name: &str,
    metric: &str,
    info: &SeriesInfo<'_>,
    label: &str,
) -> Finding {
    let mut declared: Vec<&str> = info.labels.iter().map(String::as_str).collect();
    declared.sort_unstable();
    f(
        &r::ALERT_UNDECLARED_LABEL,
        format!(
            "`{name}` uses label `{label}` on `{metric}`, which does not declare it (metric `{}`)",
            info.metric
        ),
    )
    .subject("metric", metric)
    .subject("label", label)
    .maybe_help(
        did_you_mean(label, declared.iter().copied()).map(|s| format!("did you mean `{s}`?")),
    )
    .help_if_none(format!("`{metric}` carries {}", declared.join(", ")))
}

/// Where `word` is written in the expression that starts at `start` in `source`, as a whole
/// token (not part of a longer name), and its length in characters. Searches the source text,
/// so it works for quoted, plain and block scalars alike.
fn locate_word(source: &str, start: Pos, expr_len: usize, word: &str) -> Option<(Pos, usize)> {
    if word.is_empty() {
        return None;
    }
    let mut offset = 0usize;
    for (i, line) in source.split_inclusive('\n').enumerate() {
        if i + 1 == start.line as usize {
            let col: usize = line
                .chars()
                .take(start.column.saturating_sub(1) as usize)
                .map(char::len_utf8)
                .sum();
            offset += col;
            break;
        }
        offset += line.len();
    }
    // Block scalars add indentation and quotes add escapes: allow some slack.
    let end = source.len().min(offset + expr_len * 2 + 256);
    let hay = source.get(offset..end)?;
    let is_name = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    let mut from = 0;
    while let Some(i) = hay[from..].find(word) {
        let at = from + i;
        let before = hay[..at].chars().next_back();
        let after = hay[at + word.len()..].chars().next();
        if !before.is_some_and(is_name) && !after.is_some_and(is_name) {
            let abs = offset + at;
            let line_start = source[..abs].rfind('\n').map_or(0, |n| n + 1);
            let line = source[..abs].matches('\n').count() as u32 + 1;
            let column = source[line_start..abs].chars().count() as u32 + 1;
            return Some((Pos { line, column }, word.chars().count()));
        }
        from = at + word.len();
    }
    None
}

fn fmt_secs(s: f64) -> String {
    if s >= 60.0 && (s % 60.0) == 0.0 {
        format!("{}m", s / 60.0)
    } else {
        format!("{s}s")
    }
}

/// `help` only when none is set yet.
trait HelpIfNone {
    fn help_if_none(self, help: impl Into<String>) -> Self;
}

impl HelpIfNone for Finding {
    fn help_if_none(self, help: impl Into<String>) -> Self {
        if self.help.is_some() {
            self
        } else {
            self.help(help)
        }
    }
}
