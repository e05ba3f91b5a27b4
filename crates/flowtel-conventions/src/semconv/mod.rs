//! OpenTelemetry semantic conventions as a base layer of a flowtel registry.
//!
//! This module owns reading a semantic-conventions registry in the format of OpenTelemetry's
//! own tooling (Weaver), as published in the `model/` folder of
//! `open-telemetry/semantic-conventions`, and joining it to a flowtel registry:
//!
//! - [`yaml`] parses each file into [`marked_yaml`] nodes (anchors and aliases included), so
//!   every definition keeps its file, line and column;
//! - [`read`] decodes both formats the registry mixes: v1 `groups:` files (`attribute_group`,
//!   `metric`, `span`, `event`, `entity`) and `file_format: definition/2` files (top-level
//!   `attributes` keyed by `key`, `attribute_groups`, `spans`, `events`, `metrics`, `entities`
//!   and the `*_refinements`);
//! - [`resolve`] follows `ref`, `ref_group`, `extends` and refinements into a [`Model`] of
//!   attributes (types, enum `members`, `template[...]`, arrays, `stability`, `deprecated` with
//!   `renamed_to` / `obsoleted` / `uncategorized`), metrics (`instrument`, `unit`,
//!   `metric_name`, attributes with their requirement levels), spans, events and entities;
//! - [`layering`] checks how flowtel layers build on it (`FT04xx`).
//!
//! A conventions file imports a registry with `imports: [{semconv: path/to/model, only: [http]}]`
//! (`only` optional: root namespaces to take; attributes the taken metrics and spans use, and
//! the replacements of deprecated names, come along). The loader turns every semantic-conventions
//! file that defines something into an ordinary [`crate::registry::Layer`] below the flowtel layers,
//! with a node tree shaped like a flowtel file whose positions are those of the OpenTelemetry
//! YAML, so every finding about a semantic-conventions item names its file, line and column.
//! `flowtel check path/to/model` checks a registry folder on its own.
//!
//! # Registry API for linters
//! On a loaded [`crate::Registry`]:
//! - [`crate::Registry::deprecation_of`] (attribute, else metric), [`crate::Registry::attribute_deprecation`],
//!   [`crate::Registry::metric_deprecation`]: the [`crate::Deprecation`] of a name; [`crate::Deprecation::describe`]
//!   words it for messages;
//! - [`crate::Registry::replacement_of`]: the name to use instead, following renames to the end
//!   (`http.method` -> `http.request.method`);
//! - [`crate::Registry::attribute_for_key`]: the attribute declaring a key, `template[...]` attributes
//!   included (`http.request.header.content-type` -> `http.request.header`);
//! - [`crate::Registry::required_labels`]: labels every data point of a metric must carry;
//! - [`crate::Registry::span_conventions`] / [`crate::Registry::required_span_attributes`]: span
//!   conventions and their required attributes; [`crate::Registry::span_convention_for`] picks the
//!   convention an exported span follows from its kind and attribute keys;
//! - [`crate::Registry::semconv_owns`]: whether a name falls in a namespace the conventions own.
//!
//! Report with the rules of [`crate::rules::semconv`]: `DEPRECATED_NAME` (FT0403) and
//! `MISSING_REQUIRED_ATTRIBUTE` (FT0404). [`lint`] has the checks ready-made:
//! [`lint::deprecated_attribute`], [`lint::deprecated_metric`], [`lint::missing_required_labels`]
//! and [`lint::missing_span_attributes`] return the finding (without a location) or `None`.

pub mod layering;
pub mod lint;
mod model;
pub mod read;
pub mod resolve;
pub mod yaml;

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use marked_yaml::types::{MarkedMappingNode, MarkedScalarNode, MarkedSequenceNode};
use marked_yaml::{Marker, Node, Span as YamlSpan};

use crate::model::RegistryFile;
use crate::model::SCHEMA_V1;
use crate::source::{FileId, display_path};

pub use model::{AttrUse, Model, ProblemKind, SemAttribute, SemMetric, SemSignal, SemSpan};
pub use read::Pos;

/// Largest semantic-conventions file read.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;
/// Most files read from one registry folder.
pub const MAX_FILES: usize = 10_000;

/// Whether a folder holds a semantic-conventions registry rather than flowtel files: it has a
/// `manifest.yaml` / `registry_manifest.yaml`, or its YAML files start like semantic-conventions
/// files (`groups:`, `file_format:`) and none like a flowtel file (`schema:`).
pub fn is_registry_dir(dir: &Path) -> bool {
    if dir.join("manifest.yaml").is_file() || dir.join("registry_manifest.yaml").is_file() {
        return true;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    let mut semconv = false;
    for e in entries.flatten().take(256) {
        let p = e.path();
        if !matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")) {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&p) else {
            continue;
        };
        for line in text.lines().take(64) {
            if line.starts_with("schema:") {
                return false;
            }
            if line.starts_with("groups:") || line.starts_with("file_format:") {
                semconv = true;
            }
        }
    }
    semconv
}

/// Every `*.yaml` / `*.yml` file below `dir`, recursively, sorted.
pub fn files_in(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d)? {
            let p = e?.path();
            if p.is_dir() {
                todo.push(p);
            } else if matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")) {
                out.push(p);
                if out.len() > MAX_FILES {
                    return Err(std::io::Error::other(format!(
                        "more than {MAX_FILES} YAML files"
                    )));
                }
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Reads the texts of `paths` (limited in size, UTF-8).
pub fn read_texts(paths: &[PathBuf]) -> Vec<(PathBuf, Result<String, String>)> {
    paths
        .iter()
        .map(|p| {
            let text = std::fs::metadata(p)
                .map_err(|e| e.to_string())
                .and_then(|m| {
                    if m.len() > MAX_FILE_BYTES {
                        Err(format!("it is larger than {MAX_FILE_BYTES} bytes"))
                    } else {
                        std::fs::read(p).map_err(|e| e.to_string())
                    }
                })
                .and_then(|b| String::from_utf8(b).map_err(|_| "it is not UTF-8 text".into()));
            (p.clone(), text)
        })
        .collect()
}

fn is_manifest(path: &Path) -> bool {
    matches!(
        path.file_name().and_then(|n| n.to_str()),
        Some("manifest.yaml" | "registry_manifest.yaml")
    )
}

/// Reads a manifest's version: `semconv_version`, or the last segment of `schema_url`.
fn manifest_version(root: &Node) -> Option<String> {
    let m = root.as_mapping()?;
    if let Some(v) = m.get_scalar("semconv_version") {
        return Some(v.as_str().to_string());
    }
    let url = m.get_scalar("schema_url")?;
    url.as_str()
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .map(str::to_string)
}

/// Parses, decodes and resolves a registry's files (`(path, text)`), one file's node tree at a
/// time. Never panics; every problem is in [`Model::problems`].
pub fn read_model(files: &[(PathBuf, &str)]) -> Model {
    let mut model = Model {
        files: files.iter().map(|(p, _)| p.clone()).collect(),
        displays: files.iter().map(|(p, _)| display_path(p)).collect(),
        ..Model::default()
    };
    let decoded = decode_all(files);
    let mut raws = Vec::with_capacity(decoded.len());
    for (i, d) in decoded.into_iter().enumerate() {
        match d {
            Decoded::File(raw) => {
                for p in &raw.problems {
                    model
                        .problems
                        .push((ProblemKind::Malformed, p.pos, p.message.clone()));
                }
                raws.push(raw);
            }
            Decoded::Manifest(v) => {
                if model.version.is_none() {
                    model.version = v;
                }
                raws.push(read::RawFile::default());
            }
            Decoded::Syntax(e) => {
                model.problems.push((
                    ProblemKind::Malformed,
                    Pos {
                        file: i as u32,
                        line: e.line,
                        column: e.column,
                    },
                    format!("YAML syntax: {}", e.message),
                ));
                raws.push(read::RawFile::default());
            }
        }
    }
    resolve::resolve(&raws, &mut model);
    model
}

enum Decoded {
    File(read::RawFile),
    Manifest(Option<String>),
    Syntax(yaml::SyntaxError),
}

fn decode_one(i: usize, path: &Path, text: &str) -> Decoded {
    match yaml::parse(i, text) {
        Ok(root) if is_manifest(path) => Decoded::Manifest(manifest_version(&root)),
        Ok(root) => Decoded::File(read::decode(i as u32, &root)),
        Err(e) => Decoded::Syntax(e),
    }
}

/// Decodes every file on the calling thread. Parsing on several threads was measured slower
/// on two busy cores (allocator contention, memory handed across threads): 54 ms against 37 ms
/// for the v1.44.0 model.
fn decode_all(files: &[(PathBuf, &str)]) -> Vec<Decoded> {
    files
        .iter()
        .enumerate()
        .map(|(i, (p, t))| decode_one(i, p, t))
        .collect()
}

/// The root namespace of a name (`http` of `http.route`), or the name itself.
pub fn root_namespace(name: &str) -> &str {
    name.split('.').next().unwrap_or(name)
}

/// What an import takes from a model: every name, or the closure of `only`.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Attribute keys taken.
    pub attributes: HashSet<String>,
    /// Metric names taken.
    pub metrics: HashSet<String>,
    /// Span ids taken.
    pub spans: HashSet<String>,
    /// Event names taken.
    pub events: HashSet<String>,
}

impl Model {
    /// What `only` selects: names under those root namespaces, the attributes the selected
    /// metrics and spans use, and the replacements of selected deprecated names.
    pub fn select(&self, only: Option<&[String]>) -> Selection {
        let wanted =
            |name: &str| only.is_none_or(|o| o.iter().any(|ns| ns == root_namespace(name)));
        let mut sel = Selection::default();
        let mut todo: Vec<String> = Vec::new();
        for (name, m) in &self.metrics {
            if wanted(name) {
                sel.metrics.insert(name.clone());
                todo.extend(m.def.labels.iter().cloned());
                if let Some(r) = m.def.deprecated.as_ref().and_then(|d| d.renamed_to())
                    && self.metrics.contains_key(r)
                    && sel.metrics.insert(r.to_string())
                {
                    todo.extend(self.metrics[r].def.labels.iter().cloned());
                }
            }
        }
        for (id, s) in &self.spans {
            let root = id.strip_prefix("span.").unwrap_or(id);
            if wanted(root) {
                sel.spans.insert(id.clone());
                todo.extend(s.def.attributes.iter().cloned());
            }
        }
        for (name, e) in &self.events {
            if wanted(name) {
                sel.events.insert(name.clone());
                todo.extend(e.attributes.iter().map(|u| u.name.clone()));
            }
        }
        todo.extend(self.attributes.keys().filter(|n| wanted(n)).cloned());
        while let Some(name) = todo.pop() {
            if let Some(a) = self.attributes.get(&name)
                && sel.attributes.insert(name)
                && let Some(r) = a.def.deprecated.as_ref().and_then(|d| d.renamed_to())
            {
                todo.push(r.to_string());
            }
        }
        sel
    }

    /// One flowtel layer per file that defines something selected: the layer's content and a
    /// node tree shaped like a flowtel file (`attributes.<name>.type`, `metrics.<name>.labels`)
    /// carrying the positions of the OpenTelemetry YAML. `file_ids` maps model files to
    /// [`FileId`]s.
    pub fn layers(&self, sel: &Selection, file_ids: &[FileId]) -> Vec<(usize, RegistryFile, Node)> {
        let n = self.files.len();
        let mut contents: Vec<Option<(RegistryFile, Tree)>> = (0..n).map(|_| None).collect();
        let version = self.version.clone().unwrap_or_else(|| "0.0.0".into());
        for (name, a) in &self.attributes {
            if !sel.attributes.contains(name) {
                continue;
            }
            let fid = file_ids.get(a.pos.file as usize).copied().unwrap_or(0);
            let Some((content, tree)) = slot_of(&mut contents, a.pos.file, &version) else {
                continue;
            };
            let mut fields = vec![("type", scalar(fid, a.type_pos, a.def.ty.as_str()))];
            if !a.def.values.is_empty() {
                let items = a
                    .member_pos
                    .iter()
                    .zip(&a.def.values)
                    .map(|(p, v)| scalar(fid, *p, v))
                    .collect();
                fields.push(("values", seq(fid, a.type_pos, items)));
            }
            if let Some(p) = a.deprecated_pos {
                fields.push(("deprecated", scalar(fid, p, "deprecated")));
            }
            tree.attributes
                .push((key(fid, a.pos, name), mapping(fid, a.pos, fields)));
            content.attributes.insert(name.clone(), a.def.clone());
        }
        for (name, m) in &self.metrics {
            if !sel.metrics.contains(name) {
                continue;
            }
            let file = m.pos.file;
            let fid = file_ids.get(file as usize).copied().unwrap_or(0);
            let Some((content, tree)) = slot_of(&mut contents, file, &version) else {
                continue;
            };
            let mut fields = vec![
                (
                    "instrument",
                    scalar(fid, m.instrument_pos, m.def.instrument.as_str()),
                ),
                ("unit", scalar(fid, m.unit_pos, &m.def.unit)),
                ("labels", member_names(fid, m.pos, &m.attributes)),
            ];
            if let Some(p) = m.deprecated_pos {
                fields.push(("deprecated", scalar(fid, p, "deprecated")));
            }
            tree.metrics
                .push((key(fid, m.pos, name), mapping(fid, m.pos, fields)));
            content.metrics.insert(name.clone(), m.def.clone());
        }
        for (id, s) in &self.spans {
            if !sel.spans.contains(id) {
                continue;
            }
            let file = s.pos.file;
            let fid = file_ids.get(file as usize).copied().unwrap_or(0);
            let Some((content, tree)) = slot_of(&mut contents, file, &version) else {
                continue;
            };
            let fields = vec![("attributes", member_names(fid, s.pos, &s.attributes))];
            tree.spans
                .push((key(fid, s.pos, id), mapping(fid, s.pos, fields)));
            content.spans.insert(id.clone(), s.def.clone());
        }
        for (name, e) in &self.events {
            if !sel.events.contains(name) {
                continue;
            }
            let file = e.pos.file;
            let fid = file_ids.get(file as usize).copied().unwrap_or(0);
            let Some((content, tree)) = slot_of(&mut contents, file, &version) else {
                continue;
            };
            let attrs = e
                .attributes
                .iter()
                .map(|u| {
                    let p = if u.pos.file == file { u.pos } else { e.pos };
                    scalar(fid, p, &u.name)
                })
                .collect();
            let fields = vec![("attributes", seq(fid, e.pos, attrs))];
            tree.events
                .push((key(fid, e.pos, name), mapping(fid, e.pos, fields)));
            content.events.insert(name.clone(), e.as_event());
        }
        contents
            .into_iter()
            .enumerate()
            .filter_map(|(i, c)| {
                let (content, tree) = c?;
                let fid = file_ids.get(i).copied().unwrap_or(0);
                Some((i, content, tree.into_node(fid)))
            })
            .collect()
    }
}

fn slot_of<'c>(
    contents: &'c mut [Option<(RegistryFile, Tree)>],
    file: u32,
    version: &str,
) -> Option<&'c mut (RegistryFile, Tree)> {
    let c = contents.get_mut(file as usize)?;
    Some(c.get_or_insert_with(|| {
        (
            RegistryFile {
                schema: SCHEMA_V1.into(),
                name: "semconv".into(),
                version: version.to_string(),
                ..RegistryFile::default()
            },
            Tree::default(),
        )
    }))
}

#[derive(Default)]
struct Tree {
    attributes: Vec<(MarkedScalarNode, Node)>,
    metrics: Vec<(MarkedScalarNode, Node)>,
    spans: Vec<(MarkedScalarNode, Node)>,
    events: Vec<(MarkedScalarNode, Node)>,
}

impl Tree {
    fn into_node(self, fid: FileId) -> Node {
        let top = Pos {
            file: 0,
            line: 1,
            column: 1,
        };
        let mut root = MarkedMappingNode::new_empty(span(fid, top));
        for (section, entries) in [
            ("attributes", self.attributes),
            ("metrics", self.metrics),
            ("spans", self.spans),
            ("events", self.events),
        ] {
            if entries.is_empty() {
                continue;
            }
            let mut m = MarkedMappingNode::new_empty(span(fid, top));
            for (k, v) in entries {
                m.insert(k, v);
            }
            root.insert(key(fid, top, section), Node::from(m));
        }
        Node::from(root)
    }
}

fn span(fid: FileId, p: Pos) -> YamlSpan {
    YamlSpan::new_start(Marker::new(fid, 0, p.line as usize, p.column as usize))
}

fn key(fid: FileId, p: Pos, s: &str) -> MarkedScalarNode {
    MarkedScalarNode::new(span(fid, p), s.to_string())
}

fn scalar(fid: FileId, p: Pos, s: &str) -> Node {
    Node::from(key(fid, p, s))
}

/// The names of a metric's or span's attributes, each at its own position when it is in the
/// same file as its owner at `owner` (else at the owner's, which is where the file shows it).
fn member_names(fid: FileId, owner: Pos, members: &[AttrUse]) -> Node {
    let items = members
        .iter()
        .map(|u| {
            let p = if u.pos.file == owner.file {
                u.pos
            } else {
                owner
            };
            scalar(fid, p, &u.name)
        })
        .collect();
    seq(fid, owner, items)
}

fn seq(fid: FileId, p: Pos, items: Vec<Node>) -> Node {
    Node::from(MarkedSequenceNode::new(span(fid, p), items))
}

fn mapping(fid: FileId, p: Pos, fields: Vec<(&str, Node)>) -> Node {
    let mut m = MarkedMappingNode::new_empty(span(fid, p));
    for (k, v) in fields {
        m.insert(key(fid, p, k), v);
    }
    Node::from(m)
}

/// A semantic-conventions registry joined to a flowtel registry.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The folder.
    pub dir: PathBuf,
    /// The resolved model (every definition, selected or not).
    pub model: Arc<Model>,
    /// The registry's file id of each model file.
    pub file_ids: Vec<FileId>,
    /// Root namespaces the conventions own.
    pub namespaces: BTreeSet<String>,
}
