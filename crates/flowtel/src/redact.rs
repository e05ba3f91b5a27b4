//! Personal data on spans: keyed hashing and redaction at export.
//!
//! [`hash_pii`] turns a value into a keyed hash (SipHash-1-3 with a per-process key, or the key
//! set at init), so equal values stay correlatable within a deployment while the value itself
//! never leaves the process. The macros call it for attributes declared `redact: hash`.
//! [`RedactingSpanExporter`] is the safety net for every span, including those made by other
//! libraries: before export it removes attributes declared `pii` with `redact: drop` and hashes
//! raw values of `redact: hash` attributes, counting each as a violation. Dropping `pii` labels
//! from metrics is the limiter's job.

use std::collections::HashMap;
use std::fmt::{self, Write as _};
use std::hash::{BuildHasher, Hasher};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use flowtel_conventions::model::Redaction;
use opentelemetry::{Key, KeyValue, Value};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use siphasher::sip::SipHasher13;

use crate::violations::{Rule, Violations};

/// Prefix of every value [`hash_pii`] returns.
pub const HASH_PREFIX: &str = "hash:";

static KEY: OnceLock<(u64, u64)> = OnceLock::new();

/// Sets the key of [`hash_pii`] (e.g. from a secret shared by a deployment's services so their
/// hashes agree). Only the first key set, or the random one drawn by the first hash, is used:
/// returns `false` when a key was already in place.
pub fn set_pii_key(key: [u8; 16]) -> bool {
    let k0 = u64::from_le_bytes([
        key[0], key[1], key[2], key[3], key[4], key[5], key[6], key[7],
    ]);
    let k1 = u64::from_le_bytes([
        key[8], key[9], key[10], key[11], key[12], key[13], key[14], key[15],
    ]);
    KEY.set((k0, k1)).is_ok()
}

fn key() -> (u64, u64) {
    *KEY.get_or_init(|| {
        // std's RandomState is seeded from the OS once per process.
        let s = std::collections::hash_map::RandomState::new();
        (s.hash_one(0x0f10_u64), s.hash_one(0x7e1_u64))
    })
}

struct HashWriter(SipHasher13);

impl fmt::Write for HashWriter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.write(s.as_bytes());
        Ok(())
    }
}

/// A keyed hash of `value`'s `Display` text: `hash:` followed by 16 hex digits. Stable within
/// a process (and across processes that set the same key with [`set_pii_key`]).
pub fn hash_pii(value: &dyn fmt::Display) -> String {
    let (k0, k1) = key();
    let mut w = HashWriter(SipHasher13::new_with_keys(k0, k1));
    // Writing into a hasher cannot fail; a Display impl that errors just hashes what it wrote.
    let _ = write!(w, "{value}");
    format!("{HASH_PREFIX}{:016x}", w.0.finish())
}

/// Whether `s` has the shape of a [`hash_pii`] result.
pub fn is_hashed(s: &str) -> bool {
    s.len() == HASH_PREFIX.len() + 16
        && s.starts_with(HASH_PREFIX)
        && s[HASH_PREFIX.len()..]
            .bytes()
            .all(|b| b.is_ascii_hexdigit())
}

/// Which span attributes are personal data, and how each is redacted.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    pii: HashMap<Key, Redaction>,
}

impl Redactor {
    /// The `pii` attributes of a registry.
    pub fn from_registry(registry: &flowtel_conventions::Registry) -> Self {
        let pii = registry
            .attributes
            .iter()
            .filter(|(_, a)| a.pii)
            .map(|(k, a)| (Key::from(k.clone()), a.redact.unwrap_or_default()))
            .collect();
        Redactor { pii }
    }

    /// Whether any attribute needs redaction at all.
    pub fn is_empty(&self) -> bool {
        self.pii.is_empty()
    }

    /// How the attribute `key` is redacted, `None` when it is not personal data.
    pub fn redaction_of(&self, key: &'static str) -> Option<Redaction> {
        if self.pii.is_empty() {
            return None;
        }
        self.pii.get(&Key::from_static_str(key)).copied()
    }

    /// Redacts `attrs` in place; returns how many values were removed or hashed.
    pub fn redact(&self, attrs: &mut Vec<KeyValue>) -> u64 {
        if self.pii.is_empty() {
            return 0;
        }
        let mut n = 0;
        attrs.retain_mut(|kv| match self.pii.get(&kv.key) {
            None => true,
            Some(Redaction::Drop) => {
                n += 1;
                false
            }
            Some(Redaction::Hash) => {
                if !matches!(&kv.value, Value::String(s) if is_hashed(s.as_str())) {
                    kv.value = Value::from(hash_pii(&kv.value));
                    n += 1;
                }
                true
            }
        });
        n
    }
}

/// A span exporter that redacts personal data before handing spans to the real exporter, and
/// counts spans the real exporter failed to deliver.
#[derive(Debug)]
pub struct RedactingSpanExporter<E> {
    inner: E,
    redactor: Arc<Redactor>,
    violations: Arc<Violations>,
}

impl<E> RedactingSpanExporter<E> {
    /// Wraps `inner`.
    pub fn new(inner: E, redactor: Arc<Redactor>, violations: Arc<Violations>) -> Self {
        RedactingSpanExporter {
            inner,
            redactor,
            violations,
        }
    }
}

impl<E: SpanExporter> SpanExporter for RedactingSpanExporter<E> {
    async fn export(&self, mut batch: Vec<SpanData>) -> OTelSdkResult {
        let mut redacted = 0;
        for span in &mut batch {
            redacted += self.redactor.redact(&mut span.attributes);
            for event in span.events.events.iter_mut() {
                redacted += self.redactor.redact(&mut event.attributes);
            }
        }
        self.violations.count(Rule::PiiRedacted, redacted, || {
            "a personal-data attribute reached a span unredacted; redacted at export".into()
        });
        let n = batch.len() as u64;
        let result = self.inner.export(batch).await;
        if result.is_err() {
            self.violations.count(Rule::ExportDropped, n, || {
                "the span exporter failed; spans dropped".into()
            });
        }
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &opentelemetry_sdk::Resource) {
        self.inner.set_resource(resource);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_stable_keyed_and_recognisable() {
        let a = hash_pii(&"user-42");
        assert_eq!(a, hash_pii(&"user-42"));
        assert_ne!(a, hash_pii(&"user-43"));
        assert!(is_hashed(&a), "{a}");
        assert!(!a.contains("user-42"));
        assert!(!is_hashed("user-42"));
    }

    #[test]
    fn redactor_drops_or_hashes_by_declaration() {
        let mut r = Redactor::default();
        r.pii
            .insert(Key::from_static_str("user.id"), Redaction::Hash);
        r.pii
            .insert(Key::from_static_str("user.email"), Redaction::Drop);
        let already = hash_pii(&"u2");
        let mut attrs = vec![
            KeyValue::new("user.id", "u1"),
            KeyValue::new("user.email", "a@b.c"),
            KeyValue::new("order.id", "o1"),
        ];
        assert_eq!(r.redact(&mut attrs), 2);
        assert_eq!(attrs.len(), 2);
        assert_eq!(attrs[0].value, Value::from(hash_pii(&"u1")));
        let mut attrs = vec![KeyValue::new("user.id", already.clone())];
        assert_eq!(
            r.redact(&mut attrs),
            0,
            "a macro-hashed value is not hashed again"
        );
        assert_eq!(attrs[0].value, Value::from(already));
    }
}
