//! Rendering of the analyses: human text, Mermaid, Graphviz DOT and SVG. Every function takes
//! the plain data the analyses produce ([`ServiceMap`], [`FlowPaths`], [`LatencyReport`]) and
//! returns text; JSON is their `serde` form. The HTML report is [`crate::html`].
//!
//! [`MapOutput`] plugs `flowtel map` into the output layer ([`flowtel_conventions::output`]):
//! its every format (human, JSON, SARIF, Mermaid, DOT, SVG) is one [`Render`] implementation,
//! so the command only chooses.

use std::fmt::Write as _;

use flowtel_conventions::Finding;
use flowtel_conventions::output::{Format, Render, RenderOptions, Unsupported};
use flowtel_conventions::report::{Findings, Section};

use crate::flows::FlowPaths;
use crate::latency::{BudgetCheck, LatencyReport};
use crate::map::{Edge, ServiceMap};
use crate::trace::SampledInput;

/// What `flowtel map` prints: the maps (the first is the overall map, or the chosen flow's),
/// what the input says about sampling, and the findings (settled), in every format the command
/// writes. The diagram formats (Mermaid, DOT, SVG) are the diagram alone, so they can be piped
/// to a renderer; the findings and the sampling note then belong on stderr.
#[derive(Debug, Clone, Copy)]
pub struct MapOutput<'a> {
    /// The maps; Mermaid and DOT draw them all (one subgraph each), SVG the first.
    pub maps: &'a [ServiceMap],
    /// Sampling of the input, when any trace was sampled.
    pub sampled: Option<SampledInput>,
    /// Findings to report beside the maps (amplified retries, partial traces, input errors).
    pub findings: &'a [Finding],
}

impl MapOutput<'_> {
    fn sections(&self) -> Vec<Section> {
        let mut sections = vec![Section {
            key: "maps",
            value: serde_json::to_value(self.maps).unwrap_or_default(),
            human: String::new(),
        }];
        if let Some(s) = self.sampled {
            sections.push(Section {
                key: "sampling",
                value: serde_json::to_value(s).unwrap_or_default(),
                human: String::new(),
            });
        }
        sections
    }
}

impl Render for MapOutput<'_> {
    fn render(&self, format: Format, opts: &RenderOptions<'_>) -> Result<String, Unsupported> {
        fn findings<'s>(list: &'s [Finding], sections: &'s [Section]) -> Findings<'s> {
            Findings {
                list,
                max_examples: Some(3),
                sections,
            }
        }
        match format {
            Format::Human => {
                let mut out = map_human(self.maps);
                if let Some(s) = &self.sampled {
                    out.push_str(&s.note());
                    out.push('\n');
                }
                if !self.findings.is_empty() {
                    out.push_str(&findings(self.findings, &[]).render(Format::Human, opts)?);
                }
                Ok(out)
            }
            Format::Json | Format::Sarif => {
                findings(self.findings, &self.sections()).render(format, opts)
            }
            Format::Mermaid => Ok(map_mermaid(self.maps)),
            Format::Dot => Ok(map_dot(self.maps)),
            Format::Svg => match self.maps.first() {
                Some(m) => Ok(map_svg(m)),
                None => Err(Unsupported(format)),
            },
            other => Err(Unsupported(other)),
        }
    }
}

/// A step's budgets as one line (`P95 250 ms OVER, P99 400 ms`), each marked `over` or `met`.
pub fn budgets_text(budgets: &[BudgetCheck], over: &str, met: &str) -> String {
    let parts: Vec<String> = budgets
        .iter()
        .map(|b| {
            format!(
                "{} {}{}",
                b.quantile.to_uppercase(),
                ms(b.budget_ns),
                if b.over { over } else { met }
            )
        })
        .collect();
    parts.join(", ")
}

/// A duration in nanoseconds for people: `812 ms`, `1.24 s`, `0.35 ms`, `12 us`.
pub fn ms(ns: u64) -> String {
    let ms = ns as f64 / 1e6;
    if ns >= 10_000_000_000 {
        format!("{:.1} s", ms / 1e3)
    } else if ns >= 1_000_000_000 {
        format!("{:.2} s", ms / 1e3)
    } else if ns >= 10_000_000 {
        format!("{ms:.0} ms")
    } else if ns >= 1_000_000 {
        format!("{ms:.1} ms")
    } else if ns >= 10_000 {
        format!("{ms:.2} ms")
    } else {
        format!("{} us", ns / 1_000)
    }
}

fn pct(x: f64) -> String {
    format!("{:.0}%", x * 100.0)
}

/// Escapes text for XML/HTML.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn edge_label(e: &Edge) -> String {
    let mut l = format!(
        "{} calls, {} err, p95 {}",
        e.calls,
        pct(e.error_rate),
        ms(e.latency.p95)
    );
    if e.client_errors > 0 {
        let _ = write!(l, ", {} 4xx", pct(e.client_error_rate));
    }
    if e.retries > 0 {
        let _ = write!(l, ", {} retries ({:.2}x)", e.retries, e.amplification);
    }
    l
}

/// `" (sampled: ~N traces)"` when sampled traces stand for more than were read.
fn sampled_suffix(traces: u64, estimated: u64) -> String {
    if estimated == traces {
        String::new()
    } else {
        format!(" (sampled: they stand for ~{estimated}; counts weighed back)")
    }
}

/// The maps as text: one block per map, an edge per line.
pub fn map_human(maps: &[ServiceMap]) -> String {
    let mut out = String::new();
    for m in maps {
        let title = m.flow.as_deref().unwrap_or("all flows");
        let _ = writeln!(
            out,
            "{title}: {} services, {} edges, {} traces{}",
            m.nodes.iter().filter(|n| !n.is_virtual).count(),
            m.edges.len(),
            m.traces,
            sampled_suffix(m.traces, m.estimated_traces)
        );
        for e in &m.edges {
            let mark = if e.flagged {
                "  << retries amplify load"
            } else if e.health() != "ok" {
                "  << unhealthy"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "  {} -> {}{}  {} calls  errors {}  4xx {}  p50 {}  p95 {}  p99 {}  retries {} ({:.2}x){mark}",
                e.from,
                e.to,
                if m.nodes.iter().any(|n| n.name == e.to && n.is_virtual) {
                    " (uninstrumented)"
                } else {
                    ""
                },
                e.calls,
                pct(e.error_rate),
                pct(e.client_error_rate),
                ms(e.latency.p50),
                ms(e.latency.p95),
                ms(e.latency.p99),
                e.retries,
                e.amplification
            );
        }
        out.push('\n');
    }
    out
}

fn mermaid_id(name: &str) -> String {
    let mut id = String::from("n_");
    id.extend(
        name.chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }),
    );
    id
}

/// The maps as Mermaid flowcharts (one per map).
pub fn map_mermaid(maps: &[ServiceMap]) -> String {
    let mut out = String::new();
    for m in maps {
        let _ = writeln!(
            out,
            "---\ntitle: {}\n---",
            m.flow.as_deref().unwrap_or("all flows")
        );
        out.push_str("flowchart LR\n");
        for n in &m.nodes {
            let label = n.name.replace('"', "'");
            if n.is_virtual {
                let _ = writeln!(out, "  {}[(\"{label}\")]", mermaid_id(&n.name));
            } else {
                let _ = writeln!(out, "  {}[\"{label}\"]", mermaid_id(&n.name));
            }
        }
        for (i, e) in m.edges.iter().enumerate() {
            let arrow = if e.kind == "message" { "-.->" } else { "-->" };
            let _ = writeln!(
                out,
                "  {} {arrow}|\"{}\"| {}",
                mermaid_id(&e.from),
                edge_label(e),
                mermaid_id(&e.to)
            );
            let colour = match (e.flagged, e.health()) {
                (_, "failing") => Some("#d73027"),
                (true, _) | (_, "degraded") => Some("#f39c12"),
                _ => None,
            };
            if let Some(c) = colour {
                let _ = writeln!(out, "  linkStyle {i} stroke:{c},stroke-width:3px");
            }
        }
        out.push('\n');
    }
    out
}

fn dot_str(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The maps as one Graphviz DOT digraph (a cluster per map).
pub fn map_dot(maps: &[ServiceMap]) -> String {
    let mut out = String::from(
        "digraph flowtel {\n  rankdir=LR;\n  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n",
    );
    for (k, m) in maps.iter().enumerate() {
        let title = m.flow.as_deref().unwrap_or("all flows");
        let _ = writeln!(
            out,
            "  subgraph cluster_{k} {{\n    label={};",
            dot_str(title)
        );
        for n in &m.nodes {
            let _ = writeln!(
                out,
                "    {} [label={}{}];",
                dot_str(&format!("{k}:{}", n.name)),
                dot_str(&n.name),
                if n.is_virtual {
                    ", shape=cylinder, style=dashed"
                } else {
                    ""
                }
            );
        }
        for e in &m.edges {
            let colour = match (e.flagged, e.health()) {
                (_, "failing") => "#d73027",
                (true, _) | (_, "degraded") => "#f39c12",
                _ => "#4a7",
            };
            let _ = writeln!(
                out,
                "    {} -> {} [label={}, color={}{}];",
                dot_str(&format!("{k}:{}", e.from)),
                dot_str(&format!("{k}:{}", e.to)),
                dot_str(&edge_label(e)),
                dot_str(colour),
                if e.kind == "message" {
                    ", style=dashed"
                } else {
                    ""
                }
            );
        }
        out.push_str("  }\n");
    }
    out.push_str("}\n");
    out
}

/// Node positions of a layered left-to-right layout: layer by longest path from the callers,
/// order within a layer by name. Returns `(x, y)` per node and the canvas size.
fn layout(m: &ServiceMap) -> (Vec<(f64, f64)>, f64, f64) {
    let n = m.nodes.len();
    let index = |name: &str| m.nodes.iter().position(|x| x.name == name);
    let mut layer = vec![0usize; n];
    // Longest path, bounded by n rounds so cycles terminate.
    for _ in 0..n {
        let mut changed = false;
        for e in &m.edges {
            if let (Some(a), Some(b)) = (index(&e.from), index(&e.to))
                && a != b
                && layer[b] < layer[a] + 1
                && layer[a] + 1 < n
            {
                layer[b] = layer[a] + 1;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    let layers = layer.iter().max().map_or(1, |m| m + 1);
    let mut rows = vec![0usize; layers];
    let mut pos = vec![(0.0, 0.0); n];
    for i in 0..n {
        let l = layer[i];
        pos[i] = (40.0 + l as f64 * 360.0, 40.0 + rows[l] as f64 * 110.0);
        rows[l] += 1;
    }
    let height = 40.0 + rows.iter().max().copied().unwrap_or(1) as f64 * 110.0;
    let width = 40.0 + layers as f64 * 360.0 - 160.0;
    (pos, width, height)
}

const NODE_W: f64 = 160.0;
const NODE_H: f64 = 44.0;

/// The map as a standalone SVG: services as boxes (virtual peers dashed), edges coloured by
/// health (green, amber over 1% errors or flagged retries, red over 5% errors), labelled with
/// calls, errors, P95 and retries.
pub fn map_svg(m: &ServiceMap) -> String {
    let (pos, w, h) = layout(m);
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"service-map\" viewBox=\"0 0 {w:.0} {h:.0}\" width=\"{w:.0}\" height=\"{h:.0}\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"12\">\n<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#555\"/></marker></defs>\n"
    );
    let index = |name: &str| m.nodes.iter().position(|x| x.name == name);
    for e in &m.edges {
        let (Some(a), Some(b)) = (index(&e.from), index(&e.to)) else {
            continue;
        };
        let colour = match (e.flagged, e.health()) {
            (_, "failing") => "#d73027",
            (true, _) | (_, "degraded") => "#f39c12",
            _ => "#4a9a5b",
        };
        let (ax, ay) = (pos[a].0 + NODE_W, pos[a].1 + NODE_H / 2.0);
        let (bx, by) = (pos[b].0, pos[b].1 + NODE_H / 2.0);
        let path = if a == b || bx <= ax {
            // Back edge or self call: loop under the boxes.
            let (sx, sy) = (pos[a].0 + NODE_W / 2.0, pos[a].1 + NODE_H);
            let (tx, ty) = (pos[b].0 + NODE_W / 2.0, pos[b].1 + NODE_H);
            format!(
                "M{sx:.0},{sy:.0} C{sx:.0},{:.0} {tx:.0},{:.0} {tx:.0},{ty:.0}",
                sy + 60.0,
                ty + 60.0
            )
        } else {
            let mx = (ax + bx) / 2.0;
            format!("M{ax:.0},{ay:.0} C{mx:.0},{ay:.0} {mx:.0},{by:.0} {bx:.0},{by:.0}")
        };
        let dash = if e.kind == "message" {
            " stroke-dasharray=\"6 4\""
        } else {
            ""
        };
        let width = 1.5 + (e.calls as f64).log10().max(0.0);
        let _ = writeln!(
            out,
            "<g class=\"edge\" data-from=\"{}\" data-to=\"{}\" data-health=\"{}\" data-retries=\"{}\"><title>{} -> {}: {}</title><path d=\"{path}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"{width:.1}\"{dash} marker-end=\"url(#arrow)\"/>",
            esc(&e.from),
            esc(&e.to),
            e.health(),
            e.retries,
            esc(&e.from),
            esc(&e.to),
            esc(&edge_label(e))
        );
        let (lx, ly) = if a == b || bx <= ax {
            (
                (pos[a].0 + pos[b].0) / 2.0 + NODE_W / 2.0,
                pos[a].1.max(pos[b].1) + NODE_H + 52.0,
            )
        } else {
            ((ax + bx) / 2.0, (ay + by) / 2.0 - 8.0)
        };
        let _ = writeln!(
            out,
            "<text x=\"{lx:.0}\" y=\"{ly:.0}\" text-anchor=\"middle\" fill=\"#333\">{} calls · {} err{} · p95 {}</text>",
            e.calls,
            pct(e.error_rate),
            if e.client_errors > 0 {
                format!(" · {} 4xx", pct(e.client_error_rate))
            } else {
                String::new()
            },
            esc(&ms(e.latency.p95))
        );
        if e.retries > 0 {
            let _ = writeln!(
                out,
                "<text class=\"retries\" x=\"{lx:.0}\" y=\"{:.0}\" text-anchor=\"middle\" fill=\"{}\" font-weight=\"bold\">↻ {} retries · {:.2}x</text>",
                ly + 15.0,
                if e.flagged { "#d73027" } else { "#8a6d00" },
                e.retries,
                e.amplification
            );
        }
        out.push_str("</g>\n");
    }
    for (i, n) in m.nodes.iter().enumerate() {
        let (x, y) = pos[i];
        let (fill, stroke, dash) = if n.is_virtual {
            ("#f4f4f4", "#888", " stroke-dasharray=\"4 3\"")
        } else if n.errors > 0 && n.errors * 20 > n.spans {
            ("#fde0dc", "#d73027", "")
        } else {
            ("#e8f1fb", "#2f6ea8", "")
        };
        let _ = writeln!(
            out,
            "<g class=\"node\" data-service=\"{}\" data-virtual=\"{}\"><rect x=\"{x:.0}\" y=\"{y:.0}\" width=\"{NODE_W}\" height=\"{NODE_H}\" rx=\"8\" fill=\"{fill}\" stroke=\"{stroke}\" stroke-width=\"1.5\"{dash}/><text x=\"{:.0}\" y=\"{:.0}\" text-anchor=\"middle\" font-size=\"14\" font-weight=\"bold\" fill=\"#123\">{}</text><text x=\"{:.0}\" y=\"{:.0}\" text-anchor=\"middle\" fill=\"#567\">{}</text></g>",
            esc(&n.name),
            n.is_virtual,
            x + NODE_W / 2.0,
            y + 19.0,
            esc(&n.name),
            x + NODE_W / 2.0,
            y + 35.0,
            if n.is_virtual {
                "uninstrumented".to_string()
            } else {
                format!("{} spans, {} errors", n.spans, n.errors)
            }
        );
    }
    out.push_str("</svg>\n");
    out
}

/// The critical-path aggregates for people: the headline first, then shares and tail drivers.
pub fn critical_human(flows: &[FlowPaths]) -> String {
    let mut out = String::new();
    for f in flows {
        let _ = writeln!(out, "{}", f.headline);
        let _ = writeln!(
            out,
            "  {} traces{}; duration P50 {}, P95 {}, P99 {}, max {}",
            f.traces,
            sampled_suffix(f.traces, f.estimated_traces),
            ms(f.duration.p50),
            ms(f.duration.p95),
            ms(f.duration.p99),
            ms(f.duration.max)
        );
        if let Some(t) = &f.representative_trace {
            let _ = writeln!(out, "  slow trace to look at (P97): {t}");
        }
        let width = f
            .steps
            .iter()
            .map(|s| s.service.len() + s.step.as_deref().unwrap_or("").len() + 1)
            .max()
            .unwrap_or(10)
            .max(20);
        let _ = writeln!(
            out,
            "  share of critical path   {:>w$}  {:>5} {:>5} {:>5}",
            "",
            "P50",
            "P95",
            "P99",
            w = width.saturating_sub(22)
        );
        for s in f.services.iter().take(8) {
            let _ = writeln!(
                out,
                "    {:<width$}  {:>5} {:>5} {:>5}",
                s.service,
                pct(s.p50),
                pct(s.p95),
                pct(s.p99)
            );
        }
        for s in f.steps.iter().take(10) {
            let label = format!("{} {}", s.service, s.step.as_deref().unwrap_or(""));
            let _ = writeln!(
                out,
                "      {:<w$}{:>5} {:>5} {:>5}",
                label,
                pct(s.p50),
                pct(s.p95),
                pct(s.p99),
                w = width
            );
        }
        let drivers: Vec<_> = f
            .tail_drivers
            .iter()
            .filter(|d| d.growth_ns > 0)
            .take(3)
            .collect();
        if !drivers.is_empty() {
            out.push_str("  tail drivers (median traces -> traces above P95):\n");
            for d in drivers {
                let _ = writeln!(
                    out,
                    "    {} on {}: {} -> {} (+{}), {} of the growth",
                    d.step,
                    d.service,
                    ms(d.median_ns),
                    ms(d.tail_ns),
                    ms(d.growth_ns.max(0) as u64),
                    pct(d.growth_share)
                );
            }
        }
        out.push('\n');
    }
    out
}

/// The latency report for people: a row per flow and step, over-budget rows marked.
pub fn latency_human(report: &LatencyReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<34} {:>6} {:>9} {:>9} {:>9} {:>9}  budget",
        "flow / step", "count", "P50", "P95", "P99", "max"
    );
    for f in &report.flows {
        let slo = match &f.slo {
            Some(s) => format!(
                "SLO {}% < {}: {:.1}%{}",
                s.target,
                ms(s.threshold_ns),
                s.under_percent,
                if s.over { "  OVER" } else { "" }
            ),
            None => String::new(),
        };
        let _ = writeln!(
            out,
            "{:<34} {:>6} {:>9} {:>9} {:>9} {:>9}  {slo}",
            f.flow,
            f.latency.count,
            ms(f.latency.p50),
            ms(f.latency.p95),
            ms(f.latency.p99),
            ms(f.latency.max)
        );
        for s in &f.steps {
            let budgets = budgets_text(&s.budgets, " OVER", "");
            let over = s.budgets.iter().any(|b| b.over);
            let name = format!(
                "{}{} {} ({})",
                if over { "! " } else { "  " },
                "",
                s.step,
                s.service
            );
            if s.latency.count == 0 {
                let _ = writeln!(out, "{name:<34} {:>6} {:>9}", 0, "-");
                continue;
            }
            let _ = writeln!(
                out,
                "{name:<34} {:>6} {:>9} {:>9} {:>9} {:>9}  {}",
                s.latency.count,
                ms(s.latency.p50),
                ms(s.latency.p95),
                ms(s.latency.p99),
                ms(s.latency.max),
                budgets
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_well() {
        assert_eq!(ms(812_000_000), "812 ms");
        assert_eq!(ms(1_240_000_000), "1.24 s");
        assert_eq!(ms(2_500_000), "2.5 ms");
        assert_eq!(ms(350_000), "0.35 ms");
        assert_eq!(ms(1_500), "1 us");
        assert_eq!(esc("<a&\"b\">"), "&lt;a&amp;&quot;b&quot;&gt;");
    }

    /// A small shop: checkout traces (gateway -> payments, one retried call that failed first,
    /// an uninstrumented database) and a login trace; trace 4 is slow in payments.
    fn shop() -> crate::TraceSet {
        use crate::synth::{failed, span, with_attr, with_int};
        use flowtel_otlp::SpanKind as K;
        const MS: u64 = 1_000_000;
        let at = 1_700_000_000_000 * MS;
        let mut spans = Vec::new();
        for t in 1..=4u128 {
            let b = t as u64 * 100;
            let slow = if t == 4 { 200 * MS } else { 0 };
            let root = span(
                t,
                b + 1,
                0,
                "POST /checkout",
                K::Server,
                at,
                at + 100 * MS + slow,
            );
            spans.push(("gateway", with_attr(root, "flow.name", "checkout")));
            let cart = span(t, b + 2, b + 1, "cart", K::Internal, at + MS, at + 20 * MS);
            spans.push(("gateway", with_attr(cart, "flow.step", "cart.load")));
            let db = span(
                t,
                b + 3,
                b + 2,
                "SELECT",
                K::Client,
                at + 2 * MS,
                at + 18 * MS,
            );
            spans.push(("gateway", with_attr(db, "db.system.name", "postgresql")));
            let mut start = 25 * MS;
            if t % 2 == 0 {
                let first = span(
                    t,
                    b + 4,
                    b + 1,
                    "POST",
                    K::Client,
                    at + start,
                    at + start + 5 * MS,
                );
                spans.push(("gateway", failed(first)));
                let srv = span(
                    t,
                    b + 5,
                    b + 4,
                    "POST /pay",
                    K::Server,
                    at + start + MS,
                    at + start + 4 * MS,
                );
                spans.push(("payments", failed(srv)));
                start += 6 * MS;
            }
            let call = span(
                t,
                b + 6,
                b + 1,
                "POST",
                K::Client,
                at + start,
                at + 95 * MS + slow,
            );
            let call = if t % 2 == 0 {
                with_int(call, "http.request.resend_count", 1)
            } else {
                call
            };
            spans.push(("gateway", call));
            let srv = span(
                t,
                b + 7,
                b + 6,
                "POST /pay",
                K::Server,
                at + start + MS,
                at + 94 * MS + slow,
            );
            spans.push(("payments", with_attr(srv, "flow.step", "payment.authorize")));
        }
        let login = span(9, 901, 0, "POST /login", K::Server, at, at + 30 * MS);
        spans.push(("gateway", login));
        crate::testing::assemble(spans)
    }

    fn shop_maps(set: &crate::TraceSet) -> Vec<ServiceMap> {
        vec![
            ServiceMap::build(set, None),
            ServiceMap::build(set, Some("checkout")),
        ]
    }

    #[test]
    fn map_outputs_are_stable() {
        let set = shop();
        let maps = shop_maps(&set);
        insta::assert_snapshot!("map_human", map_human(&maps));
        insta::assert_snapshot!("map_mermaid", map_mermaid(&maps));
        insta::assert_snapshot!("map_dot", map_dot(&maps));
        insta::assert_snapshot!("map_svg", map_svg(&maps[0]));
        insta::assert_json_snapshot!("map_json", maps);
    }

    #[test]
    fn the_map_renders_every_format_of_its_command_through_the_output_layer() {
        let set = shop();
        let maps = shop_maps(&set);
        let findings = maps[0].findings();
        assert!(
            !findings.is_empty(),
            "the shop fixture has an amplified edge"
        );
        let out = MapOutput {
            maps: &maps,
            sampled: None,
            findings: &findings,
        };
        let opts = RenderOptions::default();
        let text = |f| out.render(f, &opts).expect("the map has this format");
        // The diagrams are the renderers' text alone, so they can be piped on.
        assert_eq!(text(Format::Mermaid), map_mermaid(&maps));
        assert_eq!(text(Format::Dot), map_dot(&maps));
        assert_eq!(text(Format::Svg), map_svg(&maps[0]));
        // Human: the map, then the findings grouped by rule.
        let human = text(Format::Human);
        assert!(human.starts_with(&map_human(&maps)), "{human}");
        assert!(human.contains("FT"), "{human}");
        // JSON: the findings envelope with the maps beside them.
        let doc: serde_json::Value = serde_json::from_str(&text(Format::Json)).unwrap();
        assert_eq!(doc["tool"], "flowtel");
        assert_eq!(doc["maps"].as_array().map(Vec::len), Some(2));
        assert_eq!(
            doc["findings"].as_array().map(Vec::len),
            Some(findings.len())
        );
        let sarif: serde_json::Value = serde_json::from_str(&text(Format::Sarif)).unwrap();
        assert!(sarif["runs"][0]["properties"]["maps"].is_array());
        assert_eq!(
            out.render(Format::Html, &opts),
            Err(flowtel_conventions::output::Unsupported(Format::Html))
        );
    }

    #[test]
    fn critical_path_outputs_are_stable() {
        let set = shop();
        let paths = crate::critical::paths(&set);
        let flows = crate::flows::aggregate(&set, &paths);
        insta::assert_snapshot!("critical_human", critical_human(&flows));
        insta::assert_json_snapshot!("critical_flows_json", flows);
        let traces: Vec<_> = paths.iter().map(|p| p.report(&set)).collect();
        insta::assert_json_snapshot!("critical_traces_json", traces);
        let latency = LatencyReport::of(&set, &crate::testing::registry());
        insta::assert_snapshot!("latency_human", latency_human(&latency));
    }
}
