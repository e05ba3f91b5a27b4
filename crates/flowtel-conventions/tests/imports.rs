//! One loader for every consumer: a registry read from disk (the CLI, `conventions_from_path`)
//! and the same files embedded in a binary (`flowtel::conventions!()`) resolve their imports to
//! the same layers: absolute paths, relative paths and folders alike.

use std::path::Path;

use flowtel_conventions::{Registry, Severity, check, load::load_embedded};

const PLATFORM: &str = "schema: flowtel/v1\nname: platform\nversion: 1.0.0\n\
attributes:\n  flow.name: {type: string, max_values: 50}\n  outcome: {type: enum, values: [ok, error]}\n\
metrics:\n  flow.requests: {instrument: counter, unit: '{request}', labels: [flow.name, outcome]}\n";
const TEAM_LAYER: &str = "schema: flowtel/v1\nname: team\nversion: 1.0.0\n\
attributes:\n  plan.kind: {type: enum, values: [free, pro]}\n\
metrics:\n  signup.created: {instrument: counter, unit: '{signup}', labels: [plan.kind]}\n";
/// In a subfolder of the imported folder: a folder import takes only the files directly in it.
const NESTED: &str = "schema: flowtel/v1\nname: nested\nversion: 1.0.0\n\
metrics:\n  nested.never: {instrument: counter, unit: '{x}'}\n";

fn service(platform: &Path) -> String {
    format!(
        "schema: flowtel/v1\nname: signup-svc\nversion: 0.1.0\nimports: [{}, layers]\n\
flows:\n  signup:\n    owner: team-growth\n    steps:\n      form.validate: {{service: signup}}\n",
        platform.display()
    )
}

/// A service folder whose `flowtel.yaml` imports the platform by absolute path and a folder of
/// layers by relative path. Returns `(service file, every file with its text)`.
fn tree(dir: &Path) -> (std::path::PathBuf, Vec<(String, String)>) {
    let platform = dir.join("shared/platform.yaml");
    let svc = dir.join("svc/flowtel.yaml");
    let team = dir.join("svc/layers/team.yaml");
    let nested = dir.join("svc/layers/old/nested.yaml");
    std::fs::create_dir_all(nested.parent().unwrap()).unwrap();
    std::fs::create_dir_all(platform.parent().unwrap()).unwrap();
    let files = [
        (platform.clone(), PLATFORM.to_string()),
        (svc.clone(), service(&platform)),
        (team, TEAM_LAYER.to_string()),
        (nested, NESTED.to_string()),
    ];
    for (p, t) in &files {
        std::fs::write(p, t).unwrap();
    }
    let named = files
        .iter()
        .map(|(p, t)| (p.to_string_lossy().into_owned(), t.clone()))
        .collect();
    (svc, named)
}

fn names(reg: &Registry) -> (Vec<&str>, Vec<&str>) {
    let mut m: Vec<&str> = reg.metrics.keys().map(String::as_str).collect();
    let mut a: Vec<&str> = reg.attributes.keys().map(String::as_str).collect();
    m.sort();
    a.sort();
    (m, a)
}

#[test]
fn disk_and_embedded_loads_resolve_absolute_relative_and_folder_imports_alike() {
    let dir = tempfile::tempdir().unwrap();
    let (svc, files) = tree(dir.path());

    let disk = check(&svc);
    assert!(
        disk.findings.iter().all(|f| f.severity < Severity::Error),
        "{:#?}",
        disk.findings
    );
    let disk = disk.registry.unwrap();
    assert_eq!(
        names(&disk).0,
        ["flow.requests", "signup.created"],
        "the absolute import and the folder import (not its subfolder) are layers"
    );

    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    let embedded = load_embedded(&svc.to_string_lossy(), &refs);
    assert!(embedded.findings.is_empty(), "{:#?}", embedded.findings);
    let embedded = embedded.registry.unwrap();
    assert_eq!(names(&embedded), names(&disk));
    assert_eq!(embedded.name, "signup-svc");
    assert_eq!(embedded.flows.len(), 1);
}

#[test]
fn an_embedded_folder_root_takes_its_own_files_only() {
    let dir = tempfile::tempdir().unwrap();
    let (_, files) = tree(dir.path());
    let layers = dir.path().join("svc/layers");
    let disk = check(&layers).registry.unwrap();
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    let embedded = load_embedded(&layers.to_string_lossy(), &refs);
    assert!(embedded.findings.is_empty(), "{:#?}", embedded.findings);
    assert_eq!(names(&embedded.registry.unwrap()), names(&disk));
    assert_eq!(names(&disk).0, ["signup.created"]);
}

#[test]
fn a_missing_embedded_import_is_a_finding() {
    let loaded = load_embedded(
        "svc/flowtel.yaml",
        &[(
            "svc/flowtel.yaml",
            "schema: flowtel/v1\nname: x\nversion: 1.0.0\nimports: [/elsewhere/platform.yaml]\n",
        )],
    );
    assert_eq!(loaded.findings.len(), 1, "{:#?}", loaded.findings);
    assert!(
        loaded.findings[0]
            .message
            .contains("/elsewhere/platform.yaml"),
        "{}",
        loaded.findings[0].message
    );
}
