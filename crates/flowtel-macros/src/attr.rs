//! Parsing of the macros' arguments into typed structs.
//!
//! `#[flow(..)]`, `#[step(..)]`, `flow_span!(..)` and `step_span!(..)` share one grammar:
//! a name (positional string, or `name = ".."`), for steps an optional `flow = ".."`, and an
//! optional `fields(key = value, ..)`. Parsing only reads tokens and reports syntax mistakes on
//! the user's token; it knows nothing of the registry and emits no code (see `expand`).

use proc_macro2::Span;
use quote::ToTokens;
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Expr, Ident, LitStr, Token, parenthesized};

/// Whether the macro opens a flow or a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Flow,
    Step,
}

impl Kind {
    pub fn word(self) -> &'static str {
        match self {
            Kind::Flow => "flow",
            Kind::Step => "step",
        }
    }
}

/// A string argument (or dotted key) and where it was written.
#[derive(Debug, Clone)]
pub(crate) struct Named {
    pub value: String,
    /// Where it starts.
    pub span: Span,
    /// Where it ends, for names written as several tokens (`customer.tier`).
    pub end: Span,
}

impl Named {
    /// An error underlining the whole name.
    pub fn error(&self, message: impl std::fmt::Display) -> syn::Error {
        let mut first = proc_macro2::Ident::new("x", self.span).into_token_stream();
        first.extend(proc_macro2::Ident::new("x", self.end).into_token_stream());
        syn::Error::new_spanned(first, message)
    }
}

impl From<LitStr> for Named {
    fn from(lit: LitStr) -> Self {
        Named {
            value: lit.value(),
            span: lit.span(),
            end: lit.span(),
        }
    }
}

/// The arguments of a flow or step macro.
pub(crate) struct SpanArgs {
    pub kind: Kind,
    /// The flow name (for `flow`) or the step name (for `step`).
    pub name: Named,
    /// The flow a step belongs to, when named.
    pub flow: Option<Named>,
    /// The user's `fields(...)`, in order.
    pub fields: Vec<Field>,
}

/// One `fields(...)` entry.
pub(crate) struct Field {
    pub key: Named,
    pub value: FieldValue,
}

/// How a field's value is written.
pub(crate) enum FieldValue {
    /// `key`: declared now, recorded later with `Span::record`.
    Empty,
    /// `key = expr`, `key = %expr`, `key = ?expr`.
    Plain { sigil: Option<Sigil>, expr: Expr },
    /// `key = redact(expr)`: personal data, hashed or dropped as the registry says.
    Redact { keyword: Span, expr: Expr },
}

/// `%` (record with `Display`) or `?` (record with `Debug`).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Sigil {
    Display(Span),
    Debug(Span),
}

impl SpanArgs {
    /// Parses the arguments of a `kind` macro; `end` says where they stop (`None`: at the end of
    /// the input; `Some`: before the trailing block of `flow_span!`/`step_span!`).
    pub fn parse_for(kind: Kind, input: ParseStream<'_>, block_follows: bool) -> syn::Result<Self> {
        let start = input.span();
        let mut name: Option<Named> = None;
        let mut flow: Option<Named> = None;
        let mut fields: Option<Vec<Field>> = None;
        let done = |input: ParseStream<'_>| {
            input.is_empty()
                || (block_follows && (input.peek(syn::token::Brace) || input.peek(Token![async])))
        };
        while !done(input) {
            if input.peek(LitStr) {
                let lit: LitStr = input.parse()?;
                if name.is_some() {
                    return Err(syn::Error::new(
                        lit.span(),
                        format!(
                            "expected only one {} name; the {} is already named",
                            kind.word(),
                            kind.word()
                        ),
                    ));
                }
                name = Some(lit.into());
            } else {
                let ident = Ident::parse_any(input)
                    .map_err(|e| syn::Error::new(e.span(), expected_argument(kind)))?;
                match ident.to_string().as_str() {
                    "name" => {
                        let lit = string_value(input, &ident)?;
                        if name.is_some() {
                            return Err(syn::Error::new(
                                ident.span(),
                                format!("expected only one {} name", kind.word()),
                            ));
                        }
                        name = Some(lit.into());
                    }
                    "flow" if kind == Kind::Step => {
                        let lit = string_value(input, &ident)?;
                        if flow.is_some() {
                            return Err(syn::Error::new(ident.span(), "expected only one `flow`"));
                        }
                        flow = Some(lit.into());
                    }
                    "fields" => {
                        if fields.is_some() {
                            return Err(syn::Error::new(
                                ident.span(),
                                "expected only one `fields(...)`; list every field in it",
                            ));
                        }
                        let content;
                        parenthesized!(content in input);
                        let list = Punctuated::<Field, Token![,]>::parse_terminated(&content)?;
                        fields = Some(list.into_iter().collect());
                    }
                    _ => {
                        return Err(syn::Error::new(ident.span(), {
                            let mut m =
                                format!("unknown argument `{ident}`; {}", expected_argument(kind));
                            if kind == Kind::Flow && ident == "flow" {
                                m.push_str("\nhelp: a flow is named by its first argument: `#[flowtel::flow(\"checkout\")]`");
                            }
                            m
                        }));
                    }
                }
            }
            if done(input) {
                break;
            }
            input
                .parse::<Token![,]>()
                .map_err(|e| syn::Error::new(e.span(), "expected `,` between arguments"))?;
        }
        let name = name.ok_or_else(|| {
            let example = match kind {
                Kind::Flow => "#[flowtel::flow(\"checkout\")]",
                Kind::Step => "#[flowtel::step(\"payment.authorize\")]",
            };
            syn::Error::new(
                start,
                format!(
                    "expected the {} name as declared in the conventions, e.g. `{example}`",
                    kind.word()
                ),
            )
        })?;
        Ok(SpanArgs {
            kind,
            name,
            flow,
            fields: fields.unwrap_or_default(),
        })
    }
}

fn expected_argument(kind: Kind) -> String {
    match kind {
        Kind::Flow => "expected the flow name (a string), `name = \"..\"` or `fields(..)`".into(),
        Kind::Step => {
            "expected the step name (a string), `name = \"..\"`, `flow = \"..\"` or `fields(..)`"
                .into()
        }
    }
}

fn string_value(input: ParseStream<'_>, ident: &Ident) -> syn::Result<LitStr> {
    input
        .parse::<Token![=]>()
        .map_err(|e| syn::Error::new(e.span(), format!("expected `=` after `{ident}`")))?;
    input.parse::<LitStr>().map_err(|e| {
        syn::Error::new(
            e.span(),
            format!("expected a string literal for `{ident}`, e.g. `{ident} = \"checkout\"`"),
        )
    })
}

impl Parse for Field {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let key = if input.peek(LitStr) {
            Named::from(input.parse::<LitStr>()?)
        } else {
            let first = Ident::parse_any(input).map_err(|e| {
                syn::Error::new(
                    e.span(),
                    "expected a field: `attribute.key = value`, e.g. `fields(customer.tier = tier)`",
                )
            })?;
            let mut value = first.unraw().to_string();
            let span = first.span();
            let mut end = span;
            while input.peek(Token![.]) {
                input.parse::<Token![.]>()?;
                let part = Ident::parse_any(input).map_err(|e| {
                    syn::Error::new(e.span(), "expected the next part of a dotted attribute key")
                })?;
                value.push('.');
                value.push_str(&part.unraw().to_string());
                end = part.span();
            }
            Named { value, span, end }
        };
        if !input.peek(Token![=]) {
            return Ok(Field {
                key,
                value: FieldValue::Empty,
            });
        }
        input.parse::<Token![=]>()?;
        if input.peek(Ident) && input.peek2(syn::token::Paren) {
            let fork = input.fork();
            let ident: Ident = fork.parse()?;
            if ident == "redact" {
                input.parse::<Ident>()?;
                let content;
                parenthesized!(content in input);
                let expr: Expr = content.parse()?;
                if !content.is_empty() {
                    return Err(content.error("expected one expression inside `redact(...)`"));
                }
                return Ok(Field {
                    key,
                    value: FieldValue::Redact {
                        keyword: ident.span(),
                        expr,
                    },
                });
            }
        }
        let sigil = if input.peek(Token![%]) {
            Some(Sigil::Display(input.parse::<Token![%]>()?.span))
        } else if input.peek(Token![?]) {
            Some(Sigil::Debug(input.parse::<Token![?]>()?.span))
        } else {
            None
        };
        let expr: Expr = input.parse().map_err(|e| {
            syn::Error::new(
                e.span(),
                format!("expected a value for field `{}`", key.value),
            )
        })?;
        Ok(Field {
            key,
            value: FieldValue::Plain { sigil, expr },
        })
    }
}

/// The arguments of `event!`: the event's name, an optional `level = ..`, its fields, then an
/// optional message (a format string and its arguments, as in `tracing::event!`).
pub(crate) struct EventArgs {
    /// The event name as declared in the conventions.
    pub name: Named,
    /// `level = warn`: the level written at, when not the declared severity.
    pub level: Option<Ident>,
    /// The fields, in order.
    pub fields: Vec<Field>,
    /// The message: a format string literal and its arguments.
    pub message: Option<proc_macro2::TokenStream>,
}

impl Parse for EventArgs {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let name: LitStr = input.parse().map_err(|e| {
            syn::Error::new(
                e.span(),
                "expected the event name as declared in the conventions, e.g. \
                 `flowtel::event!(\"payment.declined\", payment.decline_reason = reason)`",
            )
        })?;
        let mut level: Option<Ident> = None;
        let mut fields = Vec::new();
        let mut message = None;
        while !input.is_empty() {
            input
                .parse::<Token![,]>()
                .map_err(|e| syn::Error::new(e.span(), "expected `,` between arguments"))?;
            if input.is_empty() {
                break;
            }
            if input.peek(LitStr) && !input.peek2(Token![=]) {
                // The message: the format string and whatever follows, verbatim.
                message = Some(input.parse()?);
                break;
            }
            if input.peek(Ident) && input.peek2(Token![=]) && !input.peek3(Token![=]) {
                let fork = input.fork();
                let ident: Ident = fork.parse()?;
                if ident == "level" {
                    input.parse::<Ident>()?;
                    input.parse::<Token![=]>()?;
                    let path: syn::Path = input.parse().map_err(|e| {
                        syn::Error::new(
                            e.span(),
                            "expected a level: `trace`, `debug`, `info`, `warn` or `error`",
                        )
                    })?;
                    let last = path.segments.last().map(|s| s.ident.clone());
                    let Some(last) = last else {
                        return Err(syn::Error::new_spanned(path, "expected a level"));
                    };
                    if level.is_some() {
                        return Err(syn::Error::new(ident.span(), "expected only one `level`"));
                    }
                    level = Some(last);
                    continue;
                }
            }
            let field: Field = input.parse()?;
            if matches!(field.value, FieldValue::Empty) {
                return Err(field.key.error(format!(
                    "expected a value for `{}`: an event is written at once, so every field needs \
                     one, e.g. `{} = value`",
                    field.key.value, field.key.value
                )));
            }
            fields.push(field);
        }
        Ok(EventArgs {
            name: name.into(),
            level,
            fields,
            message,
        })
    }
}

/// The arguments of `flow_span!`/`step_span!`: macro arguments, then the block to run.
pub(crate) struct BlockArgs {
    pub args: SpanArgs,
    pub body: Body,
}

/// The block of `flow_span!`/`step_span!`.
pub(crate) enum Body {
    /// `{ ... }`: run now, inside the span.
    Block(syn::ExprBlock),
    /// `async { ... }` / `async move { ... }`: a future that runs inside the span.
    Async(syn::ExprAsync),
}

impl BlockArgs {
    pub fn parse_for(kind: Kind, input: ParseStream<'_>) -> syn::Result<Self> {
        let args = SpanArgs::parse_for(kind, input, true)?;
        let expected = || {
            syn::Error::new(
                input.span(),
                format!(
                    "expected a block after the arguments: `{}_span!(\"..\", {{ ... }})` or \
                     `{}_span!(\"..\", async move {{ ... }})`",
                    kind.word(),
                    kind.word()
                ),
            )
        };
        if input.is_empty() {
            return Err(expected());
        }
        let body = if input.peek(Token![async]) {
            Body::Async(input.parse()?)
        } else if input.peek(syn::token::Brace) {
            Body::Block(input.parse()?)
        } else {
            return Err(expected());
        };
        if !input.is_empty() {
            return Err(input.error("expected nothing after the block"));
        }
        Ok(BlockArgs { args, body })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse::Parser;

    fn parse(kind: Kind, tokens: proc_macro2::TokenStream) -> syn::Result<SpanArgs> {
        (|input: ParseStream<'_>| SpanArgs::parse_for(kind, input, false)).parse2(tokens)
    }

    #[test]
    fn positional_and_named_forms() {
        let Ok(a) = parse(Kind::Step, quote::quote!("cart.load")) else {
            panic!("parses")
        };
        assert_eq!(a.name.value, "cart.load");
        assert!(a.flow.is_none());
        let Ok(a) = parse(
            Kind::Step,
            quote::quote!(flow = "checkout", name = "payment.authorize", fields(customer.tier = %tier, order.id, user.id = redact(uid))),
        ) else {
            panic!("parses")
        };
        assert_eq!(a.flow.unwrap().value, "checkout");
        assert_eq!(a.name.value, "payment.authorize");
        let keys: Vec<_> = a.fields.iter().map(|f| f.key.value.as_str()).collect();
        assert_eq!(keys, ["customer.tier", "order.id", "user.id"]);
        assert!(matches!(
            a.fields[0].value,
            FieldValue::Plain {
                sigil: Some(Sigil::Display(_)),
                ..
            }
        ));
        assert!(matches!(a.fields[1].value, FieldValue::Empty));
        assert!(matches!(a.fields[2].value, FieldValue::Redact { .. }));
    }

    fn error(kind: Kind, tokens: proc_macro2::TokenStream) -> String {
        match parse(kind, tokens) {
            Ok(_) => panic!("expected a parse error"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn mistakes_say_what_was_expected() {
        let e = error(Kind::Flow, quote::quote!());
        assert!(e.contains("expected the flow name"), "{e}");
        let e = error(Kind::Flow, quote::quote!("a", "b"));
        assert!(e.contains("expected only one flow name"), "{e}");
        let e = error(Kind::Flow, quote::quote!("a", flow = "b"));
        assert!(e.contains("unknown argument `flow`"), "{e}");
        let e = error(Kind::Step, quote::quote!(name = checkout));
        assert!(e.contains("expected a string literal for `name`"), "{e}");
    }
}
