//! The input loop every command that reads telemetry shares: a list of inputs (file paths, `-`
//! for stdin, `http://` URLs to scrape) read one after the other, each batch handed to an
//! [`InputSink`], and reader errors handed to it too (at most [`MAX_ERRORS_PER_INPUT`] per input,
//! since JSON lines go on after a bad line). Memory stays bounded by the largest batch: a batch
//! is dropped as soon as the sink returns.
//!
//! The linter feeds its rules from here, the flow analysis its trace assembly; neither depends
//! on the other.
//!
//! ```no_run
//! use flowtel_otlp::{Batch, Error, InputSink, ReadOptions, read_inputs};
//!
//! #[derive(Default)]
//! struct CountSpans { spans: usize, errors: Vec<String> }
//!
//! impl InputSink for CountSpans {
//!     fn batch(&mut self, _at: flowtel_otlp::InputPosition<'_>, batch: &Batch) {
//!         self.spans += batch.spans().count();
//!     }
//!     fn error(&mut self, err: &Error) {
//!         self.errors.push(err.to_string());
//!     }
//! }
//!
//! let mut sink = CountSpans::default();
//! read_inputs(&["traces.jsonl".to_string(), "-".to_string()], &ReadOptions::default(), &mut sink);
//! println!("{} spans, {} errors", sink.spans, sink.errors.len());
//! ```

use crate::error::{Error, Result};
use crate::json::JsonRequest;
use crate::model::Batch;
use crate::reader::{Raw, ReadOptions};

/// At most this many reader errors are passed on per input (JSON lines go on after a bad line).
pub const MAX_ERRORS_PER_INPUT: usize = 100;

/// Where in the run a batch came from.
#[derive(Debug, Clone, Copy)]
pub struct InputPosition<'a> {
    /// Index of the input in the list.
    pub input: usize,
    /// The input as named in the list.
    pub name: &'a str,
    /// Bytes of it read so far (decompressed), as far as known.
    pub bytes: u64,
}

/// Receives what [`read_inputs`] reads.
pub trait InputSink {
    /// One batch, in input order.
    fn batch(&mut self, at: InputPosition<'_>, batch: &Batch);
    /// An input that could not be opened, or a reader error within one.
    fn error(&mut self, err: &Error);
    /// One line of OTLP JSON lines, undecoded. The default decodes it into a batch for
    /// [`InputSink::batch`]; a sink that needs only part of each span overrides it with
    /// [`JsonRequest::decode_spans`]. An error returned is passed to [`InputSink::error`]
    /// (within the per-input cap), so the sink should leave no trace of the failed request.
    fn json_request(&mut self, at: InputPosition<'_>, request: &JsonRequest<'_>) -> Result<()> {
        let batch = request.decode()?;
        self.batch(at, &batch);
        Ok(())
    }
}

/// Reads every input in order into `sink`: an input that cannot be opened is one error and the
/// loop goes on with the next; within an input, the first [`MAX_ERRORS_PER_INPUT`] reader errors
/// are passed on and the rest counted out.
pub fn read_inputs(inputs: &[String], options: &ReadOptions, sink: &mut dyn InputSink) {
    for (i, input) in inputs.iter().enumerate() {
        let reader = match options.open(input) {
            Ok(r) => r,
            Err(e) => {
                sink.error(&e);
                continue;
            }
        };
        let mut reader = reader;
        let mut errors = 0;
        while let Some(item) = reader.next_raw() {
            let res = match item {
                Ok(Raw::Batch(b)) => {
                    sink.batch(
                        InputPosition {
                            input: i,
                            name: input,
                            bytes: b.origin.byte_offset,
                        },
                        &b,
                    );
                    Ok(())
                }
                Ok(Raw::Json(req)) => sink.json_request(
                    InputPosition {
                        input: i,
                        name: input,
                        bytes: req.offset,
                    },
                    &req,
                ),
                Err(e) => Err(e),
            };
            if let Err(e) = res {
                errors += 1;
                if errors <= MAX_ERRORS_PER_INPUT {
                    sink.error(&e);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[derive(Default)]
    struct Seen {
        batches: Vec<(usize, String)>,
        errors: Vec<String>,
    }

    impl InputSink for Seen {
        fn batch(&mut self, at: InputPosition<'_>, batch: &Batch) {
            assert_eq!(&*batch.origin.file, at.name);
            self.batches.push((at.input, at.name.to_string()));
        }
        fn error(&mut self, err: &Error) {
            self.errors.push(err.file.to_string());
        }
    }

    #[test]
    fn reads_every_input_and_goes_on_after_a_missing_one() {
        let dir = tempfile::tempdir().unwrap();
        let prom = dir.path().join("m.prom");
        std::fs::write(&prom, "# TYPE up gauge\nup 1\n").unwrap();
        let missing = dir.path().join("missing.jsonl");
        let inputs = [missing.display().to_string(), prom.display().to_string()];
        let mut seen = Seen::default();
        read_inputs(&inputs, &ReadOptions::default(), &mut seen);
        assert_eq!(seen.errors, [inputs[0].clone()]);
        assert_eq!(seen.batches, [(1, inputs[1].clone())]);
    }

    #[test]
    fn caps_errors_per_input() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.jsonl");
        let mut f = std::fs::File::create(&bad).unwrap();
        for _ in 0..(MAX_ERRORS_PER_INPUT + 20) {
            writeln!(f, "{{\"resourceSpans\": 3}}").unwrap();
        }
        drop(f);
        let mut seen = Seen::default();
        read_inputs(
            &[bad.display().to_string()],
            &ReadOptions::default(),
            &mut seen,
        );
        assert_eq!(seen.errors.len(), MAX_ERRORS_PER_INPUT);
    }
}
