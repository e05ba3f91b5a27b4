//! The one shape both layers share: a tower layer holding a side's recording state and a
//! [`Classify`] implementation, and the service it wraps around each inner service.
//!
//! What differs between the server and the client is what a request records; that is the
//! [`Side`] implementation ([`Server`], [`Client`]). [`FlowServerLayer`](crate::FlowServerLayer)
//! and [`FlowClientLayer`](crate::FlowClientLayer) are this layer for one side each.

use std::sync::Arc;
use std::task::{Context, Poll};

use flowtel::propagation::FlowPropagator;
use flowtel::{Meter, Telemetry};
use http::{Request, Response};

use crate::classify::Classify;
use crate::future::ResponseFuture;

/// One side of an HTTP exchange: what the layer keeps and what a request records. Sealed:
/// implemented by [`Server`] and [`Client`] only.
pub trait Side: sealed::Sealed + Send + Sync + Sized + 'static {
    /// Recording state shared by every service the layer makes (instruments, propagator).
    type Shared: Send + Sync;
    /// State of one wrapped service (the server's route cache).
    type PerService: Default;
    /// What counts as a failure unless [`HttpLayer::with_classifier`] says otherwise.
    type Classifier: Classify + Default;
    /// The layer's name in `Debug` output.
    const LAYER: &'static str;
    /// The service's name in `Debug` output.
    const SERVICE: &'static str;

    /// The recording state, made once per layer from flowtel's meter and propagator.
    #[doc(hidden)]
    fn shared(meter: &Meter, propagator: FlowPropagator) -> Self::Shared;

    /// Instruments one request and calls `inner` with it.
    #[doc(hidden)]
    fn call<S: Inner<ReqB>, C: Classify, ReqB>(
        parts: Parts<'_, Self, C>,
        inner: &mut S,
        req: Request<ReqB>,
    ) -> ResponseFuture<S::Future, C>;
}

/// A service the layers wrap: HTTP requests in, HTTP responses (or a displayable error) out.
pub trait Inner<ReqB>:
    tower::Service<Request<ReqB>, Response = Response<Self::Body>, Error: std::fmt::Display + 'static>
{
    /// The response body.
    type Body;
}

impl<S, ReqB, ResB> Inner<ReqB> for S
where
    S: tower::Service<Request<ReqB>, Response = Response<ResB>>,
    S::Error: std::fmt::Display + 'static,
{
    type Body = ResB;
}

/// What [`Side::call`] reads from the service: the layer's state, the service's own, the
/// classifier.
#[doc(hidden)]
#[derive(Debug)]
pub struct Parts<'a, K: Side, C> {
    pub(crate) shared: &'a K::Shared,
    pub(crate) per_service: &'a K::PerService,
    pub(crate) classifier: &'a C,
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::Server {}
    impl Sealed for super::Client {}
}

/// The server side (see [`crate::server`]).
#[derive(Debug, Clone, Copy)]
pub struct Server;

/// The client side (see [`crate::client`]).
#[derive(Debug, Clone, Copy)]
pub struct Client;

/// Tower layer instrumenting one side of HTTP; see [`FlowServerLayer`](crate::FlowServerLayer)
/// and [`FlowClientLayer`](crate::FlowClientLayer).
pub struct HttpLayer<K: Side, C> {
    pub(crate) shared: Arc<K::Shared>,
    pub(crate) classifier: C,
}

impl<K: Side, C: Clone> Clone for HttpLayer<K, C> {
    fn clone(&self) -> Self {
        HttpLayer {
            shared: self.shared.clone(),
            classifier: self.classifier.clone(),
        }
    }
}

impl<K: Side, C> std::fmt::Debug for HttpLayer<K, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct(K::LAYER).finish_non_exhaustive()
    }
}

impl<K: Side> HttpLayer<K, K::Classifier> {
    /// A layer recording through `telemetry`'s meter and propagator.
    pub fn new(telemetry: &Telemetry) -> Self {
        Self::from_parts(telemetry.meter(), telemetry.propagator().clone())
    }

    /// A layer from a meter and a propagator.
    pub fn from_parts(meter: &Meter, propagator: FlowPropagator) -> Self {
        HttpLayer {
            shared: Arc::new(K::shared(meter, propagator)),
            classifier: K::Classifier::default(),
        }
    }
}

impl<K: Side, C> HttpLayer<K, C> {
    /// The same layer deciding failures with `classifier`.
    pub fn with_classifier<D: Classify>(self, classifier: D) -> HttpLayer<K, D> {
        HttpLayer {
            shared: self.shared,
            classifier,
        }
    }
}

impl<S, K: Side, C: Clone> tower::Layer<S> for HttpLayer<K, C> {
    type Service = HttpService<S, K, C>;

    fn layer(&self, inner: S) -> Self::Service {
        HttpService {
            inner,
            shared: self.shared.clone(),
            per_service: Arc::new(K::PerService::default()),
            classifier: self.classifier.clone(),
        }
    }
}

/// The service [`HttpLayer`] wraps around an inner service.
pub struct HttpService<S, K: Side, C> {
    inner: S,
    shared: Arc<K::Shared>,
    per_service: Arc<K::PerService>,
    classifier: C,
}

impl<S: Clone, K: Side, C: Clone> Clone for HttpService<S, K, C> {
    fn clone(&self) -> Self {
        HttpService {
            inner: self.inner.clone(),
            shared: self.shared.clone(),
            per_service: self.per_service.clone(),
            classifier: self.classifier.clone(),
        }
    }
}

impl<S: std::fmt::Debug, K: Side, C> std::fmt::Debug for HttpService<S, K, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct(K::SERVICE)
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<S: Inner<ReqB>, K: Side, C: Classify, ReqB> tower::Service<Request<ReqB>>
    for HttpService<S, K, C>
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, C>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqB>) -> Self::Future {
        let parts = Parts {
            shared: &*self.shared,
            per_service: &*self.per_service,
            classifier: &self.classifier,
        };
        K::call(parts, &mut self.inner, req)
    }
}
