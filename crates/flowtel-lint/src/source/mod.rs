//! Lint of Rust sources: names used in `tracing`, OpenTelemetry and `metrics` calls, checked
//! against the conventions (`flowtel lint source`).
//!
//! [`lint_paths`] walks files and folders (skipping `target/` and hidden folders), parses each
//! `.rs` file with `syn`, [`scan`] collects every use of a metric name, attribute key, unit or
//! span name, and [`lint_source`] turns the uses into [`Finding`]s with exact file, line and column.
//! Names inside `#[flowtel::flow]`/`#[flowtel::step]` are not read here: the compiler checks them.
//! Rendering is the report module's job (human, JSON, SARIF).

pub mod scan;

use std::path::{Path, PathBuf};

use flowtel_conventions::finding::did_you_mean;
use flowtel_conventions::rules::{registry as reg_rules, source as rules};
use flowtel_conventions::semconv::lint::{deprecated_attribute, deprecated_metric};
use flowtel_conventions::{Finding, Location, Registry};

pub use scan::{Pos, Use, UseKind};

/// Lints every `.rs` file under `paths` (files or folders). Unreadable paths are fatal
/// findings; findings come sorted by file and position.
pub fn lint_paths(reg: &Registry, paths: &[PathBuf]) -> Vec<Finding> {
    let checker = Checker::new(reg);
    let mut findings = Vec::new();
    for root in paths {
        let mut files = Vec::new();
        if let Err(e) = collect(root, &mut files) {
            findings.push(unreadable(root, &e));
            continue;
        }
        for file in files {
            match std::fs::read_to_string(&file) {
                Ok(text) => {
                    findings.extend(checker.file(&file.display().to_string(), &text));
                }
                Err(e) => findings.push(unreadable(&file, &e)),
            }
        }
    }
    flowtel_conventions::apply_overrides(&mut findings, &reg.lint);
    flowtel_conventions::sort(&mut findings);
    findings
}

/// Lints one file's text, shown as `file` in findings (no overrides applied).
pub fn lint_source(reg: &Registry, file: &str, text: &str) -> Vec<Finding> {
    Checker::new(reg).file(file, text)
}

fn unreadable(path: &Path, e: &dyn std::fmt::Display) -> Finding {
    Finding::new(
        &reg_rules::UNREADABLE_INPUT,
        format!("cannot read `{}`: {e}", path.display()),
    )
    .at(Location::new(path.display().to_string(), 1, 1))
}

/// Collects `.rs` files under `path` in a stable order, skipping `target` and hidden folders.
fn collect(path: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let meta = std::fs::metadata(path)?;
    if meta.is_file() {
        out.push(path.to_path_buf());
        return Ok(());
    }
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
        entries.sort_by_key(|e| e.file_name());
        let mut subdirs = Vec::new();
        for entry in entries {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let Ok(ty) = entry.file_type() else { continue };
            if ty.is_dir() {
                if !name.starts_with('.') && name != "target" {
                    subdirs.push(entry.path());
                }
            } else if ty.is_file() && name.ends_with(".rs") {
                out.push(entry.path());
            }
        }
        // Depth first, in name order.
        stack.extend(subdirs.into_iter().rev());
    }
    Ok(())
}

/// Judges uses of names against one registry.
struct Checker<'r> {
    reg: &'r Registry,
    span_pattern: Option<regex::Regex>,
    pii: flowtel_conventions::pii::Detector,
}

impl<'r> Checker<'r> {
    fn new(reg: &'r Registry) -> Self {
        Checker {
            reg,
            span_pattern: regex::Regex::new(&reg.naming.span).ok(),
            pii: flowtel_conventions::pii::Detector::for_registry(reg),
        }
    }

    fn file(&self, file: &str, text: &str) -> Vec<Finding> {
        let parsed = match syn::parse_file(text) {
            Ok(f) => f,
            Err(e) => {
                let start = e.span().start();
                return vec![
                    Finding::new(
                        &rules::SOURCE_NOT_PARSED,
                        format!("`{file}` was not checked: it does not parse as Rust: {e}"),
                    )
                    .at(Location::new(
                        file,
                        start.line as u32,
                        start.column as u32 + 1,
                    ))
                    .subject("file", file),
                ];
            }
        };
        scan::scan(&parsed)
            .iter()
            .flat_map(|u| self.judge(u))
            .map(|(f, p)| {
                f.at(Location::new(file, p.line, p.column).with_end(p.end_line, p.end_column))
            })
            .collect()
    }

    /// The findings for one use, with their positions (the location is added by the caller).
    fn judge(&self, u: &Use) -> Vec<(Finding, Pos)> {
        if let UseKind::Event { via, level, fields } = &u.kind {
            return self.event(&u.name, u.pos, via, level.as_deref(), fields);
        }
        let f = match &u.kind {
            UseKind::Metric { instrument, via } => self.metric(&u.name, *instrument, via),
            UseKind::MetricLabel { metric } => self.metric_label(metric, &u.name),
            UseKind::Unit { metric } => self.unit(metric, &u.name),
            UseKind::Attribute { via } => self.attribute(&u.name, via),
            UseKind::SpanName { via } => self.span_name(&u.name, via),
            UseKind::Event { .. } => None,
        };
        f.map(|f| (f, u.pos)).into_iter().collect()
    }

    /// A `tracing` event naming log event `name`: the name declared, its fields listed by the
    /// event, its required ones given, its level not below the event's severity. Undeclared
    /// keys are the field uses' own findings (`FT0202`).
    fn event(
        &self,
        name: &str,
        pos: Pos,
        via: &str,
        level: Option<&str>,
        fields: &[(String, Pos)],
    ) -> Vec<(Finding, Pos)> {
        let Some(event) = self.reg.events.get(name) else {
            let hint = did_you_mean(name, self.reg.events.keys().map(String::as_str));
            return vec![(
                Finding::new(
                    &rules::UNKNOWN_EVENT_IN_SOURCE,
                    format!("`{via}` writes log event `{name}`, which the conventions do not declare"),
                )
                .subject("event", name)
                .help(match hint {
                    Some(h) => format!("did you mean `{h}`?"),
                    None => "declare it under `events:` with its severity and attributes, or write a plain log without an event name".into(),
                }),
                pos,
            )];
        };
        let mut out = Vec::new();
        const ALWAYS: [&str; 4] = ["message", "event.name", "flow.name", "flow.step"];
        for (key, at) in fields {
            if ALWAYS.contains(&key.as_str())
                || event.allows(key)
                || self.reg.attribute_for_key(key).is_none()
            {
                continue;
            }
            let listed = || event.all_attributes();
            let hint = did_you_mean(key, listed())
                .map(|h| format!("did you mean `{h}`? "))
                .unwrap_or_default();
            out.push((
                Finding::new(
                    &rules::EVENT_ATTRIBUTE_NOT_LISTED_IN_SOURCE,
                    format!(
                        "log event `{name}` gets attribute `{key}`, which the event does not list"
                    ),
                )
                .subject("event", name)
                .subject("attribute", key)
                .help(format!(
                    "{hint}`{name}` lists {}; add `{key}` to its `attributes:` if it belongs there",
                    attributes(listed())
                )),
                *at,
            ));
        }
        let missing: Vec<&str> = event
            .required_attributes
            .iter()
            .map(String::as_str)
            .filter(|r| !fields.iter().any(|(k, _)| k == r))
            .collect();
        if !missing.is_empty() {
            let assignments: Vec<String> = missing.iter().map(|m| format!("`{m} = ..`")).collect();
            out.push((
                Finding::new(
                    &rules::EVENT_MISSING_ATTRIBUTE_IN_SOURCE,
                    format!(
                        "log event `{name}` is written without {}, which the event requires",
                        attributes(missing.iter().copied())
                    ),
                )
                .subject("event", name)
                .subject("attribute", missing.join(","))
                .help(format!("add {} to `{via}`", assignments.join(", "))),
                pos,
            ));
        }
        if let (Some(min), Some(written)) = (
            event.severity,
            level.and_then(flowtel_conventions::LogSeverity::parse),
        ) && written < min
        {
            out.push((
                Finding::new(
                    &rules::EVENT_SEVERITY_TOO_LOW_IN_SOURCE,
                    format!(
                        "log event `{name}` is written at `{}`, below its declared severity `{}`",
                        written.as_str(),
                        min.as_str()
                    ),
                )
                .subject("event", name)
                .subject("severity", min.as_str())
                .help(format!(
                    "write it at `{}` or above (`tracing::{}!`), or with `flowtel::event!`, which takes the declared severity",
                    min.as_str(),
                    min.as_str()
                )),
                pos,
            ));
        }
        out
    }

    fn metric(
        &self,
        name: &str,
        instrument: flowtel_conventions::Instrument,
        via: &str,
    ) -> Option<Finding> {
        let Some(m) = self.reg.metrics.get(name) else {
            let hint = did_you_mean(name, self.reg.metrics.keys().map(String::as_str));
            return Some(
                Finding::new(
                    &rules::UNKNOWN_METRIC_IN_SOURCE,
                    format!("`{via}` creates metric `{name}`, which the conventions do not declare"),
                )
                .subject("metric", name)
                .help(match hint {
                    Some(h) => format!("did you mean `{h}`?"),
                    None => "declare the metric under `metrics:` in the conventions, or use a declared one".into(),
                }),
            );
        };
        if m.instrument != instrument {
            return Some(
                Finding::new(
                    &rules::INSTRUMENT_MISMATCH_IN_SOURCE,
                    format!(
                        "`{via}` creates `{name}` as a {}, but the conventions declare it a {}",
                        instrument.as_str(),
                        m.instrument.as_str()
                    ),
                )
                .subject("metric", name)
                .subject("instrument", m.instrument.as_str())
                .help(format!("create it with {}", constructors(m.instrument))),
            );
        }
        deprecated_metric(self.reg, name, "create")
    }

    fn metric_label(&self, metric: &str, label: &str) -> Option<Finding> {
        let m = self.reg.metrics.get(metric)?;
        if m.labels.iter().any(|l| l == label) {
            return None;
        }
        let hint = did_you_mean(label, m.labels.iter().map(String::as_str))
            .map(|h| format!("did you mean `{h}`? "))
            .unwrap_or_default();
        Some(
            Finding::new(
                &rules::UNDECLARED_METRIC_LABEL_IN_SOURCE,
                format!("metric `{metric}` gets label `{label}`, which it does not declare"),
            )
            .subject("metric", metric)
            .subject("label", label)
            .help(format!(
                "{hint}`{metric}` declares {}",
                list(m.labels.iter().map(String::as_str))
            )),
        )
    }

    fn unit(&self, metric: &str, unit: &str) -> Option<Finding> {
        let m = self.reg.metrics.get(metric)?;
        (m.unit != unit).then(|| {
            Finding::new(
                &rules::UNIT_MISMATCH_IN_SOURCE,
                format!(
                    "`{metric}` is given unit `{unit}`, but the conventions declare `{}`",
                    m.unit
                ),
            )
            .subject("metric", metric)
            .subject("unit", unit)
            .help(format!(
                "use `.with_unit(\"{}\")` and record values in that unit",
                m.unit
            ))
        })
    }

    fn attribute(&self, key: &str, via: &str) -> Option<Finding> {
        let Some((_, attr)) = self.reg.attribute_for_key(key) else {
            if let Some(word) = self.pii.key_word(key) {
                return Some(
                    Finding::new(
                        &rules::PII_NAMED_KEY_IN_SOURCE,
                        format!(
                            "`{via}` records attribute `{key}`, which the conventions do not declare and whose name says personal data (`{word}`)"
                        ),
                    )
                    .subject("attribute", key)
                    .subject("word", word)
                    .help(format!(
                        "declare it under `attributes:` with `pii: true` (and `redact: hash` or `drop`) and record it with `redact({key})`, or stop recording it"
                    )),
                );
            }
            let hint = did_you_mean(key, self.reg.attributes.keys().map(String::as_str));
            return Some(
                Finding::new(
                    &rules::UNDECLARED_ATTRIBUTE_KEY,
                    format!(
                        "`{via}` records attribute `{key}`, which the conventions do not declare"
                    ),
                )
                .subject("attribute", key)
                .help(match hint {
                    Some(h) => format!("did you mean `{h}`?"),
                    None => "declare it under `attributes:` with a type and a value limit".into(),
                }),
            );
        };
        if attr.pii {
            return Some(
                Finding::new(
                    &rules::PII_KEY_RECORDED,
                    format!("`{via}` records `{key}`, which is personal data (`pii: true`), in clear"),
                )
                .subject("attribute", key)
                .help(format!(
                    "record it through `#[flowtel::step(.., fields({key} = redact(value)))]`, which hashes or drops it as the conventions say"
                )),
            );
        }
        deprecated_attribute(self.reg, key, "write")
    }

    fn span_name(&self, name: &str, via: &str) -> Option<Finding> {
        let re = self.span_pattern.as_ref()?;
        (!re.is_match(name)).then(|| {
            Finding::new(
                &rules::SPAN_NAME_NOT_CONVENTIONAL,
                format!(
                    "`{via}` names a span `{name}`, which does not match the conventions' span pattern `{}`",
                    self.reg.naming.span
                ),
            )
            .subject("span", name)
            .help("name spans by the operation, low-cardinality, without identifiers")
        })
    }
}

fn constructors(i: flowtel_conventions::Instrument) -> &'static str {
    use flowtel_conventions::Instrument as I;
    match i {
        I::Counter => "`u64_counter`/`f64_counter` (or `counter!`)",
        I::UpdownCounter => "`i64_up_down_counter`/`f64_up_down_counter`",
        I::Histogram => "`f64_histogram`/`u64_histogram` (or `histogram!`)",
        I::Gauge => "`u64_gauge`/`i64_gauge`/`f64_gauge` (or `gauge!`)",
    }
}

fn list<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let v: Vec<String> = names.map(|n| format!("`{n}`")).collect();
    if v.is_empty() {
        "no labels".into()
    } else {
        v.join(", ")
    }
}

fn attributes<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let v: Vec<String> = names.map(|n| format!("`{n}`")).collect();
    if v.is_empty() {
        "no attributes".into()
    } else {
        v.join(", ")
    }
}
