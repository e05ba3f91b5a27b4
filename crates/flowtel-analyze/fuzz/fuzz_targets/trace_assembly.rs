//! Any bytes, read as telemetry in whatever format they look like, assembled into traces
//! against the bundled conventions, then through every analysis over the assembled set
//! (completeness, service map, critical path, latency): findings, never a panic.
#![no_main]

use std::sync::OnceLock;

use flowtel_analyze::completeness::Completeness;
use flowtel_analyze::latency::LatencyReport;
use flowtel_analyze::map::ServiceMap;
use flowtel_analyze::{AssemblyOptions, TraceSetBuilder};
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

fuzz_target!(|data: &[u8]| {
    let reg = registry();
    // A small span cap so that the per-trace limit is exercised too.
    let mut builder = TraceSetBuilder::new(reg, AssemblyOptions { max_trace_spans: 16 });
    let Ok(mut reader) = flowtel_otlp::from_reader("fuzz", std::io::Cursor::new(data.to_vec()))
    else {
        return;
    };
    // As `read_inputs` does: JSON lines through the lean span views, the rest as batches.
    let mut n = 0;
    while let Some(item) = reader.next_raw() {
        n += 1;
        if n > 64 {
            break;
        }
        let res = match item {
            Ok(Raw::Json(req)) => {
                let at = InputPosition {
                    input: 0,
                    name: "fuzz",
                    bytes: req.offset,
                };
                builder.json_request(at, &req)
            }
            Ok(Raw::Batch(b)) => {
                builder.add_batch(&b);
                Ok(())
            }
            Err(e) => Err(e),
        };
        if let Err(e) = res {
            builder.add_error(&e);
        }
    }
    let set = builder.finish();
    let _ = Completeness::of(&set).findings(0.5);
    for flow in [None, Some("checkout")] {
        let _ = ServiceMap::build(&set, flow).findings();
    }
    for path in flowtel_analyze::critical::paths(&set) {
        let _ = path.report(&set);
        let _ = path.time_by_step(&set);
    }
    let _ = LatencyReport::of(&set, reg).findings();
});
