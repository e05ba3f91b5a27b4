//! OTLP JSON document reader on arbitrary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for batch in flowtel_otlp::JsonDocumentReader::new(data, "fuzz.json", 1 << 20) {
        if let Ok(b) = batch {
            for m in b.metrics() {
                for i in 0..m.item.points.len() {
                    let _ = m.point_pointer(i);
                }
            }
        }
    }
});
