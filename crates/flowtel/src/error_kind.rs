//! The `ErrorKind` trait: how an error names its class for the `error.type` attribute.
//!
//! The step and flow macros record `error.type` on a span when a function returns `Err`. By
//! default that is the error's short type name; an error type that implements [`ErrorKind`]
//! gives a stable, low-cardinality class instead (`timeout`, `card_declined`), which is what
//! dashboards and alerts group by.

/// An error that names its class, used as the `error.type` attribute and metric label.
///
/// The value must come from a small, fixed set (it becomes a metric label, capped by the
/// registry's `max_values` for `error.type`); never put identifiers or messages in it.
pub trait ErrorKind {
    /// The class of this error, e.g. `"timeout"` or `"card_declined"`.
    fn kind(&self) -> &'static str;
}
