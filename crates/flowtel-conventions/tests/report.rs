//! What users and machines see: the human, JSON and SARIF renderings of registry findings.

use std::path::Path;

use flowtel_conventions::check;
use flowtel_conventions::report::{self, SourceText};

fn broken() -> (
    Vec<flowtel_conventions::Finding>,
    flowtel_conventions::source::SourceMap,
) {
    std::env::set_current_dir(env!("CARGO_MANIFEST_DIR")).unwrap();
    let loaded = check(Path::new("tests/fixtures/conflict/team.yaml"));
    let mut findings = loaded.findings;
    let one = check(Path::new(
        "tests/fixtures/broken/FT0012-undeclared-label.yaml",
    ));
    findings.extend(one.findings);
    let mut sources = loaded.registry.unwrap().sources;
    for f in one.registry.unwrap().sources.files() {
        sources.add(f.path.clone(), f.text.clone());
    }
    (findings, sources)
}

#[test]
fn human_output_shows_the_line_a_caret_and_help() {
    let (findings, sources) = broken();
    let text = report::human(&findings, &sources as &dyn SourceText, false);
    insta::assert_snapshot!(text);
}

#[test]
fn json_output_follows_the_documented_shape() {
    let (findings, _) = broken();
    let v: serde_json::Value = serde_json::from_str(&report::json(&findings)).unwrap();
    assert_eq!(v["tool"], "flowtel");
    assert_eq!(v["summary"]["errors"], 2);
    let f = &v["findings"][1];
    assert_eq!(f["rule"], "FT0012");
    assert_eq!(f["name"], "label-not-an-attribute");
    assert_eq!(f["severity"], "error");
    assert_eq!(f["location"]["line"], 8);
    assert_eq!(f["subject"]["label"], "tenant");
    insta::assert_json_snapshot!(v);
}

#[test]
fn sarif_output_is_sarif_2_1_0_with_the_rule_catalogue() {
    let (findings, _) = broken();
    let v: serde_json::Value = serde_json::from_str(&report::sarif(&findings)).unwrap();
    assert_eq!(v["version"], "2.1.0");
    let run = &v["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), flowtel_conventions::rules::all().count());
    for r in &run["results"].as_array().unwrap()[..] {
        let idx = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[idx]["id"], r["ruleId"]);
        let region = &r["locations"][0]["physicalLocation"]["region"];
        assert!(region["startLine"].as_u64().unwrap() >= 1);
    }
    // Results only: the catalogue grows with every rule, so it is not part of the snapshot.
    insta::assert_json_snapshot!(run["results"]);
}
