//! Code generation: typed arguments and a checked registry in, tokens out.
//!
//! This module checks the parsed arguments against the registry (every mistake becomes a
//! `syn::Error` on the user's token, all of them reported together) and writes the span the
//! runtime contract describes: fields `flowtel.kind`, `flow.name`, `flow.step`, `otel.name`,
//! `code.function`, `code.namespace`, `outcome`, `error.type`, then the user's `fields(...)`.
//! At the end of the function or block it records `outcome` and, for an `Err`, `error.type`
//! through the probes in `flowtel::__private`. It never reads raw attribute tokens (see `attr`).

use proc_macro2::{Ident, Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::visit_mut::VisitMut;
use syn::{Attribute, Block, Expr, Lit, ReturnType, Signature, Type, Visibility};

use crate::attr::{Body, EventArgs, Field, FieldValue, Kind, Sigil, SpanArgs};
use crate::registry::{AttributeInfo, Conventions, ENV_VAR, Lookup};
use flowtel_conventions::{AttributeType, LogSeverity, Redaction};

/// Keys the macros record themselves; a user field may not set them.
const RESERVED: &[&str] = &[
    "flowtel.kind",
    "flow.name",
    "flow.step",
    "otel.name",
    "code.function",
    "code.namespace",
    "outcome",
    "error.type",
];

/// A function the attribute is placed on: free function, method or trait default method.
pub(crate) struct MaybeFn {
    attrs: Vec<Attribute>,
    vis: Visibility,
    sig: Signature,
    block: Option<Block>,
    semi: Option<syn::Token![;]>,
}

impl syn::parse::Parse for MaybeFn {
    fn parse(input: syn::parse::ParseStream<'_>) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis: Visibility = input.parse()?;
        let sig: Signature = input.parse()?;
        let (block, semi) = if input.peek(syn::Token![;]) {
            (None, Some(input.parse()?))
        } else {
            (Some(input.parse()?), None)
        };
        Ok(MaybeFn {
            attrs,
            vis,
            sig,
            block,
            semi,
        })
    }
}

impl ToTokens for MaybeFn {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        for a in &self.attrs {
            a.to_tokens(tokens);
        }
        self.vis.to_tokens(tokens);
        self.sig.to_tokens(tokens);
        match &self.block {
            Some(b) => b.to_tokens(tokens),
            None => self.semi.to_tokens(tokens),
        }
    }
}

/// The registry as one expansion sees it.
pub(crate) struct Context {
    conventions: Option<std::sync::Arc<Conventions>>,
    track: bool,
}

impl Context {
    /// Looks the registry up; `Err` carries the one load error to report.
    pub fn lookup(at: Span) -> Result<Self, syn::Error> {
        match crate::registry::lookup() {
            Lookup::Found { conventions, track } => Ok(Context {
                conventions: Some(conventions),
                track,
            }),
            Lookup::Unusable(Some(message)) => Err(syn::Error::new(at, message)),
            Lookup::Unusable(None) => Ok(Context {
                conventions: None,
                track: false,
            }),
        }
    }

    /// `const _` items that make cargo rebuild when the registry or `FLOWTEL_CONVENTIONS`
    /// changes (emitted by the first expansion of the process only).
    fn tracking(&self) -> TokenStream {
        let Some(c) = self.conventions.as_ref().filter(|_| self.track) else {
            return TokenStream::new();
        };
        let files = c.files.iter().filter_map(|f| f.to_str());
        quote! {
            const _: () = {
                #( let _ = ::core::include_bytes!(#files); )*
                let _ = ::core::option_env!(#ENV_VAR);
            };
        }
    }
}

fn tracing_path() -> TokenStream {
    quote!(::flowtel::__private::tracing)
}

fn local(name: &str) -> Ident {
    Ident::new(name, Span::mixed_site())
}

/// What checking produced: statements to run before the span and the span expression.
struct SpanCode {
    pre: TokenStream,
    span: TokenStream,
}

/// Checks the arguments against the registry and builds the span expression.
fn span_code(args: &SpanArgs, ctx: &Context, function: Option<&str>) -> syn::Result<SpanCode> {
    let mut errors: Option<syn::Error> = None;
    let mut push = |e: syn::Error| match &mut errors {
        Some(all) => all.combine(e),
        None => errors = Some(e),
    };
    if let Some(c) = &ctx.conventions {
        let checked = match args.kind {
            Kind::Flow => c.flow(&args.name.value, args.name.span),
            Kind::Step => c.step(
                &args.name.value,
                args.name.span,
                args.flow.as_ref().map(|f| (f.value.as_str(), f.span)),
            ),
        };
        if let Err(e) = checked {
            push(e);
        }
    }
    let span_name = match (args.kind, &args.flow) {
        (Kind::Step, Some(flow)) => format!("{} {}", flow.value, args.name.value),
        _ => args.name.value.clone(),
    };
    if let Some(c) = &ctx.conventions
        && let Err(e) = c.span_name(&span_name, args.name.span)
    {
        push(e);
    }

    let tr = tracing_path();
    let mut pre = TokenStream::new();
    let mut user = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for field in &args.fields {
        let key = field.key.value.as_str();
        if RESERVED.contains(&key) {
            push(field.key.error(format!(
                "`{key}` is recorded by `#[flowtel::{}]` itself; remove it from `fields(...)`",
                args.kind.word()
            )));
            continue;
        }
        if seen.contains(&key) {
            push(field.key.error(format!("field `{key}` is given twice")));
            continue;
        }
        seen.push(key);
        let info = match &ctx.conventions {
            Some(c) => match c.attribute(&field.key) {
                Ok(info) => Some(info),
                Err(e) => {
                    push(e);
                    continue;
                }
            },
            None => None,
        };
        match field_code(field, info, &tr) {
            Ok(FieldCode::Record(k, v)) => user.push((k, v)),
            Ok(FieldCode::Evaluate(tokens)) => pre.extend(tokens),
            Err(e) => push(e),
        }
    }
    if let Some(e) = errors {
        return Err(e);
    }

    let (target, kind) = match args.kind {
        Kind::Flow => ("flowtel::flow", "flow"),
        Kind::Step => ("flowtel::step", "step"),
    };
    let text = |s: &str| Some(quote!(&#s));
    let mut fields: Vec<(String, Option<TokenStream>)> = vec![("flowtel.kind".into(), text(kind))];
    match args.kind {
        Kind::Flow => fields.push(("flow.name".into(), text(&args.name.value))),
        Kind::Step => {
            fields.push(("flow.step".into(), text(&args.name.value)));
            let flow = args.flow.as_ref().and_then(|f| text(&f.value));
            fields.push(("flow.name".into(), flow));
        }
    }
    fields.push(("otel.name".into(), text(&span_name)));
    if let Some(f) = function {
        fields.push(("code.function".into(), text(f)));
    }
    fields.push((
        "code.namespace".into(),
        Some(quote!(&::core::module_path!())),
    ));
    fields.push(("outcome".into(), None));
    fields.push(("error.type".into(), None));
    fields.extend(user);
    let span = span_expr(target, &span_name, &fields);
    Ok(SpanCode { pre, span })
}

/// Builds a span at INFO with these fields (`None`: declared, recorded later), the way
/// `tracing::span!` does, but written out here: `span!`'s recursive `macro_rules` cost grows
/// with the number of fields and dominated the compile time of annotated crates. Only
/// `tracing`'s public API is used; the field list is known here, so the static metadata is
/// emitted directly. Never panics: a field set that did not match (it cannot) gives a disabled
/// span.
fn span_expr(target: &str, name: &str, fields: &[(String, Option<TokenStream>)]) -> TokenStream {
    let tr = tracing_path();
    let names: Vec<&str> = fields.iter().map(|(n, _)| n.as_str()).collect();
    let values: Vec<Option<TokenStream>> = fields.iter().map(|(_, v)| v.clone()).collect();
    callsite_expr(
        Callsite {
            name,
            target: quote!(#target),
            level: quote!(#tr::Level::INFO),
            kind: quote!(#tr::metadata::Kind::SPAN),
            names: &names,
            values: &values,
        },
        |meta, value_set| quote!(#tr::Span::new(#meta, #value_set)),
        |meta| quote!(#tr::Span::new_disabled(#meta)),
    )
}

/// What a callsite written out by [`callsite_expr`] is made of.
struct Callsite<'a> {
    name: &'a str,
    target: TokenStream,
    level: TokenStream,
    kind: TokenStream,
    /// Field names, in order.
    names: &'a [&'a str],
    /// Each field's value (`None`: declared, recorded later).
    values: &'a [Option<TokenStream>],
}

/// A `tracing` callsite written out with only `tracing`'s public API: the static metadata and
/// callsite, the interest and level checks, then `enabled(metadata, value_set)` when the
/// subscriber wants it and `disabled(metadata)` otherwise (also for a field set that did not
/// match, which it cannot).
fn callsite_expr(
    c: Callsite<'_>,
    enabled: impl FnOnce(TokenStream, TokenStream) -> TokenStream,
    disabled: impl Fn(TokenStream) -> TokenStream,
) -> TokenStream {
    let tr = tracing_path();
    let Callsite {
        name,
        target,
        level,
        kind,
        names,
        values,
    } = c;
    let idents: Vec<Ident> = (0..names.len())
        .map(|i| Ident::new(&format!("__flowtel_f{i}"), Span::mixed_site()))
        .collect();
    let pairs = values.iter().zip(&idents).map(|(v, id)| match v {
        Some(v) => quote!((&#id, ::core::option::Option::Some(#v as &dyn #tr::field::Value))),
        None => quote!((&#id, ::core::option::Option::None)),
    });
    let nexts = idents.iter().map(|_| quote!(__flowtel_it.next()));
    let somes = idents
        .iter()
        .map(|id| quote!(::core::option::Option::Some(#id)));
    let hit = enabled(
        quote!(__flowtel_meta),
        quote!(&__flowtel_fields.value_set(&[#(#pairs),*])),
    );
    let miss = disabled(quote!(__flowtel_meta));
    let off = disabled(quote!(__FLOWTEL_CALLSITE.metadata()));
    quote! {{
        use #tr::callsite::Callsite as _;
        static __FLOWTEL_META: #tr::Metadata<'static> = #tr::Metadata::new(
            #name,
            #target,
            #level,
            ::core::option::Option::Some(::core::file!()),
            ::core::option::Option::Some(::core::line!()),
            ::core::option::Option::Some(::core::module_path!()),
            #tr::field::FieldSet::new(
                &[#(#names),*],
                #tr::callsite::Identifier(&__FLOWTEL_CALLSITE),
            ),
            #kind,
        );
        static __FLOWTEL_CALLSITE: #tr::callsite::DefaultCallsite =
            #tr::callsite::DefaultCallsite::new(&__FLOWTEL_META);
        let mut __flowtel_interest = #tr::subscriber::Interest::never();
        if #level <= #tr::level_filters::STATIC_MAX_LEVEL
            && #level <= #tr::level_filters::LevelFilter::current()
            && {
                __flowtel_interest = __FLOWTEL_CALLSITE.interest();
                !__flowtel_interest.is_never()
            }
            && (__flowtel_interest.is_always()
                || #tr::dispatcher::get_default(|d| d.enabled(__FLOWTEL_CALLSITE.metadata())))
        {
            let __flowtel_meta = __FLOWTEL_CALLSITE.metadata();
            let __flowtel_fields = __flowtel_meta.fields();
            let mut __flowtel_it = __flowtel_fields.iter();
            #[allow(clippy::match_single_binding)]
            match (#(#nexts,)*) {
                (#(#somes,)*) => #hit,
                #[allow(unreachable_patterns)]
                _ => #miss,
            }
        } else {
            #off
        }
    }}
}

enum FieldCode {
    /// A span field and its value (`None`: declared, recorded later).
    Record(String, Option<TokenStream>),
    /// Statements evaluated instead of recording (a dropped PII value).
    Evaluate(TokenStream),
}

fn field_code(
    field: &Field,
    info: Option<&AttributeInfo>,
    tr: &TokenStream,
) -> syn::Result<FieldCode> {
    let key = field.key.value.as_str();
    let pii = info.is_some_and(|i| i.pii);
    match &field.value {
        FieldValue::Empty => {
            if pii {
                return Err(field.key.error(format!(
                    "`{key}` is personal data (`pii: true` in the conventions): it must be given \
                         a value wrapped in `redact(...)`, e.g. `{key} = redact(value)`, so it is \
                         never recorded in clear"
                )));
            }
            Ok(FieldCode::Record(key.to_string(), None))
        }
        FieldValue::Plain { sigil, expr } => {
            if pii {
                return Err(syn::Error::new_spanned(
                    expr,
                    format!(
                        "`{key}` is personal data (`pii: true` in the conventions) and cannot be \
                         recorded in clear\n\
                         help: wrap the value: `{key} = redact({})`",
                        expr.to_token_stream()
                    ),
                ));
            }
            if let Some(info) = info {
                check_literal(key, info, expr)?;
            }
            let value = match sigil {
                Some(Sigil::Display(s)) => quote_spanned!(*s=> &#tr::field::display(&(#expr))),
                Some(Sigil::Debug(s)) => quote_spanned!(*s=> &#tr::field::debug(&(#expr))),
                None => quote!(&(#expr)),
            };
            Ok(FieldCode::Record(key.to_string(), Some(value)))
        }
        FieldValue::Redact { keyword, expr } => {
            let Some(info) = info else {
                // No registry to say how: never record the value.
                return Ok(FieldCode::Evaluate(quote!(let _ = &(#expr);)));
            };
            if !info.pii {
                return Err(syn::Error::new(
                    *keyword,
                    format!(
                        "`{key}` is not personal data in the conventions, so `redact(...)` would \
                         hide it for nothing\n\
                         help: record it directly: `{key} = {}`; or mark the attribute `pii: true`",
                        expr.to_token_stream()
                    ),
                ));
            }
            Ok(match info.redact {
                Redaction::Hash => FieldCode::Record(
                    key.to_string(),
                    Some(quote!(&#tr::field::display(::flowtel::__private::hash_pii(&(#expr))))),
                ),
                Redaction::Drop => FieldCode::Evaluate(quote!(let _ = &(#expr);)),
            })
        }
    }
}

/// Checks a literal value against the attribute's declared type and enum values.
fn check_literal(key: &str, info: &AttributeInfo, expr: &Expr) -> syn::Result<()> {
    let lit = match expr {
        Expr::Lit(l) => &l.lit,
        Expr::Unary(u) if matches!(u.op, syn::UnOp::Neg(_)) => match &*u.expr {
            Expr::Lit(l) => &l.lit,
            _ => return Ok(()),
        },
        _ => return Ok(()),
    };
    let found = match lit {
        Lit::Str(_) => "a string",
        Lit::Int(_) => "an integer",
        Lit::Float(_) => "a float",
        Lit::Bool(_) => "a boolean",
        _ => return Ok(()),
    };
    let fits = match info.ty {
        AttributeType::String | AttributeType::Enum => matches!(lit, Lit::Str(_)),
        AttributeType::Int => matches!(lit, Lit::Int(_)),
        AttributeType::Double => matches!(lit, Lit::Int(_) | Lit::Float(_)),
        AttributeType::Bool => matches!(lit, Lit::Bool(_)),
        _ => true,
    };
    if !fits {
        return Err(syn::Error::new_spanned(
            expr,
            format!(
                "`{key}` is declared `type: {}` in the conventions, but this value is {found}",
                info.ty.as_str()
            ),
        ));
    }
    if let (AttributeType::Enum, Lit::Str(s)) = (info.ty, lit) {
        let value = s.value();
        if !info.values.contains(&value) {
            let listed: Vec<String> = info.values.iter().map(|v| format!("`{v}`")).collect();
            let hint = flowtel_conventions::finding::did_you_mean(
                &value,
                info.values.iter().map(String::as_str),
            )
            .map(|c| format!("\nhelp: did you mean `{c}`?"))
            .unwrap_or_default();
            return Err(syn::Error::new(
                s.span(),
                format!(
                    "`{value}` is not a value of `{key}`: expected one of {}{hint}",
                    listed.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// Tokens that compute `Option<&'static str>`: the error type of `value` when it is an `Err`.
fn error_type_of(value: &Ident) -> TokenStream {
    quote! {{
        #[allow(unused_imports)]
        use ::flowtel::__private::{KindProbe as _, PlainProbe as _, TypeNameProbe as _};
        (&&::flowtel::__private::Probe(&#value)).flowtel_error_type()
    }}
}

/// Replaces `impl Trait` with `_` so a return type can annotate a local.
struct ImplToInfer;

impl VisitMut for ImplToInfer {
    fn visit_type_mut(&mut self, ty: &mut Type) {
        if let Type::ImplTrait(i) = ty {
            *ty = Type::Infer(syn::TypeInfer {
                underscore_token: syn::Token![_](i.impl_token.span),
            });
            return;
        }
        syn::visit_mut::visit_type_mut(self, ty);
    }
}

fn local_type(ret: &ReturnType) -> TokenStream {
    match ret {
        ReturnType::Default => quote!(()),
        ReturnType::Type(_, ty) => {
            let mut ty = (**ty).clone();
            ImplToInfer.visit_type_mut(&mut ty);
            ty.to_token_stream()
        }
    }
}

/// The `Output = X` of an `async_trait` return type, `Pin<Box<dyn Future<Output = X> + ..>>`.
fn future_output(ret: &ReturnType) -> Option<Type> {
    struct Find(Option<Type>);
    impl<'a> syn::visit::Visit<'a> for Find {
        fn visit_assoc_type(&mut self, a: &'a syn::AssocType) {
            if self.0.is_none() && a.ident == "Output" {
                self.0 = Some(a.ty.clone());
            }
        }
    }
    let ReturnType::Type(_, ty) = ret else {
        return None;
    };
    let mut f = Find(None);
    syn::visit::visit_type(&mut f, ty);
    f.0
}

/// Finds the `Box::pin(async move { .. })` that `#[async_trait]` makes of a method body.
fn async_trait_body(block: &mut Block) -> Option<&mut Expr> {
    let last = block.stmts.last_mut()?;
    let syn::Stmt::Expr(Expr::Call(call), None) = last else {
        return None;
    };
    let Expr::Path(p) = &*call.func else {
        return None;
    };
    let segs: Vec<String> = p
        .path
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect();
    let n = segs.len();
    if n < 2 || segs[n - 1] != "pin" || segs[n - 2] != "Box" || call.args.len() != 1 {
        return None;
    }
    let arg = call.args.first_mut()?;
    matches!(arg, Expr::Async(_)).then_some(arg)
}

/// Expands `#[flow]` / `#[step]` on a function.
pub(crate) fn function(args: SpanArgs, mut item: MaybeFn) -> TokenStream {
    let Some(mut block) = item.block.take() else {
        return error_with(
            syn::Error::new_spanned(
                &item.sig,
                format!(
                    "`#[flowtel::{}]` needs a function body; put it on the implementation, not the \
                     declaration",
                    args.kind.word()
                ),
            ),
            &item,
        );
    };
    if let Some(c) = &item.sig.constness {
        item.block = Some(block);
        return error_with(
            syn::Error::new(
                c.span,
                format!(
                    "`#[flowtel::{}]` cannot instrument a `const fn`: spans exist only at run time",
                    args.kind.word()
                ),
            ),
            &item,
        );
    }
    let ctx = match Context::lookup(args.name.span) {
        Ok(ctx) => ctx,
        Err(e) => {
            item.block = Some(block);
            return error_with(e, &item);
        }
    };
    let function = item.sig.ident.unraw_string();
    let code = match span_code(&args, &ctx, Some(&function)) {
        Ok(code) => code,
        Err(e) => {
            item.block = Some(block);
            return error_with(e, &item);
        }
    };
    let track = ctx.tracking();
    let SpanCode { pre, span } = code;
    let tr = tracing_path();
    let (s, guard, fut, ret) = (
        local("__flowtel_span"),
        local("__flowtel_guard"),
        local("__flowtel_fut"),
        local("__flowtel_ret"),
    );
    let record = |span_ref: TokenStream| {
        let et = error_type_of(&ret);
        quote!(::flowtel::__private::record_outcome(#span_ref, #et);)
    };

    let body = if item.sig.asyncness.is_some() {
        let ty = local_type(&item.sig.output);
        let rec = record(quote!(#fut.span()));
        quote! {{
            #track
            #pre
            let #s = #span;
            let mut #fut = ::core::pin::pin!(#tr::Instrument::instrument(async move #block, #s));
            let #ret: #ty = #fut.as_mut().await;
            #rec
            #ret
        }}
    } else if let Some(inner) = async_trait_body(&mut block) {
        let ty = future_output(&item.sig.output)
            .map(|t| {
                let mut t = t;
                ImplToInfer.visit_type_mut(&mut t);
                t.to_token_stream()
            })
            .unwrap_or_else(|| quote!(_));
        let rec = record(quote!(#fut.span()));
        let original = inner.clone();
        *inner = syn::parse_quote! {
            async move {
                let mut #fut = ::core::pin::pin!(#tr::Instrument::instrument(#original, #s));
                let #ret: #ty = #fut.as_mut().await;
                #rec
                #ret
            }
        };
        let stmts = &block.stmts;
        quote! {{
            #track
            #pre
            let #s = #span;
            #(#stmts)*
        }}
    } else {
        let ty = local_type(&item.sig.output);
        let rec = record(quote!(&#s));
        quote! {{
            #track
            #pre
            let #s = #span;
            let #guard = #s.enter();
            #[allow(clippy::redundant_closure_call)]
            let #ret: #ty = (move || #block)();
            #rec
            ::core::mem::drop(#guard);
            #ret
        }}
    };
    let MaybeFn {
        attrs, vis, sig, ..
    } = item;
    quote! {
        #(#attrs)*
        #vis #sig #body
    }
}

/// Expands `flow_span!` / `step_span!`.
pub(crate) fn block(args: SpanArgs, body: Body) -> TokenStream {
    let ctx = match Context::lookup(args.name.span) {
        Ok(ctx) => ctx,
        Err(e) => return block_error(e, &body),
    };
    let SpanCode { pre, span } = match span_code(&args, &ctx, None) {
        Ok(code) => code,
        Err(e) => return block_error(e, &body),
    };
    let track = ctx.tracking();
    let tr = tracing_path();
    let (s, guard, fut, ret, inner) = (
        local("__flowtel_span"),
        local("__flowtel_guard"),
        local("__flowtel_fut"),
        local("__flowtel_ret"),
        local("__flowtel_inner"),
    );
    let et = error_type_of(&ret);
    match body {
        Body::Block(b) => quote! {{
            #track
            #pre
            let #s = #span;
            let #guard = #s.enter();
            let #ret = #b;
            ::flowtel::__private::record_outcome(&#s, #et);
            ::core::mem::drop(#guard);
            #ret
        }},
        Body::Async(a) => quote! {{
            #track
            #pre
            let #s = #span;
            let #inner = #a;
            async move {
                let mut #fut = ::core::pin::pin!(#tr::Instrument::instrument(#inner, #s));
                let #ret = #fut.as_mut().await;
                ::flowtel::__private::record_outcome(#fut.span(), #et);
                #ret
            }
        }},
    }
}

/// Keys the runtime adds to an event's record from its context; `event!` may not set them.
const EVENT_RESERVED: &[&str] = &["flow.name", "flow.step", "event.name"];

/// Expands `event!`: checks the event, its level and fields against the registry and writes
/// a `tracing` event named after it (the name the log bridge exports as the record's event name).
pub(crate) fn event(args: EventArgs) -> TokenStream {
    let ctx = match Context::lookup(args.name.span) {
        Ok(ctx) => ctx,
        Err(e) => return event_error(e, &args),
    };
    match event_code(&args, &ctx) {
        Ok(code) => {
            let track = ctx.tracking();
            quote!({ #track #code })
        }
        Err(e) => event_error(e, &args),
    }
}

/// The error, and the values named so that no `unused_variables` noise hides it: a closure
/// that is never called refers to them.
fn event_error(e: syn::Error, args: &EventArgs) -> TokenStream {
    let e = e.to_compile_error();
    let exprs = args.fields.iter().filter_map(|f| match &f.value {
        FieldValue::Empty => None,
        FieldValue::Plain { expr, .. } | FieldValue::Redact { expr, .. } => Some(expr),
    });
    let message = args
        .message
        .as_ref()
        .map(|m| quote!(let _ = || ::core::format_args!(#m);));
    quote!({ #e; let _ = || { #( let _ = &(#exprs); )* }; #message })
}

fn level_of(ident: &Ident) -> syn::Result<LogSeverity> {
    let word = ident.to_string().to_ascii_lowercase();
    match word.as_str() {
        "trace" => Ok(LogSeverity::Trace),
        "debug" => Ok(LogSeverity::Debug),
        "info" => Ok(LogSeverity::Info),
        "warn" => Ok(LogSeverity::Warn),
        "error" => Ok(LogSeverity::Error),
        _ => Err(syn::Error::new(
            ident.span(),
            format!(
                "unknown level `{ident}`: expected `trace`, `debug`, `info`, `warn` or `error`"
            ),
        )),
    }
}

fn level_tokens(level: LogSeverity) -> TokenStream {
    let tr = tracing_path();
    let name = match level {
        LogSeverity::Trace => "TRACE",
        LogSeverity::Debug => "DEBUG",
        LogSeverity::Info => "INFO",
        LogSeverity::Warn => "WARN",
        LogSeverity::Error | LogSeverity::Fatal => "ERROR",
    };
    let name = Ident::new(name, Span::call_site());
    quote!(#tr::Level::#name)
}

fn event_code(args: &EventArgs, ctx: &Context) -> syn::Result<TokenStream> {
    let mut errors: Option<syn::Error> = None;
    let mut push = |e: syn::Error| match &mut errors {
        Some(all) => all.combine(e),
        None => errors = Some(e),
    };
    let name = args.name.value.as_str();
    let event = match &ctx.conventions {
        Some(c) => match c.event(name, args.name.span) {
            Ok(info) => Some(info),
            Err(e) => {
                push(e);
                None
            }
        },
        None => None,
    };
    let declared = event.and_then(|e| e.severity);
    let level = match &args.level {
        Some(ident) => match level_of(ident) {
            Ok(level) => {
                if let Some(min) = declared.filter(|min| level < *min) {
                    push(syn::Error::new(
                        ident.span(),
                        format!(
                            "event `{name}` is declared `severity: {}` in the conventions; `level = {}` is below it, and log pipelines filtering by severity would drop it\n\
                             help: write it at `{}` or above, or leave `level` out",
                            min.as_str(),
                            level.as_str(),
                            min.as_str(),
                        ),
                    ));
                }
                level
            }
            Err(e) => {
                push(e);
                LogSeverity::Info
            }
        },
        None => match declared {
            Some(LogSeverity::Fatal) => {
                push(syn::Error::new(
                    args.name.span,
                    format!(
                        "event `{name}` is declared `severity: fatal`, which a `tracing` event cannot be written at (its highest level is `error`)\n\
                         help: declare the event `severity: error`"
                    ),
                ));
                LogSeverity::Error
            }
            Some(s) => s,
            None => LogSeverity::Info,
        },
    };

    let tr = tracing_path();
    let mut pre = TokenStream::new();
    let mut values = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for field in &args.fields {
        let key = field.key.value.as_str();
        if EVENT_RESERVED.contains(&key) {
            push(field.key.error(format!(
                "`{key}` is added to the record by flowtel from the event's context; remove it"
            )));
            continue;
        }
        if seen.contains(&key) {
            push(field.key.error(format!("field `{key}` is given twice")));
            continue;
        }
        seen.push(key);
        let info = match (&ctx.conventions, event) {
            (Some(c), Some(e)) => match c.event_attribute(name, e, &field.key) {
                Ok(info) => Some(info),
                Err(err) => {
                    push(err);
                    continue;
                }
            },
            (Some(c), None) => match c.attribute(&field.key) {
                Ok(info) => Some(info),
                Err(err) => {
                    push(err);
                    continue;
                }
            },
            _ => None,
        };
        match field_code(field, info, &tr) {
            Ok(FieldCode::Record(k, Some(v))) => values.push((k, v)),
            Ok(FieldCode::Record(_, None)) => {}
            Ok(FieldCode::Evaluate(tokens)) => pre.extend(tokens),
            Err(e) => push(e),
        }
    }
    if let Some(e) = event {
        let missing: Vec<&str> = e
            .required
            .iter()
            .map(String::as_str)
            .filter(|r| !seen.contains(r))
            .collect();
        if !missing.is_empty() {
            let fields: Vec<String> = missing.iter().map(|m| format!("`{m} = ..`")).collect();
            push(syn::Error::new(
                args.name.span,
                format!(
                    "event `{name}` requires attribute{} {} in the conventions\n\
                     help: add {}",
                    if missing.len() > 1 { "s" } else { "" },
                    list(missing.iter().copied()),
                    fields.join(", "),
                ),
            ));
        }
    }
    if let Some(e) = errors {
        return Err(e);
    }
    let event = event_expr(name, level_tokens(level), &values, args.message.as_ref());
    Ok(quote!(#pre #event))
}

fn list<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    let names: Vec<String> = names.into_iter().map(|n| format!("`{n}`")).collect();
    names.join(", ")
}

/// Dispatches an event at `level` with these fields and message, the way `tracing::event!`
/// does, written out as `span_expr` is (see there why), with `Kind::EVENT` metadata named
/// after the declared event.
fn event_expr(
    name: &str,
    level: TokenStream,
    fields: &[(String, TokenStream)],
    message: Option<&TokenStream>,
) -> TokenStream {
    let tr = tracing_path();
    let mut names: Vec<&str> = fields.iter().map(|(n, _)| n.as_str()).collect();
    let mut values: Vec<Option<TokenStream>> =
        fields.iter().map(|(_, v)| Some(v.clone())).collect();
    if let Some(m) = message {
        names.push("message");
        values.push(Some(quote!(&::core::format_args!(#m))));
    }
    callsite_expr(
        Callsite {
            name,
            target: quote!(::core::module_path!()),
            level,
            kind: quote!(#tr::metadata::Kind::EVENT),
            names: &names,
            values: &values,
        },
        |meta, value_set| quote!(#tr::Event::dispatch(#meta, #value_set)),
        |_| quote!({}),
    )
}

/// Expands `conventions!()`: the registry's files embedded in the binary.
/// `saturation!("name")`: the name as a `&'static str` once checked to be a declared
/// saturation signal.
pub(crate) fn saturation(name: &syn::LitStr) -> TokenStream {
    let ctx = match Context::lookup(name.span()) {
        Ok(ctx) => ctx,
        Err(e) => {
            let e = e.to_compile_error();
            return quote!({ #e; #name });
        }
    };
    if let Some(c) = &ctx.conventions
        && let Err(e) = c.saturation(&name.value(), name.span())
    {
        let e = e.to_compile_error();
        return quote!({ #e; #name });
    }
    let track = ctx.tracking();
    quote!({ #track #name })
}

pub(crate) fn conventions(at: Span) -> TokenStream {
    let ctx = match Context::lookup(at) {
        Ok(ctx) => ctx,
        Err(e) => {
            let e = e.to_compile_error();
            return quote!({ #e; ::flowtel::__private::embedded("", &[]) });
        }
    };
    let Some(c) = &ctx.conventions else {
        return quote!(::flowtel::__private::embedded("", &[]));
    };
    let root = &c.embed.root;
    let files = c.embed.files.iter().filter_map(|(name, abs)| {
        let abs = abs.to_str()?;
        Some(quote!((#name, ::core::include_str!(#abs))))
    });
    quote!(::flowtel::__private::embedded(#root, &[#(#files),*]))
}

/// The error, and the item as written so that no follow-on errors hide it. Values named only in
/// `fields(...)` are not evaluated then, so `unused_variables` would add noise to the one error.
fn error_with(e: syn::Error, item: &MaybeFn) -> TokenStream {
    let e = e.to_compile_error();
    quote!(#e #[allow(unused_variables)] #item)
}

fn block_error(e: syn::Error, body: &Body) -> TokenStream {
    let e = e.to_compile_error();
    match body {
        Body::Block(b) => quote!({ #e; #[allow(unused_braces)] let v = #b; v }),
        Body::Async(a) => quote!({ #e; #a }),
    }
}

trait UnrawString {
    fn unraw_string(&self) -> String;
}

impl UnrawString for Ident {
    fn unraw_string(&self) -> String {
        let s = self.to_string();
        s.strip_prefix("r#").map(str::to_string).unwrap_or(s)
    }
}
