//! What `flowtel::event!` writes at run time, observed through a plain `tracing` subscriber:
//! a `tracing` event named after the declared event, at its declared severity (or the raised
//! `level`), with its fields, personal data hashed or dropped, and the message as written.
//!
//! Compiled against `tests/fixtures/shop/flowtel.yaml` (named in this crate's
//! `[package.metadata.flowtel]`), which declares `payment.declined` at `warn`.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

#[derive(Debug, Clone)]
struct Seen {
    name: String,
    level: tracing::Level,
    target: String,
    span: Option<String>,
    fields: BTreeMap<String, String>,
}

#[derive(Default)]
struct Fields(BTreeMap<String, String>);

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name().into(), format!("{value:?}"));
    }
}

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<Seen>>>);

impl<S> Layer<S> for Capture
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    fn on_event(&self, event: &tracing::Event<'_>, ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let meta = event.metadata();
        self.0.lock().unwrap().push(Seen {
            name: meta.name().into(),
            level: *meta.level(),
            target: meta.target().into(),
            span: ctx.event_span(event).map(|s| s.name().to_string()),
            fields: fields.0,
        });
    }
}

fn capture(f: impl FnOnce()) -> Vec<Seen> {
    let layer = Capture::default();
    let subscriber = tracing_subscriber::registry().with(layer.clone());
    tracing::subscriber::with_default(subscriber, f);
    layer.0.lock().unwrap().clone()
}

#[test]
fn a_declared_event_is_a_tracing_event_named_after_it_at_its_declared_severity() {
    let order = "o-17";
    let seen = capture(|| {
        flowtel::event!(
            "payment.declined",
            payment.decline_reason = "card_expired",
            order.id = order,
            retry.count = 2,
        );
    });
    assert_eq!(seen.len(), 1, "{seen:?}");
    let e = &seen[0];
    assert_eq!(e.name, "payment.declined");
    assert_eq!(
        e.level,
        tracing::Level::WARN,
        "the declared `severity: warn`"
    );
    assert_eq!(e.target, module_path!());
    assert_eq!(e.fields["payment.decline_reason"], "card_expired");
    assert_eq!(e.fields["order.id"], "o-17");
    assert_eq!(e.fields["retry.count"], "2");
    assert!(!e.fields.contains_key("message"), "no message given");
}

#[test]
fn level_raises_the_severity_and_the_message_is_formatted() {
    let attempts = 3;
    let reason = "fraud_suspected";
    let seen = capture(|| {
        flowtel::event!(
            "payment.declined",
            level = error,
            payment.decline_reason = %reason,
            "declined after {attempts} attempts ({})",
            "issuer"
        );
    });
    assert_eq!(seen[0].level, tracing::Level::ERROR);
    assert_eq!(seen[0].fields["payment.decline_reason"], "fraud_suspected");
    assert_eq!(
        seen[0].fields["message"],
        "declined after 3 attempts (issuer)"
    );
}

#[test]
fn personal_data_is_hashed_or_never_recorded() {
    let uid = "alice";
    let email = "alice@example.com";
    let seen = capture(|| {
        flowtel::event!(
            "payment.declined",
            payment.decline_reason = "card_expired",
            user.id = redact(uid),
            user.email = redact(email),
        );
    });
    let f = &seen[0].fields;
    assert_eq!(
        f["user.id"],
        flowtel::hash_pii(&uid),
        "hashed (`redact: hash`)"
    );
    assert!(
        !f.contains_key("user.email"),
        "dropped (`redact: drop`): {f:?}"
    );
    assert!(f.values().all(|v| !v.contains("alice")), "{f:?}");
}

#[test]
fn an_event_without_a_declared_severity_is_info_and_sees_its_span() {
    let seen = capture(|| {
        let span = tracing::info_span!("cart.load");
        let _g = span.enter();
        flowtel::event!("cart.saved", cart.size = 4_u64);
    });
    assert_eq!(seen[0].name, "cart.saved");
    assert_eq!(seen[0].level, tracing::Level::INFO);
    assert_eq!(seen[0].span.as_deref(), Some("cart.load"));
    assert_eq!(seen[0].fields["cart.size"], "4");
}

#[test]
fn a_filtered_level_writes_nothing() {
    let layer = Capture::default();
    let subscriber = tracing_subscriber::registry()
        .with(layer.clone())
        .with(tracing_subscriber::filter::LevelFilter::ERROR);
    tracing::subscriber::with_default(subscriber, || {
        flowtel::event!("payment.declined", payment.decline_reason = "card_expired");
        flowtel::event!(
            "payment.declined",
            level = error,
            payment.decline_reason = "card_expired"
        );
    });
    let seen = layer.0.lock().unwrap();
    assert_eq!(seen.len(), 1, "only the ERROR one: {seen:?}");
}
