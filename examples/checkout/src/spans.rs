//! Flow and step spans exactly as `#[flowtel::flow]` / `#[flowtel::step]` write them, and the
//! outcome recording those macros do at the end of a function.

use tracing::Span;
use tracing::field::Empty;

/// A flow span with the hashed user id (the macro's `fields(user.id = redact(uid))` for an
/// attribute declared `redact: hash`).
pub fn flow(flow: &'static str, function: &'static str, user: &str) -> Span {
    tracing::info_span!(
        target: "flowtel::flow",
        "flow",
        flowtel.kind = "flow",
        flow.name = flow,
        otel.name = flow,
        code.function = function,
        code.namespace = module_path!(),
        outcome = Empty,
        error.type = Empty,
        user.id = flowtel::hash_pii(&user),
    )
}

/// A step span; `flow` is `None` when the step does not know its flow at compile time (the
/// runtime then takes it from the parent span or the incoming baggage).
pub fn step(flow: Option<&'static str>, step: &'static str, function: &'static str) -> Span {
    match flow {
        Some(flow) => tracing::info_span!(
            target: "flowtel::step",
            "step",
            flowtel.kind = "step",
            flow.step = step,
            flow.name = flow,
            otel.name = format_args!("{flow} {step}"),
            code.function = function,
            code.namespace = module_path!(),
            outcome = Empty,
            error.type = Empty,
        ),
        None => tracing::info_span!(
            target: "flowtel::step",
            "step",
            flowtel.kind = "step",
            flow.step = step,
            flow.name = Empty,
            otel.name = step,
            code.function = function,
            code.namespace = module_path!(),
            outcome = Empty,
            error.type = Empty,
        ),
    }
}

/// Records `outcome` and `error.type` as the macros do when the function returns.
pub fn finish<T, E: flowtel::ErrorKind>(span: &Span, result: &Result<T, E>) {
    match result {
        Ok(_) => {
            span.record("outcome", "ok");
        }
        Err(e) => {
            span.record("outcome", "error");
            span.record("error.type", e.kind());
        }
    }
}
