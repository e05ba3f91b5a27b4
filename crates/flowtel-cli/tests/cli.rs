//! The `flowtel` binary as CI and users call it: exit codes, formats, and positions.

mod common;

use std::path::PathBuf;

use common::{flowtel, flowtel_in, json, root};

fn fixtures() -> PathBuf {
    root().join("crates/flowtel-conventions/tests/fixtures")
}

#[test]
fn bundled_conventions_check_clean() {
    let out = flowtel(&["check", "conventions/"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = flowtel(&["check", "conventions/", "--format", "json"]);
    let v = json(&out);
    assert_eq!(v["summary"]["errors"], 0);
    assert_eq!(v["findings"].as_array().unwrap().len(), 0);
}

#[test]
fn conventions_are_discovered_from_the_working_directory() {
    let out = flowtel_in(&root().join("crates/flowtel-cli"), &["check"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn each_broken_fixture_exits_1_with_the_finding_at_its_line() {
    let dir = fixtures().join("broken");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let expect = text
            .lines()
            .find_map(|l| l.strip_prefix("# expect: "))
            .unwrap();
        let (rule, pos) = expect.split_once(' ').unwrap();
        let (line, col) = pos.split_once(':').unwrap();
        let out = flowtel(&["check", path.to_str().unwrap(), "--format", "json"]);
        let want = if rule == "FT0001" || rule == "FT0002" {
            2
        } else {
            1
        };
        // Warnings and notes do not fail the build unless asked to.
        let v = json(&out);
        let f = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["rule"] == rule)
            .unwrap_or_else(|| panic!("{rule} missing for {}", path.display()));
        assert_eq!(
            f["location"]["line"].as_u64().unwrap().to_string(),
            line,
            "{}",
            path.display()
        );
        assert_eq!(
            f["location"]["column"].as_u64().unwrap().to_string(),
            col,
            "{}",
            path.display()
        );
        assert!(
            f["location"]["file"]
                .as_str()
                .unwrap()
                .ends_with(path.file_name().unwrap().to_str().unwrap())
        );
        let severity = f["severity"].as_str().unwrap();
        let code = out.status.code().unwrap();
        match severity {
            "fatal" | "error" => assert_eq!(code, want, "{}", path.display()),
            _ => {
                assert_eq!(code, 0, "{}", path.display());
                let strict = flowtel(&["check", path.to_str().unwrap(), "--deny-warnings"]);
                let expected = if severity == "warning" { 1 } else { 0 };
                assert_eq!(strict.status.code(), Some(expected), "{}", path.display());
            }
        }
        n += 1;
    }
    assert!(n >= 20);
}

#[test]
fn malformed_yaml_exits_2_naming_line_and_column() {
    let path = fixtures().join("broken/FT0001-malformed.yaml");
    let out = flowtel(&["check", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("fatal[FT0001]"), "{text}");
    assert!(text.contains("FT0001-malformed.yaml:5:22"), "{text}");
}

#[test]
fn missing_file_is_an_input_error() {
    let out = flowtel(&["check", "no/such/conventions.yaml", "--format", "json"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(json(&out)["findings"][0]["severity"], "fatal");
}

#[test]
fn sarif_output_is_valid_sarif() {
    let path = fixtures().join("broken/FT0012-undeclared-label.yaml");
    let out = flowtel(&["check", path.to_str().unwrap(), "--format", "sarif"]);
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    assert_eq!(v["version"], "2.1.0");
    let result = &v["runs"][0]["results"][0];
    assert_eq!(result["ruleId"], "FT0012");
    assert_eq!(
        result["locations"][0]["physicalLocation"]["region"]["startLine"],
        8
    );
}

#[test]
fn diff_of_a_removal_under_a_minor_bump_exits_1() {
    let d = fixtures().join("diff");
    let (old, new) = (d.join("old.yaml"), d.join("new-minor.yaml"));
    let out = flowtel(&["diff", old.to_str().unwrap(), new.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("error[FT0303]"), "{text}");
    assert!(text.contains("needs a major bump"), "{text}");
    let out = flowtel(&[
        "diff",
        old.to_str().unwrap(),
        new.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let v = json(&out);
    assert_eq!(v["diff"]["required_bump"], "major");
    assert_eq!(v["diff"]["actual_bump"], "minor");
    assert_eq!(v["diff"]["breaking"], 5);
    let md = flowtel(&[
        "diff",
        old.to_str().unwrap(),
        new.to_str().unwrap(),
        "--format",
        "markdown",
    ]);
    assert!(String::from_utf8_lossy(&md.stdout).contains("#### Breaking changes (5)"));
    let major = d.join("new-major.yaml");
    let ok = flowtel(&["diff", old.to_str().unwrap(), major.to_str().unwrap()]);
    assert_eq!(ok.status.code(), Some(0));
}

#[test]
fn explain_prints_the_rule_documentation() {
    let out = flowtel(&["explain", "FT0012"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("# FT0012 label-not-an-attribute"),
        "{text}"
    );
    assert!(
        text.contains("## What it does")
            && text.contains("## Why is this bad")
            && text.contains("## Example")
    );
    let by_name = flowtel(&["explain", "label-not-an-attribute"]);
    assert_eq!(by_name.stdout, out.stdout);
    let unknown = flowtel(&["explain", "FT0O12"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("did you mean"));
    let list = flowtel(&["explain", "--list"]);
    assert!(String::from_utf8_lossy(&list.stdout).lines().count() >= 26);
}

#[test]
fn explain_knows_the_runtime_violation_rules_by_their_label_value() {
    let out = flowtel(&["explain", "cardinality-overflow"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("# FT0802 cardinality-overflow"), "{text}");
    assert!(text.contains("otel.metric.overflow=true"), "{text}");
    let list = flowtel(&["explain", "--list"]);
    let list = String::from_utf8_lossy(&list.stdout);
    for label in [
        "pii-label",
        "export-dropped",
        "baggage-overflow",
        "pii-redacted",
    ] {
        assert!(list.contains(label), "{label} missing from:\n{list}");
    }
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(
        flowtel(&["check", "--format", "yaml"]).status.code(),
        Some(2)
    );
    assert_eq!(flowtel(&["no-such-command"]).status.code(), Some(2));
    assert_eq!(flowtel(&["--version"]).status.code(), Some(0));
}

#[test]
fn schema_is_json_schema_and_matches_the_committed_file() {
    let out = flowtel(&["schema"]);
    assert_eq!(out.status.code(), Some(0));
    let v = json(&out);
    assert_eq!(v["$schema"], "https://json-schema.org/draft/2020-12/schema");
    assert!(v["properties"]["flows"].is_object());
    let committed = std::fs::read(root().join("schema/flowtel.schema.json")).unwrap();
    assert_eq!(
        out.stdout, committed,
        "schema/flowtel.schema.json is stale: run `cargo xtask schema`"
    );
}
