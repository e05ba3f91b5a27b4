//! The OpenTelemetry-to-Prometheus translation of names and labels, in one place.
//!
//! Conventions name things the OpenTelemetry way (`flow.step.duration`, unit `s`, label
//! `flow.name`); Prometheus, and everything written for it (alerting rules, recording rules,
//! dashboards, scrapes), sees the names the OpenTelemetry Prometheus exporter gives them
//! (`flow_step_duration_seconds`, label `flow_name`). Every part of flowtel that reads or writes a
//! Prometheus name derives it here: the linter matching an exposition to declared metrics, the
//! alert linter, the generators of rules and dashboards.
//!
//! The rules (OpenTelemetry's "Prometheus and OpenMetrics compatibility" specification):
//! - characters outside `[a-zA-Z0-9_:]` in a metric name (`[a-zA-Z0-9_]` in a label) become `_`;
//! - the unit becomes a suffix ([`unit_suffix`]: `s` -> `seconds`, `By` -> `bytes`,
//!   `By/s` -> `bytes_per_second`, `1` -> `ratio`), unless the name already ends in it;
//!   annotations in braces (`{request}`) are dropped;
//! - a monotonic counter ends in `_total` (and its unit `1` is a count, not a `ratio`);
//! - a histogram is exposed as `<name>_bucket`, `<name>_sum` and `<name>_count` ([`series_names`]).
//!
//! ```
//! use flowtel_conventions::{Instrument, prometheus};
//! assert_eq!(prometheus::name("flow.step.duration", "s", Instrument::Histogram), "flow_step_duration_seconds");
//! assert_eq!(prometheus::name("flow.requests", "{request}", Instrument::Counter), "flow_requests_total");
//! assert_eq!(prometheus::label_name("flow.name"), "flow_name");
//! ```
//!
//! With a registry at hand, [`metric_name`] takes the declared [`Metric`]:
//! `prometheus::metric_name("flow.step.duration", &registry.metrics["flow.step.duration"])`.

use crate::model::{Instrument, Metric};

/// The Prometheus name of a declared metric (`flow.step.duration` with unit `s` ->
/// `flow_step_duration_seconds`; a counter `flow.requests` -> `flow_requests_total`).
pub fn metric_name(name: &str, metric: &Metric) -> String {
    name_with(name, &metric.unit, metric.instrument == Instrument::Counter)
}

/// The Prometheus name of a metric given its parts; see [`metric_name`].
pub fn name(name: &str, unit: &str, instrument: Instrument) -> String {
    name_with(name, unit, instrument == Instrument::Counter)
}

/// The translation with the counter question answered by the caller: dots to underscores, the
/// unit suffix appended (unless already there), and `_total` when `counter` (a monotonic sum).
/// Without `counter` it is also the name of a counter's family in OpenMetrics, which writes
/// `_total` on the samples only.
pub fn name_with(name: &str, unit: &str, counter: bool) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if let Some(suffix) = unit_suffix(unit) {
        // `1` on a counter is a count, not a ratio.
        let skip = counter && suffix == "ratio";
        if !skip && !out.ends_with(&format!("_{suffix}")) {
            out.push('_');
            out.push_str(&suffix);
        }
    }
    if counter && !out.ends_with("_total") {
        out.push_str("_total");
    }
    out
}

/// The Prometheus label name of an attribute key (`flow.name` -> `flow_name`): every character
/// outside `[a-zA-Z0-9_]` becomes `_`. Also the "plain" form of a metric name, before any suffix.
pub fn label_name(key: &str) -> String {
    key.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// The series names under which a metric's samples appear: `<name>_bucket`, `_sum` and
/// `_count` for a histogram, the name itself otherwise (a counter's name already ends in
/// `_total`). Recording rules and dashboards query these.
pub fn series_names(name: &str, metric: &Metric) -> Vec<String> {
    let base = metric_name(name, metric);
    match metric.instrument {
        Instrument::Histogram => ["_bucket", "_sum", "_count"]
            .iter()
            .map(|s| format!("{base}{s}"))
            .collect(),
        _ => vec![base],
    }
}

/// The suffix the translation appends for a unit (`s` -> `seconds`, `By` -> `bytes`, `1` ->
/// `ratio`, `By/s` -> `bytes_per_second`), or `None` when nothing is appended (annotations such
/// as `{request}` are dropped).
pub fn unit_suffix(unit: &str) -> Option<String> {
    // Annotations are dropped by the translation.
    let stripped: String = {
        let mut out = String::new();
        let mut depth = 0;
        for c in unit.chars() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                _ if depth == 0 => out.push(c),
                _ => {}
            }
        }
        out
    };
    if stripped.is_empty() {
        return None;
    }
    let word = |u: &str| -> Option<&'static str> {
        Some(match u {
            "d" => "days",
            "h" => "hours",
            "min" => "minutes",
            "s" => "seconds",
            "ms" => "milliseconds",
            "us" => "microseconds",
            "ns" => "nanoseconds",
            "By" => "bytes",
            "KiBy" => "kibibytes",
            "MiBy" => "mebibytes",
            "GiBy" => "gibibytes",
            "TiBy" => "tibibytes",
            "KBy" | "kBy" => "kilobytes",
            "MBy" => "megabytes",
            "GBy" => "gigabytes",
            "TBy" => "terabytes",
            "m" => "meters",
            "V" => "volts",
            "A" => "amperes",
            "J" => "joules",
            "W" => "watts",
            "g" => "grams",
            "Cel" => "celsius",
            "Hz" => "hertz",
            "1" => "ratio",
            "%" => "percent",
            _ => return None,
        })
    };
    if let Some((num, den)) = stripped.split_once('/') {
        let per = match den {
            "s" => "second",
            "m" => "minute",
            "h" => "hour",
            "d" => "day",
            "w" => "week",
            "mo" => "month",
            "y" => "year",
            _ => den,
        };
        return match (num.is_empty(), word(num)) {
            (true, _) => Some(format!("per_{per}")),
            (false, Some(w)) => Some(format!("{w}_per_{per}")),
            (false, None) => Some(format!("{num}_per_{per}")),
        };
    }
    Some(word(&stripped).map(str::to_string).unwrap_or(stripped))
}

/// Unit words that are not Prometheus base units, with the base unit to use (Prometheus's
/// naming practice: seconds, bytes, ratios).
pub const NON_BASE_UNITS: &[(&str, &str)] = &[
    ("milliseconds", "seconds"),
    ("microseconds", "seconds"),
    ("nanoseconds", "seconds"),
    ("millis", "seconds"),
    ("minutes", "seconds"),
    ("hours", "seconds"),
    ("days", "seconds"),
    ("weeks", "seconds"),
    ("kilobytes", "bytes"),
    ("megabytes", "bytes"),
    ("gigabytes", "bytes"),
    ("terabytes", "bytes"),
    ("kibibytes", "bytes"),
    ("mebibytes", "bytes"),
    ("gibibytes", "bytes"),
    ("bits", "bytes"),
    ("percent", "ratio"),
    ("fahrenheit", "celsius"),
];

/// The first word of a Prometheus name that is a non-base unit, with the base unit to use
/// (`request_duration_milliseconds` -> `("milliseconds", "seconds")`).
pub fn non_base_unit(name: &str) -> Option<(&'static str, &'static str)> {
    name.split('_')
        .find_map(|w| NON_BASE_UNITS.iter().copied().find(|(n, _)| *n == w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn translates_to_prometheus_names() {
        assert_eq!(
            name_with("flow.step.duration", "s", false),
            "flow_step_duration_seconds"
        );
        assert_eq!(
            name_with("flow.requests", "{request}", true),
            "flow_requests_total"
        );
        assert_eq!(name_with("net.io", "By", true), "net_io_bytes_total");
        assert_eq!(
            name_with("cpu.utilization", "1", false),
            "cpu_utilization_ratio"
        );
        assert_eq!(
            name_with("net.rate", "By/s", false),
            "net_rate_bytes_per_second"
        );
        assert_eq!(name_with("jobs.done", "1", true), "jobs_done_total");
        assert_eq!(
            name_with("queue.wait_seconds", "s", false),
            "queue_wait_seconds"
        );
        assert_eq!(
            name("queue.depth", "{item}", Instrument::UpdownCounter),
            "queue_depth"
        );
    }

    #[test]
    fn translates_labels_and_series() {
        assert_eq!(label_name("flow.name"), "flow_name");
        assert_eq!(
            label_name("http.response.status_code"),
            "http_response_status_code"
        );
        assert_eq!(label_name("k8s-pod/name"), "k8s_pod_name");
        let m: Metric = serde_json::from_value(serde_json::json!(
            {"instrument": "histogram", "unit": "s"}
        ))
        .unwrap();
        assert_eq!(
            series_names("flow.duration", &m),
            [
                "flow_duration_seconds_bucket",
                "flow_duration_seconds_sum",
                "flow_duration_seconds_count"
            ]
        );
        assert_eq!(metric_name("flow.duration", &m), "flow_duration_seconds");
    }

    #[test]
    fn finds_non_base_units() {
        assert_eq!(
            non_base_unit("request_duration_milliseconds"),
            Some(("milliseconds", "seconds"))
        );
        assert_eq!(non_base_unit("request_duration_seconds"), None);
    }
}
