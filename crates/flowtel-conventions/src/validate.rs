//! Validation of a merged registry: the `FT00xx` rules that look at content, not syntax.
//!
//! Every check reports at the node that is wrong, found through the registry's origins and
//! source map, so a finding about an imported layer points into that layer's file.

use std::collections::HashMap;

use regex::Regex;

use crate::duration::Duration;
use crate::finding::{Finding, Location, did_you_mean};
use crate::load::Registry;
use crate::model::{Attribute, AttributeType, Instrument, Metric, Regress, Saturation};

/// Fewest samples per side a `regress.min_samples` may ask for.
pub const MIN_REGRESS_SAMPLES: u32 = 10;
use crate::rules::{self, registry as r};
use crate::source::{FileId, Seg};
use crate::units;

/// Runs every registry rule over `reg`.
pub fn validate(reg: &Registry) -> Vec<Finding> {
    let mut v = Validator {
        reg,
        findings: Vec::new(),
    };
    v.layers();
    let naming = v.naming();
    v.attributes(&naming);
    v.metrics(&naming);
    v.flows(&naming);
    v.recorded_metrics();
    v.sampling();
    v.events(&naming);
    v.body_patterns();
    v.allow_attributes();
    v.findings
}

struct CompiledNaming {
    metric: Option<Regex>,
    attribute: Option<Regex>,
    flow: Option<Regex>,
    step: Option<Regex>,
    event: Option<Regex>,
}

struct Validator<'a> {
    reg: &'a Registry,
    findings: Vec<Finding>,
}

impl<'a> Validator<'a> {
    fn at(&self, file: FileId, path: &[Seg<'_>]) -> Option<Location> {
        self.reg.sources.locate(file, path)
    }

    fn origin(map: &HashMap<String, FileId>, name: &str) -> FileId {
        map.get(name).copied().unwrap_or(0)
    }

    fn push(&mut self, f: Finding) {
        self.findings.push(f);
    }

    /// Per-layer checks: version, naming patterns, lint overrides, defaults.
    fn layers(&mut self) {
        for layer in &self.reg.layers {
            let c = &layer.content;
            let f = layer.file;
            if let Err(e) = semver::Version::parse(&c.version) {
                self.push(
                    Finding::new(
                        &r::INVALID_VERSION,
                        format!("version `{}` is not semver: {e}", c.version),
                    )
                    .at(self.at(f, &[Seg::Key("version")]))
                    .help("write MAJOR.MINOR.PATCH, e.g. `2.3.0`"),
                );
            }
            if let Some(n) = &c.naming {
                for (kind, pattern) in [
                    ("metric", &n.metric),
                    ("attribute", &n.attribute),
                    ("flow", &n.flow),
                    ("step", &n.step),
                    ("span", &n.span),
                    ("event", &n.event),
                ] {
                    if let Err(e) = Regex::new(pattern) {
                        let msg = e.to_string();
                        let first = msg.lines().last().unwrap_or(&msg).trim().to_string();
                        self.push(
                            Finding::new(
                                &r::INVALID_REGEX,
                                format!("naming pattern for {kind}s does not compile: {first}"),
                            )
                            .at(self.at(f, &[Seg::Key("naming"), Seg::Key(kind)]))
                            .help("fix the regular expression (Rust `regex` syntax)"),
                        );
                    }
                }
            }
            if let Some(p) = &c.pii {
                for (name, pattern) in &p.value_patterns {
                    if let Err(e) = Regex::new(pattern) {
                        let msg = e.to_string();
                        let first = msg.lines().last().unwrap_or(&msg).trim().to_string();
                        self.push(
                            Finding::new(
                                &r::PII_DETECTION_INVALID,
                                format!("personal-data value pattern `{name}` does not compile: {first}"),
                            )
                            .at(self.at(f, &[Seg::Key("pii"), Seg::Key("value_patterns"), Seg::Key(name)]))
                            .help("fix the regular expression (Rust `regex` syntax), e.g. `^E[0-9]{6}$`"),
                        );
                    }
                }
                for (i, w) in p.key_words.iter().enumerate() {
                    if w.trim().is_empty() || w.contains(['.', '_', '-', '/', ' ']) {
                        self.push(
                            Finding::new(
                                &r::PII_DETECTION_INVALID,
                                format!("personal-data key word `{w}` is not one word: keys are matched token by token"),
                            )
                            .at(self.at(f, &[Seg::Key("pii"), Seg::Key("key_words"), Seg::Index(i)]))
                            .help("write single words (`email`, `badge`); `user_email` is matched by `email`"),
                        );
                    }
                }
            }
            if let Some(d) = &c.defaults {
                self.duration(
                    &d.slo_window,
                    f,
                    &[Seg::Key("defaults"), Seg::Key("slo_window")],
                );
                if let Some(rg) = &d.regress {
                    self.regress(rg, f, &[Seg::Key("defaults"), Seg::Key("regress")], None);
                }
                if !(d.saturation_warn > 0.0 && d.saturation_warn <= 1.0) {
                    self.push(
                        Finding::new(
                            &r::SATURATION_LIMIT,
                            format!(
                                "`defaults.saturation_warn` is {}, not a fraction in (0, 1]",
                                d.saturation_warn
                            ),
                        )
                        .at(self.at(f, &[Seg::Key("defaults"), Seg::Key("saturation_warn")]))
                        .help("write the fraction of the limit to warn at, e.g. `0.8`"),
                    );
                }
                let sd = &d.sampling;
                let at =
                    |k: &'static str| [Seg::Key("defaults"), Seg::Key("sampling"), Seg::Key(k)];
                if !(0.0..=1.0).contains(&sd.ratio) {
                    self.push(
                        Finding::new(
                            &r::SAMPLING_RATIO,
                            format!(
                                "default sampling ratio {} is not a probability in [0, 1]",
                                sd.ratio
                            ),
                        )
                        .at(self.at(f, &at("ratio")))
                        .help("write the share of traces to keep, e.g. `1.0` for all, `0.1` for one in ten"),
                    );
                }
                if sd.num_traces == 0 {
                    self.push(
                        Finding::new(
                            &r::SAMPLING_RATIO,
                            "`defaults.sampling.num_traces` is 0: the tail sampler could hold no trace",
                        )
                        .at(self.at(f, &at("num_traces")))
                        .help("hold at least the traces that start during `decision_wait`, e.g. `50000`"),
                    );
                }
                self.duration(&sd.decision_wait, f, &at("decision_wait"));
            }
            if let Some(alerts) = c.lint.as_ref().and_then(|l| l.alerts.as_ref()) {
                self.duration(
                    &alerts.scrape_interval,
                    f,
                    &[
                        Seg::Key("lint"),
                        Seg::Key("alerts"),
                        Seg::Key("scrape_interval"),
                    ],
                );
            }
            if let Some(lint) = &c.lint {
                for key in lint.rules.keys() {
                    if rules::find(key).is_none() {
                        let names: Vec<&str> = rules::all().flat_map(|r| [r.id, r.name]).collect();
                        self.push(
                            Finding::new(
                                &r::UNKNOWN_RULE_OVERRIDE,
                                format!("no rule is called `{key}`"),
                            )
                            .at(self.at(f, &[Seg::Key("lint"), Seg::Key("rules"), Seg::Name(key)]))
                            .maybe_help(
                                did_you_mean(key, names).map(|s| format!("did you mean `{s}`?")),
                            )
                            .help_if_none("`flowtel explain --list` shows every rule"),
                        );
                    }
                }
            }
        }
    }

    fn naming(&self) -> CompiledNaming {
        let n = &self.reg.naming;
        CompiledNaming {
            metric: Regex::new(&n.metric).ok(),
            attribute: Regex::new(&n.attribute).ok(),
            flow: Regex::new(&n.flow).ok(),
            step: Regex::new(&n.step).ok(),
            event: Regex::new(&n.event).ok(),
        }
    }

    /// Checks a name against its pattern; the node is only located when the check fails.
    fn name_check(
        &mut self,
        kind: &str,
        name: &str,
        re: &Option<Regex>,
        file: FileId,
        path: &[Seg<'_>],
    ) {
        if let Some(re) = re
            && !re.is_match(name)
        {
            let loc = self.at(file, path);
            self.push(
                Finding::new(
                    &r::NAME_NOT_CONVENTIONAL,
                    format!(
                        "{kind} name `{name}` does not match the naming pattern `{}`",
                        re.as_str()
                    ),
                )
                .at(loc)
                .subject(kind, name)
                .help(format!(
                    "rename it to match `naming.{kind}`: dotted lower snake case, e.g. `{}`",
                    suggest_name(name)
                )),
            );
        }
    }

    /// Log events: names, attributes (declared; required `pii` ones must survive redaction),
    /// flow and step.
    fn events(&mut self, naming: &CompiledNaming) {
        let reg = self.reg;
        for (name, ev) in &reg.events {
            let f = Self::origin(&reg.origins.events, name);
            if self.reg.is_semconv_file(f) {
                continue; // OpenTelemetry's own events: checked by the semconv rules
            }
            self.name_check(
                "event",
                name,
                &naming.event,
                f,
                &[Seg::Key("events"), Seg::Name(name)],
            );
            for (list, keys) in [
                ("attributes", &ev.attributes),
                ("required_attributes", &ev.required_attributes),
            ] {
                for (i, key) in keys.iter().enumerate() {
                    let loc = || {
                        self.at(
                            f,
                            &[
                                Seg::Key("events"),
                                Seg::Key(name),
                                Seg::Key(list),
                                Seg::Index(i),
                            ],
                        )
                    };
                    match reg.attributes.get(key) {
                        None => self.push(
                            Finding::new(&r::EVENT_UNDECLARED_ATTRIBUTE, format!("event `{name}` lists attribute `{key}`, which is not declared"))
                                .at(loc())
                                .subject("event", name)
                                .subject("attribute", key)
                                .maybe_help(did_you_mean(key, reg.attributes.keys().map(String::as_str)).map(|s| format!("did you mean `{s}`?")))
                                .help_if_none(format!("declare `{key}` under `attributes`, or drop it from the event")),
                        ),
                        Some(a)
                            if list == "required_attributes"
                                && a.pii
                                && a.redact != Some(crate::model::Redaction::Hash) =>
                        {
                            self.push(
                                Finding::new(&r::EVENT_REQUIRED_PII_DROPPED, format!("event `{name}` requires `{key}`, which is personal data that redaction drops from every log record"))
                                    .at(loc())
                                    .subject("event", name)
                                    .subject("attribute", key)
                                    .help(format!("set `redact: hash` on attribute `{key}` so records keep a correlatable hash, or make it optional under `attributes`")),
                            )
                        }
                        Some(_) => {}
                    }
                }
            }
            let at = |k: &'a str| [Seg::Key("events"), Seg::Key(name), Seg::Key(k)];
            match (&ev.flow, &ev.step) {
                (None, Some(step)) => self.push(
                    Finding::new(
                        &r::EVENT_UNKNOWN_FLOW,
                        format!("event `{name}` names step `{step}` but no flow"),
                    )
                    .at(self.at(f, &at("step")))
                    .subject("event", name)
                    .help("add `flow: <flow>`, the flow whose step this is"),
                ),
                (Some(flow), step) => match reg.flows.get(flow) {
                    None => self.push(
                        Finding::new(
                            &r::EVENT_UNKNOWN_FLOW,
                            format!(
                                "event `{name}` belongs to flow `{flow}`, which is not declared"
                            ),
                        )
                        .at(self.at(f, &at("flow")))
                        .subject("event", name)
                        .subject("flow", flow)
                        .maybe_help(
                            did_you_mean(flow, reg.flows.keys().map(String::as_str))
                                .map(|s| format!("did you mean `{s}`?")),
                        )
                        .help_if_none("name a declared flow, or drop `flow`"),
                    ),
                    Some(fl) => {
                        if let Some(step) = step
                            && !fl.steps.contains_key(step)
                        {
                            self.push(
                                Finding::new(
                                    &r::EVENT_UNKNOWN_FLOW,
                                    format!("event `{name}` names step `{step}`, which flow `{flow}` does not have"),
                                )
                                .at(self.at(f, &at("step")))
                                .subject("event", name)
                                .subject("flow", flow)
                                .subject("step", step)
                                .maybe_help(
                                    did_you_mean(step, fl.steps.keys().map(String::as_str))
                                        .map(|s| format!("did you mean `{s}`?")),
                                )
                                .help_if_none(format!("name a step of `{flow}`, or drop `step`")),
                            );
                        }
                    }
                },
                (None, None) => {}
            }
        }
    }

    /// `lint.allow_attributes`: each entry is a key, a namespace or `*`, and covers no attribute a
    /// flowtel layer declares.
    fn allow_attributes(&mut self) {
        for layer in &self.reg.layers {
            let Some(lint) = &layer.content.lint else {
                continue;
            };
            let f = layer.file;
            for (i, pattern) in lint.allow_attributes.iter().enumerate() {
                let at = [
                    Seg::Key("lint"),
                    Seg::Key("allow_attributes"),
                    Seg::Index(i),
                ];
                if let Some(problem) = crate::model::attribute_pattern_problem(pattern) {
                    self.push(
                        Finding::new(
                            &r::INVALID_ALLOW_ATTRIBUTE,
                            format!("`allow_attributes` entry `{pattern}` {problem}"),
                        )
                        .at(self.at(f, &at))
                        .subject("pattern", pattern.as_str())
                        .help(format!(
                            "write a key (`host.name`), a namespace with `.*` (`{}.*`), or `*`",
                            suggest_namespace(pattern)
                        )),
                    );
                    continue;
                }
                let covered: Vec<&str> = self
                    .reg
                    .attributes
                    .keys()
                    .map(String::as_str)
                    .filter(|a| crate::model::attribute_pattern_matches(pattern, a))
                    .filter(|a| !self.reg.semconv_owns(a))
                    .collect();
                if covered.is_empty() {
                    continue;
                }
                let shown = covered
                    .iter()
                    .take(3)
                    .map(|a| format!("`{a}`"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let more = match covered.len() {
                    n if n > 3 => format!(" and {} more", n - 3),
                    _ => String::new(),
                };
                let help = if covered.len() == 1 && covered[0] == pattern {
                    format!("drop `{pattern}`: it is declared, so it is checked already")
                } else {
                    "allow the undeclared keys you expect by name instead, so misspellings of the declared ones are still reported".to_string()
                };
                self.push(
                    Finding::new(
                        &r::ALLOW_ATTRIBUTE_COVERS_DECLARED,
                        format!("`allow_attributes` entry `{pattern}` covers declared attributes: {shown}{more}"),
                    )
                    .at(self.at(f, &at))
                    .subject("pattern", pattern.as_str())
                    .help(help),
                );
            }
        }
    }

    /// `lint.body_patterns`: each pattern compiles and names a declared attribute.
    fn body_patterns(&mut self) {
        for layer in &self.reg.layers {
            let Some(patterns) = layer
                .content
                .lint
                .as_ref()
                .and_then(|l| l.body_patterns.as_ref())
            else {
                continue;
            };
            let f = layer.file;
            for (name, p) in patterns {
                let at = |k: &'a str| {
                    [
                        Seg::Key("lint"),
                        Seg::Key("body_patterns"),
                        Seg::Key(name),
                        Seg::Key(k),
                    ]
                };
                if let Err(e) = Regex::new(&p.pattern) {
                    let msg = e.to_string();
                    let first = msg.lines().last().unwrap_or(&msg).trim().to_string();
                    self.push(
                        Finding::new(
                            &r::INVALID_BODY_PATTERN,
                            format!("body pattern `{name}` does not compile: {first}"),
                        )
                        .at(self.at(f, &at("pattern")))
                        .subject("pattern", name)
                        .help("fix the regular expression (Rust `regex` syntax)"),
                    );
                }
                if let Some(attr) = &p.attribute
                    && !self.reg.attributes.contains_key(attr)
                {
                    self.push(
                        Finding::new(
                            &r::INVALID_BODY_PATTERN,
                            format!("body pattern `{name}` names attribute `{attr}`, which is not declared"),
                        )
                        .at(self.at(f, &at("attribute")))
                        .subject("pattern", name)
                        .maybe_help(
                            did_you_mean(attr, self.reg.attributes.keys().map(String::as_str))
                                .map(|s| format!("did you mean `{s}`?")),
                        )
                        .help_if_none(format!("declare `{attr}` under `attributes`")),
                    );
                }
            }
        }
    }

    fn duration(&mut self, d: &Duration, file: FileId, path: &[Seg<'_>]) {
        if let Err(e) = crate::duration::parse(d.raw()) {
            self.push(
                Finding::new(&r::INVALID_DURATION, format!("invalid duration: {e}"))
                    .at(self.at(file, path))
                    .help("write a number and a unit: `250ms`, `2s`, `5m`, `30d`"),
            );
        }
    }

    /// A `regress` block: percentages in range, a readable `min_delta`, enough samples.
    fn regress(&mut self, rg: &Regress, file: FileId, path: &[Seg<'_>], flow: Option<&str>) {
        let whose = flow.map_or_else(
            || "`defaults.regress`".to_string(),
            |f| format!("flow `{f}`"),
        );
        let bad = |me: &mut Self, key: &str, message: String, help: &str| {
            let mut p = path.to_vec();
            p.push(Seg::Key(key));
            let mut finding = Finding::new(&r::INVALID_VALUE, message)
                .at(me.at(file, &p))
                .help(help);
            if let Some(f) = flow {
                finding = finding.subject("flow", f);
            }
            me.push(finding);
        };
        if let Some(c) = rg.confidence
            && !(80.0..100.0).contains(&c)
        {
            bad(
                self,
                "confidence",
                format!("regression-check confidence {c} of {whose} is not in [80, 100)"),
                "write a percentage such as 95 or 99",
            );
        }
        if let Some(m) = rg.max_increase
            && !(m > 0.0 && m.is_finite())
        {
            bad(
                self,
                "max_increase",
                format!(
                    "regression-check max_increase {m} of {whose} is not a positive percentage"
                ),
                "write the smallest slowdown that should fail a release, in percent, e.g. 10",
            );
        }
        if let Some(n) = rg.min_samples
            && n < MIN_REGRESS_SAMPLES
        {
            bad(
                self,
                "min_samples",
                format!(
                    "regression-check min_samples {n} of {whose} is below {MIN_REGRESS_SAMPLES}"
                ),
                "the tests say nothing about fewer samples; use at least 10 (P99 needs about 370 per side)",
            );
        }
        if let Some(d) = &rg.min_delta {
            let mut p = path.to_vec();
            p.push(Seg::Key("min_delta"));
            self.duration(d, file, &p);
        }
    }

    fn attributes(&mut self, naming: &CompiledNaming) {
        let reg = self.reg;
        for (name, a) in &reg.attributes {
            let f = Self::origin(&reg.origins.attributes, name);
            let here = |seg: &'static str| [Seg::Key("attributes"), Seg::Key(name), Seg::Key(seg)];
            self.name_check(
                "attribute",
                name,
                &naming.attribute,
                f,
                &[Seg::Key("attributes"), Seg::Name(name)],
            );
            if a.ty == AttributeType::Enum {
                if a.values.is_empty() {
                    self.push(
                        Finding::new(
                            &r::ENUM_VALUES,
                            format!("enum attribute `{name}` has no `values`"),
                        )
                        .at(self.at(f, &here("type")))
                        .subject("attribute", name)
                        .help("list the allowed values: `values: [a, b, c]`"),
                    );
                }
                let mut seen = std::collections::HashSet::new();
                for (i, v) in a.values.iter().enumerate() {
                    if !seen.insert(v) {
                        self.push(
                            Finding::new(
                                &r::ENUM_VALUES,
                                format!("enum attribute `{name}` lists value `{v}` twice"),
                            )
                            .at(self.at(
                                f,
                                &[
                                    Seg::Key("attributes"),
                                    Seg::Key(name),
                                    Seg::Key("values"),
                                    Seg::Index(i),
                                ],
                            ))
                            .subject("attribute", name)
                            .help("remove the repeated value"),
                        );
                    }
                }
            } else if !a.values.is_empty() {
                self.push(
                    Finding::new(
                        &r::ENUM_VALUES,
                        format!(
                            "attribute `{name}` has `values` but its type is `{}`",
                            a.ty.as_str()
                        ),
                    )
                    .at(self.at(f, &here("values")))
                    .subject("attribute", name)
                    .help("make it `type: enum`, or drop `values`"),
                );
            }
            if a.redact.is_some() && !a.pii {
                self.push(
                    Finding::new(
                        &r::PII_WITHOUT_PII_FLAG,
                        format!("attribute `{name}` sets `redact` but is not `pii`"),
                    )
                    .at(self.at(f, &here("redact")))
                    .subject("attribute", name)
                    .help("add `pii: true` if it is personal data, or drop `redact`"),
                );
            }
            if let Some(target) = a.deprecated.as_ref().and_then(|d| d.renamed_to())
                && !reg.attributes.contains_key(target)
            {
                self.push(
                    Finding::new(
                        &r::DEPRECATION_TARGET_MISSING,
                        format!(
                            "attribute `{name}` is renamed to `{target}`, which is not declared"
                        ),
                    )
                    .at(self.at(f, &here("deprecated")))
                    .subject("attribute", name)
                    .maybe_help(
                        did_you_mean(target, reg.attributes.keys().map(String::as_str))
                            .map(|s| format!("did you mean `{s}`?")),
                    )
                    .help_if_none(format!("declare `{target}` under `attributes`")),
                );
            }
        }
    }

    fn metrics(&mut self, naming: &CompiledNaming) {
        let reg = self.reg;
        for (name, m) in &reg.metrics {
            if reg.is_derived_metric(name) {
                continue; // checked through the saturation signal it derives from
            }
            let f = Self::origin(&reg.origins.metrics, name);
            let base = [Seg::Key("metrics"), Seg::Key(name)];
            let sub = |seg: &'a str| [Seg::Key("metrics"), Seg::Key(name), Seg::Key(seg)];
            self.name_check(
                "metric",
                name,
                &naming.metric,
                f,
                &[Seg::Key("metrics"), Seg::Name(name)],
            );
            if let Some((word, unit)) = units::unit_in_name(name) {
                self.push(
                    Finding::new(&r::UNIT_IN_NAME, format!("metric name `{name}` spells the unit `{word}` into the name"))
                        .at(self.at(f, &[Seg::Key("metrics"), Seg::Name(name)]))
                        .subject("metric", name)
                        .help(format!("drop `{word}` from the name and set `unit: {unit}`; exporters add the suffix")),
                );
            }
            if let Err(e) = units::check(&m.unit) {
                self.push(
                    Finding::new(
                        &r::INVALID_UNIT,
                        format!("metric `{name}` has an invalid unit: {e}"),
                    )
                    .at(self.at(f, &sub("unit")))
                    .subject("metric", name),
                );
            }
            for (i, label) in m.labels.iter().enumerate() {
                let loc = || {
                    self.at(
                        f,
                        &[
                            Seg::Key("metrics"),
                            Seg::Key(name),
                            Seg::Key("labels"),
                            Seg::Index(i),
                        ],
                    )
                };
                match reg.attributes.get(label) {
                    None => self.push(
                        Finding::new(&r::UNDECLARED_LABEL, format!("metric `{name}` uses label `{label}`, which is not a declared attribute"))
                            .at(loc())
                            .subject("metric", name)
                            .subject("label", label)
                            .maybe_help(did_you_mean(label, reg.attributes.keys().map(String::as_str)).map(|s| format!("did you mean `{s}`?")))
                            .help_if_none(format!("declare `{label}` under `attributes`, or drop the label")),
                    ),
                    Some(a) if a.pii => self.push(
                        Finding::new(&r::PII_LABEL, format!("metric `{name}` uses label `{label}`, which is personal data (`pii: true`)"))
                            .at(loc())
                            .subject("metric", name)
                            .subject("label", label)
                            .help("drop the label; record it on spans, where it is redacted"),
                    ),
                    Some(_) => {}
                }
            }
            if let Some(buckets) = &m.buckets {
                if m.instrument != Instrument::Histogram {
                    self.push(
                        Finding::new(
                            &r::BUCKETS_NOT_INCREASING,
                            format!(
                                "metric `{name}` is a {} but sets `buckets`",
                                m.instrument.as_str()
                            ),
                        )
                        .at(self.at(f, &sub("buckets")))
                        .subject("metric", name)
                        .help("only histograms have buckets; drop them"),
                    );
                }
                for (i, w) in buckets.windows(2).enumerate() {
                    if w[0] >= w[1] || !w[1].is_finite() || !w[0].is_finite() || w[0].is_nan() {
                        self.push(
                            Finding::new(&r::BUCKETS_NOT_INCREASING, format!("bucket boundaries of `{name}` must strictly increase: {} then {}", w[0], w[1]))
                                .at(self.at(f, &[Seg::Key("metrics"), Seg::Key(name), Seg::Key("buckets"), Seg::Index(i + 1)]))
                                .subject("metric", name)
                                .help("sort the boundaries and remove repeats"),
                        );
                        break;
                    }
                }
            }
            if let Some(sat) = &m.saturation {
                self.saturation(name, m, sat, f);
            }
            if let Some(signal) = name.strip_suffix(".limit")
                && let Some(sm) = reg.metrics.get(signal)
                && sm.saturation.is_some()
                && (m.instrument != Instrument::Gauge || m.unit != sm.unit)
            {
                self.push(
                    Finding::new(
                        &r::LIMIT_METRIC_CONFLICT,
                        format!(
                            "metric `{name}` is the limit gauge of saturation signal `{signal}` but is declared as a {} in `{}`",
                            m.instrument.as_str(),
                            m.unit
                        ),
                    )
                    .at(self.at(f, &[Seg::Key("metrics"), Seg::Name(name)]))
                    .subject("metric", name)
                    .help(format!(
                        "drop the declaration (flowtel derives `{name}` as a gauge in `{}`), or declare it that way",
                        sm.unit
                    )),
                );
            }
            if let Some(target) = m.deprecated.as_ref().and_then(|d| d.renamed_to())
                && !reg.metrics.contains_key(target)
            {
                self.push(
                    Finding::new(
                        &r::DEPRECATION_TARGET_MISSING,
                        format!("metric `{name}` is renamed to `{target}`, which is not declared"),
                    )
                    .at(self.at(f, &base))
                    .subject("metric", name)
                    .help(format!("declare `{target}` under `metrics`")),
                );
            }
        }
    }

    /// `FT0030`: each metric the SDK records that a registry with flows does not declare,
    /// reported at the first flow.
    fn recorded_metrics(&mut self) {
        let reg = self.reg;
        let Some(first) = reg.flows.keys().next() else {
            return;
        };
        let f = Self::origin(&reg.origins.flows, first);
        let at = self.at(f, &[Seg::Key("flows"), Seg::Name(first)]);
        for m in crate::recorded::missing(reg) {
            let undeclared: Vec<&str> = m
                .labels
                .iter()
                .copied()
                .filter(|l| !reg.attributes.contains_key(*l))
                .collect();
            let also = if undeclared.is_empty() {
                String::new()
            } else {
                format!(
                    ", and declare its labels {} under `attributes:`",
                    undeclared
                        .iter()
                        .map(|l| format!("`{l}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            let what = match reg.metrics.get(m.name) {
                Some(d) => format!(
                    "declares `{}` as a {}, but flowtel records it as a {}",
                    m.name,
                    d.instrument.as_str(),
                    m.instrument.as_str()
                ),
                None => format!("does not declare `{}`", m.name),
            };
            self.push(
                Finding::new(
                    &r::RECORDED_METRIC_MISSING,
                    format!(
                        "the registry declares flows but {what}, which {} records: nothing will be recorded for it",
                        m.recorded_by
                    ),
                )
                .at(at.clone())
                .subject("metric", m.name)
                .help(format!(
                    "add under `metrics:` `{}`{also} (or import a platform layer that declares it)",
                    m.declaration()
                )),
            );
        }
    }

    /// A saturation signal: the instrument can hold a level, the limit is a capacity, and the
    /// labels that identify one resource stay within the cardinality limit.
    fn saturation(&mut self, name: &str, m: &Metric, sat: &Saturation, f: FileId) {
        let reg = self.reg;
        let at = |rest: &[Seg<'_>]| {
            let mut p = vec![Seg::Key("metrics"), Seg::Key(name), Seg::Key("saturation")];
            p.extend_from_slice(rest);
            reg.sources.locate(f, &p)
        };
        if !matches!(m.instrument, Instrument::UpdownCounter | Instrument::Gauge) {
            let loc = self.at(
                f,
                &[Seg::Key("metrics"), Seg::Key(name), Seg::Key("instrument")],
            );
            self.push(
                Finding::new(
                    &r::SATURATION_INSTRUMENT,
                    format!(
                        "metric `{name}` declares a saturation limit but is a {}, which has no current level",
                        m.instrument.as_str()
                    ),
                )
                .at(loc)
                .subject("metric", name)
                .help("make it `instrument: updown_counter` (inc/dec) or `gauge` (set), or drop `saturation`"),
            );
        }
        if !(sat.limit.is_finite() && sat.limit > 0.0) {
            let loc = at(&[Seg::Key("limit")]);
            self.push(
                Finding::new(
                    &r::SATURATION_LIMIT,
                    format!(
                        "saturation limit {} of `{name}` is not a positive number",
                        sat.limit
                    ),
                )
                .at(loc)
                .subject("metric", name)
                .help(format!(
                    "write the capacity of the resource in `{}`, e.g. `512`",
                    m.unit
                )),
            );
        }
        if let Some(w) = sat.warn
            && !(w > 0.0 && w <= 1.0)
        {
            let loc = at(&[Seg::Key("warn")]);
            self.push(
                Finding::new(
                    &r::SATURATION_LIMIT,
                    format!("saturation warn {w} of `{name}` is not a fraction in (0, 1]"),
                )
                .at(loc)
                .subject("metric", name)
                .help("write the fraction of the limit to warn at, e.g. `0.8`"),
            );
        }
        let cap = m
            .cardinality_limit
            .unwrap_or(reg.defaults.cardinality_limit) as u64;
        let mut sets: Option<u64> = Some(1);
        for (i, label) in sat.per.iter().enumerate() {
            let loc = at(&[Seg::Key("per"), Seg::Index(i)]);
            if !m.labels.contains(label) {
                self.push(
                    Finding::new(
                        &r::SATURATION_PER_LABEL,
                        format!("`per` label `{label}` of `{name}` is not one of its labels"),
                    )
                    .at(loc)
                    .subject("metric", name)
                    .subject("label", label)
                    .maybe_help(
                        did_you_mean(label, m.labels.iter().map(String::as_str))
                            .map(|s| format!("did you mean `{s}`?")),
                    )
                    .help_if_none(format!(
                        "add `{label}` to the labels of `{name}`, or drop it from `per`"
                    )),
                );
                sets = None;
                continue;
            }
            let bound = reg.attributes.get(label).and_then(value_bound);
            match bound {
                Some(n) => sets = sets.map(|s| s.saturating_mul(n)),
                None => {
                    self.push(
                        Finding::new(
                            &r::SATURATION_PER_LABEL,
                            format!("`per` label `{label}` of saturation signal `{name}` has unbounded values"),
                        )
                        .at(loc)
                        .subject("metric", name)
                        .subject("label", label)
                        .help(format!("bound `{label}`: `max_values` on the attribute, or make it an enum")),
                    );
                    sets = None;
                }
            }
        }
        if let Some(n) = sets
            && n > cap
        {
            let loc = at(&[Seg::Key("per")]);
            self.push(
                Finding::new(
                    &r::SATURATION_PER_LABEL,
                    format!(
                        "the `per` labels of `{name}` allow {n} resources, more than its cardinality limit of {cap}: resources over the limit would fold into one series"
                    ),
                )
                .at(loc)
                .subject("metric", name)
                .help("lower `max_values` of the `per` labels, or raise the metric's `cardinality_limit`"),
            );
        }
    }

    /// The top-level `sampling` section: known flows, probabilities, durations.
    fn sampling(&mut self) {
        let reg = self.reg;
        for (flow, s) in &reg.sampling {
            let f = Self::origin(&reg.origins.sampling, flow);
            let at = |k: &'static str| [Seg::Key("sampling"), Seg::Key(flow), Seg::Key(k)];
            if !reg.flows.contains_key(flow) {
                self.push(
                    Finding::new(
                        &r::SAMPLING_UNKNOWN_FLOW,
                        format!("sampling is set for flow `{flow}`, which no layer declares"),
                    )
                    .at(self.at(f, &[Seg::Key("sampling"), Seg::Name(flow)]))
                    .subject("flow", flow)
                    .maybe_help(
                        did_you_mean(flow, reg.flows.keys().map(String::as_str))
                            .map(|s| format!("did you mean `{s}`?")),
                    )
                    .help_if_none("declare the flow under `flows`, or remove the entry"),
                );
            }
            if let Some(ratio) = s.ratio
                && !(0.0..=1.0).contains(&ratio)
            {
                self.push(
                    Finding::new(
                        &r::SAMPLING_RATIO,
                        format!("sampling ratio {ratio} of flow `{flow}` is not a probability in [0, 1]"),
                    )
                    .at(self.at(f, &at("ratio")))
                    .subject("flow", flow)
                    .help("write the share of traces to keep, e.g. `0.1` for one in ten, `1.0` for all"),
                );
            }
            if let Some(d) = &s.keep_slower_than {
                self.duration(d, f, &at("keep_slower_than"));
            }
        }
    }

    fn flows(&mut self, naming: &CompiledNaming) {
        let reg = self.reg;
        let mut entries: HashMap<String, (String, Option<Location>)> = HashMap::new();
        for (name, flow) in &reg.flows {
            let f = Self::origin(&reg.origins.flows, name);
            let fl = |rest: &[Seg<'a>]| -> Vec<Seg<'a>> {
                let mut p = vec![Seg::Key("flows"), Seg::Key(name)];
                p.extend_from_slice(rest);
                p
            };
            self.name_check(
                "flow",
                name,
                &naming.flow,
                f,
                &[Seg::Key("flows"), Seg::Name(name)],
            );
            if flow.owner.as_deref().is_none_or(|o| o.trim().is_empty()) {
                self.push(
                    Finding::new(
                        &r::FLOW_WITHOUT_OWNER,
                        format!("flow `{name}` has no owner"),
                    )
                    .at(self.at(f, &[Seg::Key("flows"), Seg::Name(name)]))
                    .subject("flow", name)
                    .help("add `owner: <team>`, the team that is paged when the flow breaks"),
                );
            }
            for (i, entry) in flow.entry.iter().enumerate() {
                let loc = self.at(f, &fl(&[Seg::Key("entry"), Seg::Index(i)]));
                match entry.parsed() {
                    Err(e) => {
                        let help = match &e.fix {
                            Some(fix) => format!("write `{fix}`"),
                            None => "write `METHOD /route/{param}`, e.g. `POST /checkout`".into(),
                        };
                        self.push(
                            Finding::new(
                                &r::MALFORMED_ENTRY,
                                format!("entry `{entry}` of flow `{name}`: {e}"),
                            )
                            .at(loc)
                            .subject("flow", name)
                            .help(help),
                        );
                    }
                    Ok(_) => {
                        let key = entry.shape().unwrap_or_default();
                        if let Some((other, other_loc)) = entries.get(&key) {
                            if other != name {
                                self.push(
                                    Finding::new(&r::MALFORMED_ENTRY, format!("entry `{entry}` starts both flow `{other}` and flow `{name}`"))
                                        .at(loc)
                                        .subject("flow", name)
                                        .related(other_loc.clone(), format!("claimed by `{other}` here"))
                                        .help("an entry route maps requests to exactly one flow"),
                                );
                            }
                        } else {
                            entries.insert(key, (name.clone(), loc));
                        }
                    }
                }
            }
            let threshold = flow
                .slo
                .as_ref()
                .and_then(|s| s.latency.as_ref())
                .and_then(|l| l.threshold.get());
            for (step, s) in &flow.steps {
                self.name_check(
                    "step",
                    step,
                    &naming.step,
                    f,
                    &fl(&[Seg::Key("steps"), Seg::Name(step)]),
                );
                if s.service.is_none() {
                    self.push(
                        Finding::new(
                            &r::STEP_WITHOUT_SERVICE,
                            format!("step `{step}` of flow `{name}` does not name its service"),
                        )
                        .at(self.at(f, &fl(&[Seg::Key("steps"), Seg::Name(step)])))
                        .subject("flow", name)
                        .subject("step", step)
                        .help("add `service: <service.name>`"),
                    );
                }
                if let Some(budget) = &s.budget {
                    for (p, d) in budget.entries() {
                        let path = fl(&[
                            Seg::Key("steps"),
                            Seg::Key(step),
                            Seg::Key("budget"),
                            Seg::Key(p),
                        ]);
                        self.duration(d, f, &path);
                        if let (Some(t), Some(b), true) = (threshold, d.get(), p != "p50")
                            && b > t
                        {
                            self.push(
                                Finding::new(&r::BUDGET_OVER_SLO, format!("step `{step}` has a {p} budget of {d}, more than flow `{name}`'s latency threshold of {}", flow.slo.as_ref().and_then(|s| s.latency.as_ref()).map(|l| l.threshold.raw()).unwrap_or_default()))
                                    .at(self.at(f, &path))
                                    .subject("flow", name)
                                    .subject("step", step)
                                    .help("lower the budget, or raise the flow's threshold"),
                            );
                        }
                    }
                }
            }
            if let Some(rg) = &flow.regress {
                self.regress(rg, f, &fl(&[Seg::Key("regress")]), Some(name));
            }
            if let Some(slo) = &flow.slo {
                if let Some(a) = slo.availability
                    && !(a > 0.0 && a < 100.0)
                {
                    self.push(
                        Finding::new(
                            &r::SLO_OUT_OF_RANGE,
                            format!("availability {a} of flow `{name}` is not in (0, 100)"),
                        )
                        .at(self.at(f, &fl(&[Seg::Key("slo"), Seg::Key("availability")])))
                        .subject("flow", name)
                        .help("use a percentage below 100, e.g. 99.9; 100 leaves no error budget"),
                    );
                }
                if let Some(l) = &slo.latency {
                    if !(l.target > 0.0 && l.target < 100.0) {
                        self.push(
                            Finding::new(
                                &r::SLO_OUT_OF_RANGE,
                                format!(
                                    "latency target {} of flow `{name}` is not in (0, 100)",
                                    l.target
                                ),
                            )
                            .at(self.at(
                                f,
                                &fl(&[Seg::Key("slo"), Seg::Key("latency"), Seg::Key("target")]),
                            ))
                            .subject("flow", name)
                            .help("use a percentage below 100, e.g. 99"),
                        );
                    }
                    self.duration(
                        &l.threshold,
                        f,
                        &fl(&[Seg::Key("slo"), Seg::Key("latency"), Seg::Key("threshold")]),
                    );
                }
                if let Some(w) = &slo.window {
                    self.duration(w, f, &fl(&[Seg::Key("slo"), Seg::Key("window")]));
                }
                self.sli(name, slo, f);
            }
        }
    }
}

impl Validator<'_> {
    /// `unknown-sli-metric` and `slo-threshold-not-a-bucket` for one flow's SLO.
    fn sli(&mut self, name: &str, slo: &crate::model::Slo, f: FileId) {
        let metric_name = slo.sli_metric();
        let sli_path = [
            Seg::Key("flows"),
            Seg::Key(name),
            Seg::Key("slo"),
            Seg::Key("sli"),
        ];
        let metric = self.reg.metrics.get(metric_name);
        if slo.sli.is_some() {
            let problem = match metric {
                None => Some("is not declared".to_string()),
                Some(m) if m.instrument != Instrument::Histogram => {
                    Some(format!("is a {}, not a histogram", m.instrument.as_str()))
                }
                Some(m) if !m.labels.iter().any(|l| l == "flow.name") => {
                    Some("does not carry the `flow.name` label".to_string())
                }
                Some(_) => None,
            };
            if let Some(problem) = problem {
                let candidates = self.reg.metrics.iter().filter(|(_, m)| {
                    m.instrument == Instrument::Histogram
                        && m.labels.iter().any(|l| l == "flow.name")
                });
                let help = match did_you_mean(metric_name, candidates.map(|(n, _)| n.as_str())) {
                    Some(s) => format!("a histogram with `flow.name` has a similar name: `{s}`"),
                    None => format!(
                        "name a declared histogram labelled with `flow.name`, or drop `sli` to use `{}`",
                        crate::model::DEFAULT_SLI_METRIC
                    ),
                };
                self.push(
                    Finding::new(
                        &r::UNKNOWN_SLI_METRIC,
                        format!("SLI metric `{metric_name}` of flow `{name}` {problem}"),
                    )
                    .at(self.at(f, &sli_path))
                    .subject("flow", name)
                    .subject("metric", metric_name)
                    .help(help),
                );
                return;
            }
        }
        let (Some(latency), Some(metric)) = (&slo.latency, metric) else {
            return;
        };
        let (Some(threshold), Some(buckets)) = (latency.threshold.seconds(), &metric.buckets)
        else {
            return;
        };
        if buckets.is_empty() || bucket_bound(buckets, threshold).is_some() {
            return;
        }
        let below = buckets.iter().copied().rfind(|b| *b < threshold);
        let above = buckets.iter().copied().find(|b| *b > threshold);
        let nearest = match (below, above) {
            (Some(b), Some(a)) => format!("the nearest bounds are {b} and {a}"),
            (Some(b), None) => format!("the largest bound is {b}"),
            (None, Some(a)) => format!("the smallest bound is {a}"),
            (None, None) => unreachable!("buckets is not empty"),
        };
        let fallback = match below {
            Some(b) => format!(
                "; `flowtel slo` measures against {b}s meanwhile, stricter than the objective"
            ),
            None => String::new(),
        };
        self.push(
            Finding::new(
                &r::SLO_THRESHOLD_NOT_A_BUCKET,
                format!(
                    "latency threshold {} of flow `{name}` is not a bucket bound of `{metric_name}`: {nearest}",
                    latency.threshold
                ),
            )
            .at(self.at(
                f,
                &[
                    Seg::Key("flows"),
                    Seg::Key(name),
                    Seg::Key("slo"),
                    Seg::Key("latency"),
                    Seg::Key("threshold"),
                ],
            ))
            .subject("flow", name)
            .subject("metric", metric_name)
            .help(format!(
                "add {threshold} to the `buckets` of `{metric_name}`{fallback}"
            )),
        );
    }
}

/// The bucket bound equal to `seconds` (within rounding of the duration's parse), if any.
pub fn bucket_bound(buckets: &[f64], seconds: f64) -> Option<f64> {
    buckets
        .iter()
        .copied()
        .find(|b| (b - seconds).abs() <= 1e-9 * b.abs().max(1e-9))
}

trait HelpIfNone {
    fn help_if_none(self, help: impl Into<String>) -> Self;
}

impl HelpIfNone for Finding {
    fn help_if_none(self, help: impl Into<String>) -> Self {
        if self.help.is_some() {
            self
        } else {
            self.help(help)
        }
    }
}

/// How many distinct values an attribute can take, when bounded.
fn value_bound(a: &Attribute) -> Option<u64> {
    match a.ty {
        AttributeType::Enum if !a.open => Some(a.values.len().max(1) as u64),
        AttributeType::Bool => Some(2),
        _ => a.max_values.map(u64::from),
    }
}

/// A conventional spelling of a name, for help texts: `CheckoutLatency` -> `checkout_latency`.
/// The namespace an `allow_attributes` entry probably meant (`process*` -> `process`).
fn suggest_namespace(pattern: &str) -> String {
    let ns: String = pattern
        .trim()
        .split('.')
        .map(|s| s.trim_matches('*'))
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(".");
    if ns.is_empty() {
        "process".to_string()
    } else {
        ns
    }
}

fn suggest_name(name: &str) -> String {
    let mut out = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            if prev_lower {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
            prev_lower = false;
        } else if c == '-' || c == ' ' {
            out.push('_');
            prev_lower = false;
        } else {
            out.push(c);
            prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        }
    }
    out
}
