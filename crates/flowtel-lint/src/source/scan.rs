//! Finding telemetry names in one Rust file's syntax tree.
//!
//! A `syn::visit` pass collects every [`Use`] of a name: span names and field keys of `tracing`
//! macros and `#[instrument]`, OpenTelemetry instrument constructors (with `.with_unit(..)`)
//! and `KeyValue::new` keys, and the `metrics` crate's macros with their label keys. It only
//! reads syntax and knows nothing of the registry; [`super::lint_source`] judges the uses. Macro
//! bodies are token streams, so the macro grammars are read at token level, tolerantly: what
//! does not look like a name is skipped, never reported.

use flowtel_conventions::Instrument;
use proc_macro2::{Delimiter, Span, TokenStream, TokenTree};
use syn::visit::Visit;

/// Where a name was written: 1-based line and column of its first and past-its-last character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pos {
    /// 1-based line.
    pub line: u32,
    /// 1-based column (characters).
    pub column: u32,
    /// 1-based line of the end.
    pub end_line: u32,
    /// 1-based column just past the end.
    pub end_column: u32,
}

impl Pos {
    fn of(span: Span) -> Pos {
        let (s, e) = (span.start(), span.end());
        Pos {
            line: s.line as u32,
            column: s.column as u32 + 1,
            end_line: e.line as u32,
            end_column: e.column as u32 + 1,
        }
    }
}

/// One name written in source, and how it is used.
#[derive(Debug, Clone, PartialEq)]
pub struct Use {
    /// The name as written (string literal value or dotted identifiers).
    pub name: String,
    /// Where.
    pub pos: Pos,
    /// What the name is.
    pub kind: UseKind,
}

/// What a name in source is used as.
#[derive(Debug, Clone, PartialEq)]
pub enum UseKind {
    /// A metric created with an instrument constructor or a `metrics` macro.
    Metric {
        /// The instrument the call creates.
        instrument: Instrument,
        /// The constructor or macro (`u64_counter`, `counter!`), for messages.
        via: String,
    },
    /// A label key of a `metrics` macro for a metric.
    MetricLabel {
        /// The metric name.
        metric: String,
    },
    /// A unit given to an instrument builder with `.with_unit(..)`.
    Unit {
        /// The metric name.
        metric: String,
    },
    /// An attribute key: a span or event field, a `KeyValue::new` key.
    Attribute {
        /// Where it appeared (`info_span!`, `KeyValue::new`, `#[instrument]`), for messages.
        via: String,
    },
    /// A `tracing` event that names a log event (`name: "payment.declined"` or an
    /// `event.name = "payment.declined"` field); the use's name is the event's.
    Event {
        /// The macro (`warn!`, `event!`), for messages.
        via: String,
        /// The level written at (`warn`), when the macro says it literally.
        level: Option<String>,
        /// The keys of the event's fields and where each is written.
        fields: Vec<(String, Pos)>,
    },
    /// A literal span name.
    SpanName {
        /// The macro or attribute (`info_span!`, `#[instrument]`).
        via: String,
    },
}

/// Every use of a name in a parsed file, in source order.
pub fn scan(file: &syn::File) -> Vec<Use> {
    let mut v = Scanner { uses: Vec::new() };
    v.visit_file(file);
    // A builder chain is visited outside-in; report in reading order.
    v.uses.sort_by_key(|u| (u.pos.line, u.pos.column));
    v.uses
}

struct Scanner {
    uses: Vec<Use>,
}

impl Scanner {
    fn push(&mut self, name: String, span: Span, kind: UseKind) {
        self.uses.push(Use {
            name,
            pos: Pos::of(span),
            kind,
        });
    }

    fn attributes(&mut self, attrs: &[syn::Attribute]) {
        for attr in attrs {
            let Some(last) = attr.path().segments.last() else {
                continue;
            };
            if last.ident != "instrument" {
                continue;
            }
            let syn::Meta::List(list) = &attr.meta else {
                continue;
            };
            for segment in split_commas(list.tokens.clone()) {
                match segment.as_slice() {
                    [
                        TokenTree::Ident(i),
                        TokenTree::Punct(eq),
                        TokenTree::Literal(lit),
                        ..,
                    ] if i == "name" && eq.as_char() == '=' => {
                        if let Some(name) = string_literal(lit) {
                            self.push(
                                name,
                                lit.span(),
                                UseKind::SpanName {
                                    via: "#[instrument]".into(),
                                },
                            );
                        }
                    }
                    [TokenTree::Ident(i), TokenTree::Group(g)]
                        if i == "fields" && g.delimiter() == Delimiter::Parenthesis =>
                    {
                        for field in split_commas(g.stream()) {
                            self.field(&field, "#[instrument]");
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    /// One `tracing` field: `a.b = v`, `"a.b" = v`, `?a.b`, `%a.b`, `a.b`.
    fn field(&mut self, tokens: &[TokenTree], via: &str) {
        let mut rest = tokens;
        if let Some(TokenTree::Punct(p)) = rest.first()
            && matches!(p.as_char(), '?' | '%')
        {
            rest = &rest[1..];
        }
        let key_len = rest
            .iter()
            .position(|t| matches!(t, TokenTree::Punct(p) if p.as_char() == '='))
            .unwrap_or(rest.len());
        if let Some((name, span)) = key(&rest[..key_len])
            && name != "message"
            && !name.starts_with("otel.")
        {
            self.push(name, span, UseKind::Attribute { via: via.into() });
        }
    }

    fn tracing_macro(&mut self, name: &str, tokens: TokenStream) {
        let is_span = name.ends_with("span");
        let via = format!("{name}!");
        let mut seen_name = false;
        // For events: the log event named, the level, and the field keys.
        let mut event: Option<(String, Span)> = None;
        let mut level = match name {
            "info" | "debug" | "trace" | "warn" | "error" => Some(name.to_string()),
            _ => None,
        };
        let mut keys: Vec<(String, Pos)> = Vec::new();
        // Arguments after the `label: ..` ones: the first is the level of `span!`/`event!`.
        let mut i = 0;
        for segment in split_commas(tokens) {
            let labelled = matches!(segment.as_slice(), [TokenTree::Ident(_), TokenTree::Punct(p), ..] if p.as_char() == ':' && !is_path(&segment));
            let first = i == 0;
            if !labelled {
                i += 1;
            }
            match segment.as_slice() {
                // `name: "payment.declined"` names an event's log event.
                [
                    TokenTree::Ident(label),
                    TokenTree::Punct(p),
                    TokenTree::Literal(lit),
                ] if !is_span && label == "name" && p.as_char() == ':' => {
                    event = string_literal(lit).map(|n| (n, lit.span()));
                }
                // `target: ..`, `parent: ..`, `name: ..`
                [TokenTree::Ident(_), TokenTree::Punct(p), ..]
                    if p.as_char() == ':' && !is_path(&segment) => {}
                // The level of `event!` / `span!`.
                _ if first && name == "event" && !starts_with_literal(&segment) => {
                    level = segment.iter().rev().find_map(|t| match t {
                        TokenTree::Ident(l) => Some(l.to_string().to_ascii_lowercase()),
                        _ => None,
                    });
                }
                _ if first && name == "span" && !starts_with_literal(&segment) => {}
                [TokenTree::Literal(lit)] if !seen_name => {
                    seen_name = true;
                    if is_span {
                        if let Some(n) = string_literal(lit) {
                            self.push(n, lit.span(), UseKind::SpanName { via: via.clone() });
                        }
                    } else {
                        // An event's message: what follows are format arguments.
                        break;
                    }
                }
                // `{ a.b } = v` and other forms are left alone; a plain field:
                _ if has_assignment(&segment) || is_bare_field(&segment) => {
                    if !is_span && let Some((key, span, value)) = field_key(&segment) {
                        if key == "event.name" {
                            // It names the event (checked as such), not an attribute to declare.
                            if let [TokenTree::Literal(lit)] = value
                                && let Some(n) = string_literal(lit)
                            {
                                event = Some((n, lit.span()));
                            }
                            continue;
                        }
                        keys.push((key, Pos::of(span)));
                    }
                    self.field(&segment, &via)
                }
                _ => {}
            }
        }
        if let Some((event, span)) = event {
            self.push(
                event,
                span,
                UseKind::Event {
                    via,
                    level,
                    fields: keys,
                },
            );
        }
    }

    fn metrics_macro(&mut self, name: &str, tokens: TokenStream) {
        let instrument = match name {
            "counter" => Instrument::Counter,
            "histogram" => Instrument::Histogram,
            _ => Instrument::Gauge,
        };
        let mut segments = split_commas(tokens).into_iter();
        let Some(first) = segments.next() else {
            return;
        };
        let metric = match first.as_slice() {
            [TokenTree::Literal(lit)] => match string_literal(lit) {
                Some(m) => {
                    self.push(
                        m.clone(),
                        lit.span(),
                        UseKind::Metric {
                            instrument,
                            via: format!("{name}!"),
                        },
                    );
                    m
                }
                None => return,
            },
            _ => return,
        };
        for segment in segments {
            if let [
                TokenTree::Literal(lit),
                TokenTree::Punct(a),
                TokenTree::Punct(b),
                ..,
            ] = segment.as_slice()
                && a.as_char() == '='
                && b.as_char() == '>'
                && let Some(label) = string_literal(lit)
            {
                self.push(
                    label.clone(),
                    lit.span(),
                    UseKind::MetricLabel {
                        metric: metric.clone(),
                    },
                );
                self.push(
                    label,
                    lit.span(),
                    UseKind::Attribute {
                        via: format!("{name}!"),
                    },
                );
            }
        }
    }
}

impl<'ast> Visit<'ast> for Scanner {
    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        self.attributes(&f.attrs);
        syn::visit::visit_item_fn(self, f);
    }

    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        self.attributes(&f.attrs);
        syn::visit::visit_impl_item_fn(self, f);
    }

    fn visit_trait_item_fn(&mut self, f: &'ast syn::TraitItemFn) {
        self.attributes(&f.attrs);
        syn::visit::visit_trait_item_fn(self, f);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        let Some(last) = mac.path.segments.last() else {
            return;
        };
        let name = last.ident.to_string();
        let qualified = mac.path.segments.len() > 1;
        let root = mac
            .path
            .segments
            .first()
            .map(|s| s.ident.to_string())
            .unwrap_or_default();
        match name.as_str() {
            "span" | "info_span" | "debug_span" | "trace_span" | "warn_span" | "error_span"
            | "event" | "info" | "debug" | "trace" | "warn" | "error"
                if !qualified || root == "tracing" =>
            {
                self.tracing_macro(&name, mac.tokens.clone());
            }
            "counter" | "histogram" | "gauge" if !qualified || root == "metrics" => {
                self.metrics_macro(&name, mac.tokens.clone());
            }
            _ => {
                // Macros we do not know (`vec!`, `format!`, user macros) may hold expressions
                // with names in them: read them as expressions when they parse as such.
                if let Ok(args) = mac.parse_body_with(
                    syn::punctuated::Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated,
                ) {
                    for e in &args {
                        self.visit_expr(e);
                    }
                }
            }
        }
    }

    fn visit_expr_method_call(&mut self, call: &'ast syn::ExprMethodCall) {
        let method = call.method.to_string();
        if let Some(instrument) = instrument_of(&method)
            && let Some((name, span)) = first_string_arg(&call.args)
        {
            self.push(
                name,
                span,
                UseKind::Metric {
                    instrument,
                    via: method.clone(),
                },
            );
        }
        if method == "with_unit"
            && let Some((unit, span)) = first_string_arg(&call.args)
            && let Some(metric) = builder_metric(&call.receiver)
        {
            self.push(unit, span, UseKind::Unit { metric });
        }
        syn::visit::visit_expr_method_call(self, call);
    }

    fn visit_expr_call(&mut self, call: &'ast syn::ExprCall) {
        if let syn::Expr::Path(p) = &*call.func {
            let segs: Vec<String> = p
                .path
                .segments
                .iter()
                .map(|s| s.ident.to_string())
                .collect();
            let n = segs.len();
            let is_key = n >= 2
                && ((segs[n - 2] == "KeyValue" && segs[n - 1] == "new")
                    || (segs[n - 2] == "Key"
                        && (segs[n - 1] == "new" || segs[n - 1] == "from_static_str")));
            if is_key && let Some((name, span)) = first_string_arg(&call.args) {
                self.push(
                    name,
                    span,
                    UseKind::Attribute {
                        via: format!("{}::{}", segs[n - 2], segs[n - 1]),
                    },
                );
            }
        }
        syn::visit::visit_expr_call(self, call);
    }
}

/// The instrument an OpenTelemetry `Meter` method creates.
fn instrument_of(method: &str) -> Option<Instrument> {
    let kind = method
        .strip_prefix("u64_")
        .or_else(|| method.strip_prefix("i64_"))
        .or_else(|| method.strip_prefix("f64_"))?;
    let kind = kind.strip_prefix("observable_").unwrap_or(kind);
    match kind {
        "counter" => Some(Instrument::Counter),
        "up_down_counter" => Some(Instrument::UpdownCounter),
        "histogram" => Some(Instrument::Histogram),
        "gauge" => Some(Instrument::Gauge),
        _ => None,
    }
}

/// The metric name of an instrument builder chain (`meter.f64_histogram("x").with_description(..)`).
fn builder_metric(mut expr: &syn::Expr) -> Option<String> {
    loop {
        match expr {
            syn::Expr::MethodCall(m) => {
                if instrument_of(&m.method.to_string()).is_some() {
                    return first_string_arg(&m.args).map(|(n, _)| n);
                }
                expr = &m.receiver;
            }
            syn::Expr::Paren(p) => expr = &p.expr,
            _ => return None,
        }
    }
}

fn first_string_arg(
    args: &syn::punctuated::Punctuated<syn::Expr, syn::Token![,]>,
) -> Option<(String, Span)> {
    match args.first()? {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(s),
            ..
        }) => Some((s.value(), s.span())),
        _ => None,
    }
}

/// Splits a token stream at top-level commas.
fn split_commas(tokens: TokenStream) -> Vec<Vec<TokenTree>> {
    let mut out = vec![Vec::new()];
    for t in tokens {
        match &t {
            TokenTree::Punct(p) if p.as_char() == ',' => out.push(Vec::new()),
            _ => out.last_mut().map(|s| s.push(t)).unwrap_or(()),
        }
    }
    out.retain(|s| !s.is_empty());
    out
}

/// The key of a field (`?a.b = v`, `a.b`), its span, and the value's tokens (empty for `a.b`).
fn field_key(tokens: &[TokenTree]) -> Option<(String, Span, &[TokenTree])> {
    let rest = match tokens.first() {
        Some(TokenTree::Punct(p)) if matches!(p.as_char(), '?' | '%') => &tokens[1..],
        _ => tokens,
    };
    let key_len = rest
        .iter()
        .position(|t| matches!(t, TokenTree::Punct(p) if p.as_char() == '='))
        .unwrap_or(rest.len());
    let (name, span) = key(&rest[..key_len])?;
    let value = rest.get(key_len + 1..).unwrap_or_default();
    Some((name, span, value))
}

/// The key of a field: dotted identifiers or one string literal, with its span.
fn key(tokens: &[TokenTree]) -> Option<(String, Span)> {
    match tokens {
        [TokenTree::Literal(lit)] => string_literal(lit).map(|s| (s, lit.span())),
        [TokenTree::Ident(first), rest @ ..] => {
            let mut name = unraw(first);
            let mut end = first.span();
            let mut expect_dot = true;
            for t in rest {
                match (t, expect_dot) {
                    (TokenTree::Punct(p), true) if p.as_char() == '.' => {}
                    (TokenTree::Ident(i), false) => {
                        name.push('.');
                        name.push_str(&unraw(i));
                        end = i.span();
                    }
                    _ => return None,
                }
                expect_dot = !expect_dot;
            }
            if !expect_dot {
                return None;
            }
            let span = first.span().join(end).unwrap_or(first.span());
            Some((name, span))
        }
        _ => None,
    }
}

fn unraw(i: &proc_macro2::Ident) -> String {
    let s = i.to_string();
    s.strip_prefix("r#").map(str::to_string).unwrap_or(s)
}

fn string_literal(lit: &proc_macro2::Literal) -> Option<String> {
    let parsed: syn::LitStr = syn::parse_str(&lit.to_string()).ok()?;
    Some(parsed.value())
}

fn has_assignment(tokens: &[TokenTree]) -> bool {
    tokens.iter().enumerate().any(|(i, t)| match t {
        TokenTree::Punct(p) if p.as_char() == '=' => {
            // Not `==`, `=>`, `<=`, `>=`, `!=`.
            let next = tokens.get(i + 1);
            let prev = i.checked_sub(1).and_then(|j| tokens.get(j));
            !matches!(next, Some(TokenTree::Punct(n)) if matches!(n.as_char(), '=' | '>'))
                && !matches!(prev, Some(TokenTree::Punct(q)) if matches!(q.as_char(), '=' | '<' | '>' | '!'))
        }
        _ => false,
    })
}

/// `a.b`, `?a.b`, `%a` as a whole field (shorthand for `a.b = a.b`).
fn is_bare_field(tokens: &[TokenTree]) -> bool {
    let rest = match tokens.first() {
        Some(TokenTree::Punct(p)) if matches!(p.as_char(), '?' | '%') => &tokens[1..],
        _ => tokens,
    };
    matches!(rest.first(), Some(TokenTree::Ident(_))) && key(rest).is_some()
}

fn starts_with_literal(tokens: &[TokenTree]) -> bool {
    matches!(tokens.first(), Some(TokenTree::Literal(_)))
}

/// `a::b` starts with an identifier followed by `::`, not a `name:` label.
fn is_path(tokens: &[TokenTree]) -> bool {
    matches!(tokens.get(1), Some(TokenTree::Punct(p)) if p.as_char() == ':' && p.spacing() == proc_macro2::Spacing::Joint)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uses(src: &str) -> Vec<(String, String)> {
        let file = syn::parse_file(src).expect("parses");
        scan(&file)
            .into_iter()
            .map(|u| {
                let kind = match u.kind {
                    UseKind::Metric { via, .. } => format!("metric {via}"),
                    UseKind::MetricLabel { metric } => format!("label of {metric}"),
                    UseKind::Unit { metric } => format!("unit of {metric}"),
                    UseKind::Attribute { via } => format!("attribute {via}"),
                    UseKind::SpanName { via } => format!("span {via}"),
                    UseKind::Event { via, level, fields } => {
                        let keys: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
                        format!("event {via} {level:?} {keys:?}")
                    }
                };
                (u.name, kind)
            })
            .collect()
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn tracing_spans_events_and_instrument() {
        let src = r#"
            #[tracing::instrument(name = "cart.load", skip(db), fields(cart.size = n, otel.kind = "server"))]
            fn load(db: Db, n: usize) {
                let s = tracing::info_span!(target: "shop", "checkout", customer.tier = %tier, "order.id" = id, ?user.id);
                let t = span!(Level::DEBUG, "payment.authorize", retry.count);
                info!(http.route = "/x", "loaded {} items in {:?}", n, elapsed);
                error!("no fields here: {}", a == b);
            }
        "#;
        assert_eq!(
            uses(src),
            pairs(&[
                ("cart.load", "span #[instrument]"),
                ("cart.size", "attribute #[instrument]"),
                ("checkout", "span info_span!"),
                ("customer.tier", "attribute info_span!"),
                ("order.id", "attribute info_span!"),
                ("user.id", "attribute info_span!"),
                ("payment.authorize", "span span!"),
                ("retry.count", "attribute span!"),
                ("http.route", "attribute info!"),
            ])
        );
    }

    #[test]
    fn opentelemetry_instruments_units_and_keys() {
        let src = r#"
            fn init(meter: Meter) {
                let h = meter.f64_histogram("flow.step.duration").with_description("x").with_unit("ms").build();
                let c = meter.u64_observable_counter("flow.requests").build();
                h.record(1.0, &[KeyValue::new("flow.name", "checkout"), opentelemetry::KeyValue::new("user.id", uid)]);
                let v = vec![meter.i64_up_down_counter("active.sessions")];
            }
        "#;
        assert_eq!(
            uses(src),
            pairs(&[
                ("flow.step.duration", "metric f64_histogram"),
                ("ms", "unit of flow.step.duration"),
                ("flow.requests", "metric u64_observable_counter"),
                ("flow.name", "attribute KeyValue::new"),
                ("user.id", "attribute KeyValue::new"),
                ("active.sessions", "metric i64_up_down_counter"),
            ])
        );
    }

    #[test]
    fn metrics_crate_macros_with_labels() {
        let src = r#"
            fn f() {
                metrics::counter!("flow.requests", "flow.name" => "checkout", "outcome" => o).increment(1);
                histogram!("flow.duration").record(0.1);
                gauge!(name_in_a_variable).set(1.0);
            }
        "#;
        assert_eq!(
            uses(src),
            pairs(&[
                ("flow.requests", "metric counter!"),
                ("flow.name", "label of flow.requests"),
                ("flow.name", "attribute counter!"),
                ("outcome", "label of flow.requests"),
                ("outcome", "attribute counter!"),
                ("flow.duration", "metric histogram!"),
            ])
        );
    }

    #[test]
    fn tracing_events_that_name_a_log_event() {
        let src = r#"
            fn f() {
                tracing::warn!(name: "payment.declined", payment.decline_reason = "card_expired", ?order.id, "declined {}", x);
                event!(Level::ERROR, event.name = "payment.declined", retry.count = 2);
                tracing::event!(name: "cart.saved", tracing::Level::INFO, cart.size = n);
                info!("no event name: {}", a);
            }
        "#;
        assert_eq!(
            uses(src),
            pairs(&[
                (
                    "payment.declined",
                    r#"event warn! Some("warn") ["payment.decline_reason", "order.id"]"#
                ),
                ("payment.decline_reason", "attribute warn!"),
                ("order.id", "attribute warn!"),
                (
                    "payment.declined",
                    r#"event event! Some("error") ["retry.count"]"#
                ),
                ("retry.count", "attribute event!"),
                ("cart.saved", r#"event event! Some("info") ["cart.size"]"#),
                ("cart.size", "attribute event!"),
            ])
        );
    }

    #[test]
    fn positions_are_one_based_lines_and_columns() {
        let file =
            syn::parse_file("fn f() {\n    let c = meter.u64_counter(\"x.y\");\n}\n").unwrap();
        let u = &scan(&file)[0];
        assert_eq!(
            u.pos,
            Pos {
                line: 2,
                column: 31,
                end_line: 2,
                end_column: 36
            }
        );
    }
}
