//! The payments service: authorizes a payment for an order. It knows nothing of flows; the
//! flow arrives in the caller's baggage and flowtel puts it on its spans and metrics.

use std::time::Duration;

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::post;

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
    Router::new()
        .route("/payments/{order}", post(authorize_handler))
        .layer(flowtel_tower::FlowServerLayer::new(telemetry))
}

async fn authorize_handler(Path(order): Path<String>) -> (StatusCode, &'static str) {
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
