//! Shared fixtures of the unit tests.

use flowtel_conventions::Registry;

use crate::trace::{AssemblyOptions, TraceSet, TraceSetBuilder};

pub(crate) const CONVENTIONS: &str = r#"
schema: flowtel/v1
name: test
version: 1.0.0
attributes:
  flow.name: {type: string}
flows:
  checkout:
    owner: team-payments
    entry: ['POST /checkout', 'POST /orders/{id}/pay']
    steps:
      payment.authorize: {service: payments, budget: {p95: 250ms}}
    slo: {latency: {threshold: 500ms, target: 99}}
  login:
    owner: team-identity
    entry: ['POST /login']
"#;

pub(crate) fn registry() -> Registry {
    let loaded = flowtel_conventions::check_str("test.yaml", CONVENTIONS);
    assert!(
        loaded
            .findings
            .iter()
            .all(|f| f.severity < flowtel_conventions::Severity::Error),
        "{:?}",
        loaded.findings
    );
    loaded.registry.expect("test conventions load")
}

/// Assembles `(service, span)` pairs.
pub(crate) fn assemble(spans: Vec<(&str, flowtel_otlp::Span)>) -> TraceSet {
    let reg = registry();
    let mut b = TraceSetBuilder::new(&reg, AssemblyOptions::default());
    for (svc, s) in &spans {
        b.add_span(svc, s);
    }
    b.finish()
}
