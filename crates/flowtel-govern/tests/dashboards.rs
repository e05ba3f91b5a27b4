//! The Grafana dashboards generated from the bundled conventions: what `flowtel dashboards`
//! promises checked by code (dashboard-linter rules, known metric names, unique panel ids, the
//! current `schemaVersion`), snapshots of every file, and a type check of every dashboard
//! against the `Dashboard` type of Grafana's own `@grafana/schema` package with TypeScript.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use flowtel_govern::dashboards::{self, KnownSeries};
use flowtel_govern::plan::Plan;
use flowtel_govern::{Generator, Options};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn bundled() -> flowtel_conventions::Registry {
    let loaded = flowtel_conventions::check(&root().join("conventions"));
    assert!(loaded.findings.is_empty(), "{:?}", loaded.findings);
    loaded.registry.unwrap()
}

fn registry(yaml: &str) -> flowtel_conventions::Registry {
    flowtel_testkit::without_errors(
        flowtel_conventions::check_str("flowtel.yaml", yaml),
        "flowtel.yaml",
    )
}

/// Every dashboard of `reg` passes the checks, and the panel ids of each are unique.
fn assert_clean(reg: &flowtel_conventions::Registry) -> Vec<(String, dashboards::Dashboard)> {
    let plan = Plan::new(reg);
    let known = KnownSeries::new(&plan);
    let mut notes = Vec::new();
    let boards = dashboards::build(&plan, &mut notes);
    for (file, d) in &boards {
        let problems = dashboards::lint(d, &known);
        assert!(problems.is_empty(), "{file}: {problems:#?}");
        let ids: BTreeSet<u32> = d.panels.iter().map(|p| p.id).collect();
        assert_eq!(ids.len(), d.panels.len(), "{file}: panel ids repeat");
    }
    boards
}

#[test]
fn bundled_dashboards_follow_the_linter_rules_and_name_only_declared_metrics() {
    let reg = bundled();
    let boards = assert_clean(&reg);
    let files: Vec<&str> = boards.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(
        files,
        [
            "flowtel-overview.json",
            "flowtel-login.json",
            "flowtel-browse.json",
            "flowtel-checkout.json"
        ]
    );
    let checkout = &boards[3].1;
    let titles: Vec<&str> = checkout.panels.iter().map(|p| p.title.as_str()).collect();
    for wanted in [
        "Availability SLI over 30d",
        "Latency SLI over 30d",
        "Error budget remaining",
        "Burn rate (page windows)",
        "Request rate",
        "Error ratio",
        "Latency P50 / P95 / P99",
        "Step rate",
        "Step error ratio",
        "Step payment.authorize (payments)",
        "Saturation: http.server.active_requests",
        "Saturation: orders.queue.depth",
        "Services on the path: error ratio",
        "Dependencies: P99 latency",
        "Dependencies: retries",
    ] {
        assert!(
            titles.contains(&wanted),
            "no panel `{wanted}` in {titles:?}"
        );
    }
    // The step's budgets are its panel's threshold lines.
    let step = checkout
        .panels
        .iter()
        .find(|p| p.title == "Step payment.authorize (payments)")
        .unwrap();
    let lines: Vec<f64> = step
        .field_config
        .as_ref()
        .unwrap()
        .defaults
        .thresholds
        .as_ref()
        .unwrap()
        .steps
        .iter()
        .filter_map(|s| s.value)
        .collect();
    assert_eq!(lines, [0.08, 0.25, 0.4]);
    // The overview links every flow's dashboard.
    let overview = &boards[0].1;
    for flow in ["login", "browse", "checkout"] {
        let url = format!("/d/flowtel-{flow}");
        assert!(
            overview
                .links
                .iter()
                .any(|l| l.url.as_deref() == Some(url.as_str()))
        );
    }
}

#[test]
fn the_checks_catch_what_they_promise_to() {
    let reg = bundled();
    let plan = Plan::new(&reg);
    let known = KnownSeries::new(&plan);
    let mut notes = Vec::new();
    let (_, mut d) = dashboards::build(&plan, &mut notes).remove(3);
    let p = d.panels.iter_mut().find(|p| !p.is_row()).unwrap();
    p.description = None;
    p.field_config.as_mut().unwrap().defaults.unit = Some("requests/s".into());
    p.targets[0].expr =
        "sum(flow_requests_total{flow_name=\"checkout\"}) + shop_orders_total".into();
    let dup = d.panels[2].id;
    d.panels[3].id = dup;
    d.schema_version = 39;
    let messages: Vec<String> = dashboards::lint(&d, &known)
        .into_iter()
        .map(|p| p.message)
        .collect();
    let text = messages.join("\n");
    assert!(
        text.contains("schemaVersion 39 is not the current 42"),
        "{text}"
    );
    assert!(text.contains("panel without a description"), "{text}");
    assert!(
        text.contains("`requests/s` is not a Grafana unit id"),
        "{text}"
    );
    assert!(
        text.contains("counter `flow_requests_total` is not read through `rate`"),
        "{text}"
    );
    assert!(
        text.contains("`shop_orders_total` is neither a declared metric's series"),
        "{text}"
    );
    assert!(text.contains("is used twice"), "{text}");
}

/// A registry with less than the bundled one: no step metrics, no client metrics, no
/// saturation signal. The dashboards shrink to what can be measured and say what is missing.
#[test]
fn dashboards_shrink_to_the_declared_metrics_and_say_so() {
    let reg = registry(
        r#"schema: flowtel/v1
name: small
version: 1.0.0
attributes:
  flow.name: {type: string}
  http.response.status_code: {type: int}
metrics:
  http.server.request.duration: {instrument: histogram, unit: s, labels: [flow.name, http.response.status_code], buckets: [0.1, 0.25, 0.5]}
flows:
  signup:
    owner: team-growth
    alert_route: growth-oncall
    steps:
      form.validate: {service: signup}
    slo: {availability: 99.5, latency: {threshold: 250ms, target: 95}, window: 28d}
"#,
    );
    let boards = assert_clean(&reg);
    let out = Generator::Dashboards
        .generate(&reg, &Options::default())
        .unwrap();
    assert_eq!(out.files.len(), 2);
    let notes = out.notes.join("\n");
    assert!(notes.contains("flow `signup`: no step panels"), "{notes}");
    assert!(
        notes.contains("no saturation signal for its services (signup)"),
        "{notes}"
    );
    let titles: Vec<&str> = boards[1]
        .1
        .panels
        .iter()
        .map(|p| p.title.as_str())
        .collect();
    assert!(titles.contains(&"Burn rate (page windows)"), "{titles:?}");
    assert!(!titles.iter().any(|t| t.starts_with("Step")), "{titles:?}");
    // 28d: the page lines are 13.44 and 5.6.
    let burn = boards[1]
        .1
        .panels
        .iter()
        .find(|p| p.title == "Burn rate (page windows)")
        .unwrap();
    let lines: Vec<f64> = burn
        .field_config
        .as_ref()
        .unwrap()
        .defaults
        .thresholds
        .as_ref()
        .unwrap()
        .steps
        .iter()
        .filter_map(|s| s.value)
        .collect();
    assert_eq!(lines, [5.6, 13.44]);
}

#[test]
fn snapshots_of_every_dashboard() {
    let out = Generator::Dashboards
        .generate(&bundled(), &Options::default())
        .unwrap();
    assert!(out.notes.is_empty(), "{:?}", out.notes);
    for a in &out.files {
        let name = a.path.trim_end_matches(".json").to_string();
        insta::assert_snapshot!(name, a.contents);
    }
}

/// Where `.ci/run` installs `@grafana/schema` and TypeScript (pinned): `FLOWTEL_GRAFANA_SCHEMA`,
/// or `~/.cache/flowtel-grafana-schema`.
fn schema_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("FLOWTEL_GRAFANA_SCHEMA")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache/flowtel-grafana-schema"))
        })?;
    let ok = dir
        .join("node_modules/@grafana/schema/package.json")
        .is_file()
        && dir.join("node_modules/typescript/bin/tsc").is_file();
    if !ok {
        eprintln!(
            "skipped: `@grafana/schema` and `typescript` are not installed in {} (`.ci/run` installs them)",
            dir.display()
        );
    }
    ok.then_some(dir)
}

/// TypeScript source that types `json` as Grafana's `Dashboard`. A JSON import would widen
/// string literals; an object literal keeps them, and string enums (`ThresholdsMode`) are read
/// as their values, as Grafana reads the JSON.
fn typed(json: &str, name: &str) -> String {
    format!(
        "import type {{ Dashboard }} from '@grafana/schema';\n\
         type AsJson<T> = T extends string ? `${{T}}` : T extends object ? {{ [K in keyof T]: AsJson<T[K]> }} : T;\n\
         export const {name}: AsJson<Dashboard> = {};\n",
        json.trim_end()
    )
}

fn tsc(dir: &Path, files: &[(String, String)]) -> (bool, String) {
    let work = tempfile::tempdir().unwrap();
    let mut names = Vec::new();
    for (name, text) in files {
        std::fs::write(work.path().join(name), text).unwrap();
        names.push(name.clone());
    }
    let tsconfig = serde_json::json!({
        "compilerOptions": {
            "strict": true, "noEmit": true, "target": "es2022", "module": "es2022",
            "moduleResolution": "bundler", "skipLibCheck": true,
            "typeRoots": [], "types": [],
            "baseUrl": ".",
            "paths": {"@grafana/schema": [dir.join("node_modules/@grafana/schema").to_string_lossy()]}
        },
        "files": names,
    });
    std::fs::write(work.path().join("tsconfig.json"), tsconfig.to_string()).unwrap();
    std::os::unix::fs::symlink(dir.join("node_modules"), work.path().join("node_modules")).unwrap();
    let out = Command::new("node")
        .arg(dir.join("node_modules/typescript/bin/tsc"))
        .args(["-p", "tsconfig.json"])
        .current_dir(work.path())
        .output()
        .expect("node runs");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn dashboards_type_check_against_grafana_schema() {
    let Some(dir) = schema_dir() else {
        return;
    };
    let out = Generator::Dashboards
        .generate(&bundled(), &Options::default())
        .unwrap();
    let files: Vec<(String, String)> = out
        .files
        .iter()
        .enumerate()
        .map(|(i, a)| (format!("d{i}.ts"), typed(&a.contents, &format!("d{i}"))))
        .collect();
    let (ok, text) = tsc(&dir, &files);
    assert!(ok, "tsc rejects a generated dashboard:\n{text}");

    // The check can fail: a wrong field type, an unknown enum value and an unknown field are rejected.
    let good = &out.files[1].contents;
    let wrong_type = good.replacen("\"editable\": false", "\"editable\": \"no\"", 1);
    let wrong_enum = good.replacen("\"mode\": \"absolute\"", "\"mode\": \"relative\"", 1);
    let unknown_field = good.replacen(
        "\"editable\": false",
        "\"editable\": false, \"bogus\": 1",
        1,
    );
    assert_ne!(&wrong_type, good);
    assert_ne!(&wrong_enum, good);
    assert_ne!(&unknown_field, good);
    let (ok, text) = tsc(
        &dir,
        &[
            ("bad1.ts".into(), typed(&wrong_type, "bad1")),
            ("bad2.ts".into(), typed(&wrong_enum, "bad2")),
        ],
    );
    assert!(!ok, "tsc accepted broken dashboards");
    assert!(
        text.contains("bad1.ts") && text.contains("bad2.ts"),
        "{text}"
    );

    // `schemaVersion` is the one the package's own default dashboard carries.
    let v = Command::new("node")
        .args([
            "--input-type=module",
            "-e",
            "import { defaultDashboard } from '@grafana/schema'; console.log(defaultDashboard.schemaVersion)",
        ])
        .current_dir(&dir)
        .output()
        .expect("node runs");
    let version = String::from_utf8_lossy(&v.stdout).trim().to_string();
    assert_eq!(
        version,
        dashboards::SCHEMA_VERSION.to_string(),
        "{}",
        String::from_utf8_lossy(&v.stderr)
    );
}

/// Every panel query is PromQL that Prometheus parses (the dashboard-linter's
/// `target-promql-rule`): `promtool check rules` on one recording rule per query, with
/// `$__rate_interval` as Grafana would expand it.
#[test]
fn every_query_parses_as_promql() {
    let ok = Command::new("promtool")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("skipped: `promtool` is not installed (Debian package `prometheus`)");
        return;
    }
    let reg = bundled();
    let plan = Plan::new(&reg);
    let mut notes = Vec::new();
    let mut rules = String::from("groups:\n  - name: dashboard-queries\n    rules:\n");
    let mut n = 0;
    for (_, d) in dashboards::build(&plan, &mut notes) {
        for p in &d.panels {
            for t in &p.targets {
                n += 1;
                let expr = t.expr.replace("$__rate_interval", "5m");
                rules.push_str(&format!(
                    "      - record: dashboard:query{n}\n        expr: |-\n"
                ));
                for line in expr.lines() {
                    rules.push_str(&format!("          {line}\n"));
                }
            }
        }
    }
    assert!(n > 50, "only {n} queries");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("queries.yml"), &rules).unwrap();
    let out = Command::new("promtool")
        .args(["check", "rules", "queries.yml"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success() && text.contains("SUCCESS"), "{text}");
}
