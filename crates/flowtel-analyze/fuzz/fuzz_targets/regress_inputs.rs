//! Any bytes, split in two at the first byte's position, read as the before and after sides of
//! `flowtel regress` (spans and duration histograms in whatever format they look like) and
//! compared against the bundled conventions: a report or fatal findings, never a panic. Each
//! side is read twice, JSON lines through the span views as `flowtel regress` reads them and
//! through whole batches: where the batches find nothing wrong, both give the same side.
#![no_main]

use std::sync::OnceLock;

use flowtel_analyze::regress::input::SideSink;
use flowtel_conventions::Registry;
use flowtel_otlp::{InputPosition, InputSink, Raw};
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

fn side(reg: &Registry, name: &str, bytes: &[u8]) -> flowtel_analyze::regress::input::SideData {
    let mut sink = SideSink::new(reg);
    if let Ok(reader) = flowtel_otlp::from_reader(name, std::io::Cursor::new(bytes.to_vec())) {
        let mut read = 0u64;
        for batch in reader.take(64) {
            match batch {
                Ok(b) => {
                    read += 1;
                    let at = InputPosition { input: 0, name, bytes: read };
                    sink.batch(at, &b);
                }
                Err(e) => sink.error(&e),
            }
        }
    }
    sink.finish(&[name.to_string()])
}

/// The side as `flowtel regress` reads it: JSON lines through `json_request` (span views).
fn side_views(
    reg: &Registry,
    name: &str,
    bytes: &[u8],
) -> flowtel_analyze::regress::input::SideData {
    let mut sink = SideSink::new(reg);
    if let Ok(mut reader) = flowtel_otlp::from_reader(name, std::io::Cursor::new(bytes.to_vec())) {
        let mut read = 0u64;
        while read < 64 {
            let Some(item) = reader.next_raw() else { break };
            read += 1;
            let at = InputPosition { input: 0, name, bytes: read };
            let res = match item {
                Ok(Raw::Json(req)) => sink.json_request(at, &req),
                Ok(Raw::Batch(b)) => {
                    sink.batch(at, &b);
                    Ok(())
                }
                Err(e) => Err(e),
            };
            if let Err(e) = res {
                sink.error(&e);
            }
        }
    }
    sink.finish(&[name.to_string()])
}

fuzz_target!(|data: &[u8]| {
    let Some((&cut, rest)) = data.split_first() else {
        return;
    };
    let cut = (cut as usize * rest.len()) / 255;
    let (before, after) = rest.split_at(cut.min(rest.len()));
    let reg = registry();
    let views = side_views(reg, "before", before);
    let before = side(reg, "before", before);
    if before.findings.is_empty() {
        // Debug text: NaN bucket bounds compare equal as text.
        assert_eq!(format!("{views:?}"), format!("{before:?}"));
    }
    let after = side(reg, "after", after);
    if let Ok(report) = flowtel_analyze::regress::compare(reg, &before, &after) {
        let _ = report.findings();
    }
});
