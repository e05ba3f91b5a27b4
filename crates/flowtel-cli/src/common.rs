//! Options every command shares, and the wiring of output: the command's format chosen from its
//! [`Formats`], colour, findings settled and rendered through `flowtel_conventions::output`, text
//! to stdout, files written atomically.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use flowtel_conventions::output::{
    self, FINDING_FORMATS, Format, Formats, Render, RenderOptions, SourceText,
};
use flowtel_conventions::report;
use flowtel_conventions::{Finding, LintConfig, Loaded, Location, Severity, rules};

/// Options accepted by every command.
#[derive(Args, Debug, Clone)]
pub struct GlobalArgs {
    /// Conventions registry (file or folder). Default: `flowtel.yaml` or `conventions/`, found
    /// by walking up from the working directory.
    #[arg(long, global = true, value_name = "PATH")]
    pub conventions: Option<PathBuf>,
    /// Output format: human, json, sarif, markdown, mermaid, dot, svg, html or yaml. Each
    /// command has its own set (the first is its default) and rejects a value outside it,
    /// naming the formats it has.
    #[arg(long, global = true, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Colour in human output.
    #[arg(long, global = true, value_enum, default_value_t = ColorArg::Auto)]
    pub color: ColorArg,
    /// Treat warnings as errors for the exit code.
    #[arg(long, global = true)]
    pub deny_warnings: bool,
}

/// `--color`.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorArg {
    /// When stdout is a terminal.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

impl GlobalArgs {
    /// Whether to colour human output on stdout.
    pub fn color(&self) -> bool {
        match self.color {
            ColorArg::Always => true,
            ColorArg::Never => false,
            ColorArg::Auto => {
                std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
            }
        }
    }

    /// The command's format for `--format`; a format it does not have prints the usage error
    /// (listing the ones it has) on stderr and gives exit code 2 as `Err`.
    pub fn format_for(&self, formats: &Formats) -> Result<Format, i32> {
        formats.choose(self.format.as_deref()).map_err(|e| {
            eprint!("{e}");
            e.exit_code()
        })
    }

    /// The format for findings printed outside a command's own output (input errors): the
    /// chosen one when it is a findings format, else human.
    fn findings_format(&self) -> Format {
        self.format
            .as_deref()
            .and_then(|f| f.parse::<Format>().ok())
            .filter(|f| FINDING_FORMATS.contains(f))
            .unwrap_or(Format::Human)
    }

    /// Render options on stdout with `sources` for snippets.
    pub fn render_options<'a>(&self, sources: &'a dyn SourceText) -> RenderOptions<'a> {
        RenderOptions {
            color: self.color(),
            sources,
        }
    }

    /// The conventions path: `--conventions`, else discovered from the working directory.
    pub fn conventions_path(&self) -> Result<PathBuf, Box<Finding>> {
        if let Some(p) = &self.conventions {
            return Ok(p.clone());
        }
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        flowtel_conventions::discover(&cwd).ok_or_else(|| {
            Box::new(Finding::new(
                &rules::registry::UNREADABLE_INPUT,
                "no conventions found: no `flowtel.yaml` or `conventions/` here or in any parent folder",
            )
            .help("pass `--conventions PATH`, or run from inside a project that has them"))
        })
    }

    /// Loads and validates the conventions; on fatal problems prints them and returns the exit code.
    pub fn load_conventions(&self) -> Result<flowtel_conventions::Registry, i32> {
        let path = match self.conventions_path() {
            Ok(p) => p,
            Err(f) => return Err(self.emit(&[*f], None)),
        };
        let mut loaded = flowtel_conventions::check(&path);
        // Defects of an OpenTelemetry semantic-conventions model (imported or used directly)
        // are upstream's: reported on stderr, never a reason to stop.
        if let Some(reg) = &loaded.registry {
            flowtel_conventions::semconv::layering::soften_upstream(reg, &mut loaded.findings);
        }
        let errors: Vec<Finding> = loaded
            .findings
            .iter()
            .filter(|f| f.severity >= Severity::Error)
            .cloned()
            .collect();
        match loaded.registry {
            Some(reg) if errors.is_empty() => {
                report_upstream(&reg, &loaded.findings);
                Ok(reg)
            }
            reg => {
                let sources = reg.as_ref().map(|r| &r.sources);
                let mut shown = errors;
                if shown.is_empty() {
                    shown = loaded.findings.clone();
                }
                // Broken conventions are an input error for every command but `check`.
                for f in &mut shown {
                    f.severity = Severity::Fatal;
                }
                Err(self.emit(&shown, sources.map(|s| s as &dyn SourceText)))
            }
        }
    }

    /// Prints findings (input errors, or a command's whole report) in the chosen format on
    /// stdout and returns the exit code they mean. Sources give snippets; files on disk are read
    /// for the rest.
    pub fn emit(&self, findings: &[Finding], sources: Option<&dyn SourceText>) -> i32 {
        self.emit_in(self.findings_format(), findings, sources, None)
    }

    /// Prints findings in `format` after settling them with the conventions' `lint` overrides
    /// (when given), and returns the exit code they mean.
    pub fn emit_in(
        &self,
        format: Format,
        findings: &[Finding],
        sources: Option<&dyn SourceText>,
        lint: Option<&LintConfig>,
    ) -> i32 {
        let mut settled = findings.to_vec();
        if let Some(lint) = lint {
            output::settle(&mut settled, lint);
        }
        self.print_with(&report::Findings::new(&settled), format, sources);
        flowtel_conventions::exit_code(&settled, self.deny_warnings)
    }

    /// Renders `what` in `format` and prints it; sources (then files on disk) give snippets.
    pub fn print_with(&self, what: &dyn Render, format: Format, sources: Option<&dyn SourceText>) {
        let disk = report::DiskSource::default();
        let either;
        let sources: &dyn SourceText = match sources {
            Some(s) => {
                either = report::Either(s, &disk);
                &either
            }
            None => &disk,
        };
        match what.render(format, &self.render_options(sources)) {
            Ok(text) => print_out(&text),
            // The command's `Formats` let through a format its output lacks: a wiring mistake,
            // reported rather than hidden.
            Err(e) => eprintln!("error: {e} (`--format {format}`)"),
        }
    }
}

/// Prints the warnings located in semantic-conventions files on stderr (stdout carries the
/// command's own report), with a line saying why they do not stop the command.
fn report_upstream(reg: &flowtel_conventions::Registry, findings: &[Finding]) {
    let upstream: Vec<Finding> = findings
        .iter()
        .filter(|f| {
            f.severity == Severity::Warning
                && f.location.as_ref().is_some_and(|l| {
                    reg.semconv
                        .iter()
                        .flat_map(|s| s.file_ids.iter())
                        .any(|&id| reg.sources.file(id).display == l.file)
                })
        })
        .cloned()
        .collect();
    if upstream.is_empty() {
        return;
    }
    let disk = report::DiskSource::default();
    let text = report::human(&upstream, &report::Either(&reg.sources, &disk), false);
    // The summary line of the rendering is replaced by one that says what the warnings mean.
    let text = text.trim_end();
    eprintln!("{}", text.rsplit_once('\n').map_or(text, |(body, _)| body));
    eprintln!(
        "flowtel: {} defect(s) in the OpenTelemetry semantic-conventions model are reported as warnings and do not stop this command (`flowtel check` lists them)",
        upstream.len()
    );
}

/// Writes to stdout, ignoring a closed pipe (`flowtel ... | head`).
pub fn print_out(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

/// A fatal input finding for a file that could not be read or written.
pub fn io_finding(path: &Path, what: &str, err: &dyn std::fmt::Display) -> Finding {
    Finding::new(
        &rules::registry::UNREADABLE_INPUT,
        format!("cannot {what} `{}`: {err}", path.display()),
    )
    .at(Location::new(path.display().to_string(), 1, 1))
}

/// Writes `content` to `path` atomically ([`output::files::write_file`]).
pub fn write_atomic(path: &Path, content: &[u8]) -> std::io::Result<()> {
    output::files::write_file(path, content)
}

/// Loads a registry for commands that take it as an argument (`check`, `diff`).
pub fn load_for_report(path: &Path) -> Loaded {
    flowtel_conventions::check(path)
}
