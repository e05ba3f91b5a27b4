//! What the receiver's tests with an independent Python client share: the workspace, the
//! interpreter (`$FLOWTEL_PYTHON`, by default `<workspace>/.venv/bin/python`;
//! `FLOWTEL_SKIP_PYTHON=1` skips), and a receiver on free ports of 127.0.0.1 over HTTP and gRPC
//! with the bundled conventions, ending 2 s after the last request.

use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use flowtel_live::{Bound, LiveOptions, LiveReport, run};
pub use flowtel_testkit::{python, workspace};

/// A receiver of the bundled conventions on free HTTP and gRPC ports of 127.0.0.1, idle-ending
/// after 2 s (60 s at most): where it listens, and the thread that returns its report.
pub fn receiver() -> (Bound, JoinHandle<LiveReport>) {
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
    (rx.recv().unwrap(), server)
}
