//! End to end with the runtime: spans opened by `#[flowtel::flow]` and `#[flowtel::step]` feed
//! flowtel's `FlowLayer`, which records the registry's RED metrics with the right labels.

use opentelemetry::Value;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics};

#[derive(Debug)]
enum PaymentError {
    Declined,
}

impl flowtel::ErrorKind for PaymentError {
    fn kind(&self) -> &'static str {
        match self {
            PaymentError::Declined => "card_declined",
        }
    }
}

#[flowtel::flow("checkout")]
fn checkout(amount: u64) -> Result<u64, PaymentError> {
    let n = load_cart();
    authorize(amount * n)
}

#[flowtel::step("cart.load")]
fn load_cart() -> u64 {
    2
}

#[flowtel::step("payment.authorize")]
fn authorize(amount: u64) -> Result<u64, PaymentError> {
    if amount > 100 {
        Err(PaymentError::Declined)
    } else {
        Ok(amount)
    }
}

/// `(sorted labels, count or value)` of every point of `name`.
fn points(rm: &ResourceMetrics, name: &str) -> Vec<(Vec<(String, String)>, u64)> {
    let labels = |it: &mut dyn Iterator<Item = &opentelemetry::KeyValue>| {
        let mut v: Vec<(String, String)> = it
            .map(|kv| {
                let value = match &kv.value {
                    Value::String(s) => s.as_str().to_owned(),
                    other => other.to_string(),
                };
                (kv.key.as_str().to_owned(), value)
            })
            .collect();
        v.sort();
        v
    };
    let mut out = Vec::new();
    for sm in rm.scope_metrics() {
        for m in sm.metrics().filter(|m| m.name() == name) {
            match m.data() {
                AggregatedMetrics::U64(MetricData::Sum(s)) => out.extend(
                    s.data_points()
                        .map(|p| (labels(&mut p.attributes()), p.value())),
                ),
                AggregatedMetrics::F64(MetricData::Histogram(h)) => out.extend(
                    h.data_points()
                        .map(|p| (labels(&mut p.attributes()), p.count())),
                ),
                _ => {}
            }
        }
    }
    out.sort();
    out
}

fn kv(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn steps_inherit_the_flow_and_feed_red_metrics() {
    let (telemetry, dispatch) = flowtel::init(flowtel::conventions!())
        .service("gateway", "1.0.0")
        .in_memory()
        .build()
        .expect("init");
    tracing::dispatcher::with_default(&dispatch, || {
        assert!(checkout(10).is_ok());
        assert!(checkout(10).is_ok());
        assert!(checkout(1000).is_err());
    });
    let rm = telemetry.finished_metrics().expect("in-memory metrics");

    assert_eq!(
        points(&rm, "flow.step.duration"),
        vec![
            (
                kv(&[
                    ("flow.name", "checkout"),
                    ("flow.step", "cart.load"),
                    ("outcome", "ok")
                ]),
                3
            ),
            (
                kv(&[
                    ("flow.name", "checkout"),
                    ("flow.step", "payment.authorize"),
                    ("outcome", "error")
                ]),
                1
            ),
            (
                kv(&[
                    ("flow.name", "checkout"),
                    ("flow.step", "payment.authorize"),
                    ("outcome", "ok")
                ]),
                2
            ),
        ]
    );
    assert_eq!(
        points(&rm, "flow.step.errors"),
        vec![(
            kv(&[
                ("error.type", "card_declined"),
                ("flow.name", "checkout"),
                ("flow.step", "payment.authorize")
            ]),
            1
        )]
    );
    assert_eq!(
        points(&rm, "flow.requests"),
        vec![
            (kv(&[("flow.name", "checkout"), ("outcome", "error")]), 1),
            (kv(&[("flow.name", "checkout"), ("outcome", "ok")]), 2),
        ]
    );
}
