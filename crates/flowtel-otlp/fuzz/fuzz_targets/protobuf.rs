//! OTLP protobuf: request bodies of each signal and files of every framing.
#![no_main]

use flowtel_otlp::{ProtoReader, Signal, decode_proto};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for s in [Signal::Traces, Signal::Metrics, Signal::Logs] {
        let _ = decode_proto(s, "fuzz", data);
    }
    if let Ok(r) = ProtoReader::new(data, "fuzz.pb", None, 1 << 20) {
        for _ in r {}
    }
});
