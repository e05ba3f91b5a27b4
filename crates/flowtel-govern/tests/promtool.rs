//! The generated rules as Prometheus itself reads them: `promtool check rules` on the bundled
//! conventions, and `promtool test rules` with input series that make each burn-rate alert fire
//! exactly when both of its windows burn above the factor, and stay quiet otherwise.
//! Skips with a message when `promtool` is not installed (`.ci/run` installs it).

use std::path::Path;
use std::process::Command;

use flowtel_govern::{Generator, Options};

fn promtool() -> Option<&'static str> {
    let ok = Command::new("promtool")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("skipped: `promtool` is not installed (Debian package `prometheus`)");
    }
    ok.then_some("promtool")
}

fn rules_for(yaml: &str) -> String {
    let loaded = flowtel_conventions::check_str("flowtel.yaml", yaml);
    // Warnings are fine here (the test registry declares only the SLI metric).
    let errors: Vec<_> = loaded
        .findings
        .iter()
        .filter(|f| f.severity >= flowtel_conventions::Severity::Error)
        .collect();
    assert!(
        errors.is_empty(),
        "test conventions have errors: {errors:?}"
    );
    let out = Generator::Slo
        .generate(&loaded.registry.unwrap(), &Options::default())
        .unwrap_or_else(|f| panic!("{f:?}"));
    out.files[0].contents.clone()
}

fn run(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("promtool")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("promtool runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "promtool {args:?} failed:\n{text}");
    text
}

#[test]
fn bundled_rules_pass_promtool_check() {
    if promtool().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let conventions = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../conventions");
    let reg = flowtel_conventions::check(&conventions).registry.unwrap();
    let out = Generator::Slo.generate(&reg, &Options::default()).unwrap();
    std::fs::write(dir.path().join("rules.yml"), &out.files[0].contents).unwrap();
    let text = run(dir.path(), &["check", "rules", "rules.yml"]);
    assert!(text.contains("SUCCESS"), "{text}");
}

/// Two flows: `checkout` 99.9% over 30d (pages at 14.4x), `batch` 99.5% over 28d (13.44x).
const CONVENTIONS: &str = r#"schema: flowtel/v1
name: burn-test
version: 1.0.0
attributes:
  flow.name: {type: string}
  http.request.method: {type: string}
  http.route: {type: string}
  http.response.status_code: {type: int}
  error.type: {type: string}
metrics:
  http.server.request.duration:
    instrument: histogram
    unit: s
    labels: [http.request.method, http.route, http.response.status_code, error.type, flow.name]
    buckets: [0.1, 0.5, 1]
flows:
  checkout:
    owner: team-payments
    alert_route: payments-oncall
    entry: ['POST /checkout']
    slo: {availability: 99.9, window: 30d}
  batch:
    owner: team-batch
    alert_route: batch-oncall
    entry: ['POST /batch']
    slo: {availability: 99.5, window: 28d}
"#;

/// A counter in promtool's expansion notation, one sample a minute: `segments` are
/// `(increase per minute, minutes)`, starting at 0.
fn counter(segments: &[(u64, u64)]) -> String {
    let mut parts = Vec::new();
    let mut value = 0u64;
    for (i, (rate, minutes)) in segments.iter().enumerate() {
        if i == 0 {
            parts.push(format!("0+{rate}x{minutes}"));
        } else {
            parts.push(format!("{}+{rate}x{}", value + rate, minutes - 1));
        }
        value += rate * minutes;
    }
    parts.join(" ")
}

/// Input series of one flow: `ok` and `errors` per minute, by segment.
fn series(flow: &str, ok: &[(u64, u64)], errors: &[(u64, u64)]) -> String {
    let sel = |status: &str, error: &str| {
        format!(
            "http_server_request_duration_seconds_count{{flow_name=\"{flow}\",http_request_method=\"POST\",http_route=\"/{flow}\",http_response_status_code=\"{status}\"{error}}}"
        )
    };
    format!(
        "      - series: '{}'\n        values: '{}'\n      - series: '{}'\n        values: '{}'\n",
        sel("200", ""),
        counter(ok),
        sel("500", ",error_type=\"500\""),
        counter(errors),
    )
}

/// A promtool test case: the series, then `(eval time, alert, expected alerts)` checks.
fn case(series: &str, checks: &[(&str, &str, &str)]) -> String {
    let mut s = format!("  - interval: 1m\n    input_series:\n{series}    alert_rule_test:\n");
    for (at, alert, expected) in checks {
        s.push_str(&format!(
            "      - eval_time: {at}\n        alertname: {alert}\n        exp_alerts:{expected}\n"
        ));
    }
    s
}

fn page(flow: &str, owner: &str, slo: &str, window: &str, burn: &str, conditions: &str) -> String {
    let camel = format!("{}{}", flow[..1].to_uppercase(), &flow[1..]);
    format!(
        r#"
          - exp_labels:
              flow: {flow}
              flow_name: {flow}
              owner: {owner}
              severity: page
              sli: availability
            exp_annotations:
              summary: 'Flow {flow} burns its availability error budget fast enough to exhaust it within days'
              description: 'The availability SLO of flow {flow} ({slo}% of requests succeed over {window}) burns its error budget at {burn}x the sustainable rate. Fires when {conditions}.'
              runbook_url: 'https://runbooks.example.invalid/flowtel/{flow}.md#{lower}availabilityburnratepage'
              dashboard_url: 'https://grafana.example.invalid/d/flowtel-{flow}'"#,
        lower = camel.to_lowercase(),
    )
}

#[test]
fn page_fires_exactly_when_both_windows_burn_above_the_factor() {
    if promtool().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("rules.yml"), rules_for(CONVENTIONS)).unwrap();
    let checkout_page = page(
        "checkout",
        "team-payments",
        "99.9",
        "30d",
        "15",
        "1h and 5m above 14.4x, or 6h and 30m above 6x",
    );
    let batch_page = page(
        "batch",
        "team-batch",
        "99.5",
        "28d",
        "14",
        "1h and 5m above 13.44x, or 6h and 30m above 5.6x",
    );
    let mut tests = String::from("rule_files: [rules.yml]\nevaluation_interval: 1m\ntests:\n");
    // 99.9% / 30d: six clean hours (so the 6h/30m pair stays quiet), then 1.5% errors (15x). The 5m window is above 14.4x within
    // minutes, the 1h window only once 57.6 of its 60 minutes are errors: quiet at 6h50m (only
    // the short window burns), firing at 7h05m (both do, for longer than `for: 2m`).
    tests.push_str(&case(
        &series(
            "checkout",
            &[(1000, 360), (985, 200)],
            &[(0, 360), (15, 200)],
        ),
        &[
            ("6h50m", "CheckoutAvailabilityBurnRatePage", " []"),
            ("7h05m", "CheckoutAvailabilityBurnRatePage", &checkout_page),
        ],
    ));
    // Just below the factor: 1.4% errors (14x) for three hours never pages.
    tests.push_str(&case(
        &series(
            "checkout",
            &[(1000, 360), (986, 200)],
            &[(0, 360), (14, 200)],
        ),
        &[
            ("7h30m", "CheckoutAvailabilityBurnRatePage", " []"),
            ("8h", "CheckoutAvailabilityBurnRatePage", " []"),
        ],
    ));
    // A short burst: 20% errors for 4 minutes burns the 5m window at ~160x and the 1h window at
    // ~13x: no page.
    tests.push_str(&case(
        &series(
            "checkout",
            &[(1000, 360), (800, 4), (1000, 60)],
            &[(0, 360), (200, 4), (0, 60)],
        ),
        &[
            ("6h04m", "CheckoutAvailabilityBurnRatePage", " []"),
            ("6h07m", "CheckoutAvailabilityBurnRatePage", " []"),
        ],
    ));
    // 99.5% / 28d pages at 13.44x (error ratio 6.72%): 7% (14x) pages, 6.5% (13x) does not.
    tests.push_str(&case(
        &series("batch", &[(1000, 360), (930, 200)], &[(0, 360), (70, 200)]),
        &[("7h05m", "BatchAvailabilityBurnRatePage", &batch_page)],
    ));
    tests.push_str(&case(
        &series("batch", &[(1000, 360), (935, 200)], &[(0, 360), (65, 200)]),
        &[("7h05m", "BatchAvailabilityBurnRatePage", " []")],
    ));
    std::fs::write(dir.path().join("test.yml"), &tests).unwrap();
    let text = run(dir.path(), &["test", "rules", "test.yml"]);
    assert!(text.contains("SUCCESS"), "{text}");
}
