//! Properties of the limiter under concurrent writers: whatever label values arrive, from
//! however many threads, no cap is ever exceeded and every record lands in exactly one series.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use flowtel::Violations;
use flowtel::limits::{CardinalityLimiter, LabelSpec, OTHER, OVERFLOW_KEY, ValueCap};
use opentelemetry::{Key, KeyValue, Value};
use proptest::prelude::*;

/// A handle that counts its records, and the label set it was bound to.
struct Handle {
    labels: Vec<KeyValue>,
    count: AtomicU64,
}

fn limiter(
    limit: usize,
    route_cap: usize,
    bound: Arc<Mutex<Vec<Arc<Handle>>>>,
    violations: Arc<Violations>,
) -> (CardinalityLimiter<Arc<Handle>>, Arc<ValueCap>) {
    let cap = Arc::new(ValueCap::new(route_cap));
    let labels = vec![
        LabelSpec {
            key: Key::from_static_str("http.route"),
            cap: Some(cap.clone()),
        },
        LabelSpec {
            key: Key::from_static_str("tenant"),
            cap: None,
        },
    ];
    let l = CardinalityLimiter::new(
        "prop.metric",
        labels,
        vec![Key::from_static_str("user.id")],
        limit,
        violations,
        Box::new(move |kvs: &[KeyValue]| {
            let h = Arc::new(Handle {
                labels: kvs.to_vec(),
                count: AtomicU64::new(0),
            });
            bound.lock().unwrap().push(h.clone());
            h
        }),
    );
    (l, cap)
}

fn value() -> impl Strategy<Value = String> {
    // Small alphabets collide often (same series from many threads); long strings probe the
    // value-length cap.
    prop_oneof!["[a-c]{1,2}", "/r/[0-9]{1,4}", "[a-z]{250,300}",]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn caps_hold_under_concurrent_writers(
        limit in 1usize..64,
        route_cap in 1usize..32,
        threads in 2usize..8,
        records in proptest::collection::vec((value(), value(), any::<bool>()), 1..400),
    ) {
        let bound = Arc::new(Mutex::new(Vec::new()));
        let (l, cap) = limiter(limit, route_cap, bound.clone(), Arc::new(Violations::new()));
        let records = Arc::new(records);
        std::thread::scope(|s| {
            for t in 0..threads {
                let (l, records) = (&l, records.clone());
                s.spawn(move || {
                    // Each thread walks the records from its own offset.
                    for i in 0..records.len() {
                        let (route, tenant, pii) = &records[(i + t * 7) % records.len()];
                        let mut attrs = vec![
                            KeyValue::new("tenant", tenant.clone()),
                            KeyValue::new("http.route", route.clone()),
                        ];
                        if *pii {
                            attrs.push(KeyValue::new("user.id", "someone"));
                        }
                        l.with_series(&attrs, |h| h.count.fetch_add(1, Ordering::Relaxed));
                    }
                });
            }
        });
        let bound = bound.lock().unwrap();
        // Never more series than the limit, plus at most one overflow series.
        prop_assert!(l.len() <= limit);
        let overflow: Vec<_> = bound.iter().filter(|h| h.labels == [KeyValue::new(OVERFLOW_KEY, true)]).collect();
        prop_assert!(overflow.len() <= 1);
        prop_assert_eq!(bound.len() - overflow.len(), l.len());
        // Never more distinct routes than the cap; `_OTHER` is the only extra value.
        prop_assert!(cap.len() <= route_cap);
        let routes: HashSet<String> = bound
            .iter()
            .flat_map(|h| h.labels.iter())
            .filter(|kv| kv.key.as_str() == "http.route")
            .map(|kv| kv.value.to_string())
            .filter(|v| v != OTHER)
            .collect();
        prop_assert!(routes.len() <= route_cap);
        // Undeclared labels never reach a series; every record is counted exactly once.
        for h in bound.iter() {
            prop_assert!(h.labels.iter().all(|kv| kv.key.as_str() != "user.id"));
            for kv in &h.labels {
                if let Value::String(s) = &kv.value {
                    prop_assert!(s.as_str().len() <= flowtel::limits::MAX_VALUE_LEN);
                }
            }
        }
        let total: u64 = bound.iter().map(|h| h.count.load(Ordering::Relaxed)).sum();
        prop_assert_eq!(total, (threads * records.len()) as u64);
        // Distinct bound label sets: no series was bound twice.
        let distinct: HashSet<String> = bound.iter().map(|h| format!("{:?}", h.labels)).collect();
        prop_assert_eq!(distinct.len(), bound.len());
    }
}

/// Values of every kind: clean ones, and ones shaped like personal data.
fn maybe_personal() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-c]{1,2}",
        "/r/[0-9]{1,3}",
        "[a-z]{1,8}@[a-z]{1,6}\\.(com|org)",
        Just("4111 1111 1111 1111".to_string()),
        "\\+44 [0-9]{2} [0-9]{4} [0-9]{4}",
        "(10|192)\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}",
        "[ -~]{0,40}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn values_shaped_like_personal_data_never_reach_a_series(
        limit in 1usize..64,
        route_cap in 1usize..32,
        records in proptest::collection::vec((maybe_personal(), maybe_personal()), 1..300),
    ) {
        let detector = Arc::new(flowtel_conventions::pii::Detector::default());
        let bound = Arc::new(Mutex::new(Vec::new()));
        let violations = Arc::new(Violations::new());
        let (l, cap) = limiter(limit, route_cap, bound.clone(), violations.clone());
        let l = l.with_pii_shapes(detector.clone(), &[]);
        let personal = |s: &str| detector.value_shape(s).is_some();
        let mut expected_drops = 0u64;
        for (route, tenant) in &records {
            expected_drops += u64::from(personal(route)) + u64::from(personal(tenant));
            let attrs = [
                KeyValue::new("http.route", route.clone()),
                KeyValue::new("tenant", tenant.clone()),
            ];
            l.with_series(&attrs, |h| h.count.fetch_add(1, Ordering::Relaxed));
        }
        let bound = bound.lock().unwrap();
        for h in bound.iter() {
            for kv in &h.labels {
                prop_assert!(!personal(&kv.value.to_string()), "{:?}", h.labels);
            }
        }
        // Personal values take no slot of the route cap, and every record is counted once.
        let clean_routes: HashSet<&str> = records
            .iter()
            .map(|(r, _)| r.as_str())
            .filter(|r| !personal(r))
            .collect();
        prop_assert!(cap.len() <= clean_routes.len().min(route_cap));
        let total: u64 = bound.iter().map(|h| h.count.load(Ordering::Relaxed)).sum();
        prop_assert_eq!(total, records.len() as u64);
        // Every personal value dropped is counted as `pii-label`.
        prop_assert_eq!(violations.get(flowtel::violations::Rule::PiiLabel), expected_drops);
    }
}
