//! `flowtel lint alerts` as CI calls it: exit codes, findings located in human, JSON and SARIF,
//! and the signal-quality summary in every format.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{flowtel_in, json};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../flowtel-lint/tests/fixtures/alerts")
        .canonicalize()
        .unwrap()
}

fn flowtel(args: &[&str]) -> Output {
    flowtel_in(&fixtures(), &[&["lint", "alerts"][..], args].concat())
}

const CONVENTIONS: &str = "--conventions=team/flowtel.yaml";

#[test]
fn findings_and_summary_in_json() {
    let out = flowtel(&[CONVENTIONS, "--format", "json", "team/team.rules.yml"]);
    assert_eq!(out.status.code(), Some(1));
    let doc = json(&out);
    let rules: Vec<&str> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["FT0503", "FT0508", "FT0510", "FT0504", "FT0511"]);
    let typo = &doc["findings"][1];
    assert_eq!(typo["location"]["file"], "team/team.rules.yml");
    assert_eq!(typo["location"]["line"], 39);
    assert_eq!(typo["subject"]["metric"], "checkout_order_total");
    let q = &doc["signal_quality"];
    assert_eq!(q["alerts"], 6);
    assert_eq!(q["slo_based"], 1);
    assert_eq!(q["pages_on_causes"], 1);
    assert_eq!(q["pages_after_cleanup"], 1);
}

#[test]
fn human_output_ends_with_the_summary() {
    let out = flowtel(&[CONVENTIONS, "team/team.rules.yml"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("--> team/team.rules.yml:39:24"), "{text}");
    assert!(
        text.contains("signal quality: 6 alerts in 1 file (2 groups, 0 recording rules): 5 flow-aligned (83%), 1 SLO/burn-rate based, 1 cause-based, 1 average-based"),
        "{text}"
    );
    assert!(
        text.trim_end()
            .ends_with("flowtel: 2 errors, 3 warnings, 0 notes"),
        "{text}"
    );
}

#[test]
fn sarif_carries_results_and_the_summary() {
    let out = flowtel(&[CONVENTIONS, "--format", "sarif", "team/team.rules.yml"]);
    assert_eq!(out.status.code(), Some(1));
    let doc = json(&out);
    let run = &doc["runs"][0];
    assert_eq!(run["results"].as_array().unwrap().len(), 5);
    assert_eq!(
        run["results"][1]["locations"][0]["physicalLocation"]["region"]["startLine"],
        39
    );
    assert_eq!(run["properties"]["signal_quality"]["alerts"], 6);
}

#[test]
fn clean_rules_exit_zero_and_alertmanager_routes_are_checked() {
    let out = flowtel(&[CONVENTIONS, "clean.rules.yml"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = flowtel(&[
        CONVENTIONS,
        "--format=json",
        "--alertmanager",
        "rules/alertmanager.yml",
        "rules/FT0519-alert-wrong-receiver.yml",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let doc = json(&out);
    assert_eq!(doc["findings"][0]["rule"], "FT0519");
    assert_eq!(
        doc["findings"][0]["related"][0]["location"]["file"],
        "rules/alertmanager.yml"
    );
}

#[test]
fn without_conventions_metrics_are_not_checked_but_hygiene_is() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("r.yml");
    std::fs::write(
        &file,
        "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: sum(rate(no_such_metric_total[5m])) > 1\n",
    )
    .unwrap();
    let out = flowtel_in(
        dir.path(),
        &["lint", "alerts", "--format=json", file.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0));
    let doc = json(&out);
    let rules: Vec<&str> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["FT0505", "FT0511", "FT0513"]);
}

#[test]
fn unreadable_input_exits_2_and_bad_yaml_is_a_located_finding() {
    let out = flowtel(&[CONVENTIONS, "--format=json", "no-such-file.yml"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(json(&out)["findings"][0]["severity"], "fatal");
    let out = flowtel(&[
        CONVENTIONS,
        "--format=json",
        "rules/FT0501-rule-file-malformed.yml",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let f = &json(&out)["findings"][0];
    assert_eq!(f["rule"], "FT0501");
    assert!(f["location"]["line"].as_u64().unwrap() >= 6, "{f}");
}
