//! `flowtel dashboards`: Grafana dashboards, one per flow and one overview of all flows.
//!
//! A flow's dashboard answers, top to bottom: is the SLO met and how fast does the budget burn
//! (recorded series of `flowtel slo`); how do the flow's entry requests do (rate, errors,
//! P50/P95/P99 against the latency threshold); how does each step do (rate, errors, and a
//! latency panel per step with its budgets as lines); how close are the services on its path
//! to their declared saturation limits; and how healthy are the services and dependencies it
//! calls. The overview shows every flow's SLO, budget and tail, each panel linking to the
//! flow's dashboard.
//!
//! Dashboards are plain data first ([`Dashboard`], serialised as Grafana's dashboard JSON
//! model), rendered second. [`lint`] checks what this module promises by code: every query
//! names only series that the conventions declare (or that `flowtel slo` records), counters
//! only under `rate`/`increase` over `$__rate_interval`; Grafana's dashboard-linter rules (a
//! `datasource` template variable, `${datasource}` on every panel and target, a title, a
//! description and a unit on every panel, not editable); unique panel ids; the current
//! `schemaVersion`. The tests also type-check the JSON against `@grafana/schema`'s `Dashboard`.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use flowtel_conventions::{Instrument, Registry};

use crate::plan::{FlowPlan, Plan, SaturationSignal, TARGET_SERVICE};
use crate::promql::{Matcher, number, selector, sum_by};
use crate::slo::{self, SliKind, slis};
use crate::{burn, dashboard_uid, names};

/// The dashboard JSON schema version these dashboards are written in: the one Grafana 13
/// (`@grafana/schema` 13.x `defaultDashboard`) writes.
pub const SCHEMA_VERSION: u32 = 42;

/// Uid of the overview dashboard.
pub const OVERVIEW_UID: &str = "flowtel-overview";

/// The data source every panel reads, through the `datasource` template variable.
pub const DATASOURCE_VAR: &str = "${datasource}";

/// The range of every rate: Grafana's `$__rate_interval` (at least four scrape intervals).
pub const RATE_INTERVAL: &str = "$__rate_interval";

/// File of a flow's dashboard.
pub fn flow_file(flow: &str) -> String {
    format!("{}.json", dashboard_uid(flow))
}

/// File of the overview.
pub fn overview_file() -> String {
    format!("{OVERVIEW_UID}.json")
}

/// A Grafana dashboard (the subset of the dashboard JSON model flowtel writes).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Dashboard {
    /// Stable uid (`flowtel-checkout`), so links and provisioning survive regeneration.
    pub uid: String,
    /// Title.
    pub title: String,
    /// What the dashboard shows.
    pub description: String,
    /// Tags (`flowtel`, `flow`).
    pub tags: Vec<String>,
    /// Generated dashboards are changed in the conventions, not in Grafana.
    pub editable: bool,
    /// Shared crosshair (1).
    pub graph_tooltip: u8,
    /// Dashboard JSON schema version.
    pub schema_version: u32,
    /// Time zone.
    pub timezone: String,
    /// Auto-refresh interval.
    pub refresh: String,
    /// Default time range.
    pub time: TimeRange,
    /// Template variables.
    pub templating: Templating,
    /// Annotations (none besides Grafana's built-in ones).
    pub annotations: Annotations,
    /// Links in the dashboard header.
    pub links: Vec<Link>,
    /// Panels and rows, in layout order.
    pub panels: Vec<Panel>,
}

/// A time range.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimeRange {
    /// Start (`now-6h`).
    pub from: String,
    /// End (`now`).
    pub to: String,
}

/// Template variables.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Templating {
    /// The variables.
    pub list: Vec<Variable>,
}

/// A template variable.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Variable {
    /// Name (`datasource`).
    pub name: String,
    /// Label shown in the header.
    pub label: String,
    /// Description.
    pub description: String,
    /// Variable type (`datasource`).
    #[serde(rename = "type")]
    pub kind: String,
    /// For a datasource variable, the plugin id (`prometheus`).
    pub query: String,
    /// Shown (0).
    pub hide: u8,
    /// Refresh on load (1).
    pub refresh: u8,
    /// Single choice.
    pub multi: bool,
    /// No "All" option.
    pub include_all: bool,
}

/// Annotations.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Annotations {
    /// The annotation queries.
    pub list: Vec<serde_json::Value>,
}

/// A link (dashboard header or panel).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Link {
    /// Title.
    pub title: String,
    /// `link` (an URL) or `dashboards` (by tag).
    #[serde(rename = "type")]
    pub kind: String,
    /// URL, for `link`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Tags, for `dashboards`.
    pub tags: Vec<String>,
    /// Dropdown of dashboards.
    pub as_dropdown: bool,
    /// Icon.
    pub icon: String,
    /// Carry the variables over.
    pub include_vars: bool,
    /// Carry the time range over.
    pub keep_time: bool,
    /// Open in a new tab.
    pub target_blank: bool,
    /// Tooltip.
    pub tooltip: String,
}

impl Link {
    fn to_dashboard(title: &str, uid: &str, tooltip: &str) -> Self {
        Link {
            title: title.into(),
            kind: "link".into(),
            url: Some(format!("/d/{uid}")),
            tags: Vec::new(),
            as_dropdown: false,
            icon: "dashboard".into(),
            include_vars: true,
            keep_time: true,
            target_blank: false,
            tooltip: tooltip.into(),
        }
    }

    fn by_tag(title: &str, tag: &str) -> Self {
        Link {
            title: title.into(),
            kind: "dashboards".into(),
            url: None,
            tags: vec![tag.into()],
            as_dropdown: true,
            icon: "external link".into(),
            include_vars: true,
            keep_time: true,
            target_blank: false,
            tooltip: String::new(),
        }
    }
}

/// A panel, or a row (`type: row`) grouping the panels below it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Panel {
    /// Unique within the dashboard.
    pub id: u32,
    /// `timeseries`, `stat` or `row`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Title.
    pub title: String,
    /// What the panel shows and how to read it (rows have none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Data source (`${datasource}`); rows have none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub datasource: Option<DataSourceRef>,
    /// Position.
    pub grid_pos: GridPos,
    /// Unit, thresholds, line style.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field_config: Option<FieldConfigSource>,
    /// Visualisation options.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub options: Option<serde_json::Value>,
    /// Queries.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<Target>,
    /// Links (to a flow's dashboard).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<Link>,
    /// Rows only: expanded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub collapsed: Option<bool>,
    /// Rows only: the panels folded into a collapsed row (none: rows stay expanded).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub panels: Option<Vec<Panel>>,
}

impl Panel {
    /// Whether this is a row.
    pub fn is_row(&self) -> bool {
        self.kind == "row"
    }

    /// The panel's unit, if it has one.
    pub fn unit(&self) -> Option<&str> {
        self.field_config
            .as_ref()
            .and_then(|f| f.defaults.unit.as_deref())
    }
}

/// A data source reference.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DataSourceRef {
    /// Plugin id (`prometheus`).
    #[serde(rename = "type")]
    pub kind: String,
    /// Instance uid (`${datasource}`).
    pub uid: String,
}

impl DataSourceRef {
    fn var() -> Self {
        DataSourceRef {
            kind: "prometheus".into(),
            uid: DATASOURCE_VAR.into(),
        }
    }
}

/// A panel position on the 24-column grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct GridPos {
    /// Height.
    pub h: u32,
    /// Width.
    pub w: u32,
    /// Column.
    pub x: u32,
    /// Row.
    pub y: u32,
}

/// Field configuration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldConfigSource {
    /// Defaults for every field.
    pub defaults: FieldConfig,
    /// Overrides (none).
    pub overrides: Vec<serde_json::Value>,
}

/// Field defaults.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldConfig {
    /// Grafana unit id (`s`, `reqps`, `percentunit`, `none`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Decimals.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decimals: Option<u32>,
    /// Axis minimum.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Thresholds (budget lines, objectives, limits).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thresholds: Option<Thresholds>,
    /// Visualisation-specific settings (threshold line style).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom: Option<serde_json::Value>,
}

/// Thresholds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Thresholds {
    /// `absolute`.
    pub mode: String,
    /// Steps, the first with value `null` (the base colour).
    pub steps: Vec<Step>,
}

/// One threshold step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    /// Colour.
    pub color: String,
    /// Lower bound of the step; `None` for the base.
    pub value: Option<f64>,
}

/// A Prometheus query.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    /// Data source (`${datasource}`).
    pub datasource: DataSourceRef,
    /// PromQL.
    pub expr: String,
    /// Legend.
    pub legend_format: String,
    /// `A`, `B`, ...
    pub ref_id: String,
    /// Range query (time series panels).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub range: bool,
    /// Instant query (stat panels).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub instant: bool,
}

/// Renders a dashboard as Grafana reads it (two-space indented JSON, trailing newline).
pub fn to_json(d: &Dashboard) -> String {
    let mut s = serde_json::to_string_pretty(d).unwrap_or_default();
    s.push('\n');
    s
}

// ---------------------------------------------------------------------------------------------
// Building panels

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Viz {
    TimeSeries,
    Stat,
}

/// A panel under construction; [`Board`] gives it an id and a place.
struct PanelSpec {
    viz: Viz,
    title: String,
    description: String,
    unit: String,
    width: u32,
    queries: Vec<(String, String)>,
    thresholds: Vec<(String, f64)>,
    base_color: &'static str,
    min: Option<f64>,
    decimals: Option<u32>,
    links: Vec<Link>,
}

impl PanelSpec {
    fn new(viz: Viz, title: impl Into<String>, unit: &str, description: impl Into<String>) -> Self {
        PanelSpec {
            viz,
            title: title.into(),
            description: description.into(),
            unit: unit.into(),
            width: 8,
            queries: Vec::new(),
            thresholds: Vec::new(),
            base_color: "green",
            min: Some(0.0),
            decimals: None,
            links: Vec::new(),
        }
    }

    fn query(mut self, expr: impl Into<String>, legend: impl Into<String>) -> Self {
        self.queries.push((expr.into(), legend.into()));
        self
    }

    fn line(mut self, color: &str, value: f64) -> Self {
        self.thresholds.push((color.into(), value));
        self
    }

    fn width(mut self, w: u32) -> Self {
        self.width = w;
        self
    }
}

/// Lays panels out left to right, 24 columns, rows across the full width.
struct Board {
    panels: Vec<Panel>,
    next_id: u32,
    x: u32,
    y: u32,
    line_height: u32,
}

impl Board {
    fn new() -> Self {
        Board {
            panels: Vec::new(),
            next_id: 1,
            x: 0,
            y: 0,
            line_height: 0,
        }
    }

    fn id(&mut self) -> u32 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    fn newline(&mut self) {
        if self.x > 0 {
            self.y += self.line_height;
            self.x = 0;
            self.line_height = 0;
        }
    }

    fn row(&mut self, title: impl Into<String>) {
        self.newline();
        let id = self.id();
        self.panels.push(Panel {
            id,
            kind: "row".into(),
            title: title.into(),
            description: None,
            datasource: None,
            grid_pos: GridPos {
                h: 1,
                w: 24,
                x: 0,
                y: self.y,
            },
            field_config: None,
            options: None,
            targets: Vec::new(),
            links: Vec::new(),
            collapsed: Some(false),
            panels: Some(Vec::new()),
        });
        self.y += 1;
    }

    fn add(&mut self, spec: PanelSpec) {
        let h = match spec.viz {
            Viz::TimeSeries => 8,
            Viz::Stat => 5,
        };
        if self.x + spec.width > 24 {
            self.newline();
        }
        let grid_pos = GridPos {
            h,
            w: spec.width,
            x: self.x,
            y: self.y,
        };
        self.x += spec.width;
        self.line_height = self.line_height.max(h);
        let id = self.id();
        let targets = spec
            .queries
            .into_iter()
            .enumerate()
            .map(|(i, (expr, legend))| Target {
                datasource: DataSourceRef::var(),
                expr,
                legend_format: legend,
                ref_id: ref_id(i),
                range: spec.viz == Viz::TimeSeries,
                instant: spec.viz == Viz::Stat,
            })
            .collect();
        let mut steps = vec![Step {
            color: spec.base_color.into(),
            value: None,
        }];
        steps.extend(spec.thresholds.iter().map(|(c, v)| Step {
            color: c.clone(),
            value: Some(*v),
        }));
        let (kind, custom, options) = match spec.viz {
            Viz::TimeSeries => (
                "timeseries",
                Some(serde_json::json!({
                    "drawStyle": "line",
                    "lineWidth": 1,
                    "fillOpacity": 0,
                    "showPoints": "never",
                    "spanNulls": false,
                    "thresholdsStyle": {"mode": if spec.thresholds.is_empty() { "off" } else { "dashed" }}
                })),
                serde_json::json!({
                    "legend": {"displayMode": "list", "placement": "bottom", "showLegend": true},
                    "tooltip": {"mode": "multi", "sort": "desc"}
                }),
            ),
            Viz::Stat => (
                "stat",
                None,
                serde_json::json!({
                    "colorMode": "value",
                    "graphMode": "none",
                    "justifyMode": "auto",
                    "orientation": "auto",
                    "textMode": "auto",
                    "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": false}
                }),
            ),
        };
        self.panels.push(Panel {
            id,
            kind: kind.into(),
            title: spec.title,
            description: Some(spec.description),
            datasource: Some(DataSourceRef::var()),
            grid_pos,
            field_config: Some(FieldConfigSource {
                defaults: FieldConfig {
                    unit: Some(spec.unit),
                    decimals: spec.decimals,
                    min: spec.min,
                    thresholds: Some(Thresholds {
                        mode: "absolute".into(),
                        steps,
                    }),
                    custom,
                },
                overrides: Vec::new(),
            }),
            options: Some(options),
            targets,
            links: spec.links,
            collapsed: None,
            panels: None,
        });
    }
}

fn ref_id(i: usize) -> String {
    let letters = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    if i < letters.len() {
        (letters[i] as char).to_string()
    } else {
        format!("Q{i}")
    }
}

fn dashboard(uid: String, title: String, description: String, tags: &[&str]) -> Dashboard {
    Dashboard {
        uid,
        title,
        description,
        tags: tags.iter().map(|t| t.to_string()).collect(),
        editable: false,
        graph_tooltip: 1,
        schema_version: SCHEMA_VERSION,
        timezone: "browser".into(),
        refresh: "1m".into(),
        time: TimeRange {
            from: "now-6h".into(),
            to: "now".into(),
        },
        templating: Templating {
            list: vec![Variable {
                name: "datasource".into(),
                label: "Data source".into(),
                description: "Prometheus data source holding the flows' metrics and the `flowtel slo` recording rules.".into(),
                kind: "datasource".into(),
                query: "prometheus".into(),
                hide: 0,
                refresh: 1,
                multi: false,
                include_all: false,
            }],
        },
        annotations: Annotations { list: Vec::new() },
        links: Vec::new(),
        panels: Vec::new(),
    }
}

/// The Grafana unit ids these dashboards may use (from Grafana's `valueFormats/categories.ts`).
pub const GRAFANA_UNITS: &[&str] = &[
    "none",
    "short",
    "percent",
    "percentunit",
    "s",
    "ms",
    "µs",
    "ns",
    "bytes",
    "Bps",
    "reqps",
    "ops",
];

/// Grafana unit of a UCUM unit.
fn grafana_unit(ucum: &str) -> &'static str {
    match ucum {
        "s" => "s",
        "ms" => "ms",
        "us" => "µs",
        "ns" => "ns",
        "By" => "bytes",
        "By/s" => "Bps",
        "1" => "percentunit",
        _ => "short",
    }
}

/// `rate(series{m1}[$__rate_interval]) or rate(series{m2}[$__rate_interval])`.
fn rates(series: &str, sets: &[Vec<Matcher>]) -> String {
    crate::promql::union_rate(series, sets, RATE_INTERVAL)
}

/// `part / whole`, with a series that has no `part` (no errors yet) reading 0 rather than
/// missing.
fn ratio(part: &str, whole: &str) -> String {
    format!("(\n  {part}\n  or\n  0 * {whole}\n)\n/\n{whole}")
}

fn with(base: &[Matcher], extra: &[Matcher]) -> Vec<Matcher> {
    let mut v = base.to_vec();
    v.extend(extra.iter().cloned());
    v
}

// ---------------------------------------------------------------------------------------------
// The dashboards

/// Every dashboard for `plan`: the overview first, then one per flow, with notes on what a
/// flow's dashboard leaves out for lack of declared metrics.
pub fn build(plan: &Plan<'_>, notes: &mut Vec<String>) -> Vec<(String, Dashboard)> {
    let mut out = vec![(overview_file(), overview(plan))];
    for f in &plan.flows {
        out.push((flow_file(f.name), flow_dashboard(plan, f, notes)));
    }
    out
}

fn flow_link(f: &FlowPlan<'_>) -> Link {
    Link::to_dashboard(
        &format!("Flow {}", f.name),
        &dashboard_uid(f.name),
        &format!("Dashboard of flow {} (owner {})", f.name, f.owner()),
    )
}

fn overview(plan: &Plan<'_>) -> Dashboard {
    let reg = plan.registry;
    let mut d = dashboard(
        OVERVIEW_UID.into(),
        "flowtel: flows overview".into(),
        format!(
            "Every flow of the conventions {} {}: SLO compliance, error budget remaining, burn rate and tail latency. Each panel links to the flow's dashboard. Generated by `flowtel dashboards`; do not edit.",
            reg.name, reg.version
        ),
        &["flowtel", "overview"],
    );
    d.links = plan.flows.iter().map(flow_link).collect();
    let mut b = Board::new();
    let fl = names::label("flow.name");
    for f in &plan.flows {
        b.row(format!(
            "Flow {}: owner {}, alerts to {}",
            f.name,
            f.owner(),
            f.route()
        ));
        let Some((o, _)) = f.measured() else {
            continue;
        };
        let fsel = |extra: &[Matcher]| selector(&with(&[Matcher::eq(&fl, f.name)], extra));
        let window = o.window.prometheus();
        for (kind, objective) in slis(o) {
            let sel = fsel(&[Matcher::eq("sli", kind.as_str())]);
            let mut p = PanelSpec::new(
                Viz::Stat,
                format!("{} {} over {window}", f.name, kind.as_str()),
                "percentunit",
                format!(
                    "Share of good requests of flow {} over the SLO window ({window}); objective {}%. Red below the objective.",
                    f.name,
                    number(objective)
                ),
            )
            .query(format!("1 - flow:slo_error_ratio:rate{window}{sel}"), kind.as_str())
            .line("green", crate::plan::round(objective / 100.0, 12))
            .width(6);
            p.base_color = "red";
            p.decimals = Some(3);
            p.min = None;
            p.links = vec![flow_link(f)];
            b.add(p);
        }
        let mut p = PanelSpec::new(
            Viz::Stat,
            format!("{} error budget remaining", f.name),
            "percentunit",
            format!(
                "Share of flow {}'s error budget left over the SLO window ({window}), per SLI; red once it is spent.",
                f.name
            ),
        )
        .query(
            format!("flow:slo_error_budget_remaining:ratio{}", fsel(&[])),
            "{{sli}}",
        )
        .line("orange", 0.0)
        .line("green", 0.25)
        .width(6);
        p.base_color = "red";
        p.min = None;
        p.links = vec![flow_link(f)];
        b.add(p);
        let mut p = PanelSpec::new(
            Viz::Stat,
            format!("{} P99 latency", f.name),
            "s",
            match &o.latency {
                Some(l) => format!(
                    "P99 latency of flow {}'s entry requests over the last 5 minutes; red over the SLO threshold {}.",
                    f.name, l.threshold_text
                ),
                None => format!(
                    "P99 latency of flow {}'s entry requests over the last 5 minutes.",
                    f.name
                ),
            },
        )
        .query(format!("flow:slo_latency_p99:rate5m{}", fsel(&[])), "P99")
        .width(6);
        if let Some(l) = &o.latency {
            p = p.line("red", l.threshold);
        }
        p.links = vec![flow_link(f)];
        b.add(p);
    }
    d.panels = b.panels;
    d
}

fn flow_dashboard(plan: &Plan<'_>, f: &FlowPlan<'_>, notes: &mut Vec<String>) -> Dashboard {
    let reg = plan.registry;
    let flow = f.name;
    let mut d = dashboard(
        dashboard_uid(flow),
        format!("flowtel: flow {flow}"),
        format!(
            "Flow {flow}{}: owner {}, alerts to {}. SLO and error budget, entry requests (RED), each step against its budgets, saturation and dependency health of the services on its path ({}). Generated by `flowtel dashboards` from the conventions {} {}; do not edit.",
            f.flow
                .brief
                .as_deref()
                .map(|b| format!(" ({})", b.trim_end_matches('.')))
                .unwrap_or_default(),
            f.owner(),
            f.route(),
            if f.services.is_empty() {
                "none declared".to_string()
            } else {
                f.services.join(", ")
            },
            reg.name,
            reg.version
        ),
        &["flowtel", "flow"],
    );
    d.links = vec![
        Link::to_dashboard("Overview", OVERVIEW_UID, "All flows"),
        Link::by_tag("Flows", "flow"),
    ];
    let mut b = Board::new();
    let fl = names::label("flow.name");
    let flow_m = Matcher::eq(&fl, flow);
    if let Some((o, sli)) = f.measured() {
        let window = o.window.prometheus();
        b.row(format!("SLO over {window}"));
        let fsel = |extra: &[Matcher]| selector(&with(std::slice::from_ref(&flow_m), extra));
        for (kind, objective) in slis(o) {
            let what = match (kind, &o.latency) {
                (SliKind::Latency, Some(l)) => format!(
                    "share of entry requests faster than {} (bucket bound {}s)",
                    l.threshold_text,
                    number(l.bound)
                ),
                _ => "share of entry requests that succeed (no 5xx, no `error.type`)".to_string(),
            };
            let mut p = PanelSpec::new(
                Viz::Stat,
                format!("{} SLI over {window}", kind.title()),
                "percentunit",
                format!(
                    "The {} SLI: {what}, over the SLO window ({window}). Objective {}%: red below it.",
                    kind.as_str(),
                    number(objective)
                ),
            )
            .query(
                format!(
                    "1 - flow:slo_error_ratio:rate{window}{}",
                    fsel(&[Matcher::eq("sli", kind.as_str())])
                ),
                kind.as_str(),
            )
            .line("green", crate::plan::round(objective / 100.0, 12))
            .width(6);
            p.base_color = "red";
            p.decimals = Some(3);
            p.min = None;
            b.add(p);
        }
        let mut p = PanelSpec::new(
            Viz::Stat,
            "Error budget remaining",
            "percentunit",
            format!(
                "Share of the error budget left over the SLO window ({window}), per SLI. 100% is an untouched budget, 0% a spent one."
            ),
        )
        .query(
            format!("flow:slo_error_budget_remaining:ratio{}", fsel(&[])),
            "{{sli}}",
        )
        .line("orange", 0.0)
        .line("green", 0.25)
        .width(if slis(o).len() == 1 { 18 } else { 12 });
        p.base_color = "red";
        p.min = None;
        b.add(p);
        let page: Vec<&burn::BurnWindow> = burn::BurnWindow::applicable(o.window.seconds)
            .filter(|w| w.severity == burn::Severity::Page)
            .collect();
        let mut p = PanelSpec::new(
            Viz::TimeSeries,
            "Burn rate (page windows)",
            "none",
            format!(
                "How many times faster than sustainable the error budget burns, per SLI, over the long page windows. The page alert fires when a long window and its short window both exceed the dashed line: {}.",
                page.iter()
                    .map(|w| format!(
                        "{} and {} above {}x",
                        crate::promql::duration(w.long),
                        crate::promql::duration(w.short),
                        number(w.factor(o.window.seconds))
                    ))
                    .collect::<Vec<_>>()
                    .join(", or ")
            ),
        )
        .width(12);
        for w in &page {
            let d = crate::promql::duration(w.long);
            p = p.query(
                format!("flow:slo_burn_rate:rate{d}{}", fsel(&[])),
                format!("{{{{sli}}}} {d}"),
            );
        }
        let mut factors: Vec<f64> = page.iter().map(|w| w.factor(o.window.seconds)).collect();
        factors.sort_by(f64::total_cmp);
        for (i, x) in factors.iter().enumerate() {
            p = p.line(
                if i + 1 == factors.len() {
                    "red"
                } else {
                    "orange"
                },
                *x,
            );
        }
        b.add(p);
        let ticket: Vec<&burn::BurnWindow> = burn::BurnWindow::applicable(o.window.seconds)
            .filter(|w| w.severity == burn::Severity::Ticket)
            .collect();
        let mut p = PanelSpec::new(
            Viz::TimeSeries,
            "Burn rate (ticket windows)",
            "none",
            "The same burn rate over the long ticket windows: a slow, steady burn that would spend the budget before the window ends opens a ticket when both windows of a pair exceed the dashed line.",
        )
        .width(12);
        for w in &ticket {
            let d = crate::promql::duration(w.long);
            p = p.query(
                format!("flow:slo_burn_rate:rate{d}{}", fsel(&[])),
                format!("{{{{sli}}}} {d}"),
            );
        }
        let mut factors: Vec<f64> = ticket.iter().map(|w| w.factor(o.window.seconds)).collect();
        factors.sort_by(f64::total_cmp);
        factors.dedup();
        for x in factors {
            p = p.line("orange", x);
        }
        if !ticket.is_empty() {
            b.add(p);
        }

        // Entry requests.
        b.row(format!("Entry requests: {}", f.flow.entry.join(", ")));
        let count = format!("{}_count", sli.prometheus);
        let bucket = format!("{}_bucket", sli.prometheus);
        let requests = rates(&count, &sli.requests);
        let route = sli_has(reg, &sli.metric, "http.route");
        let by: Vec<String> = if route {
            vec![names::label("http.route")]
        } else {
            vec![fl.clone()]
        };
        let by_refs: Vec<&str> = by.iter().map(String::as_str).collect();
        b.add(
            PanelSpec::new(
                Viz::TimeSeries,
                "Request rate",
                "reqps",
                format!(
                    "Entry requests of flow {flow} per second{}, from `{}`.",
                    if route { ", by route" } else { "" },
                    sli.metric
                ),
            )
            .query(sum_by(&by_refs, &requests), legend(&by)),
        );
        if !sli.errors.is_empty() {
            b.add(
                PanelSpec::new(
                    Viz::TimeSeries,
                    "Error ratio",
                    "percentunit",
                    "Share of entry requests that fail (a 5xx status or a set `error.type`). The dashed line is the error budget of the availability objective.",
                )
                .query(
                    ratio(
                        &sum_by(&by_refs, &rates(&count, &sli.error_sets())),
                        &sum_by(&by_refs, &requests),
                    ),
                    legend(&by),
                )
                .line_opt("red", o.availability.map(crate::plan::budget)),
            );
        }
        let mut p = PanelSpec::new(
            Viz::TimeSeries,
            "Latency P50 / P95 / P99",
            "s",
            match &o.latency {
                Some(l) => format!(
                    "Quantiles of the entry requests' duration (histogram `{}`). The dashed line is the SLO latency threshold {}: {}% of requests must be faster.",
                    sli.metric,
                    l.threshold_text,
                    number(l.target)
                ),
                None => format!(
                    "Quantiles of the entry requests' duration (histogram `{}`).",
                    sli.metric
                ),
            },
        );
        for q in [0.5, 0.95, 0.99] {
            p = p.query(
                format!(
                    "histogram_quantile({}, {})",
                    number(q),
                    sum_by(&["le"], &rates(&bucket, &sli.requests))
                ),
                format!("P{}", number(q * 100.0)),
            );
        }
        if let Some(l) = &o.latency {
            p = p.line("red", l.threshold);
        }
        b.add(p);
    } else {
        notes.push(format!(
            "flow `{flow}`: its dashboard has no SLO panels (the flow declares no measurable SLO)"
        ));
    }

    steps(&mut b, plan, f, notes);
    saturation(&mut b, plan, f, notes);
    dependencies(&mut b, plan, f);
    d.panels = b.panels;
    d
}

impl PanelSpec {
    fn line_opt(self, color: &str, value: Option<f64>) -> Self {
        match value {
            Some(v) => self.line(color, v),
            None => self,
        }
    }
}

fn legend(labels: &[String]) -> String {
    labels
        .iter()
        .map(|l| format!("{{{{{l}}}}}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn sli_has(reg: &Registry, metric: &str, label: &str) -> bool {
    reg.metrics
        .get(metric)
        .is_some_and(|m| m.labels.iter().any(|l| l == label))
}

fn steps(b: &mut Board, plan: &Plan<'_>, f: &FlowPlan<'_>, notes: &mut Vec<String>) {
    if f.flow.steps.is_empty() {
        return;
    }
    let reg = plan.registry;
    let flow = f.name;
    let fl = names::label("flow.name");
    let st = names::label("flow.step");
    let Some(dm) = reg.metrics.get("flow.step.duration").filter(|m| {
        m.instrument == Instrument::Histogram && m.labels.iter().any(|l| l == "flow.step")
    }) else {
        notes.push(format!(
            "flow `{flow}`: no step panels, `flow.step.duration` is not declared as a histogram with `flow.step`"
        ));
        return;
    };
    let duration = names::metric("flow.step.duration", dm);
    let flow_m = Matcher::eq(&fl, flow);
    b.row(format!("Steps of {flow}"));
    let count = format!("{duration}_count");
    let all = selector(std::slice::from_ref(&flow_m));
    let step_rate = sum_by(&[&st], &format!("rate({count}{all}[{RATE_INTERVAL}])"));
    b.add(
        PanelSpec::new(
            Viz::TimeSeries,
            "Step rate",
            "ops",
            format!("Executions of each step of flow {flow} per second (`flow.step.duration`)."),
        )
        .query(step_rate.clone(), format!("{{{{{st}}}}}"))
        .width(12),
    );
    let errors = reg
        .metrics
        .get("flow.step.errors")
        .filter(|m| {
            m.instrument == Instrument::Counter && m.labels.iter().any(|l| l == "flow.step")
        })
        .map(|m| {
            let name = names::metric("flow.step.errors", m);
            sum_by(&[&st], &format!("rate({name}{all}[{RATE_INTERVAL}])"))
        })
        .or_else(|| {
            dm.labels.iter().any(|l| l == "outcome").then(|| {
                let sel = selector(&[
                    flow_m.clone(),
                    Matcher::eq(&names::label("outcome"), "error"),
                ]);
                sum_by(&[&st], &format!("rate({count}{sel}[{RATE_INTERVAL}])"))
            })
        });
    if let Some(errors) = errors {
        b.add(
            PanelSpec::new(
                Viz::TimeSeries,
                "Step error ratio",
                "percentunit",
                format!("Share of each step's executions of flow {flow} that end in an error."),
            )
            .query(ratio(&errors, &step_rate), format!("{{{{{st}}}}}"))
            .width(12),
        );
    }
    let bucket = format!("{duration}_bucket");
    for (step, s) in &f.flow.steps {
        let sel = selector(&[flow_m.clone(), Matcher::eq(&st, step)]);
        let budgets: Vec<(&str, f64, String)> = s
            .budget
            .iter()
            .flat_map(|bu| bu.entries())
            .filter_map(|(q, d)| Some((q, d.seconds()?, d.raw().to_string())))
            .collect();
        let mut p = PanelSpec::new(
            Viz::TimeSeries,
            format!(
                "Step {step}{}",
                s.service
                    .as_deref()
                    .map(|svc| format!(" ({svc})"))
                    .unwrap_or_default()
            ),
            "s",
            if budgets.is_empty() {
                format!(
                    "P50, P95 and P99 duration of step {step} of flow {flow}; the step declares no budget."
                )
            } else {
                format!(
                    "P50, P95 and P99 duration of step {step} of flow {flow}. Dashed lines: its budgets, {}.",
                    budgets
                        .iter()
                        .map(|(q, _, raw)| format!("{q} {raw}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            },
        );
        for q in [0.5, 0.95, 0.99] {
            p = p.query(
                format!(
                    "histogram_quantile({}, sum by (le) (rate({bucket}{sel}[{RATE_INTERVAL}])))",
                    number(q)
                ),
                format!("P{}", number(q * 100.0)),
            );
        }
        let mut lines: Vec<(f64, &str)> = budgets.iter().map(|(q, v, _)| (*v, *q)).collect();
        lines.sort_by(|a, b| a.0.total_cmp(&b.0));
        lines.dedup_by(|a, b| a.0 == b.0);
        for (v, q) in lines {
            p = p.line(
                match q {
                    "p50" => "yellow",
                    "p95" => "orange",
                    _ => "red",
                },
                v,
            );
        }
        b.add(p);
    }
}

fn saturation(b: &mut Board, plan: &Plan<'_>, f: &FlowPlan<'_>, notes: &mut Vec<String>) {
    let Some(svc) = f.service_matcher() else {
        return;
    };
    if plan.saturation.is_empty() {
        notes.push(format!(
            "flow `{}`: no saturation panels, the conventions declare no saturation signal for its services ({})",
            f.name,
            f.services.join(", ")
        ));
        return;
    }
    b.row(format!("Saturation of {}", f.services.join(", ")));
    for s in &plan.saturation {
        b.add(saturation_panel(s, &svc));
    }
}

fn saturation_panel(s: &SaturationSignal, svc: &Matcher) -> PanelSpec {
    let labels = s.resource_labels();
    let mut p = PanelSpec::new(
        Viz::TimeSeries,
        format!("Saturation: {}", s.metric),
        grafana_unit(&s.unit),
        format!(
            "{} Level per service instance{} against the declared limit {} (red line; orange at the warn level {}%). The saturation-growth ticket fires when `predict_linear` over the last hour crosses the limit within 4 hours.",
            s.brief
                .as_deref()
                .map(|b| format!("{}.", b.trim_end_matches('.')))
                .unwrap_or_else(|| format!("`{}`.", s.metric)),
            if s.per.is_empty() {
                String::new()
            } else {
                format!(" and {}", s.per.join(", "))
            },
            number(s.limit),
            number(s.warn * 100.0)
        ),
    )
    .query(s.level(std::slice::from_ref(svc)), legend(&labels))
    .line("orange", crate::plan::round(s.warn * s.limit, 9))
    .line("red", s.limit);
    if let Some(gauge) = &s.limit_gauge {
        let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
        p = p.query(
            format!(
                "max by ({}) ({gauge}{})",
                labels.join(", "),
                selector(std::slice::from_ref(svc))
            ),
            "limit",
        );
    }
    p
}

fn dependencies(b: &mut Board, plan: &Plan<'_>, f: &FlowPlan<'_>) {
    let reg = plan.registry;
    let flow = f.name;
    let fl = names::label("flow.name");
    let flow_m = Matcher::eq(&fl, flow);
    let mut specs = Vec::new();
    if let (Some(svc), Some(sli)) = (f.service_matcher(), &f.sli) {
        let count = format!("{}_count", sli.prometheus);
        let base = vec![flow_m.clone(), svc.clone()];
        let total = sum_by(
            &[TARGET_SERVICE],
            &format!("rate({count}{}[{RATE_INTERVAL}])", selector(&base)),
        );
        if !sli.errors.is_empty() {
            let sets: Vec<Vec<Matcher>> = sli.errors.iter().map(|e| with(&base, e)).collect();
            specs.push(
                PanelSpec::new(
                    Viz::TimeSeries,
                    "Services on the path: error ratio",
                    "percentunit",
                    format!(
                        "Share of the requests of flow {flow} that fail in each service on its path ({}), entry and downstream alike.",
                        f.services.join(", ")
                    ),
                )
                .query(
                    ratio(&sum_by(&[TARGET_SERVICE], &rates(&count, &sets)), &total),
                    format!("{{{{{TARGET_SERVICE}}}}}"),
                ),
            );
        }
        specs.push(
            PanelSpec::new(
                Viz::TimeSeries,
                "Services on the path: P99 latency",
                "s",
                format!(
                    "P99 duration of the requests of flow {flow} served by each service on its path ({}).",
                    f.services.join(", ")
                ),
            )
            .query(
                format!(
                    "histogram_quantile(0.99, sum by ({TARGET_SERVICE}, le) (rate({}_bucket{}[{RATE_INTERVAL}])))",
                    sli.prometheus,
                    selector(&base)
                ),
                format!("{{{{{TARGET_SERVICE}}}}}"),
            ),
        );
    }
    let addr = names::label("server.address");
    if let Some(m) = reg.metrics.get("http.client.request.duration").filter(|m| {
        m.instrument == Instrument::Histogram
            && m.labels.iter().any(|l| l == "flow.name")
            && m.labels.iter().any(|l| l == "server.address")
    }) {
        let name = names::metric("http.client.request.duration", m);
        let sel = selector(std::slice::from_ref(&flow_m));
        let total = sum_by(
            &[&addr],
            &format!("rate({name}_count{sel}[{RATE_INTERVAL}])"),
        );
        if m.labels.iter().any(|l| l == "http.response.status_code") {
            let errors = selector(&[
                flow_m.clone(),
                Matcher::re(&names::label("http.response.status_code"), "5.."),
            ]);
            specs.push(
                PanelSpec::new(
                    Viz::TimeSeries,
                    "Dependencies: 5xx ratio",
                    "percentunit",
                    format!("Share of the outgoing HTTP calls of flow {flow} that a dependency answered with a 5xx, by dependency (`server.address`)."),
                )
                .query(
                    ratio(
                        &sum_by(&[&addr], &format!("rate({name}_count{errors}[{RATE_INTERVAL}])")),
                        &total,
                    ),
                    format!("{{{{{addr}}}}}"),
                ),
            );
        }
        specs.push(
            PanelSpec::new(
                Viz::TimeSeries,
                "Dependencies: P99 latency",
                "s",
                format!("P99 duration of the outgoing HTTP calls of flow {flow}, by dependency (`server.address`)."),
            )
            .query(
                format!(
                    "histogram_quantile(0.99, sum by ({addr}, le) (rate({name}_bucket{sel}[{RATE_INTERVAL}])))"
                ),
                format!("{{{{{addr}}}}}"),
            ),
        );
    }
    if let Some(m) = reg.metrics.get("flow.dependency.retries").filter(|m| {
        m.instrument == Instrument::Counter
            && m.labels.iter().any(|l| l == "flow.name")
            && m.labels.iter().any(|l| l == "server.address")
    }) {
        let name = names::metric("flow.dependency.retries", m);
        specs.push(
            PanelSpec::new(
                Viz::TimeSeries,
                "Dependencies: retries",
                "ops",
                format!("Requests of flow {flow} resent to a dependency per second (each attempt after the first), by dependency. Retries amplify load on a struggling dependency."),
            )
            .query(
                sum_by(
                    &[&addr],
                    &format!(
                        "rate({name}{}[{RATE_INTERVAL}])",
                        selector(std::slice::from_ref(&flow_m))
                    ),
                ),
                format!("{{{{{addr}}}}}"),
            ),
        );
    }
    if specs.is_empty() {
        return;
    }
    b.row("Dependency health");
    for s in specs {
        b.add(s);
    }
}

// ---------------------------------------------------------------------------------------------
// Checking what the dashboards promise

/// The series a dashboard query may name: every declared metric's Prometheus series and the
/// series `flowtel slo` records, with whether each is a counter.
#[derive(Debug, Clone, Default)]
pub struct KnownSeries {
    series: BTreeMap<String, bool>,
}

impl KnownSeries {
    /// The series of the registry's metrics (a counter's, and a histogram's `_bucket`, `_sum`
    /// and `_count`, are counters) and of the SLO recording rules of `plan`.
    pub fn new(plan: &Plan<'_>) -> Self {
        let mut series = BTreeMap::new();
        for (name, m) in &plan.registry.metrics {
            let counter = matches!(m.instrument, Instrument::Counter | Instrument::Histogram);
            for s in flowtel_conventions::prometheus::series_names(name, m) {
                series.insert(s, counter);
            }
        }
        for s in slo::recorded_series(plan) {
            series.insert(s, false);
        }
        KnownSeries { series }
    }

    /// Whether `name` is known, and if so whether it is a counter.
    pub fn counter(&self, name: &str) -> Option<bool> {
        self.series.get(name).copied()
    }
}

/// Something a generated dashboard does wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Panel title (empty for the dashboard itself).
    pub panel: String,
    /// What is wrong.
    pub message: String,
}

/// Checks a dashboard against the rules this module promises (module docs); empty when clean.
pub fn lint(d: &Dashboard, known: &KnownSeries) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut problem = |panel: &str, message: String| {
        out.push(Problem {
            panel: panel.to_string(),
            message,
        })
    };
    if d.schema_version != SCHEMA_VERSION {
        problem(
            "",
            format!(
                "schemaVersion {} is not the current {SCHEMA_VERSION}",
                d.schema_version
            ),
        );
    }
    if d.editable {
        problem("", "a generated dashboard must not be editable".into());
    }
    let ds = d
        .templating
        .list
        .iter()
        .any(|v| v.name == "datasource" && v.kind == "datasource" && v.query == "prometheus");
    if !ds {
        problem(
            "",
            "no `datasource` template variable of type datasource for prometheus".into(),
        );
    }
    let mut ids = BTreeSet::new();
    for p in &d.panels {
        if !ids.insert(p.id) {
            problem(&p.title, format!("panel id {} is used twice", p.id));
        }
        if p.title.trim().is_empty() {
            problem(&p.title, "panel without a title".into());
        }
        if p.is_row() {
            continue;
        }
        if p.description.as_deref().is_none_or(|s| s.trim().is_empty()) {
            problem(&p.title, "panel without a description".into());
        }
        match p.unit() {
            None | Some("") => problem(&p.title, "panel without a unit".into()),
            Some(u) if !GRAFANA_UNITS.contains(&u) => {
                problem(&p.title, format!("`{u}` is not a Grafana unit id"))
            }
            Some(_) => {}
        }
        if p.datasource
            .as_ref()
            .is_none_or(|r| r.uid != DATASOURCE_VAR)
        {
            problem(
                &p.title,
                format!("panel data source is not `{DATASOURCE_VAR}`"),
            );
        }
        if p.targets.is_empty() {
            problem(&p.title, "panel without a query".into());
        }
        for t in &p.targets {
            if t.datasource.uid != DATASOURCE_VAR {
                problem(
                    &p.title,
                    format!("query {} data source is not `{DATASOURCE_VAR}`", t.ref_id),
                );
            }
            for m in check_expr(&t.expr, known) {
                problem(&p.title, format!("query {}: {m}", t.ref_id));
            }
        }
    }
    out
}

/// PromQL words that are not series names: binary operators and modifiers, and aggregation
/// operators (which may be followed by `by (...)` rather than `(`).
const KEYWORDS: &[&str] = &[
    "sum",
    "min",
    "max",
    "avg",
    "count",
    "stddev",
    "stdvar",
    "topk",
    "bottomk",
    "quantile",
    "count_values",
    "group",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "and",
    "or",
    "unless",
    "offset",
    "bool",
    "inf",
    "nan",
];

/// What a PromQL expression reads: the series names, each with the byte range of its selector
/// (name through the closing `}`), and the range durations (`[...]`), outside string literals.
#[derive(Debug, Default)]
struct Scan {
    refs: Vec<(String, usize, usize)>,
    ranges: Vec<String>,
}

fn scan(expr: &str) -> Scan {
    let bytes = expr.as_bytes();
    let mut out = Vec::new();
    let mut ranges = Vec::new();
    let mut i = 0;
    // Depth of a label list after `by`/`without`/`on`/`ignoring`/`group_*`: names there are labels.
    let mut label_list = false;
    let mut expect_list = false;
    while i < bytes.len() {
        let c = bytes[i] as char;
        match c {
            '"' | '\'' | '`' => {
                i += 1;
                while i < bytes.len() && bytes[i] as char != c {
                    if bytes[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                i += 1;
            }
            '{' => i += selector_len(&expr[i..]),
            '[' => {
                let start = i + 1;
                while i < bytes.len() && bytes[i] != b']' {
                    i += 1;
                }
                ranges.push(expr[start.min(i)..i].to_string());
                i += 1;
            }
            '(' => {
                if expect_list {
                    label_list = true;
                    expect_list = false;
                }
                i += 1;
            }
            ')' => {
                label_list = false;
                i += 1;
            }
            c if c.is_ascii_alphabetic() || c == '_' || c == ':' => {
                let start = i;
                while i < bytes.len()
                    && ((bytes[i] as char).is_ascii_alphanumeric()
                        || bytes[i] == b'_'
                        || bytes[i] == b':')
                {
                    i += 1;
                }
                let word = &expr[start..i];
                let next = expr[i..].trim_start().chars().next();
                if label_list {
                    continue;
                }
                if matches!(
                    word,
                    "by" | "without" | "on" | "ignoring" | "group_left" | "group_right"
                ) {
                    expect_list = true;
                    continue;
                }
                if next == Some('(') || KEYWORDS.contains(&word) {
                    continue;
                }
                // The selector's end: through `{...}` if one follows.
                let end = if expr[i..].starts_with('{') {
                    i + selector_len(&expr[i..])
                } else {
                    i
                };
                out.push((word.to_string(), start, end));
            }
            c if c.is_ascii_digit() || c == '.' => {
                while i < bytes.len()
                    && ((bytes[i] as char).is_ascii_alphanumeric() || bytes[i] == b'.')
                {
                    i += 1;
                }
            }
            _ => i += 1,
        }
    }
    Scan { refs: out, ranges }
}

/// Length of the label matchers `{...}` at the start of `s`, through the closing brace, with
/// braces inside quoted values skipped.
fn selector_len(s: &str) -> usize {
    let bytes = s.as_bytes();
    let mut i = 1;
    while i < bytes.len() && bytes[i] != b'}' {
        if bytes[i] == b'"' {
            i += 1;
            while i < bytes.len() && bytes[i] != b'"' {
                if bytes[i] == b'\\' {
                    i += 1;
                }
                i += 1;
            }
        }
        i += 1;
    }
    (i + 1).min(s.len())
}

/// Problems of one query: unknown series, counters outside `rate`/`increase`, ranges other
/// than `$__rate_interval`.
pub fn check_expr(expr: &str, known: &KnownSeries) -> Vec<String> {
    let mut out = Vec::new();
    let scanned = scan(expr);
    for (name, start, end) in scanned.refs {
        match known.counter(&name) {
            None => out.push(format!(
                "`{name}` is neither a declared metric's series nor recorded by `flowtel slo`"
            )),
            Some(true) => {
                let before = expr[..start].trim_end();
                let under = before.ends_with("rate(") || before.ends_with("increase(");
                let ranged = expr[end..].starts_with(&format!("[{RATE_INTERVAL}]"));
                if !under || !ranged {
                    out.push(format!(
                        "counter `{name}` is not read through `rate`/`increase` over `[{RATE_INTERVAL}]`"
                    ));
                }
            }
            Some(false) => {}
        }
    }
    for range in scanned.ranges {
        if range != RATE_INTERVAL {
            out.push(format!("range `[{range}]` is not `[{RATE_INTERVAL}]`"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known() -> KnownSeries {
        let mut k = KnownSeries::default();
        k.series.insert("req_total".into(), true);
        k.series.insert("dur_seconds_bucket".into(), true);
        k.series.insert("inflight".into(), false);
        k.series.insert("flow:slo_burn_rate:rate1h".into(), false);
        k
    }

    #[test]
    fn counters_must_be_rated_over_the_rate_interval() {
        let k = known();
        assert!(
            check_expr(
                "sum by (job) (rate(req_total{a=\"b\"}[$__rate_interval]))",
                &k
            )
            .is_empty()
        );
        assert!(
            check_expr(
                "histogram_quantile(0.99, sum by (le) (rate(dur_seconds_bucket{x=\"{y}\"}[$__rate_interval])))",
                &k
            )
            .is_empty()
        );
        assert_eq!(
            check_expr("sum(req_total)", &k),
            ["counter `req_total` is not read through `rate`/`increase` over `[$__rate_interval]`"]
        );
        assert_eq!(check_expr("rate(req_total[5m])", &k).len(), 2);
        assert!(check_expr("max by (job, instance) (inflight{job=~\"a|b\"})", &k).is_empty());
    }

    proptest::proptest! {
        /// Whatever a label value holds (routes carry braces; values may hold quotes, brackets
        /// and PromQL words), the scanner finds exactly the series outside the matchers.
        #[test]
        fn label_values_never_look_like_series(value in "[ -~]{0,24}") {
            let k = known();
            let sel = selector(&[Matcher::eq("http_route", &value), Matcher::eq("job", "a")]);
            let good = format!("sum by (job) (rate(req_total{sel}[$__rate_interval])) / inflight{sel}");
            proptest::prop_assert!(check_expr(&good, &k).is_empty(), "{}: {:?}", good, check_expr(&good, &k));
            let bad = format!("sum(req_total{sel}) + nope{sel}");
            proptest::prop_assert_eq!(check_expr(&bad, &k).len(), 2, "{}", bad);
        }
    }

    #[test]
    fn unknown_series_are_named_and_labels_are_not_series() {
        let k = known();
        assert_eq!(
            check_expr(
                "flow:slo_burn_rate:rate1h{flow_name=\"x\"} > on (flow_name) group_left (sli) nope",
                &k
            ),
            ["`nope` is neither a declared metric's series nor recorded by `flowtel slo`"]
        );
        assert!(check_expr("1 - flow:slo_burn_rate:rate1h / 2", &k).is_empty());
    }
}
