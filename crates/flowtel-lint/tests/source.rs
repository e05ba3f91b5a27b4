//! `flowtel lint source` over a small application: every rule fires where it should, with the
//! exact line and column, and nothing else is reported.

use std::path::{Path, PathBuf};

use flowtel_conventions::Finding;

fn fixture(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/source")
        .join(p)
}

fn registry() -> flowtel_conventions::Registry {
    let loaded = flowtel_conventions::check(&fixture("flowtel.yaml"));
    assert!(
        loaded
            .findings
            .iter()
            .all(|f| f.severity < flowtel_conventions::Severity::Error),
        "{:#?}",
        loaded.findings
    );
    loaded.registry.expect("fixture registry loads")
}

/// `(rule, file name, line, column, message)` of each finding.
fn summary(findings: &[Finding]) -> Vec<(String, String, u32, u32, String)> {
    findings
        .iter()
        .map(|f| {
            let l = f
                .location
                .clone()
                .expect("every source finding has a place");
            let file = Path::new(&l.file)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (
                f.rule.id.to_string(),
                file,
                l.line,
                l.column,
                f.message.clone(),
            )
        })
        .collect()
}

#[test]
fn reports_each_misuse_at_its_token() {
    let findings = flowtel_lint::source::lint_paths(&registry(), &[fixture("app")]);
    let got = summary(&findings);
    let expected: Vec<(&str, &str, u32, u32, &str)> = vec![
        ("FT0208", "broken.rs", 1, 10, "does not parse"),
        ("FT0204", "main.rs", 3, 30, "names a span `Load Cart `"),
        ("FT0202", "main.rs", 3, 76, "records attribute `cart_items`"),
        ("FT0201", "main.rs", 7, 38, "creates metric `flow.request`"),
        (
            "FT0203",
            "main.rs",
            8,
            38,
            "creates `flow.step.duration` as a counter, but the conventions declare it a histogram",
        ),
        (
            "FT0207",
            "main.rs",
            9,
            68,
            "given unit `ms`, but the conventions declare `s`",
        ),
        (
            "FT0205",
            "main.rs",
            10,
            77,
            "records `user.id`, which is personal data",
        ),
        ("FT0403", "main.rs", 11, 71, "`http.method` is deprecated"),
        (
            "FT0206",
            "main.rs",
            12,
            67,
            "metric `flow.requests` gets label `customer.tier`",
        ),
    ];
    assert_eq!(got.len(), expected.len(), "{got:#?}");
    for (g, e) in got.iter().zip(&expected) {
        assert_eq!(
            (g.0.as_str(), g.1.as_str(), g.2, g.3),
            (e.0, e.1, e.2, e.3),
            "{got:#?}"
        );
        assert!(g.4.contains(e.4), "`{}` should contain `{}`", g.4, e.4);
    }
    let unknown = &findings[3];
    assert_eq!(
        unknown.help.as_deref(),
        Some("did you mean `flow.requests`?")
    );
    assert_eq!(unknown.subject["metric"], "flow.request");
}

#[test]
fn skips_target_and_hidden_folders_and_reports_missing_paths() {
    let findings = flowtel_lint::source::lint_paths(&registry(), &[fixture("app/nope")]);
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].rule.id, "FT0002");
    assert_eq!(flowtel_conventions::exit_code(&findings, false), 2);
    let all = flowtel_lint::source::lint_paths(&registry(), &[fixture("app")]);
    assert!(all.iter().all(|f| !f.message.contains("never.read")));

    // Build output is never read (a `target/` folder is not committed, so make one).
    let dir = tempfile::tempdir().unwrap();
    let unknown = "fn f(m: Meter) { m.u64_counter(\"never.read\"); }\n";
    std::fs::create_dir_all(dir.path().join("target/debug")).unwrap();
    std::fs::write(dir.path().join("target/debug/gen.rs"), unknown).unwrap();
    std::fs::write(dir.path().join("lib.rs"), unknown).unwrap();
    let found = flowtel_lint::source::lint_paths(&registry(), &[dir.path().to_path_buf()]);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(found[0].location.as_ref().unwrap().file.ends_with("lib.rs"));
}

#[test]
fn a_clean_file_has_no_findings() {
    let text = std::fs::read_to_string(fixture("app/src/main.rs")).unwrap();
    let clean = &text[text.find("fn clean").unwrap()..];
    let findings = flowtel_lint::source::lint_source(&registry(), "clean.rs", clean);
    assert!(findings.is_empty(), "{findings:#?}");
}

mod never_panics {
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// Arbitrary text, and valid sources cut at any point or with a byte replaced, are
        /// linted (or reported as not parsed) without a panic, every finding at a real position.
        #[test]
        fn on_arbitrary_or_mutated_sources(
            noise in ".{0,200}",
            cut in 0usize..2000,
            at in 0usize..2000,
            byte in any::<char>(),
        ) {
            let reg = super::registry();
            let located = |findings: Vec<flowtel_conventions::Finding>| {
                findings.iter().all(|f| f.location.as_ref().is_some_and(|l| l.line >= 1 && l.column >= 1))
            };
            prop_assert!(located(flowtel_lint::source::lint_source(&reg, "noise.rs", &noise)));
            let text = std::fs::read_to_string(super::fixture("app/src/main.rs")).unwrap();
            let cut = text.char_indices().map(|(i, _)| i).nth(cut).unwrap_or(text.len());
            prop_assert!(located(flowtel_lint::source::lint_source(&reg, "cut.rs", &text[..cut])));
            let mut mutated: Vec<char> = text.chars().collect();
            if !mutated.is_empty() {
                let i = at % mutated.len();
                mutated[i] = byte;
            }
            let mutated: String = mutated.into_iter().collect();
            prop_assert!(located(flowtel_lint::source::lint_source(&reg, "mutated.rs", &mutated)));
        }
    }
}

#[test]
fn an_undeclared_key_named_like_personal_data_is_an_error() {
    let text = "fn signup(email: &str, counter: &Counter<u64>) {\n    counter.add(1, &[KeyValue::new(\"user_email\", email.to_string())]);\n    tracing::info!(retry_total = 3, \"retrying\");\n}\n";
    let findings = flowtel_lint::source::lint_source(&registry(), "signup.rs", text);
    let pii: Vec<&Finding> = findings.iter().filter(|f| f.rule.id == "FT0220").collect();
    assert_eq!(pii.len(), 1, "{findings:#?}");
    assert_eq!(pii[0].severity, flowtel_conventions::Severity::Error);
    assert!(
        pii[0].message.contains("`user_email`"),
        "{}",
        pii[0].message
    );
    assert_eq!(pii[0].location.as_ref().map(|l| l.line), Some(2));
    // An undeclared key that says nothing personal stays a warning.
    assert!(
        findings
            .iter()
            .any(|f| f.rule.id == "FT0202" && f.message.contains("retry_total")),
        "{findings:#?}"
    );
}

#[test]
fn tracing_events_naming_a_log_event_are_held_to_its_declaration() {
    let file = "tests/fixtures/source/events.rs";
    let text = std::fs::read_to_string(file).unwrap();
    let findings = flowtel_lint::source::lint_source(&registry(), file, &text);
    let got: Vec<(String, u32, u32)> = summary(&findings)
        .into_iter()
        .map(|(rule, _, line, column, _)| (rule, line, column))
        .collect();
    let expected = [
        ("FT0209", 7, 26),
        ("FT0211", 9, 33),
        ("FT0212", 9, 33),
        ("FT0210", 11, 103),
        ("FT0202", 11, 125),
    ];
    let expected: Vec<(String, u32, u32)> = expected
        .iter()
        .map(|(r, l, c)| (r.to_string(), *l, *c))
        .collect();
    assert_eq!(got, expected, "{findings:#?}");
    assert_eq!(
        findings[0].help.as_deref(),
        Some("did you mean `payment.declined`?")
    );
    insta::assert_snapshot!(
        "source_events_human",
        flowtel_conventions::report::human(
            &findings,
            &flowtel_conventions::output::DiskSource::default(),
            false
        )
    );
}
