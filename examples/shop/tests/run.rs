//! Runs the example as users do and checks what it wrote: OTLP JSON lines with only declared
//! metrics and labels, the resource attributes, the flow across the services and the broker,
//! hashed user ids.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON document per line"))
        .collect()
}

fn attr<'a>(attrs: &'a Value, key: &str) -> Option<&'a Value> {
    attrs
        .as_array()?
        .iter()
        .find(|a| a["key"] == key)
        .map(|a| &a["value"])
}

fn declared_labels() -> HashMap<String, BTreeSet<String>> {
    // Read the bundled registry's metric labels straight from the YAML text, independently of
    // flowtel's own loader.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../conventions");
    let mut out = HashMap::new();
    for f in ["platform.yaml", "shop.yaml"] {
        let text = std::fs::read_to_string(root.join(f)).expect("conventions");
        let mut in_metrics = false;
        let mut current = None;
        for line in text.lines() {
            if !line.starts_with(' ') && !line.is_empty() && !line.starts_with('#') {
                in_metrics = line.starts_with("metrics:");
                continue;
            }
            if !in_metrics {
                continue;
            }
            if let Some(name) = line.strip_prefix("  ").filter(|l| !l.starts_with(' ')) {
                current = Some(name.trim_end_matches(':').to_owned());
            } else if let Some(labels) = line.trim().strip_prefix("labels: [") {
                let labels = labels
                    .trim_end_matches(']')
                    .split(',')
                    .map(|l| l.trim().to_owned());
                out.insert(current.clone().expect("metric"), labels.collect());
            } else if let Some(sat) = line.trim().strip_prefix("saturation:") {
                // A saturation signal's limit gauge `<name>.limit`, labelled by `per`.
                let per = sat
                    .split_once("per: [")
                    .and_then(|(_, rest)| rest.split_once(']'))
                    .map(|(labels, _)| labels.split(',').map(|l| l.trim().to_owned()).collect())
                    .unwrap_or_default();
                out.insert(format!("{}.limit", current.clone().expect("metric")), per);
            }
        }
    }
    out
}

#[test]
fn writes_lint_clean_otlp_json_lines() {
    let dir = tempfile::tempdir().expect("tempdir");
    let status = Command::new(env!("CARGO_BIN_EXE_example-shop"))
        .args(["--out", dir.path().to_str().unwrap(), "--requests", "200"])
        .env_remove("FLOWTEL_CONVENTIONS")
        .status()
        .expect("run the example");
    assert!(status.success());

    let declared = declared_labels();
    assert!(declared.contains_key("flow.step.duration"), "{declared:?}");
    let mut seen_metrics = BTreeSet::new();
    for doc in lines(&dir.path().join("metrics.jsonl")) {
        for rm in doc["resourceMetrics"].as_array().unwrap() {
            let res = &rm["resource"]["attributes"];
            for key in [
                "service.name",
                "service.version",
                "deployment.environment.name",
            ] {
                assert!(attr(res, key).is_some(), "resource lacks {key}");
            }
            for sm in rm["scopeMetrics"].as_array().unwrap() {
                for m in sm["metrics"].as_array().unwrap() {
                    let name = m["name"].as_str().unwrap();
                    let labels = declared
                        .get(name)
                        .unwrap_or_else(|| panic!("undeclared {name}"));
                    seen_metrics.insert(name.to_owned());
                    let data = m
                        .get("histogram")
                        .or(m.get("sum"))
                        .or(m.get("gauge"))
                        .expect("histogram, sum or gauge");
                    for p in data["dataPoints"].as_array().unwrap() {
                        for a in p["attributes"].as_array().unwrap() {
                            let key = a["key"].as_str().unwrap();
                            assert!(labels.contains(key), "{name}: undeclared label {key}");
                            assert_ne!(key, "user.id");
                        }
                    }
                }
            }
        }
    }
    for m in [
        "flow.requests",
        "flow.step.duration",
        "http.server.request.duration",
        "http.client.request.duration",
        "checkout.orders",
    ] {
        assert!(
            seen_metrics.contains(m),
            "{m} missing from {seen_metrics:?}"
        );
    }

    let mut services_in_checkout = BTreeSet::new();
    let mut hashed_users = 0;
    for doc in lines(&dir.path().join("traces.jsonl")) {
        for rs in doc["resourceSpans"].as_array().unwrap() {
            let service =
                attr(&rs["resource"]["attributes"], "service.name").unwrap()["stringValue"]
                    .as_str()
                    .unwrap()
                    .to_owned();
            for ss in rs["scopeSpans"].as_array().unwrap() {
                for s in ss["spans"].as_array().unwrap() {
                    if let Some(flow) = attr(&s["attributes"], "flow.name")
                        && flow["stringValue"] == "checkout"
                    {
                        services_in_checkout.insert(service.clone());
                    }
                    if let Some(uid) = attr(&s["attributes"], "user.id") {
                        let uid = uid["stringValue"].as_str().unwrap();
                        assert!(uid.starts_with("hash:") && !uid.contains("user-"), "{uid}");
                        hashed_users += 1;
                    }
                    let route = attr(&s["attributes"], "http.route");
                    if let Some(route) = route {
                        let route = route["stringValue"].as_str().unwrap();
                        assert!(
                            !route.chars().any(|c| c.is_ascii_digit()),
                            "raw path as route: {route}"
                        );
                    }
                }
            }
        }
    }
    // The flow crosses HTTP (payments) and the broker (the orders worker).
    assert_eq!(
        services_in_checkout,
        BTreeSet::from(["gateway", "orders", "payments"].map(str::to_owned))
    );
    assert!(hashed_users > 0);
}
