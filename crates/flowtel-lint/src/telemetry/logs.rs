//! Per-record rules over OTLP log records (`FT017x`): declared events (name, required and
//! listed attributes, lowest severity), trace correlation, and body text that belongs in an
//! attribute. Per-attribute checks (undeclared keys, personal data, enum values) are the
//! attribute rules' in `otlp`; this module looks at a record as an event.
//!
//! Correlation is judged per service over the whole input: a service whose records all lack
//! trace context may simply not trace, but one that correlates some records and not others
//! writes logs outside its spans. The per-service tally is capped, so memory stays bounded.

use flowtel_conventions::model::{BodyPattern, Event, LogSeverity};
use flowtel_conventions::rules::logs as rules;
use flowtel_conventions::{Finding, Location, Registry, finding::did_you_mean};
use flowtel_otlp::{AnyValue, Batch, Located, LogRecord};
use regex::{Regex, RegexSet};

use super::TelemetryLinter;
use super::index::{FastMap, fast_map};
use super::otlp::location;
use super::tally::hash_str;

/// Services whose correlation is tallied; records of further services are not judged.
const MAX_SERVICES: usize = 4096;

/// Attributes every event may carry whatever it lists: flowtel's flow context and the name.
const ALWAYS_ALLOWED: [&str; 3] = ["flow.name", "flow.step", "event.name"];

/// Namespaces logging bridges add to every record (source location, the exception logged,
/// the thread), which no event needs to list.
const BRIDGE_NAMESPACES: [&str; 3] = ["code.", "exception.", "thread."];

/// What the log rules keep across batches.
pub(crate) struct LogChecks {
    patterns: Vec<(String, BodyPattern)>,
    /// The patterns compiled together, on the first record with a text body (compiling costs
    /// more than most inputs without logs take to lint).
    set: std::sync::OnceLock<Option<RegexSet>>,
    services: FastMap<u64, ServiceLogs>,
}

/// Correlation tally of one service.
struct ServiceLogs {
    name: String,
    correlated: u64,
    uncorrelated: u64,
    first_uncorrelated: Option<Location>,
}

impl LogChecks {
    pub fn new(reg: &Registry) -> Self {
        let configured = reg
            .lint
            .body_patterns
            .clone()
            .unwrap_or_else(BodyPattern::built_in);
        LogChecks {
            patterns: configured.into_iter().collect(),
            set: std::sync::OnceLock::new(),
            services: fast_map(),
        }
    }

    /// The compiled patterns; broken ones are `flowtel check`'s finding (FT0063) and skipped.
    fn set(&mut self) -> Option<&RegexSet> {
        if self.set.get().is_none() {
            self.patterns
                .retain(|(_, p)| Regex::new(&p.pattern).is_ok());
            let set = (!self.patterns.is_empty())
                .then(|| RegexSet::new(self.patterns.iter().map(|(_, p)| p.pattern.as_str())).ok())
                .flatten();
            let _ = self.set.set(set);
        }
        self.set.get().and_then(Option::as_ref)
    }
}

/// The event a record is an instance of: OTLP `eventName`, else the `event.name` attribute.
/// `tracing`'s default names (`event src/main.rs:12`) name a call site, not an event.
pub fn event_name(rec: &LogRecord) -> Option<&str> {
    let n = rec.event_name.as_str();
    if !n.is_empty() && !is_call_site_name(n) {
        return Some(n);
    }
    flowtel_otlp::attribute(&rec.attributes, "event.name").and_then(AnyValue::as_str)
}

fn is_call_site_name(n: &str) -> bool {
    n.starts_with("event ") && n.contains(':')
}

/// The severity range of a record: its number, else its text; `None` when unspecified.
pub fn severity(rec: &LogRecord) -> Option<LogSeverity> {
    LogSeverity::from_number(rec.severity_number).or_else(|| LogSeverity::parse(&rec.severity_text))
}

impl TelemetryLinter<'_> {
    /// The log rules for one record.
    pub(super) fn log_record(&mut self, batch: &Batch, l: &Located<'_, LogRecord>) {
        let rec = l.item;
        let service = flowtel_otlp::attribute(&l.resource.attributes, "service.name")
            .and_then(AnyValue::as_str)
            .unwrap_or("unknown_service");
        let at = || location(&batch.origin, l.pointer());
        let name = event_name(rec);
        let decl = name.and_then(|n| self.ix.reg.events.get_key_value(n));
        let mut flow_reported = false;
        match (name, decl) {
            (Some(name), None) => {
                let reg = self.ix.reg;
                self.found.report((rules::UNKNOWN_EVENT.id, name), || {
                    Finding::new(
                        &rules::UNKNOWN_EVENT,
                        format!(
                            "log record names event `{name}`, which the conventions do not declare"
                        ),
                    )
                    .at(at())
                    .subject("event", name)
                    .subject("service", service)
                    .help(
                        match did_you_mean(name, reg.events.keys().map(String::as_str)) {
                            Some(s) => format!("did you mean `{s}`?"),
                            None => format!(
                                "declare `{name}` under `events`, or log it without an event name"
                            ),
                        },
                    )
                });
            }
            (_, Some((name, ev))) => {
                flow_reported = self.declared_event(batch, l, name, ev, service);
            }
            (None, None) => {}
        }
        let key = hash_str(service);
        if self.logs.services.len() < MAX_SERVICES || self.logs.services.contains_key(&key) {
            let s = self
                .logs
                .services
                .entry(key)
                .or_insert_with(|| ServiceLogs {
                    name: service.to_string(),
                    correlated: 0,
                    uncorrelated: 0,
                    first_uncorrelated: None,
                });
            if rec.trace_id.is_some() {
                s.correlated += 1;
            } else if !flow_reported {
                s.uncorrelated += 1;
                if s.first_uncorrelated.is_none() {
                    s.first_uncorrelated = Some(at());
                }
            }
        }
        let matched: Vec<usize> = match &rec.body {
            AnyValue::String(body) => match self.logs.set() {
                Some(set) => set.matches(body).iter().collect(),
                None => Vec::new(),
            },
            _ => Vec::new(),
        };
        {
            for i in matched {
                let (pname, p) = &self.logs.patterns[i];
                let whose = name.unwrap_or(service);
                self.found
                    .report((rules::LOG_BODY_HOLDS_ATTRIBUTE.id, pname.as_str(), whose), || {
                        let what = if p.pii { "personal data" } else { "a value" };
                        let mut f = Finding::new(
                            &rules::LOG_BODY_HOLDS_ATTRIBUTE,
                            format!(
                                "log body of {} holds {what} matching body pattern `{pname}`",
                                match name {
                                    Some(n) => format!("event `{n}`"),
                                    None => format!("service `{service}`"),
                                }
                            ),
                        )
                        .at(location(&batch.origin, format!("{}/body", l.pointer())))
                        .subject("pattern", pname.as_str())
                        .subject("service", service);
                        if let Some(n) = name {
                            f = f.subject("event", n);
                        }
                        let help = match (&p.attribute, p.pii) {
                            (Some(a), _) => format!("record the value as attribute `{a}` (redacted if it is `pii`), not in the message"),
                            (None, true) => "keep personal data out of messages: record it as a `pii` attribute, which flowtel hashes or drops".to_string(),
                            (None, false) => "record the value as an attribute, not in the message".to_string(),
                        };
                        f.help(help)
                    });
            }
        }
    }

    /// Checks a record of a declared event; returns whether it was reported as uncorrelated.
    fn declared_event(
        &mut self,
        batch: &Batch,
        l: &Located<'_, LogRecord>,
        name: &str,
        ev: &Event,
        service: &str,
    ) -> bool {
        let rec = l.item;
        let at = || location(&batch.origin, l.pointer());
        let has = |k: &str| rec.attributes.iter().any(|kv| kv.key == k);
        for req in &ev.required_attributes {
            if !has(req) {
                self.found
                    .report((rules::EVENT_MISSING_ATTRIBUTE.id, name, req.as_str()), || {
                        Finding::new(
                            &rules::EVENT_MISSING_ATTRIBUTE,
                            format!("event `{name}` arrives without its required attribute `{req}`"),
                        )
                        .at(at())
                        .subject("event", name)
                        .subject("attribute", req.as_str())
                        .subject("service", service)
                        .help(format!("write `{req}` with every `{name}` (`flowtel::event!` checks this at compile time)"))
                    });
            }
        }
        for (i, kv) in rec.attributes.iter().enumerate() {
            let key = kv.key.as_str();
            if ev.allows(key)
                || ALWAYS_ALLOWED.contains(&key)
                || BRIDGE_NAMESPACES.iter().any(|p| key.starts_with(p))
            {
                continue;
            }
            self.found
                .report((rules::EVENT_ATTRIBUTE_NOT_LISTED.id, name, key), || {
                    Finding::new(
                        &rules::EVENT_ATTRIBUTE_NOT_LISTED,
                        format!("event `{name}` carries attribute `{key}`, which the event does not list"),
                    )
                    .at(location(&batch.origin, l.attribute_pointer(i)))
                    .subject("event", name)
                    .subject("attribute", key)
                    .help(format!("add `{key}` to the event's `attributes`, or stop writing it"))
                });
        }
        if let (Some(min), Some(got)) = (ev.severity, severity(rec))
            && got < min
        {
            self.found.report(
                (rules::EVENT_SEVERITY_TOO_LOW.id, name, got.as_str()),
                || {
                    Finding::new(
                        &rules::EVENT_SEVERITY_TOO_LOW,
                        format!(
                            "event `{name}` is logged at `{}`, below its declared severity `{}`",
                            got.as_str(),
                            min.as_str()
                        ),
                    )
                    .at(at())
                    .subject("event", name)
                    .subject("severity", got.as_str())
                    .subject("expected", min.as_str())
                    .help(format!("log `{name}` at `{}` or above", min.as_str()))
                },
            );
        }
        let Some(flow) = &ev.flow else {
            return false;
        };
        let missing = if rec.trace_id.is_none() {
            Some("trace context")
        } else if !has("flow.name") {
            Some("`flow.name`")
        } else {
            None
        };
        if let Some(what) = missing {
            self.found.report((rules::UNCORRELATED_LOG.id, name, what), || {
                Finding::new(
                    &rules::UNCORRELATED_LOG,
                    format!("event `{name}`, declared for flow `{flow}`, arrives without {what}"),
                )
                .at(at())
                .subject("event", name)
                .subject("flow", flow.as_str())
                .subject("service", service)
                .help(format!("write `{name}` inside the `{flow}` flow's span (`flowtel::event!` in the step, `.in_current_span()` for spawned tasks), where flowtel adds the trace id and `flow.name`"))
            });
            return rec.trace_id.is_none();
        }
        false
    }

    /// Whole-input log rules: services that correlate some records and not others.
    pub(super) fn logs_whole_input(&mut self) {
        let mut mixed: Vec<&ServiceLogs> = self
            .logs
            .services
            .values()
            .filter(|s| s.correlated > 0 && s.uncorrelated > 0)
            .collect();
        mixed.sort_by(|a, b| a.name.cmp(&b.name));
        let findings: Vec<Finding> = mixed
            .into_iter()
            .map(|s| {
                Finding::new(
                    &rules::UNCORRELATED_LOG,
                    format!(
                        "service `{}` wrote {} log record(s) without trace context, while {} of its records carry one",
                        s.name, s.uncorrelated, s.correlated
                    ),
                )
                .at(s.first_uncorrelated.clone())
                .subject("service", s.name.as_str())
                .subject("uncorrelated", s.uncorrelated.to_string())
                .subject("correlated", s.correlated.to_string())
                .help("log inside the request's span: enter it in spawned tasks (`.in_current_span()`) and threads, so the record carries the trace id")
            })
            .collect();
        for f in findings {
            self.found.push(f);
        }
    }
}
