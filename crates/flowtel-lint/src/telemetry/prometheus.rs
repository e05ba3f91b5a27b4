//! Rules over Prometheus and OpenMetrics expositions: the declared metrics under their
//! OpenTelemetry-to-Prometheus names, and the checks Prometheus's own `promlint` makes
//! (snake_case, base units, `_total`, reserved suffixes and labels, colons, help text).
//! Locations are the lines of the exposition.

use flowtel_conventions::prometheus::{label_name, non_base_unit};
use flowtel_conventions::rules::telemetry as rules;
use flowtel_conventions::{Finding, Location, finding::did_you_mean};
use flowtel_otlp::prometheus::MetricType;
use flowtel_otlp::{Batch, Exposition, InstrumentKind, MetricFamily};

use super::TelemetryLinter;
use super::index::PromMatch;
use super::otlp::{FlowAttrs, Val, instrument_fits};
use super::resource::{self, REQUIRED_RESOURCE};

fn at(batch: &Batch, line: u64) -> Location {
    Location::new(
        batch.origin.file.to_string(),
        u32::try_from(line).unwrap_or(u32::MAX),
        1,
    )
}

fn kind_of(t: MetricType) -> InstrumentKind {
    match t {
        MetricType::Counter => InstrumentKind::Counter,
        MetricType::Histogram | MetricType::GaugeHistogram => InstrumentKind::Histogram,
        MetricType::Summary => InstrumentKind::Summary,
        MetricType::Gauge => InstrumentKind::Gauge,
        // Untyped and unknown families say nothing about the instrument.
        _ => InstrumentKind::Empty,
    }
}

impl<'r> TelemetryLinter<'r> {
    pub(super) fn prometheus(&mut self, batch: &Batch, exp: &Exposition) {
        for fam in &exp.families {
            let line = fam.first_line().max(1);
            // Families the OpenTelemetry Prometheus exporter adds itself: the resource as
            // `target_info` (checked like a resource), the scope as `otel_scope_info`.
            match fam.name.as_str() {
                "target_info" | "target" if is_info(fam) => {
                    self.target_info(batch, fam);
                    continue;
                }
                "otel_scope_info" | "otel_scope" if is_info(fam) => continue,
                _ => {}
            }
            self.promlint(batch, fam, line);
            self.declared_family(batch, fam, line);
        }
    }

    /// `missing-resource-attribute` on the resource the exporter exposes as `target_info`.
    fn target_info(&mut self, batch: &Batch, fam: &MetricFamily) {
        let Some(sample) = fam.samples.first() else {
            return;
        };
        let service = sample.label("service_name").or_else(|| sample.label("job"));
        for key in REQUIRED_RESOURCE {
            let label = label_name(key);
            let present = sample.label(&label).is_some()
                || (key == "service.name" && sample.label("job").is_some());
            if present {
                continue;
            }
            resource::missing(&mut self.found, service, " (`target_info`)", key, || {
                Some(at(batch, sample.line))
            });
        }
    }

    fn declared_family(&mut self, batch: &Batch, fam: &MetricFamily, line: u64) {
        let name = fam.name.as_str();
        let ix = &self.ix;
        let found = ix.prom_metrics.get(name).copied().or_else(|| {
            (fam.metric_type == MetricType::Counter)
                .then(|| name.strip_suffix("_total"))
                .flatten()
                .and_then(|n| ix.prom_metrics.get(n).copied())
        });
        let Some((metric, how)) = found else {
            let reg = ix.reg;
            let candidates: Vec<(&str, &str)> = ix
                .metrics
                .values()
                .map(|m| (m.prometheus.as_str(), m.name))
                .collect();
            self.found.report((rules::UNKNOWN_METRIC.id, "prometheus", name), || {
                let suggestion = did_you_mean(name, candidates.iter().map(|c| c.0))
                    .and_then(|p| candidates.iter().find(|c| c.0 == p));
                let _ = reg;
                Finding::new(
                    &rules::UNKNOWN_METRIC,
                    format!("metric `{name}` is not declared in the conventions"),
                )
                .at(at(batch, line))
                .subject("metric", name)
                .help(match suggestion {
                    Some((p, m)) => format!("a declared metric has a similar name: `{m}` (exposed as `{p}`)"),
                    None => "declare the metric in the conventions (under its OpenTelemetry name), or stop exposing it".to_string(),
                })
            });
            return;
        };
        let info = &self.ix.metrics[metric];
        let expected = info.prometheus.clone();
        let decl = info.metric;
        if how == PromMatch::Mistranslated {
            self.found.report((rules::PROMETHEUS_NAME_TRANSLATION.id, name), || {
                Finding::new(
                    &rules::PROMETHEUS_NAME_TRANSLATION,
                    format!("metric `{metric}` is exposed as `{name}`, but its Prometheus name is `{expected}`"),
                )
                .at(at(batch, line))
                .subject("metric", metric)
                .subject("found", name)
                .subject("expected", expected.clone())
                .help(format!(
                    "expose it as `{expected}` (dots to underscores, the unit `{}` as a suffix{}), as the OpenTelemetry Prometheus exporter does",
                    decl.unit,
                    if decl.instrument == flowtel_conventions::Instrument::Counter { ", `_total` on a counter" } else { "" }
                ))
            });
        }
        let got = kind_of(fam.metric_type);
        if !instrument_fits(decl.instrument, got, true) {
            let t = fam.metric_type.as_str();
            self.found.report((rules::INSTRUMENT_MISMATCH.id, metric, got.as_str()), || {
                Finding::new(
                    &rules::INSTRUMENT_MISMATCH,
                    format!(
                        "metric `{metric}` is exposed as a Prometheus {t}, but the conventions declare a {}",
                        decl.instrument.as_str()
                    ),
                )
                .at(at(batch, fam.type_line.unwrap_or(line)))
                .subject("metric", metric)
                .subject("expected", decl.instrument.as_str())
                .subject("found", t)
                .help(format!("record `{metric}` with a {} instrument", decl.instrument.as_str()))
            });
        }
        let skip = match fam.metric_type {
            MetricType::Histogram | MetricType::GaugeHistogram => "le",
            MetricType::Summary => "quantile",
            _ => "",
        };
        for s in &fam.samples {
            // `_count`, `_sum`, `_created` repeat the label set of the buckets: count each
            // label set once, on its first kind of sample.
            let suffix = s.name.strip_prefix(name).unwrap_or("");
            if matches!(suffix, "_sum" | "_count" | "_gsum" | "_gcount" | "_created") {
                continue;
            }
            if skip == "le" && s.label("le").is_some_and(|le| le != "+Inf") {
                continue;
            }
            if skip == "quantile"
                && s.labels.iter().any(|(k, _)| k == "quantile")
                && !first_quantile(fam, s)
            {
                continue;
            }
            let ix = &self.ix;
            let pairs: Vec<(&str, Val<'_>)> = s
                .labels
                .iter()
                // `otel_scope_*` labels are added by the exporter, not by the instrumentation.
                .filter(|(k, _)| k != skip && !k.starts_with("otel_scope_"))
                .map(|(k, v)| {
                    let key = ix.prom_attribute(k).map_or(k.as_str(), |a| a.name);
                    (key, Val::Str(v.as_str()))
                })
                .collect();
            let line = s.line;
            self.series_point(metric, pairs.into_iter(), &|_| at(batch, line));
        }
    }

    fn promlint(&mut self, batch: &Batch, fam: &MetricFamily, line: u64) {
        let name = fam.name.as_str();
        let t = fam.metric_type;
        if name.bytes().any(|b| b.is_ascii_uppercase()) {
            self.found
                .report((rules::PROMETHEUS_SNAKE_CASE.id, name), || {
                    Finding::new(
                        &rules::PROMETHEUS_SNAKE_CASE,
                        format!("metric name `{name}` is not snake_case"),
                    )
                    .at(at(batch, line))
                    .subject("metric", name)
                    .help(format!("rename it `{}`", snake_case(name)))
                });
        }
        for s in &fam.samples {
            for (k, _) in &s.labels {
                if k.bytes().any(|b| b.is_ascii_uppercase()) {
                    self.found
                        .report((rules::PROMETHEUS_SNAKE_CASE.id, name, k.as_str()), || {
                            Finding::new(
                                &rules::PROMETHEUS_SNAKE_CASE,
                                format!("label `{k}` of metric `{name}` is not snake_case"),
                            )
                            .at(at(batch, s.line))
                            .subject("metric", name)
                            .subject("label", k.as_str())
                            .help(format!("rename it `{}`", snake_case(k)))
                        });
                }
                let misused = match k.as_str() {
                    "le" => !matches!(t, MetricType::Histogram | MetricType::GaugeHistogram),
                    "quantile" => t != MetricType::Summary,
                    _ => false,
                };
                if misused {
                    self.found.report((rules::PROMETHEUS_RESERVED_SUFFIX.id, name, k.as_str()), || {
                        Finding::new(
                            &rules::PROMETHEUS_RESERVED_SUFFIX,
                            format!(
                                "metric `{name}` is a {} but has the label `{k}`, which is reserved for {}",
                                t.as_str(),
                                if k == "le" { "histograms" } else { "summaries" }
                            ),
                        )
                        .at(at(batch, s.line))
                        .subject("metric", name)
                        .subject("label", k.as_str())
                        .help(format!("rename the label, or expose the metric as a {}", if k == "le" { "histogram" } else { "summary" }))
                    });
                }
            }
        }
        if name.contains(':') {
            self.found.report((rules::PROMETHEUS_COLON_IN_NAME.id, name), || {
                Finding::new(
                    &rules::PROMETHEUS_COLON_IN_NAME,
                    format!("metric name `{name}` contains `:`, which is reserved for recording rules"),
                )
                .at(at(batch, line))
                .subject("metric", name)
                .help(format!("rename it `{}`", name.replace(':', "_")))
            });
        }
        if let Some((word, base)) = non_base_unit(name) {
            self.found.report((rules::PROMETHEUS_BASE_UNITS.id, name), || {
                Finding::new(
                    &rules::PROMETHEUS_BASE_UNITS,
                    format!("metric `{name}` uses the unit `{word}`; Prometheus uses base units (`{base}`)"),
                )
                .at(at(batch, line))
                .subject("metric", name)
                .subject("unit", word)
                .help(format!("record in {base} and name the metric `..._{base}`"))
            });
        }
        let counter = t == MetricType::Counter;
        if counter {
            if let Some(s) = fam
                .samples
                .iter()
                .find(|s| !s.name.ends_with("_total") && !s.name.ends_with("_created"))
            {
                let sample = s.name.as_str();
                self.found
                    .report((rules::PROMETHEUS_TOTAL_SUFFIX.id, name), || {
                        Finding::new(
                            &rules::PROMETHEUS_TOTAL_SUFFIX,
                            format!("counter `{sample}` does not end in `_total`"),
                        )
                        .at(at(batch, s.line))
                        .subject("metric", name)
                        .help(format!("name it `{sample}_total`"))
                    });
            }
        } else if name.ends_with("_total") {
            self.found
                .report((rules::PROMETHEUS_TOTAL_SUFFIX.id, name), || {
                    Finding::new(
                        &rules::PROMETHEUS_TOTAL_SUFFIX,
                        format!(
                            "metric `{name}` is a {} but ends in `_total`, which is for counters",
                            t.as_str()
                        ),
                    )
                    .at(at(batch, line))
                    .subject("metric", name)
                    .help(format!(
                        "drop the suffix: `{}`",
                        name.trim_end_matches("_total")
                    ))
                });
        }
        let histogram_like = matches!(
            t,
            MetricType::Histogram | MetricType::GaugeHistogram | MetricType::Summary
        );
        if !histogram_like
            && let Some(suffix) = ["_bucket", "_count", "_sum"]
                .into_iter()
                .find(|s| name.ends_with(s))
        {
            self.found.report((rules::PROMETHEUS_RESERVED_SUFFIX.id, name, suffix), || {
                Finding::new(
                    &rules::PROMETHEUS_RESERVED_SUFFIX,
                    format!(
                        "metric `{name}` is a {} but ends in `{suffix}`, which is reserved for histograms and summaries",
                        t.as_str()
                    ),
                )
                .at(at(batch, line))
                .subject("metric", name)
                .subject("suffix", suffix)
                .help(format!("rename it without `{suffix}`, or expose a histogram"))
            });
        }
        if fam.help.as_deref().is_none_or(|h| h.trim().is_empty()) {
            self.found
                .report((rules::PROMETHEUS_MISSING_HELP.id, name), || {
                    Finding::new(
                        &rules::PROMETHEUS_MISSING_HELP,
                        format!("metric `{name}` has no help text"),
                    )
                    .at(at(batch, line))
                    .subject("metric", name)
                    .help(format!(
                        "add `# HELP {name} <what it measures>` (the instrument's description)"
                    ))
                });
        }
        let _ = FlowAttrs::default;
    }
}

/// Whether a family is an info metric (`# TYPE x info` in OpenMetrics, a gauge named
/// `*_info` in 0.0.4).
fn is_info(fam: &MetricFamily) -> bool {
    matches!(
        fam.metric_type,
        MetricType::Info | MetricType::Gauge | MetricType::Untyped | MetricType::Unknown
    )
}

/// Whether `s` is the first sample of its label set in a summary (so each set counts once).
fn first_quantile(fam: &MetricFamily, s: &flowtel_otlp::Sample) -> bool {
    let key = |x: &flowtel_otlp::Sample| {
        x.labels
            .iter()
            .filter(|(k, _)| k != "quantile")
            .cloned()
            .collect::<Vec<_>>()
    };
    let mine = key(s);
    fam.samples
        .iter()
        .find(|x| x.name == s.name && key(x) == mine)
        .is_some_and(|x| std::ptr::eq(x, s))
}

fn snake_case(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 && !out.ends_with('_') {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_case_suggestions() {
        assert_eq!(snake_case("httpRequestsTotal"), "http_requests_total");
        assert_eq!(snake_case("statusCode"), "status_code");
        assert_eq!(snake_case("already_snake"), "already_snake");
    }

    #[test]
    fn counters_and_histograms_map_to_instruments() {
        assert_eq!(kind_of(MetricType::Counter), InstrumentKind::Counter);
        assert_eq!(kind_of(MetricType::Histogram), InstrumentKind::Histogram);
        assert_eq!(kind_of(MetricType::Untyped), InstrumentKind::Empty);
    }
}
