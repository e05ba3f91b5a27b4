//! OTLP JSON lines reader on arbitrary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for batch in flowtel_otlp::JsonLinesReader::new(data, "fuzz.jsonl", 1 << 20) {
        if let Ok(b) = batch {
            for s in b.spans() {
                let _ = s.pointer();
            }
        }
    }
    let _ = flowtel_otlp::decode_json("fuzz", data);
});
