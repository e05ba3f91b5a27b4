//! Retries made visible: every attempt its own client span, numbered by
//! `http.request.resend_count`, and counted per dependency in `flow.dependency.retries`.
//!
//! The client layer cannot tell a retry from a new request by looking at it, so the attempt
//! number travels with the request as the [`ResendCount`] extension. Two supported ways to set
//! it:
//!
//! - **tower's `Retry` around the layer**: wrap the retry policy in [`CountResends`]. tower
//!   clones the request for the next attempt through the policy, and `CountResends` numbers
//!   each clone one higher than the request it was cloned from:
//!
//!   ```ignore
//!   let client = ServiceBuilder::new()
//!       .layer(RetryLayer::new(CountResends(my_policy)))
//!       .layer(FlowClientLayer::new(&telemetry))
//!       .service(http_client);
//!   ```
//!
//! - **your own retry loop**: insert the attempt number before sending,
//!   `req.extensions_mut().insert(ResendCount(attempt))`, with 0 (or nothing) for the first.
//!
//! The OpenTelemetry semantic conventions define `http.request.resend_count` as the ordinal
//! of the resend (1 for the first retry) and leave it off first attempts; flowtel does the same.

use std::future::Future;

/// Ordinal number of a request's resend: 0 for the first attempt, 1 for the first retry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ResendCount(pub u32);

/// A tower retry policy that numbers the attempts it makes with [`ResendCount`], so that
/// the client layer inside it records each retry; the wrapped policy decides everything else.
#[derive(Debug, Clone, Copy, Default)]
pub struct CountResends<P>(pub P);

impl<P, B, Res, E> tower::retry::Policy<http::Request<B>, Res, E> for CountResends<P>
where
    P: tower::retry::Policy<http::Request<B>, Res, E>,
    P::Future: Future<Output = ()>,
{
    type Future = P::Future;

    fn retry(
        &mut self,
        req: &mut http::Request<B>,
        result: &mut Result<Res, E>,
    ) -> Option<Self::Future> {
        self.0.retry(req, result)
    }

    fn clone_request(&mut self, req: &http::Request<B>) -> Option<http::Request<B>> {
        let mut next = self.0.clone_request(req)?;
        let n = req.extensions().get::<ResendCount>().map_or(0, |r| r.0);
        next.extensions_mut()
            .insert(ResendCount(n.saturating_add(1)));
        Some(next)
    }
}
