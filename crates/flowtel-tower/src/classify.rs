//! What counts as a failed request, kept apart from recording it.
//!
//! As in tower-http's `trace` module, a classifier decides; the layers only record what it
//! says. The decision is the `error.type` value of the semantic conventions: the status code
//! as text for HTTP errors, the short type name of the error for transport failures, and no
//! value for success.

use opentelemetry::KeyValue;
use std::borrow::Cow;
use std::fmt;

use http::StatusCode;

/// Decides whether a response or a service error is a failure, and its `error.type`.
pub trait Classify: Clone + Send + Sync + 'static {
    /// `Some(error.type)` when `status` is a failure.
    fn classify_status(&self, status: StatusCode) -> Option<Cow<'static, str>>;

    /// The `error.type` of an error returned by the inner service instead of a response.
    fn classify_error<E: fmt::Display + 'static>(&self, _error: &E) -> Cow<'static, str> {
        Cow::Borrowed(short_type_name::<E>())
    }
}

/// Server side: 5xx responses are failures (a 4xx is the client's mistake, not the server's).
#[derive(Debug, Clone, Copy, Default)]
pub struct ServerErrors;

impl Classify for ServerErrors {
    fn classify_status(&self, status: StatusCode) -> Option<Cow<'static, str>> {
        status
            .is_server_error()
            .then(|| Cow::Owned(status.as_str().to_owned()))
    }
}

/// Client side: every 4xx and 5xx response is a failure.
#[derive(Debug, Clone, Copy, Default)]
pub struct ClientErrors;

impl Classify for ClientErrors {
    fn classify_status(&self, status: StatusCode) -> Option<Cow<'static, str>> {
        (status.is_client_error() || status.is_server_error())
            .then(|| Cow::Owned(status.as_str().to_owned()))
    }
}

/// What a finished exchange says: the status when a response came, and its `error.type`.
pub(crate) fn outcome<C: Classify, ResB, E: fmt::Display + 'static>(
    classifier: &C,
    result: &Result<http::Response<ResB>, E>,
) -> (Option<u16>, Option<Cow<'static, str>>) {
    match result {
        Ok(response) => {
            let status = response.status();
            (Some(status.as_u16()), classifier.classify_status(status))
        }
        Err(e) => (None, Some(classifier.classify_error(e))),
    }
}

/// Records the status and the `error.type` on the exchange's span.
pub(crate) fn record_on_span(span: &tracing::Span, status: Option<u16>, error_type: Option<&str>) {
    if let Some(status) = status {
        // A u16 would reach the exporter as text; the conventions declare an `int`.
        span.record("http.response.status_code", i64::from(status));
    }
    if let Some(e) = error_type {
        span.record("error.type", e);
        span.record("otel.status_code", "ERROR");
    }
}

/// The same on a span built through the OpenTelemetry API.
pub(crate) fn record_on_otel_span(
    span: &opentelemetry::trace::SpanRef<'_>,
    status: Option<u16>,
    error_type: Option<&str>,
) {
    if let Some(status) = status {
        span.set_attribute(KeyValue::new(
            "http.response.status_code",
            i64::from(status),
        ));
    }
    if let Some(e) = error_type {
        span.set_attribute(KeyValue::new("error.type", e.to_owned()));
        span.set_status(opentelemetry::trace::Status::error(""));
    }
}

/// `hyper_util::client::legacy::Error` -> `Error`; generic arguments dropped.
pub fn short_type_name<T: ?Sized>() -> &'static str {
    let full = std::any::type_name::<T>();
    let base = full.split('<').next().unwrap_or(full);
    base.rsplit("::").next().unwrap_or(base)
}

/// The semantic-convention value of `http.request.method`: known methods as they are, any
/// other as `_OTHER`.
pub fn method_label(method: &http::Method) -> &'static str {
    match method.as_str() {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "DELETE" => "DELETE",
        "PATCH" => "PATCH",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        "CONNECT" => "CONNECT",
        "TRACE" => "TRACE",
        _ => "_OTHER",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_fail_on_5xx_clients_on_4xx_too() {
        assert_eq!(ServerErrors.classify_status(StatusCode::NOT_FOUND), None);
        assert_eq!(
            ServerErrors
                .classify_status(StatusCode::BAD_GATEWAY)
                .as_deref(),
            Some("502")
        );
        assert_eq!(
            ClientErrors
                .classify_status(StatusCode::NOT_FOUND)
                .as_deref(),
            Some("404")
        );
        assert_eq!(ClientErrors.classify_status(StatusCode::OK), None);
    }

    #[test]
    fn unknown_methods_become_other() {
        assert_eq!(method_label(&http::Method::GET), "GET");
        assert_eq!(
            method_label(&http::Method::from_bytes(b"BREW").unwrap()),
            "_OTHER"
        );
    }

    #[test]
    fn error_types_are_short_names() {
        assert_eq!(short_type_name::<std::io::Error>(), "Error");
        assert_eq!(short_type_name::<Vec<String>>(), "Vec");
    }
}
