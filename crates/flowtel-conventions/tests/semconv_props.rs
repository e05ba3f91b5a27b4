//! The semantic-conventions reader never panics, whatever the input: arbitrary text, and real
//! registry files with random edits (bytes replaced, lines dropped, indentation changed).

use std::path::PathBuf;

use flowtel_conventions::semconv;
use proptest::prelude::*;

/// Small files of both formats, with anchors, refinements, enums and references.
const SEEDS: &[&str] = &[
    "groups:\n  - id: registry.acme\n    type: attribute_group\n    attributes:\n      - id: acme.tier\n        type:\n          members:\n            - id: free\n              value: 'free'\n            - id: pro\n              value: 'pro'\n        stability: stable\n        brief: &b Tier.\n      - id: acme.old\n        type: string\n        brief: *b\n        deprecated:\n          reason: renamed\n          renamed_to: acme.tier\n  - id: metric.acme.requests\n    type: metric\n    metric_name: acme.requests\n    instrument: counter\n    unit: '{request}'\n    extends: registry.acme\n    attributes:\n      - ref: acme.tier\n        requirement_level: required\n",
    "file_format: definition/2\nattributes:\n  - key: acme.region\n    type: string[]\n    stability: development\nattribute_groups:\n  - id: acme.common\n    visibility: internal\n    attributes:\n      - ref: acme.region\n        requirement_level:\n          conditionally_required: If known.\nspans:\n  - type: acme.call\n    kind: client\n    attributes:\n      - ref_group: acme.common\nspan_refinements:\n  - id: span.acme.call.special\n    ref: acme.call\n    attributes:\n      - ref: acme.region\n        requirement_level: required\nmetrics:\n  - name: acme.calls\n    instrument: histogram\n    unit: s\n    attributes:\n      - ref_group: acme.common\nmetric_refinements:\n  - id: metric.acme.calls.special\n    ref: acme.calls\n    attributes:\n      - ref: acme.region\n",
];

fn read(texts: &[String]) {
    let files: Vec<(PathBuf, &str)> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| (PathBuf::from(format!("model/f{i}.yaml")), t.as_str()))
        .collect();
    let model = semconv::read_model(&files);
    let _ = model.findings();
    let sel = model.select(Some(&["acme".to_string()]));
    let ids: Vec<usize> = (0..files.len()).collect();
    let _ = model.layers(&sel, &ids);
}

#[derive(Debug, Clone)]
enum Edit {
    Replace(usize, u8),
    Insert(usize, u8),
    DropLine(usize),
    Indent(usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    let byte = prop::sample::select(b" \n:-[]{}&*'\"#|>a0.".to_vec());
    prop_oneof![
        (any::<usize>(), byte.clone()).prop_map(|(p, b)| Edit::Replace(p, b)),
        (any::<usize>(), byte).prop_map(|(p, b)| Edit::Insert(p, b)),
        any::<usize>().prop_map(Edit::DropLine),
        (any::<usize>(), 0usize..6).prop_map(|(l, n)| Edit::Indent(l, n)),
    ]
}

fn apply(text: &str, edits: &[Edit]) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for e in edits {
        match *e {
            Edit::Replace(p, b) if !bytes.is_empty() => {
                let i = p % bytes.len();
                bytes[i] = b;
            }
            Edit::Insert(p, b) => {
                let i = p % (bytes.len() + 1);
                bytes.insert(i, b);
            }
            Edit::DropLine(l) | Edit::Indent(l, _) => {
                let s = String::from_utf8_lossy(&bytes).into_owned();
                let mut lines: Vec<String> = s.split('\n').map(str::to_string).collect();
                let i = l % lines.len();
                match *e {
                    Edit::DropLine(_) => {
                        lines.remove(i);
                    }
                    Edit::Indent(_, n) => lines[i] = format!("{}{}", " ".repeat(n), lines[i]),
                    _ => {}
                }
                bytes = lines.join("\n").into_bytes();
            }
            _ => {}
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_text_never_panics(a in ".{0,400}", b in "[ -~\n]{0,400}") {
        read(&[a, b]);
    }

    #[test]
    fn mutated_registry_files_never_panic(
        edits_a in prop::collection::vec(edit(), 1..8),
        edits_b in prop::collection::vec(edit(), 1..8),
    ) {
        read(&[apply(SEEDS[0], &edits_a), apply(SEEDS[1], &edits_b)]);
    }
}

#[test]
fn the_seeds_resolve_cleanly() {
    let files: Vec<(PathBuf, &str)> = SEEDS
        .iter()
        .enumerate()
        .map(|(i, t)| (PathBuf::from(format!("model/f{i}.yaml")), *t))
        .collect();
    let model = semconv::read_model(&files);
    assert!(model.problems.is_empty(), "{:?}", model.problems);
    assert_eq!(
        model.metrics["acme.requests"].def.required_labels,
        ["acme.tier"]
    );
    assert_eq!(
        model.attributes["acme.old"].def.brief.as_deref(),
        Some("Tier.")
    );
    assert_eq!(
        model.spans["span.acme.call.special"]
            .def
            .required_attributes,
        ["acme.region"]
    );
    assert!(
        model.metrics["acme.calls"]
            .def
            .labels
            .contains(&"acme.region".to_string())
    );
}

#[test]
fn real_files_with_random_edits_never_panic() {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/semconv/model");
    if !dir.is_dir() {
        eprintln!(
            "SKIPPED: no semantic-conventions model at {}",
            dir.display()
        );
        return;
    }
    let texts: Vec<String> = [
        "http/registry.yaml",
        "http/metrics.yaml",
        "messaging/kafka.yaml",
        "faas/spans.yaml",
    ]
    .iter()
    .map(|f| std::fs::read_to_string(dir.join(f)).unwrap())
    .collect();
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(64));
    runner
        .run(&prop::collection::vec(edit(), 1..12), |edits| {
            let edited: Vec<String> = texts.iter().map(|t| apply(t, &edits)).collect();
            read(&edited);
            Ok(())
        })
        .unwrap();
}
