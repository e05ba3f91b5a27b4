//! Attribute values: OTLP's `AnyValue` and `KeyValue`, with their OTLP JSON mapping.

use serde::Deserialize;
use serde::de::{self as sde, IgnoredAny, MapAccess, Visitor};

use crate::de;

/// An attribute value (OTLP `AnyValue`).
#[derive(Clone, Debug, Default, PartialEq)]
pub enum AnyValue {
    /// No value set (`{}`), e.g. an absent log body.
    #[default]
    Empty,
    /// `stringValue`.
    String(String),
    /// `boolValue`.
    Bool(bool),
    /// `intValue`.
    Int(i64),
    /// `doubleValue`.
    Double(f64),
    /// `arrayValue`.
    Array(Vec<AnyValue>),
    /// `kvlistValue`.
    KvList(Vec<KeyValue>),
    /// `bytesValue`.
    Bytes(Vec<u8>),
}

impl AnyValue {
    /// The string, if this is a string value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            AnyValue::String(s) => Some(s),
            _ => None,
        }
    }

    /// The integer, if this is an int value.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            AnyValue::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The number, if this is an int or double value.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            AnyValue::Int(i) => Some(*i as f64),
            AnyValue::Double(d) => Some(*d),
            _ => None,
        }
    }

    /// The bool, if this is a bool value.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            AnyValue::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The OTLP JSON name of the variant (`stringValue`, ..., `empty` for [`AnyValue::Empty`]).
    pub fn type_name(&self) -> &'static str {
        match self {
            AnyValue::Empty => "empty",
            AnyValue::String(_) => "stringValue",
            AnyValue::Bool(_) => "boolValue",
            AnyValue::Int(_) => "intValue",
            AnyValue::Double(_) => "doubleValue",
            AnyValue::Array(_) => "arrayValue",
            AnyValue::KvList(_) => "kvlistValue",
            AnyValue::Bytes(_) => "bytesValue",
        }
    }
}

/// One attribute.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct KeyValue {
    /// The attribute key.
    pub key: String,
    /// The value.
    pub value: AnyValue,
}

/// Looks up an attribute by key (the first one, if the producer wrote duplicates).
pub fn attribute<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a AnyValue> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .map(|kv| &kv.value)
}

/// The keys of an `AnyValue` object.
enum ValueKey {
    String,
    Bool,
    Int,
    Double,
    Array,
    KvList,
    Bytes,
    Other,
}

impl<'de> Deserialize<'de> for ValueKey {
    fn deserialize<D: sde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        de::key(d, "an AnyValue key", |v| match v {
            "stringValue" | "string_value" => ValueKey::String,
            "boolValue" | "bool_value" => ValueKey::Bool,
            "intValue" | "int_value" => ValueKey::Int,
            "doubleValue" | "double_value" => ValueKey::Double,
            "arrayValue" | "array_value" => ValueKey::Array,
            "kvlistValue" | "kvlist_value" | "kvListValue" => ValueKey::KvList,
            "bytesValue" | "bytes_value" => ValueKey::Bytes,
            _ => ValueKey::Other,
        })
    }
}

#[derive(Deserialize)]
struct ValuesOf<T> {
    #[serde(default = "Vec::new")]
    values: Vec<T>,
}

struct BytesB64;
impl<'de> serde::de::DeserializeSeed<'de> for BytesB64 {
    type Value = Vec<u8>;
    fn deserialize<D: sde::Deserializer<'de>>(self, d: D) -> Result<Vec<u8>, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        de::base64_decode(&s).ok_or_else(|| {
            sde::Error::custom("invalid bytesValue: expected base64 (proto3 JSON mapping)")
        })
    }
}

impl<'de> Deserialize<'de> for AnyValue {
    fn deserialize<D: sde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = AnyValue;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an AnyValue object such as {\"stringValue\": \"...\"}")
            }
            fn visit_unit<E: sde::Error>(self) -> Result<AnyValue, E> {
                Ok(AnyValue::Empty)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<AnyValue, A::Error> {
                let mut out = AnyValue::Empty;
                while let Some(key) = map.next_key::<ValueKey>()? {
                    out = match key {
                        ValueKey::String => match map.next_value::<Option<String>>()? {
                            Some(s) => AnyValue::String(s),
                            None => continue,
                        },
                        ValueKey::Bool => AnyValue::Bool(map.next_value()?),
                        ValueKey::Int => {
                            struct I(i64);
                            impl<'de> Deserialize<'de> for I {
                                fn deserialize<D: sde::Deserializer<'de>>(
                                    d: D,
                                ) -> Result<Self, D::Error> {
                                    de::i64_any(d).map(I)
                                }
                            }
                            AnyValue::Int(map.next_value::<I>()?.0)
                        }
                        ValueKey::Double => {
                            struct F(f64);
                            impl<'de> Deserialize<'de> for F {
                                fn deserialize<D: sde::Deserializer<'de>>(
                                    d: D,
                                ) -> Result<Self, D::Error> {
                                    de::f64_any(d).map(F)
                                }
                            }
                            AnyValue::Double(map.next_value::<F>()?.0)
                        }
                        ValueKey::Array => {
                            AnyValue::Array(map.next_value::<ValuesOf<AnyValue>>()?.values)
                        }
                        ValueKey::KvList => {
                            AnyValue::KvList(map.next_value::<ValuesOf<KeyValue>>()?.values)
                        }
                        ValueKey::Bytes => AnyValue::Bytes(map.next_value_seed(BytesB64)?),
                        ValueKey::Other => {
                            map.next_value::<IgnoredAny>()?;
                            continue;
                        }
                    };
                }
                Ok(out)
            }
        }
        d.deserialize_any(V)
    }
}
