//! The collector misbehaving while a service serves, with real TCP collectors on 127.0.0.1:
//! one that accepts and never answers, one that answers every export after 5 s, and one that
//! flaps (up, then refusing connections and cutting those it had, in turn). Against a run
//! exporting to files, request latency P99 through the tower stack stays within 1.1x, memory
//! stays bounded by the export queues, what could not be sent is counted as
//! `flowtel.violations{rule="export-dropped"}`, and once the flapping collector stays up the
//! spans of requests served after that arrive.
//!
//! The scenarios take turns in interleaved rounds (so the machine's load weighs on all alike),
//! each serving requests at a steady rate; the first round warms up (queues fill, exporters get
//! stuck) and is not counted.
//!
//! Heavy (timing): run in release with
//! `cargo test -p flowtel-tower --release --test collector_faults -- --ignored` (CI runs it,
//! about 25 s). `FLOWTEL_FAULT_SECS` sets the seconds of requests per scenario and round
//! (default 2), `FLOWTEL_FAULT_RATE` the requests per second (default 4,000),
//! `FLOWTEL_FAULT_MAX_RATIO` the P99 ratio allowed (default 1.1; CI allows 1.5, see
//! `RELIABILITY.md` for why);
//! `RELIABILITY.md` records a longer run.

mod support;

use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::routing::post;
use flowtel::Rule;
use flowtel_tower::FlowServerLayer;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use support::conventions;
use tower::ServiceExt;
use tracing::field::Empty;

/// Rounds counted after the warm-up round.
const ROUNDS: usize = 9;

/// The first four bytes of the trace ids the recovery check sends.
const MARK: [u8; 4] = [0xfe, 0xed, 0xf0, 0x0d];

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm");
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

/// What a fake collector does with an export request.
#[derive(Clone, Copy, Debug)]
enum Behaviour {
    /// Reads it and never answers.
    Hung,
    /// Answers `200` after this long.
    Slow(Duration),
    /// Answers `200` at once.
    Healthy,
}

/// A collector speaking OTLP/HTTP protobuf over its own threads.
struct Collector {
    addr: SocketAddr,
    /// While set (flapping collectors only), the collector goes up and down in turn.
    flapping: Arc<AtomicBool>,
    /// Whether it is accepting now.
    up: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    spans: Arc<AtomicU64>,
    marked: Arc<Mutex<HashSet<Vec<u8>>>>,
}

impl Collector {
    fn start(behaviour: Behaviour, flap: Option<Duration>) -> Collector {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let c = Collector {
            addr,
            flapping: Arc::new(AtomicBool::new(flap.is_some())),
            up: Arc::new(AtomicBool::new(true)),
            stop: Arc::new(AtomicBool::new(false)),
            spans: Arc::new(AtomicU64::new(0)),
            marked: Arc::new(Mutex::new(HashSet::new())),
        };
        let (flapping, up, stop, spans, marked) = (
            c.flapping.clone(),
            c.up.clone(),
            c.stop.clone(),
            c.spans.clone(),
            c.marked.clone(),
        );
        let period = flap.unwrap_or(Duration::from_secs(3600));
        std::thread::spawn(move || {
            let mut listener = Some(listener);
            let conns: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
            while !stop.load(Ordering::Relaxed) {
                // Up: accept and serve until the period ends (or for good once not flapping).
                let l = match listener.take() {
                    Some(l) => l,
                    None => match TcpListener::bind(addr) {
                        Ok(l) => l,
                        Err(_) => {
                            std::thread::sleep(Duration::from_millis(20));
                            continue;
                        }
                    },
                };
                l.set_nonblocking(true).unwrap();
                up.store(true, Ordering::Relaxed);
                let until = Instant::now() + period;
                while !stop.load(Ordering::Relaxed)
                    && (Instant::now() < until || !flapping.load(Ordering::Relaxed))
                {
                    match l.accept() {
                        Ok((s, _)) => {
                            s.set_nonblocking(false).unwrap();
                            if let Ok(c) = s.try_clone() {
                                conns.lock().unwrap().push(c);
                            }
                            let (spans, marked) = (spans.clone(), marked.clone());
                            std::thread::spawn(move || serve(s, behaviour, &spans, &marked));
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(5)),
                    }
                }
                // Down: refuse new connections and cut the ones in progress.
                drop(l);
                up.store(false, Ordering::Relaxed);
                for c in conns.lock().unwrap().drain(..) {
                    let _ = c.shutdown(std::net::Shutdown::Both);
                }
                if !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(period);
                }
            }
        });
        c
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn marked(&self) -> usize {
        self.marked.lock().unwrap().len()
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Serves one connection: HTTP/1.1 requests with a `Content-Length` body, kept alive.
fn serve(
    mut s: TcpStream,
    behaviour: Behaviour,
    spans: &AtomicU64,
    marked: &Mutex<HashSet<Vec<u8>>>,
) {
    let _ = s.set_read_timeout(Some(Duration::from_secs(60)));
    let mut buf = Vec::new();
    let mut chunk = [0u8; 64 * 1024];
    loop {
        let head_end = loop {
            if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break p + 4;
            }
            match s.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        while buf.len() < head_end + len {
            match s.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let body: Vec<u8> = buf.drain(..head_end + len).skip(head_end).collect();
        match behaviour {
            Behaviour::Hung => loop {
                // Never answer; read whatever comes until the client gives up.
                match s.read(&mut chunk) {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
            },
            Behaviour::Slow(d) => std::thread::sleep(d),
            Behaviour::Healthy => {}
        }
        if head.starts_with("post /v1/traces") {
            let req = ExportTraceServiceRequest::decode(body.as_slice()).expect("OTLP protobuf");
            for span in req
                .resource_spans
                .iter()
                .flat_map(|r| &r.scope_spans)
                .flat_map(|s| &s.spans)
            {
                spans.fetch_add(1, Ordering::Relaxed);
                if span.trace_id.starts_with(&MARK) {
                    marked.lock().unwrap().insert(span.trace_id.clone());
                }
            }
        }
        let answer =
            b"HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nContent-Length: 0\r\n\r\n";
        if s.write_all(answer).is_err() {
            return;
        }
    }
}

fn app(telemetry: &flowtel::Telemetry) -> Router {
    Router::new()
        .route(
            "/orders/{id}/pay",
            post(|| async {
                let step = tracing::info_span!(
                    target: "flowtel::step",
                    "payment.authorize",
                    flowtel.kind = "step",
                    flow.step = "payment.authorize",
                    flow.name = Empty,
                    otel.name = "payment.authorize",
                    outcome = "ok",
                    error.type = Empty,
                );
                let _entered = step.enter();
                "paid"
            }),
        )
        .layer(FlowServerLayer::new(telemetry))
}

fn request(i: u64, traceparent: Option<String>) -> http::Request<Body> {
    let mut r = http::Request::post(format!("/orders/{}/pay", i % 10_000));
    if let Some(tp) = traceparent {
        r = r.header("traceparent", tp);
    }
    r.body(Body::empty()).unwrap()
}

/// Serves requests to every scenario in turn, one request each (in an order that rotates),
/// `rate` requests per second per scenario for `secs`: a service under steady load, not a tight
/// loop (no exporter keeps up with an unbounded span rate, and a file exporter dropping spans
/// would be no baseline). Interleaving request by request makes whatever else runs on the
/// machine weigh on every scenario alike. Records each request's latency when `keep`.
fn serve_interleaved(scenarios: &mut [Scenario], secs: f64, rate: f64, keep: bool) {
    use tracing::instrument::WithSubscriber;
    let apps: Vec<(Router, tracing::Dispatch)> = scenarios
        .iter()
        .map(|s| (app(s.telemetry.as_ref().unwrap()), s.dispatch.clone()))
        .collect();
    let n = apps.len() as u64;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let lat: Vec<Vec<Duration>> = rt.block_on(async {
        let mut lat = vec![Vec::new(); apps.len()];
        let interval = Duration::from_secs_f64(1.0 / (rate * n as f64));
        let mut next = Instant::now();
        let end = next + Duration::from_secs_f64(secs);
        let mut i = 0u64;
        while Instant::now() < end {
            let k = ((i % n + i / n) % n) as usize;
            let (app, dispatch) = &apps[k];
            let req = request(i / n, None);
            i += 1;
            let t = Instant::now();
            let resp = app
                .clone()
                .oneshot(req)
                .with_subscriber(dispatch.clone())
                .await
                .unwrap();
            lat[k].push(t.elapsed());
            assert_eq!(resp.status(), 200);
            next += interval;
            if let Some(wait) = next.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
        }
        lat
    });
    for (s, mut l) in scenarios.iter_mut().zip(lat) {
        s.requests += l.len();
        if keep {
            l.sort();
            s.p99s.push(p99(&l));
        }
    }
}

/// The 99th percentile of sorted latencies, in microseconds.
fn p99(sorted: &[Duration]) -> f64 {
    sorted[(sorted.len() * 99) / 100].as_secs_f64() * 1e6
}

struct Scenario {
    name: &'static str,
    telemetry: Option<flowtel::Telemetry>,
    dispatch: tracing::Dispatch,
    collector: Option<Collector>,
    /// P99 of each counted round, in microseconds.
    p99s: Vec<f64>,
    requests: usize,
}

#[test]
#[ignore = "heavy (timing): run in release with -- --ignored"]
fn collector_faults_while_serving() {
    let secs: f64 = std::env::var("FLOWTEL_FAULT_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2.0);
    // Requests per second while measuring (two spans each: the request and its step).
    let rate: f64 = std::env::var("FLOWTEL_FAULT_RATE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4000.0);
    let flap = Duration::from_secs_f64((secs / 2.0).clamp(0.5, 3.0));
    let dir = std::env::temp_dir().join(format!("flowtel-faults-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let build = |export: Result<String, std::path::PathBuf>| {
        let b = flowtel::init(conventions())
            .service("faulty", "1.0.0")
            .metric_interval(Duration::from_millis(500))
            .shutdown_timeout(Duration::from_secs(1));
        match export {
            Ok(url) => b.otlp_endpoint(&url),
            Err(dir) => b.json_lines(dir),
        }
        .build()
        .unwrap()
    };
    let mut scenarios: Vec<Scenario> = Vec::new();
    for (name, collector) in [
        ("file", None),
        ("hung", Some(Collector::start(Behaviour::Hung, None))),
        (
            "slow (5 s)",
            Some(Collector::start(
                Behaviour::Slow(Duration::from_secs(5)),
                None,
            )),
        ),
        (
            "flapping",
            Some(Collector::start(Behaviour::Healthy, Some(flap))),
        ),
    ] {
        let export = match &collector {
            Some(c) => Ok(c.url()),
            None => Err(dir.clone()),
        };
        let (telemetry, dispatch) = build(export);
        scenarios.push(Scenario {
            name,
            telemetry: Some(telemetry),
            dispatch,
            collector,
            p99s: Vec::new(),
            requests: 0,
        });
    }

    // The first round warms up (queues fill, exporters get stuck) and is not counted. Each
    // round compares a scenario's P99 with the file run's P99 of the same round (their requests
    // interleaved); the verdict is the median of those ratios: a burst of other work on the
    // machine that happens to fall on one scenario's requests in one round (on 2 shared cores a
    // 20 us request is at the mercy of the scheduler) does not decide it, while a slowdown the
    // fault itself causes shows in every round.
    let mut rss_after_warm_up = 0;
    for round in 0..=ROUNDS {
        serve_interleaved(&mut scenarios, secs, rate, round > 0);
        if round == 0 {
            rss_after_warm_up = rss_bytes();
        }
    }
    let rss_end = rss_bytes();
    let file_rounds = scenarios[0].p99s.clone();
    let median_ratio = |s: &Scenario| {
        let mut v: Vec<f64> = s
            .p99s
            .iter()
            .zip(&file_rounds)
            .map(|(p, f)| p / f)
            .collect();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    for s in &scenarios {
        eprintln!(
            "{:<11} P99 per round {:?} us, {} requests; median {:.2}x the file run's P99 of the same round",
            s.name,
            s.p99s.iter().map(|p| p.round()).collect::<Vec<_>>(),
            s.requests,
            median_ratio(s)
        );
    }
    eprintln!(
        "RSS after the warm-up round {} MB, after all rounds {} MB",
        rss_after_warm_up >> 20,
        rss_end >> 20
    );
    // The bound is 1.1x; CI, on shared machines, asks for `FLOWTEL_FAULT_MAX_RATIO`.
    let max_ratio: f64 = std::env::var("FLOWTEL_FAULT_MAX_RATIO")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1.1);
    for s in &scenarios[1..] {
        let r = median_ratio(s);
        assert!(
            r <= max_ratio,
            "{}: P99 {r:.2}x the file run's (rounds {:?} us against {:?} us)",
            s.name,
            s.p99s,
            file_rounds
        );
    }
    // Three faulty exporters hold at most their queues (2,048 spans each) whatever is sent.
    assert!(
        rss_end.saturating_sub(rss_after_warm_up) < 20 << 20,
        "memory grew by {} MB",
        rss_end.saturating_sub(rss_after_warm_up) >> 20
    );

    // Recovery: the flapping collector stays up; spans of requests served from then on arrive.
    let flapping = scenarios.iter_mut().find(|s| s.name == "flapping").unwrap();
    let collector = flapping.collector.as_ref().unwrap();
    collector.flapping.store(false, Ordering::Relaxed);
    while !collector.up.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(10));
    }
    let telemetry = flapping.telemetry.as_ref().unwrap();
    // What the queue held while the collector was down goes out first.
    telemetry.flush();
    let before = collector.spans.load(Ordering::Relaxed);
    let app = app(telemetry);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    const MARKED: u64 = 50;
    tracing::dispatcher::with_default(&flapping.dispatch, || {
        rt.block_on(async {
            for i in 0..MARKED {
                let tp = format!("00-feedf00d{:024x}-{:016x}-01", i + 1, i + 1);
                let resp = app.clone().oneshot(request(i, Some(tp))).await.unwrap();
                assert_eq!(resp.status(), 200);
            }
        })
    });
    let deadline = Instant::now() + Duration::from_secs(15);
    while collector.marked() < MARKED as usize && Instant::now() < deadline {
        telemetry.flush();
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!(
        "flapping collector: {} spans before it stayed up, {} of {MARKED} marked traces after",
        before,
        collector.marked()
    );
    assert_eq!(
        collector.marked(),
        MARKED as usize,
        "spans after recovery arrive"
    );

    // What could not be sent is counted, exactly when each telemetry shuts down.
    for s in &mut scenarios {
        let violations = s.telemetry.as_ref().unwrap().violations().clone();
        let started = Instant::now();
        drop(s.telemetry.take());
        let dropped = violations.get(Rule::ExportDropped);
        eprintln!(
            "{:<11} export-dropped {dropped}, shutdown took {:?}",
            s.name,
            started.elapsed()
        );
        if s.name == "file" {
            assert_eq!(dropped, 0);
        } else if s.name == "hung" {
            // Nothing ever reached the collector: every span of every request is counted.
            assert!(
                dropped >= 2 * s.requests as u64,
                "hung: {dropped} counted of {} spans",
                2 * s.requests
            );
        } else {
            assert!(dropped > 0, "{}: drops are counted", s.name);
        }
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{}: bounded shutdown",
            s.name
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
