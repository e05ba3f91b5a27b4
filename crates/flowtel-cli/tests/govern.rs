//! `flowtel slo` and the other generators as CI calls them: `-o DIR`, `--check`, stdout, and
//! exit 2 with a located finding when the conventions lack what a generator needs.

mod common;

use common::{flowtel_in as flowtel, root, text};

/// A copy of the bundled conventions in a temporary project.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let conv = dir.path().join("conventions");
    std::fs::create_dir(&conv).unwrap();
    for f in ["platform.yaml", "shop.yaml"] {
        std::fs::copy(root().join("conventions").join(f), conv.join(f)).unwrap();
    }
    dir
}

#[test]
fn slo_check_is_clean_on_fresh_files_and_fails_after_an_slo_changes() {
    let p = project();
    let out = flowtel(p.path(), &["slo", "-o", "rules"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let written = std::fs::read_to_string(p.path().join("rules/flowtel-slo.rules.yml")).unwrap();
    // Deterministic: stdout is byte-identical to the written file.
    let stdout = flowtel(p.path(), &["slo"]);
    assert_eq!(String::from_utf8_lossy(&stdout.stdout), written);

    let out = flowtel(p.path(), &["slo", "--check", "-o", "rules"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    let shop = p.path().join("conventions/shop.yaml");
    let changed = std::fs::read_to_string(&shop).unwrap().replace(
        "availability: 99.9\n      latency: {threshold: 500ms",
        "availability: 99.95\n      latency: {threshold: 500ms",
    );
    std::fs::write(&shop, changed).unwrap();
    let out = flowtel(p.path(), &["slo", "--check", "-o", "rules"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("flowtel-slo.rules.yml"),
        "{}",
        text(&out)
    );
    // --check never writes.
    assert_eq!(
        std::fs::read_to_string(p.path().join("rules/flowtel-slo.rules.yml")).unwrap(),
        written
    );
}

#[test]
fn a_flow_without_slo_is_a_located_input_error_and_nothing_is_written() {
    let p = project();
    let shop = p.path().join("conventions/shop.yaml");
    let text_in = std::fs::read_to_string(&shop).unwrap();
    let changed = text_in.replace(
        "    slo:\n      availability: 99.9\n      latency: {threshold: 200ms, target: 95}\n",
        "",
    );
    assert_ne!(changed, text_in, "the browse SLO was removed");
    std::fs::write(&shop, changed).unwrap();
    let out = flowtel(p.path(), &["slo", "-o", "rules", "--format", "json"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let f = &v["findings"][0];
    assert_eq!(f["rule"], "FT0701");
    assert_eq!(f["severity"], "fatal");
    assert!(
        f["location"]["file"]
            .as_str()
            .unwrap()
            .ends_with("shop.yaml")
    );
    assert!(f["location"]["line"].as_u64().unwrap() > 1);
    assert!(!p.path().join("rules").exists());
}

#[test]
fn generated_rules_and_routes_lint_clean() {
    let p = project();
    for cmd in ["slo", "alerts"] {
        let out = flowtel(p.path(), &[cmd, "-o", "gen"]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    }
    let out = flowtel(
        p.path(),
        &[
            "lint",
            "alerts",
            "--alertmanager",
            "gen/alertmanager.yml",
            "gen/flowtel-slo.rules.yml",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("0 errors, 0 warnings"),
        "{}",
        text(&out)
    );
}

#[test]
fn dashboards_and_runbooks_write_check_and_refuse_incomplete_conventions() {
    let p = project();
    for (cmd, file) in [
        ("dashboards", "flowtel-checkout.json"),
        ("runbooks", "checkout.md"),
    ] {
        let dir = format!("gen-{cmd}");
        let out = flowtel(p.path(), &[cmd, "-o", &dir]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        assert!(p.path().join(&dir).join(file).is_file(), "{cmd}: no {file}");
        let out = flowtel(p.path(), &[cmd, "--check", "-o", &dir]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    }
    // A changed SLO makes both stale.
    let shop = p.path().join("conventions/shop.yaml");
    let text_in = std::fs::read_to_string(&shop).unwrap();
    std::fs::write(
        &shop,
        text_in.replace(
            "latency: {threshold: 500ms, target: 99}",
            "latency: {threshold: 500ms, target: 99.5}",
        ),
    )
    .unwrap();
    for cmd in ["dashboards", "runbooks"] {
        let out = flowtel(p.path(), &[cmd, "--check", "-o", &format!("gen-{cmd}")]);
        assert_eq!(out.status.code(), Some(1), "{cmd}: {}", text(&out));
    }
    // A flow without an alert route: the generators that route alerts refuse with a located
    // finding and write nothing.
    std::fs::write(
        &shop,
        text_in.replace("    alert_route: catalog-oncall\n", ""),
    )
    .unwrap();
    for cmd in ["runbooks", "alerts", "slo"] {
        let out = flowtel(p.path(), &[cmd, "-o", "rb", "--format", "json"]);
        assert_eq!(out.status.code(), Some(2), "{cmd}: {}", text(&out));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["findings"][0]["rule"], "FT0702", "{cmd}");
        assert!(v["findings"][0]["location"]["line"].as_u64().unwrap() > 1);
        assert!(!p.path().join("rb").exists());
    }
}

#[test]
fn every_generator_that_needs_slos_refuses_a_flow_without_one() {
    let p = project();
    let shop = p.path().join("conventions/shop.yaml");
    let text_in = std::fs::read_to_string(&shop).unwrap();
    std::fs::write(
        &shop,
        text_in.replace(
            "    slo:\n      availability: 99.9\n      latency: {threshold: 200ms, target: 95}\n",
            "",
        ),
    )
    .unwrap();
    for cmd in ["slo", "openslo", "dashboards", "runbooks"] {
        let out = flowtel(p.path(), &[cmd, "-o", "gen", "--format", "json"]);
        assert_eq!(out.status.code(), Some(2), "{cmd}: {}", text(&out));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["findings"][0]["rule"], "FT0701", "{cmd}");
        assert!(v["findings"][0]["location"]["line"].as_u64().unwrap() > 1);
    }
    assert!(!p.path().join("gen").exists());
}

#[test]
fn the_dashboard_of_a_removed_flow_is_stale_and_goes_on_the_next_write() {
    let p = project();
    let out = flowtel(p.path(), &["dashboards", "-o", "gen"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = flowtel(p.path(), &["slo", "-o", "gen"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(p.path().join("gen/flowtel-browse.json").is_file());
    // Remove the browse flow (and its sampling entry).
    let shop = p.path().join("conventions/shop.yaml");
    let text_in = std::fs::read_to_string(&shop).unwrap();
    let start = text_in.find("  browse:\n").unwrap();
    let end = text_in.find("  checkout:\n").unwrap();
    let mut changed = format!("{}{}", &text_in[..start], &text_in[end..]);
    changed = changed.replace("  browse: {ratio: 0.1, keep_slower_than: 150ms}\n", "");
    std::fs::write(&shop, changed).unwrap();
    let out = flowtel(p.path(), &["dashboards", "--check", "-o", "gen"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("`flowtel-browse.json` is no longer generated"),
        "{}",
        text(&out)
    );
    let out = flowtel(p.path(), &["dashboards", "-o", "gen"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!p.path().join("gen/flowtel-browse.json").exists());
    // The other generator's file in the same folder is left alone.
    assert!(p.path().join("gen/flowtel-slo.rules.yml").is_file());
    let out = flowtel(p.path(), &["dashboards", "--check", "-o", "gen"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}
