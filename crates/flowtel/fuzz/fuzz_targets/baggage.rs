//! Incoming `baggage` headers are outside input: decoding must never panic and must keep
//! within the W3C limits whatever arrives.
#![no_main]

use flowtel::propagation::{MAX_BYTES, MAX_MEMBERS, decode_baggage};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(header) = std::str::from_utf8(data) {
        let (kept, _) = decode_baggage(header);
        assert!(kept.len() <= MAX_MEMBERS);
        let bytes: usize = kept.iter().map(|m| m.key.len() + m.value.len()).sum();
        assert!(bytes <= MAX_BYTES);
    }
});
