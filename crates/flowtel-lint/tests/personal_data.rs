//! Personal data by shape in real telemetry: the `personal-data` scenario of
//! `tests/python/produce.py` (the OpenTelemetry Python SDK) linted against
//! `tests/fixtures/personal-data.yaml`, whose `pii` section adds a key word (`badge`) and a value
//! pattern (`employee_id`). Every shape is caught once, on the attribute it is in, with a
//! redacted sample; a declared network address is not; the same telemetry against conventions
//! without those additions does not report them.
//!
//! The interpreter is `$FLOWTEL_PYTHON`, by default `<workspace>/.venv/bin/python`;
//! `FLOWTEL_SKIP_PYTHON=1` skips.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use flowtel_conventions::{Finding, Registry};
use flowtel_lint::telemetry::lint_inputs;
use flowtel_otlp::ReadOptions;

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn registry(fixture: &str) -> Registry {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(fixture);
    let loaded = flowtel_conventions::check(&path);
    let errors: Vec<_> = loaded
        .findings
        .iter()
        .filter(|f| f.severity >= flowtel_conventions::Severity::Error)
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    loaded.registry.expect("registry")
}

fn produce(scenario: &str) -> Option<tempfile::TempDir> {
    if std::env::var("FLOWTEL_SKIP_PYTHON").as_deref() == Ok("1") {
        println!("skipped: FLOWTEL_SKIP_PYTHON=1");
        return None;
    }
    let python = std::env::var_os("FLOWTEL_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join(".venv/bin/python"));
    assert!(
        python.exists(),
        "no Python interpreter at {}: create the virtualenv with \
         `python3 -m venv .venv && .venv/bin/pip install -r .ci/requirements-python.txt` \
         (or set FLOWTEL_PYTHON, or FLOWTEL_SKIP_PYTHON=1 to skip)",
        python.display()
    );
    let out = tempfile::tempdir().unwrap();
    let status = Command::new(&python)
        .arg(workspace().join("tests/python/produce.py"))
        .arg(out.path())
        .args(["--scenario", scenario, "--format", "json"])
        .status()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    assert!(status.success(), "produce.py failed ({status})");
    Some(out)
}

fn lint(reg: &Registry, dir: &Path) -> Vec<Finding> {
    let inputs: Vec<String> = ["traces", "metrics", "logs"]
        .iter()
        .map(|n| dir.join(format!("{n}.jsonl")).display().to_string())
        .collect();
    lint_inputs(reg, &inputs, &ReadOptions::default(), &mut |_| {})
}

/// (rule, carrier, attribute, word or shape, sample) of every personal-data finding.
fn personal(findings: &[Finding]) -> BTreeSet<(String, String, String, String, String)> {
    let get = |f: &Finding, k: &str| f.subject.get(k).cloned().unwrap_or_default();
    findings
        .iter()
        .filter(|f| matches!(f.rule.id, "FT0160" | "FT0161"))
        .map(|f| {
            let carrier = ["span", "metric", "signal"]
                .iter()
                .find_map(|k| f.subject.get(*k).cloned())
                .unwrap_or_default();
            let what = if f.rule.id == "FT0160" {
                get(f, "word")
            } else {
                get(f, "shape")
            };
            (
                f.rule.id.to_string(),
                carrier,
                get(f, "attribute"),
                what,
                get(f, "sample"),
            )
        })
        .collect()
}

fn row(r: &str, c: &str, a: &str, w: &str, s: &str) -> (String, String, String, String, String) {
    (r.into(), c.into(), a.into(), w.into(), s.into())
}

#[test]
fn every_shape_and_key_word_is_caught_with_a_redacted_sample() {
    let reg = registry("personal-data.yaml");
    let Some(dir) = produce("personal-data") else {
        return;
    };
    let findings = lint(&reg, dir.path());
    let span = "POST /signup";
    let want: BTreeSet<_> = [
        row("FT0160", span, "user_email", "email", ""),
        row("FT0160", span, "visitor.badge", "badge", ""),
        row("FT0160", "checkout.orders", "user_email", "email", ""),
        row("FT0161", span, "user_email", "email", "a***@example.com"),
        row("FT0161", span, "order.id", "card", "**** **** **** **11"),
        row("FT0161", span, "order.items", "card", "**************11"),
        row("FT0161", span, "peer.host", "ip", "192.0.2.*"),
        row("FT0161", span, "order.ref", "employee_id", "*****56"),
        row("FT0161", "logs", "contact", "phone", "+** ** **** **58"),
        row(
            "FT0161",
            "checkout.orders",
            "user_email",
            "email",
            "a***@example.com",
        ),
    ]
    .into_iter()
    .collect();
    assert_eq!(personal(&findings), want, "{findings:#?}");

    // Nothing else: the undeclared label is also reported as such, and the clean attributes
    // (a route, a note, a declared network address holding an IP address) are not.
    let others: BTreeSet<&str> = findings
        .iter()
        .map(|f| f.rule.id)
        .filter(|r| !matches!(*r, "FT0160" | "FT0161"))
        .collect();
    assert_eq!(others, BTreeSet::from(["FT0102"]), "{findings:#?}");
    assert!(
        findings
            .iter()
            .all(|f| f.subject.get("attribute").map(String::as_str) != Some("server.address"))
    );
    // Every finding is located at the attribute, and its text never shows the value.
    for f in findings.iter().filter(|f| f.rule.id == "FT0161") {
        let pointer = f.location.as_ref().and_then(|l| l.pointer.as_deref());
        assert!(
            pointer.is_some_and(|p| p.contains("/attributes/")),
            "{f:#?}"
        );
        for secret in [
            "ada@example.com",
            "4111 1111 1111 1111",
            "192.0.2.17",
            "7946 0958",
            "E123456",
        ] {
            assert!(!f.message.contains(secret), "{f:#?}");
        }
    }
}

#[test]
fn the_conventions_decide_which_words_and_patterns_count() {
    // The bundled conventions know neither `badge` nor `employee_id`.
    let reg = registry("lint-test.yaml");
    let Some(dir) = produce("personal-data") else {
        return;
    };
    let got = personal(&lint(&reg, dir.path()));
    assert!(
        got.iter()
            .all(|(_, _, a, _, _)| a != "visitor.badge" && a != "order.ref"),
        "{got:#?}"
    );
    assert!(
        got.iter().any(|(_, _, a, _, _)| a == "user_email"),
        "{got:#?}"
    );
}
