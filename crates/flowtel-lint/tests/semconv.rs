//! Telemetry against a registry built on OpenTelemetry's semantic conventions v1.44.0
//! (`../shared/semconv/model`): deprecated names with their replacement, required attributes
//! of metrics and of span conventions. Skipped, with a message, when the model is absent.

use std::path::Path;

use flowtel_conventions::{Finding, Registry};
use flowtel_lint::telemetry::TelemetryLinter;

fn registry() -> Option<(tempfile::TempDir, Registry)> {
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/semconv/model");
    if !model.join("manifest.yaml").is_file() {
        eprintln!(
            "SKIPPED: no semantic-conventions model at {}",
            model.display()
        );
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flowtel.yaml");
    std::fs::write(
        &path,
        format!(
            "schema: flowtel/v1\nname: acme\nversion: 1.0.0\nimports: [{{semconv: '{}', only: [http, url, server, client, network, error, user_agent]}}]\n",
            model.canonicalize().unwrap().display()
        ),
    )
    .unwrap();
    let loaded = flowtel_conventions::check(&path);
    let reg = loaded.registry.expect("registry");
    Some((dir, reg))
}

fn span(name: &str, kind: u8, attrs: &[(&str, &str)]) -> String {
    let attrs: Vec<String> = attrs
        .iter()
        .map(|(k, v)| format!(r#"{{"key":"{k}","value":{{"stringValue":"{v}"}}}}"#))
        .collect();
    format!(
        r#"{{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"{name}","kind":{kind},"startTimeUnixNano":"1","endTimeUnixNano":"2","attributes":[{}]}}"#,
        attrs.join(",")
    )
}

fn lint(reg: &Registry, spans: &[String]) -> Vec<Finding> {
    let doc = format!(
        r#"{{"resourceSpans":[{{"resource":{{"attributes":[{{"key":"service.name","value":{{"stringValue":"shop"}}}}]}},"scopeSpans":[{{"spans":[{}]}}]}}]}}"#,
        spans.join(",")
    );
    let mut linter = TelemetryLinter::new(reg);
    for batch in
        flowtel_otlp::from_reader("spans.json", std::io::Cursor::new(doc.into_bytes())).unwrap()
    {
        linter.batch(&batch.unwrap());
    }
    linter.finish()
}

#[test]
fn server_spans_lacking_required_attributes_are_reported_once_per_shape() {
    let Some((_dir, reg)) = registry() else {
        return;
    };
    let incomplete = span(
        "GET /checkout",
        2,
        &[
            ("http.request.method", "GET"),
            ("http.route", "/checkout"),
            ("url.scheme", "https"),
        ],
    );
    let complete = span(
        "GET /cart",
        2,
        &[
            ("http.request.method", "GET"),
            ("url.path", "/cart"),
            ("url.scheme", "https"),
        ],
    );
    let findings = lint(&reg, &[incomplete.clone(), incomplete, complete]);
    let missing: Vec<&Finding> = findings.iter().filter(|f| f.rule.id == "FT0404").collect();
    assert_eq!(missing.len(), 1, "{findings:#?}");
    let f = missing[0];
    assert_eq!(f.subject["convention"], "span.http.server");
    assert_eq!(f.subject["missing"], "url.path");
    assert_eq!(f.subject["occurrences"], "2");
    assert!(f.location.as_ref().unwrap().pointer.is_some());
}

#[test]
fn deprecated_span_attributes_name_their_replacement() {
    let Some((_dir, reg)) = registry() else {
        return;
    };
    let old = span(
        "GET",
        3,
        &[("http.method", "GET"), ("http.url", "https://x/y")],
    );
    let findings = lint(&reg, &[old]);
    let dep: Vec<(&str, &str)> = findings
        .iter()
        .filter(|f| f.rule.id == "FT0403")
        .map(|f| {
            (
                f.subject["attribute"].as_str(),
                f.subject["replacement"].as_str(),
            )
        })
        .collect();
    assert!(
        dep.contains(&("http.method", "http.request.method")),
        "{findings:#?}"
    );
    assert!(dep.contains(&("http.url", "url.full")), "{findings:#?}");
}
