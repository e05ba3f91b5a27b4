//! Format detection, gzip and the generic reader.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let opts = flowtel_otlp::ReadOptions {
        max_batch_bytes: 1 << 20,
        ..Default::default()
    };
    if let Ok(r) = opts.read("fuzz", std::io::Cursor::new(data.to_vec())) {
        for _ in r {}
    }
});
