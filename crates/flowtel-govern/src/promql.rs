//! PromQL text: label matchers, selectors over unions of disjoint matcher sets, durations and
//! numbers formatted the way Prometheus reads them. Rules, dashboards and runbooks build their
//! queries from these pieces so a query means the same wherever it appears.

use std::fmt::Write as _;

/// One label matcher (`flow_name="checkout"`, `http_response_status_code=~"5.."`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matcher {
    /// Label name.
    pub label: String,
    /// `=`, `!=`, `=~` or `!~`.
    pub op: &'static str,
    /// Value (unescaped).
    pub value: String,
}

impl Matcher {
    /// `label="value"`.
    pub fn eq(label: &str, value: &str) -> Self {
        Matcher {
            label: label.into(),
            op: "=",
            value: value.into(),
        }
    }
    /// `label!="value"`.
    pub fn ne(label: &str, value: &str) -> Self {
        Matcher {
            label: label.into(),
            op: "!=",
            value: value.into(),
        }
    }
    /// `label=~"regex"`.
    pub fn re(label: &str, value: &str) -> Self {
        Matcher {
            label: label.into(),
            op: "=~",
            value: value.into(),
        }
    }
}

/// Renders `{a="x",b=~"y"}`.
pub fn selector(matchers: &[Matcher]) -> String {
    let mut s = String::from("{");
    for (i, m) in matchers.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        let _ = write!(s, "{}{}\"{}\"", m.label, m.op, escape(&m.value));
    }
    s.push('}');
    s
}

/// Escapes a PromQL string literal's content.
pub fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            _ => out.push(c),
        }
    }
    out
}

/// Escapes the regex metacharacters of a literal (RE2 syntax, as Prometheus matchers use).
pub fn regex_escape(literal: &str) -> String {
    let mut out = String::with_capacity(literal.len());
    for c in literal.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The matcher of a histogram bucket bound. Integral bounds match both spellings (`1` as
/// OpenTelemetry exporters write it, `1.0` as Prometheus 3 normalises it).
pub fn le_matcher(le: f64) -> Matcher {
    if le.fract() == 0.0 && le.abs() < 1e15 {
        Matcher::re("le", &format!("{le}|{le}\\.0"))
    } else {
        Matcher::eq("le", &number(le))
    }
}

/// A number as PromQL and YAML read it back exactly (`0.5`, `14.4`, `1`).
pub fn number(x: f64) -> String {
    format!("{x}")
}

/// A Prometheus duration (`30d`, `6h`, `5m`, `90s`) for a length in seconds.
pub fn duration(seconds: u64) -> String {
    for (unit, len) in [("w", 604_800), ("d", 86_400), ("h", 3_600), ("m", 60)] {
        // Weeks only when the length is not also whole days (`28d` reads better than `4w`).
        if unit == "w" {
            continue;
        }
        if seconds >= len && seconds.is_multiple_of(len) {
            return format!("{}{unit}", seconds / len);
        }
    }
    format!("{seconds}s")
}

/// `rate(series{set1}[w]) or rate(series{set2}[w]) ...`: the rate of the union of disjoint
/// matcher sets.
pub fn union_rate(series: &str, sets: &[Vec<Matcher>], window: &str) -> String {
    sets.iter()
        .map(|set| format!("rate({series}{}[{window}])", selector(set)))
        .collect::<Vec<_>>()
        .join(" or ")
}

/// `sum by (labels) (inner)`.
pub fn sum_by(labels: &[&str], inner: &str) -> String {
    format!("sum by ({}) ({inner})", labels.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_use_the_largest_whole_unit() {
        assert_eq!(duration(300), "5m");
        assert_eq!(duration(3600), "1h");
        assert_eq!(duration(6 * 3600), "6h");
        assert_eq!(duration(30 * 86_400), "30d");
        assert_eq!(duration(28 * 86_400), "28d");
        assert_eq!(duration(90), "90s");
    }

    #[test]
    fn selectors_escape_values_and_integral_bounds_match_both_spellings() {
        let s = selector(&[Matcher::eq("a", "x\"y"), le_matcher(1.0), le_matcher(0.25)]);
        assert_eq!(s, r#"{a="x\"y",le=~"1|1\\.0",le="0.25"}"#);
    }
}
