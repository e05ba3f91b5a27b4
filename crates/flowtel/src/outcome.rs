//! How the flow and step macros record `outcome` and `error.type` on their spans.
//!
//! The macros see a function's return value but not its type's traits, so they ask at the call
//! site, where the type is concrete, through method resolution on `&&Probe(&value)`, which tries
//! three impls in order: [`KindProbe`] (a `Result` whose error implements [`crate::ErrorKind`]:
//! its kind), [`TypeNameProbe`] (any other `Result`: the error's short type name), then
//! [`PlainProbe`] (anything else: never an error). One method call per function keeps the
//! expansion small. This works for `Result` aliases (`io::Result`, `anyhow::Result`) that a
//! syntactic check would miss.
//! The span fields themselves are the contract with the runtime; this module only fills them.

use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::ErrorKind;

/// Wraps a return value; call `(&&Probe(&value)).flowtel_error_type()` with the three probe
/// traits in scope.
pub struct Probe<'a, T>(pub &'a T);

/// A `Result` whose error type implements [`ErrorKind`]: its kind.
pub trait KindProbe {
    /// `None` for `Ok`, the error's kind for `Err`.
    fn flowtel_error_type(&self) -> Option<&'static str>;
}

impl<T, E: ErrorKind> KindProbe for &Probe<'_, Result<T, E>> {
    fn flowtel_error_type(&self) -> Option<&'static str> {
        self.0.as_ref().err().map(ErrorKind::kind)
    }
}

/// Any other `Result`: the error's short type name.
pub trait TypeNameProbe {
    /// `None` for `Ok`, the error type's short name for `Err`.
    fn flowtel_error_type(&self) -> Option<&'static str>;
}

impl<T, E> TypeNameProbe for &&Probe<'_, Result<T, E>> {
    fn flowtel_error_type(&self) -> Option<&'static str> {
        self.0
            .as_ref()
            .err()
            .map(|_| short_type_name(std::any::type_name::<E>()))
    }
}

/// Any other return value: never an error.
pub trait PlainProbe {
    /// Always `None`.
    fn flowtel_error_type(&self) -> Option<&'static str>;
}

impl<T> PlainProbe for Probe<'_, T> {
    fn flowtel_error_type(&self) -> Option<&'static str> {
        None
    }
}

/// `"my_app::errors::PaymentError<u8>"` -> `"PaymentError"`.
pub fn short_type_name(full: &'static str) -> &'static str {
    let path = full.split('<').next().unwrap_or(full);
    path.rsplit("::").next().unwrap_or(path)
}

/// Records `outcome` (and `error.type` for an error) on a flow or step span.
pub fn record_outcome(span: &Span, error_type: Option<&'static str>) {
    if span.is_disabled() {
        return;
    }
    match error_type {
        None => {
            span.record("outcome", "ok");
        }
        Some(kind) => {
            span.record("outcome", "error");
            span.record("error.type", kind);
            // Backends, tail samplers and error views read the span status, not `outcome`.
            span.set_status(opentelemetry::trace::Status::error(kind));
        }
    }
}

#[cfg(test)]
// The explicit `&&` is what selects between the probes, exactly as in the macros' expansion.
#[allow(clippy::needless_borrow)]
mod tests {
    use super::*;

    struct Declined;
    impl ErrorKind for Declined {
        fn kind(&self) -> &'static str {
            "card_declined"
        }
    }
    struct Timeout;

    fn generic<T>(value: &T) -> Option<&'static str> {
        // A generic `T` is opaque here: the fallback applies, as in a generic user function.
        (&&Probe(value)).flowtel_error_type()
    }

    #[test]
    fn results_report_their_error_kind_or_type_name() {
        let declined: Result<(), Declined> = Err(Declined);
        assert_eq!(
            (&&Probe(&declined)).flowtel_error_type(),
            Some("card_declined")
        );
        let timeout: Result<u8, Timeout> = Err(Timeout);
        assert_eq!((&&Probe(&timeout)).flowtel_error_type(), Some("Timeout"));
        let ok: Result<u8, Timeout> = Ok(1);
        assert_eq!((&&Probe(&ok)).flowtel_error_type(), None);
        let ok: Result<u8, Declined> = Ok(1);
        assert_eq!((&&Probe(&ok)).flowtel_error_type(), None);
        assert_eq!((&&Probe(&5u32)).flowtel_error_type(), None);
        assert_eq!(generic(&declined), None);
    }

    #[test]
    fn short_names_drop_paths_and_generics() {
        assert_eq!(short_type_name("a::b::PaymentError<c::D>"), "PaymentError");
        assert_eq!(short_type_name("Timeout"), "Timeout");
    }
}
