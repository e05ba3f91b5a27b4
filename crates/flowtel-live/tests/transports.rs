//! OTLP/gRPC keeps pace with OTLP/HTTP: the same 150 KB trace requests, sent one at a time by an
//! independent client (Python `grpcio` and `http.client`, through `scripts/bench_live.py`) over
//! real sockets on 127.0.0.1, take the same order of time over both transports. Without
//! `TCP_NODELAY` and large HTTP/2 windows on the gRPC server, gRPC requests waited for delayed
//! ACKs and window updates and the run took about 20 times as long.
//!
//! The interpreter is `$FLOWTEL_PYTHON`, by default `<workspace>/.venv/bin/python`;
//! `FLOWTEL_SKIP_PYTHON=1` skips.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use flowtel_live::{LiveOptions, run};

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn python() -> Option<PathBuf> {
    if std::env::var("FLOWTEL_SKIP_PYTHON").as_deref() == Ok("1") {
        println!("skipped: FLOWTEL_SKIP_PYTHON=1");
        return None;
    }
    let python = std::env::var_os("FLOWTEL_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join(".venv/bin/python"));
    assert!(
        python.exists(),
        "no Python interpreter at {}: create the virtualenv with \
         `python3 -m venv .venv && .venv/bin/pip install -r .ci/requirements-python.txt` \
         (or set FLOWTEL_PYTHON, or FLOWTEL_SKIP_PYTHON=1 to skip)",
        python.display()
    );
    Some(python)
}

#[test]
fn grpc_and_http_take_the_same_order_of_time_for_large_requests() {
    let Some(python) = python() else { return };
    let reg = flowtel_conventions::check(&workspace().join("conventions"))
        .registry
        .expect("bundled conventions");
    let (tx, rx) = std::sync::mpsc::channel();
    let server = std::thread::spawn(move || {
        let options = LiveOptions {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            grpc_listen: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
            until_idle: Some(Duration::from_secs(2)),
            duration: Some(Duration::from_secs(60)),
            stop_on_ctrl_c: false,
            ..LiveOptions::default()
        };
        run(Arc::new(reg), options, move |b| tx.send(b).unwrap()).unwrap()
    });
    let bound = rx.recv().unwrap();
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
