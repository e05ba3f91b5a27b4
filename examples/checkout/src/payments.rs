//! The payments service: authorizes a payment for an order. It knows nothing of flows; the
//! flow arrives in the caller's baggage and flowtel puts it on its spans and metrics.
//!
//! Authorizations wait in a work queue for one of a few issuer connections; the queue's depth
//! is the saturation signal `orders.queue.depth{queue.name=authorizations}`, whose limit the
//! conventions declare. The issuer is briefly busy for some orders: the first attempt gets a
//! 503 and the gateway retries.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use flowtel::opentelemetry::KeyValue;

/// Issuer connections: authorizations beyond these wait in the queue.
const ISSUER_CONNECTIONS: usize = 4;

#[derive(Clone)]
struct Payments {
    issuer: Arc<tokio::sync::Semaphore>,
    queue: flowtel::Saturation,
    /// Orders whose first attempt found the issuer busy.
    busy_once: Arc<Mutex<HashSet<String>>>,
}

/// Why a payment was not authorized.
#[derive(Debug)]
pub enum PaymentError {
    /// The card issuer declined.
    Declined,
}

impl flowtel::ErrorKind for PaymentError {
    fn kind(&self) -> &'static str {
        match self {
            PaymentError::Declined => "card_declined",
        }
    }
}

/// The router, instrumented with flowtel's server layer.
pub fn app(telemetry: &flowtel::Telemetry) -> Router {
    let payments = Payments {
        issuer: Arc::new(tokio::sync::Semaphore::new(ISSUER_CONNECTIONS)),
        queue: telemetry.saturation(flowtel::saturation!("orders.queue.depth")),
        busy_once: Arc::default(),
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
    match authorize(&order).await {
        Ok(()) => (StatusCode::OK, "authorized"),
        Err(PaymentError::Declined) => (StatusCode::PAYMENT_REQUIRED, "declined"),
    }
}

/// Step `payment.authorize`; the flow is not named here: it comes from the caller.
#[flowtel::step("payment.authorize", fields(order.id = order))]
async fn authorize(order: &str) -> Result<(), PaymentError> {
    // Issuer round trip.
    tokio::time::sleep(Duration::from_millis(2 + order.len() as u64 % 5)).await;
    // Every order ending in 7 is declined.
    if order.ends_with('7') {
        Err(PaymentError::Declined)
    } else {
        Ok(())
    }
}
