//! Errors of every reader: one typed [`Error`] that always says which file, where in it (1-based
//! line and column for text input, byte offset for binary input) and what to do about it.

use std::fmt;
use std::sync::Arc;

/// What went wrong, coarsely; the [`Error`] message carries the detail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Reading the input failed (file missing, permission, broken pipe, bad gzip stream).
    Io,
    /// The input is not well-formed JSON (including invalid UTF-8 and nesting over 128 levels).
    Syntax,
    /// The input is well-formed but is not valid OTLP (bad id, wrong type, mixed signals).
    Invalid,
    /// The protobuf input could not be decoded.
    Protobuf,
    /// The Prometheus or OpenMetrics text could not be parsed.
    Prometheus,
    /// One batch (a JSON line, a document, a protobuf message, an exposition) is over the limit.
    TooLarge,
    /// The format of the input could not be recognised.
    UnknownFormat,
    /// An HTTP scrape failed.
    Http,
}

/// A reader error, located in its input.
#[derive(Debug)]
pub struct Error {
    /// The coarse category.
    pub kind: ErrorKind,
    /// The file name as given to the reader (`-` for stdin, the URL for a scrape).
    pub file: Arc<str>,
    /// 1-based line, for text input.
    pub line: Option<u64>,
    /// 1-based column (in bytes) within [`Error::line`], for text input.
    pub column: Option<u64>,
    /// Byte offset in the (decompressed) input, for binary input and where the line is unknown.
    pub byte_offset: Option<u64>,
    /// What is wrong and what to do about it.
    pub message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A new error without a position.
    pub fn new(kind: ErrorKind, file: &Arc<str>, message: impl Into<String>) -> Self {
        Error {
            kind,
            file: Arc::clone(file),
            line: None,
            column: None,
            byte_offset: None,
            message: message.into(),
            source: None,
        }
    }

    /// Sets the 1-based line and column.
    pub fn at_line(mut self, line: u64, column: u64) -> Self {
        self.line = Some(line);
        self.column = Some(column);
        self
    }

    /// Sets the byte offset.
    pub fn at_offset(mut self, offset: u64) -> Self {
        self.byte_offset = Some(offset);
        self
    }

    pub(crate) fn with_source(
        mut self,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    pub(crate) fn io(file: &Arc<str>, err: std::io::Error, offset: u64) -> Self {
        let hint = match err.kind() {
            std::io::ErrorKind::NotFound => "check the path",
            std::io::ErrorKind::PermissionDenied => "check the file's permissions",
            std::io::ErrorKind::InvalidInput | std::io::ErrorKind::InvalidData => {
                "the compressed stream is corrupt or truncated: re-export the file"
            }
            _ => "check that the input is readable",
        };
        let message = format!("cannot read: {err}; {hint}");
        Error::new(ErrorKind::Io, file, message)
            .at_offset(offset)
            .with_source(err)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        match (self.line, self.column, self.byte_offset) {
            (Some(l), Some(c), _) => write!(f, ":{l}:{c}")?,
            (Some(l), None, _) => write!(f, ":{l}")?,
            (None, _, Some(o)) => write!(f, ": at byte {o}")?,
            _ => {}
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_has_position() {
        let f: Arc<str> = Arc::from("a.jsonl");
        let e = Error::new(ErrorKind::Syntax, &f, "bad").at_line(3, 7);
        assert_eq!(e.to_string(), "a.jsonl:3:7: bad");
        let e = Error::new(ErrorKind::Protobuf, &f, "bad").at_offset(12);
        assert_eq!(e.to_string(), "a.jsonl: at byte 12: bad");
    }
}
