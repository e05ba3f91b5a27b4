//! The loader never panics, whatever text it is given, and always says why it refused.

use flowtel_conventions::{Severity, check_str};
use proptest::prelude::*;

const VALID: &str = include_str!("../../../conventions/platform.yaml");

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,400}") {
        let loaded = check_str("fuzz.yaml", &text);
        // Either something loaded, or there is a finding saying why not.
        prop_assert!(loaded.registry.is_some() || !loaded.findings.is_empty());
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = check_str("fuzz.yaml", &text);
    }

    #[test]
    fn mutations_of_a_valid_file_never_panic_and_are_located(
        edits in proptest::collection::vec((0usize..VALID.len(), "[\\[\\]{}:,'\"&*!|>#\\- a-z0-9\n\t]{0,4}", 0usize..6), 1..5)
    ) {
        let mut text = VALID.to_string();
        for (pos, insert, delete) in edits {
            let mut pos = pos.min(text.len());
            while !text.is_char_boundary(pos) { pos -= 1; }
            let mut end = (pos + delete).min(text.len());
            while !text.is_char_boundary(end) { end -= 1; }
            text.replace_range(pos..end, &insert);
        }
        let loaded = check_str("mutated.yaml", &text);
        for f in &loaded.findings {
            if f.severity >= Severity::Error {
                let loc = f.location.as_ref();
                prop_assert!(loc.is_some(), "finding without a place: {f:?}");
                let loc = loc.unwrap();
                prop_assert!(loc.line >= 1 && loc.line as usize <= text.lines().count() + 1, "{loc:?}");
            }
        }
    }
}
