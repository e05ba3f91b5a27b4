//! Options every command shares, and the plumbing of output: report format, colour, writing
//! to stdout or to a file without leaving a half-written file behind.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use flowtel_conventions::report::{self, SourceText};
use flowtel_conventions::{Finding, Loaded, Location, Severity, rules};

/// Options accepted by every command.
#[derive(Args, Debug, Clone)]
pub struct GlobalArgs {
    /// Conventions registry (file or folder). Default: `flowtel.yaml` or `conventions/`, found
    /// by walking up from the working directory.
    #[arg(long, global = true, value_name = "PATH")]
    pub conventions: Option<PathBuf>,
    /// Report format.
    #[arg(long, global = true, value_enum, default_value_t = FormatArg::Human)]
    pub format: FormatArg,
    /// Colour in human output.
    #[arg(long, global = true, value_enum, default_value_t = ColorArg::Auto)]
    pub color: ColorArg,
    /// Treat warnings as errors for the exit code.
    #[arg(long, global = true)]
    pub deny_warnings: bool,
}

/// `--format`.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormatArg {
    /// rustc-style text.
    Human,
    /// One JSON document.
    Json,
    /// SARIF 2.1.0.
    Sarif,
    /// Markdown (diff only).
    Markdown,
    /// Mermaid flowchart (map only).
    Mermaid,
    /// Graphviz DOT (map only).
    Dot,
    /// SVG image (map only).
    Svg,
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

    /// The report format for finding lists (`markdown` falls back to human).
    pub fn report_format(&self) -> report::Format {
        match self.format {
            FormatArg::Human
            | FormatArg::Markdown
            | FormatArg::Mermaid
            | FormatArg::Dot
            | FormatArg::Svg => report::Format::Human,
            FormatArg::Json => report::Format::Json,
            FormatArg::Sarif => report::Format::Sarif,
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

    /// Prints findings in the chosen format on stdout and returns the exit code they mean.
    pub fn emit(&self, findings: &[Finding], sources: Option<&dyn SourceText>) -> i32 {
        let disk = report::DiskSource::default();
        let text = match sources {
            Some(s) => report::render(
                findings,
                self.report_format(),
                &report::Either(s, &disk),
                self.color(),
            ),
            None => report::render(findings, self.report_format(), &disk, self.color()),
        };
        print_out(&text);
        flowtel_conventions::exit_code(findings, self.deny_warnings)
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
    let text = report::render(
        &upstream,
        report::Format::Human,
        &report::Either(&reg.sources, &disk),
        false,
    );
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

/// Writes `content` to `path` atomically: a temporary file beside it, then a rename, so a
/// failure never leaves a half-written file.
pub fn write_atomic(path: &Path, content: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(content)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Loads a registry for commands that take it as an argument (`check`, `diff`).
pub fn load_for_report(path: &Path) -> Loaded {
    flowtel_conventions::check(path)
}
