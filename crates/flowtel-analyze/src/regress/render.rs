//! The regression report for people (a table and one reason line per flow and step), for a
//! pull-request comment (Markdown), for scripts (the JSON document of DESIGN.md with the report
//! under `regress`) and for code-scanning UIs (SARIF, one result per flow or step that is not a
//! pass, the report as a run property).

use std::fmt::Write as _;

use flowtel_conventions::output::findings::{json_value, sarif_value};
use flowtel_conventions::{Finding, Summary};

use super::verdict::{Interval, Verdict, fmt_duration};
use super::{GroupResult, RegressReport};

fn tag(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "PASS",
        Verdict::Marginal => "MARGINAL",
        Verdict::Fail => "FAIL",
        Verdict::InsufficientData => "NO DATA",
    }
}

fn paint(on: bool, v: Verdict, text: &str) -> String {
    if !on {
        return text.to_string();
    }
    let code = match v {
        Verdict::Pass => "32",
        Verdict::Marginal | Verdict::InsufficientData => "33",
        Verdict::Fail => "1;31",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

fn q(before: &Interval, after: &Interval) -> String {
    format!(
        "{} → {}",
        fmt_duration(before.value),
        fmt_duration(after.value)
    )
}

fn sides_line(r: &RegressReport) -> String {
    let side = |s: &super::SideInfo| {
        let n = s.inputs.len();
        let mut t = format!("{n} input{}", if n == 1 { "" } else { "s" });
        if s.spans_read > 0 {
            let _ = write!(t, ", {} spans ({} used)", s.spans_read, s.spans_used);
        }
        if s.histogram_points > 0 {
            let _ = write!(t, ", {} histogram points", s.histogram_points);
        }
        t
    };
    format!("before: {}; after: {}", side(&r.before), side(&r.after))
}

fn verdict_line(r: &RegressReport) -> String {
    let v = r.verdicts;
    format!(
        "{} fail, {} marginal, {} pass, {} insufficient data",
        v.fail, v.marginal, v.pass, v.insufficient_data
    )
}

/// The human report: per flow and step its verdict, sample counts, P50/P95/P99 before → after
/// and the reason; then the totals.
pub fn human(r: &RegressReport, color: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "flowtel regress: {}\n", sides_line(r));
    let width = r
        .groups
        .iter()
        .map(|g| g.subject().chars().count())
        .max()
        .unwrap_or(0);
    for g in &r.groups {
        let a = &g.assessment;
        let _ = writeln!(
            out,
            "{} {:<width$}  n {} → {}  P50 {}  P95 {}  P99 {}",
            paint(color, a.verdict, &format!("{:<8}", tag(a.verdict))),
            g.subject(),
            a.before.count,
            a.after.count,
            q(&a.before.p50, &a.after.p50),
            q(&a.before.p95, &a.after.p95),
            q(&a.before.p99, &a.after.p99),
        );
        let _ = writeln!(out, "         {}", g.reason);
        if let Some(note) = &g.note {
            let _ = writeln!(out, "         note: {note}");
        }
    }
    let _ = writeln!(out, "\nflowtel regress: {}", verdict_line(r));
    out
}

fn md_escape(s: &str) -> String {
    s.replace('|', "\\|")
}

fn thresholds_line(g: &GroupResult) -> String {
    let t = &g.thresholds;
    format!(
        "{}% confidence, fail at +{}% and +{}, at least {} samples a side",
        t.confidence,
        t.max_increase,
        fmt_duration(t.min_delta_seconds),
        t.min_samples
    )
}

/// Markdown for a pull-request comment: the verdict, a table of every flow and step, and the
/// method in a closing paragraph.
pub fn markdown(r: &RegressReport) -> String {
    let mut out = String::new();
    let headline = if r.verdicts.fail > 0 {
        "❌ latency regression"
    } else if r.verdicts.marginal > 0 || r.verdicts.insufficient_data > 0 {
        "⚠️ no regression over the thresholds, with warnings"
    } else {
        "✅ no latency regression"
    };
    let _ = writeln!(out, "### flowtel regress: {headline}\n");
    let _ = writeln!(out, "{}. {}.\n", verdict_line(r), sides_line(r));
    let _ = writeln!(
        out,
        "| verdict | flow / step | samples | P50 | P95 | P99 | reason |"
    );
    let _ = writeln!(out, "|---|---|---:|---:|---:|---:|---|");
    for g in &r.groups {
        let a = &g.assessment;
        let _ = writeln!(
            out,
            "| {} | `{}` | {} → {} | {} | {} | {} | {} |",
            a.verdict.as_str(),
            g.subject(),
            a.before.count,
            a.after.count,
            q(&a.before.p50, &a.after.p50),
            q(&a.before.p95, &a.after.p95),
            q(&a.before.p99, &a.after.p99),
            md_escape(&g.reason)
        );
    }
    let notes: Vec<&str> = r.groups.iter().filter_map(|g| g.note.as_deref()).collect();
    out.push('\n');
    if let Some(g) = r.groups.first() {
        let _ = writeln!(
            out,
            "Method: Mann-Whitney U with the Hodges-Lehmann shift for the median, order-statistic intervals for P95 and P99 (intervals of one flow or step hold together at the confidence level); budgets and SLO thresholds from the conventions are an absolute bar. Thresholds: {}.",
            thresholds_line(g)
        );
    }
    if !notes.is_empty() {
        let _ = writeln!(
            out,
            "\nHistogram inputs: quantiles are estimated from buckets as Prometheus' `histogram_quantile` does; the resolution is the bucket layout."
        );
    }
    out
}

fn pretty(doc: &serde_json::Value) -> String {
    let mut out = serde_json::to_string_pretty(doc).unwrap_or_default();
    out.push('\n');
    out
}

/// The JSON document: DESIGN.md's `tool`, `version`, `summary`, `findings`, and the report
/// under `regress`.
pub fn json(r: &RegressReport, findings: &[Finding]) -> String {
    let mut doc = json_value(findings);
    doc["regress"] = serde_json::to_value(r).unwrap_or_default();
    pretty(&doc)
}

/// SARIF 2.1.0: one result per flow or step that is not a pass, the report as a run property.
pub fn sarif(r: &RegressReport, findings: &[Finding]) -> String {
    let mut doc = sarif_value(findings);
    doc["runs"][0]["properties"]["regress"] = serde_json::to_value(r).unwrap_or_default();
    pretty(&doc)
}

/// Counts, as in the JSON summary.
pub fn summary(findings: &[Finding]) -> Summary {
    Summary::of(findings)
}
