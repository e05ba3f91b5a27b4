//! `flowtel check [PATH]`: validate a conventions registry.

use std::path::PathBuf;

use flowtel_conventions::output::{FINDING_FORMATS, Formats, SourceText};

use crate::common::{GlobalArgs, load_for_report};

/// The formats of `flowtel check`.
pub const FORMATS: Formats = Formats::new("check", FINDING_FORMATS);

/// Arguments of `flowtel check`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Registry file or folder (default: `--conventions`, or discovered).
    pub path: Option<PathBuf>,
    /// Accept the findings of an earlier `flowtel check --format json` report (known defects of
    /// an upstream model, say): findings with the same rule and message are left out.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
}

/// Runs the command and returns the exit code.
pub fn run(global: &GlobalArgs, args: Args) -> i32 {
    let format = match global.format_for(&FORMATS) {
        Ok(f) => f,
        Err(code) => return code,
    };
    let path = match args
        .path
        .map(Ok)
        .unwrap_or_else(|| global.conventions_path())
    {
        Ok(p) => p,
        Err(f) => return global.emit(&[*f], None),
    };
    let mut loaded = load_for_report(&path);
    if let Some(file) = &args.baseline {
        match read_baseline(file) {
            Ok(accepted) => {
                let before = loaded.findings.len();
                apply_baseline(&mut loaded.findings, accepted);
                let n = before - loaded.findings.len();
                if n > 0 {
                    eprintln!(
                        "flowtel: {n} finding(s) accepted by the baseline `{}`",
                        file.display()
                    );
                }
            }
            Err(f) => return global.emit(&[*f], None),
        }
    }
    let sources = loaded
        .registry
        .as_ref()
        .map(|r| &r.sources as &dyn SourceText);
    let lint = loaded.registry.as_ref().map(|r| &r.lint);
    global.emit_in(format, &loaded.findings, sources, lint)
}

/// (rule id, message) of every finding of a baseline report, with how often it occurs.
type Accepted = std::collections::HashMap<(String, String), usize>;

fn read_baseline(file: &std::path::Path) -> Result<Accepted, Box<flowtel_conventions::Finding>> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| Box::new(crate::common::io_finding(file, "read the baseline", &e)))?;
    let bad = |what: String| {
        Box::new(
            flowtel_conventions::Finding::new(
                &flowtel_conventions::rules::registry::UNREADABLE_INPUT,
                format!("the baseline `{}` {what}", file.display()),
            )
            .at(flowtel_conventions::Location::new(
                file.display().to_string(),
                1,
                1,
            ))
            .help("write it with `flowtel check --format json > FILE`"),
        )
    };
    let doc: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        let mut f = bad(format!("is not JSON: {e}"));
        f.location = Some(flowtel_conventions::Location::new(
            file.display().to_string(),
            u32::try_from(e.line()).unwrap_or(1),
            u32::try_from(e.column()).unwrap_or(1).max(1),
        ));
        f
    })?;
    let findings = doc
        .get("findings")
        .and_then(|f| f.as_array())
        .ok_or_else(|| bad("has no `findings` list".into()))?;
    let mut accepted = Accepted::new();
    for f in findings {
        let rule = f.get("rule").and_then(|r| r.as_str());
        let message = f.get("message").and_then(|m| m.as_str());
        let (Some(rule), Some(message)) = (rule, message) else {
            return Err(bad("has a finding without `rule` or `message`".into()));
        };
        *accepted.entry((rule.into(), message.into())).or_default() += 1;
    }
    Ok(accepted)
}

/// Leaves out findings the baseline accepts (each accepted entry once); fatal input errors stay.
fn apply_baseline(findings: &mut Vec<flowtel_conventions::Finding>, mut accepted: Accepted) {
    findings.retain(|f| {
        if f.severity == flowtel_conventions::Severity::Fatal {
            return true;
        }
        match accepted.get_mut(&(f.rule.id.to_string(), f.message.clone())) {
            Some(n) if *n > 0 => {
                *n -= 1;
                false
            }
            _ => true,
        }
    });
}
