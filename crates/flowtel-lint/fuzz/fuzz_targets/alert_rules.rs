//! Any bytes, read as a Prometheus rule file (and as an Alertmanager configuration) and linted
//! against the bundled conventions: located findings, never a panic.
#![no_main]

use std::sync::OnceLock;

use flowtel_conventions::Registry;
use flowtel_lint::alerts::{AlertOptions, Input, lint_inputs};
use libfuzzer_sys::fuzz_target;

fn registry() -> &'static Registry {
    static REG: OnceLock<Registry> = OnceLock::new();
    REG.get_or_init(|| {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../conventions");
        flowtel_conventions::check(&dir)
            .registry
            .expect("bundled conventions")
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let input = Input {
        file: "fuzz.yml".into(),
        text: text.to_string(),
    };
    let opts = AlertOptions {
        check_metrics: true,
        scrape_interval: None,
        alertmanager: Some(input.clone()),
    };
    let _ = lint_inputs(Some(registry()), &[input], &opts);
});
