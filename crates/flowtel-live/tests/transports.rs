//! OTLP/gRPC keeps pace with OTLP/HTTP: the same 150 KB trace requests, sent one at a time by an
//! independent client (Python `grpcio` and `http.client`, through `scripts/bench_live.py`) over
//! real sockets on 127.0.0.1, take the same order of time over both transports. Without
//! `TCP_NODELAY` and large HTTP/2 windows on the gRPC server, gRPC requests waited for delayed
//! ACKs and window updates and the run took about 20 times as long.
//!
//! The interpreter is `$FLOWTEL_PYTHON`, by default `<workspace>/.venv/bin/python`;
//! `FLOWTEL_SKIP_PYTHON=1` skips.

use std::process::Command;

mod common;
use common::{python, receiver, workspace};

#[test]
fn grpc_and_http_take_the_same_order_of_time_for_large_requests() {
    let Some(python) = python() else { return };
    let (bound, server) = receiver();
    // 50 spans of about 3 KB each: 150 KB requests that are cheap to decode even unoptimised,
    // so the time is the transport's.
    let out = Command::new(python)
        .arg(workspace().join("scripts/bench_live.py"))
        .args(["--http", &bound.http.to_string()])
        .args(["--grpc", &bound.grpc.unwrap().to_string()])
        .args([
            "--requests",
            "60",
            "--spans",
            "50",
            "--pad",
            "2900",
            "--json",
        ])
        .output()
        .expect("the Python client runs");
    assert!(
        out.status.success(),
        "client failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let report = server.join().unwrap();
    assert!(doc["request_bytes"].as_u64().unwrap() > 140_000);
    let t = &doc["transports"];
    let grpc = t["OTLP/gRPC"]["wall_s"].as_f64().unwrap();
    let http = t["OTLP/HTTP protobuf"]["wall_s"].as_f64().unwrap();
    // Each client sends one warm-up request and 60 timed ones; every one was answered OK.
    assert_eq!(report.stats.requests, 122, "{report:?}");
    assert_eq!(report.stats.rejected, 0);
    println!("60 requests of 150 KB: gRPC {grpc:.3} s, HTTP {http:.3} s");
    // Same order of time: the 20x gap was about 20 ms of waiting per request (1.2 s here).
    assert!(
        grpc <= 4.0 * http + 0.25,
        "OTLP/gRPC took {grpc:.3} s for what OTLP/HTTP did in {http:.3} s"
    );
}
