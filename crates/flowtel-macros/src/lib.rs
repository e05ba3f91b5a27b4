//! Flow-aware span macros checked against the conventions registry at compile time.
//!
//! Use them through the `flowtel` crate, which re-exports them: `#[flowtel::flow]`,
//! `#[flowtel::step]`, `flowtel::flow_span!`, `flowtel::step_span!` and
//! `flowtel::conventions!` and `flowtel::event!`. A flow, step or attribute name that the conventions do not declare
//! does not compile; the error points at the name and suggests the closest declared one:
//!
//! ```text
//! error: unknown flow `chekout`: the conventions at `conventions` declare no such flow
//!        help: did you mean `checkout`?
//!        note: declared flows: `login`, `browse`, `checkout`
//!  --> src/checkout.rs:3:18
//!   |
//! 3 | #[flowtel::flow("chekout")]
//!   |                 ^^^^^^^^^
//! ```
//!
//! # Flows and steps
//!
//! ```ignore
//! #[flowtel::flow("checkout")]
//! async fn checkout(cart: Cart, tier: Tier) -> Result<Receipt, CheckoutError> {
//!     let items = load_cart(&cart, tier).await?;
//!     authorize(&items).await
//! }
//!
//! #[flowtel::step("cart.load", fields(customer.tier = %tier, cart.size = cart.len()))]
//! async fn load_cart(cart: &Cart, tier: Tier) -> Result<Items, CheckoutError> { /* .. */ }
//!
//! #[flowtel::step(flow = "checkout", name = "payment.authorize", fields(user.id = redact(uid)))]
//! fn authorize(uid: &str, items: &Items) -> Result<Authorization, PaymentError> { /* .. */ }
//! ```
//!
//! `#[flow("checkout")]` opens the flow's root span; the runtime (`flowtel::FlowLayer`) puts
//! `flow.name` in the context and in W3C baggage so it follows the work across services.
//! `#[step("cart.load")]` opens a child span carrying `flow.step`; its `flow.name` comes from
//! the enclosing flow at run time, or is fixed when the attribute names the flow
//! (`flow = "checkout"`), in which case the step must be declared under that flow.
//!
//! The spans carry the fields the runtime reads (see the `flowtel` crate): `flowtel.kind`,
//! `flow.name`, `flow.step`, `otel.name` (`"checkout"`, `"checkout payment.authorize"`, or the
//! step name when the flow is not named), `code.function`, `code.namespace`, then `outcome`
//! (`ok`/`error`) and `error.type`, recorded when the function returns. For a `Result`
//! (including aliases such as `io::Result`) an `Err` sets `outcome = "error"` and `error.type` to
//! the error's kind when its type implements `flowtel::ErrorKind`, else its short type name.
//!
//! The attributes work on `fn` and `async fn`, methods, generic functions, `impl Trait` returns
//! and `#[async_trait]` methods. A synchronous function that returns a future (`-> impl Future`)
//! is measured while it builds the future; make it `async fn` to measure the work.
//!
//! # Fields
//!
//! `fields(key = value, ..)` records attributes as `#[tracing::instrument]` does (`%value` with
//! `Display`, `?value` with `Debug`, `key` alone to record later with `Span::record`). Unlike
//! `#[instrument]`, no argument is recorded unless named here: capturing every argument by
//! default is how personal data leaks into traces. Each key must be a declared attribute; a
//! string literal given to an enum attribute must be one of its values; an attribute marked
//! `pii: true` must be written `key = redact(value)` and is then hashed
//! (`redact: hash`, with `flowtel::__private::hash_pii`) or not recorded at all (`redact: drop`).
//!
//! # Blocks
//!
//! ```ignore
//! let items = flowtel::step_span!("cart.load", fields(cart.size = n), { load(n) });
//! let receipt = flowtel::flow_span!("checkout", async move { pay(items).await }).await;
//! ```
//!
//! A block runs at once inside the span (`?` and `return` in it leave the enclosing function, as
//! in any block, and the span then closes without an outcome); an `async` block becomes a
//! future that runs inside the span. Block spans carry no `code.function`. The outcome is read
//! from the block's value where the block ends, so its type must be known there: when it would
//! come only from the surrounding code (`.sum()`, `.collect()`, `Ok(x)` after a `?`), name it
//! in the block (`.sum::<u32>()`, `Ok::<_, MyError>(x)`). Functions have no such limit: their
//! return type says it.
//!
//! # Finding the conventions
//!
//! At compile time the macros read the registry named by the `FLOWTEL_CONVENTIONS` environment
//! variable, else `[package.metadata.flowtel] conventions = "path"` in the crate's
//! `Cargo.toml`, else `flowtel.yaml` or a `conventions/` folder in the crate's folder or a
//! parent. One compiler process reads it once. The expansion includes each registry file with
//! `include_bytes!`, so editing the conventions rebuilds the crates that use them. A missing or
//! invalid registry is reported once, at the first macro of the crate.
//!
//! `flowtel::conventions!()` embeds the same files in the binary and evaluates to a
//! `flowtel::Conventions`, so a service runs with exactly the conventions it was checked against.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod attr;
mod expand;
mod registry;

use proc_macro::TokenStream;
use syn::parse::{ParseStream, Parser};

use attr::{BlockArgs, Kind, SpanArgs};

fn attribute(kind: Kind, args: TokenStream, item: TokenStream) -> TokenStream {
    let item_tokens = proc_macro2::TokenStream::from(item.clone());
    let parsed = (|input: ParseStream<'_>| SpanArgs::parse_for(kind, input, false)).parse(args);
    let args = match parsed {
        Ok(a) => a,
        Err(e) => {
            let e = e.to_compile_error();
            return quote::quote!(#e #[allow(unused_variables)] #item_tokens).into();
        }
    };
    let item = match syn::parse::<expand::MaybeFn>(item) {
        Ok(f) => f,
        Err(_) => {
            let e = syn::Error::new_spanned(
                &item_tokens,
                format!("`#[flowtel::{}]` goes on a function or method", kind.word()),
            )
            .to_compile_error();
            return quote::quote!(#e #item_tokens).into();
        }
    };
    expand::function(args, item).into()
}

fn block(kind: Kind, input: TokenStream) -> TokenStream {
    match (|input: ParseStream<'_>| BlockArgs::parse_for(kind, input)).parse(input) {
        Ok(b) => expand::block(b.args, b.body).into(),
        Err(e) => e.to_compile_error().into(),
    }
}

/// Opens the root span of a business flow declared in the conventions.
///
/// `#[flowtel::flow("checkout")]`, `#[flowtel::flow("checkout", fields(customer.tier = %tier))]`.
/// See the crate documentation for the fields recorded and the checks made.
#[proc_macro_attribute]
pub fn flow(args: TokenStream, item: TokenStream) -> TokenStream {
    attribute(Kind::Flow, args, item)
}

/// Opens the span of a step of a flow declared in the conventions.
///
/// `#[flowtel::step("payment.authorize")]` (the flow comes from the context at run time) or
/// `#[flowtel::step(flow = "checkout", name = "payment.authorize")]` (the step must be declared
/// under that flow), with optional `fields(...)`.
#[proc_macro_attribute]
pub fn step(args: TokenStream, item: TokenStream) -> TokenStream {
    attribute(Kind::Step, args, item)
}

/// Runs a block (or builds a future from an `async` block) inside a flow's root span:
/// `flowtel::flow_span!("checkout", fields(..), { .. })`.
#[proc_macro]
pub fn flow_span(input: TokenStream) -> TokenStream {
    block(Kind::Flow, input)
}

/// Runs a block (or builds a future from an `async` block) inside a step's span:
/// `flowtel::step_span!("cart.load", { .. })`, `step_span!(flow = "checkout", name = "cart.load", async move { .. })`.
#[proc_macro]
pub fn step_span(input: TokenStream) -> TokenStream {
    block(Kind::Step, input)
}

/// The name of a saturation signal, checked at compile time: it must be a metric the
/// conventions declare with a `saturation` limit. Expands to the name as a `&'static str`:
/// `telemetry.saturation(flowtel::saturation!("orders.queue.depth"))`.
#[proc_macro]
pub fn saturation(input: TokenStream) -> TokenStream {
    match syn::parse::<syn::LitStr>(input) {
        Ok(name) => expand::saturation(&name).into(),
        Err(e) => syn::Error::new(
            e.span(),
            "expected the name of a saturation signal: `saturation!(\"orders.queue.depth\")`",
        )
        .to_compile_error()
        .into(),
    }
}

/// Writes a log event declared in the conventions, checked at compile time:
///
/// ```ignore
/// flowtel::event!("payment.declined", payment.decline_reason = "card_expired", order.id = order);
/// flowtel::event!("payment.declined", level = error, payment.decline_reason = reason,
///     user.id = redact(uid), "payment declined after {} attempts", attempts);
/// ```
///
/// The name must be a declared event; each field a declared attribute the event lists
/// (`attributes` or `required_attributes`), every required attribute given, `pii` attributes
/// wrapped in `redact(..)` (hashed or dropped as the conventions say); field values take `%`
/// and `?` as in `tracing`. The level is the event's declared `severity` (`info` when it has
/// none); `level = ..` may raise it, never lower it. A trailing format string and its
/// arguments become the record's body. Each mistake is a compile error with a "did you mean".
///
/// It expands to a `tracing` event named after the declared event, so any `tracing` subscriber
/// sees it; `flowtel::init`'s log layer exports it as an OpenTelemetry log record with that
/// event name, the trace and span ids of the span it is written in, and the flow.
#[proc_macro]
pub fn event(input: TokenStream) -> TokenStream {
    match syn::parse::<attr::EventArgs>(input) {
        Ok(args) => expand::event(args).into(),
        Err(e) => e.to_compile_error().into(),
    }
}

/// The conventions registry the crate was checked against, embedded in the binary:
/// `let conventions: flowtel::Conventions = flowtel::conventions!();`
#[proc_macro]
pub fn conventions(input: TokenStream) -> TokenStream {
    let input = proc_macro2::TokenStream::from(input);
    if !input.is_empty() {
        return syn::Error::new_spanned(input, "`conventions!()` takes no arguments")
            .to_compile_error()
            .into();
    }
    expand::conventions(proc_macro2::Span::call_site()).into()
}
