//! Loading a registry: read files, follow `imports`, decode, and merge the layers.
//!
//! Loading never stops at the first problem: every file is read, every unknown key reported,
//! and what could be decoded is merged, so `flowtel check` shows all findings in one run. Only
//! validation of the merged content is left to [`crate::validate`].

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::finding::{Finding, Location};
use crate::model::Import;
use crate::rules::registry as rules;
use crate::semconv::{self, Imported, Selection};
use crate::source::{FileId, Seg, SourceMap};

mod decode;
mod merge;

use merge::Merger;

pub use crate::model::registry_schema;
pub use crate::registry::{FlowSampling, Layer, Origins, Registry};

/// Largest conventions file read, so a mistaken path to a huge file fails fast.
pub const MAX_FILE_BYTES: u64 = 32 * 1024 * 1024;

/// What loading produced: the registry (when anything could be read) and the findings so far.
#[derive(Debug)]
pub struct Loaded {
    /// The merged registry. Present unless nothing could be read at all.
    pub registry: Option<Registry>,
    /// Findings from reading, decoding and merging.
    pub findings: Vec<Finding>,
}

/// Loads a registry from a file or a folder (every `*.yaml`/`*.yml` in it) and merges its layers.
pub fn load(path: &Path) -> Loaded {
    let mut loader = Loader::default();
    if path.is_dir() && semconv::is_registry_dir(path) {
        loader.import_semconv(path, None, None);
        return loader.finish(path);
    }
    let entries = if path.is_dir() {
        match yaml_files_in(path) {
            Ok(files) if !files.is_empty() => files,
            Ok(_) => {
                loader.findings.push(
                    Finding::new(
                        &rules::UNREADABLE_INPUT,
                        format!(
                            "no conventions files (*.yaml, *.yml) in `{}`",
                            path.display()
                        ),
                    )
                    .help("point at a conventions file or a folder that holds them"),
                );
                return loader.finish(path);
            }
            Err(e) => {
                loader.unreadable(path, &e, None);
                return loader.finish(path);
            }
        }
    } else {
        vec![path.to_path_buf()]
    };
    for entry in &entries {
        loader.visit(entry, None);
    }
    loader.finish(path)
}

/// Loads a registry from files embedded in a binary (`flowtel::conventions!()`): `files` holds
/// every file's path and text, `root` names the entry file (or a folder, whose `*.yaml`/`*.yml`
/// files are all entries, as on disk). Imports resolve against `files` only, exactly as [`load`]
/// resolves them on disk (relative, absolute, folders, semantic-conventions layers); nothing is
/// read from disk.
pub fn load_embedded(root: &str, files: &[(&str, &str)]) -> Loaded {
    let mut loader = Loader {
        embedded: Some(
            files
                .iter()
                .map(|(p, t)| (normalize(Path::new(p)), t.to_string()))
                .collect(),
        ),
        ..Loader::default()
    };
    let root = normalize(Path::new(root));
    let entries: Vec<PathBuf> = if loader.is_file(&root) {
        vec![root.clone()]
    } else {
        loader.yaml_files_in(&root).unwrap_or_default()
    };
    for e in &entries {
        loader.visit(e, None);
    }
    loader.finish(&root)
}

/// Removes `.` and `..` from a path without touching the file system: how the loader names
/// files, so that the macros embed the conventions under the names it will look up.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Loads a registry from in-memory text, as if read from `path` (imports are still read from
/// disk relative to it). Used by tests and fuzzing.
pub fn load_str(path: &Path, text: &str) -> Loaded {
    let mut loader = Loader::default();
    loader.visit_text(path.to_path_buf(), text.to_string(), None);
    loader.finish(path)
}

fn yaml_files_in(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && is_yaml(p))
        .collect();
    files.sort();
    Ok(files)
}

fn is_yaml(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml")
    )
}

/// Where an import was written: the importing file and the entry's index.
#[derive(Debug, Clone, Copy)]
struct ImportSite {
    file: FileId,
    index: usize,
}

#[derive(Default)]
struct Loader {
    /// Files embedded in a binary; when set, the disk is never read.
    embedded: Option<HashMap<PathBuf, String>>,
    sources: SourceMap,
    findings: Vec<Finding>,
    /// Canonical path to file id, for every file read.
    seen: HashMap<PathBuf, FileId>,
    /// Files on the current import path, for cycle detection.
    stack: Vec<(PathBuf, FileId, Option<ImportSite>)>,
    /// Decoded files in the order to apply them (imports before importers).
    ordered: Vec<Layer>,
    /// Files imported by another file (so not a root of the registry).
    imported: Vec<FileId>,
    /// Semantic-conventions registries read, with what was taken from each so far.
    semconv: Vec<(PathBuf, Imported, Selection)>,
    /// Files of semantic-conventions registries.
    semconv_files: HashSet<FileId>,
}

impl Loader {
    fn site_location(&self, site: Option<ImportSite>) -> Option<Location> {
        let site = site?;
        self.sources
            .locate(site.file, &[Seg::Key("imports"), Seg::Index(site.index)])
    }

    fn unreadable(&mut self, path: &Path, err: &dyn std::fmt::Display, site: Option<ImportSite>) {
        let loc = self.site_location(site);
        let what = if site.is_some() {
            "imported file"
        } else {
            "file"
        };
        self.findings.push(
            Finding::new(
                &rules::UNREADABLE_INPUT,
                format!("cannot read {what} `{}`: {err}", path.display()),
            )
            .at(loc)
            .subject("file", path.display().to_string())
            .help("check the path; imports are relative to the importing file"),
        );
    }

    fn canonical(&self, path: &Path) -> PathBuf {
        if self.embedded.is_some() {
            return normalize(path);
        }
        path.canonicalize().unwrap_or_else(|_| path.to_path_buf())
    }

    fn read(&self, path: &Path) -> Result<String, String> {
        match &self.embedded {
            Some(files) => files
                .get(&normalize(path))
                .cloned()
                .ok_or_else(|| "it is not among the embedded conventions files".to_string()),
            None => read_text(path),
        }
    }

    /// Whether `path` is a file (on disk, or among the embedded files).
    fn is_file(&self, path: &Path) -> bool {
        match &self.embedded {
            Some(files) => files.contains_key(&normalize(path)),
            None => path.is_file(),
        }
    }

    /// Whether `path` is a folder (on disk, or a prefix of embedded files).
    fn is_dir(&self, path: &Path) -> bool {
        match &self.embedded {
            Some(files) => {
                let dir = normalize(path);
                files.keys().any(|p| p != &dir && p.starts_with(&dir))
            }
            None => path.is_dir(),
        }
    }

    /// The `*.yaml`/`*.yml` files directly in a folder, sorted (subfolders are not entered).
    fn yaml_files_in(&self, dir: &Path) -> std::io::Result<Vec<PathBuf>> {
        match &self.embedded {
            Some(files) => {
                let dir = normalize(dir);
                let mut list: Vec<PathBuf> = files
                    .keys()
                    .filter(|p| p.parent() == Some(dir.as_path()) && is_yaml(p))
                    .cloned()
                    .collect();
                list.sort();
                Ok(list)
            }
            None => yaml_files_in(dir),
        }
    }

    fn visit(&mut self, path: &Path, site: Option<ImportSite>) {
        let canonical = self.canonical(path);
        if self.check_cycle(&canonical, site) {
            return;
        }
        if let Some(&id) = self.seen.get(&canonical) {
            if site.is_some() {
                self.imported.push(id);
            }
            return;
        }
        let text = match self.read(path) {
            Ok(t) => t,
            Err(e) => {
                self.unreadable(path, &e, site);
                return;
            }
        };
        self.visit_text(path.to_path_buf(), text, site);
    }

    /// Reports a cycle when `canonical` is already on the import path.
    fn check_cycle(&mut self, canonical: &Path, site: Option<ImportSite>) -> bool {
        let Some(pos) = self.stack.iter().position(|(p, _, _)| p == canonical) else {
            return false;
        };
        let chain: Vec<String> = self.stack[pos..]
            .iter()
            .map(|(_, id, _)| self.sources.file(*id).display.clone())
            .chain(std::iter::once(
                self.sources.file(self.stack[pos].1).display.clone(),
            ))
            .collect();
        let mut finding = Finding::new(
            &rules::IMPORT_CYCLE,
            format!("import cycle: {}", chain.join(" -> ")),
        )
        .at(self.site_location(site))
        .help("remove one of the imports; layers must stack from general to specific");
        // Name the other places of the cycle, so both ends are visible.
        for (_, _, other_site) in &self.stack[pos + 1..] {
            finding = finding.related(self.site_location(*other_site), "imported here");
        }
        self.findings.push(finding);
        true
    }

    fn visit_text(&mut self, path: PathBuf, text: String, site: Option<ImportSite>) {
        let canonical = self.canonical(&path);
        let id = self.sources.add(path.clone(), text);
        self.seen.insert(canonical.clone(), id);
        if site.is_some() {
            self.imported.push(id);
        }
        let Some(content) = decode::decode(&mut self.sources, &mut self.findings, id) else {
            return;
        };
        self.stack.push((canonical, id, site));
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        for (index, import) in content.imports.iter().enumerate() {
            let site = Some(ImportSite { file: id, index });
            match import {
                Import::Path(p) => {
                    let target = base.join(p);
                    if self.is_dir(&target) {
                        match self.yaml_files_in(&target) {
                            Ok(files) => {
                                for f in files {
                                    self.visit(&f, site);
                                }
                            }
                            Err(e) => self.unreadable(&target, &e, site),
                        }
                    } else {
                        self.visit(&target, site);
                    }
                }
                Import::Semconv(sc) => {
                    let dir = base.join(&sc.semconv);
                    self.import_semconv(&dir, sc.only.as_deref(), site);
                }
            }
        }
        self.stack.pop();
        self.ordered.push(Layer { file: id, content });
    }

    /// The files of a semantic-conventions folder with their texts (from disk, or from the
    /// embedded files below it).
    fn semconv_texts(
        &mut self,
        dir: &Path,
        site: Option<ImportSite>,
    ) -> Option<Vec<(PathBuf, String)>> {
        if let Some(files) = &self.embedded {
            let dir = normalize(dir);
            let mut list: Vec<(PathBuf, String)> = files
                .iter()
                .filter(|(p, _)| p.starts_with(&dir) && is_yaml(p))
                .map(|(p, t)| (p.clone(), t.clone()))
                .collect();
            list.sort_by(|a, b| a.0.cmp(&b.0));
            if list.is_empty() {
                self.unreadable(&dir, &"no embedded files are below it", site);
                return None;
            }
            return Some(list);
        }
        if !dir.is_dir() {
            self.unreadable(dir, &"it is not a folder of semantic conventions", site);
            return None;
        }
        let paths = match semconv::files_in(dir) {
            Ok(p) => p,
            Err(e) => {
                self.unreadable(dir, &e, site);
                return None;
            }
        };
        let mut out = Vec::with_capacity(paths.len());
        for (path, text) in semconv::read_texts(&paths) {
            match text {
                Ok(t) => out.push((path, t)),
                Err(e) => self.unreadable(&path, &e, site),
            }
        }
        Some(out)
    }

    /// Reads (once) an OpenTelemetry semantic-conventions registry and adds what `only` selects
    /// as layers below the importing file.
    fn import_semconv(&mut self, dir: &Path, only: Option<&[String]>, site: Option<ImportSite>) {
        let canonical = self.canonical(dir);
        let index = match self.semconv.iter().position(|(p, _, _)| *p == canonical) {
            Some(i) => i,
            None => {
                let Some(texts) = self.semconv_texts(dir, site) else {
                    return;
                };
                let refs: Vec<(PathBuf, &str)> =
                    texts.iter().map(|(p, t)| (p.clone(), t.as_str())).collect();
                let model = semconv::read_model(&refs);
                drop(refs);
                let mut file_ids = Vec::with_capacity(texts.len());
                for (path, text) in texts {
                    let id = self.sources.add(path, text);
                    self.semconv_files.insert(id);
                    file_ids.push(id);
                }
                self.findings.extend(model.findings());
                let namespaces = model.namespaces();
                let imported = Imported {
                    dir: canonical.clone(),
                    model: Arc::new(model),
                    file_ids,
                    namespaces,
                };
                self.semconv
                    .push((canonical, imported, Selection::default()));
                self.semconv.len() - 1
            }
        };
        let (_, imported, taken) = &mut self.semconv[index];
        let mut sel = imported.model.select(only);
        sel.attributes.retain(|n| !taken.attributes.contains(n));
        sel.metrics.retain(|n| !taken.metrics.contains(n));
        sel.spans.retain(|n| !taken.spans.contains(n));
        sel.events.retain(|n| !taken.events.contains(n));
        taken.attributes.extend(sel.attributes.iter().cloned());
        taken.metrics.extend(sel.metrics.iter().cloned());
        taken.spans.extend(sel.spans.iter().cloned());
        taken.events.extend(sel.events.iter().cloned());
        let layers = imported.model.layers(&sel, &imported.file_ids);
        let file_ids = imported.file_ids.clone();
        for (i, content, tree) in layers {
            let Some(&fid) = file_ids.get(i) else {
                continue;
            };
            let file = self.sources.file_mut(fid);
            if file.root.is_none() {
                file.root = Some(tree);
            }
            self.imported.push(fid);
            self.ordered.push(Layer { file: fid, content });
        }
    }

    fn finish(mut self, path: &Path) -> Loaded {
        if self.ordered.is_empty() {
            return Loaded {
                registry: None,
                findings: self.findings,
            };
        }
        let ordered = std::mem::take(&mut self.ordered);
        let mut reg = Merger {
            sources: &self.sources,
            semconv_files: &self.semconv_files,
            findings: &mut self.findings,
        }
        .merge(&ordered, &self.imported);
        let _ = path;
        reg.semconv = self.semconv.into_iter().map(|(_, i, _)| i).collect();
        reg.layers = ordered;
        reg.sources = self.sources;
        Loaded {
            registry: Some(reg),
            findings: self.findings,
        }
    }
}

fn read_text(path: &Path) -> Result<String, String> {
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if meta.len() > MAX_FILE_BYTES {
        return Err(format!(
            "it is {} bytes; conventions files are limited to {MAX_FILE_BYTES}",
            meta.len()
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    String::from_utf8(bytes).map_err(|e| {
        format!(
            "it is not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        )
    })
}
