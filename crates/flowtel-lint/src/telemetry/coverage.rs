//! Filling [`Seen`] from telemetry batches, for the coverage report of `lint telemetry` and
//! `flowtel live` (the comparison itself is [`flowtel_conventions::coverage`]).
//!
//! Spans and metric points carrying `flow.name` (and `flow.step`) mark their flow and step as
//! seen, and the resource's `service.name` as a service of that flow; server spans and
//! `http.server.request.duration` points mark their `METHOD /route` as seen; every declared
//! metric that arrives is marked. Prometheus expositions count through the
//! OpenTelemetry-to-Prometheus names (they carry no resource, so no services). Only declared
//! names are kept, so memory is bounded by the registry, whatever arrives.

use std::collections::HashMap;

use flowtel_conventions::Registry;
use flowtel_conventions::coverage::Seen;
use flowtel_otlp::{AnyValue, Batch, KeyValue, SpanKind};

const SERVER_DURATION: &str = "http.server.request.duration";

/// A declared flow and which of its items were seen.
#[derive(Default)]
struct FlowMarks {
    seen: bool,
    steps: HashMap<String, bool>,
    services: HashMap<String, bool>,
}

/// Collects what a run has seen of the registry's flows, steps, services, routes and metrics.
/// Marks are flags on the declared names, so the hot path looks up and never allocates.
pub(crate) struct SeenCollector {
    flows: HashMap<String, FlowMarks>,
    /// Declared entry routes (`POST /checkout`) and whether seen.
    routes: HashMap<String, bool>,
    /// Declared metrics and whether seen.
    metrics: HashMap<String, bool>,
    /// Prometheus family name -> declared metric.
    prometheus: HashMap<String, String>,
}

impl SeenCollector {
    pub(crate) fn new(reg: &Registry) -> Self {
        let flows = reg
            .flows
            .iter()
            .map(|(name, f)| {
                let marks = FlowMarks {
                    seen: false,
                    steps: f.steps.keys().map(|s| (s.clone(), false)).collect(),
                    services: f
                        .steps
                        .values()
                        .filter_map(|s| s.service.clone())
                        .map(|s| (s, false))
                        .collect(),
                };
                (name.clone(), marks)
            })
            .collect();
        let routes = reg
            .flows
            .values()
            .flat_map(|f| f.entry.iter())
            .filter_map(|e| {
                let mut p = e.as_str().split_whitespace();
                Some((
                    format!("{} {}", p.next()?.to_ascii_uppercase(), p.next()?),
                    false,
                ))
            })
            .collect();
        let mut prometheus = HashMap::new();
        for (name, m) in &reg.metrics {
            let prom = flowtel_conventions::prometheus::metric_name(name, m);
            if let Some(base) = prom.strip_suffix("_total") {
                prometheus.insert(base.to_owned(), name.clone());
            }
            prometheus.insert(prom, name.clone());
        }
        SeenCollector {
            flows,
            routes,
            metrics: reg.metrics.keys().map(|m| (m.clone(), false)).collect(),
            prometheus,
        }
    }

    /// What was seen, as plain names.
    pub(crate) fn seen(&self) -> Seen {
        let mut seen = Seen::default();
        for (flow, marks) in &self.flows {
            if marks.seen {
                seen.flow(flow);
            }
            for (step, _) in marks.steps.iter().filter(|(_, s)| **s) {
                seen.step(flow, step);
            }
            for (service, _) in marks.services.iter().filter(|(_, s)| **s) {
                seen.service(flow, service);
            }
        }
        for (route, _) in self.routes.iter().filter(|(_, s)| **s) {
            seen.routes.insert(route.clone());
        }
        for (metric, _) in self.metrics.iter().filter(|(_, s)| **s) {
            seen.metric(metric);
        }
        seen
    }

    pub(crate) fn batch(&mut self, batch: &Batch) {
        if let Some(exp) = &batch.prometheus {
            for family in &exp.families {
                let Some(metric) = self.prometheus.get(&family.name) else {
                    continue;
                };
                let server = metric == SERVER_DURATION;
                if let Some(m) = self.metrics.get_mut(metric) {
                    *m = true;
                }
                for s in &family.samples {
                    let label = |k: &str| {
                        s.labels
                            .iter()
                            .find(|(n, _)| n == k)
                            .map(|(_, v)| v.as_str())
                    };
                    self.item(label("flow_name"), label("flow_step"), None);
                    if server {
                        self.route(label("http_request_method"), label("http_route"));
                    }
                }
            }
            return;
        }
        for s in batch.spans() {
            let service = service(&s.resource.attributes);
            let a = &s.item.attributes;
            self.item(text(a, "flow.name"), text(a, "flow.step"), service);
            if s.item.kind == SpanKind::Server {
                self.route(text(a, "http.request.method"), text(a, "http.route"));
            }
        }
        for l in batch.log_records() {
            let a = &l.item.attributes;
            let service = service(&l.resource.attributes);
            self.item(text(a, "flow.name"), text(a, "flow.step"), service);
        }
        for m in batch.metrics() {
            let name = m.item.name.as_str();
            let Some(mark) = self.metrics.get_mut(name) else {
                continue;
            };
            *mark = true;
            let service = service(&m.resource.attributes);
            for p in &m.item.points {
                let a = &p.attributes;
                self.item(text(a, "flow.name"), text(a, "flow.step"), service);
                if name == SERVER_DURATION {
                    self.route(text(a, "http.request.method"), text(a, "http.route"));
                }
            }
        }
    }

    fn item(&mut self, flow: Option<&str>, step: Option<&str>, service: Option<&str>) {
        let Some(marks) = flow.and_then(|f| self.flows.get_mut(f)) else {
            return;
        };
        marks.seen = true;
        if let Some(s) = step.and_then(|s| marks.steps.get_mut(s)) {
            *s = true;
        }
        if let Some(s) = service.and_then(|s| marks.services.get_mut(s)) {
            *s = true;
        }
    }

    fn route(&mut self, method: Option<&str>, route: Option<&str>) {
        if self.routes.is_empty() {
            return;
        }
        let (Some(method), Some(route)) = (method, route) else {
            return;
        };
        // Methods arrive upper case; the one allocation is per server item with a route.
        let key = format!("{} {route}", method.to_ascii_uppercase());
        if let Some(r) = self.routes.get_mut(&key) {
            *r = true;
        }
    }
}

fn text<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a str> {
    flowtel_otlp::attribute(attrs, key).and_then(AnyValue::as_str)
}

fn service(attrs: &[KeyValue]) -> Option<&str> {
    text(attrs, "service.name")
}
