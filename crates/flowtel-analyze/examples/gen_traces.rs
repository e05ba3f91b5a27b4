//! Writes generated traces (10 services, depth 6, retries and asynchronous branches; see
//! `flowtel_analyze::synth`) as an OTLP JSON-lines file, for the end-to-end benchmarks in
//! BENCHMARKS.md:
//!
//! ```sh
//! cargo run --release -p flowtel-analyze --example gen_traces -- 1000000 target/traces-1m.jsonl
//! ```

use std::io::{BufWriter, Write};

use flowtel_analyze::synth::{Shape, write_json_lines};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(spans), Some(path)) = (
        args.first().and_then(|n| n.parse::<u32>().ok()),
        args.get(1),
    ) else {
        eprintln!("usage: gen_traces SPANS FILE");
        std::process::exit(2);
    };
    let shape = Shape::default();
    let written = std::fs::File::create(path).and_then(|f| {
        let mut out = BufWriter::new(f);
        let n = write_json_lines(spans / shape.spans_per_trace, shape, 7, &mut out)?;
        out.flush()?;
        Ok(n)
    });
    match written {
        Ok(n) => eprintln!("{n} spans written to {path}"),
        Err(e) => {
            eprintln!("error: cannot write {path}: {e}");
            std::process::exit(2);
        }
    }
}
