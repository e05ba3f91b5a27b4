//! The first hour of a new service, end to end: its own `flowtel.yaml` imports the platform by
//! absolute path and adds a flow of its own (`signup`, never exercised). The real example
//! services run on that registry (`FLOWTEL_CONVENTIONS`, loaded by `conventions_from_path`)
//! and export the imported RED metrics; `flowtel lint telemetry` reports the coverage and shows
//! `signup` dark; a standalone file without the platform gets each missing RED metric announced
//! by `flowtel check`; and `flowtel lint source` flags a `user_email` label as personal data.

use std::path::Path;
use std::process::{Command, Output};

use flowtel_e2e::{binary, run, workspace};

fn service_conventions(dir: &Path) -> std::path::PathBuf {
    let shop = workspace().join("conventions/shop.yaml");
    let shop = shop.canonicalize().unwrap();
    assert!(shop.is_absolute());
    let path = dir.join("flowtel.yaml");
    std::fs::write(
        &path,
        format!(
            "schema: flowtel/v1\nname: signup-svc\nversion: 0.1.0\n\
             imports: [{}]\n\
             attributes:\n  plan.kind: {{type: enum, values: [free, pro]}}\n\
             metrics:\n  signup.created: {{instrument: counter, unit: '{{signup}}', labels: [plan.kind]}}\n\
             flows:\n  signup:\n    owner: team-growth\n    entry: ['POST /signup']\n    steps:\n      form.validate: {{service: signup}}\n      account.create: {{service: signup}}\n    slo: {{availability: 99.9}}\n",
            shop.display()
        ),
    )
    .unwrap();
    path
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[test]
fn a_new_service_gets_red_metrics_coverage_and_personal_data_checks() {
    let dir = tempfile::tempdir().unwrap();
    let conventions = service_conventions(dir.path());
    let conv = conventions.to_str().unwrap();

    // `flowtel check` accepts the absolute import: no errors.
    let check = run("flowtel", &["check", conv, "--format", "json"]);
    assert_eq!(check.status.code(), Some(0), "{:#}", json(&check));

    // The services run on that registry: what they export holds the imported RED metrics.
    let out = dir.path().join("telemetry");
    let ran = Command::new(binary("example-checkout"))
        .args([
            "--out",
            out.to_str().unwrap(),
            "--requests",
            "40",
            "--browse",
            "0",
        ])
        .env("FLOWTEL_CONVENTIONS", &conventions)
        .current_dir(workspace())
        .output()
        .unwrap();
    assert!(
        ran.status.success(),
        "example failed: {}",
        String::from_utf8_lossy(&ran.stderr)
    );
    let traces = out.join("traces.jsonl");
    let metrics = out.join("metrics.jsonl");
    let mut exported = std::collections::BTreeSet::new();
    for batch in flowtel_otlp::open(metrics.to_str().unwrap()).unwrap() {
        for m in batch.unwrap().metrics() {
            exported.insert(m.item.name.clone());
        }
    }
    for name in [
        "flow.requests",
        "flow.duration",
        "flow.step.duration",
        "http.server.request.duration",
    ] {
        assert!(exported.contains(name), "`{name}` exported: {exported:?}");
    }

    // Lint with coverage: clean, and the service's own flow shows as never seen.
    let lint = run(
        "flowtel",
        &[
            "--conventions",
            conv,
            "lint",
            "telemetry",
            traces.to_str().unwrap(),
            metrics.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    let report = json(&lint);
    assert_eq!(
        report["findings"].as_array().unwrap().len(),
        0,
        "{report:#}"
    );
    assert_eq!(lint.status.code(), Some(0));
    let cov = &report["coverage"];
    let flow = |name: &str| {
        cov["flows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["flow"] == name)
            .unwrap_or_else(|| panic!("{name} in {cov:#}"))
            .clone()
    };
    assert_eq!(flow("signup")["seen"], false, "{cov:#}");
    assert_eq!(flow("signup")["coverage"], 0.0);
    assert_eq!(flow("browse")["seen"], false, "--browse 0: {cov:#}");
    assert_eq!(flow("checkout")["seen"], true);
    assert!(
        flow("checkout")["coverage"].as_f64().unwrap() > 0.5,
        "{cov:#}"
    );
    let overall = cov["overall"].as_f64().unwrap();
    assert!(overall > 0.0 && overall < 1.0, "{cov:#}");
    assert!(
        cov["metrics_never_received"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m == "signup.created"),
        "{cov:#}"
    );
    // The same gaps fail a CI threshold.
    let gated = run(
        "flowtel",
        &[
            "--conventions",
            conv,
            "lint",
            "telemetry",
            traces.to_str().unwrap(),
            metrics.to_str().unwrap(),
            "--min-coverage",
            "0.9",
            "--format",
            "json",
        ],
    );
    assert_eq!(gated.status.code(), Some(1));
    let gated = json(&gated);
    assert!(
        gated["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule"] == "FT0150" && f["message"].as_str().unwrap().contains("`signup`")),
        "{gated:#}"
    );

    // A standalone file (no platform import) has each RED metric announced by `check`.
    let standalone = dir.path().join("standalone.yaml");
    std::fs::write(
        &standalone,
        "schema: flowtel/v1\nname: signup-svc\nversion: 0.1.0\nflows:\n  signup:\n    owner: team-growth\n    steps:\n      form.validate: {service: signup}\n",
    )
    .unwrap();
    let check = run(
        "flowtel",
        &["check", standalone.to_str().unwrap(), "--format", "json"],
    );
    let doc = json(&check);
    let missing: Vec<&str> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "FT0030")
        .filter_map(|f| f["subject"]["metric"].as_str())
        .collect();
    for name in [
        "flow.requests",
        "flow.duration",
        "http.server.request.duration",
    ] {
        assert!(missing.contains(&name), "`{name}` announced: {doc:#}");
    }

    // The service's code records an e-mail address as a counter label: personal data.
    let src = dir.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(
        src.join("main.rs"),
        "use opentelemetry::KeyValue;\n\nfn created(counter: &opentelemetry::metrics::Counter<u64>, email: String) {\n    counter.add(1, &[KeyValue::new(\"plan.kind\", \"free\"), KeyValue::new(\"user_email\", email)]);\n}\n",
    )
    .unwrap();
    let source = run(
        "flowtel",
        &[
            "--conventions",
            conv,
            "lint",
            "source",
            src.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    assert_eq!(source.status.code(), Some(1));
    let doc = json(&source);
    let pii: Vec<&serde_json::Value> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "FT0220")
        .collect();
    assert_eq!(pii.len(), 1, "{doc:#}");
    assert_eq!(pii[0]["subject"]["attribute"], "user_email");
    assert_eq!(pii[0]["severity"], "error");
    assert_eq!(pii[0]["location"]["line"], 4);
}
