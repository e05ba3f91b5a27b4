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

use flowtel_conventions::Finding;

mod common;
use common::{fixture_registry, lint, produce};

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
    let reg = fixture_registry("personal-data.yaml");
    let Some(dir) = produce("personal-data", "json") else {
        return;
    };
    let findings = lint(&reg, dir.path(), "jsonl");
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

    // Nothing else: the undeclared label is also reported as such, and so are the undeclared
    // span and log attributes (but not the keys already reported as personal data); the clean
    // attributes (a route, a note, a declared network address holding an IP address) are not
    // personal data.
    let others: BTreeSet<&str> = findings
        .iter()
        .map(|f| f.rule.id)
        .filter(|r| !matches!(*r, "FT0160" | "FT0161"))
        .collect();
    assert_eq!(
        others,
        BTreeSet::from(["FT0102", "FT0122"]),
        "{findings:#?}"
    );
    let undeclared: BTreeSet<&str> = findings
        .iter()
        .filter(|f| f.rule.id == "FT0122")
        .map(|f| f.subject["attribute"].as_str())
        .collect();
    assert_eq!(
        undeclared,
        BTreeSet::from([
            "contact",
            "order.items",
            "order.note",
            "order.ref",
            "peer.host"
        ])
    );
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
    let reg = fixture_registry("lint-test.yaml");
    let Some(dir) = produce("personal-data", "json") else {
        return;
    };
    let got = personal(&lint(&reg, dir.path(), "jsonl"));
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
