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

fn registry_from(version: &str, metric: &str, sampling: &str) -> Registry {
    let text = format!(
        "schema: flowtel/v1\nname: demo\nversion: {version}\nattributes:\n  queue.name: {{type: enum, values: [a, b]}}\nmetrics:\n  orders.queue.depth:\n{metric}\nflows:\n  browse: {{owner: team-catalog, slo: {{latency: {{threshold: 200ms, target: 99}}}}}}\n{sampling}"
    );
    let loaded = flowtel_conventions::check_str("demo.yaml", &text);
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

const QUEUE: &str =
    "    instrument: updown_counter\n    unit: '{order}'\n    labels: [queue.name]\n";

#[test]
fn saturation_changes_are_classified() {
    let plain = registry_from("1.0.0", QUEUE, "");
    let limited = registry_from(
        "1.1.0",
        &format!("{QUEUE}    saturation: {{limit: 64}}"),
        "",
    );
    let d = diff(&plain, &limited);
    let descriptions: Vec<(&str, Bump)> = d
        .changes
        .iter()
        .map(|c| (c.description.as_str(), c.bump))
        .collect();
    assert!(descriptions.contains(&(
        "metric `orders.queue.depth` became a saturation signal with limit 64 (adds `orders.queue.depth.limit`)",
        Bump::Minor
    )));
    assert!(descriptions.contains(&("metric `orders.queue.depth.limit` was added", Bump::Minor)));
    assert_eq!(d.required_bump, Bump::Minor);

    let moved = registry_from(
        "1.2.0",
        &format!("{QUEUE}    saturation: {{limit: 128, warn: 0.5}}"),
        "",
    );
    let d = diff(&limited, &moved);
    let descriptions: Vec<&str> = d.changes.iter().map(|c| c.description.as_str()).collect();
    assert_eq!(
        descriptions,
        [
            "saturation limit of `orders.queue.depth` changed from 64 to 128",
            "saturation warning level of `orders.queue.depth` changed from 0.8 to 0.5",
        ]
    );
    assert_eq!(d.required_bump, Bump::Minor);
    assert!(d.changes[0].location.as_ref().is_some_and(|l| l.line == 11));

    let per = registry_from(
        "2.0.0",
        &format!("{QUEUE}    saturation: {{limit: 128, warn: 0.5, per: [queue.name]}}"),
        "",
    );
    let d = diff(&moved, &per);
    assert_eq!(d.required_bump, Bump::Major, "{:#?}", d.changes);
    // Dropping saturation removes the limit gauge dashboards divide by.
    let d = diff(&per, &plain);
    assert!(d.changes.iter().any(|c| c.is_breaking()
        && c.description
            == "metric `orders.queue.depth` is no longer a saturation signal (removes `orders.queue.depth.limit`)"));
}

#[test]
fn sampling_changes_are_compatible_and_say_what_changed() {
    let all = registry_from("1.0.0", QUEUE, "");
    let tenth = registry_from("1.1.0", QUEUE, "sampling:\n  browse: {ratio: 0.1}\n");
    let d = diff(&all, &tenth);
    assert_eq!(d.changes.len(), 1, "{:#?}", d.changes);
    let c = &d.changes[0];
    assert_eq!(c.kind, "sampling");
    assert_eq!(c.bump, Bump::Minor);
    assert_eq!(
        c.description,
        "sampling of flow `browse` changed: ratio 1 -> 0.1 (keeps fewer traces)"
    );
    assert_eq!(c.location.as_ref().map(|l| l.line), Some(15));
    // Same effective policy written out explicitly: no change.
    let explicit = registry_from(
        "1.1.1",
        QUEUE,
        "sampling:\n  browse: {ratio: 0.1, keep_errors: true, keep_slower_than: 200ms}\n",
    );
    assert!(diff(&tenth, &explicit).changes.is_empty());
    let slower = registry_from(
        "1.2.0",
        QUEUE,
        "sampling:\n  browse: {ratio: 0.1, keep_slower_than: 1s}\n",
    );
    assert_eq!(
        diff(&explicit, &slower).changes[0].description,
        "sampling of flow `browse` changed: keep_slower_than 200ms -> 1000ms"
    );
}

#[test]
fn regression_thresholds_are_compared_as_resolved_and_need_a_minor_bump() {
    let reg = |version: &str, extra: &str| {
        let text = format!(
            "schema: flowtel/v1\nname: acme\nversion: {version}\n{extra}flows:\n  checkout: {{owner: team-payments}}\n  login: {{owner: team-identity, regress: {{max_increase: 20}}}}\n"
        );
        let loaded = flowtel_conventions::check_str("flowtel.yaml", &text);
        assert!(
            loaded
                .findings
                .iter()
                .all(|f| f.severity < flowtel_conventions::Severity::Error),
            "{:#?}",
            loaded.findings
        );
        loaded.registry.unwrap()
    };
    let old = reg("1.0.0", "");
    let new = reg(
        "1.1.0",
        "defaults:\n  regress: {max_increase: 2, confidence: 95}\n",
    );
    assert_eq!(new.regress_thresholds("checkout").max_increase, 2.0);
    // A flow's own key wins over the defaults; the keys it leaves unset do not.
    assert_eq!(new.regress_thresholds("login").max_increase, 20.0);
    assert_eq!(new.regress_thresholds("login").confidence, 95.0);
    let d = diff(&old, &new);
    let descriptions: Vec<&str> = d.changes.iter().map(|c| c.description.as_str()).collect();
    assert_eq!(
        descriptions,
        [
            "regression-check thresholds of flow `checkout` changed: confidence 99% → 95%, max_increase 5% → 2%",
            "regression-check thresholds of flow `login` changed: confidence 99% → 95%",
        ]
    );
    assert_eq!(d.required_bump, Bump::Minor);
    assert!(d.bump_ok());
}

fn registry_of(name: &str, text: &str) -> Registry {
    let loaded = flowtel_conventions::check_str(name, text);
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

const EVENTS_BASE: &str = "schema: flowtel/v1\nname: demo\nversion: 1.0.0\nattributes:\n  payment.decline_reason: {type: string}\n  order.id: {type: string}\n  payment.method: {type: string}\n";

#[test]
fn removing_an_event_or_requiring_an_attribute_is_breaking() {
    let old = registry_of(
        "old.yaml",
        &format!(
            "{EVENTS_BASE}events:\n  payment.declined: {{severity: warn, attributes: [order.id], required_attributes: [payment.decline_reason]}}\n  cart.saved: {{attributes: [order.id]}}\n"
        ),
    );
    let new = registry_of(
        "new.yaml",
        &format!(
            "{EVENTS_BASE}events:\n  payment.declined: {{severity: warn, attributes: [payment.method], required_attributes: [payment.decline_reason, order.id]}}\n  payment.retried: {{}}\n"
        ),
    );
    let d = diff(&old, &new);
    let by_bump = |b: Bump| -> Vec<&str> {
        d.changes
            .iter()
            .filter(|c| c.kind == "event" && c.bump == b)
            .map(|c| c.description.as_str())
            .collect()
    };
    assert_eq!(
        by_bump(Bump::Major),
        [
            "event `payment.declined` now requires attribute `order.id` (it was optional): records written without it are reported",
            "event `cart.saved` was removed: services that log it now fail `flowtel::event!` and the linters",
        ]
    );
    assert_eq!(
        by_bump(Bump::Minor),
        [
            "event `payment.declined` may now carry attribute `payment.method`",
            "event `payment.retried` was added",
        ]
    );
    assert_eq!(d.required_bump, Bump::Major);
    // A removal points into the old file at the event's name.
    let removed = d
        .changes
        .iter()
        .find(|c| c.name == "cart.saved")
        .and_then(|c| c.location.as_ref())
        .unwrap();
    assert!(removed.file.ends_with("old.yaml"));
    assert_eq!((removed.line, removed.column), (10, 3));
}

#[test]
fn raising_an_events_lowest_severity_is_breaking_lowering_it_is_not() {
    let at = |sev: &str| {
        registry_of(
            "e.yaml",
            &format!("{EVENTS_BASE}events:\n  payment.declined: {{severity: {sev}}}\n"),
        )
    };
    let up = diff(&at("info"), &at("error"));
    assert_eq!(up.required_bump, Bump::Major);
    assert_eq!(
        up.changes[0].description,
        "lowest severity of event `payment.declined` changed from `info` to `error`"
    );
    assert_eq!(diff(&at("error"), &at("info")).required_bump, Bump::Minor);
}

#[test]
fn personal_data_detection_changes_are_minor_and_say_what_changed() {
    let load = |version: &str, pii: &str| {
        let text = format!("schema: flowtel/v1\nname: demo\nversion: {version}\n{pii}");
        let loaded = flowtel_conventions::check_str("demo.yaml", &text);
        assert!(
            loaded
                .findings
                .iter()
                .all(|f| f.severity < flowtel_conventions::Severity::Error),
            "{:#?}",
            loaded.findings
        );
        loaded.registry.unwrap()
    };
    let old = load("1.0.0", "");
    // Written out, flowtel's defaults are no change.
    let same = load("1.0.0", "pii:\n  value_shapes: [ip, card, phone, email]\n");
    assert!(diff(&old, &same).changes.is_empty());

    let new = load(
        "1.1.0",
        "pii:\n  key_words: [email, phone, badge]\n  value_shapes: [email, card]\n  value_patterns: {employee_id: '^E[0-9]{6}$'}\n",
    );
    let d = diff(&old, &new);
    assert_eq!(d.changes.len(), 1, "{:#?}", d.changes);
    let c = &d.changes[0];
    assert_eq!(c.bump, Bump::Minor);
    assert_eq!(c.kind, "pii");
    for part in [
        "key words added: badge",
        "key words removed (no longer reported): address, birthdate",
        "value shapes removed (no longer reported or dropped): phone, ip",
        "value pattern `employee_id` added",
    ] {
        assert!(c.description.contains(part), "{part}: {}", c.description);
    }
    assert_eq!(c.location.as_ref().map(|l| l.line), Some(5));
    assert!(d.bump_ok());
    // The same change without a version bump is caught.
    let unbumped = load(
        "1.0.0",
        "pii:\n  value_patterns: {employee_id: '^E[0-9]{6}$'}\n",
    );
    assert!(!diff(&old, &unbumped).bump_ok());
}

#[test]
fn narrowing_the_attribute_allow_list_is_breaking_widening_it_is_minor() {
    let load = |version: &str, allow: &str| {
        registry_of(
            "demo.yaml",
            &format!(
                "schema: flowtel/v1\nname: demo\nversion: {version}\nlint:\n  allow_attributes: {allow}\n"
            ),
        )
    };
    let old = load("1.0.0", "['process.*', host.name, 'k8s.*']");
    // Reordered, or an entry inside a namespace already allowed: nothing changes.
    let same = load(
        "1.0.0",
        "['k8s.*', 'process.*', host.name, 'process.runtime.*']",
    );
    let d = diff(&old, &same);
    assert!(d.changes.is_empty(), "{:#?}", d.changes);

    let new = load("1.1.0", "['process.runtime.*', host.name, 'container.*']");
    let d = diff(&old, &new);
    let got: Vec<(Bump, &str, &str)> = d
        .changes
        .iter()
        .map(|c| (c.bump, c.name.as_str(), c.description.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (
                Bump::Major,
                "process.*",
                "`lint.allow_attributes` entry `process.*` narrowed to `process.runtime.*`: telemetry carrying keys it accepted now gets undeclared-attribute findings"
            ),
            (
                Bump::Major,
                "k8s.*",
                "`lint.allow_attributes` entry `k8s.*` removed: telemetry carrying keys it accepted now gets undeclared-attribute findings"
            ),
            (
                Bump::Minor,
                "container.*",
                "`lint.allow_attributes` entry `container.*` added: keys it matches are accepted without a declaration"
            ),
        ]
    );
    assert!(d.changes.iter().all(|c| c.kind == "allow_attributes"));
    assert_eq!(d.changes[0].location.as_ref().map(|l| l.line), Some(5));
    assert_eq!(d.required_bump, Bump::Major);
    assert!(!d.bump_ok());
    // Widening only (`*` accepts every key) is a minor change.
    let wide = load("1.1.0", "['*']");
    let d = diff(&old, &wide);
    assert_eq!(d.required_bump, Bump::Minor, "{:#?}", d.changes);
    assert!(d.bump_ok());
}
