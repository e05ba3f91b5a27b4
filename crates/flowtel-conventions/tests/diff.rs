//! `flowtel diff` classification and the semver bump check.

use std::path::{Path, PathBuf};

use flowtel_conventions::diff::{Bump, diff};
use flowtel_conventions::output::diff::markdown;
use flowtel_conventions::{Registry, check};

fn load(name: &str) -> Registry {
    let p: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/diff")
        .join(name);
    let loaded = check(&p);
    assert!(
        loaded
            .findings
            .iter()
            .all(|f| f.severity < flowtel_conventions::Severity::Error),
        "{:#?}",
        loaded.findings
    );
    loaded.registry.unwrap()
}

#[test]
fn removals_and_type_changes_are_breaking_and_need_a_major_bump() {
    let d = diff(&load("old.yaml"), &load("new-minor.yaml"));
    let breaking: Vec<&str> = d
        .changes
        .iter()
        .filter(|c| c.is_breaking())
        .map(|c| c.description.as_str())
        .collect();
    assert_eq!(
        breaking,
        [
            "enum value `enterprise` was removed from attribute `customer.tier`",
            "metric `flow.step.duration` changed unit from `s` to `ms`",
            "label `customer.tier` was removed from metric `flow.step.duration`",
            "metric `checkout.orders` was removed",
            "step `cart.load` was removed from flow `checkout`",
        ]
    );
    assert_eq!(d.required_bump, Bump::Major);
    assert_eq!(d.actual_bump, Some(Bump::Minor));
    assert!(!d.bump_ok());
    let findings = d.findings(None);
    assert_eq!(findings[0].rule.id, "FT0303");
    assert!(findings[0].help.as_deref().unwrap().contains("3.0.0"));
    // Removals point into the old file, everything else into the new one.
    let removed = d
        .changes
        .iter()
        .find(|c| c.description == "metric `checkout.orders` was removed")
        .unwrap();
    let loc = removed.location.as_ref().unwrap();
    assert!(loc.file.ends_with("old.yaml"));
    assert_eq!(loc.line, 10);
}

#[test]
fn a_major_bump_makes_the_same_changes_acceptable() {
    let d = diff(&load("old.yaml"), &load("new-major.yaml"));
    assert!(d.bump_ok());
    assert!(d.findings(None).iter().all(|f| f.rule.id != "FT0303"));
}

#[test]
fn additions_and_deprecations_are_compatible_and_need_a_minor_bump() {
    let d = diff(&load("old.yaml"), &load("added-only.yaml"));
    assert!(
        d.changes.iter().all(|c| !c.is_breaking()),
        "{:#?}",
        d.changes
    );
    let descriptions: Vec<&str> = d.changes.iter().map(|c| c.description.as_str()).collect();
    assert!(descriptions.contains(&"enum value `staff` was added to attribute `customer.tier`"));
    assert!(descriptions.contains(&"attribute `order.id` was deprecated (use order.ref)"));
    assert!(descriptions.contains(&"flow `refund` was added"));
    assert_eq!(d.required_bump, Bump::Minor);
    assert!(d.bump_ok());
}

#[test]
fn identical_registries_have_no_changes() {
    let d = diff(&load("old.yaml"), &load("old.yaml"));
    assert!(d.changes.is_empty());
    assert!(d.bump_ok());
}

#[test]
fn markdown_for_a_pull_request_comment() {
    let d = diff(&load("old.yaml"), &load("new-minor.yaml"));
    let md = markdown(&d);
    let md = md.replace(env!("CARGO_MANIFEST_DIR"), "<crate>");
    insta::assert_snapshot!(md);
}
