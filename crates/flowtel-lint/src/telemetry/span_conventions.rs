//! Required attributes of span conventions (`FT0404 missing-required-attribute`).
//!
//! A span that follows a span convention of the registry (imported from OpenTelemetry's
//! semantic conventions: `span.http.server`, ...) must carry the attributes the convention
//! requires. The convention is picked from the span's kind and attribute keys by
//! [`flowtel_conventions::Registry::span_convention_for`]; the verdict is cached by the span's
//! shape (kind and set of keys), so an input of a million alike spans costs one hash each.

use std::hash::BuildHasher;

use flowtel_conventions::rules::semconv as semconv_rules;
use flowtel_conventions::semconv::lint;
use flowtel_conventions::{Location, SpanKind as Kind};
use flowtel_otlp::{Span, SpanKind};

use super::TelemetryLinter;
use super::index::{FastMap, fast_map};

/// Span shapes remembered; past this, verdicts are computed without being stored.
const MAX_SHAPES: usize = 4096;

/// Verdicts by span shape: the convention and the missing keys, or `None` when nothing is
/// missing (or no convention fits).
pub(super) struct Shapes {
    verdicts: FastMap<u64, Option<(String, String)>>,
}

impl Default for Shapes {
    fn default() -> Self {
        Shapes {
            verdicts: fast_map(),
        }
    }
}

fn kind(k: SpanKind) -> Option<Kind> {
    Some(match k {
        SpanKind::Server => Kind::Server,
        SpanKind::Client => Kind::Client,
        SpanKind::Producer => Kind::Producer,
        SpanKind::Consumer => Kind::Consumer,
        SpanKind::Internal => Kind::Internal,
        _ => return None,
    })
}

/// The kind and the set of keys, order-independent.
fn shape(k: Kind, span: &Span) -> u64 {
    let hasher = foldhash::fast::FixedState::with_seed(0x5e3c);
    let mut h = hasher.hash_one(k.as_str());
    for kv in &span.attributes {
        h = h.wrapping_add(
            hasher
                .hash_one(kv.key.as_str())
                .wrapping_mul(0x9e37_79b9_7f4a_7c15),
        );
    }
    h
}

impl<'r> TelemetryLinter<'r> {
    /// Reports required attributes missing from a span that follows a span convention.
    pub(super) fn span_convention(&mut self, span: &Span, loc: impl FnOnce() -> Location) {
        let reg = self.ix.reg;
        if reg.spans.is_empty() {
            return;
        }
        let Some(k) = kind(span.kind) else { return };
        let has = |key: &str| span.attributes.iter().any(|kv| kv.key == key);
        let h = shape(k, span);
        let verdict = match self.span_shapes.verdicts.get(&h) {
            Some(v) => v.clone(),
            None => {
                let v = lint::missing_span_attributes(reg, &span.name, k, has).map(|f| {
                    (
                        f.subject.get("convention").cloned().unwrap_or_default(),
                        f.subject.get("missing").cloned().unwrap_or_default(),
                    )
                });
                if self.span_shapes.verdicts.len() < MAX_SHAPES {
                    self.span_shapes.verdicts.insert(h, v.clone());
                }
                v
            }
        };
        let Some((convention, missing)) = verdict else {
            return;
        };
        let rule = &semconv_rules::MISSING_REQUIRED_ATTRIBUTE;
        self.found
            .report((rule.id, convention.as_str(), missing.as_str()), || {
                lint::missing_span_attributes(reg, &span.name, k, has)
                    .unwrap_or_else(|| {
                        flowtel_conventions::Finding::new(
                            rule,
                            format!(
                                "span `{}` lacks {missing}, which `{convention}` requires",
                                span.name
                            ),
                        )
                    })
                    .at(loc())
            });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_ignores_attribute_order() {
        let kv = |k: &str| flowtel_otlp::KeyValue {
            key: k.into(),
            value: flowtel_otlp::AnyValue::Empty,
        };
        let a = Span {
            attributes: vec![kv("x"), kv("y")],
            ..Span::default()
        };
        let mut b = a.clone();
        b.attributes.reverse();
        assert_eq!(shape(Kind::Server, &a), shape(Kind::Server, &b));
        assert_ne!(shape(Kind::Server, &a), shape(Kind::Client, &a));
    }
}
