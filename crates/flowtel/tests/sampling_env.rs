//! `OTEL_TRACES_SAMPLER` wins over the conventions' sampling, as OpenTelemetry users expect.
//! (Its own test binary: it sets a process-wide variable.)

mod common;

use tracing::field::Empty;

#[test]
fn otel_traces_sampler_overrides_flow_sampling() {
    // SAFETY: this binary has a single test, so no other thread reads the environment while
    // it is set.
    unsafe { std::env::set_var("OTEL_TRACES_SAMPLER", "always_off") };
    let (telemetry, dispatch) = flowtel::init(common::conventions())
        .service("gateway", "1.0.0")
        .in_memory()
        .build()
        .expect("telemetry");
    tracing::dispatcher::with_default(&dispatch, || {
        for _ in 0..20 {
            // checkout is kept at 100% by the conventions.
            let f = tracing::info_span!(
                target: "flowtel::flow",
                "flow",
                flowtel.kind = "flow",
                flow.name = "checkout",
                otel.name = "checkout",
                outcome = Empty,
                error.type = Empty,
            );
            let _f = f.enter();
            f.record("outcome", "ok");
        }
    });
    let metrics = telemetry.finished_metrics().expect("metrics");
    telemetry.flush();
    assert!(telemetry.finished_spans().is_empty());
    let requests: f64 = common::points(&metrics, "flow.requests")
        .iter()
        .map(|p| p.value)
        .sum();
    assert_eq!(requests, 20.0, "metrics are never sampled");
}
