//! Loading a registry: read files, follow `imports`, decode, and merge the layers.
//!
//! Loading never stops at the first problem: every file is read, every unknown key reported,
//! and what could be decoded is merged, so `flowtel check` shows all findings in one run. Only
//! validation of the merged content is left to [`crate::validate`].

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use indexmap::IndexMap;
use marked_yaml::{LoadError, LoaderOptions};
use serde::Deserialize;
use serde_json::Value;

use crate::finding::{Finding, Location};
use crate::model::{
    Attribute, AttributeType, Defaults, Flow, Import, Instrument, LintConfig, Metric, Naming,
    PiiDetection, RegistryFile, SCHEMA_V1, Sampling, Span,
};
use crate::rules::registry as rules;
use crate::rules::semconv as semconv_rules;
use crate::semconv::{self, Imported, Selection};
use crate::source::{FileId, Seg, SourceMap};

/// Largest conventions file read, so a mistaken path to a huge file fails fast.
pub const MAX_FILE_BYTES: u64 = 32 * 1024 * 1024;

/// One layer of a merged registry: a file and what it declared.
#[derive(Debug, Clone)]
pub struct Layer {
    /// The file.
    pub file: FileId,
    /// The file as decoded.
    pub content: RegistryFile,
}

/// Which layer declared each name, so findings can point at the declaration.
#[derive(Debug, Clone, Default)]
pub struct Origins {
    /// Attribute name to the file that declares it (the last layer that touched it).
    pub attributes: HashMap<String, FileId>,
    /// Metric name to file.
    pub metrics: HashMap<String, FileId>,
    /// Flow name to file.
    pub flows: HashMap<String, FileId>,
    /// Span convention id to file.
    pub spans: HashMap<String, FileId>,
    /// Flow name to the file whose top-level `sampling` section sets its sampling.
    pub sampling: HashMap<String, FileId>,
}

/// A merged conventions registry: every layer applied from the most general to the most specific.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    /// Name of the top layer.
    pub name: String,
    /// Version of the top layer.
    pub version: String,
    /// Naming patterns (from the most specific layer that sets them).
    pub naming: Naming,
    /// Defaults (from the most specific layer that sets them).
    pub defaults: Defaults,
    /// Every declared attribute.
    pub attributes: IndexMap<String, Attribute>,
    /// Every declared metric.
    pub metrics: IndexMap<String, Metric>,
    /// Every declared flow.
    pub flows: IndexMap<String, Flow>,
    /// Every span convention (usually from OpenTelemetry's semantic conventions).
    pub spans: IndexMap<String, Span>,
    /// Sampling per flow name, as the layers set it (the most specific layer wins per flow);
    /// [`Registry::sampling_of`] resolves a flow's effective policy with the defaults.
    pub sampling: IndexMap<String, Sampling>,
    /// Imported OpenTelemetry semantic-conventions registries (see [`crate::semconv`]).
    pub semconv: Vec<Imported>,
    /// Lint severity overrides, merged across layers.
    pub lint: LintConfig,
    /// Personal data by shape (from the most specific layer that sets it; flowtel's defaults
    /// otherwise).
    pub pii: PiiDetection,
    /// The layers in the order they were applied (imports first).
    pub layers: Vec<Layer>,
    /// Where each name was declared.
    pub origins: Origins,
    /// Text and node trees of every file read.
    pub sources: SourceMap,
}

/// A flow's sampling with the registry defaults applied: what the head sampler and the tail
/// sampler configuration use.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowSampling {
    /// Probability of keeping a trace of the flow, in [0, 1].
    pub ratio: f64,
    /// Keep every trace with an error (tail sampling).
    pub keep_errors: bool,
    /// Keep every trace slower than this (tail sampling), when set.
    pub keep_slower_than: Option<std::time::Duration>,
}

impl Registry {
    /// The regression-check thresholds in force for `flow`: its own `regress` block, then
    /// `defaults.regress`, then the built-in values. An unknown flow gets the defaults.
    pub fn regress_thresholds(&self, flow: &str) -> crate::model::ResolvedRegress {
        let defaults = self.defaults.regress.clone().unwrap_or_default();
        match self.flows.get(flow).and_then(|f| f.regress.as_ref()) {
            Some(own) => own.or(&defaults).resolve(),
            None => defaults.resolve(),
        }
    }

    /// The effective sampling of `flow`: its `sampling` entry over `defaults.sampling`, the
    /// latency threshold from the flow's SLO when the entry names none. Unknown flows get the
    /// defaults.
    pub fn sampling_of(&self, flow: &str) -> FlowSampling {
        let own = self.sampling.get(flow);
        let slo_threshold = self
            .flows
            .get(flow)
            .and_then(|f| f.slo.as_ref())
            .and_then(|s| s.latency.as_ref())
            .and_then(|l| l.threshold.get());
        FlowSampling {
            ratio: probability(
                own.and_then(|s| s.ratio)
                    .unwrap_or(self.defaults.sampling.ratio),
            ),
            keep_errors: own.and_then(|s| s.keep_errors).unwrap_or(true),
            keep_slower_than: own
                .and_then(|s| s.keep_slower_than.as_ref())
                .and_then(|d| d.get())
                .or(slo_threshold),
        }
    }

    /// Whether `metric` is a limit gauge the registry derived from a saturation signal (no
    /// layer declares it).
    pub fn is_derived_metric(&self, metric: &str) -> bool {
        metric.strip_suffix(".limit").is_some_and(|signal| {
            self.metrics
                .get(signal)
                .is_some_and(|m| m.saturation.is_some())
                && !self
                    .layers
                    .iter()
                    .any(|l| l.content.metrics.contains_key(metric))
        })
    }

    /// The fraction of its limit at which the saturation signal `metric` counts as nearly
    /// saturated (`saturation.warn` or `defaults.saturation_warn`); `None` for a metric that is
    /// not a saturation signal.
    pub fn saturation_warn(&self, metric: &str) -> Option<f64> {
        let sat = self.metrics.get(metric)?.saturation.as_ref()?;
        Some(sat.warn.unwrap_or(self.defaults.saturation_warn))
    }
}

/// A ratio as a probability: clamped to [0, 1], and 1 (keep everything) when it is not a
/// number, so a registry that `flowtel check` rejects still never loses data at run time.
fn probability(r: f64) -> f64 {
    if r.is_nan() { 1.0 } else { r.clamp(0.0, 1.0) }
}

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

/// Removes `.` and `..` from a path without touching the file system.
fn normalize(path: &Path) -> PathBuf {
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
        let Some(content) = self.decode(id) else {
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
        taken.attributes.extend(sel.attributes.iter().cloned());
        taken.metrics.extend(sel.metrics.iter().cloned());
        taken.spans.extend(sel.spans.iter().cloned());
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

    /// Parses and decodes one file, reporting every problem; `None` when nothing usable remains.
    fn decode(&mut self, id: FileId) -> Option<RegistryFile> {
        let text = self.sources.file(id).text.clone();
        let strict = LoaderOptions::default().error_on_duplicate_keys(true);
        let mut root = match marked_yaml::parse_yaml_with_options(id, &text, strict) {
            Ok(node) => node,
            Err(LoadError::DuplicateKey(dup)) => {
                let first = self.sources.span_location(id, dup.prev_key.span());
                self.findings.push(
                    Finding::new(
                        &rules::DUPLICATE_KEY,
                        format!(
                            "key `{}` appears twice in the same mapping",
                            dup.key.as_str()
                        ),
                    )
                    .at(self.sources.span_location(id, dup.key.span()))
                    .subject("key", dup.key.as_str())
                    .related(first, "first written here")
                    .help("keep one of the two; rename the other if both are meant"),
                );
                // Read on with the last value winning, so the rest of the file is still checked.
                match marked_yaml::parse_yaml(id, &text) {
                    Ok(node) => node,
                    Err(e) => return self.load_error(id, e),
                }
            }
            Err(e) => return self.load_error(id, e),
        };
        crate::keys::check(
            &mut root,
            crate::keys::registry_shape(),
            id,
            &self.sources,
            &mut self.findings,
        );
        self.sources.file_mut(id).root = Some(root);
        let root = self.sources.file(id).root.as_ref()?;
        // Decoding without path tracking is about twice as fast; a file that fails is decoded
        // again with it, to say where.
        match RegistryFile::deserialize(marked_yaml::spanned_serde::NodeDeserializer::new(root)) {
            Ok(content) => {
                if content.schema != SCHEMA_V1 {
                    self.findings.push(
                        Finding::new(
                            &rules::UNSUPPORTED_SCHEMA,
                            format!("schema `{}` is not `{SCHEMA_V1}`", content.schema),
                        )
                        .at(self.sources.locate(id, &[Seg::Key("schema")]))
                        .help(format!("write `schema: {SCHEMA_V1}`")),
                    );
                    return None;
                }
                Some(content)
            }
            Err(_) => {
                let finding = decode_error(&self.sources, id, root);
                self.findings.push(finding);
                None
            }
        }
    }

    fn load_error(&mut self, id: FileId, err: LoadError) -> Option<RegistryFile> {
        let (marker, message) = match &err {
            LoadError::ScanError(m, e) => (*m, e.info().to_string()),
            LoadError::TopLevelMustBeMapping(m) => (
                *m,
                "the top level must be a mapping (`schema: flowtel/v1`, `name: ...`)".into(),
            ),
            LoadError::TopLevelMustBeSequence(m) => (*m, "unexpected top-level sequence".into()),
            LoadError::UnexpectedAnchor(m) => (
                *m,
                "anchors and aliases (`&x`, `*x`) are not supported in conventions files".into(),
            ),
            LoadError::MappingKeyMustBeScalar(m) => {
                (*m, "mapping keys must be plain scalars".into())
            }
            LoadError::UnexpectedTag(m) => (*m, "YAML tags (`!x`) are not supported".into()),
            LoadError::DuplicateKey(d) => (
                d.key
                    .span()
                    .start()
                    .copied()
                    .unwrap_or_else(|| marked_yaml::Marker::new(id, 0, 1, 1)),
                format!("key `{}` appears twice", d.key.as_str()),
            ),
        };
        let text = &self.sources.file(id).text;
        let help = if text.trim().is_empty() {
            "the file is empty; a conventions file starts with `schema: flowtel/v1`".to_string()
        } else {
            "fix the YAML syntax at this position".to_string()
        };
        self.findings.push(
            Finding::new(&rules::MALFORMED_YAML, message)
                .at(self.sources.marker_location(id, &marker))
                .help(help),
        );
        None
    }

    fn finish(mut self, path: &Path) -> Loaded {
        if self.ordered.is_empty() {
            return Loaded {
                registry: None,
                findings: self.findings,
            };
        }
        let mut reg = Registry::default();
        let mut attr_layer: HashMap<String, FileId> = HashMap::new();
        let mut metric_layer: HashMap<String, FileId> = HashMap::new();
        let mut flow_layer: HashMap<String, FileId> = HashMap::new();
        let mut span_layer: HashMap<String, FileId> = HashMap::new();
        let mut sampling_layer: HashMap<String, FileId> = HashMap::new();
        let ordered = std::mem::take(&mut self.ordered);
        for layer in &ordered {
            let c = &layer.content;
            let f = layer.file;
            if let Some(n) = &c.naming {
                reg.naming = n.clone();
            }
            if let Some(d) = &c.defaults {
                reg.defaults = d.clone();
            }
            if let Some(p) = &c.pii {
                reg.pii = p.clone();
            }
            if let Some(l) = &c.lint {
                for (k, v) in &l.rules {
                    reg.lint.rules.insert(k.clone(), *v);
                }
                if let Some(a) = &l.alerts {
                    reg.lint.alerts = Some(a.clone());
                }
            }
            for (name, attr) in &c.attributes {
                if let Some(&prev) = attr_layer.get(name) {
                    let old = &reg.attributes[name];
                    // Over an OpenTelemetry definition a layer may narrow, as long as the wire
                    // type stays (a flowtel `string` may narrow an OpenTelemetry enum).
                    let over_semconv = self.over_semconv(prev, f);
                    let differs = if over_semconv {
                        wire_type(old) != wire_type(attr)
                    } else {
                        old.ty != attr.ty
                    };
                    if differs {
                        let defs = (
                            format!("type `{}`", attr.ty.as_str()),
                            format!("`{}`", old.ty.as_str()),
                        );
                        self.conflict(
                            over_semconv,
                            ("attribute", name),
                            defs,
                            (f, "attributes"),
                            prev,
                        );
                        continue;
                    }
                    if over_semconv {
                        reg.attributes
                            .insert(name.clone(), narrow_attribute(old, attr));
                        attr_layer.insert(name.clone(), f);
                        continue;
                    }
                }
                reg.attributes.insert(name.clone(), attr.clone());
                attr_layer.insert(name.clone(), f);
            }
            for (name, metric) in &c.metrics {
                if let Some(&prev) = metric_layer.get(name) {
                    let old = &reg.metrics[name];
                    let over_semconv = self.over_semconv(prev, f);
                    if old.instrument != metric.instrument || old.unit != metric.unit {
                        let defs = (
                            format!("`{} {}`", metric.instrument.as_str(), metric.unit),
                            format!("`{} {}`", old.instrument.as_str(), old.unit),
                        );
                        self.conflict(over_semconv, ("metric", name), defs, (f, "metrics"), prev);
                        continue;
                    }
                    if over_semconv {
                        reg.metrics.insert(name.clone(), narrow_metric(old, metric));
                        metric_layer.insert(name.clone(), f);
                        continue;
                    }
                }
                reg.metrics.insert(name.clone(), metric.clone());
                metric_layer.insert(name.clone(), f);
            }
            for (name, flow) in &c.flows {
                if let Some(&prev) = flow_layer.get(name) {
                    self.conflict(
                        false,
                        ("flow", name),
                        (
                            "defined".into(),
                            "already defined (a flow belongs to one layer)".into(),
                        ),
                        (f, "flows"),
                        prev,
                    );
                    continue;
                }
                reg.flows.insert(name.clone(), flow.clone());
                flow_layer.insert(name.clone(), f);
            }
            for (id, span) in &c.spans {
                reg.spans.insert(id.clone(), span.clone());
                span_layer.insert(id.clone(), f);
            }
            for (flow, sampling) in &c.sampling {
                reg.sampling.insert(flow.clone(), sampling.clone());
                sampling_layer.insert(flow.clone(), f);
            }
        }
        declare_limit_metrics(&mut reg, &mut metric_layer);
        // The top layer names the registry: the first file that nothing imports.
        let top = ordered
            .iter()
            .rev()
            .find(|l| !self.imported.contains(&l.file))
            .or(ordered.last())
            .map(|l| &l.content);
        if let Some(top) = top {
            reg.name = top.name.clone();
            reg.version = top.version.clone();
        }
        let _ = path;
        reg.origins = Origins {
            attributes: attr_layer,
            metrics: metric_layer,
            flows: flow_layer,
            spans: span_layer,
            sampling: sampling_layer,
        };
        reg.semconv = self.semconv.into_iter().map(|(_, i, _)| i).collect();
        reg.layers = ordered;
        reg.sources = self.sources;
        Loaded {
            registry: Some(reg),
            findings: self.findings,
        }
    }

    /// Whether a definition in file `f` lies over OpenTelemetry's own (in file `prev`).
    fn over_semconv(&self, prev: FileId, f: FileId) -> bool {
        self.semconv_files.contains(&prev) && !self.semconv_files.contains(&f)
    }

    /// Reports a name redefined differently by a later layer, naming both places. `by_semconv`
    /// says the first definition is OpenTelemetry's, which has its own rule and advice.
    fn conflict(
        &mut self,
        by_semconv: bool,
        (kind, name): (&str, &str),
        (here_def, there_def): (String, String),
        (file, section): (FileId, &str),
        prev: FileId,
    ) {
        let place = if by_semconv {
            "in OpenTelemetry's semantic conventions"
        } else {
            "there"
        };
        let detail = format!("{here_def} here, {there_def} {place}");
        let here = self
            .sources
            .locate(file, &[Seg::Key(section), Seg::Name(name)]);
        let there = self
            .sources
            .locate(prev, &[Seg::Key(section), Seg::Name(name)]);
        let finding = if by_semconv {
            Finding::new(
                &semconv_rules::SEMCONV_REDEFINED,
                format!("{kind} `{name}` redefines OpenTelemetry's definition: {detail}"),
            )
            .related(there, "defined here by OpenTelemetry's semantic conventions")
            .help(format!(
                "keep OpenTelemetry's type and unit for `{name}` (a layer may narrow it: `max_values`, `pii`, `brief`), or use a name under your own prefix"
            ))
        } else {
            Finding::new(
                &rules::IMPORT_CONFLICT,
                format!("{kind} `{name}` is redefined differently: {detail}"),
            )
            .related(there, "first defined here")
            .help(format!(
                "use the imported definition of `{name}` (a layer may only narrow it), or choose another name"
            ))
        };
        self.findings.push(finding.at(here).subject(kind, name));
    }
}

/// Declares `<name>.limit` (a gauge in the signal's unit, labelled by `per`) for every metric
/// with `saturation`, unless a layer declares it itself (validation checks that declaration).
fn declare_limit_metrics(reg: &mut Registry, origins: &mut HashMap<String, FileId>) {
    let derived: Vec<(String, Metric, Option<FileId>)> = reg
        .metrics
        .iter()
        .filter_map(|(name, m)| {
            let sat = m.saturation.as_ref()?;
            let limit_name = Metric::limit_metric_name(name);
            if reg.metrics.contains_key(&limit_name) {
                return None;
            }
            let metric = Metric {
                instrument: Instrument::Gauge,
                unit: m.unit.clone(),
                labels: sat
                    .per
                    .iter()
                    .filter(|l| m.labels.contains(l))
                    .cloned()
                    .collect(),
                cardinality_limit: None,
                buckets: None,
                brief: Some(format!("Declared limit of the saturation signal `{name}`.")),
                deprecated: None,
                required_labels: Vec::new(),
                stability: None,
                saturation: None,
            };
            Some((limit_name, metric, origins.get(name).copied()))
        })
        .collect();
    for (name, metric, origin) in derived {
        if let Some(f) = origin {
            origins.insert(name.clone(), f);
        }
        reg.metrics.insert(name, metric);
    }
}

/// The type an attribute has on the wire: enums are strings (or integers when every value is
/// one), so a flowtel `string` narrows a semantic-conventions enum.
fn wire_type(a: &Attribute) -> AttributeType {
    match a.ty {
        AttributeType::Enum
            if !a.values.is_empty() && a.values.iter().all(|v| v.parse::<i64>().is_ok()) =>
        {
            AttributeType::Int
        }
        AttributeType::Enum => AttributeType::String,
        t => t,
    }
}

/// A flowtel layer's narrowing of a semantic-conventions attribute: its own settings, and the
/// conventions' description, deprecation, stability and values where it gives none.
fn narrow_attribute(base: &Attribute, layer: &Attribute) -> Attribute {
    let mut a = layer.clone();
    if a.brief.is_none() {
        a.brief = base.brief.clone();
    }
    if a.deprecated.is_none() {
        a.deprecated = base.deprecated.clone();
    }
    if a.stability.is_none() {
        a.stability = base.stability;
    }
    if a.examples.is_empty() {
        a.examples = base.examples.clone();
    }
    if a.ty == AttributeType::Enum && a.values.is_empty() {
        a.values = base.values.clone();
        a.open = base.open;
    }
    a
}

/// A flowtel layer's narrowing of a semantic-conventions metric: its own labels and limits, the
/// conventions' required labels, description, deprecation and stability where it gives none.
fn narrow_metric(base: &Metric, layer: &Metric) -> Metric {
    let mut m = layer.clone();
    if m.required_labels.is_empty() {
        m.required_labels = base.required_labels.clone();
    }
    if m.brief.is_none() {
        m.brief = base.brief.clone();
    }
    if m.deprecated.is_none() {
        m.deprecated = base.deprecated.clone();
    }
    if m.stability.is_none() {
        m.stability = base.stability;
    }
    m
}

/// The finding for a file that does not decode: located at the node serde stopped at.
fn decode_error(sources: &SourceMap, id: FileId, root: &marked_yaml::Node) -> Finding {
    use serde_path_to_error::Segment;
    let err = match serde_path_to_error::deserialize::<_, RegistryFile>(
        marked_yaml::spanned_serde::NodeDeserializer::new(root),
    ) {
        Ok(_) => return Finding::new(&rules::INVALID_VALUE, "the file does not decode"),
        Err(e) => e,
    };
    let keys: Vec<String> = err
        .path()
        .iter()
        .map(|seg| match seg {
            Segment::Map { key } => key.clone(),
            Segment::Seq { index } => index.to_string(),
            _ => String::new(),
        })
        .collect();
    let segs: Vec<Seg<'_>> = err
        .path()
        .iter()
        .zip(&keys)
        .filter_map(|(seg, key)| match seg {
            Segment::Map { .. } => Some(Seg::Key(key)),
            Segment::Seq { index } => Some(Seg::Index(*index)),
            _ => None,
        })
        .collect();
    let loc = err
        .inner()
        .start_mark()
        .map(|m| sources.marker_location(id, &m))
        .or_else(|| sources.locate(id, &segs));
    let path = err.path().to_string();
    let inner = lower_first(&err.inner().to_string());
    let msg = if path == "." {
        inner
    } else {
        format!("invalid value at `{path}`: {inner}")
    };
    Finding::new(&rules::INVALID_VALUE, msg)
        .at(loc)
        .help("see the flowtel/v1 JSON Schema (`flowtel schema`) for the accepted values")
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

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

/// The JSON Schema of a conventions file, generated once from the model.
pub fn registry_schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        serde_json::to_value(schemars::schema_for!(RegistryFile)).unwrap_or(Value::Null)
    })
}
