//! Any bytes, read as telemetry in whatever format they look like and linted against the
//! bundled conventions: findings or a fatal input finding, never a panic.
#![no_main]

use std::sync::OnceLock;

use flowtel_conventions::Registry;
use flowtel_lint::telemetry::TelemetryLinter;
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
    let mut linter = TelemetryLinter::new(registry());
    let Ok(reader) = flowtel_otlp::from_reader("fuzz", std::io::Cursor::new(data.to_vec())) else {
        return;
    };
    for batch in reader.take(64) {
        match batch {
            Ok(b) => linter.batch(&b),
            Err(e) => linter.error(&e),
        }
    }
    let _ = linter.finish();
});
