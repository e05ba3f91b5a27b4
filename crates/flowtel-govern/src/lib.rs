//! Governance artifacts generated from the conventions, never written by hand.
//!
//! The conventions already say which flows matter, who owns them, their SLOs and latency
//! budgets. This crate turns that into what an SRE team runs, each artifact in the format of
//! the tool that consumes it:
//!
//! | generator | artifact | checked by |
//! |---|---|---|
//! | [`Generator::Slo`] | Prometheus recording and alerting rules ([`slo`]) | `promtool check rules`, `promtool test rules` |
//! | [`Generator::Alerts`] | Alertmanager routes, inhibitions, receivers ([`alertmanager`]) | `amtool check-config`, `amtool config routes test` |
//! | [`Generator::Dashboards`] | Grafana dashboards, one per flow and an overview ([`dashboards`]) | [`dashboards::lint`] (dashboard-linter rules, known metric names), `@grafana/schema`'s `Dashboard` type with TypeScript |
//! | [`Generator::Runbooks`] | Markdown runbooks, one per flow ([`runbooks`]) | snapshots; every alert of the rules has its section |
//! | [`Generator::Sampling`] | OpenTelemetry Collector `tail_sampling` and `loadbalancing` configuration ([`sampling`]) | the Collector's documented policy types and required keys |
//!
//! Every generator reads one [`plan::Plan`] (the flows resolved once) and returns plain data,
//! an [`Output`]: files by relative path and notes for the user. Rendering is deterministic
//! (byte-identical on re-run); [`Output::file_set`] hands the files to the output layer
//! ([`flowtel_conventions::output::files::FileSet`]), which writes them into a folder
//! atomically, compares them with what a folder holds (`--check`, stale files included) or
//! prints them; each generator keeps its own manifest, so generators can share a folder. A
//! flow that lacks what a generator needs is a located finding of the `FT07xx` rules, and
//! nothing is generated.
//!
//! ```
//! let loaded = flowtel_conventions::check_str("flowtel.yaml", "schema: flowtel/v1\nname: demo\nversion: 1.0.0\nattributes:\n  flow.name: {type: string}\n  http.response.status_code: {type: int}\nmetrics:\n  http.server.request.duration: {instrument: histogram, unit: s, labels: [flow.name, http.response.status_code], buckets: [0.1, 0.5]}\nflows:\n  checkout: {owner: team-payments, alert_route: payments-oncall, slo: {availability: 99.9}}\n");
//! let registry = loaded.registry.unwrap();
//! let out = flowtel_govern::Generator::Slo
//!     .generate(&registry, &flowtel_govern::Options::default())
//!     .unwrap();
//! assert!(out.files[0].contents.contains("alert: CheckoutAvailabilityBurnRatePage"));
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod alertmanager;
pub mod burn;
pub mod dashboards;
pub mod names;
pub mod openslo;
pub mod plan;
pub mod promql;
pub mod runbooks;
pub mod sampling;
pub mod slo;
pub mod yaml;

use flowtel_conventions::{Finding, Registry};

use plan::{Need, Plan};

/// Settings shared by the generators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Base URL of the runbooks; a flow's runbook is `<base>/<flow>.md`.
    pub runbook_url: String,
    /// Base URL of Grafana; a flow's dashboard is `<base>/d/flowtel-<flow>`.
    pub dashboard_url: String,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            runbook_url: "https://runbooks.example.invalid/flowtel".into(),
            dashboard_url: "https://grafana.example.invalid".into(),
        }
    }
}

impl Options {
    /// Link to the runbook section of an alert.
    pub fn runbook_link(&self, flow: &str, alert: &str) -> String {
        format!(
            "{}/{flow}.md#{}",
            self.runbook_url.trim_end_matches('/'),
            alert.to_ascii_lowercase()
        )
    }

    /// Link to a flow's dashboard.
    pub fn dashboard_link(&self, flow: &str) -> String {
        format!(
            "{}/d/{}",
            self.dashboard_url.trim_end_matches('/'),
            dashboard_uid(flow)
        )
    }
}

/// Grafana uid of a flow's dashboard.
pub fn dashboard_uid(flow: &str) -> String {
    format!("flowtel-{flow}")
}

/// One generated file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    /// Path relative to the output folder, `/`-separated.
    pub path: String,
    /// Contents.
    pub contents: String,
}

/// What a generator produced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Output {
    /// The files, in a fixed order.
    pub files: Vec<Artifact>,
    /// Things the user should know (an approximated threshold, a missing saturation signal).
    pub notes: Vec<String>,
}

impl Output {
    /// The files as the output layer writes, checks and prints them, owned by `generator`
    /// (its manifest in the folder is `.flowtel-<generator>.generated`).
    pub fn file_set(&self, generator: Generator) -> flowtel_conventions::output::files::FileSet {
        let mut set = flowtel_conventions::output::files::FileSet::owned_by(generator.name());
        for a in &self.files {
            set.add(a.path.clone(), a.contents.as_bytes());
        }
        set
    }
}

/// The generators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Generator {
    /// Prometheus SLO recording rules, burn-rate alerts and early warnings.
    Slo,
    /// Alertmanager configuration routing by flow and owner.
    Alerts,
    /// OpenTelemetry Collector tail sampling per flow, behind a trace-id load balancer.
    Sampling,
    /// OpenSLO v1 documents of the flows' SLOs.
    OpenSlo,
    /// Grafana dashboards: one per flow and an overview.
    Dashboards,
    /// Markdown runbooks, one per flow.
    Runbooks,
}

impl Generator {
    /// The command name (`slo`).
    pub fn name(self) -> &'static str {
        match self {
            Generator::Slo => "slo",
            Generator::Alerts => "alerts",
            Generator::Sampling => "sampling",
            Generator::OpenSlo => "openslo",
            Generator::Dashboards => "dashboards",
            Generator::Runbooks => "runbooks",
        }
    }

    /// What the generator needs of every flow.
    pub fn needs(self) -> &'static [Need] {
        match self {
            Generator::Slo => &[Need::Slo, Need::Route],
            Generator::Alerts => &[Need::Route],
            Generator::Sampling => &[],
            Generator::OpenSlo => &[Need::Slo],
            Generator::Dashboards => &[Need::Slo],
            Generator::Runbooks => &[Need::Slo, Need::Route],
        }
    }

    /// Generates the artifact for `registry`, or the findings that say what the conventions lack.
    pub fn generate(self, registry: &Registry, opts: &Options) -> Result<Output, Vec<Finding>> {
        let plan = Plan::new(registry);
        let findings = plan.require(self.needs());
        if !findings.is_empty() {
            return Err(findings);
        }
        let mut notes = Vec::new();
        let files = match self {
            Generator::Slo => vec![Artifact {
                path: slo::FILE.into(),
                contents: slo::render(&plan, opts, &mut notes),
            }],
            Generator::Alerts => vec![Artifact {
                path: alertmanager::FILE.into(),
                contents: alertmanager::render(&plan),
            }],
            Generator::OpenSlo => vec![Artifact {
                path: openslo::FILE.into(),
                contents: openslo::render(&plan),
            }],
            Generator::Dashboards => dashboards::build(&plan, &mut notes)
                .into_iter()
                .map(|(path, d)| Artifact {
                    path,
                    contents: dashboards::to_json(&d),
                })
                .collect(),
            Generator::Runbooks => {
                for f in &plan.flows {
                    if let Some(gap) = slo::saturation_gap(&plan, f) {
                        notes.push(gap);
                    }
                }
                plan.flows
                    .iter()
                    .map(|f| Artifact {
                        path: runbooks::file(f.name),
                        contents: runbooks::render(&plan, f, opts),
                    })
                    .collect()
            }
            Generator::Sampling => vec![
                Artifact {
                    path: sampling::LOADBALANCING_FILE.into(),
                    contents: sampling::render_loadbalancing(&plan),
                },
                Artifact {
                    path: sampling::TAIL_FILE.into(),
                    contents: sampling::render_tail(&plan, &mut notes),
                },
            ],
        };
        Ok(Output { files, notes })
    }
}
