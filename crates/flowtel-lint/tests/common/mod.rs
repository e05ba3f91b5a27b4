//! What the lint crate's tests with an independent producer share: the workspace, a fixture
//! registry that must load without errors, the Python OpenTelemetry SDK producing a scenario
//! (`tests/python/produce.py`), and linting the files it wrote.

#![allow(dead_code)] // each test file uses the part it needs

use std::path::{Path, PathBuf};
use std::process::Command;

use flowtel_conventions::{Finding, Registry};
use flowtel_lint::telemetry::lint_inputs;
use flowtel_otlp::ReadOptions;
pub use flowtel_testkit::{python, workspace};

/// The registry at `tests/fixtures/<fixture>`, which must load without errors.
pub fn fixture_registry(fixture: &str) -> Registry {
    registry_at(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(fixture),
    )
}

/// The registry at `path`, which must load without errors.
pub fn registry_at(path: &Path) -> Registry {
    flowtel_testkit::without_errors(
        flowtel_conventions::check(path),
        &path.display().to_string(),
    )
}

/// The files `produce.py --scenario SCENARIO --format FORMAT` writes, in a temporary folder;
/// `None` (skipped) when `FLOWTEL_SKIP_PYTHON=1`.
pub fn produce(scenario: &str, format: &str) -> Option<tempfile::TempDir> {
    let python = python()?;
    let out = tempfile::tempdir().unwrap();
    let status = Command::new(&python)
        .arg(workspace().join("tests/python/produce.py"))
        .arg(out.path())
        .args(["--scenario", scenario, "--format", format])
        .status()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    assert!(status.success(), "produce.py failed ({status})");
    Some(out)
}

/// The findings of `traces.EXT`, `metrics.EXT` and `logs.EXT` in `dir`.
pub fn lint(reg: &Registry, dir: &Path, ext: &str) -> Vec<Finding> {
    let inputs: Vec<String> = ["traces", "metrics", "logs"]
        .iter()
        .map(|n| dir.join(format!("{n}.{ext}")).display().to_string())
        .collect();
    lint_inputs(reg, &inputs, &ReadOptions::default(), &mut |_| {})
}
