//! UCUM units as OpenTelemetry uses them, and units spelled into metric names.
//!
//! OpenTelemetry metric units are UCUM case-sensitive (c/s) codes: `s`, `ms`, `By`, `KiBy`, `1`,
//! annotations in braces (`{request}`), and products and quotients of those (`By/s`,
//! `{packet}/s`). This module checks that grammar with the atoms and prefixes that appear in
//! OpenTelemetry's semantic conventions; the Prometheus suffix of a unit is
//! [`crate::prometheus::unit_suffix`].

/// UCUM atoms OpenTelemetry conventions use, and common others.
const ATOMS: &[&str] = &[
    "s", "min", "h", "d", "wk", "mo", "a", // time
    "By", "bit", "Bd", // information
    "Hz", "m", "g", "t", "l", "L", "W", "J", "V", "A", "Ohm", "C", "F", "K", "Cel", "[degF]", "Pa",
    "bar", "N", "cd", "lx", "lm", "mol", "rad", "deg", "sr", "%", "ar", "[pi]", "VA", "var", "Wh",
];

/// Metric and binary prefixes.
const PREFIXES: &[&str] = &[
    "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "da", "Y", "Z", "E", "P", "T", "G", "M", "k", "h", "d",
    "c", "m", "u", "µ", "n", "p", "f", "a", "z", "y",
];

/// Checks a unit; the error says what part is not understood.
pub fn check(unit: &str) -> Result<(), String> {
    if unit.is_empty() {
        return Err("the unit is empty; use `1` for a dimensionless count or ratio".into());
    }
    if unit.contains(char::is_whitespace) {
        return Err(format!("`{unit}` contains white space"));
    }
    for term in split_terms(unit) {
        check_term(term).map_err(|e| format!("`{unit}`: {e}"))?;
    }
    Ok(())
}

fn split_terms(unit: &str) -> Vec<&str> {
    // Split on `/` and `.` outside braces.
    let mut terms = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, c) in unit.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            '/' | '.' if depth == 0 => {
                terms.push(&unit[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    terms.push(&unit[start..]);
    terms
}

fn check_term(term: &str) -> Result<(), String> {
    if term.is_empty() {
        return Err("a `/` or `.` has nothing on one side".into());
    }
    // An annotation, alone or after a unit: `{request}`, `By{compressed}`.
    let (base, annotation) = match term.find('{') {
        Some(i) => (&term[..i], Some(&term[i..])),
        None => (term, None),
    };
    if let Some(a) = annotation {
        if !a.ends_with('}') || a[1..a.len() - 1].contains(['{', '}']) || a.len() < 3 {
            return Err(format!("annotation `{a}` must be one `{{word}}`"));
        }
        if base.is_empty() {
            return Ok(());
        }
    }
    // A trailing integer exponent (`m2`, `s-1`).
    let base = base.trim_end_matches(|c: char| c.is_ascii_digit());
    let base = base.strip_suffix('-').unwrap_or(base);
    if base.is_empty() {
        // A plain number: only `1` (and powers of ten) are units.
        return if term.starts_with('1') {
            Ok(())
        } else {
            Err(format!("`{term}` is not a unit"))
        };
    }
    if ATOMS.contains(&base) {
        return Ok(());
    }
    for p in PREFIXES {
        if let Some(rest) = base.strip_prefix(p)
            && ATOMS.contains(&rest)
        {
            return Ok(());
        }
    }
    let hint = match base.to_ascii_lowercase().as_str() {
        "sec" | "secs" | "second" | "seconds" => " (use `s`)",
        "msec" | "millis" | "milliseconds" => " (use `ms`)",
        "b" | "byte" | "bytes" => " (use `By`)",
        "kb" | "kib" => " (use `KiBy` or `kBy`)",
        "mb" | "mib" => " (use `MiBy` or `MBy`)",
        "percent" | "pct" => " (use `%`, or `1` for a ratio)",
        "count" | "requests" | "request" | "req" => " (use an annotation such as `{request}`)",
        _ => " (use a UCUM unit such as `s`, `By`, `1` or an annotation like `{item}`)",
    };
    Err(format!("`{base}` is not a UCUM unit{hint}"))
}

/// Unit words that do not belong in a metric name, with the unit to use instead.
const NAME_UNIT_WORDS: &[(&str, &str)] = &[
    ("seconds", "s"),
    ("secs", "s"),
    ("sec", "s"),
    ("milliseconds", "ms"),
    ("millis", "ms"),
    ("ms", "ms"),
    ("microseconds", "us"),
    ("us", "us"),
    ("nanoseconds", "ns"),
    ("ns", "ns"),
    ("bytes", "By"),
    ("kb", "kBy"),
    ("mb", "MBy"),
    ("percent", "%"),
    ("total", "1"),
];

/// When a metric name spells a unit into its last segment, the unit word and the unit to use.
pub fn unit_in_name(name: &str) -> Option<(&'static str, &'static str)> {
    let last = name.rsplit('.').next().unwrap_or(name);
    NAME_UNIT_WORDS.iter().copied().find(|(word, _)| {
        last == *word
            || last
                .strip_suffix(word)
                .is_some_and(|rest| rest.ends_with('_'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_units_opentelemetry_uses() {
        for u in [
            "s",
            "ms",
            "us",
            "ns",
            "By",
            "KiBy",
            "MiBy",
            "1",
            "{request}",
            "{packet}/s",
            "By/s",
            "%",
            "Cel",
            "Hz",
            "{cpu}",
            "min",
            "m2",
            "s-1",
            "{fault}",
            "10",
        ] {
            assert_eq!(check(u), Ok(()), "{u}");
        }
    }

    #[test]
    fn accepts_every_unit_of_the_semantic_conventions_v1_44() {
        // Every distinct `unit` in OpenTelemetry's semantic conventions v1.44.0 but `rpm`,
        // which is not UCUM (UCUM writes revolutions per minute as `{rev}/min`).
        for u in [
            "By",
            "s",
            "{pod}",
            "1",
            "{cpu}",
            "{connection}",
            "{span}",
            "{request}",
            "ms",
            "{Hz}",
            "By/s",
            "%",
            "Cel",
            "W",
            "V",
            "Hz",
            "J",
            "{run_queue_item}",
            "{persistentvolumeclaim}",
            "{gc_cycle}",
            "{log_record}",
            "{data_point}",
        ] {
            assert_eq!(check(u), Ok(()), "{u}");
        }
        assert!(check("rpm").is_err());
        assert!(check("{rev}/min").is_ok());
    }

    #[test]
    fn rejects_english_units_with_a_hint() {
        assert!(check("seconds").unwrap_err().contains("use `s`"));
        assert!(check("bytes").unwrap_err().contains("use `By`"));
        assert!(check("").is_err());
        assert!(check("{unclosed").is_err());
        assert!(check("By/").is_err());
    }

    #[test]
    fn finds_units_in_names() {
        assert_eq!(unit_in_name("checkout.duration_ms"), Some(("ms", "ms")));
        assert_eq!(unit_in_name("http.request_seconds"), Some(("seconds", "s")));
        assert_eq!(unit_in_name("flow.items"), None);
        assert_eq!(unit_in_name("flow.step.duration"), None);
        assert_eq!(unit_in_name("queue.length.total"), Some(("total", "1")));
    }
}
