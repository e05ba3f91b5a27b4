//! The OTLP JSON mapping of scalar values, shared by every `Deserialize` impl of the model:
//! 64-bit integers as numbers or decimal strings, doubles as numbers or `"NaN"`/`"Infinity"`,
//! enums as numbers or names, ids and bytes as hex or base64.
//!
//! It knows nothing of the model's types: the model calls it.

use std::fmt;

use serde::Deserializer;
use serde::de::{self, SeqAccess, Visitor};

/// An enum read from JSON: a number, or a name already resolved.
pub enum EnumRepr<T> {
    Number(i32),
    Known(T),
}

pub fn enum_any<'de, D, T>(
    d: D,
    what: &'static str,
    from_name: fn(&str) -> Option<T>,
) -> Result<EnumRepr<T>, D::Error>
where
    D: Deserializer<'de>,
{
    struct V<T> {
        what: &'static str,
        from_name: fn(&str) -> Option<T>,
    }
    impl<T> Visitor<'_> for V<T> {
        type Value = EnumRepr<T>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "a {} as a number or an enum name", self.what)
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            i32::try_from(v)
                .map(EnumRepr::Number)
                .map_err(|_| E::custom(format!("{} {v} is out of range", self.what)))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            i32::try_from(v)
                .map(EnumRepr::Number)
                .map_err(|_| E::custom(format!("{} {v} is out of range", self.what)))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            if let Some(k) = (self.from_name)(v) {
                return Ok(EnumRepr::Known(k));
            }
            v.parse::<i32>().map(EnumRepr::Number).map_err(|_| {
                E::custom(format!(
                    "unknown {} name {:?}: use a number or a name from the OTLP proto",
                    self.what,
                    truncate(v)
                ))
            })
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(EnumRepr::Number(0))
        }
    }
    d.deserialize_any(V { what, from_name })
}

pub fn truncate(s: &str) -> &str {
    if s.len() <= 80 {
        return s;
    }
    let mut end = 80;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

struct IntV<T>(std::marker::PhantomData<T>);

macro_rules! int_visitor {
    ($t:ty, $name:literal) => {
        impl Visitor<'_> for IntV<$t> {
            type Value = $t;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!("a ", $name, " as a number or a decimal string"))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<$t, E> {
                <$t>::try_from(v)
                    .map_err(|_| E::custom(format!("{v} is out of range for {}", $name)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<$t, E> {
                <$t>::try_from(v)
                    .map_err(|_| E::custom(format!("{v} is out of range for {}", $name)))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<$t, E> {
                // Some producers write integral numbers with an exponent or a fraction.
                if v.fract() == 0.0 && v >= <$t>::MIN as f64 && v <= <$t>::MAX as f64 {
                    Ok(v as $t)
                } else {
                    Err(E::custom(format!("{v} is not a valid {}", $name)))
                }
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<$t, E> {
                v.parse::<$t>().map_err(|_| {
                    E::custom(format!(
                        "{:?} is not a valid {}: write a decimal integer",
                        truncate(v),
                        $name
                    ))
                })
            }
            fn visit_unit<E: de::Error>(self) -> Result<$t, E> {
                Ok(0)
            }
        }
    };
}
int_visitor!(u64, "uint64");
int_visitor!(i64, "int64");
int_visitor!(u32, "uint32");
int_visitor!(i32, "int32");

pub fn u64_any<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    d.deserialize_any(IntV::<u64>(Default::default()))
}
pub fn i64_any<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    d.deserialize_any(IntV::<i64>(Default::default()))
}
pub fn u32_any<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    d.deserialize_any(IntV::<u32>(Default::default()))
}
pub fn i32_any<'de, D: Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
    d.deserialize_any(IntV::<i32>(Default::default()))
}
pub fn opt_i64_any<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    i64_any(d).map(Some)
}

struct FloatV;
impl Visitor<'_> for FloatV {
    type Value = f64;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a double as a number, a decimal string, \"NaN\" or \"Infinity\"")
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<f64, E> {
        Ok(v)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<f64, E> {
        Ok(v as f64)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<f64, E> {
        Ok(v as f64)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<f64, E> {
        match v {
            "NaN" => Ok(f64::NAN),
            "Infinity" | "+Infinity" | "+Inf" | "inf" => Ok(f64::INFINITY),
            "-Infinity" | "-Inf" | "-inf" => Ok(f64::NEG_INFINITY),
            _ => v
                .parse::<f64>()
                .map_err(|_| E::custom(format!("{:?} is not a valid double", truncate(v)))),
        }
    }
}

pub fn f64_any<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    d.deserialize_any(FloatV)
}
pub fn opt_f64_any<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<f64>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            FloatV.expecting(f)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(v as f64))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v as f64))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            FloatV.visit_str(v).map(Some)
        }
    }
    d.deserialize_any(V)
}

pub fn vec_u64_any<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u64>, D::Error> {
    vec_any(d)
}

pub fn vec_f64_any<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
    vec_any(d)
}

/// A scalar an array of which [`vec_any`] reads: each element as its own reader takes it.
trait Element: Sized {
    /// What an array of them is called in an error.
    const ARRAY: &'static str;
    fn read<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error>;
}

impl Element for u64 {
    const ARRAY: &'static str = "an array of uint64";
    fn read<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        u64_any(d)
    }
}

impl Element for f64 {
    const ARRAY: &'static str = "an array of doubles";
    fn read<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        f64_any(d)
    }
}

/// An array of `T`, or `null` for none.
fn vec_any<'de, D: Deserializer<'de>, T: Element>(d: D) -> Result<Vec<T>, D::Error> {
    struct Elem<T>(T);
    impl<'de, T: Element> de::Deserialize<'de> for Elem<T> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            T::read(d).map(Elem)
        }
    }
    struct V<T>(std::marker::PhantomData<T>);
    impl<'de, T: Element> Visitor<'de> for V<T> {
        type Value = Vec<T>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(T::ARRAY)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
            let mut out = Vec::new();
            while let Some(Elem(v)) = seq.next_element()? {
                out.push(v);
            }
            Ok(out)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Vec<T>, E> {
            Ok(Vec::new())
        }
    }
    d.deserialize_any(V(std::marker::PhantomData))
}

/// The value of each byte as a hex digit, `0xFF` for a byte that is not one.
const HEX: [u8; 256] = {
    let mut t = [0xFFu8; 256];
    let mut c = 0;
    while c < 256 {
        t[c] = match c as u8 {
            b'0'..=b'9' => c as u8 - b'0',
            b'a'..=b'f' => c as u8 - b'a' + 10,
            b'A'..=b'F' => c as u8 - b'A' + 10,
            _ => 0xFF,
        };
        c += 1;
    }
    t
};

/// Decodes `s` as `N` bytes of hex (any case) or, failing that, base64 (standard or URL
/// alphabet, padding optional), as the proto3 JSON mapping writes `bytes`.
pub fn decode_id<const N: usize>(s: &str) -> Option<[u8; N]> {
    let b = s.as_bytes();
    let mut out = [0u8; N];
    if b.len() == 2 * N {
        // Every id of every span goes through here: a table and one check at the end, no
        // branch per digit (a digit's value fits in 4 bits, the table's `0xFF` does not).
        let mut bad = 0u8;
        for (o, pair) in out.iter_mut().zip(b.chunks_exact(2)) {
            let (h, l) = (HEX[usize::from(pair[0])], HEX[usize::from(pair[1])]);
            bad |= h | l;
            *o = h << 4 | (l & 0x0F);
        }
        if bad & 0xF0 == 0 {
            return Some(out);
        }
    }
    // base64 of N bytes is at most 4 * ceil(N / 3) characters.
    if b.len() > 4 * N.div_ceil(3) {
        return None;
    }
    let v = base64_decode(s)?;
    if v.len() == N {
        out.copy_from_slice(&v);
        Some(out)
    } else {
        None
    }
}

/// Decodes base64 (standard or URL alphabet, padding optional).
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let trimmed = s.trim_end_matches('=');
    let mut out = Vec::with_capacity(trimmed.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in trimmed.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    if bits >= 6 {
        return None;
    }
    Some(out)
}

struct IdV<const N: usize>(&'static str);
impl<const N: usize> Visitor<'_> for IdV<N> {
    type Value = Option<[u8; N]>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a {} as {} hex digits", self.0, 2 * N)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        if v.is_empty() {
            return Ok(None);
        }
        decode_id::<N>(v).map(Some).ok_or_else(|| {
            E::custom(format!(
                "invalid {} {:?}: expected {} hex digits (or base64 of {} bytes)",
                self.0,
                truncate(v),
                2 * N,
                N
            ))
        })
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// An id of `N` bytes written as hex or base64; `None` when empty or `null`. `what` names it
/// in errors (`trace id`).
pub fn opt_id<'de, D: Deserializer<'de>, const N: usize>(
    d: D,
    what: &'static str,
) -> Result<Option<[u8; N]>, D::Error> {
    d.deserialize_any(IdV::<N>(what))
}

/// Reads a map key as an identifier and classifies it with `f`.
pub(crate) fn key<'de, D: Deserializer<'de>, K>(
    d: D,
    what: &'static str,
    f: fn(&str) -> K,
) -> Result<K, D::Error> {
    struct V<K> {
        what: &'static str,
        f: fn(&str) -> K,
    }
    impl<K> Visitor<'_> for V<K> {
        type Value = K;
        fn expecting(&self, fm: &mut fmt::Formatter<'_>) -> fmt::Result {
            fm.write_str(self.what)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<K, E> {
            Ok((self.f)(v))
        }
    }
    d.deserialize_identifier(V { what, f })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decoding digit by digit, as the table must agree with.
    fn reference<const N: usize>(s: &str) -> Option<[u8; N]> {
        let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
        let b = s.as_bytes();
        if b.len() == 2 * N {
            let mut out = [0u8; N];
            let decoded =
                b.chunks_exact(2)
                    .enumerate()
                    .all(|(i, p)| match (digit(p[0]), digit(p[1])) {
                        (Some(h), Some(l)) => {
                            out[i] = h << 4 | l;
                            true
                        }
                        _ => false,
                    });
            if decoded {
                return Some(out);
            }
        }
        let v = base64_decode(s)?;
        (v.len() == N && b.len() <= 4 * N.div_ceil(3)).then(|| v.try_into().unwrap())
    }

    #[test]
    fn ids_decode_hex_of_any_case_and_fall_back_to_base64() {
        assert_eq!(
            decode_id::<8>("EEE19b7ec3c1b174"),
            Some([0xee, 0xe1, 0x9b, 0x7e, 0xc3, 0xc1, 0xb1, 0x74])
        );
        assert_eq!(
            decode_id::<8>("7uGbfsPBsXQ="),
            decode_id::<8>("eee19b7ec3c1b174")
        );
        assert_eq!(decode_id::<8>("eee19b7ec3c1b17"), None);
        // Every byte value in every position of a 16-digit id.
        for pos in 0..16 {
            for c in 0..=255u8 {
                let mut id = *b"0123456789abcdef";
                id[pos] = c;
                let Ok(s) = std::str::from_utf8(&id) else {
                    continue;
                };
                assert_eq!(decode_id::<8>(s), reference::<8>(s), "{s:?}");
            }
        }
        // Base64 of 16 bytes has 22 to 24 characters, hex 32.
        let b64 = "W47/95gDgQPSabYzgT/GDA==";
        assert_eq!(decode_id::<16>(b64), reference::<16>(b64));
        assert!(decode_id::<16>(b64).is_some());
    }
}
