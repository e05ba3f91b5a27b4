//! Prometheus text fixtures: the OpenTelemetry-to-Prometheus name translation and the checks
//! Prometheus's `promlint` makes, each at its line.

use std::path::PathBuf;

use flowtel_conventions::{Finding, Registry};
use flowtel_lint::telemetry::lint_inputs;
use flowtel_otlp::ReadOptions;

fn registry() -> Registry {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../conventions");
    flowtel_conventions::check(&path)
        .registry
        .expect("bundled conventions")
}

fn lint(fixture: &str) -> Vec<Finding> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/prometheus")
        .join(fixture);
    lint_inputs(
        &registry(),
        &[path.display().to_string()],
        &ReadOptions::default(),
        &mut |_| {},
    )
}

fn summary(findings: &[Finding]) -> Vec<(&'static str, u32, String)> {
    findings
        .iter()
        .map(|f| {
            let l = f.location.as_ref().unwrap();
            let what = f
                .subject
                .get("label")
                .or_else(|| f.subject.get("suffix"))
                .or_else(|| f.subject.get("flow"))
                .or_else(|| f.subject.get("metric"))
                .cloned()
                .unwrap_or_default();
            (f.rule.id, l.line, what)
        })
        .collect()
}

#[test]
fn the_translation_of_declared_metrics_is_clean() {
    let findings = lint("clean.prom");
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn promlint_checks_and_translation_each_at_its_line() {
    let findings = lint("promlint.prom");
    let got = summary(&findings);
    let want: Vec<(&str, u32, String)> = vec![
        // flow.step.duration without `_seconds`
        ("FT0114", 1, "flow.step.duration".into()),
        ("FT0101", 6, "httpRequestsTotal".into()),
        ("FT0115", 6, "httpRequestsTotal".into()),
        ("FT0117", 8, "httpRequestsTotal".into()),
        ("FT0115", 8, "statusCode".into()),
        ("FT0101", 9, "request_latency_milliseconds".into()),
        ("FT0116", 9, "request_latency_milliseconds".into()),
        ("FT0101", 12, "queue_depth_total".into()),
        ("FT0117", 12, "queue_depth_total".into()),
        ("FT0101", 15, "jobs_count".into()),
        ("FT0118", 15, "_count".into()),
        ("FT0118", 17, "le".into()),
        ("FT0101", 18, "checkout:orders_total".into()),
        ("FT0119", 18, "checkout:orders_total".into()),
        ("FT0101", 21, "no_help_here".into()),
        ("FT0120", 21, "no_help_here".into()),
        ("FT0102", 25, "user.id".into()),
        ("FT0105", 25, "flow.requests".into()),
        ("FT0110", 25, "chekout".into()),
    ];
    let mut got_sorted = got.clone();
    got_sorted.sort();
    let mut want_sorted = want.clone();
    want_sorted.sort();
    assert_eq!(got_sorted, want_sorted, "{findings:#?}");
}

#[test]
fn a_did_you_mean_names_the_declared_metric() {
    let findings = lint("promlint.prom");
    let f = findings
        .iter()
        .find(|f| f.rule.id == "FT0110")
        .expect("unknown flow");
    assert_eq!(
        f.help.as_deref(),
        Some("a declared flow has a similar name: `checkout`")
    );
}

/// The grouped human report and the JSON report as users see them, pinned.
#[test]
fn reports_are_stable() {
    let findings = lint("promlint.prom");
    // Paths differ between machines: report the fixture by its name.
    let findings: Vec<Finding> = findings
        .into_iter()
        .map(|mut f| {
            if let Some(l) = &mut f.location {
                l.file = "promlint.prom".into();
            }
            f
        })
        .collect();
    let human = flowtel_conventions::report::human_grouped(
        &findings,
        &flowtel_conventions::report::NoSource,
        false,
        2,
    );
    insta::assert_snapshot!("promlint_human_grouped", human);
    insta::assert_snapshot!(
        "promlint_json",
        flowtel_conventions::report::json(&findings)
    );
}

#[test]
fn target_info_is_checked_as_the_resource() {
    let findings = lint("target-info.prom");
    let got: Vec<_> = findings
        .iter()
        .map(|f| {
            (
                f.rule.id,
                f.location.as_ref().unwrap().line,
                f.subject["attribute"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("FT0113", 3, "service.version"),
            ("FT0113", 3, "deployment.environment.name"),
        ],
        "{findings:#?}"
    );
}

/// `http://` inputs are scraped: the findings name the URL and the line in the answer.
#[test]
fn a_scrape_is_linted_like_a_file() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/metrics", listener.local_addr().unwrap());
    let server = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut request = Vec::new();
        let mut buf = [0u8; 1024];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = conn.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            request.extend_from_slice(&buf[..n]);
        }
        let body = "# TYPE queue_depth_total gauge\nqueue_depth_total 1\n";
        let _ = write!(
            conn,
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
    });
    let findings = lint_inputs(
        &registry(),
        std::slice::from_ref(&url),
        &ReadOptions::default(),
        &mut |_| {},
    );
    server.join().unwrap();
    let got: Vec<_> = findings
        .iter()
        .map(|f| {
            let l = f.location.as_ref().unwrap();
            (f.rule.id, l.file.as_str(), l.line)
        })
        .collect();
    assert_eq!(
        got,
        [
            ("FT0101", url.as_str(), 1),
            ("FT0117", url.as_str(), 1),
            ("FT0120", url.as_str(), 1)
        ],
        "{findings:#?}"
    );
}
