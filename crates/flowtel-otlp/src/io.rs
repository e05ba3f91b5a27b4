//! Bounded reading shared by every reader: a whole body up to a limit, one line up to a limit.
//! Memory stays bounded by the limit whatever the input holds.

use std::io::{BufRead, Read};

/// Reads `src` into `buf` up to `limit` bytes; `Ok(false)` if there was more (then `buf` holds
/// `limit + 1` bytes).
pub(crate) fn read_bounded<R: Read>(
    src: R,
    buf: &mut Vec<u8>,
    limit: usize,
) -> std::io::Result<bool> {
    let n = src.take(limit as u64 + 1).read_to_end(buf)?;
    Ok(n <= limit)
}

/// Outcome of reading one line.
pub(crate) enum LineRead {
    Eof,
    /// A line of this many bytes (including the newline) is in the buffer.
    Line(usize),
    /// The line was longer than the limit; this many bytes were consumed and dropped.
    TooLong(u64),
}

/// Reads one line into `buf` (cleared first), never buffering more than `limit` bytes.
pub(crate) fn read_line_bounded<R: BufRead + ?Sized>(
    src: &mut R,
    buf: &mut Vec<u8>,
    limit: usize,
) -> std::io::Result<LineRead> {
    buf.clear();
    let mut consumed: u64 = 0;
    let mut too_long = false;
    loop {
        let chunk = match src.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            break;
        }
        let (take, done) = match memchr::memchr(b'\n', chunk) {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        if !too_long {
            if buf.len() + take > limit.saturating_add(1) {
                too_long = true;
                buf.clear();
            } else {
                buf.extend_from_slice(&chunk[..take]);
            }
        }
        src.consume(take);
        consumed += take as u64;
        if done {
            break;
        }
    }
    Ok(if too_long {
        LineRead::TooLong(consumed)
    } else if consumed == 0 {
        LineRead::Eof
    } else {
        LineRead::Line(buf.len())
    })
}
