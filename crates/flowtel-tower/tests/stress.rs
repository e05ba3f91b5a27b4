//! Hostile and failing conditions, in-process through the whole tower stack. Heavy: run in
//! release with `cargo test -p flowtel-tower --release --test stress -- --ignored`.
//!
//! - Cardinality attack: 1,000,000 requests with distinct path ids and distinct `user.id`
//!   values. The route label stays the template, series stay within their limits, and the
//!   process's resident memory grows by less than 20 MB.
//! - Exporter down: the collector address refuses connections. Request latency P99 through
//!   the middleware stays within 1.1x of exporter-up, and the undelivered spans are counted.

mod support;

use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::HeaderMap;
use axum::routing::post;
use flowtel::Rule;
use flowtel::opentelemetry::KeyValue;
use flowtel_tower::FlowServerLayer;
use support::{conventions, receiver_keeping};
use tower::ServiceExt;
use tracing::field::Empty;

/// Resident memory is process-wide: the heavy tests take turns.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm");
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

fn app(telemetry: &flowtel::Telemetry) -> Router {
    let orders = telemetry.meter().u64_counter("checkout.orders");
    Router::new()
        .route(
            "/orders/{id}/pay",
            post(move |headers: HeaderMap| {
                let orders = orders.clone();
                async move {
                    let user = headers
                        .get("x-user-id")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("");
                    let step = tracing::info_span!(
                        target: "flowtel::step",
                        "payment.authorize",
                        flowtel.kind = "step",
                        flow.step = "payment.authorize",
                        flow.name = Empty,
                        otel.name = "payment.authorize",
                        outcome = "ok",
                        error.type = Empty,
                        user.id = flowtel::hash_pii(&user),
                    );
                    let _entered = step.enter();
                    // A careless label: personal data offered to a metric is dropped, counted.
                    orders.add(
                        1,
                        &[
                            KeyValue::new("payment.method", "card"),
                            KeyValue::new("outcome", "ok"),
                            KeyValue::new("user.id", user.to_owned()),
                        ],
                    );
                    "paid"
                }
            }),
        )
        .layer(FlowServerLayer::new(telemetry))
}

fn request(i: u64) -> http::Request<Body> {
    let path = if i % 100 == 99 {
        format!("/raw/{i}")
    } else {
        format!("/orders/{i}/pay")
    };
    http::Request::post(path)
        .header("x-user-id", format!("user-{i}"))
        .body(Body::empty())
        .unwrap()
}

fn scrape(addr: std::net::SocketAddr) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
#[ignore = "heavy: run in release with -- --ignored"]
fn cardinality_attack_keeps_routes_series_and_memory_bounded() {
    const N: u64 = 1_000_000;
    const WARM_UP: u64 = 20_000;
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (telemetry, dispatch) = flowtel::init(conventions())
        .service("attacked", "1.0.0")
        .no_push()
        .prometheus("127.0.0.1:0".parse().unwrap())
        .build()
        .unwrap();
    let app = app(&telemetry);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (before, after, text) = tracing::dispatcher::with_default(&dispatch, || {
        rt.block_on(async {
            let mut before = 0;
            let started = Instant::now();
            for i in 0..N {
                if i == WARM_UP {
                    before = rss_bytes();
                }
                let resp = app.clone().oneshot(request(i)).await.unwrap();
                assert!(resp.status() == 200 || resp.status() == 404);
            }
            eprintln!("{N} requests in {:?}", started.elapsed());
            let after = rss_bytes();
            (before, after, scrape(telemetry.prometheus_addr().unwrap()))
        })
    });
    let growth = after.saturating_sub(before);
    eprintln!(
        "RSS after warm-up {} MB, after {N} requests {} MB",
        before >> 20,
        after >> 20
    );
    assert!(growth < 20 << 20, "memory grew by {} MB", growth >> 20);

    // Route labels are templates only; no raw path, no user id in any metric.
    let routes: std::collections::BTreeSet<&str> = text
        .lines()
        .filter(|l| l.starts_with("http_server_request_duration"))
        .filter_map(|l| l.split("http_route=\"").nth(1))
        .map(|r| r.split('"').next().unwrap())
        .collect();
    assert_eq!(
        routes,
        std::collections::BTreeSet::from(["/orders/{id}/pay"]),
        "{routes:?}"
    );
    assert!(!text.contains("user-"), "personal data in metrics");
    let series = telemetry
        .meter()
        .f64_histogram("http.server.request.duration")
        .limiter()
        .unwrap()
        .len();
    assert!(series <= 2000, "{series} series");
    assert_eq!(series, 2, "matched and unmatched requests: {series}");
    assert!(telemetry.violations().get(Rule::PiiLabel) >= N * 99 / 100);
}

/// P99 of `n` sequential requests through the stack, in microseconds.
fn p99(telemetry: &flowtel::Telemetry, dispatch: &tracing::Dispatch, n: u64) -> f64 {
    let app = app(telemetry);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut lat: Vec<Duration> = tracing::dispatcher::with_default(dispatch, || {
        rt.block_on(async {
            let mut lat = Vec::with_capacity(n as usize);
            for i in 0..n {
                let req = request(i * 100 % 9_900);
                let t = Instant::now();
                let _ = app.clone().oneshot(req).await.unwrap();
                lat.push(t.elapsed());
            }
            lat
        })
    });
    lat.sort();
    lat[(lat.len() * 99) / 100].as_secs_f64() * 1e6
}

#[test]
#[ignore = "heavy: run in release with -- --ignored"]
fn exporter_down_does_not_slow_requests_and_drops_are_counted() {
    const N: u64 = 30_000;
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (up_url, _received) = receiver_keeping(false);
    // A port that refuses connections: bound, then released.
    let refused = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let build = |endpoint: &str| {
        flowtel::init(conventions())
            .service("exporting", "1.0.0")
            .otlp_endpoint(endpoint)
            .metric_interval(Duration::from_millis(500))
            .build()
            .unwrap()
    };
    let (up, up_dispatch) = build(&up_url);
    let (down, down_dispatch) = build(&format!("http://{refused}"));
    let mut ups = Vec::new();
    let mut downs = Vec::new();
    let mut rss_after_first_down = 0;
    for round in 0..3 {
        ups.push(p99(&up, &up_dispatch, N));
        downs.push(p99(&down, &down_dispatch, N));
        if round == 0 {
            rss_after_first_down = rss_bytes();
        }
    }
    let best = |v: &[f64]| v.iter().cloned().fold(f64::INFINITY, f64::min);
    let (up_p99, down_p99) = (best(&ups), best(&downs));
    eprintln!("P99 exporter up {up_p99:.1} µs {ups:?}, down {down_p99:.1} µs {downs:?}");
    assert!(
        down_p99 <= up_p99 * 1.1,
        "down {down_p99:.1} µs vs up {up_p99:.1} µs"
    );
    // Queues are bounded: 120,000 more spans later, memory has not grown with them.
    let growth = rss_bytes().saturating_sub(rss_after_first_down);
    eprintln!("RSS growth over the last two rounds: {} MB", growth >> 20);
    assert!(growth < 20 << 20, "memory grew by {} MB", growth >> 20);
    down.flush();
    std::thread::sleep(Duration::from_millis(200));
    let dropped = down.violations().get(Rule::ExportDropped);
    eprintln!("export-dropped with the collector down: {dropped}");
    assert!(dropped > 0);
    assert_eq!(up.violations().get(Rule::ExportDropped), 0);
}
