//! The generated rules as Prometheus itself reads them: `promtool check rules` on the bundled
//! conventions, and `promtool test rules` with input series that make each alert fire where it
//! should and stay quiet where it should: the availability and latency burn-rate pages (exactly
//! when both windows burn above the factor) and tickets, and the early warnings (P99 over the
//! latency threshold, a step over its p99 budget, the tail ratio against last week, a
//! saturation signal predicted to cross its limit within 4 hours).
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

/// A latency-only flow with a step budget and a saturation signal on its one service:
/// `pay`, 99% of requests under 500ms over 30d, step `authorize` (service `payments`) with a
/// p99 budget of 400ms, `orders.queue.depth` limited to 100.
const PAY: &str = r#"schema: flowtel/v1
name: early-warning-test
version: 1.0.0
attributes:
  flow.name: {type: string}
  flow.step: {type: string}
  http.response.status_code: {type: int}
metrics:
  http.server.request.duration:
    instrument: histogram
    unit: s
    labels: [http.response.status_code, flow.name]
    buckets: [0.1, 0.5, 1]
  flow.step.duration:
    instrument: histogram
    unit: s
    labels: [flow.name, flow.step]
    buckets: [0.1, 0.4, 1]
  orders.queue.depth:
    instrument: updown_counter
    unit: '{order}'
    saturation: {limit: 100}
flows:
  pay:
    owner: team-payments
    alert_route: payments-oncall
    steps:
      authorize: {service: payments, budget: {p99: 400ms}}
    slo: {latency: {threshold: 500ms, target: 99}, window: 30d}
"#;

/// A histogram's series, one sample per interval. `segments` are `(counts, intervals)`, the
/// counts per interval under each of `bounds` (cumulative, the last `+Inf`).
fn histogram(metric: &str, labels: &str, bounds: &[&str], segments: &[(Vec<u64>, u64)]) -> String {
    let mut s = String::new();
    for (i, le) in bounds.iter().enumerate() {
        let per: Vec<(u64, u64)> = segments.iter().map(|(c, n)| (c[i], *n)).collect();
        s.push_str(&format!(
            "      - series: '{metric}_bucket{{{labels},le=\"{le}\"}}'\n        values: '{}'\n",
            counter(&per)
        ));
    }
    let per: Vec<(u64, u64)> = segments
        .iter()
        .map(|(c, n)| (*c.last().unwrap(), *n))
        .collect();
    s.push_str(&format!(
        "      - series: '{metric}_count{{{labels}}}'\n        values: '{}'\n",
        counter(&per)
    ));
    s
}

/// Entry requests of `pay`: 1000 a minute (or interval), of which `slow` over 500ms, by segment.
fn pay_requests(segments: &[(u64, u64)]) -> String {
    let segs: Vec<(Vec<u64>, u64)> = segments
        .iter()
        .map(|(slow, n)| (vec![600, 1000 - slow, 1000, 1000], *n))
        .collect();
    histogram(
        "http_server_request_duration_seconds",
        "flow_name=\"pay\",http_response_status_code=\"200\"",
        &["0.1", "0.5", "1", "+Inf"],
        &segs,
    )
}

/// Executions of step `authorize`: 1000 a minute, `slow` of them over 400ms.
fn step(slow: u64, minutes: u64) -> String {
    histogram(
        "flow_step_duration_seconds",
        "flow_name=\"pay\",flow_step=\"authorize\"",
        &["0.1", "0.4", "1", "+Inf"],
        &[(vec![600, 1000 - slow, 1000, 1000], minutes)],
    )
}

fn queue(job: &str, values: &str) -> String {
    format!(
        "      - series: 'orders_queue_depth{{job=\"{job}\",instance=\"{job}-1\",service_name=\"{job}\"}}'\n        values: '{values}'\n"
    )
}

/// A promtool test case of `(eval time, alert, firing?)` checks, through the `ALERTS` series.
fn alert_case(interval: &str, series: &str, checks: &[(&str, &str, bool)]) -> String {
    let mut s =
        format!("  - interval: {interval}\n    input_series:\n{series}    promql_expr_test:\n");
    for (at, alert, firing) in checks {
        let expected = if *firing {
            "\n          - labels: '{}'\n            value: 1"
        } else {
            " []"
        };
        s.push_str(&format!(
            "      - expr: count(ALERTS{{alertname=\"{alert}\",alertstate=\"firing\"}})\n        eval_time: {at}\n        exp_samples:{expected}\n"
        ));
    }
    s
}

fn promtool_test(name: &str, rules: &str, evaluation_interval: &str, cases: &[String]) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("rules.yml"), rules).unwrap();
    let mut tests =
        format!("rule_files: [rules.yml]\nevaluation_interval: {evaluation_interval}\ntests:\n");
    for c in cases {
        tests.push_str(c);
    }
    std::fs::write(dir.path().join(name), &tests).unwrap();
    let text = run(dir.path(), &["test", "rules", name]);
    assert!(text.contains("SUCCESS"), "{text}");
}

#[test]
fn latency_alerts_tickets_and_early_warnings_fire_and_stay_quiet_where_they_should() {
    if promtool().is_none() {
        return;
    }
    let rules = rules_for(PAY);
    let page = "PayLatencyBurnRatePage";
    let ticket = "PayLatencyBurnRateTicket";
    let tail = "PayTailOverThreshold";
    let step_tail = "PayStepTailOverBudget";
    let growth = "PaySaturationGrowthOrdersQueueDepth";
    let cases = vec![
        // Latency budget 1%: 15% slow (15x) pages once the 1h window is above 14.4x too, not
        // while only the 5m window is; the ticket fires with it.
        alert_case(
            "1m",
            &pay_requests(&[(0, 360), (150, 200)]),
            &[
                ("6h50m", page, false),
                ("7h05m", page, true),
                ("7h05m", ticket, true),
            ],
        ),
        // 14% slow never pages, but burns far faster than the window allows: ticket.
        alert_case(
            "1m",
            &pay_requests(&[(0, 360), (140, 200)]),
            &[("8h", page, false), ("8h", ticket, true)],
        ),
        // 2% slow (2x) for an hour: a ticket (3d and 6h above 1x), no page.
        alert_case(
            "1m",
            &pay_requests(&[(20, 90)]),
            &[("30m", ticket, true), ("1h", ticket, true), ("1h", page, false)],
        ),
        // 0.5% slow (half the budget's pace): nothing at all, the P99 stays under 500ms.
        alert_case(
            "1m",
            &format!("{}{}", pay_requests(&[(5, 480)]), step(5, 480)),
            &[
                ("8h", ticket, false),
                ("8h", page, false),
                ("8h", tail, false),
                ("8h", step_tail, false),
            ],
        ),
        // 5% slow: the P99 (about 900ms) sits over the 500ms threshold; a ticket after 30
        // minutes of it, none before. The step over its 400ms p99 budget likewise.
        alert_case(
            "1m",
            &format!("{}{}", pay_requests(&[(50, 60)]), step(20, 60)),
            &[
                ("20m", tail, false),
                ("40m", tail, true),
                ("20m", step_tail, false),
                ("40m", step_tail, true),
                ("40m", page, false),
            ],
        ),
        // The payments queue grows 12 an hour from 40: at 2h (64, heading for 112 in 4h) the
        // warning fires. A flat queue at 90 does not, nor a fast-growing one of a service that
        // is not on the flow's path.
        alert_case(
            "1m",
            &queue("payments", "40+0.2x180"),
            &[("50m", growth, false), ("2h", growth, true)],
        )
        .replace(
            "    promql_expr_test:\n",
            &format!(
                "    promql_expr_test:\n      - expr: count by (flow, owner, severity, signal, job, instance) (ALERTS{{alertname=\"{growth}\",alertstate=\"firing\"}})\n        eval_time: 2h\n        exp_samples:\n          - labels: '{{flow=\"pay\",owner=\"team-payments\",severity=\"ticket\",signal=\"orders.queue.depth\",job=\"payments\",instance=\"payments-1\"}}'\n            value: 1\n"
            ),
        ),
        alert_case(
            "1m",
            &format!(
                "{}{}",
                queue("payments", "90+0x180"),
                queue("catalog", "0+1x180")
            ),
            &[("2h", growth, false), ("3h", growth, false)],
        ),
    ];
    promtool_test("test.yml", &rules, "1m", &cases);
}

#[test]
fn tail_expansion_compares_the_tail_ratio_with_the_same_hour_last_week() {
    if promtool().is_none() {
        return;
    }
    let rules = rules_for(PAY);
    let alert = "PayTailExpansion";
    // Ten-minute samples of 1000 requests. Last week's distribution: P50 ~83ms, P99 ~495ms
    // (ratio ~5.9). Expanded: 5% over 500ms, P99 ~900ms (ratio ~10.8, 1.8 times last week's):
    // fires. Mildly expanded: 1.5% over 500ms, P99 ~667ms (1.35 times): quiet.
    let week = 7 * 24 * 6 + 6; // a week and an hour of ten-minute samples
    let series = |slow: u64| {
        let segs = vec![
            (vec![600, 995, 1000, 1000], week),
            (vec![600, 1000 - slow, 1000, 1000], 12),
        ];
        histogram(
            "http_server_request_duration_seconds",
            "flow_name=\"pay\",http_response_status_code=\"200\"",
            &["0.1", "0.5", "1", "+Inf"],
            &segs,
        )
    };
    let at_start = "169h";
    let later = "170h30m"; // on an evaluation (every 30 minutes here)
    let cases = vec![
        alert_case(
            "10m",
            &series(50),
            &[(at_start, alert, false), (later, alert, true)],
        ),
        alert_case("10m", &series(15), &[(later, alert, false)]),
        alert_case("10m", &series(5), &[(later, alert, false)]),
    ];
    promtool_test("tail.yml", &rules, "30m", &cases);
}

#[test]
fn a_flow_whose_services_declare_no_saturation_signal_is_said_so() {
    let without = PAY.replace("    saturation: {limit: 100}\n", "");
    assert_ne!(without, PAY);
    let loaded = flowtel_conventions::check_str("flowtel.yaml", &without);
    let out = Generator::Slo
        .generate(&loaded.registry.unwrap(), &Options::default())
        .unwrap();
    let said = "flow `pay`: no saturation signal is declared for its services (payments), so no saturation-growth warning is generated";
    assert!(
        out.notes.iter().any(|n| n.starts_with(said)),
        "{:?}",
        out.notes
    );
    assert!(out.files[0].contents.contains(&format!("# {said}")));
    assert!(!out.files[0].contents.contains("SaturationGrowth"));
    // Flows whose steps name no service cannot be attributed a signal either, and say so.
    let loaded = flowtel_conventions::check_str("flowtel.yaml", CONVENTIONS);
    let out = Generator::Slo
        .generate(&loaded.registry.unwrap(), &Options::default())
        .unwrap();
    assert!(
        out.notes
            .iter()
            .any(|n| n.starts_with("flow `checkout`: its steps name no service")),
        "{:?}",
        out.notes
    );
}

#[test]
fn availability_ticket_fires_on_a_slow_burn_and_not_under_the_sustainable_rate() {
    if promtool().is_none() {
        return;
    }
    let rules = rules_for(CONVENTIONS);
    let ticket = "CheckoutAvailabilityBurnRateTicket";
    let page = "CheckoutAvailabilityBurnRatePage";
    let cases = vec![
        // 0.3% errors (3x the 0.1% budget) for 90 minutes: a ticket, never a page.
        alert_case(
            "1m",
            &series("checkout", &[(997, 90)], &[(3, 90)]),
            &[
                ("10m", ticket, false),
                ("1h", ticket, true),
                ("1h", page, false),
            ],
        ),
        // 0.05% errors: half the sustainable rate, no ticket.
        alert_case(
            "1m",
            &series("checkout", &[(1999, 90)], &[(1, 90)]),
            &[("1h", ticket, false), ("1h30m", ticket, false)],
        ),
    ];
    promtool_test("ticket.yml", &rules, "1m", &cases);
}
