//! How flowtel layers build on semantic conventions: the `FT04xx` registry checks.
//!
//! A flowtel layer may use semantic-conventions names, narrow them and add its own. Redefining
//! a name with another type, instrument or unit is caught while merging (`FT0401`, see
//! [`crate::load`]); this module adds the checks that need the merged registry: new names in a
//! namespace the conventions own (`FT0402`), deprecated names a flowtel layer still declares
//! or uses as metric labels (`FT0403`, with the replacement), and semantic-conventions metrics
//! whose flowtel `labels` leave out a label the conventions require (`FT0404`, a warning here).

use crate::finding::Finding;
use crate::load::Registry;
use crate::model::Deprecation;
use crate::rules::semconv as r;
use crate::source::Seg;

/// Runs the layering checks over every flowtel (not semantic-conventions) layer of `reg`.
pub fn check(reg: &Registry) -> Vec<Finding> {
    let mut out = Vec::new();
    let defined_by_semconv = |kind: &str, name: &str| {
        reg.semconv.iter().any(|s| match kind {
            "attribute" => s.model.attributes.contains_key(name),
            _ => s.model.metrics.contains_key(name),
        })
    };
    for layer in &reg.layers {
        if reg.is_semconv_file(layer.file) {
            continue;
        }
        let f = layer.file;
        let c = &layer.content;
        for (name, own) in &c.attributes {
            let at = || {
                reg.sources
                    .locate(f, &[Seg::Key("attributes"), Seg::Name(name)])
            };
            if !defined_by_semconv("attribute", name) && reg.semconv_owns(name) {
                out.push(namespace_finding("attribute", name).at(at()));
            }
            // A layer that sets `deprecated` itself is the one deprecating the name.
            if own.deprecated.is_none()
                && let Some(d) = reg.attribute_deprecation(name)
            {
                out.push(deprecated_finding(reg, "attribute", name, d, "use").at(at()));
            }
        }
        for (name, m) in &c.metrics {
            let at = || {
                reg.sources
                    .locate(f, &[Seg::Key("metrics"), Seg::Name(name)])
            };
            if !defined_by_semconv("metric", name) && reg.semconv_owns(name) {
                out.push(namespace_finding("metric", name).at(at()));
            }
            if m.deprecated.is_none()
                && let Some(d) = reg.metric_deprecation(name)
            {
                out.push(deprecated_finding(reg, "metric", name, d, "use").at(at()));
            }
            if !m.labels.is_empty() {
                for s in &reg.semconv {
                    let Some(sm) = s.model.metrics.get(name) else {
                        continue;
                    };
                    let missing: Vec<&str> = sm
                        .def
                        .required_labels
                        .iter()
                        .filter(|l| !m.labels.contains(l))
                        .map(String::as_str)
                        .collect();
                    if missing.is_empty() {
                        continue;
                    }
                    let names: Vec<String> = missing.iter().map(|l| format!("`{l}`")).collect();
                    out.push(
                        Finding::new(
                            &r::MISSING_REQUIRED_ATTRIBUTE,
                            format!(
                                "metric `{name}` does not declare {}, which OpenTelemetry's semantic conventions require on it",
                                names.join(", ")
                            ),
                        )
                        .severity(crate::finding::Severity::Warning)
                        .at(reg.sources.locate(
                            f,
                            &[Seg::Key("metrics"), Seg::Key(name), Seg::Key("labels")],
                        ))
                        .subject("metric", name.as_str())
                        .subject("missing", missing.join(","))
                        .help(format!(
                            "add {} to `labels` (and record it), or rename the metric if it is not OpenTelemetry's",
                            names.join(", ")
                        )),
                    );
                }
            }
            for (i, label) in m.labels.iter().enumerate() {
                // A label the same layer declares deprecated is reported once, above.
                if let Some(d) = reg.attribute_deprecation(label) {
                    let loc = reg.sources.locate(
                        f,
                        &[
                            Seg::Key("metrics"),
                            Seg::Key(name),
                            Seg::Key("labels"),
                            Seg::Index(i),
                        ],
                    );
                    out.push(
                        deprecated_finding(reg, "attribute", label, d, "use")
                            .at(loc)
                            .subject("metric", name.as_str()),
                    );
                }
            }
        }
    }
    out
}

fn namespace_finding(kind: &str, name: &str) -> Finding {
    let root = super::root_namespace(name);
    Finding::new(
        &r::SEMCONV_NAMESPACE,
        format!(
            "{kind} `{name}` is new in the `{root}.*` namespace, which OpenTelemetry's semantic conventions own"
        ),
    )
    .subject(kind, name)
    .help(format!(
        "use your own prefix (e.g. `acme.{name}`); OpenTelemetry may define `{name}` differently later"
    ))
}

/// A `deprecated-name` finding for any place a deprecated name is used (without a location);
/// `verb` starts the help (`use`, `write`, `create`, `emit`).
pub fn deprecated_finding(
    reg: &Registry,
    kind: &str,
    name: &str,
    dep: &Deprecation,
    verb: &str,
) -> Finding {
    let what = match reg.replacement_of(name) {
        Some(to) => format!("use `{to}` instead"),
        None => dep.describe(),
    };
    let f = Finding::new(
        &r::DEPRECATED_NAME,
        format!("{kind} `{name}` is deprecated: {what}"),
    )
    .subject(kind, name);
    match reg.replacement_of(name) {
        Some(to) => f
            .subject("replacement", to)
            .help(format!("{verb} `{to}` instead of `{name}`")),
        None => f.help(format!("stop using `{name}`; {}", dep.describe())),
    }
}

/// Problems inside imported semantic-conventions files are OpenTelemetry's to fix, not the
/// importing layer's: when `reg` has a flowtel layer, errors located in those files become
/// warnings (fatal input errors stay). Checking a semantic-conventions folder on its own keeps
/// them errors.
pub fn soften(reg: &Registry, findings: &mut [Finding]) {
    if reg.semconv.is_empty() || reg.layers.iter().all(|l| reg.is_semconv_file(l.file)) {
        return;
    }
    soften_upstream(reg, findings);
}

/// Makes every error located in a semantic-conventions file a warning, also when the model is
/// the whole registry (`--conventions <semconv model>`): commands that use the conventions
/// (`lint`, `live`) report upstream defects but are not stopped by them. `flowtel check` keeps
/// them errors when the model is used directly. Returns how many were softened.
pub fn soften_upstream(reg: &Registry, findings: &mut [Finding]) -> usize {
    let files: std::collections::HashSet<&str> = reg
        .semconv
        .iter()
        .flat_map(|s| s.file_ids.iter())
        .map(|&id| reg.sources.file(id).display.as_str())
        .collect();
    let mut n = 0;
    for f in findings.iter_mut() {
        if f.severity == crate::finding::Severity::Error
            && f.location
                .as_ref()
                .is_some_and(|l| files.contains(l.file.as_str()))
        {
            f.severity = crate::finding::Severity::Warning;
            n += 1;
        }
    }
    n
}
