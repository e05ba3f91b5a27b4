//! Prometheus / OpenMetrics text parser and its OTLP conversion.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(e) = flowtel_otlp::prometheus::parse(data, "fuzz.prom", 1 << 20) {
        let _ = e.to_payload();
    }
});
