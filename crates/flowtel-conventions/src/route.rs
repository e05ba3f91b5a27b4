//! Entry routes of flows: `METHOD /route`, parsed once into [`EntryRoute`].
//!
//! A flow's `entry` list names the HTTP requests that start it. The text is parsed when the
//! registry is decoded, so validation (`FT0022 malformed-entry-route`), the server middleware
//! (which maps a request's matched route to its flow) and trace analysis (which matches raw
//! paths) read one typed value instead of splitting strings each on its own. Route templates use
//! axum 0.8's syntax: `{id}` for a segment, `{*rest}` for the rest of the path. The axum 0.7 forms
//! `:id` and `*rest` are errors with the 0.8 spelling as the fix, since a router would match them
//! literally and the flow would never start.

use std::borrow::Borrow;
use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// HTTP methods an entry route may start with.
pub const HTTP_METHODS: &[&str] = &[
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
];

/// One `entry` of a flow, as written and as parsed. Decoding never fails: a malformed entry
/// keeps its text and the reason, which validation reports with its position.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub struct EntryRoute {
    text: String,
    parsed: Result<(&'static str, RouteTemplate), RouteError>,
}

/// A route template in axum 0.8 syntax: `/orders/{id}`, `/files/{*path}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RouteTemplate {
    text: String,
    segments: Vec<Segment>,
}

/// One `/`-separated segment of a [`RouteTemplate`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Segment {
    /// Literal text (it may contain parameters inside the segment, `{id}.json`).
    Static(String),
    /// `{name}`: any one segment.
    Param(String),
    /// `{*name}`: the rest of the path; only last.
    CatchAll(String),
}

/// Why an entry route is not `METHOD /route`, and the corrected entry when one is known.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RouteError {
    /// What is wrong, for a finding's message.
    pub message: String,
    /// The entry as it should be written, when the mistake has one obvious fix.
    pub fix: Option<String>,
}

impl fmt::Display for RouteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl EntryRoute {
    /// Parses `text` (`POST /checkout/{id}`); never fails, see [`EntryRoute::parsed`].
    pub fn new(text: impl Into<String>) -> Self {
        let text = text.into();
        let parsed = parse(&text);
        EntryRoute { text, parsed }
    }

    /// The entry exactly as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The method and template, or why the entry is malformed.
    pub fn parsed(&self) -> Result<(&'static str, &RouteTemplate), &RouteError> {
        match &self.parsed {
            Ok((m, r)) => Ok((m, r)),
            Err(e) => Err(e),
        }
    }

    /// The HTTP method (upper case), when the entry is well formed.
    pub fn method(&self) -> Option<&'static str> {
        self.parsed().ok().map(|(m, _)| m)
    }

    /// The route template, when the entry is well formed.
    pub fn route(&self) -> Option<&RouteTemplate> {
        self.parsed().ok().map(|(_, r)| r)
    }

    /// The method and the template with parameter names left out (`POST /orders/{}`): two
    /// entries with one shape match the same requests.
    pub fn shape(&self) -> Option<String> {
        let (method, route) = self.parsed().ok()?;
        Some(format!("{method} {}", route.shape()))
    }

    /// Whether a request `method path` (a raw path, no query) is one this entry starts.
    pub fn matches(&self, method: &str, path: &str) -> bool {
        self.parsed()
            .is_ok_and(|(m, r)| m.eq_ignore_ascii_case(method) && r.matches(path))
    }
}

impl RouteTemplate {
    /// The template as written (`/orders/{id}`): what a router reports as the matched route.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The template's segments, after the leading `/`.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// The template with parameter names left out: `/orders/{}`, `/files/{*}`.
    pub fn shape(&self) -> String {
        let mut out = String::new();
        for s in &self.segments {
            out.push('/');
            match s {
                Segment::Static(t) => out.push_str(t),
                Segment::Param(_) => out.push_str("{}"),
                Segment::CatchAll(_) => out.push_str("{*}"),
            }
        }
        if out.is_empty() {
            out.push('/');
        }
        out
    }

    /// Whether a raw request path matches the template (a trailing `/` is ignored).
    pub fn matches(&self, path: &str) -> bool {
        let path = path.strip_prefix('/').unwrap_or(path);
        let path = path.strip_suffix('/').unwrap_or(path);
        let mut got = path.split('/');
        for want in &self.segments {
            match want {
                Segment::CatchAll(_) => return true,
                Segment::Param(_) => {
                    if got.next().is_none_or(str::is_empty) {
                        return false;
                    }
                }
                Segment::Static(t) => {
                    if got.next() != Some(t.as_str()) {
                        return false;
                    }
                }
            }
        }
        got.next()
            .is_none_or(|rest| rest.is_empty() && self.segments.is_empty())
    }
}

fn parse(text: &str) -> Result<(&'static str, RouteTemplate), RouteError> {
    let err = |message: String| RouteError { message, fix: None };
    let (method, route) = text
        .trim()
        .split_once(' ')
        .ok_or_else(|| err("expected `METHOD /route`".into()))?;
    let method = match HTTP_METHODS.iter().find(|m| **m == method) {
        Some(m) => *m,
        None => {
            let mut e = err(format!("`{method}` is not an HTTP method"));
            if let Some(m) = HTTP_METHODS.iter().find(|m| m.eq_ignore_ascii_case(method)) {
                e.fix = Some(format!("{m} {}", route.trim()));
            }
            return Err(e);
        }
    };
    let route = route.trim();
    if !route.starts_with('/') {
        return Err(err(format!("route `{route}` must start with `/`")));
    }
    let raw: Vec<&str> = route[1..].split('/').collect();
    let raw = if raw == [""] { &[][..] } else { &raw[..] };
    let mut segments = Vec::with_capacity(raw.len());
    let mut legacy = false;
    for (i, seg) in raw.iter().enumerate() {
        let last = i + 1 == raw.len();
        if let Some(name) = seg.strip_prefix(':') {
            legacy = true;
            segments.push(Segment::Param(name.to_owned()));
        } else if let Some(name) = seg.strip_prefix('*') {
            legacy = true;
            segments.push(Segment::CatchAll(name.to_owned()));
        } else if let Some(inner) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}'))
            && !inner.contains(['{', '}'])
        {
            match inner.strip_prefix('*') {
                Some(name) => segments.push(Segment::CatchAll(name.to_owned())),
                None => segments.push(Segment::Param(inner.to_owned())),
            }
        } else {
            check_braces(seg).map_err(|m| err(format!("route `{route}`: {m}")))?;
            segments.push(Segment::Static((*seg).to_owned()));
        }
        match segments.last() {
            Some(Segment::Param(n) | Segment::CatchAll(n)) if n.is_empty() => {
                return Err(err(format!(
                    "route `{route}`: a parameter needs a name (`{{id}}`)"
                )));
            }
            Some(Segment::CatchAll(_)) if !last => {
                return Err(err(format!(
                    "route `{route}`: a catch-all `{{*rest}}` must be the last segment"
                )));
            }
            _ => {}
        }
    }
    let template = RouteTemplate {
        text: route.to_owned(),
        segments,
    };
    if legacy {
        let fixed = template.axum_08();
        return Err(RouteError {
            message: format!(
                "route `{route}` uses axum 0.7 syntax (`:name`, `*name`), which axum 0.8 \
                 matches literally: the flow would never start"
            ),
            fix: Some(format!("{method} {fixed}")),
        });
    }
    Ok((method, template))
}

impl RouteTemplate {
    /// The template written in axum 0.8 syntax.
    fn axum_08(&self) -> String {
        let mut out = String::new();
        for s in &self.segments {
            out.push('/');
            match s {
                Segment::Static(t) => out.push_str(t),
                Segment::Param(n) => out.push_str(&format!("{{{n}}}")),
                Segment::CatchAll(n) => out.push_str(&format!("{{*{n}}}")),
            }
        }
        if out.is_empty() {
            out.push('/');
        }
        out
    }
}

/// A literal segment may hold `{param}`s inside it and `{{`/`}}` escapes, but no stray brace.
fn check_braces(seg: &str) -> Result<(), String> {
    let mut open = false;
    let mut chars = seg.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, open) {
            ('{', false) if chars.peek() == Some(&'{') => {
                chars.next();
            }
            ('}', false) if chars.peek() == Some(&'}') => {
                chars.next();
            }
            ('{', false) => open = true,
            ('}', true) => open = false,
            ('{', true) | ('}', false) => return Err(format!("unbalanced brace in `{seg}`")),
            _ => {}
        }
    }
    if open {
        return Err(format!("unclosed `{{` in `{seg}`"));
    }
    Ok(())
}

impl From<String> for EntryRoute {
    fn from(text: String) -> Self {
        EntryRoute::new(text)
    }
}

impl From<&str> for EntryRoute {
    fn from(text: &str) -> Self {
        EntryRoute::new(text)
    }
}

impl From<EntryRoute> for String {
    fn from(e: EntryRoute) -> String {
        e.text
    }
}

impl fmt::Display for EntryRoute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Borrow<str> for EntryRoute {
    fn borrow(&self) -> &str {
        &self.text
    }
}

impl AsRef<str> for EntryRoute {
    fn as_ref(&self) -> &str {
        &self.text
    }
}

impl PartialEq<str> for EntryRoute {
    fn eq(&self, other: &str) -> bool {
        self.text == other
    }
}

impl PartialEq<&str> for EntryRoute {
    fn eq(&self, other: &&str) -> bool {
        self.text == *other
    }
}

impl JsonSchema for EntryRoute {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        String::schema_name()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        String::json_schema(generator)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_method_and_axum_08_template() {
        let e = EntryRoute::new("POST /orders/{id}/items/{*rest}");
        let (m, r) = e.parsed().unwrap();
        assert_eq!(m, "POST");
        assert_eq!(r.as_str(), "/orders/{id}/items/{*rest}");
        assert_eq!(
            r.segments(),
            [
                Segment::Static("orders".into()),
                Segment::Param("id".into()),
                Segment::Static("items".into()),
                Segment::CatchAll("rest".into()),
            ]
        );
        assert_eq!(e.shape().as_deref(), Some("POST /orders/{}/items/{*}"));
        assert_eq!(EntryRoute::new("GET /").route().unwrap().shape(), "/");
    }

    #[test]
    fn axum_07_syntax_is_an_error_with_the_08_form_as_fix() {
        let e = EntryRoute::new("GET /orders/:id/files/*path");
        let err = e.parsed().unwrap_err();
        assert!(err.message.contains("axum 0.7"), "{}", err.message);
        assert_eq!(err.fix.as_deref(), Some("GET /orders/{id}/files/{*path}"));
    }

    #[test]
    fn malformed_entries_say_why() {
        for (text, want) in [
            ("/checkout", "expected `METHOD /route`"),
            ("FETCH /a", "not an HTTP method"),
            ("GET a", "must start with `/`"),
            ("GET /a/{id", "unclosed"),
            ("GET /a/{}", "needs a name"),
            ("GET /{*rest}/a", "must be the last"),
        ] {
            let e = EntryRoute::new(text);
            let err = e.parsed().unwrap_err();
            assert!(err.message.contains(want), "{text}: {}", err.message);
        }
        assert_eq!(
            EntryRoute::new("post /a")
                .parsed()
                .unwrap_err()
                .fix
                .as_deref(),
            Some("POST /a")
        );
    }

    #[test]
    fn matches_raw_paths() {
        let e = EntryRoute::new("GET /orders/{id}");
        assert!(e.matches("GET", "/orders/42"));
        assert!(e.matches("get", "/orders/42/"));
        assert!(!e.matches("GET", "/orders"));
        assert!(!e.matches("GET", "/orders/42/items"));
        assert!(!e.matches("POST", "/orders/42"));
        let all = EntryRoute::new("GET /files/{*path}");
        assert!(all.matches("GET", "/files/a/b/c"));
        let root = EntryRoute::new("GET /");
        assert!(root.matches("GET", "/"));
        assert!(!root.matches("GET", "/a"));
    }

    #[test]
    fn round_trips_through_serde_as_its_text() {
        let e: EntryRoute = serde_json::from_str("\"POST /checkout\"").unwrap();
        assert_eq!(e.method(), Some("POST"));
        assert_eq!(serde_json::to_string(&e).unwrap(), "\"POST /checkout\"");
    }
}
