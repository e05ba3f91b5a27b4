//! Findings for people (rustc-style) and machines (JSON, SARIF 2.1.0), the formats of every
//! command that reports findings ([`super::FINDING_FORMATS`]).
//!
//! Checks produce plain [`Finding`]s, and adding an output format never touches a rule. The human
//! renderer asks a [`SourceText`] for the line under a finding so it can show it with a caret;
//! JSON follows the contract in DESIGN.md (through [`super::json::envelope`]); SARIF carries the
//! whole rule catalogue so code-scanning UIs can show each rule's help. Findings should be
//! [`super::settle`]d first.

use std::fmt::Write as _;

use serde_json::{Value, json};

use super::{Format, Render, RenderOptions, Unsupported};
use crate::finding::{Finding, Severity, Summary};
use crate::rules;

pub use super::TOOL_VERSION;
pub use super::sources::{DiskSource, Either, NoSource, SourceText};

/// Findings ready to render: human output lists every finding, or groups them by rule with at
/// most `max_examples` shown per rule ([`human_grouped`], for large inputs); summary
/// [`Section`]s a command reports beside them go where each format keeps such things.
#[derive(Debug, Clone, Copy)]
pub struct Findings<'a> {
    /// The findings, settled.
    pub list: &'a [Finding],
    /// Group the human output by rule, showing this many examples of each.
    pub max_examples: Option<usize>,
    /// Summaries beside the findings.
    pub sections: &'a [Section],
}

impl<'a> Findings<'a> {
    /// Every finding of `list`, one after the other.
    pub fn new(list: &'a [Finding]) -> Self {
        Findings {
            list,
            max_examples: None,
            sections: &[],
        }
    }
}

impl Render for Findings<'_> {
    fn render(&self, format: Format, opts: &RenderOptions<'_>) -> Result<String, Unsupported> {
        match format {
            Format::Human => {
                let text = match self.max_examples {
                    None => human(self.list, opts.sources, opts.color),
                    Some(n) => human_grouped(self.list, opts.sources, opts.color, n),
                };
                Ok(with_sections_human(text, self.sections))
            }
            Format::Json => {
                let mut doc = json_value(self.list);
                for s in self.sections {
                    doc[s.key] = s.value.clone();
                }
                Ok(super::json::pretty(&doc))
            }
            Format::Sarif => {
                let mut doc = sarif_value(self.list);
                for s in self.sections {
                    doc["runs"][0]["properties"][s.key] = s.value.clone();
                }
                Ok(super::json::pretty(&doc))
            }
            other => Err(Unsupported(other)),
        }
    }
}

/// Renders in `format` (human, JSON or SARIF).
pub fn render(
    findings: &[Finding],
    format: Format,
    sources: &dyn SourceText,
    color: bool,
) -> Result<String, Unsupported> {
    Findings::new(findings).render(format, &RenderOptions { color, sources })
}

struct Style {
    on: bool,
}

impl Style {
    fn paint(&self, sev: Option<Severity>, bold: bool, text: &str) -> String {
        if !self.on {
            return text.to_string();
        }
        let color = match sev {
            Some(Severity::Fatal | Severity::Error) => "31",
            Some(Severity::Warning) => "33",
            Some(Severity::Note) => "36",
            None => "34",
        };
        let b = if bold { "1;" } else { "" };
        format!("\x1b[{b}{color}m{text}\x1b[0m")
    }
}

/// rustc-style text: header, location, source line with a caret, help, related places, summary.
pub fn human(findings: &[Finding], sources: &dyn SourceText, color: bool) -> String {
    let style = Style { on: color };
    let mut out = String::new();
    for f in findings {
        human_one(&mut out, f, sources, &style);
    }
    summary_line(&mut out, findings, &style);
    out
}

/// One finding, rustc-style, followed by a blank line.
fn human_one(out: &mut String, f: &Finding, sources: &dyn SourceText, style: &Style) {
    let sev = f.severity;
    let _ = writeln!(
        out,
        "{}: {}",
        style.paint(Some(sev), true, &format!("{}[{}]", sev.as_str(), f.rule.id)),
        f.message
    );
    if let Some(loc) = &f.location {
        let gutter = loc.line.to_string().len();
        let pad = " ".repeat(gutter);
        let _ = writeln!(out, "{pad}{} {loc}", style.paint(None, true, "-->"));
        if let Some(text) = sources.line(&loc.file, loc.line) {
            let (shown, caret_col) = window(&text, loc.column as usize);
            let width = token_width(&text, loc.column as usize, loc);
            let bar = style.paint(None, true, "|");
            let _ = writeln!(out, "{pad} {bar}");
            let _ = writeln!(
                out,
                "{} {bar} {shown}",
                style.paint(None, true, &loc.line.to_string())
            );
            let _ = writeln!(
                out,
                "{pad} {bar} {}{}",
                " ".repeat(caret_col.saturating_sub(1)),
                style.paint(Some(sev), true, &"^".repeat(width.max(1)))
            );
        }
        if let Some(help) = &f.help {
            let _ = writeln!(out, "{pad} = {}: {help}", style.paint(None, true, "help"));
        }
        for r in &f.related {
            let _ = writeln!(
                out,
                "{pad} = {}: {}: {}",
                style.paint(None, true, "note"),
                r.message,
                r.location
            );
        }
    } else {
        if let Some(help) = &f.help {
            let _ = writeln!(out, "  = {}: {help}", style.paint(None, true, "help"));
        }
        for r in &f.related {
            let _ = writeln!(
                out,
                "  = {}: {}: {}",
                style.paint(None, true, "note"),
                r.message,
                r.location
            );
        }
    }
    out.push('\n');
}

/// The closing `flowtel: N errors, ...` line.
fn summary_line(out: &mut String, findings: &[Finding], style: &Style) {
    let s = Summary::of(findings);
    let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
    let _ = writeln!(
        out,
        "{}",
        style.paint(
            if s.errors > 0 {
                Some(Severity::Error)
            } else if s.warnings > 0 {
                Some(Severity::Warning)
            } else {
                None
            },
            true,
            &format!(
                "flowtel: {}, {}, {}",
                plural(s.errors, "error"),
                plural(s.warnings, "warning"),
                plural(s.notes, "note")
            )
        )
    );
}

/// Human report grouped by rule, for large inputs: per rule (most severe first, then by id) a
/// header with the number of findings, the first `max_examples` of them rendered as [`human`]
/// does, and how many more there are; then the summary line.
pub fn human_grouped(
    findings: &[Finding],
    sources: &dyn SourceText,
    color: bool,
    max_examples: usize,
) -> String {
    let style = Style { on: color };
    let mut groups: Vec<(&rules::Rule, Severity, Vec<&Finding>)> = Vec::new();
    for f in findings {
        match groups.iter_mut().find(|g| std::ptr::eq(g.0, f.rule)) {
            Some(g) => {
                g.1 = g.1.max(f.severity);
                g.2.push(f);
            }
            None => groups.push((f.rule, f.severity, vec![f])),
        }
    }
    groups.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.id.cmp(b.0.id)));
    let mut out = String::new();
    for (rule, sev, list) in &groups {
        let n = list.len();
        let _ = writeln!(
            out,
            "{} {} ({n} finding{}): {}",
            style.paint(Some(*sev), true, &format!("{}[{}]", sev.as_str(), rule.id)),
            style.paint(None, true, rule.name),
            if n == 1 { "" } else { "s" },
            rule.summary
        );
        out.push('\n');
        for f in list.iter().take(max_examples) {
            human_one(&mut out, f, sources, &style);
        }
        if n > max_examples {
            let _ = writeln!(
                out,
                "  ... and {} more {} finding{} (`--max-examples` shows more, `--format json` all)\n",
                n - max_examples,
                rule.id,
                if n - max_examples == 1 { "" } else { "s" }
            );
        }
    }
    summary_line(&mut out, findings, &style);
    out
}

/// At most this many characters of a source line are shown.
const MAX_SHOWN: usize = 120;

/// The part of a long line around `column`, and the caret's column within it.
fn window(line: &str, column: usize) -> (String, usize) {
    let chars: Vec<char> = line.chars().collect();
    if chars.len() <= MAX_SHOWN {
        return (line.to_string(), column);
    }
    let start = column.saturating_sub(MAX_SHOWN / 3).min(chars.len());
    let end = (start + MAX_SHOWN).min(chars.len());
    let mut s: String = chars[start..end].iter().collect();
    let mut col = column - start;
    if start > 0 {
        s.insert_str(0, "...");
        col += 3;
    }
    if end < chars.len() {
        s.push_str("...");
    }
    (s, col)
}

/// Width of the token starting at `column`: to the end column when known, else to the end of
/// the scalar (a quoted string, or up to a YAML delimiter).
fn token_width(line: &str, column: usize, loc: &crate::finding::Location) -> usize {
    if let (Some(el), Some(ec)) = (loc.end_line, loc.end_column)
        && el == loc.line
        && ec as usize > column
    {
        return (ec as usize - column).min(MAX_SHOWN);
    }
    let rest: Vec<char> = line.chars().skip(column.saturating_sub(1)).collect();
    match rest.first() {
        Some(&q @ ('"' | '\'')) => rest
            .iter()
            .skip(1)
            .position(|&c| c == q)
            .map_or(rest.len(), |p| p + 2),
        Some(_) => rest
            .iter()
            .position(|&c| matches!(c, ',' | ']' | '}' | '#') || c == ':' || c.is_whitespace())
            .unwrap_or(rest.len()),
        None => 1,
    }
    .min(MAX_SHOWN)
}

/// The JSON report document of DESIGN.md.
pub fn json_value(findings: &[Finding]) -> Value {
    let list: Vec<Value> = findings
        .iter()
        .map(|f| {
            let mut v = serde_json::to_value(f).unwrap_or(Value::Null);
            if let Value::Object(m) = &mut v {
                // `name` sits right after `rule` for readability.
                let mut ordered = serde_json::Map::new();
                ordered.insert("rule".into(), json!(f.rule.id));
                ordered.insert("name".into(), json!(f.rule.name));
                for (k, val) in std::mem::take(m) {
                    if k != "rule" {
                        ordered.insert(k, val);
                    }
                }
                *m = ordered;
            }
            v
        })
        .collect();
    super::json::envelope(
        serde_json::to_value(Summary::of(findings)).unwrap_or_default(),
        [("findings", Value::Array(list))],
    )
}

/// The JSON report, pretty-printed.
pub fn json(findings: &[Finding]) -> String {
    super::json::pretty(&json_value(findings))
}

fn sarif_level(sev: Severity) -> &'static str {
    match sev {
        Severity::Fatal | Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "note",
    }
}

fn sarif_location(loc: &crate::finding::Location, message: Option<&str>) -> Value {
    let mut region = json!({"startLine": loc.line, "startColumn": loc.column});
    if let (Some(l), Some(c)) = (loc.end_line, loc.end_column) {
        region["endLine"] = json!(l);
        region["endColumn"] = json!(c);
    }
    let mut v = json!({
        "physicalLocation": {
            "artifactLocation": {"uri": loc.file.replace('\\', "/"), "uriBaseId": "%SRCROOT%"},
            "region": region
        }
    });
    if let Some(p) = &loc.pointer {
        v["logicalLocations"] = json!([{"fullyQualifiedName": p, "kind": "object"}]);
    }
    if let Some(m) = message {
        v["message"] = json!({"text": m});
    }
    v
}

/// A SARIF 2.1.0 log with one run, the whole rule catalogue and one result per finding.
pub fn sarif(findings: &[Finding]) -> String {
    super::json::pretty(&sarif_value(findings))
}

/// [`sarif`] as a JSON value.
pub fn sarif_value(findings: &[Finding]) -> Value {
    let catalogue: Vec<&rules::Rule> = rules::all().collect();
    let rules_json: Vec<Value> = catalogue
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "name": r.name,
                "shortDescription": {"text": r.summary},
                "fullDescription": {"text": r.what},
                "help": {"text": format!("{}\n\n{}", r.what, r.why), "markdown": r.explain()},
                "defaultConfiguration": {"level": sarif_level(r.severity)},
            })
        })
        .collect();
    let results: Vec<Value> = findings
        .iter()
        .map(|f| {
            let mut res = json!({
                "ruleId": f.rule.id,
                "ruleIndex": catalogue.iter().position(|r| r.id == f.rule.id),
                "level": sarif_level(f.severity),
                "message": {"text": match &f.help {
                    Some(h) => format!("{} (help: {h})", f.message),
                    None => f.message.clone(),
                }},
            });
            if let Some(loc) = &f.location {
                res["locations"] = json!([sarif_location(loc, None)]);
            }
            if !f.related.is_empty() {
                res["relatedLocations"] = Value::Array(
                    f.related
                        .iter()
                        .enumerate()
                        .map(|(i, r)| {
                            let mut v = sarif_location(&r.location, Some(&r.message));
                            v["id"] = json!(i);
                            v
                        })
                        .collect(),
                );
            }
            if !f.subject.is_empty() {
                res["properties"] = json!({"subject": f.subject});
            }
            res
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "flowtel",
                "version": TOOL_VERSION,
                "informationUri": "https://example.invalid/flowtel",
                "rules": rules_json,
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }]
    })
}

/// A summary a command reports beside its findings (the alert linter's signal quality): a
/// paragraph before the closing line in human output, a top-level key of the JSON document, a
/// property of the SARIF run.
#[derive(Debug, Clone)]
pub struct Section {
    /// JSON key (and SARIF run property).
    pub key: &'static str,
    /// The summary as data.
    pub value: Value,
    /// The summary for people, one or more lines.
    pub human: String,
}

/// Human text with the sections placed before its closing summary line.
fn with_sections_human(text: String, sections: &[Section]) -> String {
    if sections.is_empty() {
        return text;
    }
    let body = text.trim_end_matches('\n');
    let (head, last) = body.rsplit_once('\n').unwrap_or(("", body));
    let mut out = String::new();
    if !head.is_empty() {
        out.push_str(head);
        out.push('\n');
    }
    for s in sections {
        out.push_str(s.human.trim_end());
        out.push_str("\n\n");
    }
    out.push_str(last);
    out.push('\n');
    out
}
