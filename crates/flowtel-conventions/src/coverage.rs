//! Flow visibility coverage: what the conventions declare against what telemetry showed.
//!
//! The "declared" side is the registry; the "seen" side is [`Seen`], plain names that whoever
//! reads telemetry fills in (the telemetry linter and `flowtel live` from spans and metric
//! points, flow analysis from assembled traces). [`coverage`] compares the two and returns
//! [`Coverage`], plain serializable data that reports render.
//!
//! Per flow, the declared items are: the flow itself, each of its steps, each service its steps
//! name, and each entry route (`METHOD /template`). A flow's figure is the share of those items
//! seen; the overall figure is the share over every flow's items together, so a flow with many
//! steps weighs more than one with none. Declared metrics never received are listed beside the
//! figures, not counted in them (a metric may legitimately be quiet, a flow should not be).
//!
//! ```
//! use flowtel_conventions::coverage::{Seen, coverage};
//! let reg = flowtel_conventions::check_str(
//!     "flowtel.yaml",
//!     "schema: flowtel/v1\nname: demo\nversion: 1.0.0\nflows:\n  signup:\n    owner: growth\n    steps:\n      form.validate: {service: signup}\n  refund: {owner: billing}\n",
//! ).registry.unwrap();
//! let mut seen = Seen::default();
//! seen.flow("signup");
//! seen.step("signup", "form.validate");
//! seen.service("signup", "signup");
//! let cov = coverage(&reg, &seen);
//! assert_eq!(cov.flows[0].coverage, 1.0);
//! assert_eq!(cov.flows[1].coverage, 0.0); // `refund` never seen
//! assert_eq!(cov.overall, 0.75);
//! ```

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::load::Registry;
use crate::route::EntryRoute;

/// What telemetry showed, as names. Fill it with the methods (or the fields) while reading;
/// only names the registry declares matter to [`coverage`], so a reader may skip the rest to
/// keep memory bounded by the registry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seen {
    /// Flows that appeared (a span or metric point carrying `flow.name`).
    pub flows: BTreeSet<String>,
    /// `(flow, step)` pairs that appeared.
    pub steps: BTreeSet<(String, String)>,
    /// `(flow, service)`: services (`service.name` of the resource) that sent telemetry of a
    /// flow.
    pub services: BTreeSet<(String, String)>,
    /// Server routes that appeared, as `METHOD /template` (from server spans or
    /// `http.server.request.duration` points).
    pub routes: BTreeSet<String>,
    /// Metrics that arrived, by name.
    pub metrics: BTreeSet<String>,
}

impl Seen {
    /// Records a flow.
    pub fn flow(&mut self, flow: &str) {
        if !self.flows.contains(flow) {
            self.flows.insert(flow.to_owned());
        }
    }

    /// Records a step of a flow (and the flow).
    pub fn step(&mut self, flow: &str, step: &str) {
        self.flow(flow);
        let key = (flow.to_owned(), step.to_owned());
        self.steps.insert(key);
    }

    /// Records that `service` sent telemetry of `flow`.
    pub fn service(&mut self, flow: &str, service: &str) {
        self.services.insert((flow.to_owned(), service.to_owned()));
    }

    /// Records a server route (`method` upper case, `route` the template).
    pub fn route(&mut self, method: &str, route: &str) {
        let key = format!("{} {route}", method.to_ascii_uppercase());
        self.routes.insert(key);
    }

    /// Records a metric.
    pub fn metric(&mut self, name: &str) {
        if !self.metrics.contains(name) {
            self.metrics.insert(name.to_owned());
        }
    }

    /// Adds everything `other` saw.
    pub fn merge(&mut self, other: Seen) {
        self.flows.extend(other.flows);
        self.steps.extend(other.steps);
        self.services.extend(other.services);
        self.routes.extend(other.routes);
        self.metrics.extend(other.metrics);
    }
}

/// Declared versus seen, for one kind of item of a flow.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Items {
    /// Declared items that were seen.
    pub seen: Vec<String>,
    /// Declared items that were not seen.
    pub missing: Vec<String>,
}

impl Items {
    fn of<'a>(declared: impl IntoIterator<Item = &'a str>, seen: impl Fn(&str) -> bool) -> Items {
        let mut out = Items::default();
        for d in declared {
            if seen(d) {
                out.seen.push(d.to_owned());
            } else {
                out.missing.push(d.to_owned());
            }
        }
        out
    }

    fn declared(&self) -> usize {
        self.seen.len() + self.missing.len()
    }
}

/// Coverage of one declared flow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlowCoverage {
    /// The flow.
    pub flow: String,
    /// Whether any telemetry of the flow arrived.
    pub seen: bool,
    /// Its steps.
    pub steps: Items,
    /// The services its steps name.
    pub services: Items,
    /// Its entry routes.
    pub entry: Items,
    /// Items seen over items declared (the flow itself, steps, services, entry routes), 0 to 1.
    pub coverage: f64,
}

/// Coverage of a whole registry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Coverage {
    /// Per declared flow, in declaration order.
    pub flows: Vec<FlowCoverage>,
    /// Share of every flow's items seen, 0 to 1 (1 when the registry declares no flows).
    pub overall: f64,
    /// Declared metrics of which nothing arrived, in declaration order.
    pub metrics_never_received: Vec<String>,
    /// Declared metrics, for the ratio.
    pub metrics_declared: usize,
}

impl Coverage {
    /// The flows whose coverage is below `min`.
    pub fn below(&self, min: f64) -> impl Iterator<Item = &FlowCoverage> {
        self.flows.iter().filter(move |f| f.coverage < min)
    }

    /// The coverage as people read it: one line per flow with what is missing, then the
    /// metrics never received and the overall figure.
    pub fn human(&self) -> String {
        let mut out = String::from("coverage of the declared flows:\n");
        if self.flows.is_empty() {
            out.push_str("  (the conventions declare no flows)\n");
        }
        for f in &self.flows {
            let d = 1 + f.steps.declared() + f.services.declared() + f.entry.declared();
            let s = usize::from(f.seen)
                + f.steps.seen.len()
                + f.services.seen.len()
                + f.entry.seen.len();
            out.push_str(&format!(
                "  {:<20} {:>5.1}%  ({s}/{d} items)",
                f.flow,
                f.coverage * 100.0
            ));
            if !f.seen {
                out.push_str("  never seen");
            } else {
                let mut gaps = Vec::new();
                for (what, items) in [
                    ("steps", &f.steps),
                    ("services", &f.services),
                    ("entry", &f.entry),
                ] {
                    if !items.missing.is_empty() {
                        gaps.push(format!("{what} not seen: {}", items.missing.join(", ")));
                    }
                }
                if !gaps.is_empty() {
                    out.push_str("  ");
                    out.push_str(&gaps.join("; "));
                }
            }
            out.push('\n');
        }
        if !self.metrics_never_received.is_empty() {
            out.push_str(&format!(
                "  metrics never received ({} of {}): {}\n",
                self.metrics_never_received.len(),
                self.metrics_declared,
                self.metrics_never_received.join(", ")
            ));
        }
        out.push_str(&format!("  overall: {:.1}%\n", self.overall * 100.0));
        out
    }
}

/// Compares what `reg` declares with what `seen` holds.
pub fn coverage(reg: &Registry, seen: &Seen) -> Coverage {
    let mut flows = Vec::with_capacity(reg.flows.len());
    let (mut total_seen, mut total) = (0usize, 0usize);
    for (name, flow) in &reg.flows {
        let has = |set: &BTreeSet<(String, String)>, item: &str| {
            set.contains(&(name.clone(), item.to_owned()))
        };
        let steps = Items::of(flow.steps.keys().map(String::as_str), |s| {
            has(&seen.steps, s)
        });
        let services: BTreeSet<&str> = flow
            .steps
            .values()
            .filter_map(|s| s.service.as_deref())
            .collect();
        let services = Items::of(services, |s| has(&seen.services, s));
        let entry = Items::of(flow.entry.iter().map(EntryRoute::as_str), |e| {
            seen.routes.contains(&normalize_entry(e))
        });
        let was_seen = seen.flows.contains(name);
        let declared = 1 + steps.declared() + services.declared() + entry.declared();
        let got = usize::from(was_seen) + steps.seen.len() + services.seen.len() + entry.seen.len();
        total += declared;
        total_seen += got;
        flows.push(FlowCoverage {
            flow: name.clone(),
            seen: was_seen,
            steps,
            services,
            entry,
            coverage: ratio(got, declared),
        });
    }
    let metrics_never_received = reg
        .metrics
        .keys()
        .filter(|m| !seen.metrics.contains(*m))
        .cloned()
        .collect();
    Coverage {
        flows,
        overall: ratio(total_seen, total),
        metrics_never_received,
        metrics_declared: reg.metrics.len(),
    }
}

/// `post  /checkout` -> `POST /checkout`, as [`Seen::route`] writes routes.
fn normalize_entry(entry: &str) -> String {
    let mut parts = entry.split_whitespace();
    match (parts.next(), parts.next()) {
        (Some(m), Some(r)) => format!("{} {r}", m.to_ascii_uppercase()),
        _ => entry.trim().to_owned(),
    }
}

fn ratio(seen: usize, declared: usize) -> f64 {
    if declared == 0 {
        1.0
    } else {
        seen as f64 / declared as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reg() -> Registry {
        crate::check_str(
            "x.yaml",
            "schema: flowtel/v1\nname: x\nversion: 1.0.0\n\
             attributes:\n  flow.name: {type: string}\n\
             metrics:\n  flow.requests: {instrument: counter, unit: '{request}', labels: [flow.name]}\n  \
             orders.queue.depth: {instrument: updown_counter, unit: '{order}'}\n\
             flows:\n  checkout:\n    owner: t\n    entry: ['POST /checkout']\n    steps:\n      \
             cart.load: {service: gateway}\n      payment.authorize: {service: payments}\n  \
             refund: {owner: t}\n",
        )
        .registry
        .unwrap()
    }

    #[test]
    fn a_declared_flow_never_exercised_is_uncovered() {
        let reg = reg();
        let mut seen = Seen::default();
        seen.step("checkout", "cart.load");
        seen.service("checkout", "gateway");
        seen.route("post", "/checkout");
        seen.metric("flow.requests");
        let cov = coverage(&reg, &seen);
        let checkout = &cov.flows[0];
        assert!(checkout.seen);
        assert_eq!(checkout.steps.missing, ["payment.authorize"]);
        assert_eq!(checkout.services.missing, ["payments"]);
        assert_eq!(checkout.entry.seen, ["POST /checkout"]);
        // flow, cart.load, gateway, POST /checkout of 6 items.
        assert!((checkout.coverage - 4.0 / 6.0).abs() < 1e-9);
        let refund = &cov.flows[1];
        assert!(!refund.seen);
        assert_eq!(refund.coverage, 0.0);
        assert!((cov.overall - 4.0 / 7.0).abs() < 1e-9);
        assert_eq!(cov.metrics_never_received, ["orders.queue.depth"]);
        assert_eq!(cov.below(0.9).count(), 2);
        let text = cov.human();
        assert!(text.contains("refund"), "{text}");
        assert!(text.contains("never seen"), "{text}");
        assert!(text.contains("steps not seen: payment.authorize"), "{text}");
        assert!(text.contains("overall: 57.1%"), "{text}");
    }

    #[test]
    fn everything_seen_is_full_coverage() {
        let reg = reg();
        let mut seen = Seen::default();
        for step in ["cart.load", "payment.authorize"] {
            seen.step("checkout", step);
        }
        seen.service("checkout", "gateway");
        seen.service("checkout", "payments");
        seen.route("POST", "/checkout");
        seen.flow("refund");
        let cov = coverage(&reg, &seen);
        assert_eq!(cov.overall, 1.0);
        assert_eq!(cov.below(1.0).count(), 0);
    }
}
