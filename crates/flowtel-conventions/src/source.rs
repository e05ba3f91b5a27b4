//! Source files of a registry and positions within them.
//!
//! The model types carry no positions. Each loaded file keeps its text and its YAML node tree
//! (with line and column of every node, from `marked-yaml`); a finding asks for the node at a
//! path such as `["flows", "checkout", "steps", "payment.authorize"]` and gets a [`Location`].
//! The same map gives the report renderer the text of a line for rustc-style snippets.

use std::path::{Path, PathBuf};

use marked_yaml::{Marker, Node, Span};

use crate::finding::Location;

/// Index of a file in a [`SourceMap`].
pub type FileId = usize;

/// One step of a path into a YAML document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seg<'a> {
    /// Into the value of a mapping key.
    Key(&'a str),
    /// To the key itself (the last step of a path that points at a name).
    Name(&'a str),
    /// Into an element of a sequence.
    Index(usize),
}

/// A loaded source file.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The path used to read it.
    pub path: PathBuf,
    /// The path as shown in findings (relative to the working directory when possible).
    pub display: String,
    /// The file's text.
    pub text: String,
    /// The parsed YAML, when it parsed.
    pub root: Option<Node>,
}

/// Every file read while loading a registry.
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

impl SourceMap {
    /// Adds a file and returns its id.
    pub fn add(&mut self, path: PathBuf, text: String) -> FileId {
        let display = display_path(&path);
        self.files.push(SourceFile {
            path,
            display,
            text,
            root: None,
        });
        self.files.len() - 1
    }

    /// The file with this id.
    pub fn file(&self, id: FileId) -> &SourceFile {
        &self.files[id]
    }

    pub(crate) fn file_mut(&mut self, id: FileId) -> &mut SourceFile {
        &mut self.files[id]
    }

    /// All files, in the order they were read.
    pub fn files(&self) -> &[SourceFile] {
        &self.files
    }

    /// The location of a marker in a file.
    pub fn marker_location(&self, file: FileId, marker: &Marker) -> Location {
        Location::new(
            self.files[file].display.clone(),
            marker.line() as u32,
            marker.column() as u32,
        )
    }

    /// The location of a span in a file (start, and end when the parser recorded one).
    pub fn span_location(&self, file: FileId, span: &Span) -> Option<Location> {
        let start = span.start()?;
        let mut loc = self.marker_location(file, start);
        if let Some(end) = span.end() {
            loc = loc.with_end(end.line() as u32, end.column() as u32);
        }
        Some(loc)
    }

    /// The location of the node at `path`, or of the deepest node on the way that exists.
    pub fn locate(&self, file: FileId, path: &[Seg<'_>]) -> Option<Location> {
        let f = self.files.get(file)?;
        let Some(root) = &f.root else {
            return Some(Location::new(f.display.clone(), 1, 1));
        };
        let mut node = root;
        for seg in path {
            let next = match (seg, node) {
                (Seg::Key(k), Node::Mapping(m)) => m.get_node(k),
                (Seg::Name(k), Node::Mapping(m)) => {
                    return m
                        .get_key_value(*k)
                        .and_then(|(key, _)| self.span_location(file, key.span()))
                        .or_else(|| self.span_location(file, node.span()));
                }
                (Seg::Index(i), Node::Sequence(s)) => s.get(*i),
                _ => None,
            };
            match next {
                Some(n) => node = n,
                None => break,
            }
        }
        self.span_location(file, node.span())
            .or_else(|| Some(Location::new(f.display.clone(), 1, 1)))
    }

    /// The text of a 1-based line of the file shown as `display`.
    pub fn line(&self, display: &str, line: u32) -> Option<&str> {
        let f = self.files.iter().find(|f| f.display == display)?;
        f.text.lines().nth(line.checked_sub(1)? as usize)
    }
}

/// A path as users should see it: relative to the working directory when it is below it.
pub fn display_path(path: &Path) -> String {
    if let Ok(cwd) = std::env::current_dir()
        && let Ok(rel) = path.strip_prefix(&cwd)
    {
        return rel.display().to_string();
    }
    path.display().to_string()
}
