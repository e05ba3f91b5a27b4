//! Bounded shutdown against real faulty collectors on 127.0.0.1: one that refuses connections,
//! one that accepts and never answers, one that answers after 5 s, one that resets the
//! connection mid-request. Dropping the `Telemetry` returns within the deadline (plus slack
//! for thread scheduling on a loaded machine), and the spans that could not be sent are counted
//! as `export-dropped`.

mod common;

use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use flowtel::Rule;

/// A fault behaviour of a collector.
#[derive(Clone, Copy, Debug)]
enum Fault {
    /// Accepts, reads, never answers.
    Hang,
    /// Accepts, reads, answers `200` after this long.
    Slow(Duration),
    /// Accepts, reads a few bytes and closes with unread data (the kernel sends a reset).
    Reset,
}

/// A collector listening on 127.0.0.1 with `fault`; connections are kept for the test's life.
fn collector(fault: Fault) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            std::thread::spawn(move || match fault {
                Fault::Hang => {
                    let mut buf = vec![0; 1 << 16];
                    while conn.read(&mut buf).is_ok_and(|n| n > 0) {}
                }
                Fault::Slow(after) => {
                    let mut buf = vec![0; 1 << 16];
                    let _ = conn.read(&mut buf);
                    std::thread::sleep(after);
                    use std::io::Write;
                    let _ = conn.write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n",
                    );
                    while conn.read(&mut buf).is_ok_and(|n| n > 0) {}
                }
                Fault::Reset => {
                    let mut buf = [0; 16];
                    let _ = conn.read(&mut buf);
                    std::thread::sleep(Duration::from_millis(20));
                    drop(conn);
                }
            });
        }
    });
    addr
}

/// A port nothing listens on.
fn refusing() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    assert!(TcpStream::connect(addr).is_err());
    addr
}

/// Sends 50 spans to `addr`, drops the telemetry and returns how long the drop took and the
/// `export-dropped` count.
fn run(addr: SocketAddr, deadline: Duration) -> (Duration, u64) {
    let (telemetry, dispatch) = flowtel::init(common::conventions())
        .service("shutdown-test", "1.0.0")
        .otlp_endpoint(&format!("http://{addr}"))
        .metric_interval(Duration::from_secs(60))
        .shutdown_timeout(deadline)
        .build()
        .expect("telemetry");
    tracing::dispatcher::with_default(&dispatch, || {
        for i in 0..50 {
            let span = tracing::info_span!("work", i);
            let _g = span.enter();
        }
    });
    drop(dispatch);
    let violations: Arc<flowtel::Violations> = telemetry.violations().clone();
    let start = Instant::now();
    drop(telemetry);
    (start.elapsed(), violations.get(Rule::ExportDropped))
}

#[test]
fn shutdown_is_bounded_whatever_the_collector_does() {
    let deadline = Duration::from_millis(800);
    let cases = [
        ("refusing", refusing()),
        ("hung", collector(Fault::Hang)),
        ("slow (5 s)", collector(Fault::Slow(Duration::from_secs(5)))),
        ("resetting", collector(Fault::Reset)),
    ];
    // In parallel: the four together take one deadline, not four.
    let results: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = cases
            .iter()
            .map(|(name, addr)| (name, s.spawn(move || run(*addr, deadline))))
            .collect();
        handles
            .into_iter()
            .map(|(name, h)| (*name, h.join().unwrap()))
            .collect()
    });
    for (name, (took, dropped)) in results {
        println!("{name}: shutdown took {took:?}, export-dropped {dropped}");
        assert!(
            took < deadline + Duration::from_millis(1000),
            "{name}: shutdown took {took:?} with a deadline of {deadline:?}"
        );
        // 50 spans were not delivered; each is counted once (a failed export counts its spans,
        // the shutdown counts what was still queued).
        assert!(dropped >= 50, "{name}: export-dropped = {dropped}");
    }
}
