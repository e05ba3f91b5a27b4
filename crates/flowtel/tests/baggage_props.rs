//! The baggage header is outside input: whatever arrives, decoding never panics, keeps at most
//! 64 members and 8192 bytes, and what flowtel writes back stays within the same limits.

use flowtel::propagation::{MAX_BYTES, MAX_MEMBERS, decode_baggage, encode_baggage};
use opentelemetry::baggage::{BaggageExt, KeyValueMetadata};
use opentelemetry::{Context, StringValue};
use proptest::prelude::*;

fn member() -> impl Strategy<Value = String> {
    prop_oneof![
        ("[a-z.]{1,12}", "[ -~]{0,40}").prop_map(|(k, v)| format!("{k}={v}")),
        ("[a-z]{1,8}", "[a-z0-9%]{0,400}", "[a-z=;]{0,10}")
            .prop_map(|(k, v, p)| format!("{k}={v};{p}")),
        any::<String>(),
    ]
}

proptest! {
    #[test]
    fn decoding_respects_the_w3c_limits(members in proptest::collection::vec(member(), 0..150)) {
        let header = members.join(",");
        let (kept, dropped) = decode_baggage(&header);
        prop_assert!(kept.len() <= MAX_MEMBERS);
        // A generated member may itself hold commas: count the header's list members.
        prop_assert!(kept.len() as u64 + dropped <= header.split(',').count() as u64);
        let cx = Context::new().with_baggage(kept.into_iter().map(KeyValueMetadata::from));
        let (out, _) = encode_baggage(&cx, Some(&StringValue::from("checkout")));
        prop_assert!(out.len() <= MAX_BYTES);
        prop_assert!(out.split(',').count() <= MAX_MEMBERS);
        prop_assert!(out.starts_with("flow.name=checkout"));
    }

    #[test]
    fn arbitrary_headers_never_panic(header in any::<String>()) {
        let _ = decode_baggage(&header);
    }
}
