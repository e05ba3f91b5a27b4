//! The payments service: authorizes a payment for an order. It knows nothing of flows; the
//! flow arrives in the caller's baggage and flowtel puts it on its spans and metrics.
//!
//! Authorizations wait in a work queue for one of a few issuer connections; the queue's depth
//! is the saturation signal `orders.queue.depth{queue.name=authorizations}`, whose limit the
//! conventions declare (`--saturate payments` leaves one slow connection). The issuer is
//! briefly busy for some orders: the first attempt gets a 503 and the gateway retries.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use flowtel::opentelemetry::KeyValue;

use crate::faults::Faults;

/// `--uncorrelated-log`: each declined payment is also logged from a detached task, outside
/// the request's span, as a service that forgot `.in_current_span()` would.
pub static UNCORRELATED_LOG: AtomicBool = AtomicBool::new(false);

/// Issuer connections: authorizations beyond these wait in the queue.
const ISSUER_CONNECTIONS: usize = 8;

#[derive(Clone)]
struct Payments {
    issuer: Arc<tokio::sync::Semaphore>,
    queue: flowtel::Saturation,
    /// Orders whose first attempt found the issuer busy.
    busy_once: Arc<Mutex<HashSet<String>>>,
    faults: Arc<Faults>,
}

/// The issuer's answer.
#[derive(Debug, PartialEq, Eq)]
pub enum Decision {
    /// Authorized.
    Approved,
    /// The card issuer declined (the customer's outcome, not a failure of the shop).
    Declined,
}

/// Why a payment could not be decided.
#[derive(Debug)]
pub enum PaymentError {
    /// The issuer link failed (an injected `--fail payments=..`).
    IssuerUnavailable,
}

impl flowtel::ErrorKind for PaymentError {
    fn kind(&self) -> &'static str {
        match self {
            PaymentError::IssuerUnavailable => "issuer_unavailable",
        }
    }
}

/// The router, instrumented with flowtel's server layer.
pub fn app(telemetry: &flowtel::Telemetry, faults: Arc<Faults>) -> Router {
    let connections = if faults.saturate {
        1
    } else {
        ISSUER_CONNECTIONS
    };
    let payments = Payments {
        issuer: Arc::new(tokio::sync::Semaphore::new(connections)),
        queue: telemetry.saturation(flowtel::saturation!("orders.queue.depth")),
        busy_once: Arc::default(),
        faults,
    };
    Router::new()
        .route("/payments/{order}", post(authorize_handler))
        .with_state(payments)
        .layer(flowtel_tower::FlowServerLayer::new(telemetry))
}

async fn authorize_handler(
    State(p): State<Payments>,
    Path(order): Path<String>,
) -> (StatusCode, &'static str) {
    // Orders ending in 3 find the issuer busy on their first attempt.
    if order.ends_with('3')
        && p.busy_once
            .lock()
            .map(|mut s| s.insert(order.clone()))
            .unwrap_or(false)
    {
        return (StatusCode::SERVICE_UNAVAILABLE, "issuer busy");
    }
    let labels = [KeyValue::new("queue.name", "authorizations")];
    let permit = {
        // Queued until an issuer connection is free.
        let _queued = p.queue.track(&labels);
        p.issuer.acquire().await
    };
    let Ok(_permit) = permit else {
        return (StatusCode::SERVICE_UNAVAILABLE, "closing");
    };
    match authorize(&p.faults, &order).await {
        Ok(Decision::Approved) => (StatusCode::OK, "authorized"),
        Ok(Decision::Declined) => (StatusCode::PAYMENT_REQUIRED, "declined"),
        Err(PaymentError::IssuerUnavailable) => (StatusCode::INTERNAL_SERVER_ERROR, "issuer down"),
    }
}

/// Step `payment.authorize`; the flow is not named here: it comes from the caller.
#[flowtel::step("payment.authorize", fields(order.id = order))]
async fn authorize(faults: &Faults, order: &str) -> Result<Decision, PaymentError> {
    // Issuer round trip (a saturated issuer is slower, too).
    let base = Duration::from_millis(2 + order.len() as u64 % 5);
    let saturated = if faults.saturate {
        Duration::from_millis(20)
    } else {
        Duration::ZERO
    };
    tokio::time::sleep(base + saturated + faults.delay()).await;
    if faults.fails() {
        return Err(PaymentError::IssuerUnavailable);
    }
    // Every order ending in 7 is declined.
    if order.ends_with('7') {
        // The declared event `payment.declined` (conventions/shop.yaml: `warn` or above, in the
        // checkout flow's `payment.authorize` step, requires `payment.decline_reason`), checked
        // against the conventions at compile time. Written inside the step span, so flowtel
        // exports it with this trace's ids and the flow.
        flowtel::event!(
            "payment.declined",
            payment.decline_reason = "card_expired",
            payment.method = "card",
            order.id = order,
            "payment declined"
        );
        if UNCORRELATED_LOG.load(Ordering::Relaxed) {
            let order = order.to_owned();
            tokio::spawn(async move {
                flowtel::event!(
                    "payment.declined",
                    payment.decline_reason = "card_expired",
                    order.id = order,
                    "payment declined (logged from a detached task)"
                );
            });
        }
        Ok(Decision::Declined)
    } else {
        Ok(Decision::Approved)
    }
}
