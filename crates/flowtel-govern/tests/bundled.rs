//! Every artifact generated from the bundled conventions, as insta snapshots.

use std::path::Path;

use flowtel_govern::{Generator, Options, Output};

fn bundled() -> flowtel_conventions::Registry {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../conventions");
    let loaded = flowtel_conventions::check(&dir);
    assert!(loaded.findings.is_empty(), "{:?}", loaded.findings);
    loaded.registry.unwrap()
}

fn generate(g: Generator) -> Output {
    g.generate(&bundled(), &Options::default())
        .unwrap_or_else(|f| panic!("{f:?}"))
}

#[test]
fn slo_rules() {
    let out = generate(Generator::Slo);
    assert_eq!(out.files.len(), 1);
    insta::assert_snapshot!("slo_rules", out.files[0].contents);
    insta::assert_snapshot!("slo_notes", out.notes.join("\n"));
}

#[test]
fn alertmanager_config() {
    let out = generate(Generator::Alerts);
    assert_eq!(out.files.len(), 1);
    insta::assert_snapshot!("alertmanager", out.files[0].contents);
}

#[test]
fn openslo_documents() {
    let out = generate(Generator::OpenSlo);
    let text = &out.files[0].contents;
    // One SLO document per flow and objective: login, browse and checkout each have two.
    assert_eq!(text.matches("\nkind: SLO\n").count(), 6);
    assert_eq!(text.matches("budgetingMethod: Occurrences").count(), 6);
    insta::assert_snapshot!("openslo", text);
}

#[test]
fn runbooks() {
    let out = generate(Generator::Runbooks);
    let paths: Vec<&str> = out.files.iter().map(|a| a.path.as_str()).collect();
    assert_eq!(paths, ["login.md", "browse.md", "checkout.md"]);
    // Every alert the rules carry for a flow has its section, the anchor its runbook_url names.
    let reg = bundled();
    let plan = flowtel_govern::plan::Plan::new(&reg);
    for (f, a) in plan.flows.iter().zip(&out.files) {
        for alert in flowtel_govern::slo::alerts(f, &plan) {
            assert!(
                a.contents.contains(&format!("\n### {}\n", alert.name)),
                "{} has no section for {}",
                a.path,
                alert.name
            );
        }
        assert!(
            !a.contents.contains("{{"),
            "{}: an alert template leaked",
            a.path
        );
    }
    let checkout = &out.files[2].contents;
    assert!(checkout.contains("`flowtel critical-path --flow checkout`"));
    assert!(checkout.contains(
        "| availability | 99.9% of requests succeed | 30d | 0.1% of requests | 43.2 min |"
    ));
    for a in &out.files {
        insta::assert_snapshot!(
            format!("runbook_{}", a.path.trim_end_matches(".md")),
            a.contents
        );
    }
}

#[test]
fn every_generator_is_deterministic() {
    for g in [
        Generator::Slo,
        Generator::Alerts,
        Generator::OpenSlo,
        Generator::Dashboards,
        Generator::Runbooks,
        Generator::Sampling,
    ] {
        // Two registries loaded apart, so nothing is shared but the files.
        assert_eq!(generate(g), generate(g), "{} differs on re-run", g.name());
    }
}
