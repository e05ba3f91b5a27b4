//! How the flow and step macros record `outcome` and `error.type` on their spans.
//!
//! The macros see a function's return value but not its type's traits, so they ask at the call
//! site, where the type is concrete, through method resolution: [`Probe`] of a `Result` finds
//! [`ResultProbe`] (its `Err`, if any), anything else falls back to [`PlainProbe`] (never an
//! error); [`Kind`] of an error type that implements [`crate::ErrorKind`] finds [`KindProbe`]
//! (its kind), any other type falls back to [`TypeNameProbe`] (its short type name). This works
//! for `Result` aliases (`io::Result`, `anyhow::Result`) that a syntactic check would miss.
//! The span fields themselves are the contract with the runtime; this module only fills them.

use std::convert::Infallible;

use tracing::Span;

use crate::ErrorKind;

/// Wraps a return value for [`ResultProbe`] / [`PlainProbe`].
pub struct Probe<'a, T>(pub &'a T);

/// A `Result` return value: its error, when it is an `Err`.
pub trait ResultProbe {
    /// A reference to the error type.
    type Error;
    /// The error of an `Err`, `None` for `Ok`.
    fn flowtel_error(&self) -> Option<Self::Error>;
}

impl<'a, T, E> ResultProbe for Probe<'a, Result<T, E>> {
    type Error = &'a E;
    fn flowtel_error(&self) -> Option<&'a E> {
        self.0.as_ref().err()
    }
}

/// Any other return value: never an error.
pub trait PlainProbe {
    /// Always `None`.
    fn flowtel_error(&self) -> Option<&'static Infallible>;
}

impl<T> PlainProbe for &Probe<'_, T> {
    fn flowtel_error(&self) -> Option<&'static Infallible> {
        None
    }
}

/// Wraps an error for [`KindProbe`] / [`TypeNameProbe`].
pub struct Kind<'a, E>(pub &'a E);

/// An error that implements [`ErrorKind`]: its kind.
pub trait KindProbe {
    /// The value of `error.type`.
    fn flowtel_error_type(&self) -> &'static str;
}

impl<E: ErrorKind> KindProbe for Kind<'_, E> {
    fn flowtel_error_type(&self) -> &'static str {
        self.0.kind()
    }
}

/// Any other error: its short type name.
pub trait TypeNameProbe {
    /// The value of `error.type`.
    fn flowtel_error_type(&self) -> &'static str;
}

impl<E> TypeNameProbe for &Kind<'_, E> {
    fn flowtel_error_type(&self) -> &'static str {
        short_type_name(std::any::type_name::<E>())
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
        }
    }
}

#[cfg(test)]
// The explicit `&` is what selects between the probes, exactly as in the macros' expansion.
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

    fn error_type<T>(value: &T) -> Option<&'static str> {
        // A generic `T` is opaque here: the fallback applies, as in a generic user function.
        (&Probe(value))
            .flowtel_error()
            .map(|e| (&Kind(e)).flowtel_error_type())
    }

    #[test]
    fn results_report_their_error_kind_or_type_name() {
        let declined: Result<(), Declined> = Err(Declined);
        let e = (&Probe(&declined)).flowtel_error();
        assert_eq!(
            e.map(|e| (&Kind(e)).flowtel_error_type()),
            Some("card_declined")
        );

        let timeout: Result<u8, Timeout> = Err(Timeout);
        let e = (&Probe(&timeout)).flowtel_error();
        assert_eq!(e.map(|e| (&Kind(e)).flowtel_error_type()), Some("Timeout"));

        let ok: Result<u8, Timeout> = Ok(1);
        assert!((&Probe(&ok)).flowtel_error().is_none());
        assert!((&Probe(&5u32)).flowtel_error().is_none());
        assert_eq!(error_type(&declined), None);
    }

    #[test]
    fn short_names_drop_paths_and_generics() {
        assert_eq!(short_type_name("a::b::PaymentError<c::D>"), "PaymentError");
        assert_eq!(short_type_name("Timeout"), "Timeout");
    }
}
