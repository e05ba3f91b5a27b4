//! The text of input files under located results: what renderers show as a snippet with a
//! caret. A command picks the source (the registry's files, files on disk, both, or none).

use std::cell::RefCell;
use std::collections::HashMap;

use crate::source::SourceMap;

/// Gives the renderer the text of a line of an input file.
pub trait SourceText {
    /// The 1-based `line` of `file` (as named in findings), when available.
    fn line(&self, file: &str, line: u32) -> Option<String>;
}

impl SourceText for SourceMap {
    fn line(&self, file: &str, line: u32) -> Option<String> {
        SourceMap::line(self, file, line).map(str::to_string)
    }
}

/// No source text: findings render without snippets.
pub struct NoSource;

impl SourceText for NoSource {
    fn line(&self, _: &str, _: u32) -> Option<String> {
        None
    }
}

/// Reads lines from files on disk, caching each file; files over 8 MiB are not read.
#[derive(Default)]
pub struct DiskSource {
    cache: RefCell<HashMap<String, Option<Vec<String>>>>,
}

impl SourceText for DiskSource {
    fn line(&self, file: &str, line: u32) -> Option<String> {
        let mut cache = self.cache.borrow_mut();
        let lines = cache.entry(file.to_string()).or_insert_with(|| {
            let meta = std::fs::metadata(file).ok()?;
            if meta.len() > 8 * 1024 * 1024 {
                return None;
            }
            let text = std::fs::read_to_string(file).ok()?;
            Some(text.lines().map(str::to_string).collect())
        });
        lines.as_ref()?.get(line.checked_sub(1)? as usize).cloned()
    }
}

/// Chains two sources: the first that has the line wins.
pub struct Either<'a>(pub &'a dyn SourceText, pub &'a dyn SourceText);

impl SourceText for Either<'_> {
    fn line(&self, file: &str, line: u32) -> Option<String> {
        self.0.line(file, line).or_else(|| self.1.line(file, line))
    }
}
