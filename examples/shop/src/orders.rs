//! The orders worker: reached asynchronously. The gateway appends each confirmed order to the
//! Redis stream `orders` with a PRODUCER span; this worker reads the stream and fulfils each
//! order under a CONSUMER span continued from the fields stored in the message, so the work is
//! in the customer's `checkout` flow and trace, off its critical path.
//!
//! Orders read from the stream wait in the worker's queue until a worker task is free; the
//! queue's depth is the saturation signal `orders.queue.depth{queue.name=confirmations}`.
//! `--saturate orders` leaves one slow worker task, too slow for the arrival rate, and the
//! queue grows towards its declared limit.
//!
//! The worker is an axum service too, serving its admin routes on 127.0.0.1: `GET /healthz`
//! (200 once it reads the stream, 503 before) and `GET /queue` (orders received, handled and
//! waiting, as JSON), which the shop uses to start the load once the worker is ready and to
//! wait for it to drain. Probes are not customers: the routes sit outside flowtel's server
//! layer, so they make no server spans (no traces without a flow) and no request metrics.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use flowtel::messaging::MessageSpan;
use flowtel::opentelemetry::KeyValue;
use http::{StatusCode, header};
use redis::streams::{StreamId, StreamReadReply};
use tracing::Instrument;

use crate::broker::ORDERS_STREAM;
use crate::faults::Faults;

/// Worker tasks fulfilling orders at once.
const WORKERS: usize = 4;

/// Why fulfilling an order failed.
#[derive(Debug)]
pub enum FulfilError {
    /// The warehouse system failed (an injected `--fail orders=..`).
    WarehouseUnavailable,
}

impl flowtel::ErrorKind for FulfilError {
    fn kind(&self) -> &'static str {
        match self {
            FulfilError::WarehouseUnavailable => "warehouse_unavailable",
        }
    }
}

/// What the worker shares with the process that runs it.
#[derive(Default)]
pub struct Progress {
    /// Reading the stream (connected to the broker).
    pub ready: AtomicBool,
    /// Orders taken off the stream.
    pub received: AtomicU64,
    /// Orders taken off the stream and handled (fulfilled or failed).
    pub handled: AtomicU64,
    /// Stop reading; with `abandon`, drop what is queued too.
    pub stop: AtomicBool,
    /// Drop queued orders instead of handling them.
    pub abandon: AtomicBool,
}

/// Reads the orders stream until told to stop, fulfilling each order.
pub async fn run(
    queue: flowtel::Saturation,
    propagator: flowtel::FlowPropagator,
    redis_url: &str,
    faults: Arc<Faults>,
    progress: Arc<Progress>,
) -> Result<(), String> {
    let client = redis::Client::open(redis_url).map_err(|e| format!("orders: {e}"))?;
    let mut con = crate::broker::connect(&client)
        .await
        .map_err(|e| format!("orders: cannot reach the broker: {e}"))?;
    let labels = [KeyValue::new("queue.name", "confirmations")];
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<(flowtel::Held, StreamId)>();
    let rx = Arc::new(tokio::sync::Mutex::new(rx));
    let workers = if faults.saturate { 1 } else { WORKERS };
    let mut tasks = Vec::new();
    for _ in 0..workers {
        let (rx, faults, progress) = (rx.clone(), faults.clone(), progress.clone());
        let propagator = propagator.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                let next = rx.lock().await.recv().await;
                let Some((held, message)) = next else { break };
                if !progress.abandon.load(Ordering::Relaxed) {
                    handle(&propagator, &faults, &message).await;
                }
                drop(held);
                progress.handled.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let mut last = "0-0".to_owned();
    progress.ready.store(true, Ordering::Relaxed);
    while !progress.stop.load(Ordering::Relaxed) {
        let reply: Option<StreamReadReply> = redis::cmd("XREAD")
            .arg("COUNT")
            // Small batches: parsing a big one would hold up the worker tasks' timers.
            .arg(8)
            .arg("BLOCK")
            .arg(100)
            .arg("STREAMS")
            .arg(ORDERS_STREAM)
            .arg(&last)
            .query_async(&mut con)
            .await
            .map_err(|e| format!("orders: XREAD: {e}"))?;
        for key in reply.map(|r| r.keys).unwrap_or_default() {
            for message in key.ids {
                last.clone_from(&message.id);
                progress.received.fetch_add(1, Ordering::Relaxed);
                let _ = tx.send((queue.hold(&labels), message));
            }
        }
    }
    drop(tx);
    for t in tasks {
        let _ = t.await;
    }
    Ok(())
}

async fn handle(propagator: &flowtel::FlowPropagator, faults: &Faults, message: &StreamId) {
    let fields: Vec<(String, String)> = message
        .map
        .keys()
        .filter_map(|k| Some((k.clone(), message.get::<String>(k)?)))
        .collect();
    let order = fields
        .iter()
        .find(|(k, _)| k == "order.id")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let span = MessageSpan::process(
        propagator,
        "redis",
        ORDERS_STREAM,
        fields.iter().map(|(k, v)| (k.as_str(), v.as_str())),
    );
    let result = order_fulfil(faults, &order).instrument(span.clone()).await;
    if let Err(e) = result {
        MessageSpan::fail(&span, flowtel::ErrorKind::kind(&e));
    }
}

/// Step `order.fulfil` of `checkout`, in the flow the message carried.
#[flowtel::step("order.fulfil", fields(order.id = order))]
async fn order_fulfil(faults: &Faults, order: &str) -> Result<(), FulfilError> {
    // Reserve stock, print the label; a saturated warehouse is slow.
    let work = if faults.saturate {
        Duration::from_millis(150)
    } else {
        Duration::from_millis(2 + order.len() as u64 % 3)
    };
    tokio::time::sleep(work + faults.delay()).await;
    if faults.fails() {
        Err(FulfilError::WarehouseUnavailable)
    } else {
        Ok(())
    }
}

/// The worker's admin routes: `GET /healthz` and `GET /queue` (see the module docs). Nothing
/// here is a flow, so no flowtel layer wraps them: a service with flow routes merges routes
/// like these after its `.layer(FlowServerLayer::new(..))` (axum wraps only the routes added
/// before a layer), and its probes stay out of its traces and metrics.
pub fn admin(progress: Arc<Progress>) -> Router {
    let health = progress.clone();
    Router::new()
        .route(
            "/healthz",
            get(move || {
                let ready = health.ready.load(Ordering::Relaxed);
                async move {
                    if ready {
                        (StatusCode::OK, "reading the orders stream")
                    } else {
                        (StatusCode::SERVICE_UNAVAILABLE, "connecting to the broker")
                    }
                }
            }),
        )
        .route(
            "/queue",
            get(move || {
                let received = progress.received.load(Ordering::Relaxed);
                let handled = progress.handled.load(Ordering::Relaxed);
                let body = serde_json::json!({
                    "received": received,
                    "handled": handled,
                    "waiting": received.saturating_sub(handled),
                })
                .to_string();
                async move { ([(header::CONTENT_TYPE, "application/json")], body) }
            }),
        )
}
