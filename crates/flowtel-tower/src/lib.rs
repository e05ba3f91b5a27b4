//! flowtel-tower: tower middleware that puts HTTP traffic into flows.
//!
//! [`FlowServerLayer`] instruments a server (W3C context extraction, `http.route` from the
//! route template, flow from the registry's entry routes or incoming baggage, server span,
//! `http.server.request.duration`); [`FlowClientLayer`] instruments a client (context and
//! `flow.name` baggage injection, client span, `http.client.request.duration`). Both record
//! through flowtel's enforcing meter, so labels and limits follow the conventions. What counts
//! as a failure is a [`Classify`] implementation, kept apart from the recording.
//!
//! ```no_run
//! # fn demo(telemetry: &flowtel::Telemetry) {
//! use axum::{Router, routing::post};
//! let app: Router = Router::new()
//!     .route("/orders/{id}/pay", post(|| async { "paid" }))
//!     .layer(flowtel_tower::FlowServerLayer::new(telemetry));
//! # }
//! ```
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
