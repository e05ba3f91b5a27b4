//! Attribute value types (`FT0123 attribute-type-mismatch`): what OTLP type each declared
//! attribute type wants, and the finding when a value has another.
//!
//! The expected type is worked out once per declared attribute when the registry is indexed
//! ([`Expect::of`]); checking a value is then one `match` on its variant. Prometheus labels are
//! text whatever was recorded, so only OTLP values are checked (the caller decides).

use flowtel_conventions::model::{Attribute, AttributeType};
use flowtel_conventions::rules::telemetry as rules;
use flowtel_conventions::{Finding, Location};
use flowtel_otlp::AnyValue;

use super::TelemetryLinter;
use super::otlp::{Carrier, Val};

/// The OTLP value type a declared attribute wants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scalar {
    Str,
    Int,
    Double,
    Bool,
}

impl Scalar {
    fn otlp(self) -> &'static str {
        match self {
            Scalar::Str => "stringValue",
            Scalar::Int => "intValue",
            Scalar::Double => "doubleValue",
            Scalar::Bool => "boolValue",
        }
    }

    fn fits(self, v: &AnyValue) -> bool {
        matches!(
            (self, v),
            (Scalar::Str, AnyValue::String(_))
                | (Scalar::Int, AnyValue::Int(_))
                | (Scalar::Double, AnyValue::Double(_))
                | (Scalar::Bool, AnyValue::Bool(_))
        )
    }
}

/// What a declared attribute's values must be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Expect {
    One(Scalar),
    Array(Scalar),
}

impl Expect {
    /// The expectation for a declared attribute; `None` for `template` and `any` (anything
    /// goes).
    pub fn of(attr: &Attribute) -> Option<Expect> {
        Some(match attr.ty {
            AttributeType::String => Expect::One(Scalar::Str),
            AttributeType::Int => Expect::One(Scalar::Int),
            AttributeType::Double => Expect::One(Scalar::Double),
            AttributeType::Bool => Expect::One(Scalar::Bool),
            // OpenTelemetry enums have string or integer members (`rpc.grpc.status_code`).
            AttributeType::Enum => {
                let ints =
                    !attr.values.is_empty() && attr.values.iter().all(|v| v.parse::<i64>().is_ok());
                Expect::One(if ints { Scalar::Int } else { Scalar::Str })
            }
            AttributeType::StringArray => Expect::Array(Scalar::Str),
            AttributeType::IntArray => Expect::Array(Scalar::Int),
            AttributeType::DoubleArray => Expect::Array(Scalar::Double),
            AttributeType::BoolArray => Expect::Array(Scalar::Bool),
            AttributeType::Template | AttributeType::Any => return None,
        })
    }

    fn otlp(self) -> String {
        match self {
            Expect::One(s) => s.otlp().to_string(),
            Expect::Array(s) => format!("arrayValue of {}", s.otlp()),
        }
    }

    /// `None` when `value` fits; else the OTLP type it has.
    pub fn mismatch(self, value: Val<'_>) -> Option<String> {
        let v = match value {
            Val::Str(_) if self == Expect::One(Scalar::Str) => return None,
            Val::Str(_) => return Some("stringValue".into()),
            Val::Any(v) => v,
        };
        match (self, v) {
            (Expect::One(s), v) if s.fits(v) => None,
            (Expect::Array(s), AnyValue::Array(items)) => items
                .iter()
                .find(|i| !s.fits(i))
                .map(|bad| format!("arrayValue of {}", bad.type_name())),
            (_, v) => Some(v.type_name().to_string()),
        }
    }
}

impl<'r> TelemetryLinter<'r> {
    /// Reports a value of declared attribute `name` whose OTLP type is not the declared one.
    /// Returns whether the type fits (so value checks that assume it can run).
    pub(super) fn value_type(
        &mut self,
        carrier: Carrier<'_>,
        name: &str,
        attr: &Attribute,
        expect: Expect,
        value: Val<'_>,
        loc: impl FnOnce() -> Location,
    ) -> bool {
        let Some(found) = expect.mismatch(value) else {
            return true;
        };
        let numeric = matches!(expect, Expect::One(Scalar::Int | Scalar::Double))
            && value
                .as_str()
                .is_some_and(|s| s.trim().parse::<f64>().is_ok());
        self.found.report(
            (rules::ATTRIBUTE_TYPE_MISMATCH.id, name, found.as_str(), numeric),
            || {
                let declared = match attr.ty {
                    AttributeType::Enum => format!("enum` of `{}", expect.otlp()),
                    t => t.as_str().to_string(),
                };
                let want = expect.otlp();
                let shown = value.text();
                let (message, help) = if numeric {
                    (
                        format!(
                            "{} carries `{name}` as the numeric string `\"{shown}\"`, but the conventions declare `{declared}`: it must be sent as `{want}`",
                            carrier.describe()
                        ),
                        format!(
                            "record the number itself, not its text (an `i64`; integers other than `i64` reach some SDKs' exporters as text), so it is sent as `{want}`"
                        ),
                    )
                } else {
                    (
                        format!(
                            "{} carries `{name}` as `{found}` (`{shown}`), but the conventions declare `{declared}`, sent as `{want}`",
                            carrier.describe()
                        ),
                        format!(
                            "record `{name}` as the declared type (`{want}`), or change its `type` in the conventions if the declaration is wrong"
                        ),
                    )
                };
                carrier
                    .subjects(Finding::new(&rules::ATTRIBUTE_TYPE_MISMATCH, message))
                    .at(loc())
                    .subject("attribute", name)
                    .subject("expected", attr.ty.as_str())
                    .subject("expected_otlp", want)
                    .subject("found", found.clone())
                    .subject("value", shown)
                    .subject("numeric_string", numeric.to_string())
                    .help(help)
            },
        );
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attr(ty: AttributeType, values: &[&str]) -> Attribute {
        let mut a: Attribute =
            serde_json::from_value(serde_json::json!({"type": "string"})).unwrap();
        a.ty = ty;
        a.values = values.iter().map(|v| v.to_string()).collect();
        a
    }

    #[test]
    fn scalars_arrays_and_enums_want_their_otlp_types() {
        let int = Expect::of(&attr(AttributeType::Int, &[])).unwrap();
        assert_eq!(int.mismatch(Val::Any(&AnyValue::Int(200))), None);
        assert_eq!(
            int.mismatch(Val::Str("200")).as_deref(),
            Some("stringValue")
        );
        assert_eq!(
            int.mismatch(Val::Any(&AnyValue::Double(2.0))).as_deref(),
            Some("doubleValue")
        );
        let e = Expect::of(&attr(AttributeType::Enum, &["free", "pro"])).unwrap();
        assert_eq!(e, Expect::One(Scalar::Str));
        let codes = Expect::of(&attr(AttributeType::Enum, &["0", "1", "2"])).unwrap();
        assert_eq!(codes, Expect::One(Scalar::Int));
        let tags = Expect::of(&attr(AttributeType::StringArray, &[])).unwrap();
        let ok = AnyValue::Array(vec![AnyValue::String("a".into())]);
        let bad = AnyValue::Array(vec![AnyValue::String("a".into()), AnyValue::Int(1)]);
        assert_eq!(tags.mismatch(Val::Any(&ok)), None);
        assert_eq!(tags.mismatch(Val::Any(&AnyValue::Array(vec![]))), None);
        assert_eq!(
            tags.mismatch(Val::Any(&bad)).as_deref(),
            Some("arrayValue of intValue")
        );
        assert_eq!(tags.mismatch(Val::Str("a")).as_deref(), Some("stringValue"));
        assert!(Expect::of(&attr(AttributeType::Any, &[])).is_none());
    }
}
