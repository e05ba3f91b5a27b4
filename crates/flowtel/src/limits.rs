//! Cardinality enforcement before values reach the OpenTelemetry SDK.
//!
//! Two caps, both with memory bounded whatever values arrive:
//! - [`ValueCap`]: the distinct values one attribute may take (`max_values`, or the declared
//!   `values` of an enum). Values beyond it become [`OTHER`].
//! - [`CardinalityLimiter`]: the distinct label sets one metric may have (`cardinality_limit`).
//!   Label sets beyond it fold into one series carrying `otel.metric.overflow=true`, as the SDK
//!   does, but without the SDK's write-locked overflow path.
//!
//! The limiter also drops labels the metric does not declare, and declared labels whose value
//! looks like personal data (an e-mail address, a phone or card number, an IP address, a
//! registry pattern: [`flowtel_conventions::pii`]). That check runs only where a label set is
//! not found as it is, so an admitted set costs nothing more. Every admitted label set owns a
//! *bound* SDK instrument handle, so the steady-state record is one hash, a lookup in an
//! insert-only table that takes no lock (a few atomic loads), and a direct write to the bound
//! aggregator: no allocation, no lock. Counting what was dropped or folded is left to [`Violations`]; which labels a metric
//! declares is decided by the caller (`meter`) from the registry.

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

use opentelemetry::{Key, KeyValue, Value};

use flowtel_conventions::pii::{Detector, Shape};

use crate::violations::{Rule, Violations};

/// The value an attribute takes once its distinct values are exhausted.
pub const OTHER: &str = "_OTHER";
/// The attribute the overflow series carries, as in the OpenTelemetry metrics SDK.
pub const OVERFLOW_KEY: &str = "otel.metric.overflow";
/// Longest label value kept as is; longer values become [`OTHER`].
pub const MAX_VALUE_LEN: usize = 256;
/// Most labels a metric may declare; further declared labels are ignored.
pub const MAX_LABELS: usize = 16;

const HASH_SEED: u64 = 0x5eed_f10e_7e1a_0001;

/// A label value seen without copying it.
#[derive(Debug, Clone, Copy, PartialEq)]
enum ValueRef<'a> {
    Str(&'a str),
    I64(i64),
    F64(u64),
    Bool(bool),
}

impl<'a> ValueRef<'a> {
    fn of(value: &'a Value) -> ValueRef<'a> {
        match value {
            Value::String(s) => ValueRef::Str(s.as_str()),
            Value::I64(i) => ValueRef::I64(*i),
            Value::F64(f) => ValueRef::F64(f.to_bits()),
            Value::Bool(b) => ValueRef::Bool(*b),
            // Arrays are not label values the registry can declare.
            _ => ValueRef::Str(OTHER),
        }
    }

    fn hash_into(self, h: &mut impl Hasher) {
        match self {
            ValueRef::Str(s) => {
                h.write_u8(0);
                h.write(s.as_bytes());
                h.write_u8(0xff);
            }
            ValueRef::I64(i) => {
                h.write_u8(1);
                h.write_i64(i);
            }
            ValueRef::F64(f) => {
                h.write_u8(2);
                h.write_u64(f);
            }
            ValueRef::Bool(b) => {
                h.write_u8(3);
                h.write_u8(b as u8);
            }
        }
    }

    fn to_owned(self) -> OwnedValue {
        match self {
            ValueRef::Str(s) => OwnedValue::Str(s.into()),
            ValueRef::I64(i) => OwnedValue::I64(i),
            ValueRef::F64(f) => OwnedValue::F64(f),
            ValueRef::Bool(b) => OwnedValue::Bool(b),
        }
    }

    fn to_value(self) -> Value {
        match self {
            ValueRef::Str(s) => Value::from(s.to_owned()),
            ValueRef::I64(i) => Value::I64(i),
            ValueRef::F64(f) => Value::F64(f64::from_bits(f)),
            ValueRef::Bool(b) => Value::Bool(b),
        }
    }

    fn is_other(self) -> bool {
        self == ValueRef::Str(OTHER)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum OwnedValue {
    Str(Box<str>),
    I64(i64),
    F64(u64),
    Bool(bool),
}

impl OwnedValue {
    fn as_ref(&self) -> ValueRef<'_> {
        match self {
            OwnedValue::Str(s) => ValueRef::Str(s),
            OwnedValue::I64(i) => ValueRef::I64(*i),
            OwnedValue::F64(f) => ValueRef::F64(*f),
            OwnedValue::Bool(b) => ValueRef::Bool(*b),
        }
    }
}

fn hasher() -> impl Hasher {
    foldhash::fast::FixedState::with_seed(HASH_SEED).build_hasher()
}

fn hash_value(v: ValueRef<'_>) -> u64 {
    let mut h = hasher();
    v.hash_into(&mut h);
    h.finish()
}

fn hash_set(values: &[Option<ValueRef<'_>>]) -> u64 {
    let mut h = hasher();
    for (i, v) in values.iter().enumerate() {
        if let Some(v) = v {
            h.write_u8(i as u8);
            v.hash_into(&mut h);
        }
    }
    h.finish()
}

/// Keys are already hashes: use them as they are.
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type Buckets<T> = HashMap<u64, Vec<Arc<T>>, BuildHasherDefault<PassThrough>>;

/// Slots per chunk of a [`SlotTable`]; a chunk is allocated when the first entry lands in it.
const CHUNK: usize = 32;
/// Most slots a table has. Entries beyond half of them (limits above 32,768) spill into a
/// locked map, read only once something spilled.
const MAX_SLOTS: usize = 1 << 16;

/// An entry of a [`SlotTable`], with its hash so probes skip other entries cheaply.
struct Entry<T> {
    hash: u64,
    item: T,
}

type Chunk<T> = Box<[OnceLock<Entry<T>>]>;

/// An insert-only hash table whose lookups take no lock: open addressing with linear probing
/// over slots that are written once (`OnceLock`). A probe ends at the first empty slot, and
/// entries are never removed, so a reader that misses an entry being inserted concurrently
/// only takes the slow path, where inserts are serialised and look again. Memory is bounded by
/// the slots of the entries inserted (chunks are allocated lazily), never by what is looked up.
struct SlotTable<T> {
    mask: usize,
    chunks: Box<[OnceLock<Chunk<T>>]>,
    /// Serialises inserts; holds the number of entries in the slots.
    writer: std::sync::Mutex<usize>,
    /// Entries beyond half the slots (only for limits above `MAX_SLOTS / 2`).
    spill: RwLock<Buckets<T>>,
    spilled: AtomicBool,
}

/// An entry found in a [`SlotTable`]: in a slot, or (rarely) in the spill map.
enum Found<'a, T> {
    Slot(&'a T),
    Spilled(Arc<T>),
}

impl<T> std::ops::Deref for Found<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        match self {
            Found::Slot(t) => t,
            Found::Spilled(t) => t,
        }
    }
}

impl<T> SlotTable<T> {
    /// A table sized for `capacity` entries at a load of at most one half.
    fn new(capacity: usize) -> Self {
        let slots = capacity
            .saturating_mul(2)
            .clamp(CHUNK, MAX_SLOTS)
            .next_power_of_two();
        SlotTable {
            mask: slots - 1,
            chunks: (0..slots / CHUNK).map(|_| OnceLock::new()).collect(),
            writer: std::sync::Mutex::new(0),
            spill: RwLock::new(Buckets::default()),
            spilled: AtomicBool::new(false),
        }
    }

    fn slot(&self, i: usize) -> Option<&OnceLock<Entry<T>>> {
        self.chunks[i / CHUNK].get().map(|c| &c[i % CHUNK])
    }

    /// The entry with `hash` for which `eq` holds, without taking a lock (unless entries
    /// spilled).
    fn find(&self, hash: u64, eq: impl Fn(&T) -> bool) -> Option<Found<'_, T>> {
        let mut i = hash as usize & self.mask;
        for _ in 0..=self.mask {
            let Some(e) = self.slot(i).and_then(OnceLock::get) else {
                break;
            };
            if e.hash == hash && eq(&e.item) {
                return Some(Found::Slot(&e.item));
            }
            i = (i + 1) & self.mask;
        }
        if self.spilled.load(Ordering::Acquire) {
            let map = self.spill.read().unwrap_or_else(PoisonError::into_inner);
            if let Some(t) = map.get(&hash).and_then(|b| b.iter().find(|t| eq(t))) {
                return Some(Found::Spilled(t.clone()));
            }
        }
        None
    }

    /// The entry with `hash` for which `eq` holds, inserted from `make` when absent; `true`
    /// when this call inserted it.
    fn insert(
        &self,
        hash: u64,
        eq: impl Fn(&T) -> bool,
        make: impl FnOnce() -> T,
    ) -> (Found<'_, T>, bool) {
        let mut len = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(found) = self.find(hash, &eq) {
            return (found, false);
        }
        if *len < self.chunks.len() * CHUNK / 2 {
            let mut i = hash as usize & self.mask;
            loop {
                let chunk = self.chunks[i / CHUNK]
                    .get_or_init(|| (0..CHUNK).map(|_| OnceLock::new()).collect());
                let slot = &chunk[i % CHUNK];
                if slot.get().is_none() {
                    *len += 1;
                    let entry = slot.get_or_init(|| Entry { hash, item: make() });
                    return (Found::Slot(&entry.item), true);
                }
                i = (i + 1) & self.mask;
            }
        }
        let item = Arc::new(make());
        self.spill
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(hash)
            .or_default()
            .push(item.clone());
        self.spilled.store(true, Ordering::Release);
        (Found::Spilled(item), true)
    }
}

/// The distinct values one attribute may take; memory is bounded by the cap.
pub struct ValueCap {
    limit: usize,
    fixed: bool,
    len: AtomicUsize,
    seen: SlotTable<OwnedValue>,
}

impl std::fmt::Debug for ValueCap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValueCap")
            .field("limit", &self.limit)
            .field("fixed", &self.fixed)
            .field("len", &self.len())
            .finish()
    }
}

impl ValueCap {
    /// A cap admitting the first `limit` distinct values that arrive.
    pub fn new(limit: usize) -> Self {
        ValueCap::sized(limit, limit)
    }

    fn sized(limit: usize, capacity: usize) -> Self {
        ValueCap {
            limit,
            fixed: false,
            len: AtomicUsize::new(0),
            seen: SlotTable::new(capacity),
        }
    }

    /// A cap admitting exactly the declared values of an enum attribute.
    pub fn enumerated<'a>(values: impl IntoIterator<Item = &'a str>) -> Self {
        let values: Vec<&str> = values.into_iter().collect();
        let cap = ValueCap::sized(usize::MAX, values.len());
        for v in values {
            cap.admit(ValueRef::Str(v));
        }
        ValueCap {
            limit: cap.len(),
            fixed: true,
            ..cap
        }
    }

    /// Distinct values admitted so far (never more than the cap).
    pub fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }

    /// Whether no value was admitted yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `value` is (or now becomes) one of the admitted values.
    pub fn admit_value(&self, value: &Value) -> bool {
        self.admit(ValueRef::of(value))
    }

    fn admit(&self, v: ValueRef<'_>) -> bool {
        let hash = hash_value(v);
        let eq = |o: &OwnedValue| o.as_ref() == v;
        if self.seen.find(hash, eq).is_some() {
            return true;
        }
        if self.fixed || !reserve(&self.len, self.limit) {
            return false;
        }
        let (_, inserted) = self.seen.insert(hash, eq, || v.to_owned());
        if !inserted {
            self.len.fetch_sub(1, Ordering::Relaxed);
        }
        true
    }
}

/// Takes one slot of `limit`, or fails when all are taken. Never lets `len` exceed `limit`.
fn reserve(len: &AtomicUsize, limit: usize) -> bool {
    len.fetch_update(Ordering::AcqRel, Ordering::Relaxed, |n| {
        (n < limit).then_some(n + 1)
    })
    .is_ok()
}

/// Value caps of every attribute of a registry that has one, shared by all metrics.
#[derive(Debug, Default, Clone)]
pub struct AttributeCaps {
    caps: HashMap<String, Arc<ValueCap>>,
}

impl AttributeCaps {
    /// Caps from the registry: enum attributes admit their declared values, attributes with
    /// `max_values` admit that many distinct values.
    pub fn from_registry(registry: &flowtel_conventions::Registry) -> Self {
        use flowtel_conventions::model::AttributeType;
        let mut caps = HashMap::new();
        for (name, attr) in &registry.attributes {
            let cap = if attr.ty == AttributeType::Enum && !attr.values.is_empty() {
                ValueCap::enumerated(attr.values.iter().map(String::as_str))
            } else if let Some(max) = attr.max_values {
                ValueCap::new(max as usize)
            } else {
                continue;
            };
            caps.insert(name.clone(), Arc::new(cap));
        }
        AttributeCaps { caps }
    }

    /// The cap of one attribute, if it has one.
    pub fn get(&self, attribute: &str) -> Option<Arc<ValueCap>> {
        self.caps.get(attribute).cloned()
    }
}

/// One declared label of a metric and the cap on its values.
#[derive(Debug, Clone)]
pub struct LabelSpec {
    /// The attribute key.
    pub key: Key,
    /// Cap on the attribute's distinct values, shared across metrics.
    pub cap: Option<Arc<ValueCap>>,
}

struct Series<H> {
    values: Box<[Option<OwnedValue>]>,
    handle: H,
}

/// Binds a label set to an SDK handle; called once per admitted label set.
pub type Binder<H> = Box<dyn Fn(&[KeyValue]) -> H + Send + Sync>;

/// Which declared labels are checked for personal data by shape.
struct PiiShapes {
    detector: Arc<Detector>,
    /// Bit `i`: an IP address is what label `i` declares (a network address), not personal data.
    ip_ok: u32,
}

/// Caps the distinct label sets of one metric and drops undeclared labels.
pub struct CardinalityLimiter<H> {
    metric: Box<str>,
    labels: Box<[LabelSpec]>,
    pii: Box<[Key]>,
    shapes: Option<PiiShapes>,
    limit: usize,
    len: AtomicUsize,
    series: SlotTable<Series<H>>,
    overflow: OnceLock<H>,
    bind: Binder<H>,
    violations: Arc<Violations>,
}

impl<H> std::fmt::Debug for CardinalityLimiter<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CardinalityLimiter")
            .field("metric", &self.metric)
            .field("labels", &self.labels)
            .field("limit", &self.limit)
            .field("series", &self.len())
            .finish()
    }
}

impl<H> CardinalityLimiter<H> {
    /// A limiter for `metric` keeping `labels` (in this order; at most [`MAX_LABELS`]) and at
    /// most `limit` label sets. `pii` names attributes whose drop counts as
    /// [`Rule::PiiLabel`] rather than [`Rule::UndeclaredLabel`]. `bind` makes the handle of
    /// each admitted label set, and of the overflow series.
    pub fn new(
        metric: &str,
        mut labels: Vec<LabelSpec>,
        pii: Vec<Key>,
        limit: usize,
        violations: Arc<Violations>,
        bind: Binder<H>,
    ) -> Self {
        labels.truncate(MAX_LABELS);
        CardinalityLimiter {
            metric: metric.into(),
            labels: labels.into(),
            pii: pii.into(),
            shapes: None,
            limit,
            len: AtomicUsize::new(0),
            series: SlotTable::new(limit),
            overflow: OnceLock::new(),
            bind,
            violations,
        }
    }

    /// Drops declared labels whose value `detector` finds personal data, counted as
    /// [`Rule::PiiLabel`]; an IP address is kept on the labels named in `ip_addresses` (declared
    /// network addresses such as `server.address`). Values are checked only for label sets not
    /// already admitted, so the steady-state record path is unchanged.
    pub fn with_pii_shapes(mut self, detector: Arc<Detector>, ip_addresses: &[Key]) -> Self {
        let ip_ok = self
            .labels
            .iter()
            .enumerate()
            .filter(|(_, l)| ip_addresses.contains(&l.key))
            .fold(0u32, |m, (i, _)| m | (1 << i));
        self.shapes = Some(PiiShapes { detector, ip_ok });
        self
    }

    /// Distinct label sets admitted so far (the overflow series not included).
    pub fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }

    /// Whether no label set was admitted yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The most label sets this limiter admits.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Runs `f` with the handle of the series `attrs` belongs to once enforced: undeclared
    /// labels dropped, over-cap values replaced by [`OTHER`], an over-limit set folded into
    /// the overflow series.
    pub fn with_series<R>(&self, attrs: &[KeyValue], f: impl FnOnce(&H) -> R) -> R {
        let n = self.labels.len();
        let mut picked: [Option<ValueRef<'_>>; MAX_LABELS] = [None; MAX_LABELS];
        let mut extra = false;
        for (j, kv) in attrs.iter().enumerate() {
            // Callers mostly pass labels in declared order: try that slot first.
            let slot = match self.labels.get(j) {
                Some(l) if l.key == kv.key => Some(j),
                _ => self.labels.iter().position(|l| l.key == kv.key),
            };
            match slot {
                Some(i) => picked[i] = Some(ValueRef::of(&kv.value)),
                None => extra = true,
            }
        }
        if extra {
            self.count_dropped(attrs);
        }
        let picked = &picked[..n];
        let hash = hash_set(picked);
        if let Some(s) = self.series.find(hash, |s| same(&s.values, picked)) {
            return f(&s.handle);
        }
        self.admit(picked, hash, f)
    }

    /// The path of a label set not seen as it is: cap values, then find, insert or fold.
    #[cold]
    fn admit<R>(
        &self,
        picked: &[Option<ValueRef<'_>>],
        raw_hash: u64,
        f: impl FnOnce(&H) -> R,
    ) -> R {
        let mut capped: [Option<ValueRef<'_>>; MAX_LABELS] = [None; MAX_LABELS];
        let mut changed = false;
        for (i, v) in picked.iter().enumerate() {
            if let Some(v) = *v {
                // Personal data first, so it never takes a slot of the value cap.
                if let Some(shape) = self.personal_shape(i, v) {
                    self.count_personal(i, shape);
                    changed = true;
                    continue;
                }
                let c = self.cap_value(i, v);
                changed |= c != v;
                capped[i] = Some(c);
            }
        }
        let capped = &capped[..picked.len()];
        let hash = if changed { hash_set(capped) } else { raw_hash };
        let eq = |s: &Series<H>| same(&s.values, capped);
        if changed && let Some(s) = self.series.find(hash, eq) {
            return f(&s.handle);
        }
        if reserve(&self.len, self.limit) {
            let (s, inserted) = self.series.insert(hash, eq, || {
                let kvs: Vec<KeyValue> = self
                    .labels
                    .iter()
                    .zip(capped)
                    .filter_map(|(l, v)| v.map(|v| KeyValue::new(l.key.clone(), v.to_value())))
                    .collect();
                Series {
                    values: capped.iter().map(|v| v.map(ValueRef::to_owned)).collect(),
                    handle: (self.bind)(&kvs),
                }
            });
            if !inserted {
                self.len.fetch_sub(1, Ordering::Relaxed);
            }
            return f(&s.handle);
        }
        self.violations.count(Rule::CardinalityOverflow, 1, || {
            format!(
                "metric `{}` reached its cardinality limit of {} label sets; new sets fold \
                 into the series {OVERFLOW_KEY}=true",
                self.metric, self.limit
            )
        });
        let overflow = self
            .overflow
            .get_or_init(|| (self.bind)(&[KeyValue::new(OVERFLOW_KEY, true)]));
        f(overflow)
    }

    /// The personal-data shape of label `i`'s value, when the limiter checks shapes.
    fn personal_shape(&self, i: usize, v: ValueRef<'_>) -> Option<Shape> {
        let shapes = self.shapes.as_ref()?;
        let shape = match v {
            ValueRef::Str(s) if s.len() <= MAX_VALUE_LEN && s != OTHER => {
                shapes.detector.value_shape(s)
            }
            ValueRef::I64(n) => shapes.detector.int_shape(n),
            _ => None,
        }?;
        (shape != Shape::Ip || shapes.ip_ok & (1 << i) == 0).then_some(shape)
    }

    #[cold]
    fn count_personal(&self, i: usize, shape: Shape) {
        self.violations.count(Rule::PiiLabel, 1, || {
            let name = self
                .shapes
                .as_ref()
                .map_or(shape.as_str(), |s| s.detector.shape_name(shape));
            format!(
                "label `{}` dropped from metric `{}`: its value looks like personal data ({name})",
                self.labels[i].key, self.metric
            )
        });
    }

    fn cap_value<'a>(&self, i: usize, v: ValueRef<'a>) -> ValueRef<'a> {
        if v.is_other() {
            return v;
        }
        let too_long = matches!(v, ValueRef::Str(s) if s.len() > MAX_VALUE_LEN);
        let admitted = !too_long && self.labels[i].cap.as_ref().is_none_or(|cap| cap.admit(v));
        if admitted {
            return v;
        }
        self.violations.count(Rule::ValueOverflow, 1, || {
            format!(
                "attribute `{}` on metric `{}` has more distinct values than allowed (or a \
                 value longer than {MAX_VALUE_LEN} bytes); recorded as `{OTHER}`",
                self.labels[i].key, self.metric
            )
        });
        ValueRef::Str(OTHER)
    }

    #[cold]
    fn count_dropped(&self, attrs: &[KeyValue]) {
        for kv in attrs {
            if self.labels.iter().any(|l| l.key == kv.key) {
                continue;
            }
            let rule = if self.pii.contains(&kv.key) {
                Rule::PiiLabel
            } else {
                Rule::UndeclaredLabel
            };
            self.violations.count(rule, 1, || {
                format!(
                    "label `{}` dropped from metric `{}`: {}",
                    kv.key,
                    self.metric,
                    if rule == Rule::PiiLabel {
                        "personal data is never a metric label"
                    } else {
                        "the metric does not declare it"
                    }
                )
            });
        }
    }
}

fn same(stored: &[Option<OwnedValue>], values: &[Option<ValueRef<'_>>]) -> bool {
    stored.len() == values.len()
        && stored
            .iter()
            .zip(values)
            .all(|(s, v)| s.as_ref().map(OwnedValue::as_ref) == *v)
}

impl Hash for OwnedValue {
    fn hash<S: Hasher>(&self, state: &mut S) {
        self.as_ref().hash_into(state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// A limiter whose handles are the label sets themselves, to see what the SDK would get.
    fn limiter(
        labels: &[(&'static str, Option<usize>)],
        limit: usize,
    ) -> (CardinalityLimiter<Vec<KeyValue>>, Arc<Violations>) {
        let v = Arc::new(Violations::new());
        let specs = labels
            .iter()
            .map(|&(k, cap)| LabelSpec {
                key: Key::from_static_str(k),
                cap: cap.map(|c| Arc::new(ValueCap::new(c))),
            })
            .collect();
        let l = CardinalityLimiter::new(
            "test.metric",
            specs,
            vec![Key::from_static_str("user.id")],
            limit,
            v.clone(),
            Box::new(|kvs: &[KeyValue]| kvs.to_vec()),
        );
        (l, v)
    }

    fn record(l: &CardinalityLimiter<Vec<KeyValue>>, attrs: &[KeyValue]) -> Vec<KeyValue> {
        l.with_series(attrs, |h| h.clone())
    }

    #[test]
    fn undeclared_and_pii_labels_are_dropped_and_counted() {
        let (l, v) = limiter(&[("flow.name", None)], 10);
        let got = record(
            &l,
            &[
                KeyValue::new("user.id", "u1"),
                KeyValue::new("flow.name", "checkout"),
                KeyValue::new("url.path", "/orders/1"),
            ],
        );
        assert_eq!(got, vec![KeyValue::new("flow.name", "checkout")]);
        assert_eq!(v.get(Rule::PiiLabel), 1);
        assert_eq!(v.get(Rule::UndeclaredLabel), 1);
    }

    #[test]
    fn declared_labels_whose_values_look_personal_are_dropped_and_counted() {
        let (l, v) = limiter(
            &[("flow.name", None), ("server.address", None), ("n", None)],
            10,
        );
        let l = l.with_pii_shapes(
            Arc::new(Detector::default()),
            &[Key::from_static_str("server.address")],
        );
        let want = vec![
            KeyValue::new("flow.name", "checkout"),
            KeyValue::new("server.address", "10.1.2.80"),
        ];
        for _ in 0..3 {
            let got = record(
                &l,
                &[
                    KeyValue::new("flow.name", "checkout"),
                    KeyValue::new("server.address", "10.1.2.80"),
                    KeyValue::new("n", "ada@example.com"),
                ],
            );
            assert_eq!(got, want);
        }
        // A card number as an integer, an IP address where none is declared: dropped too.
        assert_eq!(
            record(
                &l,
                &[
                    KeyValue::new("flow.name", "checkout"),
                    KeyValue::new("server.address", "10.1.2.80"),
                    KeyValue::new("n", 4_111_111_111_111_111_i64),
                ],
            ),
            want
        );
        assert_eq!(
            record(&l, &[KeyValue::new("flow.name", "192.0.2.17")]),
            Vec::<KeyValue>::new()
        );
        assert_eq!(v.get(Rule::PiiLabel), 5);
        assert_eq!(v.get(Rule::UndeclaredLabel), 0);
        // Clean values are kept, and the personal ones never became series of their own.
        let clean = record(
            &l,
            &[
                KeyValue::new("flow.name", "checkout"),
                KeyValue::new("n", "7"),
            ],
        );
        assert_eq!(clean.len(), 2);
        assert_eq!(l.len(), 3);
        assert_eq!(v.get(Rule::PiiLabel), 5);
    }

    #[test]
    fn without_shapes_values_are_not_judged() {
        let (l, v) = limiter(&[("n", None)], 10);
        assert_eq!(
            record(&l, &[KeyValue::new("n", "ada@example.com")]),
            vec![KeyValue::new("n", "ada@example.com")]
        );
        assert_eq!(v.get(Rule::PiiLabel), 0);
    }

    #[test]
    fn label_order_does_not_make_a_new_series() {
        let (l, _) = limiter(&[("a", None), ("b", None)], 10);
        record(&l, &[KeyValue::new("a", "1"), KeyValue::new("b", 2)]);
        record(&l, &[KeyValue::new("b", 2), KeyValue::new("a", "1")]);
        assert_eq!(l.len(), 1);
    }

    #[test]
    fn over_limit_sets_fold_into_the_overflow_series() {
        let (l, v) = limiter(&[("a", None)], 3);
        for i in 0..10 {
            let got = record(&l, &[KeyValue::new("a", i)]);
            if i < 3 {
                assert_eq!(got, vec![KeyValue::new("a", i)]);
            } else {
                assert_eq!(got, vec![KeyValue::new(OVERFLOW_KEY, true)]);
            }
        }
        assert_eq!(l.len(), 3);
        assert_eq!(v.get(Rule::CardinalityOverflow), 7);
        // A set admitted before the limit keeps its own series.
        assert_eq!(
            record(&l, &[KeyValue::new("a", 1)]),
            vec![KeyValue::new("a", 1)]
        );
    }

    #[test]
    fn over_cap_values_become_other() {
        let (l, v) = limiter(&[("route", Some(2)), ("m", None)], 100);
        let routes = ["/a", "/b", "/c", "/d"];
        let got: Vec<_> = routes
            .iter()
            .map(|r| record(&l, &[KeyValue::new("route", *r), KeyValue::new("m", "GET")]))
            .collect();
        assert_eq!(got[1][0], KeyValue::new("route", "/b"));
        assert_eq!(got[2][0], KeyValue::new("route", OTHER));
        assert_eq!(got[3][0], KeyValue::new("route", OTHER));
        assert_eq!(l.len(), 3);
        assert_eq!(v.get(Rule::ValueOverflow), 2);
    }

    #[test]
    fn long_values_become_other() {
        let (l, _) = limiter(&[("a", None)], 10);
        let long = "x".repeat(MAX_VALUE_LEN + 1);
        assert_eq!(
            record(&l, &[KeyValue::new("a", long)]),
            vec![KeyValue::new("a", OTHER)]
        );
    }

    #[test]
    fn enum_caps_admit_only_declared_values() {
        let cap = ValueCap::enumerated(["GET", "POST"]);
        assert!(cap.admit_value(&Value::from("GET")));
        assert!(!cap.admit_value(&Value::from("BREW")));
        assert_eq!(cap.len(), 2);
    }

    #[test]
    fn concurrent_writers_never_exceed_caps() {
        let (l, _) = limiter(&[("a", Some(50)), ("b", None)], 100);
        let l = Arc::new(l);
        let seen = Arc::new(Mutex::new(std::collections::HashSet::new()));
        std::thread::scope(|s| {
            for t in 0..8 {
                let l = l.clone();
                let seen = seen.clone();
                s.spawn(move || {
                    for i in 0..2000 {
                        let got = record(
                            &l,
                            &[
                                KeyValue::new("a", (i * 7 + t) % 400),
                                KeyValue::new("b", i % 3),
                            ],
                        );
                        seen.lock().unwrap().insert(format!("{got:?}"));
                    }
                });
            }
        });
        assert!(l.len() <= 100);
        // admitted sets plus the overflow series
        assert!(seen.lock().unwrap().len() <= 101);
    }
}
