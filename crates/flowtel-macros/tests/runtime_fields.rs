//! The span fields the macros record at run time, exactly as the runtime contract specifies,
//! observed through a plain `tracing` subscriber (no flowtel runtime involved).
//!
//! Compiled against `tests/fixtures/shop/flowtel.yaml` (named in this crate's
//! `[package.metadata.flowtel]`).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

/// A closed span as the subscriber saw it.
#[derive(Debug, Clone)]
struct Closed {
    name: String,
    target: String,
    level: tracing::Level,
    parent: Option<String>,
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
struct Capture(Arc<Mutex<Vec<Closed>>>);

impl<S: tracing::Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Capture {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(fields);
        }
    }
    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id)
            && let Some(fields) = span.extensions_mut().get_mut::<Fields>()
        {
            values.record(fields);
        }
    }
    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let fields = span
            .extensions_mut()
            .remove::<Fields>()
            .unwrap_or_default()
            .0;
        self.0.lock().unwrap().push(Closed {
            name: span.name().into(),
            target: span.metadata().target().into(),
            level: *span.metadata().level(),
            parent: span.parent().map(|p| p.name().to_string()),
            fields,
        });
    }
}

/// Runs `f` under a subscriber that captures spans, and returns them in closing order.
fn capture(f: impl FnOnce()) -> Vec<Closed> {
    let layer = Capture::default();
    let subscriber = tracing_subscriber::registry().with(layer.clone());
    tracing::subscriber::with_default(subscriber, f);
    layer.0.lock().unwrap().clone()
}

fn by_name<'a>(spans: &'a [Closed], name: &str) -> &'a Closed {
    spans
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no span `{name}` in {spans:#?}"))
}

fn fields(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[derive(Debug)]
enum PaymentError {
    Declined,
}

impl flowtel::ErrorKind for PaymentError {
    fn kind(&self) -> &'static str {
        "card_declined"
    }
}

#[derive(Debug)]
struct Timeout;

#[flowtel::flow("checkout", fields(customer.tier = "pro"))]
fn checkout(amount: u32, uid: &str) -> Result<u32, PaymentError> {
    let items = load_cart(3);
    authorize(amount * items as u32, uid)
}

#[flowtel::step("cart.load", fields(cart.size = n))]
fn load_cart(n: u64) -> u64 {
    n
}

#[flowtel::step(
    flow = "checkout",
    name = "payment.authorize",
    fields(user.id = redact(uid), user.email = redact("a@example.com"))
)]
fn authorize(amount: u32, uid: &str) -> Result<u32, PaymentError> {
    if amount > 100 {
        Err(PaymentError::Declined)
    } else {
        Ok(amount)
    }
}

#[flowtel::step("order.confirm")]
fn confirm() -> Result<(), Timeout> {
    Err(Timeout)
}

#[flowtel::step(flow = "login", name = "credentials.verify")]
async fn verify(ok: bool) -> std::io::Result<()> {
    if ok {
        Ok(())
    } else {
        Err(std::io::Error::other("denied"))
    }
}

#[test]
fn flow_span_carries_the_contract_fields() {
    let spans = capture(|| {
        checkout(10, "u-42").unwrap();
    });
    let flow = by_name(&spans, "checkout");
    assert_eq!(flow.target, "flowtel::flow");
    assert_eq!(flow.level, tracing::Level::INFO);
    assert_eq!(flow.parent, None);
    assert_eq!(
        flow.fields,
        fields(&[
            ("flowtel.kind", "flow"),
            ("flow.name", "checkout"),
            ("otel.name", "checkout"),
            ("code.function", "checkout"),
            ("code.namespace", "runtime_fields"),
            ("customer.tier", "pro"),
            ("outcome", "ok"),
        ])
    );
}

#[test]
fn step_spans_name_their_flow_when_known_and_record_outcome() {
    let spans = capture(|| {
        let _ = checkout(10, "u-42");
    });
    let load = by_name(&spans, "cart.load");
    assert_eq!(load.target, "flowtel::step");
    assert_eq!(load.parent.as_deref(), Some("checkout"));
    // `flow.name` stays empty: the runtime fills it from the enclosing flow.
    assert_eq!(
        load.fields,
        fields(&[
            ("flowtel.kind", "step"),
            ("flow.step", "cart.load"),
            ("otel.name", "cart.load"),
            ("code.function", "load_cart"),
            ("code.namespace", "runtime_fields"),
            ("cart.size", "3"),
            ("outcome", "ok"),
        ])
    );

    let auth = by_name(&spans, "checkout payment.authorize");
    assert_eq!(auth.fields["flow.name"], "checkout");
    assert_eq!(auth.fields["flow.step"], "payment.authorize");
    assert_eq!(auth.fields["otel.name"], "checkout payment.authorize");
    assert_eq!(auth.fields["outcome"], "ok");
    assert!(!auth.fields.contains_key("error.type"));
}

#[test]
fn errors_record_their_kind_or_type_name() {
    let spans = capture(|| {
        let _ = checkout(1000, "u-42");
        let _ = confirm();
        let _ = futures::executor::block_on(verify(false));
        let _ = futures::executor::block_on(verify(true));
    });
    let auth = by_name(&spans, "checkout payment.authorize");
    assert_eq!(auth.fields["outcome"], "error");
    assert_eq!(auth.fields["error.type"], "card_declined");
    let flow = by_name(&spans, "checkout");
    assert_eq!(flow.fields["outcome"], "error");
    assert_eq!(flow.fields["error.type"], "card_declined");
    let confirm = by_name(&spans, "order.confirm");
    assert_eq!(confirm.fields["error.type"], "Timeout");

    let verifies: Vec<_> = spans
        .iter()
        .filter(|s| s.name == "login credentials.verify")
        .collect();
    assert_eq!(verifies.len(), 2);
    assert_eq!(verifies[0].fields["outcome"], "error");
    assert_eq!(verifies[0].fields["error.type"], "Error");
    assert_eq!(verifies[1].fields["outcome"], "ok");
}

#[test]
fn personal_data_is_hashed_or_never_recorded() {
    let spans = capture(|| {
        let _ = checkout(10, "u-42");
        let _ = checkout(10, "u-42");
    });
    let auths: Vec<_> = spans
        .iter()
        .filter(|s| s.name == "checkout payment.authorize")
        .collect();
    let hashed = &auths[0].fields["user.id"];
    assert_ne!(hashed, "u-42");
    assert!(!hashed.contains("u-42"));
    assert_eq!(
        hashed, &auths[1].fields["user.id"],
        "stable within a process"
    );
    assert_eq!(hashed, &flowtel::hash_pii(&"u-42"));
    assert!(!auths[0].fields.contains_key("user.email"));
}

#[test]
fn block_forms_open_the_same_spans() {
    let spans = capture(|| {
        let total = flowtel::flow_span!("checkout", {
            let n = flowtel::step_span!(flow = "checkout", name = "cart.load", { 2u32 });
            Ok::<_, PaymentError>(n)
        });
        assert_eq!(total.unwrap(), 2);
        let fut = flowtel::step_span!("session.create", async { Err::<(), _>(Timeout) });
        assert!(futures::executor::block_on(fut).is_err());
    });
    let flow = by_name(&spans, "checkout");
    assert_eq!(flow.fields["outcome"], "ok");
    assert!(!flow.fields.contains_key("code.function"));
    let load = by_name(&spans, "checkout cart.load");
    assert_eq!(load.parent.as_deref(), Some("checkout"));
    assert_eq!(load.fields["flow.name"], "checkout");
    let session = by_name(&spans, "session.create");
    assert_eq!(session.fields["outcome"], "error");
    assert_eq!(session.fields["error.type"], "Timeout");
}

#[test]
fn conventions_macro_embeds_the_checked_registry() {
    let conventions: flowtel::Conventions = flowtel::conventions!();
    assert_eq!(conventions.name, "macro-tests");
    assert_eq!(
        conventions.flows["checkout"]
            .steps
            .keys()
            .collect::<Vec<_>>(),
        ["cart.load", "payment.authorize", "order.confirm"]
    );
}
