//! The conventions loader and validator on arbitrary text (imports resolve to nothing).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let loaded = flowtel_conventions::load::load_embedded(
            "fuzz/flowtel.yaml",
            &[("fuzz/flowtel.yaml", text)],
        );
        if let Some(reg) = &loaded.registry {
            let _ = flowtel_conventions::validate::validate(reg);
        }
    }
});
