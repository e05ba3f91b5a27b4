//! The attribute walk: every attribute of a span, span event, link, log record and resource
//! is visited once, with its [`Carrier`] (signal and item name) and a lazy location, by
//! [`TelemetryLinter::attributes`]; the per-attribute checks hang off
//! `TelemetryLinter::attribute` (personal data, enum values, deprecations, value tallies, types)
//! and, for keys no layer declares, [`TelemetryLinter::undeclared`] (`FT0122
//! undeclared-attribute` with a did-you-mean, and the key's naming, `FT0112`). Metric data
//! points go through the same per-attribute checks from the metric rules, where undeclared
//! keys are `undeclared-label`s instead.
//!
//! Which undeclared keys are acceptable anyway (a `template` attribute's keys, the conventions'
//! `lint.allow_attributes`, what the SDKs write by specification) is decided once per distinct
//! key and cached (bounded), so a million spans with the same keys cost a hash each.

use std::hash::BuildHasher;

use flowtel_conventions::rules::telemetry as rules;
use flowtel_conventions::{Finding, Location, Registry};
use flowtel_otlp::KeyValue;

use super::TelemetryLinter;
use super::otlp::{Carrier, FlowAttrs, Val};

/// Attribute keys the OpenTelemetry SDKs and exporters write by specification, known without
/// a declaration: exact keys, or namespaces ending in `.`.
const SDK_ATTRIBUTES: &[&str] = &[
    "telemetry.sdk.",
    "telemetry.distro.",
    "otel.scope.",
    "otel.library.",
    "otel.status_code",
    "otel.status_description",
    // The SDKs generate a `service.instance.id` when none is configured.
    "service.instance.id",
    // The resource attributes flowtel requires of every service (`FT0113`).
    "service.name",
    "service.version",
    "deployment.environment.name",
];

/// Keys remembered with their verdict; past this, verdicts are computed without being stored.
const MAX_KEYS: usize = 65_536;

/// What is known about an attribute key no layer declares by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct KeyVerdict {
    /// Declared after all (under a `template` attribute), allowed, or written by the SDKs.
    pub known: bool,
    /// Matches `naming.attribute`.
    pub conventional: bool,
}

/// Whether the SDKs write `key` by specification.
fn written_by_sdk(key: &str) -> bool {
    SDK_ATTRIBUTES.iter().any(|k| match k.strip_suffix('.') {
        Some(_) => key.len() > k.len() && key.starts_with(k),
        None => key == *k,
    })
}

/// The declared name to suggest for an undeclared key, and the deprecated name it replaces
/// when the match is deprecated. Case and separators are normalised first (`HTTP_Method` is
/// looked up as `http.method`); then a typo (edit distance up to 2) of a declared name; then a
/// declared name in the same namespace with the same last segment (`http.method` ->
/// `http.request.method`), the closest first. Nothing is suggested for merely similar names
/// (`service.instance.id` is not `service.name`).
pub(crate) fn suggestion<'r>(reg: &'r Registry, key: &str) -> Option<(&'r str, Option<&'r str>)> {
    let lower = key.to_lowercase();
    let snake: String = lower
        .chars()
        .map(|c| if c == ' ' || c == '-' { '_' } else { c })
        .collect();
    let dotted: String = lower
        .chars()
        .map(|c| if matches!(c, ' ' | '-' | '_') { '.' } else { c })
        .collect();
    let names = || reg.attributes.keys().map(String::as_str);
    let typo = || {
        names()
            .map(|n| (strsim::levenshtein(&snake, n), n))
            .filter(|&(d, n)| d <= 2 && d < n.len() / 3)
            .min_by_key(|&(d, _)| d)
            .map(|(_, n)| n)
    };
    let segments = |k: &str| {
        let first = k.split('.').next().unwrap_or(k).to_string();
        let last = k.rsplit('.').next().unwrap_or(k).to_string();
        (first, last)
    };
    let same_ends = || {
        [&snake, &dotted].into_iter().find_map(|k| {
            let (first, last) = segments(k);
            names()
                .filter(|n| n.contains('.') && segments(n) == (first.clone(), last.clone()))
                .max_by(|a, b| {
                    strsim::jaro_winkler(k, a)
                        .total_cmp(&strsim::jaro_winkler(k, b))
                        .then_with(|| b.cmp(a))
                })
        })
    };
    let found = [lower.as_str(), snake.as_str(), dotted.as_str()]
        .into_iter()
        .find_map(|k| reg.attribute_for_key(k).map(|(name, _)| name))
        .or_else(typo)
        .or_else(same_ends)?;
    Some(match reg.replacement_of(found) {
        Some(new) => match reg.attributes.get_key_value(new) {
            Some((new, _)) => (new.as_str(), Some(found)),
            None => (found, None),
        },
        None => (found, None),
    })
}

impl<'r> TelemetryLinter<'r> {
    /// Visits each attribute of one item once, with its carrier.
    pub(super) fn attributes<'a>(
        &mut self,
        carrier: Carrier<'_>,
        attrs: &'a [KeyValue],
        fa: &mut FlowAttrs<'a>,
        loc: &dyn Fn(usize) -> Location,
    ) {
        for (i, kv) in attrs.iter().enumerate() {
            self.attribute(carrier, &kv.key, Val::of(&kv.value), fa, i, loc);
        }
    }

    fn key_verdict(&mut self, key: &str) -> KeyVerdict {
        let h = foldhash::fast::FixedState::with_seed(0xa77).hash_one(key);
        if let Some(v) = self.keys.get(&h) {
            return *v;
        }
        let reg = self.ix.reg;
        let v = KeyVerdict {
            known: reg.attribute_for_key(key).is_some()
                || written_by_sdk(key)
                || reg.lint.allows_attribute(key),
            conventional: self
                .ix
                .attribute_naming
                .as_ref()
                .is_none_or(|re| re.is_match(key)),
        };
        if self.keys.len() < MAX_KEYS {
            self.keys.insert(h, v);
        }
        v
    }

    /// An attribute key no layer declares by name, on any carrier but a metric.
    pub(super) fn undeclared(
        &mut self,
        carrier: Carrier<'_>,
        key: &str,
        index: usize,
        loc: &dyn Fn(usize) -> Location,
    ) {
        if matches!(carrier, Carrier::Metric(_)) {
            return;
        }
        let verdict = self.key_verdict(key);
        if !verdict.conventional {
            let pattern = self
                .ix
                .attribute_naming
                .as_ref()
                .map(|re| re.as_str().to_string())
                .unwrap_or_default();
            self.found
                .report((rules::NAME_NOT_CONVENTIONAL.id, "attribute", key), || {
                    carrier
                        .subjects(Finding::new(
                            &rules::NAME_NOT_CONVENTIONAL,
                            format!(
                                "attribute name `{key}` on {} does not match the naming pattern `{pattern}`",
                                carrier.describe()
                            ),
                        ))
                        .at(loc(index))
                        .subject("attribute", key)
                        .help("attribute names are dotted lower snake case (`http.request.method`); rename it to match `naming.attribute` of the conventions")
                });
        }
        if verdict.known {
            return;
        }
        // A key that names personal data is reported as such (`personal-data-key`), once.
        if self.ix.pii.key_word(key).is_some() {
            return;
        }
        // `tracing-opentelemetry` writes a `tracing` event's `level` and `target` on the span
        // event it becomes.
        if matches!(carrier, Carrier::Event(..)) && matches!(key, "level" | "target") {
            return;
        }
        // `exception.*` is what the SDKs record for an exception, on an `exception` event or
        // on a log record.
        if key.starts_with("exception.")
            && matches!(carrier, Carrier::Event(_, "exception") | Carrier::Log(_))
        {
            return;
        }
        let reg = self.ix.reg;
        self.found
            .report((rules::UNDECLARED_ATTRIBUTE.id, carrier.signal(), key), || {
                let help = match suggestion(reg, key) {
                    Some((name, Some(old))) => format!(
                        "a declared attribute has a similar name: `{old}`, deprecated in the conventions and {}; record `{name}`",
                        reg.attribute_deprecation(old)
                            .map_or_else(|| format!("replaced by `{name}`"), |d| d.describe())
                    ),
                    Some((name, None)) => {
                        format!("a declared attribute has a similar name: `{name}`")
                    }
                    None => match key.split_once('.') {
                        Some((ns, _)) if verdict.conventional => format!(
                            "declare `{key}` under `attributes` in the conventions, accept its namespace with `lint: {{allow_attributes: [\"{ns}.*\"]}}`, or stop recording it"
                        ),
                        _ => format!(
                            "record it under a conventional name declared under `attributes` in the conventions, or stop recording `{key}`"
                        ),
                    },
                };
                let mut f = carrier
                    .subjects(Finding::new(
                        &rules::UNDECLARED_ATTRIBUTE,
                        format!(
                            "{} carries attribute `{key}`, which the conventions do not declare",
                            carrier.describe()
                        ),
                    ))
                    .at(loc(index))
                    .subject("attribute", key);
                if let Some((name, _)) = suggestion(reg, key) {
                    f = f.subject("suggestion", name);
                }
                f.help(help)
            });
    }

    /// Checks a log record's event name against `naming.attribute` (OpenTelemetry names events
    /// by the attribute naming rules).
    pub(super) fn log_event_name(&mut self, name: &str, loc: impl FnOnce() -> Location) {
        if name.is_empty() {
            return;
        }
        let verdict = self.key_verdict(name);
        if verdict.conventional {
            return;
        }
        let pattern = self
            .ix
            .attribute_naming
            .as_ref()
            .map(|re| re.as_str().to_string())
            .unwrap_or_default();
        self.found
            .report((rules::NAME_NOT_CONVENTIONAL.id, "log event", name), || {
                Finding::new(
                    &rules::NAME_NOT_CONVENTIONAL,
                    format!(
                        "log event name `{name}` does not match the naming pattern `{pattern}`"
                    ),
                )
                .at(loc())
                .subject("log_event", name)
                .subject("signal", "logs")
                .help("event names follow the attribute naming rules: dotted lower snake case (`order.shipped`)")
            });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sdk_namespaces_are_known_exactly() {
        assert!(written_by_sdk("telemetry.sdk.language"));
        assert!(written_by_sdk("otel.scope.name"));
        assert!(written_by_sdk("service.version"));
        assert!(!written_by_sdk("telemetry.sdk"));
        assert!(!written_by_sdk("telemetry.sdkx.name"));
        assert!(!written_by_sdk("process.pid"));
    }

    #[test]
    fn suggestions_normalise_case_and_follow_deprecations() {
        let reg = flowtel_conventions::check_str(
            "t.yaml",
            "schema: flowtel/v1\nname: t\nversion: 1.0.0\nattributes:\n  http.request.method: {type: string}\n  http.method: {type: string, deprecated: {renamed_to: http.request.method}}\n  cart.size: {type: int}\n",
        )
        .registry
        .unwrap();
        assert_eq!(
            suggestion(&reg, "HTTP_Method"),
            Some(("http.request.method", Some("http.method")))
        );
        assert_eq!(
            suggestion(&reg, "http.methd"),
            Some(("http.request.method", Some("http.method")))
        );
        assert_eq!(suggestion(&reg, "Cart Size"), Some(("cart.size", None)));
        assert_eq!(suggestion(&reg, "totally.unknown"), None);
        // Similar, but another thing: no suggestion.
        assert_eq!(suggestion(&reg, "cart.items"), None);
        let reg = flowtel_conventions::check_str(
            "t.yaml",
            "schema: flowtel/v1\nname: t\nversion: 1.0.0\nattributes:\n  http.request.method: {type: string}\n  service.name: {type: string}\n",
        )
        .registry
        .unwrap();
        // Without a declared deprecation, the same namespace and last segment still find it.
        assert_eq!(
            suggestion(&reg, "http.method"),
            Some(("http.request.method", None))
        );
        assert_eq!(suggestion(&reg, "service.instance.id"), None);
    }
}
