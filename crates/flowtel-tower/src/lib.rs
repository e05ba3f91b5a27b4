//! flowtel-tower: tower middleware that puts HTTP traffic into flows.
//!
//! [`FlowServerLayer`] instruments a server (W3C context extraction, `http.route` from the
//! route template, flow from the registry's entry routes or incoming baggage, server span,
//! `http.server.request.duration`); [`FlowClientLayer`] instruments a client (context and
//! `flow.name` baggage injection, client span, `http.client.request.duration`). Both record
//! through flowtel's enforcing meter, so labels and limits follow the conventions. What counts
//! as a failure is a [`Classify`] implementation, kept apart from the recording. Under
//! `flowtel::init`'s subscriber both build their spans through the OpenTelemetry API with the
//! tracer `flowtel::TraceLayer` lends, as OpenTelemetry's own instrumentations do (see
//! [`server`]); under a subscriber of your own they are `tracing` spans.
//!
//! ```no_run
//! # fn demo(telemetry: &flowtel::Telemetry) {
//! use axum::{Router, routing::{get, post}};
//! let app: Router = Router::new()
//!     .route("/orders/{id}/pay", post(|| async { "paid" }))
//!     .layer(flowtel_tower::FlowServerLayer::new(telemetry))
//!     // Not instrumented: axum wraps only the routes added before a layer.
//!     .merge(Router::new().route("/healthz", get(|| async { "ok" })));
//! # }
//! ```
//!
//! Routes that are no customer's flow (health checks, readiness probes, admin routes) go in
//! a router merged *after* the layer, as above: axum's `Router::layer` wraps the routes added
//! before it only, so a probe makes no server span (no trace without a flow, nothing for tail
//! sampling to keep) and no `http.server.request.duration` series, and costs nothing.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod classify;
pub mod client;
mod future;
pub mod layer;
pub mod retry;
pub mod server;

pub use classify::{Classify, ClientErrors, ServerErrors};
pub use client::{FlowClient, FlowClientLayer};
pub use future::ResponseFuture;
pub use layer::{Client, HttpLayer, HttpService, Server, Side};
pub use retry::{CountResends, ResendCount};
pub use server::{FlowServer, FlowServerLayer};
