//! The output layer: the formats flowtel writes, which command writes which, and the renderers
//! of what every command shares.
//!
//! Checks, analyses and generators produce plain data (findings, a diff, a service map, a set of
//! generated files); this layer turns it into text or files, and commands only choose. Findings,
//! the diff verdict and the rule catalogue are rendered here; a crate with a result type of its
//! own (flowtel-analyze's maps and report, flowtel-govern's files) renders it next to the type
//! with the helpers here (the JSON envelope, Markdown tables, [`files::FileSet`]). As in
//! ripgrep, where the `printer` crate owns every output format, adding a format never touches a
//! rule or an analysis, and a new kind of output gets every format's plumbing for free.
//!
//! # The pieces
//!
//! - [`Format`]: every format any command writes (`human`, `json`, `sarif`, `markdown`,
//!   `mermaid`, `dot`, `svg`, `html`, `yaml`). A command declares the ones it has as a
//!   [`Formats`] set; [`Formats::choose`] turns the user's `--format` into a [`Format`] or a
//!   [`UsageError`] (exit 2) that lists what the command has.
//! - [`Render`]: the trait a data type implements to be written through the layer, wherever it
//!   lives (flowtel-analyze's maps, a regression verdict, ...). [`Unsupported`] is the answer for
//!   a format the type does not have.
//! - [`settle`]: the one place that applies the conventions' severity overrides
//!   (`lint: {rules: {FT0301: off}}`) and sorts findings by place. Every command that prints
//!   findings goes through it, whichever producer made them.
//! - [`findings`] (also reachable as `flowtel_conventions::report`): findings in human
//!   (rustc-style), JSON (DESIGN.md's contract) and SARIF 2.1.0.
//! - [`diff`]: the `flowtel diff` verdict in human, JSON, SARIF and Markdown; [`rules`]: the
//!   catalogue for `flowtel explain`.
//! - [`json`]: the JSON envelope every `--format json` document shares
//!   (`{"tool": "flowtel", "version": ..., "summary": ..., ...}`).
//! - [`markdown`]: Markdown tables with escaping, for PR comments and runbooks.
//! - [`files`]: a [`files::FileSet`] of generated files, written to `-o DIR` atomically (a reader
//!   sees the old files or the new ones, never a mix), compared with `--check`, or printed.
//!
//! # Plugging a new output in
//!
//! A crate with its own result type implements [`Render`] next to the type, using the helpers
//! here for the shared parts, and its command declares its [`Formats`]:
//!
//! ```
//! use flowtel_conventions::output::{self, Format, Formats, Render, RenderOptions, Unsupported, json, markdown};
//!
//! /// A result computed elsewhere (say, p95 latency per flow).
//! struct Latencies(Vec<(String, f64)>);
//!
//! impl Render for Latencies {
//!     fn render(&self, format: Format, _opts: &RenderOptions<'_>) -> Result<String, Unsupported> {
//!         match format {
//!             Format::Human => Ok(self.0.iter().map(|(f, p)| format!("{f}: p95 {p} s\n")).collect()),
//!             Format::Json => Ok(json::document(
//!                 serde_json::json!({"flows": self.0.len()}),
//!                 [("latencies", serde_json::json!(self.0))],
//!             )),
//!             Format::Markdown => {
//!                 let mut t = markdown::Table::new(["flow", "p95 (s)"]);
//!                 for (f, p) in &self.0 {
//!                     t.row([markdown::code(f), p.to_string()]);
//!                 }
//!                 Ok(t.to_string())
//!             }
//!             other => Err(Unsupported(other)),
//!         }
//!     }
//! }
//!
//! // The command's formats: the first is the default.
//! const LATENCY: Formats = Formats::new("latency", &[Format::Human, Format::Json, Format::Markdown]);
//!
//! let chosen = LATENCY.choose(Some("markdown")).unwrap();
//! let text = Latencies(vec![("checkout".into(), 0.21)]).render(chosen, &RenderOptions::default()).unwrap();
//! assert!(text.contains("| `checkout` | 0.21 |"));
//!
//! let err = LATENCY.choose(Some("sarif")).unwrap_err();
//! assert_eq!(err.to_string(), "error: `flowtel latency` cannot write `--format sarif`\n  = help: its formats are human, json, markdown\n");
//! assert_eq!(err.exit_code(), 2);
//! # let _ = output::settle;
//! ```
//!
//! Generators return a [`files::FileSet`] instead of a string: `set.write_to(dir)` for `-o DIR`,
//! `set.check(dir)` for `--check` (exit 1 when it reports differences), `set.to_stdout()` without
//! `-o`.

pub mod diff;
pub mod files;
pub mod findings;
pub mod json;
pub mod markdown;
pub mod rules;
pub mod sources;

use std::fmt;
use std::str::FromStr;

use crate::finding::{Finding, Severity};
use crate::model::{LintConfig, SeverityOverride};

pub use sources::{DiskSource, Either, NoSource, SourceText};

/// Version written into every report.
pub const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Every output format a flowtel command may write. Which ones a command has is its
/// [`Formats`] set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Format {
    /// Text for people (rustc-style for findings).
    Human,
    /// One JSON document (DESIGN.md's contract: `{tool, version, summary, ...}`).
    Json,
    /// SARIF 2.1.0, for code-scanning UIs.
    Sarif,
    /// GitHub-flavoured Markdown (pull-request comments, runbooks).
    Markdown,
    /// A Mermaid diagram.
    Mermaid,
    /// A Graphviz DOT graph.
    Dot,
    /// An SVG image.
    Svg,
    /// One self-contained HTML page.
    Html,
    /// YAML (rule files, configuration).
    Yaml,
}

impl Format {
    /// Every format, in the order `--help` lists them.
    pub const ALL: &'static [Format] = &[
        Format::Human,
        Format::Json,
        Format::Sarif,
        Format::Markdown,
        Format::Mermaid,
        Format::Dot,
        Format::Svg,
        Format::Html,
        Format::Yaml,
    ];

    /// The name `--format` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Human => "human",
            Format::Json => "json",
            Format::Sarif => "sarif",
            Format::Markdown => "markdown",
            Format::Mermaid => "mermaid",
            Format::Dot => "dot",
            Format::Svg => "svg",
            Format::Html => "html",
            Format::Yaml => "yaml",
        }
    }

    /// The usual file extension of the format (`md` for Markdown, `txt` for human text).
    pub fn extension(self) -> &'static str {
        match self {
            Format::Human => "txt",
            Format::Json => "json",
            Format::Sarif => "sarif",
            Format::Markdown => "md",
            Format::Mermaid => "mmd",
            Format::Dot => "dot",
            Format::Svg => "svg",
            Format::Html => "html",
            Format::Yaml => "yaml",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Format {
    type Err = String;

    /// Parses a `--format` value (`md` is accepted for `markdown`, `yml` for `yaml`).
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim().to_ascii_lowercase();
        let alias = match s.as_str() {
            "md" => "markdown",
            "yml" => "yaml",
            "text" => "human",
            other => other,
        };
        Format::ALL
            .iter()
            .copied()
            .find(|f| f.as_str() == alias)
            .ok_or_else(|| {
                format!(
                    "unknown format `{s}`; flowtel writes {}",
                    Format::ALL
                        .iter()
                        .map(|f| f.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
    }
}

/// The formats one command writes; the first is its default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Formats {
    command: &'static str,
    list: &'static [Format],
}

/// The formats of every command that prints findings: `human`, `json`, `sarif`.
pub const FINDING_FORMATS: &[Format] = &[Format::Human, Format::Json, Format::Sarif];

impl Formats {
    /// The set of `flowtel <command>`; `list` must not be empty (its first is the default).
    pub const fn new(command: &'static str, list: &'static [Format]) -> Self {
        assert!(!list.is_empty(), "a command writes at least one format");
        Formats { command, list }
    }

    /// The command as the user typed it (`lint telemetry`).
    pub fn command(&self) -> &'static str {
        self.command
    }

    /// The formats, default first.
    pub fn list(&self) -> &'static [Format] {
        self.list
    }

    /// The default format.
    pub fn default_format(&self) -> Format {
        self.list[0]
    }

    /// Whether the command writes `format`.
    pub fn has(&self, format: Format) -> bool {
        self.list.contains(&format)
    }

    /// The format to write for the user's `--format` value (none: the default); a value that is
    /// no format, or one the command does not write, is a usage error naming what it has.
    pub fn choose(&self, requested: Option<&str>) -> Result<Format, UsageError> {
        let Some(value) = requested else {
            return Ok(self.default_format());
        };
        match value.parse::<Format>() {
            Ok(f) => self.accept(f),
            Err(_) => Err(self.rejection(value)),
        }
    }

    /// [`Formats::choose`] for an already parsed format.
    pub fn accept(&self, format: Format) -> Result<Format, UsageError> {
        if self.has(format) {
            Ok(format)
        } else {
            Err(self.rejection(format.as_str()))
        }
    }

    fn rejection(&self, value: &str) -> UsageError {
        UsageError::new(format!(
            "`flowtel {}` cannot write `--format {value}`",
            self.command
        ))
        .help(format!(
            "its formats are {}",
            self.list
                .iter()
                .map(|f| f.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    }
}

/// A mistake in how a command was called (exit code 2), printed on stderr rustc-style:
/// `error: ...` then `  = help: ...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError {
    /// What is wrong, one sentence.
    pub message: String,
    /// What to do instead.
    pub help: Option<String>,
}

impl UsageError {
    /// A usage error saying `message`.
    pub fn new(message: impl Into<String>) -> Self {
        UsageError {
            message: message.into(),
            help: None,
        }
    }

    /// With a help line.
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Always 2: usage errors are input errors by the CLI contract.
    pub fn exit_code(&self) -> i32 {
        2
    }
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "error: {}", self.message)?;
        if let Some(h) = &self.help {
            writeln!(f, "  = help: {h}")?;
        }
        Ok(())
    }
}

impl std::error::Error for UsageError {}

/// A type asked for a format it does not have (a command's [`Formats`] normally rejects it
/// first, so this is the layer's second line of defence).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unsupported(pub Format);

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "this output has no `{}` form", self.0)
    }
}

impl std::error::Error for Unsupported {}

/// What every renderer may use besides the data: colour, and the text of input files for
/// snippets under located results.
#[derive(Clone, Copy)]
pub struct RenderOptions<'a> {
    /// Colour in human output (ANSI escapes).
    pub color: bool,
    /// Lines of the inputs, for snippets.
    pub sources: &'a dyn SourceText,
}

impl Default for RenderOptions<'_> {
    fn default() -> Self {
        RenderOptions {
            color: false,
            sources: &NoSource,
        }
    }
}

impl fmt::Debug for RenderOptions<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RenderOptions")
            .field("color", &self.color)
            .finish_non_exhaustive()
    }
}

/// Data that can be written through the output layer. Implement it beside the data type (in
/// whatever crate owns it); use [`json::document`], [`markdown::Table`] and the other helpers
/// for the shared shapes, and answer [`Unsupported`] for formats the type does not have.
pub trait Render {
    /// The text of `self` in `format` (ending in a newline).
    fn render(&self, format: Format, opts: &RenderOptions<'_>) -> Result<String, Unsupported>;
}

/// The one place severity overrides and ordering are applied: the conventions' `lint.rules`
/// change severities (or drop findings of rules turned `off`; fatal input errors are never
/// overridden), then findings are sorted by file, line, column and rule id (findings without a
/// place first). Idempotent, so data settled by its producer may be settled again.
pub fn settle(findings: &mut Vec<Finding>, lint: &LintConfig) {
    apply_overrides(findings, lint);
    sort(findings);
}

/// Sorts findings by file, line and column (findings without a place first), then rule id.
pub fn sort(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        let key = |f: &Finding| {
            f.location
                .as_ref()
                .map(|l| (l.file.clone(), l.line, l.column))
        };
        key(a).cmp(&key(b)).then_with(|| a.rule.id.cmp(b.rule.id))
    });
}

/// Applies `lint.rules` severity overrides (by rule id, any case, or name): changes severities
/// and removes findings of rules turned `off`. Fatal input errors are never overridden.
pub fn apply_overrides(findings: &mut Vec<Finding>, lint: &LintConfig) {
    if lint.rules.is_empty() {
        return;
    }
    let lookup = |f: &Finding| {
        lint.rules
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(f.rule.id) || *k == f.rule.name)
            .map(|(_, v)| *v)
    };
    findings.retain_mut(|f| {
        if f.severity == Severity::Fatal {
            return true;
        }
        match lookup(f) {
            Some(SeverityOverride::Off) => false,
            Some(SeverityOverride::Error) => {
                f.severity = Severity::Error;
                true
            }
            Some(SeverityOverride::Warn) => {
                f.severity = Severity::Warning;
                true
            }
            Some(SeverityOverride::Note) => {
                f.severity = Severity::Note;
                true
            }
            None => true,
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHECK: Formats = Formats::new("check", FINDING_FORMATS);

    #[test]
    fn a_command_rejects_formats_it_does_not_have_listing_its_own() {
        assert_eq!(CHECK.choose(None), Ok(Format::Human));
        assert_eq!(CHECK.choose(Some("sarif")), Ok(Format::Sarif));
        let err = CHECK.choose(Some("markdown")).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert_eq!(
            err.to_string(),
            "error: `flowtel check` cannot write `--format markdown`\n  = help: its formats are human, json, sarif\n"
        );
        assert!(CHECK.choose(Some("pdf")).is_err());
    }

    #[test]
    fn formats_parse_with_aliases() {
        for f in Format::ALL {
            assert_eq!(f.as_str().parse::<Format>(), Ok(*f));
        }
        assert_eq!("md".parse::<Format>(), Ok(Format::Markdown));
        assert_eq!("YAML".parse::<Format>(), Ok(Format::Yaml));
        assert!("pdf".parse::<Format>().unwrap_err().contains("human, json"));
    }
}
