//! Corrupt, truncated and hostile inputs: a fatal finding with the file and position, never a
//! panic; the rest of a JSON-lines file is still linted.

use std::io::Write;
use std::path::PathBuf;

use flowtel_conventions::{Finding, Registry, Severity};
use flowtel_lint::telemetry::{TelemetryLinter, lint_inputs};
use flowtel_otlp::ReadOptions;
use proptest::prelude::*;

fn registry() -> Registry {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../conventions");
    flowtel_conventions::check(&path)
        .registry
        .expect("bundled conventions")
}

fn lint_bytes(reg: &Registry, bytes: &[u8], options: &ReadOptions) -> Vec<Finding> {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(bytes).unwrap();
    let path = file.path().display().to_string();
    lint_inputs(reg, &[path], options, &mut |_| {})
}

fn fatal(findings: &[Finding]) -> Vec<(&str, u32, u32)> {
    findings
        .iter()
        .filter(|f| f.severity == Severity::Fatal)
        .map(|f| {
            let l = f.location.as_ref().unwrap();
            (f.rule.id, l.line, l.column)
        })
        .collect()
}

const GOOD_LINE: &str = r#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"a"}},{"key":"service.version","value":{"stringValue":"1"}},{"key":"deployment.environment.name","value":{"stringValue":"p"}}]},"scopeSpans":[{"spans":[{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708","name":"x","attributes":[{"key":"customer.tier","value":{"stringValue":"gold"}}]}]}]}]}"#;

#[test]
fn a_broken_line_is_fatal_at_its_line_and_the_rest_is_still_linted() {
    let reg = registry();
    let text = format!("{GOOD_LINE}\n{{\"resourceSpans\": [{{\"scopeSpans\": [\n{GOOD_LINE}\n");
    let findings = lint_bytes(&reg, text.as_bytes(), &ReadOptions::default());
    let fatal = fatal(&findings);
    assert_eq!(fatal.len(), 1, "{findings:#?}");
    assert_eq!(fatal[0].0, "FT0121");
    // The reader places a truncated line's end-of-input at the start of the next line.
    assert!((2..=3).contains(&fatal[0].1), "{fatal:?}");
    let tier = findings.iter().find(|f| f.rule.id == "FT0106").unwrap();
    // Both good lines were linted: one finding, seen twice.
    assert_eq!(
        tier.subject.get("occurrences").map(String::as_str),
        Some("2")
    );
}

#[test]
fn a_batch_over_the_limit_is_fatal() {
    let reg = registry();
    let options = ReadOptions {
        max_batch_bytes: 100,
        ..ReadOptions::default()
    };
    let findings = lint_bytes(&reg, format!("{GOOD_LINE}\n").as_bytes(), &options);
    assert_eq!(
        fatal(&findings).first().map(|f| (f.0, f.1)),
        Some(("FT0121", 1))
    );
    assert!(
        findings[0]
            .help
            .as_deref()
            .unwrap()
            .contains("--max-batch-bytes")
    );
}

#[test]
fn deep_nesting_huge_ids_and_invalid_utf8_are_located() {
    let reg = registry();
    let deep = format!(
        "{{\"resourceSpans\":[{{\"resource\":{{\"attributes\":[{{\"key\":\"k\",\"value\":{}1{}}}]}}}}]}}\n",
        "{\"arrayValue\":{\"values\":[".repeat(200),
        "]}}".repeat(200)
    );
    let huge_id = GOOD_LINE.replace("0102030405060708090a0b0c0d0e0f10", &"ab".repeat(5000));
    let mut utf8 = GOOD_LINE.as_bytes().to_vec();
    let at = GOOD_LINE.find("\"x\"").unwrap() + 1;
    utf8[at] = 0xff;
    for input in [deep.into_bytes(), huge_id.into_bytes(), utf8] {
        let findings = lint_bytes(&reg, &input, &ReadOptions::default());
        let fatal = fatal(&findings);
        assert_eq!(fatal.len(), 1, "{findings:#?}");
        assert_eq!(fatal[0].1, 1);
        assert!(fatal[0].2 >= 1);
    }
}

#[test]
fn a_missing_file_is_unreadable_input() {
    let reg = registry();
    let findings = lint_inputs(
        &reg,
        &["/nonexistent/flowtel/traces.jsonl".into()],
        &ReadOptions::default(),
        &mut |_| {},
    );
    assert_eq!(fatal(&findings), [("FT0002", 1, 1)]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever bytes arrive, the linter reports and never panics.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let reg = registry();
        let mut linter = TelemetryLinter::new(&reg);
        if let Ok(reader) = flowtel_otlp::from_reader("fuzz", std::io::Cursor::new(bytes)) {
            for b in reader {
                match b {
                    Ok(b) => linter.batch(&b),
                    Err(e) => linter.error(&e),
                }
            }
        }
        let _ = linter.finish();
    }

    /// Mutations of a valid line never panic either.
    #[test]
    fn mutated_lines_never_panic(pos in 0usize..400, byte in any::<u8>()) {
        let reg = registry();
        let mut line = GOOD_LINE.as_bytes().to_vec();
        let pos = pos % line.len();
        line[pos] = byte;
        let findings = lint_bytes(&reg, &line, &ReadOptions::default());
        for f in &findings {
            prop_assert!(f.location.is_some());
        }
    }
}
