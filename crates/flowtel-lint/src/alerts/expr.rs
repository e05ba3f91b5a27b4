//! What a PromQL expression does, as far as alert quality is concerned.
//!
//! [`analyze`] parses an expression with the `promql-parser` crate (a port of Prometheus's own
//! grammar) and walks the tree once, collecting plain facts: the selectors with their matchers,
//! ranges and whether a counter is read through `rate()`; the `by`/`without` labels; whether the
//! expression filters (a comparison, `absent()`, `and`/`unless`); whether it averages a latency
//! or reads an SLO burn rate. Judging those facts against the conventions is [`super::check`]'s.

use promql_parser::label::MatchOp;
use promql_parser::parser::{self, Expr, LabelModifier};

/// Deepest bracket nesting accepted before parsing, so a hostile expression cannot exhaust the
/// stack of the parser or of the walk.
pub const MAX_NESTING: usize = 128;
/// Longest expression accepted.
pub const MAX_EXPR_BYTES: usize = 64 * 1024;

/// A label matcher of a selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelMatch {
    /// The label.
    pub label: String,
    /// The value or regex.
    pub value: String,
    /// `=` (the others are `!=`, `=~`, `!~`).
    pub equal: bool,
}

/// A vector or range selector.
#[derive(Debug, Clone, PartialEq)]
pub struct Selector {
    /// The metric name (from the name or an equality `__name__` matcher).
    pub name: Option<String>,
    /// Matchers other than the name.
    pub matchers: Vec<LabelMatch>,
    /// Range of a range selector, in seconds.
    pub range: Option<f64>,
    /// Inside a function that reads a counter correctly (`rate`, `increase`, `absent`, ...).
    pub counter_safe: bool,
}

/// `by (...)` or `without (...)` of an aggregation, and the selectors it aggregates.
#[derive(Debug, Clone, PartialEq)]
pub struct Grouping {
    /// The labels listed.
    pub labels: Vec<String>,
    /// Indices into [`ExprFacts::selectors`] of the selectors under the aggregation.
    pub selectors: std::ops::Range<usize>,
    /// Labels under the aggregation may come from `label_replace`/`label_join`.
    pub relabels: bool,
}

/// Facts about one expression.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExprFacts {
    /// Every selector, in order of appearance.
    pub selectors: Vec<Selector>,
    /// Every `by`/`without` clause.
    pub groupings: Vec<Grouping>,
    /// A comparison (without `bool`), `absent()`/`absent_over_time()` or `and`/`unless`.
    pub filters: bool,
    /// Averages a latency: `_sum / _count` of a duration, `avg(...)` or `avg_over_time(...)` of
    /// one.
    pub average_latency: bool,
    /// Reads an SLO: a burn rate, an error budget, or `1 - objective` thresholds.
    pub slo_based: bool,
    /// The expression as the parser prints it back: equal for equal expressions however they
    /// are spaced or bracketed.
    pub canonical: String,
}

/// Parses and analyses `expr`; the error is the parser's message.
pub fn analyze(expr: &str) -> Result<ExprFacts, String> {
    if expr.len() > MAX_EXPR_BYTES {
        return Err(format!(
            "expression of {} bytes is over the {MAX_EXPR_BYTES}-byte limit",
            expr.len()
        ));
    }
    if nesting(expr) > MAX_NESTING {
        return Err(format!(
            "brackets nested more than {MAX_NESTING} deep; split the expression into recording rules"
        ));
    }
    let tree = parser::parse(expr)?;
    let mut facts = ExprFacts {
        canonical: tree.to_string(),
        ..ExprFacts::default()
    };
    walk(&tree, false, &mut facts);
    facts.slo_based |= facts
        .selectors
        .iter()
        .any(|s| s.name.as_deref().is_some_and(is_slo_name));
    Ok(facts)
}

/// Deepest nesting of `(`, `[` and `{` outside string literals.
fn nesting(expr: &str) -> usize {
    let (mut depth, mut max) = (0usize, 0usize);
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in expr.chars() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' && q != '`' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '"' | '\'' | '`' => quote = Some(c),
            '(' | '[' | '{' => {
                depth += 1;
                max = max.max(depth);
            }
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// Functions that read a counter's raw value correctly.
const COUNTER_SAFE: &[&str] = &[
    "rate",
    "irate",
    "increase",
    "resets",
    "changes",
    "absent",
    "absent_over_time",
    "present_over_time",
    "timestamp",
    "count_over_time",
    "histogram_count",
    "histogram_sum",
    "histogram_fraction",
];

fn walk(expr: &Expr, counter_safe: bool, facts: &mut ExprFacts) {
    match expr {
        Expr::Aggregate(a) => {
            let start = facts.selectors.len();
            let relabels_before = relabel_count(facts);
            if let Some(p) = &a.param {
                walk(p, counter_safe, facts);
            }
            walk(&a.expr, counter_safe, facts);
            let op = a.op.to_string();
            if op == "avg" && averages_duration(&facts.selectors[start..], &a.expr) {
                facts.average_latency = true;
            }
            if let Some(m) = &a.modifier {
                let labels = match m {
                    LabelModifier::Include(l) | LabelModifier::Exclude(l) => l.labels.clone(),
                };
                if !labels.is_empty() {
                    facts.groupings.push(Grouping {
                        labels,
                        selectors: start..facts.selectors.len(),
                        relabels: relabel_count(facts) != relabels_before
                            || contains_relabel(&a.expr),
                    });
                }
            }
        }
        Expr::Unary(u) => walk(&u.expr, counter_safe, facts),
        Expr::Binary(b) => {
            if b.op.is_comparison_operator() && !b.return_bool() {
                facts.filters = true;
            }
            let op = b.op.to_string();
            if op == "and" || op == "unless" {
                facts.filters = true;
            }
            if op == "-" && is_objective_complement(&b.lhs, &b.rhs) {
                facts.slo_based = true;
            }
            let start = facts.selectors.len();
            walk(&b.lhs, counter_safe, facts);
            let mid = facts.selectors.len();
            walk(&b.rhs, counter_safe, facts);
            if op == "/" && sum_over_count(&facts.selectors[start..mid], &facts.selectors[mid..]) {
                facts.average_latency = true;
            }
        }
        Expr::Paren(p) => walk(&p.expr, counter_safe, facts),
        Expr::Subquery(s) => walk(&s.expr, counter_safe, facts),
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) => {}
        Expr::VectorSelector(vs) => facts.selectors.push(selector(vs, None, counter_safe)),
        Expr::MatrixSelector(ms) => {
            facts
                .selectors
                .push(selector(&ms.vs, Some(ms.range.as_secs_f64()), counter_safe))
        }
        Expr::Call(call) => {
            let name = call.func.name;
            if name == "absent" || name == "absent_over_time" {
                facts.filters = true;
            }
            let safe = counter_safe || COUNTER_SAFE.contains(&name);
            let start = facts.selectors.len();
            for arg in &call.args.args {
                walk(arg, safe, facts);
            }
            if name == "avg_over_time" && averages_duration(&facts.selectors[start..], expr) {
                facts.average_latency = true;
            }
            if name == "label_replace" || name == "label_join" {
                facts.groupings.push(Grouping {
                    labels: Vec::new(),
                    selectors: start..start,
                    relabels: true,
                });
            }
        }
        Expr::Extension(e) => {
            for child in e.expr.children() {
                walk(child, counter_safe, facts);
            }
        }
    }
}

fn relabel_count(facts: &ExprFacts) -> usize {
    facts
        .groupings
        .iter()
        .filter(|g| g.labels.is_empty())
        .count()
}

fn contains_relabel(expr: &Expr) -> bool {
    expr.to_string().contains("label_replace") || expr.to_string().contains("label_join")
}

fn selector(
    vs: &promql_parser::parser::VectorSelector,
    range: Option<f64>,
    counter_safe: bool,
) -> Selector {
    let mut name = vs.name.clone();
    let mut matchers = Vec::new();
    let all = vs
        .matchers
        .matchers
        .iter()
        .chain(vs.matchers.or_matchers.iter().flatten());
    for m in all {
        let equal = matches!(m.op, MatchOp::Equal);
        if m.name == "__name__" {
            if equal && name.is_none() {
                name = Some(m.value.clone());
            }
            continue;
        }
        matchers.push(LabelMatch {
            label: m.name.clone(),
            value: m.value.clone(),
            equal,
        });
    }
    Selector {
        name,
        matchers,
        range,
        counter_safe,
    }
}

/// `1 - 0.999`: the error budget of an objective, as burn-rate thresholds write it.
fn is_objective_complement(lhs: &Expr, rhs: &Expr) -> bool {
    let number = |e: &Expr| match e {
        Expr::NumberLiteral(n) => Some(n.val),
        Expr::Paren(p) => match &*p.expr {
            Expr::NumberLiteral(n) => Some(n.val),
            _ => None,
        },
        _ => None,
    };
    matches!((number(lhs), number(rhs)), (Some(one), Some(obj)) if one == 1.0 && obj > 0.5 && obj < 1.0)
}

fn sum_over_count(num: &[Selector], den: &[Selector]) -> bool {
    num.iter().any(|n| {
        let Some(base) = n.name.as_deref().and_then(|s| s.strip_suffix("_sum")) else {
            return false;
        };
        is_duration_name(base)
            && den.iter().any(|d| {
                d.name
                    .as_deref()
                    .and_then(|s| s.strip_suffix("_count"))
                    .is_some_and(|b| b == base)
            })
    })
}

fn averages_duration(selectors: &[Selector], expr: &Expr) -> bool {
    if expr.to_string().contains("histogram_quantile") {
        return false;
    }
    selectors.iter().any(|s| {
        s.name.as_deref().is_some_and(|n| {
            let base = n
                .strip_suffix("_bucket")
                .or_else(|| n.strip_suffix("_count"))
                .unwrap_or(n);
            is_duration_name(base) && !n.ends_with("_bucket") && !n.ends_with("_count")
        })
    })
}

fn tokens(name: &str) -> impl Iterator<Item = &str> {
    name.split(['_', ':', '.']).filter(|t| !t.is_empty())
}

/// A metric name that measures how long something takes (`..._duration_seconds`,
/// `..._latency`, `..._response_time_...`), not a counter of seconds (`cpu_seconds_total`).
pub fn is_duration_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    let base = lower
        .strip_suffix("_sum")
        .or_else(|| lower.strip_suffix("_count"))
        .or_else(|| lower.strip_suffix("_bucket"))
        .unwrap_or(&lower);
    if base.ends_with("_total") {
        return false;
    }
    tokens(base).any(|t| matches!(t, "duration" | "latency" | "latencies" | "rtt"))
        || base.contains("response_time")
        || base.contains("request_time")
}

/// A metric name that measures a resource: CPU, memory, disk or filesystem, load, swap,
/// restarts, OOM kills.
pub fn is_resource_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    tokens(&lower).any(|t| {
        matches!(
            t,
            "cpu"
                | "cpus"
                | "memory"
                | "mem"
                | "disk"
                | "disks"
                | "filesystem"
                | "fs"
                | "load1"
                | "load5"
                | "load15"
                | "swap"
                | "restarts"
                | "restart"
                | "oom"
                | "oomkilled"
                | "inodes"
                | "diskio"
                | "heap"
        )
    })
}

/// A series that carries an SLO computation: a burn rate, an error budget, an SLI or SLO
/// recording rule.
pub fn is_slo_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.contains("burn_rate")
        || lower.contains("burnrate")
        || lower.contains("error_budget")
        || tokens(&lower).any(|t| matches!(t, "slo" | "sli" | "burnrate" | "objective"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(e: &str) -> ExprFacts {
        analyze(e).unwrap_or_else(|err| panic!("{e}: {err}"))
    }

    #[test]
    fn selectors_ranges_and_counter_context() {
        let f = facts(
            r#"sum by (job) (rate(http_requests_total{code=~"5.."}[5m])) / sum by (job) (http_requests_total) > 0.1"#,
        );
        assert!(f.filters);
        assert_eq!(f.selectors.len(), 2);
        assert_eq!(f.selectors[0].name.as_deref(), Some("http_requests_total"));
        assert_eq!(f.selectors[0].range, Some(300.0));
        assert!(f.selectors[0].counter_safe);
        assert_eq!(f.selectors[0].matchers[0].label, "code");
        assert!(!f.selectors[1].counter_safe);
        assert_eq!(f.groupings.len(), 2);
        assert_eq!(f.groupings[0].labels, ["job"]);
        assert_eq!(f.groupings[0].selectors, 0..1);
    }

    #[test]
    fn name_matchers_count_as_names() {
        let f = facts(r#"{__name__="up", job="api"} == 0"#);
        assert_eq!(f.selectors[0].name.as_deref(), Some("up"));
        assert_eq!(f.selectors[0].matchers.len(), 1);
    }

    #[test]
    fn filters() {
        assert!(!facts("rate(x_total[5m])").filters);
        assert!(!facts("rate(x_total[5m]) > bool 1").filters);
        assert!(facts("absent(up{job=\"a\"})").filters);
        assert!(facts("a and b").filters);
        assert!(facts("a unless b").filters);
        assert!(facts("(a > 1) or b").filters);
    }

    #[test]
    fn averages_of_latency() {
        assert!(facts("rate(http_request_duration_seconds_sum[5m]) / rate(http_request_duration_seconds_count[5m]) > 0.5").average_latency);
        assert!(facts("avg(http_request_latency_seconds) > 1").average_latency);
        assert!(facts("avg_over_time(probe_duration_seconds[5m]) > 1").average_latency);
        // not latencies, or not averages
        assert!(
            !facts("rate(response_size_bytes_sum[5m]) / rate(response_size_bytes_count[5m]) > 1e6")
                .average_latency
        );
        assert!(!facts("avg(rate(node_cpu_seconds_total[5m])) > 0.9").average_latency);
        assert!(!facts("histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m]))) > 0.5").average_latency);
    }

    #[test]
    fn slo_based() {
        assert!(
            facts("slo:sli_error:ratio_rate5m{flow=\"checkout\"} > (14.4 * (1 - 0.999))").slo_based
        );
        assert!(facts("x:error_ratio:rate1h > 14.4 * (1 - 0.999)").slo_based);
        assert!(facts("checkout_burn_rate_1h > 14.4").slo_based);
        assert!(!facts("rate(errors_total[5m]) > 1").slo_based);
    }

    #[test]
    fn names() {
        assert!(is_resource_name("node_cpu_seconds_total"));
        assert!(is_resource_name("container_memory_working_set_bytes"));
        assert!(is_resource_name("kube_pod_container_status_restarts_total"));
        assert!(is_resource_name("node_load5"));
        assert!(!is_resource_name("http_requests_total"));
        assert!(is_duration_name("http_server_request_duration_seconds"));
        assert!(!is_duration_name("node_cpu_seconds_total"));
    }

    #[test]
    fn refuses_deep_nesting_and_bad_promql() {
        let deep = format!("{}1{}", "(".repeat(500), ")".repeat(500));
        assert!(analyze(&deep).unwrap_err().contains("nested"));
        assert!(analyze("rate(x[5m]").is_err());
        assert!(analyze("").is_err());
    }
}
