//! `cargo xtask <task>`: developer chores.
//!
//! - `ci`: what CI runs: formatting, clippy, every test, generated files up to date.
//! - `schema`: regenerate `schema/flowtel.schema.json` from the conventions model.
//! - `demo`: the main job on the bundled example (check the conventions, run the example
//!   services, lint what they exported).
//! - `bench`: every criterion benchmark.
//! - `bench-live [ARGS]`: the receiver benchmark of `flowtel live` (release build) over OTLP/gRPC
//!   and OTLP/HTTP with an independent Python client (`scripts/bench_live.py ARGS`).
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

fn cargo() -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(root());
    c
}

fn run(step: &str, mut cmd: Command) -> Result<(), String> {
    eprintln!("== {step}");
    let status = cmd
        .status()
        .map_err(|e| format!("{step}: cannot start: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{step} failed ({status})"))
    }
}

const SCHEMA_PATH: &str = "schema/flowtel.schema.json";

fn schema(check_only: bool) -> Result<(), String> {
    let path = root().join(SCHEMA_PATH);
    let fresh = flowtel_conventions::json_schema();
    if check_only {
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        if current != fresh {
            return Err(format!(
                "{SCHEMA_PATH} is out of date: run `cargo xtask schema`"
            ));
        }
        eprintln!("== {SCHEMA_PATH} is up to date");
        return Ok(());
    }
    std::fs::write(&path, fresh).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    eprintln!("wrote {SCHEMA_PATH}");
    Ok(())
}

fn ci() -> Result<(), String> {
    let mut fmt = cargo();
    fmt.args(["fmt", "--all", "--", "--check"]);
    run("cargo fmt --check", fmt)?;
    schema(true)?;
    let mut clippy = cargo();
    clippy.args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]);
    run("cargo clippy", clippy)?;
    let mut test = cargo();
    test.args(["test", "--workspace", "--no-fail-fast"]);
    run("cargo test", test)?;
    // The cardinality attack (1,000,000 requests) and exporter-down latency checks need release
    // builds to finish in seconds and to measure what a service would see.
    let mut stress = cargo();
    stress.args([
        "test",
        "--release",
        "-p",
        "flowtel-tower",
        "--test",
        "stress",
        "--",
        "--ignored",
    ]);
    run("stress tests (release)", stress)?;
    Ok(())
}

fn flowtel(args: &[&str]) -> Command {
    let mut c = cargo();
    c.args(["run", "--quiet", "--release", "-p", "flowtel-cli", "--"])
        .args(args);
    c
}

/// The main job on the bundled example: the conventions are valid, the example services run and
/// export telemetry, and what they exported (and their sources) follows the conventions.
fn demo() -> Result<(), String> {
    let out = root().join("out/demo");
    let _ = std::fs::remove_dir_all(&out);
    let out_s = out.to_string_lossy().into_owned();
    run(
        "flowtel check conventions/",
        flowtel(&["check", "conventions/"]),
    )?;
    let mut example = cargo();
    example.args([
        "run",
        "--quiet",
        "--release",
        "-p",
        "example-checkout",
        "--",
        "--out",
        &out_s,
    ]);
    run(
        "example-checkout: two services, a few hundred checkout and login flows",
        example,
    )?;
    let mut files: Vec<String> = std::fs::read_dir(&out)
        .map_err(|e| format!("{out_s}: {e}"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    files.sort();
    let mut args = vec!["lint", "telemetry"];
    args.extend(files.iter().map(String::as_str));
    run(
        "flowtel lint telemetry (what the services exported)",
        flowtel(&args),
    )?;
    run(
        "flowtel lint source examples/",
        flowtel(&["lint", "source", "examples/"]),
    )?;
    eprintln!("\nThe exported telemetry is in {out_s}.");
    Ok(())
}

fn bench() -> Result<(), String> {
    let mut b = cargo();
    b.args(["bench", "--workspace"]);
    run("cargo bench", b)
}

/// The Python interpreter of the test venv (`$FLOWTEL_PYTHON`, default `.venv/bin/python`).
fn python() -> PathBuf {
    std::env::var_os("FLOWTEL_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".venv/bin/python"))
}

fn bench_live(args: &[String]) -> Result<(), String> {
    let mut build = cargo();
    build.args(["build", "--release", "-p", "flowtel-cli"]);
    run("cargo build --release -p flowtel-cli", build)?;
    let mut b = Command::new(python());
    b.current_dir(root())
        .arg("scripts/bench_live.py")
        .arg(root().join("target/release/flowtel"))
        .args(args);
    run("scripts/bench_live.py", b)
}

fn main() -> ExitCode {
    let task = std::env::args().nth(1).unwrap_or_default();
    let result = match task.as_str() {
        "ci" => ci(),
        "schema" => schema(false),
        "demo" => demo(),
        "bench" => bench(),
        "bench-live" => bench_live(&std::env::args().skip(2).collect::<Vec<_>>()),
        _ => Err("usage: cargo xtask <ci|schema|demo|bench|bench-live>".into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::from(1)
        }
    }
}
