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

/// An injected issuer delay, for trying the flow analysis on a known slowdown:
/// `EXAMPLE_PAYMENTS_DELAY_MS` milliseconds more on one order in `EXAMPLE_PAYMENTS_DELAY_EVERY`
/// (default every order).
fn injected_delay(order: &str) -> Duration {
    static DELAY: std::sync::OnceLock<(u64, u64)> = std::sync::OnceLock::new();
    let (ms, every) = *DELAY.get_or_init(|| {
        let var = |name: &str| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        (
            var("EXAMPLE_PAYMENTS_DELAY_MS").unwrap_or(0),
            var("EXAMPLE_PAYMENTS_DELAY_EVERY").unwrap_or(1).max(1),
        )
    });
    if ms == 0 {
        return Duration::ZERO;
    }
    // Spread over orders without a pattern in their numbers (FNV-1a of the id).
    let hash = order.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    if hash % every == 0 {
        Duration::from_millis(ms)
    } else {
        Duration::ZERO
    }
}

/// Step `payment.authorize`; the flow is not named here: it comes from the caller.
#[flowtel::step("payment.authorize", fields(order.id = order))]
async fn authorize(order: &str) -> Result<(), PaymentError> {
    // Issuer round trip.
    tokio::time::sleep(Duration::from_millis(2 + order.len() as u64 % 5) + injected_delay(order))
        .await;
    // Every order ending in 7 is declined.
    if order.ends_with('7') {
        // The declared event `payment.declined` (conventions/shop.yaml: `warn` or above, in the
        // checkout flow's `payment.authorize` step, requires `payment.decline_reason`). Written
        // inside the step span, so flowtel exports it with this trace's ids and the flow.
        tracing::event!(
            name: "payment.declined",
            tracing::Level::WARN,
            payment.decline_reason = "card_expired",
            payment.method = "card",
            order.id = order,
            "payment declined"
        );
        Err(PaymentError::Declined)
    } else {
        Ok(())
    }
}
