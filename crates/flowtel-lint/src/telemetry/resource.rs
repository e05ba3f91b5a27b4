//! The resource attributes every service must set, and the `missing-resource-attribute`
//! finding for one that is absent, whichever reader (OTLP or Prometheus `target_info`) saw the
//! resource.

use flowtel_conventions::rules::telemetry as rules;
use flowtel_conventions::{Finding, Location};

use super::collect::Collected;

/// Resource attributes every service must set.
pub(crate) const REQUIRED_RESOURCE: [&str; 3] = [
    "service.name",
    "service.version",
    "deployment.environment.name",
];

/// Reports that the resource of `service` (as `shown`, e.g. `` (`target_info`)``, after its
/// name) lacks `key`, once per service and key; `at` places it the first time.
pub(crate) fn missing(
    found: &mut Collected,
    service: Option<&str>,
    shown: &str,
    key: &'static str,
    at: impl FnOnce() -> Option<Location>,
) {
    let who = service.unwrap_or("");
    found.report((rules::MISSING_RESOURCE_ATTRIBUTE.id, who, key), || {
        let whose = match service {
            Some(s) => format!("of service `{s}`"),
            None => "without a `service.name`".to_string(),
        };
        let mut f = Finding::new(
            &rules::MISSING_RESOURCE_ATTRIBUTE,
            format!("the resource {whose}{shown} lacks `{key}`"),
        )
        .at(at())
        .subject("attribute", key)
        .help(format!(
            "set `{key}` on the SDK's resource (or through OTEL_RESOURCE_ATTRIBUTES)"
        ));
        if let Some(s) = service {
            f = f.subject("service", s);
        }
        f
    });
}
