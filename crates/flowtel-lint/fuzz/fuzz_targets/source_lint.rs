//! The Rust source linter on arbitrary text: it must never panic, whatever a file holds.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

const REGISTRY: &str = "schema: flowtel/v1\nname: fuzz\nversion: 1.0.0\n\
attributes:\n  flow.name: {type: string, max_values: 10}\n  outcome: {type: enum, values: [ok, error]}\n  user.id: {type: string, pii: true}\n\
metrics:\n  flow.requests: {instrument: counter, unit: '{request}', labels: [flow.name, outcome]}\n";

fn registry() -> &'static flowtel_conventions::Registry {
    static REG: OnceLock<flowtel_conventions::Registry> = OnceLock::new();
    REG.get_or_init(|| {
        flowtel_conventions::check_str("fuzz.yaml", REGISTRY)
            .registry
            .expect("the fuzz registry loads")
    })
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = flowtel_lint::source::lint_source(registry(), "fuzz.rs", text);
    }
});
