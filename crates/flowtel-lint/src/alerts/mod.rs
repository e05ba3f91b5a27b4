//! `flowtel lint alerts`: Prometheus alerting rules checked against the conventions, and how
//! much of the alerting is worth keeping.
//!
//! Rule files are read into plain data ([`read`]), every expression is parsed with a real PromQL
//! parser and reduced to facts ([`expr`]), and each rule is judged ([`check`]): averages where
//! distributions belong, pages on causes, alerts that name no flow or owner, metrics and labels
//! the conventions do not declare, and the hygiene every rule file needs. With an Alertmanager
//! configuration, [`alertmanager`] routes every alert to the receivers it would reach. The
//! [`SignalQuality`] summary counts what a team tracks while it cleans up. Rendering is the
//! output layer's; this module returns findings and the summary as data.

pub mod alertmanager;
pub mod check;
pub mod expr;
pub mod read;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use flowtel_conventions::rules::{alerts as r, registry::UNREADABLE_INPUT};
use flowtel_conventions::source::display_path;
use flowtel_conventions::{Finding, Location, Registry};
use serde::Serialize;

use check::{AlertClass, Context};
use read::{RuleFile, RuleKind};

/// Options of an alert lint.
#[derive(Debug, Clone, Default)]
pub struct AlertOptions {
    /// Check metric names and labels against the declared metrics (`--conventions` given).
    pub check_metrics: bool,
    /// Scrape interval in seconds, overriding `lint.alerts.scrape_interval`.
    pub scrape_interval: Option<f64>,
    /// An Alertmanager configuration to route every alert through.
    pub alertmanager: Option<Input>,
}

/// An input: its name as shown in findings and its text.
#[derive(Debug, Clone)]
pub struct Input {
    /// The file as shown in findings.
    pub file: String,
    /// Its text.
    pub text: String,
}

/// Findings and the signal-quality summary of a set of rule files.
#[derive(Debug, Clone)]
pub struct AlertReport {
    /// Every finding, sorted by file and position.
    pub findings: Vec<Finding>,
    /// The summary.
    pub quality: SignalQuality,
}

/// How much of a set of alerts is worth keeping: the numbers a team tracks while it cleans up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct SignalQuality {
    /// Rule files read.
    pub files: usize,
    /// Rule groups.
    pub groups: usize,
    /// Alerting rules.
    pub alerts: usize,
    /// Recording rules.
    pub recording_rules: usize,
    /// Alerts with a declared flow and its owner.
    pub flow_aligned: usize,
    /// Percentage of alerts that are flow-aligned, rounded to one decimal.
    pub flow_aligned_percent: f64,
    /// Alerts on an SLO (burn rate, error budget).
    pub slo_based: usize,
    /// Alerts on a resource (CPU, memory, disk, load, restarts): causes, not symptoms.
    pub cause_based: usize,
    /// Alerts on an average latency.
    pub average_based: usize,
    /// Alerts that page (`lint.alerts.page_severities`).
    pub pages: usize,
    /// Pages on a resource.
    pub pages_on_causes: usize,
    /// Alerts flagged as low-signal (to remove or rewrite).
    pub flagged: usize,
    /// Pages left if the flagged alerts were removed.
    pub pages_after_cleanup: usize,
}

impl SignalQuality {
    fn add(&mut self, c: AlertClass) {
        self.alerts += 1;
        self.flow_aligned += usize::from(c.flow_aligned);
        self.slo_based += usize::from(c.slo_based);
        self.cause_based += usize::from(c.cause_based);
        self.average_based += usize::from(c.average_based);
        self.pages += usize::from(c.page);
        self.pages_on_causes += usize::from(c.page && c.cause_based);
        self.flagged += usize::from(c.flagged);
        self.pages_after_cleanup += usize::from(c.page && !c.flagged);
    }

    fn finish(&mut self) {
        self.flow_aligned_percent = if self.alerts == 0 {
            0.0
        } else {
            (self.flow_aligned as f64 * 1000.0 / self.alerts as f64).round() / 10.0
        };
    }
}

impl std::fmt::Display for SignalQuality {
    /// Two lines: "41 alerts in 3 files (...): 6 flow-aligned (15%), ..." and the pages.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let pct = |n: usize| {
            (n * 100 + self.alerts / 2)
                .checked_div(self.alerts)
                .unwrap_or(0)
        };
        let n = |count: usize, word: &str| {
            format!("{count} {word}{}", if count == 1 { "" } else { "s" })
        };
        writeln!(
            f,
            "{} in {} ({}, {}): {} flow-aligned ({}%), {} SLO/burn-rate based, {} cause-based, {} average-based",
            n(self.alerts, "alert"),
            n(self.files, "file"),
            n(self.groups, "group"),
            n(self.recording_rules, "recording rule"),
            self.flow_aligned,
            pct(self.flow_aligned),
            self.slo_based,
            self.cause_based,
            self.average_based,
        )?;
        writeln!(
            f,
            "{}, {} on causes; {} flagged as low-signal; {} would remain without them",
            n(self.pages, "page"),
            self.pages_on_causes,
            n(self.flagged, "alert"),
            n(self.pages_after_cleanup, "page"),
        )
    }
}

/// Lints rule files and folders (folders are searched for `.yml`/`.yaml` files, skipping
/// hidden ones). Unreadable inputs are fatal findings; everything else is located findings.
pub fn lint_paths(reg: Option<&Registry>, paths: &[PathBuf], opts: &AlertOptions) -> AlertReport {
    let mut inputs = Vec::new();
    let mut fatal = Vec::new();
    for p in paths {
        collect(p, true, &mut inputs, &mut fatal);
    }
    let mut opts = opts.clone();
    if let Some(am) = &opts.alertmanager
        && am.text.is_empty()
    {
        // Named but not yet read: read it like a rule file.
        let mut read = Vec::new();
        collect(Path::new(&am.file), true, &mut read, &mut fatal);
        opts.alertmanager = read.pop();
    }
    let opts = &opts;
    let mut report = lint_inputs(reg, &inputs, opts);
    report.findings.extend(fatal);
    flowtel_conventions::sort(&mut report.findings);
    report
}

fn collect(path: &Path, named: bool, inputs: &mut Vec<Input>, fatal: &mut Vec<Finding>) {
    let display = display_path(path);
    let unreadable = |err: &dyn std::fmt::Display| {
        Finding::new(&UNREADABLE_INPUT, format!("cannot read `{display}`: {err}"))
            .at(Location::new(display.clone(), 1, 1))
            .help("name a Prometheus rule file (YAML) or a folder of them")
    };
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = match std::fs::read_dir(path) {
            Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).collect(),
            Err(e) => {
                fatal.push(unreadable(&e));
                return;
            }
        };
        entries.sort();
        for e in entries {
            let hidden = e
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'));
            if !hidden {
                collect(&e, false, inputs, fatal);
            }
        }
        return;
    }
    let rule_file = path.extension().is_some_and(|x| x == "yml" || x == "yaml");
    if !named && !rule_file {
        return;
    }
    match std::fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => inputs.push(Input {
                file: display,
                text,
            }),
            Err(_) => fatal.push(unreadable(&"not UTF-8 text")),
        },
        Err(e) => fatal.push(unreadable(&e)),
    }
}

/// An alert's canonical expression and sorted labels: equal for copies.
type CopyKey = (String, Vec<(String, String)>);

/// Lints rule files given as text. Recording rules of every input count as known series.
pub fn lint_inputs(reg: Option<&Registry>, inputs: &[Input], opts: &AlertOptions) -> AlertReport {
    let mut findings = Vec::new();
    let mut quality = SignalQuality {
        files: inputs.len(),
        ..SignalQuality::default()
    };
    let files: Vec<RuleFile> = inputs
        .iter()
        .map(|i| {
            let (file, f) = read::read_rule_file(&i.file, &i.text);
            findings.extend(f);
            file
        })
        .collect();
    let mut ctx = Context::new(reg, opts.check_metrics, opts.scrape_interval);
    let am = opts.alertmanager.as_ref().and_then(|i| {
        let (config, f) = alertmanager::read_config(&i.file, &i.text);
        findings.extend(f);
        config
    });
    for f in &files {
        for g in &f.groups {
            for rule in &g.rules {
                if rule.kind == RuleKind::Record {
                    ctx.recorded.insert(rule.name.value.clone());
                }
            }
        }
    }
    // First place of each alert name and of each (expression, labels) pair.
    let mut names: HashMap<String, (Location, String)> = HashMap::new();
    let mut copies: HashMap<CopyKey, (Location, String, String)> = HashMap::new();
    for (fi, f) in files.iter().enumerate() {
        quality.groups += f.groups.len();
        for g in &f.groups {
            for rule in &g.rules {
                let facts = match expr::analyze(&rule.expr.value) {
                    Ok(facts) => Some(facts),
                    Err(e) => {
                        findings.push(
                            Finding::new(
                                &r::PROMQL_INVALID,
                                format!("`{}` is not valid PromQL: {e}", rule.name.value),
                            )
                            .subject("rule", rule.name.value.clone())
                            .at(rule.expr.pos.at(&f.file))
                            .help("`promtool check rules FILE` shows where Prometheus stops"),
                        );
                        None
                    }
                };
                let class = check::check_rule(
                    &ctx,
                    &inputs[fi].text,
                    &f.file,
                    &g.name.value,
                    rule,
                    facts.as_ref(),
                    &mut findings,
                );
                if rule.kind == RuleKind::Record {
                    quality.recording_rules += 1;
                    continue;
                }
                let here = rule.name.pos.at(&f.file);
                let canonical = facts.as_ref().map_or_else(
                    || rule.expr.value.trim().to_string(),
                    |f| f.canonical.clone(),
                );
                let mut labels: Vec<(String, String)> = rule
                    .labels
                    .iter()
                    .map(|(k, v)| (k.value.clone(), v.value.clone()))
                    .collect();
                labels.sort();
                let mut copied = false;
                match copies.get(&(canonical.clone(), labels.clone())) {
                    Some((first, first_group, first_file))
                        if (first_group, first_file) != (&g.name.value, &f.file) =>
                    {
                        copied = true;
                        findings.push(
                            Finding::new(
                                &r::ALERT_COPIED,
                                format!(
                                    "alert `{}` repeats an alert of group `{first_group}` (same expression and labels)",
                                    rule.name.value
                                ),
                            )
                            .subject("alert", rule.name.value.clone())
                            .subject("group", g.name.value.clone())
                            .at(here.clone())
                            .related(Some(first.clone()), "first defined here")
                            .help("keep one copy: every copy pages for the same incident"),
                        );
                    }
                    Some(_) => {}
                    None => {
                        copies.insert(
                            (canonical.clone(), labels),
                            (here.clone(), g.name.value.clone(), f.file.clone()),
                        );
                    }
                }
                match names.get(&rule.name.value) {
                    Some((first, first_expr)) if *first_expr != canonical && !copied => {
                        findings.push(
                            Finding::new(
                                &r::DUPLICATE_ALERT_NAME,
                                format!(
                                    "alert name `{}` is already used by an alert with another expression",
                                    rule.name.value
                                ),
                            )
                            .subject("alert", rule.name.value.clone())
                            .at(here.clone())
                            .related(Some(first.clone()), "first defined here")
                            .help("give each alert a name that says what it watches (`CheckoutHighErrorBudgetBurn`)"),
                        );
                    }
                    Some(_) => {}
                    None => {
                        names.insert(rule.name.value.clone(), (here, canonical));
                    }
                }
                if let Some(am) = &am {
                    alertmanager::check_alert(
                        am,
                        reg,
                        &ctx.config.flow_label,
                        &f.file,
                        rule,
                        &mut findings,
                    );
                }
                if let Some(mut class) = class {
                    class.flagged |= copied;
                    quality.add(class);
                }
            }
        }
    }
    quality.finish();
    if let Some(reg) = reg {
        flowtel_conventions::apply_overrides(&mut findings, &reg.lint);
    }
    flowtel_conventions::sort(&mut findings);
    AlertReport { findings, quality }
}
