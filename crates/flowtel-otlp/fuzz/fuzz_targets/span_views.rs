//! The lean span-view decoder on arbitrary JSON lines: never a panic, and never stricter than
//! the batch decoder (a line the model decodes, the views decode too, with as many spans).
#![no_main]

use flowtel_otlp::{KeyValueView, SpanView, SpanViewSink};
use libfuzzer_sys::fuzz_target;

#[derive(Default)]
struct Count {
    spans: usize,
    blocks: usize,
}

impl SpanViewSink for Count {
    fn keep_attribute(&self, key: &str) -> bool {
        key.len() % 2 == 0
    }
    fn resource(&mut self, _index: usize, _attributes: &[KeyValueView<'_>]) {}
    fn span(&mut self, span: &SpanView<'_>) {
        let _ = span.pointer();
        self.spans += 1;
    }
    fn end_resource(&mut self, _index: usize) {
        self.blocks += 1;
    }
}

fuzz_target!(|data: &[u8]| {
    let mut reader = flowtel_otlp::JsonLinesReader::new(data, "fuzz.jsonl", 1 << 20);
    while let Some(req) = reader.next_request() {
        let Ok(req) = req else { continue };
        let mut count = Count::default();
        let lean = req.decode_spans(&mut count);
        if let Ok(batch) = req.decode() {
            assert!(lean.is_ok(), "views rejected a line the model decodes: {lean:?}");
            assert_eq!(count.spans, batch.spans().count());
        }
    }
});
