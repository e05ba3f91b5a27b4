//! The gateway: the entry of the `login`, `browse` and `checkout` flows. It calls identity,
//! catalog and payments over HTTP through flowtel's client layer (payments through tower's
//! `Retry` too, numbering attempts with `CountResends`), and hands each confirmed order to the
//! orders worker through the broker with a PRODUCER span that carries the flow in the message.
//!
//! A customer's mistake (wrong password, declined card, dead product link) is a 4xx answer and a
//! successful flow: the shop did its job. A dependency that fails makes the flow fail (5xx).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::routing::{get, post};
use bytes::Bytes;
use flowtel::messaging::MessageSpan;
use flowtel::opentelemetry::KeyValue;
use http_body_util::Full;
use tower::{Layer, ServiceExt};
use tracing::Instrument;

use crate::broker::ORDERS_STREAM;
use crate::faults::Faults;
use crate::http::{FlowHttp, call, client};

/// The payments client: tower's `Retry` (numbering attempts with `CountResends`) around
/// flowtel's client layer, so every attempt is its own client span.
type PaymentsClient = tower::retry::Retry<flowtel_tower::CountResends<RetryBusy>, FlowHttp>;

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

/// Why a flow failed (the shop's failures, never the customer's).
#[derive(Debug)]
pub enum GatewayError {
    /// Payments could not be reached or failed.
    PaymentsUnavailable,
    /// Identity could not be reached or failed.
    IdentityUnavailable,
    /// The catalog could not be reached or failed.
    CatalogUnavailable,
    /// The broker did not take the order.
    BrokerUnavailable,
    /// The gateway itself failed (an injected `--fail gateway=..`).
    Internal,
}

impl flowtel::ErrorKind for GatewayError {
    fn kind(&self) -> &'static str {
        match self {
            GatewayError::PaymentsUnavailable => "payments_unavailable",
            GatewayError::IdentityUnavailable => "identity_unavailable",
            GatewayError::CatalogUnavailable => "catalog_unavailable",
            GatewayError::BrokerUnavailable => "broker_unavailable",
            GatewayError::Internal => "internal",
        }
    }
}

/// How a flow ended for the customer.
#[derive(Debug)]
pub enum Reply {
    /// Done; the body.
    Done(String),
    /// Wrong credentials (401).
    Rejected,
    /// Card declined (402).
    Declined,
    /// No such product (404).
    NotFound,
}

/// Where the gateway's dependencies are.
pub struct Upstreams {
    /// `http://127.0.0.1:PORT` of identity.
    pub identity: String,
    /// Of catalog.
    pub catalog: String,
    /// Of payments.
    pub payments: String,
}

/// The broker client; connected on first use, on the gateway's own runtime.
struct Broker {
    client: redis::Client,
    connection: tokio::sync::OnceCell<redis::aio::MultiplexedConnection>,
}

impl Broker {
    async fn connection(&self) -> Option<redis::aio::MultiplexedConnection> {
        self.connection
            .get_or_try_init(|| crate::broker::connect(&self.client))
            .await
            .ok()
            .cloned()
    }
}

/// `--extra-label KEY=VALUE`: orders also counted through the OpenTelemetry API directly,
/// bypassing flowtel's enforcement, with one label the conventions do not declare: the build a
/// team ships when it records what it likes. The linters are there to catch it.
#[derive(Clone)]
struct Drift {
    orders: flowtel::opentelemetry::metrics::Counter<u64>,
    label: KeyValue,
}

#[derive(Clone)]
struct Gateway {
    up: Arc<Upstreams>,
    http: FlowHttp,
    payments: PaymentsClient,
    broker: Arc<Broker>,
    propagator: flowtel::FlowPropagator,
    orders: flowtel::meter::Counter<u64>,
    drift: Option<Drift>,
    next_order: Arc<AtomicU64>,
    published: Arc<AtomicU64>,
    faults: Arc<Faults>,
}

/// The router, instrumented with flowtel's server layer. `published` counts the orders handed
/// to the broker.
pub fn app(
    telemetry: &flowtel::Telemetry,
    up: Upstreams,
    broker: redis::Client,
    faults: Arc<Faults>,
    published: Arc<AtomicU64>,
    extra_label: Option<(String, String)>,
) -> Router {
    let http = client(telemetry);
    let drift = extra_label.map(|(k, v)| {
        use flowtel::opentelemetry::metrics::MeterProvider as _;
        Drift {
            orders: telemetry
                .meter_provider()
                .meter("example-shop-unchecked")
                .u64_counter("checkout.orders")
                .build(),
            label: KeyValue::new(k, v),
        }
    });
    let gateway = Gateway {
        up: Arc::new(up),
        payments: tower::retry::RetryLayer::new(flowtel_tower::CountResends(RetryBusy { left: 2 }))
            .layer(http.clone()),
        http,
        broker: Arc::new(Broker {
            client: broker,
            connection: tokio::sync::OnceCell::new(),
        }),
        propagator: telemetry.propagator().clone(),
        orders: telemetry.meter().u64_counter("checkout.orders"),
        drift,
        next_order: Arc::new(AtomicU64::new(100_000)),
        published,
        faults,
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

fn respond(result: Result<Reply, GatewayError>) -> (StatusCode, String) {
    match result {
        Ok(Reply::Done(body)) => (StatusCode::OK, body),
        Ok(Reply::Rejected) => (StatusCode::UNAUTHORIZED, "no".into()),
        Ok(Reply::Declined) => (StatusCode::PAYMENT_REQUIRED, "declined".into()),
        Ok(Reply::NotFound) => (StatusCode::NOT_FOUND, "no such product".into()),
        Err(_) => (StatusCode::BAD_GATEWAY, "try later".into()),
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

/// Runs the checkout flow and counts the order.
async fn checkout(g: &Gateway, order: &str, user: &str) -> Result<Reply, GatewayError> {
    let result = checkout_flow(g, order, user).await;
    let outcome = if matches!(result, Ok(Reply::Done(_))) {
        "ok"
    } else {
        "error"
    };
    let method = if order.ends_with(['1', '3', '5', '9']) {
        "paypal"
    } else {
        "card"
    };
    let labels = [
        KeyValue::new("customer.tier", tier(user)),
        KeyValue::new("payment.method", method),
        KeyValue::new("outcome", outcome),
    ];
    g.orders.add(1, &labels);
    if let Some(d) = &g.drift {
        let mut all = labels.to_vec();
        all.push(d.label.clone());
        d.orders.add(1, &all);
    }
    result
}

/// Flow `checkout`: load the cart, authorize the payment (at payments), confirm the order
/// (handing it to the orders worker through the broker).
#[flowtel::flow("checkout", fields(user.id = redact(user), order.id = order))]
async fn checkout_flow(g: &Gateway, order: &str, user: &str) -> Result<Reply, GatewayError> {
    cart_load(g, order).await?;
    if payment_authorize(g, order).await? == StatusCode::PAYMENT_REQUIRED {
        return Ok(Reply::Declined);
    }
    order_confirm(g, order).await?;
    Ok(Reply::Done(format!("order {order} confirmed")))
}

#[flowtel::step(flow = "checkout", name = "cart.load")]
async fn cart_load(g: &Gateway, order: &str) -> Result<(), GatewayError> {
    tokio::time::sleep(Duration::from_millis(1 + order.len() as u64 % 3) + g.faults.delay()).await;
    if g.faults.fails() {
        return Err(GatewayError::Internal);
    }
    Ok(())
}

async fn payment_authorize(g: &Gateway, order: &str) -> Result<StatusCode, GatewayError> {
    let req = http::Request::post(format!("{}/payments/{order}", g.up.payments))
        .body(Full::new(Bytes::new()))
        .map_err(|_| GatewayError::PaymentsUnavailable)?;
    let resp = g
        .payments
        .clone()
        .oneshot(req)
        .await
        .map_err(|_| GatewayError::PaymentsUnavailable)?;
    match resp.status() {
        s @ (StatusCode::OK | StatusCode::PAYMENT_REQUIRED) => Ok(s),
        _ => Err(GatewayError::PaymentsUnavailable),
    }
}

/// Step `order.confirm`: the order goes to the `orders` stream, with the trace and the flow.
#[flowtel::step(flow = "checkout", name = "order.confirm")]
async fn order_confirm(g: &Gateway, order: &str) -> Result<(), GatewayError> {
    let sent = MessageSpan::send(&g.propagator, "redis", ORDERS_STREAM);
    let mut cmd = redis::cmd("XADD");
    cmd.arg(ORDERS_STREAM).arg("*").arg("order.id").arg(order);
    for (k, v) in &sent.fields {
        cmd.arg(k).arg(v);
    }
    let added = async {
        let mut broker = g.broker.connection().await?;
        cmd.query_async::<String>(&mut broker).await.ok()
    }
    .instrument(sent.span.clone())
    .await;
    match added {
        Some(_) => {
            g.published.fetch_add(1, Ordering::Relaxed);
            Ok(())
        }
        None => {
            MessageSpan::fail(&sent.span, "broker_unavailable");
            Err(GatewayError::BrokerUnavailable)
        }
    }
}

/// `POST /login`.
async fn login(State(g): State<Gateway>, headers: HeaderMap) -> (StatusCode, String) {
    respond(login_flow(&g, &user(&headers)).await)
}

/// Flow `login`: identity verifies the credentials and creates a session.
#[flowtel::flow("login", fields(user.id = redact(user)))]
async fn login_flow(g: &Gateway, user: &str) -> Result<Reply, GatewayError> {
    let url = format!("{}/sessions", g.up.identity);
    match call(&g.http, Method::POST, url, Some(user)).await {
        Some(StatusCode::OK) => Ok(Reply::Done("welcome".to_owned())),
        Some(StatusCode::UNAUTHORIZED) => Ok(Reply::Rejected),
        _ => Err(GatewayError::IdentityUnavailable),
    }
}

/// `GET /products`.
async fn products(State(g): State<Gateway>) -> (StatusCode, String) {
    respond(browse_search(&g).await)
}

/// `GET /products/{id}`.
async fn product(State(g): State<Gateway>, Path(id): Path<u64>) -> (StatusCode, String) {
    respond(browse_product(&g, id).await)
}

/// Flow `browse`: a product search at the catalog (sampled at 10% by the conventions).
#[flowtel::flow("browse")]
async fn browse_search(g: &Gateway) -> Result<Reply, GatewayError> {
    let url = format!("{}/search", g.up.catalog);
    match call(&g.http, Method::GET, url, None).await {
        Some(StatusCode::OK) => Ok(Reply::Done("products".to_owned())),
        _ => Err(GatewayError::CatalogUnavailable),
    }
}

/// Flow `browse`: one product page from the catalog.
#[flowtel::flow("browse")]
async fn browse_product(g: &Gateway, id: u64) -> Result<Reply, GatewayError> {
    let url = format!("{}/products/{id}", g.up.catalog);
    match call(&g.http, Method::GET, url, None).await {
        Some(StatusCode::OK) => Ok(Reply::Done(format!("product {id}"))),
        Some(StatusCode::NOT_FOUND) => Ok(Reply::NotFound),
        _ => Err(GatewayError::CatalogUnavailable),
    }
}
