//! `flowtel lint source` as CI calls it: exit codes, and findings with file, line and column in
//! JSON and SARIF (so code-scanning UIs annotate the pull request).

mod common;

use std::path::PathBuf;
use std::process::Output;

use common::{flowtel_in, json, root};

fn fixtures() -> PathBuf {
    root().join("crates/flowtel-lint/tests/fixtures/source")
}

fn flowtel(args: &[&str]) -> Output {
    let conventions = fixtures().join("flowtel.yaml");
    let head = [
        "lint",
        "source",
        "--conventions",
        conventions.to_str().unwrap(),
    ];
    flowtel_in(&fixtures(), &[&head[..], args].concat())
}

#[test]
fn findings_exit_1_with_positions_in_json() {
    let out = flowtel(&["app/src/main.rs", "--format", "json"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let v = json(&out);
    let findings = v["findings"].as_array().unwrap();
    let unknown = findings.iter().find(|f| f["rule"] == "FT0201").unwrap();
    assert_eq!(unknown["name"], "unknown-metric-name-in-source");
    assert_eq!(unknown["location"]["file"], "app/src/main.rs");
    assert_eq!(unknown["location"]["line"], 7);
    assert_eq!(unknown["location"]["column"], 38);
    assert_eq!(unknown["help"], "did you mean `flow.requests`?");
    assert_eq!(v["summary"]["errors"], 5);
    assert_eq!(v["summary"]["warnings"], 3);
}

#[test]
fn sarif_carries_regions_and_the_rules() {
    let out = flowtel(&["app/src/main.rs", "--format", "sarif"]);
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    let run = &v["runs"][0];
    let result = run["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ruleId"] == "FT0203")
        .unwrap();
    let loc = &result["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uri"], "app/src/main.rs");
    assert_eq!(loc["region"]["startLine"], 8);
    assert_eq!(loc["region"]["startColumn"], 38);
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert!(rules.iter().any(|r| r["id"] == "FT0205"));
}

#[test]
fn human_output_points_at_the_token() {
    let out = flowtel(&["app/src/main.rs"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("app/src/main.rs:7:38"), "{text}");
    assert!(
        text.contains("meter.u64_counter(\"flow.request\")"),
        "{text}"
    );
}

#[test]
fn clean_sources_exit_0_and_missing_paths_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("ok.rs"),
        "fn f(m: Meter) { let c = m.u64_counter(\"flow.requests\").build(); }\n",
    )
    .unwrap();
    let out = flowtel(&[dir.path().to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = flowtel(&["does/not/exist"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
