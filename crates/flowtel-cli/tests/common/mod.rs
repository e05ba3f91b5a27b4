//! What the `flowtel` binary's tests share: the workspace, running the binary in a folder with
//! colour off, and reading what it printed.

#![allow(dead_code)] // each test file uses the part it needs

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// The workspace root, canonical.
pub fn root() -> PathBuf {
    flowtel_testkit::workspace().canonicalize().unwrap()
}

/// `flowtel ARGS` run in `dir`, colour off.
pub fn flowtel_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_flowtel"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

/// `flowtel ARGS` run in the workspace root, colour off.
pub fn flowtel(args: &[&str]) -> Output {
    flowtel_in(&root(), args)
}

/// The one JSON document on stdout.
pub fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

/// stdout then stderr, as text.
pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
