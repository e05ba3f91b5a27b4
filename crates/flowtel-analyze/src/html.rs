//! The HTML report: one self-contained page (inline CSS and SVG, no script, no network fetch)
//! with the service map, and per flow its headline, a critical-path waterfall of a slow trace,
//! the stacked critical-path shares, latency histograms with percentile and budget lines, and
//! the tail drivers.

use std::fmt::Write as _;

use flowtel_conventions::Finding;

use crate::completeness::Completeness;
use crate::critical::TracePath;
use crate::flows::FlowPaths;
use crate::latency::{FlowLatency, LatencyReport};
use crate::map::ServiceMap;
use crate::render::{budgets_text, esc, map_svg, ms};
use crate::trace::{NO_PARENT, TraceSet};

/// What the page shows.
pub struct ReportInput<'a> {
    /// Page title (the conventions' name).
    pub title: &'a str,
    /// The traces.
    pub set: &'a TraceSet,
    /// The overall service map.
    pub map: &'a ServiceMap,
    /// Critical-path aggregates per flow.
    pub flows: &'a [FlowPaths],
    /// Every trace's critical path (indexed by trace).
    pub paths: &'a [TracePath],
    /// Latency per flow and step.
    pub latency: &'a LatencyReport,
    /// Completeness per flow.
    pub completeness: &'a Completeness,
    /// Findings of the run.
    pub findings: &'a [Finding],
}

const PALETTE: [&str; 10] = [
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#bab0ac",
];

const CSS: &str = r#"
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:0;background:#f6f7f9;color:#1d2733}
header{background:#1d2733;color:#fff;padding:18px 32px}
header h1{margin:0 0 4px;font-size:22px}
header p{margin:0;color:#c8d2dc}
main{padding:8px 32px 40px;max-width:1280px}
section{background:#fff;border-radius:10px;box-shadow:0 1px 3px rgba(0,0,0,.12);margin:20px 0;padding:16px 22px}
h2{margin:4px 0 10px;font-size:19px}
h3{margin:18px 0 8px;font-size:15px;color:#3a4a5c}
.headline{font-size:17px;font-weight:600;color:#0b4f8a;margin:6px 0 12px}
.cards{display:flex;gap:12px;flex-wrap:wrap}
.card{background:#f0f4f8;border-radius:8px;padding:8px 14px;min-width:90px}
.card b{display:block;font-size:18px}
.card span{font-size:12px;color:#5a6b7c}
.card.bad{background:#fde0dc}
table{border-collapse:collapse;font-size:13px;margin:6px 0}
th,td{padding:4px 10px;border-bottom:1px solid #e3e8ee;text-align:right}
th:first-child,td:first-child{text-align:left}
tr.over td{background:#fde0dc;font-weight:600}
.finding{margin:4px 0;font-size:13px}
.sev-error,.sev-fatal{color:#b3261e;font-weight:600}
.sev-warning{color:#8a6d00;font-weight:600}
.legend span{display:inline-block;margin-right:14px;font-size:12px}
.legend i{display:inline-block;width:11px;height:11px;margin-right:4px;vertical-align:-1px;border-radius:2px}
svg text{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif}
.scroll{overflow-x:auto}
"#;

/// Renders the page.
pub fn report(input: &ReportInput<'_>) -> String {
    let set = input.set;
    let mut out = String::with_capacity(64 * 1024);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>flowtel report: {}</title><style>{CSS}</style></head><body>\n",
        esc(input.title)
    );
    let partial: u64 = input.completeness.flows.iter().map(|f| f.partial).sum();
    let _ = write!(
        out,
        "<header><h1>Flow report: {}</h1><p>{} traces, {} spans, {} flows; {} partial traces</p></header>\n<main>\n",
        esc(input.title),
        set.traces.len(),
        set.spans.len(),
        input.flows.len(),
        partial
    );
    findings_section(&mut out, input.findings);
    map_section(&mut out, input.map);
    for f in input.flows {
        flow_section(&mut out, input, f);
    }
    out.push_str("</main></body></html>\n");
    out
}

fn findings_section(out: &mut String, findings: &[Finding]) {
    if findings.is_empty() {
        return;
    }
    out.push_str("<section id=\"findings\"><h2>Findings</h2>\n");
    for f in findings.iter().take(50) {
        let _ = writeln!(
            out,
            "<div class=\"finding\"><span class=\"sev-{}\">{}[{}]</span> {}</div>",
            f.severity,
            f.severity,
            f.rule.id,
            esc(&f.message)
        );
    }
    if findings.len() > 50 {
        let _ = writeln!(
            out,
            "<div class=\"finding\">… and {} more</div>",
            findings.len() - 50
        );
    }
    out.push_str("</section>\n");
}

fn map_section(out: &mut String, map: &ServiceMap) {
    out.push_str("<section id=\"map\"><h2>Service dependency map</h2>\n<div class=\"scroll\">");
    out.push_str(&map_svg(map));
    out.push_str("</div><p class=\"legend\"><span><i style=\"background:#4a9a5b\"></i>healthy</span><span><i style=\"background:#f39c12\"></i>over 1% errors or retries over 1.2x</span><span><i style=\"background:#d73027\"></i>over 5% errors</span><span>errors: 5xx answers and failed calls; 4xx answers are the callers' mistakes, counted apart</span><span>↻ retries · amplification</span><span>dashed box: uninstrumented peer</span></p>\n");
    out.push_str("<table><tr><th>caller → callee</th><th>calls</th><th>errors (5xx, failures)</th><th>client errors (4xx)</th><th>P50</th><th>P95</th><th>P99</th><th>retries</th><th>amplification</th></tr>\n");
    for e in &map.edges {
        let _ = writeln!(
            out,
            "<tr{}><td>{} → {}</td><td>{}</td><td>{:.1}%</td><td>{:.1}%</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.2}x</td></tr>",
            if e.flagged || e.health() == "failing" {
                " class=\"over\""
            } else {
                ""
            },
            esc(&e.from),
            esc(&e.to),
            e.calls,
            e.error_rate * 100.0,
            e.client_error_rate * 100.0,
            ms(e.latency.p50),
            ms(e.latency.p95),
            ms(e.latency.p99),
            e.retries,
            e.amplification
        );
    }
    out.push_str("</table></section>\n");
}

fn slug(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

fn flow_section(out: &mut String, input: &ReportInput<'_>, f: &FlowPaths) {
    let lat = input.latency.flows.iter().find(|l| l.flow == f.flow);
    let comp = input.completeness.flows.iter().find(|c| c.flow == f.flow);
    let _ = writeln!(
        out,
        "<section class=\"flow\" id=\"flow-{}\" data-flow=\"{}\"><h2>{}</h2><p class=\"headline\">{}</p>",
        slug(&f.flow),
        esc(&f.flow),
        esc(&f.flow),
        esc(&f.headline)
    );
    out.push_str("<div class=\"cards\">");
    let slo_over = lat.and_then(|l| l.slo.as_ref()).is_some_and(|s| s.over);
    for (label, v, bad) in [
        ("traces", f.traces.to_string(), false),
        ("P50", ms(f.duration.p50), false),
        ("P95", ms(f.duration.p95), false),
        ("P99", ms(f.duration.p99), slo_over),
        ("max", ms(f.duration.max), false),
        (
            "complete traces",
            comp.map_or("-".into(), |c| {
                format!("{:.1}%", c.complete_ratio() * 100.0)
            }),
            comp.is_some_and(|c| c.partial > 0),
        ),
    ] {
        let _ = write!(
            out,
            "<div class=\"card{}\"><b>{}</b><span>{}</span></div>",
            if bad { " bad" } else { "" },
            esc(&v),
            label
        );
    }
    if let Some(slo) = lat.and_then(|l| l.slo.as_ref()) {
        let _ = write!(
            out,
            "<div class=\"card{}\"><b>{:.1}%</b><span>under SLO {} (target {}%)</span></div>",
            if slo.over { " bad" } else { "" },
            slo.under_percent,
            ms(slo.threshold_ns),
            slo.target
        );
    }
    out.push_str("</div>\n");
    if let Some(t) = f.representative {
        let trace = &input.set.traces[t as usize];
        let _ = writeln!(
            out,
            "<h3>Critical path of a slow trace (P97): {} · {}</h3>",
            trace.trace_id,
            ms(input.set.root_of(trace).duration())
        );
        if let Some(p) = input.paths.iter().find(|p| p.trace == t) {
            out.push_str(&waterfall(input.set, p));
        }
    }
    out.push_str("<h3>Share of critical-path time around P50, P95 and P99</h3>\n");
    out.push_str(&shares(f));
    if let Some(l) = lat {
        out.push_str("<h3>Latency distribution</h3>\n");
        out.push_str(&histogram(
            &l.samples,
            &[
                ("P50", l.latency.p50, "#555"),
                ("P95", l.latency.p95, "#b35c00"),
                ("P99", l.latency.p99, "#b3261e"),
            ],
            l.slo
                .as_ref()
                .map(|s| (format!("SLO {}", ms(s.threshold_ns)), s.threshold_ns)),
        ));
        steps_table(out, l);
    }
    let drivers: Vec<_> = f.tail_drivers.iter().take(5).collect();
    if !drivers.is_empty() {
        out.push_str("<h3>Tail drivers: median traces against traces above P95</h3><table><tr><th>step</th><th>service</th><th>median</th><th>tail</th><th>growth</th><th>share of growth</th><th>share of tail</th></tr>\n");
        for d in drivers {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}{}</td><td>{:.0}%</td><td>{:.0}%</td></tr>",
                esc(&d.step),
                esc(&d.service),
                ms(d.median_ns),
                ms(d.tail_ns),
                if d.growth_ns < 0 { "−" } else { "+" },
                ms(d.growth_ns.unsigned_abs()),
                d.growth_share * 100.0,
                d.tail_share * 100.0
            );
        }
        out.push_str("</table>\n");
    }
    out.push_str("</section>\n");
}

fn steps_table(out: &mut String, l: &FlowLatency) {
    if l.steps.is_empty() {
        return;
    }
    out.push_str("<table><tr><th>step</th><th>service</th><th>count</th><th>P50</th><th>P95</th><th>P99</th><th>max</th><th>budget</th></tr>\n");
    for s in &l.steps {
        let over = s.budgets.iter().any(|b| b.over);
        let budgets = budgets_text(&s.budgets, " ✗", " ✓");
        let _ = writeln!(
            out,
            "<tr{}><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            if over { " class=\"over\"" } else { "" },
            esc(&s.step),
            esc(&s.service),
            s.latency.count,
            ms(s.latency.p50),
            ms(s.latency.p95),
            ms(s.latency.p99),
            ms(s.latency.max),
            esc(&budgets)
        );
    }
    out.push_str("</table>\n");
    for s in l
        .steps
        .iter()
        .filter(|s| !s.budgets.is_empty() && !s.samples.is_empty())
    {
        let _ = writeln!(out, "<h3>{} on {}</h3>", esc(&s.step), esc(&s.service));
        let lines: Vec<(&str, u64, &str)> = vec![
            ("P50", s.latency.p50, "#555"),
            ("P95", s.latency.p95, "#b35c00"),
            ("P99", s.latency.p99, "#b3261e"),
        ];
        let budget = s.budgets.iter().max_by_key(|b| b.budget_ns).map(|b| {
            (
                format!("budget {} {}", b.quantile.to_uppercase(), ms(b.budget_ns)),
                b.budget_ns,
            )
        });
        out.push_str(&histogram(&s.samples, &lines, budget));
    }
}

/// The spans of a trace as bars (indented by depth), critical-path segments drawn over them.
fn waterfall(set: &TraceSet, path: &TracePath) -> String {
    const MAX_ROWS: usize = 60;
    let trace = &set.traces[path.trace as usize];
    let spans = set.spans_of(trace);
    let root = set.root_of(trace);
    let (t0, t1) = (root.start, root.end.max(root.start + 1));
    let base = trace.spans.start;
    // Depth of each span.
    let depth: Vec<usize> = spans
        .iter()
        .map(|s| {
            let mut d = 0;
            let mut p = s.parent;
            while p != NO_PARENT && d < 64 {
                d += 1;
                p = set.spans[p as usize].parent;
            }
            d
        })
        .collect();
    let on_path: std::collections::HashSet<u32> = path.segments.iter().map(|g| g.span).collect();
    let mut rows: Vec<usize> = (0..spans.len()).collect();
    if rows.len() > MAX_ROWS {
        // Keep the spans on the path, then the earliest others.
        rows.sort_by_key(|&i| (!on_path.contains(&(base + i as u32)), i));
        rows.truncate(MAX_ROWS);
        rows.sort_unstable();
    }
    let label_w = 300.0;
    let chart_w = 760.0;
    let row_h = 20.0;
    let h = 30.0 + rows.len() as f64 * row_h;
    let x = |t: u64| label_w + (t.clamp(t0, t1) - t0) as f64 / (t1 - t0) as f64 * chart_w;
    let mut out = format!(
        "<div class=\"scroll\"><svg xmlns=\"http://www.w3.org/2000/svg\" class=\"waterfall\" width=\"{:.0}\" height=\"{h:.0}\" font-size=\"11\">\n",
        label_w + chart_w + 20.0
    );
    for k in 0..=4 {
        let t = t0 + (t1 - t0) * k / 4;
        let _ = writeln!(
            out,
            "<line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"14\" y2=\"{h:.0}\" stroke=\"#e3e8ee\"/><text x=\"{0:.1}\" y=\"11\" text-anchor=\"middle\" fill=\"#667\">{1}</text>",
            x(t),
            esc(&ms(t - t0))
        );
    }
    let mut colour_of: Vec<(crate::strings::Sym, &str)> = Vec::new();
    for (row, &i) in rows.iter().enumerate() {
        let s = &spans[i];
        let y = 20.0 + row as f64 * row_h;
        let colour = match colour_of.iter().find(|(k, _)| *k == s.service) {
            Some((_, c)) => *c,
            None => {
                let c = PALETTE[colour_of.len() % PALETTE.len()];
                colour_of.push((s.service, c));
                c
            }
        };
        let label = format!("{} {}", set.str(s.service), set.str(s.step_or_name()));
        let _ = writeln!(
            out,
            "<g class=\"span\"><title>{} · {} · {}</title><text x=\"{:.0}\" y=\"{:.0}\" fill=\"#234\">{}</text><rect x=\"{:.1}\" y=\"{:.0}\" width=\"{:.1}\" height=\"12\" rx=\"2\" fill=\"{colour}\" opacity=\"0.35\"/></g>",
            esc(&label),
            esc(&ms(s.duration())),
            if s.is_error() { "error" } else { "ok" },
            4.0 + depth[i].min(12) as f64 * 10.0,
            y + 10.0,
            esc(&truncate(&label, 40)),
            x(s.start),
            y,
            (x(s.end) - x(s.start)).max(1.0),
        );
        for g in path.segments.iter().filter(|g| g.span == base + i as u32) {
            let _ = writeln!(
                out,
                "<rect class=\"critical\" x=\"{:.1}\" y=\"{:.0}\" width=\"{:.1}\" height=\"12\" fill=\"{colour}\"><title>on the critical path: {}</title></rect>",
                x(g.start),
                y,
                (x(g.end) - x(g.start)).max(1.0),
                esc(&ms(g.duration()))
            );
        }
    }
    out.push_str("</svg></div>\n<p class=\"legend\"><span>pale bar: span</span><span>solid: on the critical path</span></p>\n");
    out
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n - 1).collect();
        t.push('…');
        t
    }
}

/// Three stacked bars (P50, P95, P99) of the steps' shares.
fn shares(f: &FlowPaths) -> String {
    const TOP: usize = 8;
    let w = 760.0;
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"shares\" width=\"{:.0}\" height=\"120\" font-size=\"11\">\n",
        w + 60.0
    );
    let steps: Vec<_> = f.steps.iter().take(TOP).collect();
    for (row, (label, pick)) in [
        (
            "P50",
            (|s: &crate::flows::Share| s.p50) as fn(&crate::flows::Share) -> f64,
        ),
        ("P95", |s| s.p95),
        ("P99", |s| s.p99),
    ]
    .into_iter()
    .enumerate()
    {
        let y = 8.0 + row as f64 * 34.0;
        let _ = writeln!(
            out,
            "<text x=\"0\" y=\"{:.0}\" font-weight=\"bold\">{label}</text>",
            y + 17.0
        );
        let mut x = 40.0;
        for (i, s) in steps.iter().enumerate() {
            let part = pick(s) * w;
            if part <= 0.0 {
                continue;
            }
            let _ = writeln!(
                out,
                "<rect x=\"{x:.1}\" y=\"{y:.0}\" width=\"{part:.1}\" height=\"26\" fill=\"{}\"><title>{} on {}: {:.0}%</title></rect>",
                PALETTE[i % PALETTE.len()],
                esc(s.step.as_deref().unwrap_or("")),
                esc(&s.service),
                pick(s) * 100.0
            );
            if part > 40.0 {
                let _ = writeln!(
                    out,
                    "<text x=\"{:.1}\" y=\"{:.0}\" fill=\"#fff\" text-anchor=\"middle\">{:.0}%</text>",
                    x + part / 2.0,
                    y + 17.0,
                    pick(s) * 100.0
                );
            }
            x += part;
        }
        let rest = 40.0 + w - x;
        if rest > 0.5 {
            let _ = writeln!(
                out,
                "<rect x=\"{x:.1}\" y=\"{y:.0}\" width=\"{rest:.1}\" height=\"26\" fill=\"#ccc\"><title>other steps</title></rect>"
            );
        }
    }
    out.push_str("</svg>\n<p class=\"legend\">");
    for (i, s) in steps.iter().enumerate() {
        let _ = write!(
            out,
            "<span><i style=\"background:{}\"></i>{} on {}</span>",
            PALETTE[i % PALETTE.len()],
            esc(s.step.as_deref().unwrap_or("")),
            esc(&s.service)
        );
    }
    if f.steps.len() > TOP {
        out.push_str("<span><i style=\"background:#ccc\"></i>other</span>");
    }
    out.push_str("</p>\n");
    out
}

/// A histogram of `samples` (sorted, ns) with vertical lines for the percentiles and a budget.
fn histogram(
    samples: &[u64],
    lines: &[(&str, u64, &str)],
    budget: Option<(String, u64)>,
) -> String {
    const BINS: usize = 40;
    let (w, h) = (760.0, 150.0);
    let top = samples.last().copied().unwrap_or(1);
    let hi = budget
        .as_ref()
        .map_or(top, |(_, b)| top.max(b + b / 10))
        .max(1);
    let mut counts = [0u64; BINS];
    for &v in samples {
        let b = ((v as f64 / hi as f64) * BINS as f64) as usize;
        counts[b.min(BINS - 1)] += 1;
    }
    let max = counts.iter().copied().max().unwrap_or(1).max(1);
    let x = |v: u64| 40.0 + v as f64 / hi as f64 * w;
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"histogram\" width=\"{:.0}\" height=\"{:.0}\" font-size=\"11\">\n",
        w + 80.0,
        h + 40.0
    );
    let bw = w / BINS as f64;
    for (i, &c) in counts.iter().enumerate() {
        if c == 0 {
            continue;
        }
        let bh = c as f64 / max as f64 * h;
        let _ = writeln!(
            out,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{bh:.1}\" fill=\"#7aa6d6\"><title>{} to {}: {c}</title></rect>",
            40.0 + i as f64 * bw,
            20.0 + h - bh,
            bw - 1.0,
            esc(&ms(hi * i as u64 / BINS as u64)),
            esc(&ms(hi * (i as u64 + 1) / BINS as u64))
        );
    }
    let _ = writeln!(
        out,
        "<line x1=\"40\" x2=\"{:.0}\" y1=\"{:.0}\" y2=\"{:.0}\" stroke=\"#889\"/>",
        40.0 + w,
        20.0 + h,
        20.0 + h
    );
    for k in 0..=4 {
        let v = hi * k / 4;
        let _ = writeln!(
            out,
            "<text x=\"{:.1}\" y=\"{:.0}\" text-anchor=\"middle\" fill=\"#667\">{}</text>",
            x(v),
            h + 34.0,
            esc(&ms(v))
        );
    }
    for (i, (label, v, colour)) in lines.iter().enumerate() {
        let _ = writeln!(
            out,
            "<line class=\"quantile\" x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"16\" y2=\"{1:.0}\" stroke=\"{colour}\" stroke-width=\"1.5\"/><text x=\"{2:.1}\" y=\"{3:.0}\" fill=\"{colour}\">{label} {4}</text>",
            x(*v),
            20.0 + h,
            x(*v) + 3.0,
            12.0 + i as f64 * 12.0,
            esc(&ms(*v))
        );
    }
    if let Some((label, b)) = budget {
        let _ = writeln!(
            out,
            "<line class=\"budget\" x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"10\" y2=\"{1:.0}\" stroke=\"#d73027\" stroke-width=\"2\" stroke-dasharray=\"6 3\"/><text x=\"{0:.1}\" y=\"{2:.0}\" fill=\"#d73027\" text-anchor=\"end\" font-weight=\"bold\">{3}</text>",
            x(b),
            20.0 + h,
            18.0 + h / 2.0,
            esc(&label)
        );
    }
    out.push_str("</svg>\n");
    out
}
