//! What the generators know about each flow, resolved once from the registry: owner and route,
//! objectives with their error budgets and window, the SLI metric and the PromQL selectors of
//! the flow's entry requests, good and bad events. Generators render a [`Plan`]; they never
//! read the registry's YAML shapes themselves. A flow missing what a generator needs becomes a
//! located finding through [`Plan::require`].

use flowtel_conventions::rules::govern as rules;
use flowtel_conventions::source::Seg;
use flowtel_conventions::validate::bucket_bound;
use flowtel_conventions::{Finding, Flow, Instrument, Location, Metric, Registry};

use crate::names;
use crate::promql::{self, Matcher};

/// What a generator needs of every flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// An SLO with at least one objective, measurable from its SLI metric.
    Slo,
    /// An `owner` and an `alert_route`.
    Route,
}

/// Everything the generators read: the flows, in declaration order.
#[derive(Debug, Clone)]
pub struct Plan<'r> {
    /// The registry the plan was made from.
    pub registry: &'r Registry,
    /// One entry per declared flow, in declaration order.
    pub flows: Vec<FlowPlan<'r>>,
    /// The declared saturation signals, in declaration order.
    pub saturation: Vec<SaturationSignal>,
}

/// A metric declared as a saturation signal (`metrics.<name>.saturation`), as the generators
/// query it: per service instance (Prometheus target labels `job` and `instance`) and per
/// resource (`per`), summed over every other label, against its declared limit.
#[derive(Debug, Clone, PartialEq)]
pub struct SaturationSignal {
    /// OpenTelemetry name (`http.server.active_requests`).
    pub metric: String,
    /// Prometheus name (`http_server_active_requests`).
    pub prometheus: String,
    /// Prometheus name of the derived limit gauge (`http_server_active_requests_limit`), when
    /// the registry declares it.
    pub limit_gauge: Option<String>,
    /// Declared capacity, in the metric's unit.
    pub limit: f64,
    /// Fraction of `limit` at which the signal counts as nearly saturated.
    pub warn: f64,
    /// Prometheus labels of the `per` attributes (one resource each).
    pub per: Vec<String>,
    /// UCUM unit of the metric.
    pub unit: String,
    /// One-line description, if declared.
    pub brief: Option<String>,
}

impl SaturationSignal {
    /// The labels one resource is identified by: the target (`job`, `instance`) and `per`.
    pub fn resource_labels(&self) -> Vec<String> {
        let mut v = vec![TARGET_SERVICE.to_string(), "instance".to_string()];
        v.extend(self.per.iter().cloned());
        v
    }

    /// The signal's level per resource, restricted by `matchers`:
    /// `sum by (job, instance, <per>) (signal{matchers})`.
    pub fn level(&self, matchers: &[Matcher]) -> String {
        let labels = self.resource_labels();
        let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
        promql::sum_by(
            &labels,
            &format!("{}{}", self.prometheus, promql::selector(matchers)),
        )
    }
}

/// The Prometheus target label that names the service: Prometheus's OTLP ingestion and the
/// Collector's Prometheus exporters set `job` to `service.name` (prefixed by
/// `service.namespace/` when there is one); a scrape job is named after the service.
pub const TARGET_SERVICE: &str = "job";

/// One flow, resolved.
#[derive(Debug, Clone)]
pub struct FlowPlan<'r> {
    /// Flow name (`checkout`).
    pub name: &'r str,
    /// The flow as declared.
    pub flow: &'r Flow,
    /// Where the flow is declared (for findings).
    pub location: Option<Location>,
    /// Resolved objectives, when the flow declares an SLO.
    pub slo: Option<Objectives>,
    /// The SLI metric and selectors, when it is declared as a histogram with `flow.name`.
    pub sli: Option<Sli>,
    /// Why the SLO cannot be measured, when it cannot.
    pub sli_problem: Option<String>,
    /// Services on the flow's path (from its steps), in order, without repeats.
    pub services: Vec<&'r str>,
}

/// A flow's objectives.
#[derive(Debug, Clone, PartialEq)]
pub struct Objectives {
    /// Availability objective in percent (`99.9`).
    pub availability: Option<f64>,
    /// Latency objective.
    pub latency: Option<LatencyObjective>,
    /// The window the objectives are measured over.
    pub window: Window,
}

/// A latency objective and the histogram bound that measures it.
#[derive(Debug, Clone, PartialEq)]
pub struct LatencyObjective {
    /// Threshold as written (`500ms`).
    pub threshold_text: String,
    /// Threshold in seconds.
    pub threshold: f64,
    /// Percent of requests that must be faster (`99`).
    pub target: f64,
    /// The bucket bound (`le`) the SLI reads: the threshold itself, or the nearest lower bound
    /// when the threshold is not a bound (stricter than the objective).
    pub bound: f64,
    /// Whether [`Self::bound`] differs from the threshold.
    pub approximated: bool,
}

/// An SLO window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Length in seconds.
    pub seconds: u64,
}

impl Window {
    /// The window as a Prometheus duration (`30d`, `6h`, `5m`).
    pub fn prometheus(self) -> String {
        promql::duration(self.seconds)
    }
}

/// The SLI metric of a flow and the selectors of its events.
#[derive(Debug, Clone, PartialEq)]
pub struct Sli {
    /// OpenTelemetry name (`http.server.request.duration`).
    pub metric: String,
    /// Prometheus base name (`http_server_request_duration_seconds`).
    pub prometheus: String,
    /// Matcher sets of the flow's requests, one per entry route (disjoint; their union is the
    /// flow's traffic).
    pub requests: Vec<Vec<Matcher>>,
    /// Extra matcher sets that select errors among requests (disjoint), empty when the metric
    /// cannot tell errors.
    pub errors: Vec<Vec<Matcher>>,
    /// Declared bucket bounds, if any.
    pub buckets: Option<Vec<f64>>,
}

impl Sli {
    /// Matcher sets selecting errors: every request set crossed with every error set.
    pub fn error_sets(&self) -> Vec<Vec<Matcher>> {
        let mut out = Vec::new();
        for r in &self.requests {
            for e in &self.errors {
                let mut m = r.clone();
                m.extend(e.iter().cloned());
                out.push(m);
            }
        }
        out
    }

    /// Matcher sets selecting the bucket with bound `le`.
    pub fn bucket_sets(&self, le: f64) -> Vec<Vec<Matcher>> {
        self.requests
            .iter()
            .map(|r| {
                let mut m = r.clone();
                m.push(promql::le_matcher(le));
                m
            })
            .collect()
    }
}

/// Percent objective to the budget fraction (`99.9` -> `0.001`), rounded so that decimal
/// objectives give decimal budgets.
pub fn budget(objective_percent: f64) -> f64 {
    round((100.0 - objective_percent) / 100.0, 12)
}

/// Rounds to `digits` decimals (for stable, readable numbers in generated files).
pub fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

impl<'r> Plan<'r> {
    /// Resolves every flow of `registry`.
    pub fn new(registry: &'r Registry) -> Self {
        let flows = registry
            .flows
            .iter()
            .map(|(name, flow)| FlowPlan::new(registry, name, flow))
            .collect();
        let saturation = registry
            .metrics
            .iter()
            .filter_map(|(name, m)| {
                let sat = m.saturation.as_ref()?;
                let limit_name = Metric::limit_metric_name(name);
                Some(SaturationSignal {
                    metric: name.clone(),
                    prometheus: names::metric(name, m),
                    limit_gauge: registry
                        .metrics
                        .get(&limit_name)
                        .map(|lm| names::metric(&limit_name, lm)),
                    limit: sat.limit,
                    warn: sat.warn.unwrap_or(registry.defaults.saturation_warn),
                    per: sat.per.iter().map(|l| names::label(l)).collect(),
                    unit: m.unit.clone(),
                    brief: m.brief.clone(),
                })
            })
            .collect();
        Plan {
            registry,
            flows,
            saturation,
        }
    }

    /// Findings for every flow that lacks what `needs` ask; empty when the plan is complete.
    pub fn require(&self, needs: &[Need]) -> Vec<Finding> {
        let mut out = Vec::new();
        for f in &self.flows {
            for need in needs {
                match need {
                    Need::Slo => out.extend(f.slo_finding()),
                    Need::Route => out.extend(f.route_finding()),
                }
            }
        }
        out
    }
}

impl<'r> FlowPlan<'r> {
    fn new(reg: &'r Registry, name: &'r str, flow: &'r Flow) -> Self {
        let location = reg.origins.flows.get(name).and_then(|file| {
            reg.sources
                .locate(*file, &[Seg::Key("flows"), Seg::Name(name)])
        });
        let mut services: Vec<&str> = Vec::new();
        for s in flow.steps.values() {
            if let Some(svc) = s.service.as_deref()
                && !services.contains(&svc)
            {
                services.push(svc);
            }
        }
        let mut plan = FlowPlan {
            name,
            flow,
            location,
            slo: None,
            sli: None,
            sli_problem: None,
            services,
        };
        let Some(slo) = &flow.slo else {
            return plan;
        };
        let metric_name = slo.sli_metric();
        let window = slo
            .window
            .as_ref()
            .unwrap_or(&reg.defaults.slo_window)
            .get()
            .map(|d| Window {
                seconds: d.as_secs().max(60),
            })
            .unwrap_or(Window {
                seconds: 30 * 86_400,
            });
        let metric = reg.metrics.get(metric_name);
        let sli = match metric {
            None => {
                plan.sli_problem = Some(format!("its SLI metric `{metric_name}` is not declared"));
                None
            }
            Some(m) if m.instrument != Instrument::Histogram => {
                plan.sli_problem = Some(format!(
                    "its SLI metric `{metric_name}` is a {}, not a histogram",
                    m.instrument.as_str()
                ));
                None
            }
            Some(m) if !has(m, "flow.name") => {
                plan.sli_problem = Some(format!(
                    "its SLI metric `{metric_name}` does not carry `flow.name`"
                ));
                None
            }
            Some(m) => Some(Sli::new(metric_name, m, name, flow)),
        };
        let latency = slo.latency.as_ref().and_then(|l| {
            let threshold = l.threshold.seconds()?;
            let buckets = sli.as_ref().and_then(|s| s.buckets.as_deref());
            let (bound, approximated) = match buckets {
                None | Some([]) => (threshold, false),
                Some(b) => match bucket_bound(b, threshold) {
                    Some(exact) => (exact, false),
                    None => match b.iter().copied().rfind(|x| *x < threshold) {
                        Some(lower) => (lower, true),
                        None => {
                            plan.sli_problem = Some(format!(
                                "no bucket bound of `{metric_name}` is at or below its latency threshold {}",
                                l.threshold
                            ));
                            (threshold, false)
                        }
                    },
                },
            };
            Some(LatencyObjective {
                threshold_text: l.threshold.raw().to_string(),
                threshold,
                target: l.target,
                bound,
                approximated,
            })
        });
        if slo.availability.is_some()
            && let Some(s) = &sli
            && s.errors.is_empty()
        {
            plan.sli_problem = Some(format!(
                "its SLI metric `{metric_name}` has none of `http.response.status_code`, `error.type` or `outcome` to tell errors"
            ));
        }
        plan.sli = sli;
        plan.slo = Some(Objectives {
            availability: slo.availability,
            latency,
            window,
        });
        plan
    }

    /// The matcher selecting the series of the services on the flow's path by their target
    /// label ([`TARGET_SERVICE`]), with or without a `service.namespace/` prefix; `None` when
    /// the flow's steps name no service.
    pub fn service_matcher(&self) -> Option<Matcher> {
        if self.services.is_empty() {
            return None;
        }
        let alternatives = self
            .services
            .iter()
            .map(|s| promql::regex_escape(s))
            .collect::<Vec<_>>()
            .join("|");
        Some(Matcher::re(
            TARGET_SERVICE,
            &format!("(.+/)?({alternatives})"),
        ))
    }

    /// The flow's owner, or `unowned`.
    pub fn owner(&self) -> &str {
        self.flow.owner.as_deref().unwrap_or("unowned")
    }

    /// The flow's Alertmanager receiver, or `unrouted`.
    pub fn route(&self) -> &str {
        self.flow.alert_route.as_deref().unwrap_or("unrouted")
    }

    /// The objectives and the SLI, when the flow has both (what SLO rules need).
    pub fn measured(&self) -> Option<(&Objectives, &Sli)> {
        match (&self.slo, &self.sli, &self.sli_problem) {
            (Some(o), Some(s), None) if o.availability.is_some() || o.latency.is_some() => {
                Some((o, s))
            }
            _ => None,
        }
    }

    fn slo_finding(&self) -> Option<Finding> {
        let name = self.name;
        let finding = match (&self.slo, &self.sli_problem) {
            (None, _) => Finding::new(&rules::FLOW_WITHOUT_SLO, format!("flow `{name}` has no SLO"))
                .help("add `slo: {availability: 99.9, latency: {threshold: 500ms, target: 99}}` to the flow"),
            (Some(o), _) if o.availability.is_none() && o.latency.is_none() => Finding::new(
                &rules::FLOW_WITHOUT_SLO,
                format!("the SLO of flow `{name}` has neither `availability` nor `latency`"),
            )
            .help("add `availability: 99.9` or `latency: {threshold: 500ms, target: 99}` to `slo`"),
            (Some(_), Some(problem)) => Finding::new(
                &rules::SLI_NOT_MEASURABLE,
                format!("the SLO of flow `{name}` cannot be measured: {problem}"),
            )
            .help("declare the SLI metric as a histogram with `flow.name`, `http.response.status_code` and `error.type` (or name another with `slo.sli`)"),
            (Some(_), None) => return None,
        };
        Some(finding.at(self.location.clone()).subject("flow", name))
    }

    fn route_finding(&self) -> Option<Finding> {
        let name = self.name;
        if self
            .flow
            .alert_route
            .as_deref()
            .is_some_and(|r| !r.trim().is_empty())
            && self
                .flow
                .owner
                .as_deref()
                .is_some_and(|o| !o.trim().is_empty())
        {
            return None;
        }
        let what = if self.flow.owner.is_none() {
            "no `owner`"
        } else {
            "no `alert_route`"
        };
        Some(
            Finding::new(
                &rules::FLOW_WITHOUT_ALERT_ROUTE,
                format!("flow `{name}` has {what}, so its alerts reach nobody"),
            )
            .at(self.location.clone())
            .subject("flow", name)
            .help("add `owner: <team>` and `alert_route: <alertmanager receiver>` to the flow"),
        )
    }
}

fn has(m: &Metric, label: &str) -> bool {
    m.labels.iter().any(|l| l == label)
}

impl Sli {
    fn new(metric_name: &str, m: &Metric, flow_name: &str, flow: &Flow) -> Self {
        let flow_matcher = Matcher::eq(&names::label("flow.name"), flow_name);
        let method = has(m, "http.request.method");
        let route = has(m, "http.route");
        let mut requests: Vec<Vec<Matcher>> = Vec::new();
        if method || route {
            for entry in &flow.entry {
                let Some((verb, path)) = entry.method().zip(entry.route()) else {
                    continue;
                };
                let path = path.as_str();
                let mut set = vec![flow_matcher.clone()];
                if method {
                    set.push(Matcher::eq(
                        &names::label("http.request.method"),
                        &verb.to_ascii_uppercase(),
                    ));
                }
                if route {
                    set.push(Matcher::eq(&names::label("http.route"), path));
                }
                if !requests.contains(&set) {
                    requests.push(set);
                }
            }
        }
        if requests.is_empty() {
            requests.push(vec![flow_matcher]);
        }
        let status = has(m, "http.response.status_code");
        let error_type = has(m, "error.type");
        let et = names::label("error.type");
        let sc = names::label("http.response.status_code");
        let errors = match (error_type, status) {
            (true, true) => vec![
                vec![Matcher::ne(&et, "")],
                vec![Matcher::eq(&et, ""), Matcher::re(&sc, "5..")],
            ],
            (true, false) => vec![vec![Matcher::ne(&et, "")]],
            (false, true) => vec![vec![Matcher::re(&sc, "5..")]],
            (false, false) if has(m, "outcome") => {
                vec![vec![Matcher::eq(&names::label("outcome"), "error")]]
            }
            (false, false) => Vec::new(),
        };
        Sli {
            metric: metric_name.to_string(),
            prometheus: names::metric(metric_name, m),
            requests,
            errors,
            buckets: m.buckets.clone(),
        }
    }
}
