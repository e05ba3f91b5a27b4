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
