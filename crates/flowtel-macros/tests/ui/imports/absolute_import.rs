// Compiled against a registry whose `flowtel.yaml` imports the platform layer by absolute path
// (`tests/imports.rs` writes it): the registry `conventions!()` builds at run time holds the
// imported metrics, and a flow records them.

#[flowtel::flow("signup")]
fn signup() -> Result<(), std::fmt::Error> {
    validate();
    Ok(())
}

#[flowtel::step("form.validate")]
fn validate() {}

fn main() {
    let conventions = flowtel::conventions!();
    assert!(
        conventions.metrics.contains_key("flow.requests"),
        "the absolutely imported metric is in the run-time registry: {:?}",
        conventions.metrics.keys().collect::<Vec<_>>()
    );
    let (telemetry, dispatch) = flowtel::init(conventions)
        .service("signup", "0.1.0")
        .in_memory()
        .build()
        .expect("init");
    tracing::dispatcher::with_default(&dispatch, || signup().expect("signup"));
    let rm = telemetry.finished_metrics().expect("in-memory metrics");
    let recorded: Vec<&str> = rm
        .scope_metrics()
        .flat_map(|s| s.metrics().map(|m| m.name()))
        .collect();
    for name in ["flow.requests", "flow.duration", "flow.step.duration"] {
        assert!(recorded.contains(&name), "`{name}` recorded: {recorded:?}");
    }
}
