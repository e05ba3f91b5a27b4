//! `flowtel schema`: the JSON Schema of conventions files, generated from the model.

use std::path::PathBuf;

use flowtel_conventions::output::{Format, Formats};

use crate::common::{GlobalArgs, io_finding, print_out, write_atomic};

/// The formats of `flowtel schema`.
pub const FORMATS: Formats = Formats::new("schema", &[Format::Json]);

/// Arguments of `flowtel schema`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Write to this file instead of stdout.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

/// Runs the command and returns the exit code.
pub fn run(global: &GlobalArgs, args: Args) -> i32 {
    if let Err(code) = global.format_for(&FORMATS) {
        return code;
    }
    let schema = flowtel_conventions::json_schema();
    match args.output {
        Some(path) => match write_atomic(&path, schema.as_bytes()) {
            Ok(()) => 0,
            Err(e) => global.emit(&[io_finding(&path, "write", &e)], None),
        },
        None => {
            print_out(&schema);
            0
        }
    }
}
