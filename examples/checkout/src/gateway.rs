//! The gateway: the entry of the `checkout`, `login` and `browse` flows. It calls payments over
//! HTTP through tower's `Retry` and flowtel's client layer, which carries the flow in W3C
//! baggage and records every attempt.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use bytes::Bytes;
use flowtel::opentelemetry::KeyValue;
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tower::{Layer, ServiceExt};

/// The payments client: tower's `Retry` (numbering attempts with `CountResends`) around
/// flowtel's client layer, so every attempt is its own client span.
type PaymentsClient = tower::retry::Retry<
    flowtel_tower::CountResends<RetryBusy>,
    flowtel_tower::FlowClient<Client<HttpConnector, Full<Bytes>>>,
>;

/// Retries a payments answer of 503 (issuer busy) up to twice.
#[derive(Clone, Copy)]
pub struct RetryBusy {
    left: u8,
}

impl<E> tower::retry::Policy<http::Request<Full<Bytes>>, http::Response<hyper::body::Incoming>, E>
    for RetryBusy
{
    type Future = std::future::Ready<()>;

    fn retry(
        &mut self,
        _req: &mut http::Request<Full<Bytes>>,
        result: &mut Result<http::Response<hyper::body::Incoming>, E>,
    ) -> Option<Self::Future> {
        match result {
            Ok(resp) if resp.status() == StatusCode::SERVICE_UNAVAILABLE && self.left > 0 => {
                self.left -= 1;
                Some(std::future::ready(()))
            }
            _ => None,
        }
    }

    fn clone_request(
        &mut self,
        req: &http::Request<Full<Bytes>>,
    ) -> Option<http::Request<Full<Bytes>>> {
        let mut r = http::Request::new(req.body().clone());
        *r.method_mut() = req.method().clone();
        *r.uri_mut() = req.uri().clone();
        Some(r)
    }
}

/// Why a checkout or a login failed.
#[derive(Debug)]
pub enum GatewayError {
    /// Payments declined the card.
    Declined,
    /// Payments could not be reached or failed.
    PaymentsUnavailable,
    /// Wrong credentials.
    BadCredentials,
}

impl flowtel::ErrorKind for GatewayError {
    fn kind(&self) -> &'static str {
        match self {
            GatewayError::Declined => "card_declined",
            GatewayError::PaymentsUnavailable => "payments_unavailable",
            GatewayError::BadCredentials => "bad_credentials",
        }
    }
}

#[derive(Clone)]
struct Gateway {
    payments_url: Arc<str>,
    client: PaymentsClient,
    orders: flowtel::meter::Counter<u64>,
    next_order: Arc<AtomicU64>,
}

/// The router, instrumented with flowtel's server layer.
pub fn app(telemetry: &flowtel::Telemetry, payments_url: String) -> Router {
    let client = Client::builder(TokioExecutor::new()).build_http();
    let gateway = Gateway {
        payments_url: payments_url.into(),
        client: tower::retry::RetryLayer::new(flowtel_tower::CountResends(RetryBusy { left: 2 }))
            .layer(flowtel_tower::FlowClientLayer::new(telemetry).layer(client)),
        orders: telemetry.meter().u64_counter("checkout.orders"),
        next_order: Arc::new(AtomicU64::new(100_000)),
    };
    Router::new()
        .route("/checkout", post(checkout_new))
        .route("/orders/{id}/pay", post(checkout_order))
        .route("/login", post(login))
        .route("/products", get(products))
        .route("/products/{id}", get(product))
        .with_state(gateway)
        .layer(flowtel_tower::FlowServerLayer::new(telemetry))
}

fn user(headers: &HeaderMap) -> String {
    headers
        .get("x-user-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("anonymous")
        .to_owned()
}

fn tier(user: &str) -> &'static str {
    match user.len() % 3 {
        0 => "free",
        1 => "pro",
        _ => "enterprise",
    }
}

async fn checkout_new(State(g): State<Gateway>, headers: HeaderMap) -> (StatusCode, String) {
    let order = g.next_order.fetch_add(1, Ordering::Relaxed).to_string();
    respond(checkout(&g, &order, &user(&headers)).await)
}

async fn checkout_order(
    State(g): State<Gateway>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> (StatusCode, String) {
    respond(checkout(&g, &id, &user(&headers)).await)
}

fn respond(result: Result<String, GatewayError>) -> (StatusCode, String) {
    match result {
        Ok(body) => (StatusCode::OK, body),
        Err(GatewayError::Declined) => (StatusCode::PAYMENT_REQUIRED, "declined".into()),
        Err(GatewayError::BadCredentials) => (StatusCode::UNAUTHORIZED, "no".into()),
        Err(GatewayError::PaymentsUnavailable) => (StatusCode::BAD_GATEWAY, "try later".into()),
    }
}

/// Runs the checkout flow and counts the order.
async fn checkout(g: &Gateway, order: &str, user: &str) -> Result<String, GatewayError> {
    let result = checkout_flow(g, order, user).await;
    let outcome = if result.is_ok() { "ok" } else { "error" };
    let method = if order.ends_with(['1', '3', '5', '9']) {
        "paypal"
    } else {
        "card"
    };
    g.orders.add(
        1,
        &[
            KeyValue::new("customer.tier", tier(user)),
            KeyValue::new("payment.method", method),
            KeyValue::new("outcome", outcome),
        ],
    );
    result
}

/// Flow `checkout`: load the cart, authorize the payment (at payments), confirm the order.
#[flowtel::flow("checkout", fields(user.id = redact(user), order.id = order))]
async fn checkout_flow(g: &Gateway, order: &str, user: &str) -> Result<String, GatewayError> {
    cart_load(order).await;
    payment_authorize(g, order).await?;
    order_confirm(order).await;
    Ok(format!("order {order} confirmed"))
}

#[flowtel::step(flow = "checkout", name = "cart.load")]
async fn cart_load(order: &str) {
    tokio::time::sleep(Duration::from_millis(1 + order.len() as u64 % 3)).await;
}

async fn payment_authorize(g: &Gateway, order: &str) -> Result<(), GatewayError> {
    let req = http::Request::post(format!("{}/payments/{order}", g.payments_url))
        .body(Full::new(Bytes::new()))
        .map_err(|_| GatewayError::PaymentsUnavailable)?;
    let resp = g
        .client
        .clone()
        .oneshot(req)
        .await
        .map_err(|_| GatewayError::PaymentsUnavailable)?;
    match resp.status() {
        StatusCode::OK => Ok(()),
        StatusCode::PAYMENT_REQUIRED => Err(GatewayError::Declined),
        _ => Err(GatewayError::PaymentsUnavailable),
    }
}

#[flowtel::step(flow = "checkout", name = "order.confirm")]
async fn order_confirm(_order: &str) {
    tokio::time::sleep(Duration::from_millis(1)).await;
}

/// `POST /login`.
async fn login(headers: HeaderMap) -> (StatusCode, String) {
    respond(login_flow(&user(&headers)).await)
}

/// Flow `login`: verify the credentials, create a session.
#[flowtel::flow("login", fields(user.id = redact(user)))]
async fn login_flow(user: &str) -> Result<String, GatewayError> {
    credentials_verify(user).await?;
    session_create().await;
    Ok("welcome".to_owned())
}

#[flowtel::step(flow = "login", name = "credentials.verify")]
async fn credentials_verify(user: &str) -> Result<(), GatewayError> {
    tokio::time::sleep(Duration::from_millis(1)).await;
    if user.ends_with("13") {
        Err(GatewayError::BadCredentials)
    } else {
        Ok(())
    }
}

#[flowtel::step(flow = "login", name = "session.create")]
async fn session_create() {
    tokio::time::sleep(Duration::from_millis(1)).await;
}

/// `GET /products`.
async fn products() -> (StatusCode, String) {
    respond(browse_search().await)
}

/// `GET /products/{id}`.
async fn product(Path(id): Path<String>) -> (StatusCode, String) {
    respond(browse_product(&id).await)
}

/// Flow `browse`: search the catalog (sampled at 10% by the conventions).
#[flowtel::flow("browse")]
async fn browse_search() -> Result<String, GatewayError> {
    catalog_search().await;
    Ok("products".to_owned())
}

/// Flow `browse`: one product page.
#[flowtel::flow("browse")]
async fn browse_product(id: &str) -> Result<String, GatewayError> {
    product_load(id).await;
    Ok(format!("product {id}"))
}

#[flowtel::step(flow = "browse", name = "catalog.search")]
async fn catalog_search() {
    tokio::time::sleep(Duration::from_millis(1)).await;
}

#[flowtel::step(flow = "browse", name = "product.load")]
async fn product_load(_id: &str) {
    tokio::time::sleep(Duration::from_millis(1)).await;
}
