//! The output layer as users meet it: each command writes its own formats and rejects the others
//! (exit 2, naming the ones it has), and the conventions' `lint.rules` overrides apply to every
//! command's findings, `diff`'s included.

mod common;

use common::{flowtel, root};
use serde_json::Value;

#[test]
fn check_rejects_markdown_listing_its_formats() {
    let out = flowtel(&["check", "conventions/", "--format", "markdown"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty(), "nothing printed on stdout");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err,
        "error: `flowtel check` cannot write `--format markdown`\n  = help: its formats are human, json, sarif\n"
    );
}

#[test]
fn every_command_names_its_own_formats() {
    for (args, formats) in [
        (
            &["lint", "source", "--format", "markdown"][..],
            "human, json, sarif",
        ),
        (
            &["explain", "FT0012", "--format", "sarif"],
            "human, json, markdown",
        ),
        (&["schema", "--format", "human"], "json"),
        // A value that is no format at all gets the command's own list too.
        (&["check", "--format", "bogus"], "human, json, sarif"),
    ] {
        let out = flowtel(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!("its formats are {formats}\n")),
            "{args:?}: {err}"
        );
    }
    // Markdown is one of explain's.
    let md = flowtel(&["explain", "--list", "--format", "markdown"]);
    assert_eq!(md.status.code(), Some(0));
    let text = String::from_utf8_lossy(&md.stdout);
    assert!(
        text.starts_with("| id | name | severity | summary |\n|---|---|---|---|\n"),
        "{text}"
    );
    assert!(
        text.contains("| FT0012 | `label-not-an-attribute` | error |"),
        "{text}"
    );
}

#[test]
fn lint_rules_overrides_change_diff_findings() {
    let fixtures = root().join("crates/flowtel-conventions/tests/fixtures/diff");
    let tmp = tempfile::tempdir().unwrap();
    let new = tmp.path().join("new.yaml");
    let mut text = std::fs::read_to_string(fixtures.join("new-major.yaml")).unwrap();
    text.push_str("lint:\n  rules: {FT0301: error, compatible-change: off}\n");
    std::fs::write(&new, text).unwrap();
    let old = fixtures.join("old.yaml");
    let out = flowtel(&[
        "diff",
        old.to_str().unwrap(),
        new.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let findings = doc["findings"].as_array().unwrap();
    assert!(!findings.is_empty());
    assert!(
        findings
            .iter()
            .all(|f| f["rule"] == "FT0301" && f["severity"] == "error"),
        "{findings:#?}"
    );
    assert_eq!(doc["summary"]["errors"], findings.len());
    // Breaking changes are errors now, so the diff fails even with a major bump.
    assert_eq!(out.status.code(), Some(1));
    // Without the override the same diff passes.
    let plain = flowtel(&[
        "diff",
        old.to_str().unwrap(),
        fixtures.join("new-major.yaml").to_str().unwrap(),
    ]);
    assert_eq!(plain.status.code(), Some(0));
}
