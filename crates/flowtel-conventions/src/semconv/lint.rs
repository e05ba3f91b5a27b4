//! Ready-made deprecation and required-attribute checks for the telemetry and source linters.
//!
//! Each function looks one thing up in the merged [`Registry`] and returns the finding to
//! report, without a location (the caller knows where the name was seen and adds it with
//! [`Finding::at`]). Names are OpenTelemetry names (`http.request.method`); a linter reading
//! Prometheus text maps names back first. Lookups are hash-map reads: cheap enough per item.

use crate::finding::Finding;
use crate::load::Registry;
use crate::model::SpanKind;
use crate::rules::semconv as r;

use super::layering::deprecated_finding;

/// `deprecated-name` (FT0403) when an attribute key is deprecated (a key under a deprecated
/// `template[...]` attribute too). `verb` starts the help: `write` (sources), `emit`
/// (telemetry), `use`.
pub fn deprecated_attribute(reg: &Registry, key: &str, verb: &str) -> Option<Finding> {
    let (name, attr) = reg.attribute_for_key(key)?;
    let dep = attr.deprecated.as_ref()?;
    let f = deprecated_finding(reg, "attribute", name, dep, verb);
    Some(if name == key {
        f
    } else {
        f.subject("key", key)
    })
}

/// `deprecated-name` (FT0403) when a metric name is deprecated; `verb` as for
/// [`deprecated_attribute`].
pub fn deprecated_metric(reg: &Registry, name: &str, verb: &str) -> Option<Finding> {
    let dep = reg.metric_deprecation(name)?;
    Some(deprecated_finding(reg, "metric", name, dep, verb))
}

/// `missing-required-attribute` (FT0404) when a data point of `metric` lacks labels the metric
/// requires; `has` says whether the point carries a key. One finding names every missing label.
pub fn missing_required_labels(
    reg: &Registry,
    metric: &str,
    has: impl Fn(&str) -> bool,
) -> Option<Finding> {
    let missing = missing(reg.required_labels(metric), &has)?;
    Some(
        Finding::new(
            &r::MISSING_REQUIRED_ATTRIBUTE,
            format!(
                "a data point of `{metric}` lacks {}, which the metric requires",
                list(&missing)
            ),
        )
        .subject("metric", metric)
        .subject("missing", missing.join(","))
        .help(format!(
            "record {} on every data point of `{metric}`",
            list(&missing)
        )),
    )
}

/// `missing-required-attribute` (FT0404) when a span that follows a span convention (picked by
/// [`Registry::span_convention_for`] from its kind and keys) lacks attributes it requires.
pub fn missing_span_attributes(
    reg: &Registry,
    span_name: &str,
    kind: SpanKind,
    has: impl Fn(&str) -> bool,
) -> Option<Finding> {
    let (id, conv) = reg.span_convention_for(kind, &has)?;
    let missing = missing(&conv.required_attributes, &has)?;
    Some(
        Finding::new(
            &r::MISSING_REQUIRED_ATTRIBUTE,
            format!(
                "span `{span_name}` follows `{id}` but lacks {}, which it requires",
                list(&missing)
            ),
        )
        .subject("span", span_name)
        .subject("convention", id)
        .subject("missing", missing.join(","))
        .help(format!("set {} on the span", list(&missing))),
    )
}

fn list(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    quoted.join(", ")
}

/// The names of `required` that `has` lacks, `None` when it lacks none.
fn missing<'a>(required: &'a [String], has: &impl Fn(&str) -> bool) -> Option<Vec<&'a str>> {
    let missing: Vec<&str> = required
        .iter()
        .map(String::as_str)
        .filter(|a| !has(a))
        .collect();
    (!missing.is_empty()).then_some(missing)
}
