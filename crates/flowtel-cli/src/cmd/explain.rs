//! `flowtel explain RULE`: what a rule checks, why, and how to fix it.

use flowtel_conventions::finding::did_you_mean;
use flowtel_conventions::rules;

use crate::common::{FormatArg, GlobalArgs, print_out};

/// Arguments of `flowtel explain`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Rule id (`FT0012`) or name (`label-not-an-attribute`).
    #[arg(required_unless_present = "list")]
    pub rule: Option<String>,
    /// List every rule instead.
    #[arg(long)]
    pub list: bool,
}

/// Runs the command and returns the exit code.
pub fn run(global: &GlobalArgs, args: Args) -> i32 {
    if args.list {
        if global.format == FormatArg::Json {
            let all: Vec<_> = rules::all().collect();
            print_out(&format!(
                "{}\n",
                serde_json::to_string_pretty(&all).unwrap_or_default()
            ));
        } else {
            let mut out = String::new();
            for r in rules::all() {
                out.push_str(&format!(
                    "{}  {:<28} {:<8} {}\n",
                    r.id,
                    r.name,
                    r.severity.as_str(),
                    r.summary
                ));
            }
            print_out(&out);
        }
        return 0;
    }
    let wanted = args.rule.unwrap_or_default();
    match rules::find(&wanted) {
        Some(rule) => {
            if global.format == FormatArg::Json {
                print_out(&format!(
                    "{}\n",
                    serde_json::to_string_pretty(rule).unwrap_or_default()
                ));
            } else {
                print_out(&rule.explain());
            }
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
