//! What the services share on the wire: the instrumented HTTP client every service calls its
//! dependencies with, one helper for a call whose body is not needed, and a plain GET for the
//! admin routes (a probe is no customer's flow, so it goes around flowtel's client layer).

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tower::{Layer, ServiceExt};

/// An HTTP client under flowtel's client layer: client spans, `http.client.request.duration`,
/// and the flow carried in W3C baggage.
pub type FlowHttp = flowtel_tower::FlowClient<Client<HttpConnector, Full<Bytes>>>;

/// A new instrumented client recording through `telemetry`.
pub fn client(telemetry: &flowtel::Telemetry) -> FlowHttp {
    let client = Client::builder(TokioExecutor::new()).build_http();
    flowtel_tower::FlowClientLayer::new(telemetry).layer(client)
}

/// Sends `method url` with the `x-user-id` header when given; the status, or `None` when the
/// service could not be reached.
pub async fn call(
    client: &FlowHttp,
    method: http::Method,
    url: String,
    user: Option<&str>,
) -> Option<http::StatusCode> {
    let mut req = http::Request::builder().method(method).uri(url);
    if let Some(user) = user {
        req = req.header("x-user-id", user);
    }
    let req = req.body(Full::new(Bytes::new())).ok()?;
    let resp = client.clone().oneshot(req).await.ok()?;
    let status = resp.status();
    let _ = resp.into_body().collect().await;
    Some(status)
}

/// `GET url` without instrumentation, for admin routes: the status and body, or `None` when
/// the service could not be reached.
pub async fn admin_get(url: &str) -> Option<(http::StatusCode, Bytes)> {
    let client: Client<HttpConnector, Full<Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    let req = http::Request::get(url).body(Full::new(Bytes::new())).ok()?;
    let resp = client.request(req).await.ok()?;
    let status = resp.status();
    let body = resp.into_body().collect().await.ok()?.to_bytes();
    Some((status, body))
}
