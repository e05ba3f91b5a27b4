//! The identity service: `POST /sessions` verifies the credentials and creates a session, the
//! two steps of the `login` flow. The flow arrives in the caller's baggage.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;

use crate::faults::Faults;

/// Why a login step failed.
#[derive(Debug)]
pub enum IdentityError {
    /// The credentials are wrong (the customer's mistake, answered 401).
    BadCredentials,
    /// The credential store failed (an injected `--fail identity=..`).
    StoreUnavailable,
}

impl flowtel::ErrorKind for IdentityError {
    fn kind(&self) -> &'static str {
        match self {
            IdentityError::BadCredentials => "bad_credentials",
            IdentityError::StoreUnavailable => "store_unavailable",
        }
    }
}

/// The router, instrumented with flowtel's server layer.
pub fn app(telemetry: &flowtel::Telemetry, faults: Arc<Faults>) -> Router {
    Router::new()
        .route("/sessions", post(sessions))
        .with_state(faults)
        .layer(flowtel_tower::FlowServerLayer::new(telemetry))
}

async fn sessions(
    State(faults): State<Arc<Faults>>,
    headers: HeaderMap,
) -> (StatusCode, &'static str) {
    let user = headers
        .get("x-user-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("anonymous");
    match credentials_verify(&faults, user).await {
        Ok(()) => {}
        Err(IdentityError::BadCredentials) => return (StatusCode::UNAUTHORIZED, "no"),
        Err(IdentityError::StoreUnavailable) => {
            return (StatusCode::INTERNAL_SERVER_ERROR, "store unavailable");
        }
    }
    session_create().await;
    (StatusCode::OK, "session")
}

/// Step `credentials.verify` (the flow comes from the caller).
#[flowtel::step("credentials.verify", fields(user.id = redact(user)))]
async fn credentials_verify(faults: &Faults, user: &str) -> Result<(), IdentityError> {
    // A password hash check.
    tokio::time::sleep(Duration::from_millis(2 + user.len() as u64 % 3) + faults.delay()).await;
    if faults.fails() {
        Err(IdentityError::StoreUnavailable)
    } else if user.ends_with("13") {
        Err(IdentityError::BadCredentials)
    } else {
        Ok(())
    }
}

/// Step `session.create`.
#[flowtel::step("session.create")]
async fn session_create() {
    tokio::time::sleep(Duration::from_millis(1)).await;
}
