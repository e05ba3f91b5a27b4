//! `flowtel live --save DIR`: every accepted request kept as it arrived, in files every
//! flowtel command reads.
//!
//! Per signal, protobuf requests (OTLP/HTTP protobuf, inflated if they came gzipped, and
//! OTLP/gRPC messages) are appended to `DIR/<signal>.binpb`, each preceded by its length as a
//! 4-byte big-endian number (a framing `flowtel_otlp` detects), and OTLP/HTTP JSON requests to
//! `DIR/<signal>.jsonl`, one request a line. A request is written with one `write` call once
//! it has decoded, before it is answered, so when a sender has its answer its data is on file.
//! The files of an earlier run in `DIR` are removed when the receiver starts.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use flowtel_otlp::Signal;

const SIGNALS: [Signal; 3] = [Signal::Traces, Signal::Metrics, Signal::Logs];

/// The open files of a `--save` folder.
pub(crate) struct Saver {
    dir: PathBuf,
    /// Per signal (traces, metrics, logs), the protobuf file and the JSON-lines file, opened
    /// on first use.
    files: Mutex<[[Option<File>; 2]; 3]>,
    /// Requests that could not be written, and the first error.
    failed: Mutex<(u64, Option<String>)>,
}

impl Saver {
    /// Creates `dir` if needed and removes the files an earlier run saved there.
    pub fn create(dir: &Path) -> std::io::Result<Saver> {
        std::fs::create_dir_all(dir).map_err(|e| {
            std::io::Error::new(e.kind(), format!("cannot create `{}`: {e}", dir.display()))
        })?;
        for signal in SIGNALS {
            for ext in ["binpb", "jsonl"] {
                let path = dir.join(format!("{signal}.{ext}"));
                match std::fs::remove_file(&path) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                        return Err(std::io::Error::new(
                            e.kind(),
                            format!("cannot replace `{}`: {e}", path.display()),
                        ));
                    }
                    _ => {}
                }
            }
        }
        Ok(Saver {
            dir: dir.to_owned(),
            files: Mutex::new(Default::default()),
            failed: Mutex::new((0, None)),
        })
    }

    /// Saves an OTLP/HTTP request body that decoded: protobuf (inflated first when gzipped,
    /// at most `limit` bytes, as the decoder allowed) or JSON.
    pub fn http_body(&self, signal: Signal, json: bool, body: &[u8], limit: usize) {
        let record = if json {
            // Raw line breaks only occur between JSON tokens (inside strings they are escaped):
            // as spaces they keep the document the same and on one line.
            let mut line: Vec<u8> = body
                .iter()
                .map(|b| if matches!(b, b'\n' | b'\r') { b' ' } else { *b })
                .collect();
            line.push(b'\n');
            Ok(line)
        } else if body.starts_with(&[0x1f, 0x8b]) {
            let mut out = Vec::new();
            flate2::read::MultiGzDecoder::new(body)
                .take(limit as u64)
                .read_to_end(&mut out)
                .map(|_| framed(&out))
        } else {
            Ok(framed(body))
        };
        match record {
            Ok(r) => self.append(signal, json, &r),
            Err(e) => self.fail(&format!("cannot inflate a {signal} request: {e}")),
        }
    }

    /// Requests that could not be saved, and why the first could not.
    pub fn failures(&self) -> (u64, Option<String>) {
        self.failed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Appends a record (a framed protobuf message, or a JSON line) to the signal's file.
    pub fn append(&self, signal: Signal, json: bool, record: &[u8]) {
        let mut files = self
            .files
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let i = SIGNALS.iter().position(|s| *s == signal).unwrap_or(0);
        let slot = &mut files[i][usize::from(json)];
        let path = self
            .dir
            .join(format!("{signal}.{}", if json { "jsonl" } else { "binpb" }));
        if slot.is_none() {
            match File::options().create(true).append(true).open(&path) {
                Ok(f) => *slot = Some(f),
                Err(e) => return self.fail(&format!("cannot open `{}`: {e}", path.display())),
            }
        }
        if let Some(f) = slot
            && let Err(e) = f.write_all(record)
        {
            self.fail(&format!("cannot write `{}`: {e}", path.display()));
        }
    }

    fn fail(&self, message: &str) {
        let mut failed = self
            .failed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        failed.0 += 1;
        failed.1.get_or_insert_with(|| message.to_owned());
    }
}

/// An OTLP/gRPC message as [`Saver::append`] takes it: encoded and framed.
pub(crate) fn encode(message: &flowtel_otlp::Message) -> Vec<u8> {
    use prost::Message as _;
    framed(&match message {
        flowtel_otlp::Message::Traces(m) => m.encode_to_vec(),
        flowtel_otlp::Message::Metrics(m) => m.encode_to_vec(),
        flowtel_otlp::Message::Logs(m) => m.encode_to_vec(),
    })
}

/// `bytes` preceded by their length, 4 bytes big-endian.
fn framed(bytes: &[u8]) -> Vec<u8> {
    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    let mut out = Vec::with_capacity(bytes.len() + 4);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_framed_and_json_kept_on_one_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("logs.jsonl"), "from an earlier run\n").unwrap();
        let saver = Saver::create(dir.path()).unwrap();
        assert!(!dir.path().join("logs.jsonl").exists());
        saver.http_body(Signal::Traces, false, b"\x0a\x00", 100);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"\x0a\x01\x00").unwrap();
        saver.http_body(Signal::Traces, false, &gz.finish().unwrap(), 100);
        saver.http_body(
            Signal::Metrics,
            true,
            b"{\n  \"resourceMetrics\": []\r\n}",
            100,
        );
        assert_eq!(
            std::fs::read(dir.path().join("traces.binpb")).unwrap(),
            b"\0\0\0\x02\x0a\x00\0\0\0\x03\x0a\x01\x00"
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("metrics.jsonl")).unwrap(),
            "{   \"resourceMetrics\": []  }\n"
        );
        assert_eq!(saver.failures(), (0, None));
    }
}
