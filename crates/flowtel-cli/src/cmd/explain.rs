//! `flowtel explain RULE`: what a rule checks, why, and how to fix it. The catalogue is
//! `flowtel_conventions::rules`, its renderings `flowtel_conventions::output::rules`.

use flowtel_conventions::finding::did_you_mean;
use flowtel_conventions::output::rules::RuleList;
use flowtel_conventions::output::{Format, Formats};
use flowtel_conventions::rules;

use crate::common::GlobalArgs;

/// The formats of `flowtel explain`.
pub const FORMATS: Formats =
    Formats::new("explain", &[Format::Human, Format::Json, Format::Markdown]);

/// Arguments of `flowtel explain`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Rule id (`FT0012`, or a runtime rule such as `cardinality-overflow`) or name
    /// (`label-not-an-attribute`).
    #[arg(required_unless_present = "list")]
    pub rule: Option<String>,
    /// List every rule instead.
    #[arg(long)]
    pub list: bool,
}

/// Runs the command and returns the exit code.
pub fn run(global: &GlobalArgs, args: Args) -> i32 {
    let format = match global.format_for(&FORMATS) {
        Ok(f) => f,
        Err(code) => return code,
    };
    if args.list {
        global.print_with(&RuleList, format, None);
        return 0;
    }
    let wanted = args.rule.unwrap_or_default();
    match rules::find(&wanted) {
        Some(rule) => {
            global.print_with(rule, format, None);
            0
        }
        None => {
            let names: Vec<&str> = rules::all().flat_map(|r| [r.id, r.name]).collect();
            let hint = did_you_mean(&wanted, names)
                .map(|s| format!("did you mean `{s}`?"))
                .unwrap_or_else(|| "`flowtel explain --list` shows every rule".into());
            eprintln!("error: no rule is called `{wanted}`\n  = help: {hint}");
            2
        }
    }
}
