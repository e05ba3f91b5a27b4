//! Every registry rule has a fixture that breaks it; each fixture states the findings it must
//! produce (`# expect: RULE LINE:COL`) and produces no others.

use std::path::{Path, PathBuf};

use flowtel_conventions::rules::registry::RECORDED_METRIC_MISSING;
use flowtel_conventions::{Severity, check, exit_code};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn expectations(text: &str) -> Vec<(String, u32, u32)> {
    text.lines()
        .filter_map(|l| l.strip_prefix("# expect: "))
        .map(|e| {
            let (rule, pos) = e.trim().split_once(' ').expect("`# expect: RULE LINE:COL`");
            let (line, col) = pos.split_once(':').expect("LINE:COL");
            (
                rule.to_string(),
                line.parse().unwrap(),
                col.parse().unwrap(),
            )
        })
        .collect()
}

#[test]
fn each_broken_fixture_reports_exactly_its_findings() {
    let dir = fixtures().join("broken");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 20, "fixtures missing in {}", dir.display());
    let mut failures = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let expected = expectations(&text);
        assert!(
            !expected.is_empty(),
            "{} has no `# expect:` line",
            file.display()
        );
        let loaded = check(&file);
        // Fixtures are minimal: one with flows but without the RED metrics also raises FT0030,
        // which only its own fixture asserts.
        let own = file
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with(RECORDED_METRIC_MISSING.id));
        let got: Vec<(String, u32, u32)> = loaded
            .findings
            .iter()
            .filter(|f| own || f.rule.id != RECORDED_METRIC_MISSING.id)
            .map(|f| {
                let l = f
                    .location
                    .as_ref()
                    .expect("every registry finding has a location");
                (f.rule.id.to_string(), l.line, l.column)
            })
            .collect();
        if got != expected {
            failures.push(format!(
                "{}:\n  expected {expected:?}\n  got      {got:?}\n  messages {:?}",
                file.display(),
                loaded
                    .findings
                    .iter()
                    .map(|f| &f.message)
                    .collect::<Vec<_>>()
            ));
        }
        // The file named in the finding is the fixture itself.
        for f in &loaded.findings {
            assert!(
                f.location
                    .as_ref()
                    .unwrap()
                    .file
                    .ends_with(file.file_name().unwrap().to_str().unwrap())
            );
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn malformed_yaml_is_an_input_error_and_rule_breaks_are_findings() {
    let malformed = check(&fixtures().join("broken/FT0001-malformed.yaml"));
    assert_eq!(exit_code(&malformed.findings, false), 2);
    assert_eq!(malformed.findings[0].severity, Severity::Fatal);
    let broken = check(&fixtures().join("broken/FT0012-undeclared-label.yaml"));
    assert_eq!(exit_code(&broken.findings, false), 1);
}

#[test]
fn an_axum_07_entry_route_is_flagged_with_the_axum_08_form_as_fix() {
    let loaded = check(&fixtures().join("broken/FT0022-entry-axum07.yaml"));
    let f = loaded
        .findings
        .iter()
        .find(|f| f.rule.id == "FT0022")
        .expect("FT0022 for `GET /orders/:id`");
    assert!(f.message.contains("axum 0.7"), "{}", f.message);
    assert_eq!(f.help.as_deref(), Some("write `GET /orders/{id}`"));
}

#[test]
fn bundled_conventions_are_clean() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../conventions");
    let loaded = check(&dir);
    assert!(loaded.findings.is_empty(), "{:#?}", loaded.findings);
    let reg = loaded.registry.unwrap();
    assert_eq!(reg.name, "acme-shop");
    for flow in ["login", "browse", "checkout"] {
        let f = &reg.flows[flow];
        assert!(
            f.owner.is_some() && f.slo.is_some() && !f.steps.is_empty(),
            "{flow}"
        );
    }
    for attr in [
        "http.request.method",
        "http.route",
        "http.response.status_code",
        "server.address",
        "error.type",
        "service.name",
        "flow.name",
        "user.id",
    ] {
        assert!(reg.attributes.contains_key(attr), "{attr}");
    }
    // The team layer's attributes and the platform's metrics both point at their own file.
    let file_of = |id: usize| reg.sources.file(id).display.clone();
    assert!(file_of(reg.origins.attributes["user.id"]).ends_with("shop.yaml"));
    assert!(file_of(reg.origins.metrics["flow.step.duration"]).ends_with("platform.yaml"));
}

#[test]
fn import_cycles_name_every_file() {
    let loaded = check(&fixtures().join("cycle/a.yaml"));
    let cycle: Vec<_> = loaded
        .findings
        .iter()
        .filter(|f| f.rule.id == "FT0007")
        .collect();
    assert_eq!(cycle.len(), 1, "{:#?}", loaded.findings);
    assert!(
        cycle[0].message.contains("a.yaml -> ") && cycle[0].message.contains("b.yaml"),
        "{}",
        cycle[0].message
    );
    let loc = cycle[0].location.as_ref().unwrap();
    assert!(loc.file.ends_with("b.yaml"));
    assert_eq!((loc.line, loc.column), (4, 11));
}

#[test]
fn conflicting_redefinitions_name_both_places() {
    let loaded = check(&fixtures().join("conflict/team.yaml"));
    let c: Vec<_> = loaded
        .findings
        .iter()
        .filter(|f| f.rule.id == "FT0008")
        .collect();
    assert_eq!(c.len(), 1, "{:#?}", loaded.findings);
    let here = c[0].location.as_ref().unwrap();
    assert!(here.file.ends_with("team.yaml"));
    assert_eq!(here.line, 6);
    assert_eq!(c[0].related.len(), 1);
    let there = &c[0].related[0].location;
    assert!(there.file.ends_with("base.yaml"));
    assert_eq!(there.line, 5);
    // The import's definition stands.
    let reg = loaded.registry.unwrap();
    assert_eq!(
        reg.attributes["order.id"].ty,
        flowtel_conventions::AttributeType::String
    );
}

#[test]
fn a_layer_may_narrow_an_imported_attribute() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("base.yaml"),
        "schema: flowtel/v1\nname: base\nversion: 1.0.0\nattributes:\n  order.id: {type: string}\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("team.yaml"), "schema: flowtel/v1\nname: team\nversion: 1.0.0\nimports: [base.yaml]\nattributes:\n  order.id: {type: string, max_values: 10, pii: true}\n").unwrap();
    let loaded = check(&dir.path().join("team.yaml"));
    assert!(loaded.findings.is_empty(), "{:#?}", loaded.findings);
    let reg = loaded.registry.unwrap();
    assert_eq!(reg.attributes["order.id"].max_values, Some(10));
    assert!(reg.attributes["order.id"].pii);
    assert_eq!(reg.name, "team");
}

#[test]
fn lint_overrides_change_severity_or_silence_a_rule() {
    let text = "schema: flowtel/v1\nname: x\nversion: 1.0.0\nmetrics:\n  checkout.duration_ms: {instrument: histogram, unit: ms}\nflows:\n  checkout:\n    owner: t\n    steps:\n      pay: {}\nlint:\n  rules: {unit-in-metric-name: error, FT0025: off, recorded-metric-missing: off}\n";
    let loaded = flowtel_conventions::check_str("x.yaml", text);
    assert_eq!(loaded.findings.len(), 1, "{:#?}", loaded.findings);
    assert_eq!(loaded.findings[0].rule.id, "FT0020");
    assert_eq!(loaded.findings[0].severity, Severity::Error);
}

#[test]
fn embedded_files_load_without_the_disk() {
    let platform =
        std::fs::read_to_string(fixtures().join("../../../../conventions/platform.yaml")).unwrap();
    let shop =
        std::fs::read_to_string(fixtures().join("../../../../conventions/shop.yaml")).unwrap();
    let loaded = flowtel_conventions::load::load_embedded(
        "/nowhere/conventions",
        &[
            ("/nowhere/conventions/platform.yaml", &platform),
            ("/nowhere/conventions/shop.yaml", &shop),
        ],
    );
    assert!(loaded.findings.is_empty(), "{:#?}", loaded.findings);
    let reg = loaded.registry.unwrap();
    assert_eq!(reg.flows.len(), 3);
    assert_eq!(reg.name, "acme-shop");
}
