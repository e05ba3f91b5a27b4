//! Unknown-key detection driven by the generated JSON Schema.
//!
//! The schema is generated from the model (`schemars`), so the set of keys the loader accepts is
//! exactly the set the model decodes. It is compiled once into a [`Shape`] tree (`$ref`s and
//! `anyOf`s resolved), which the loader walks over each file's nodes to report every unknown key
//! with a suggestion and remove it, so that decoding can go on and one run shows all problems.

use std::collections::HashMap;
use std::sync::OnceLock;

use marked_yaml::Node;
use serde_json::Value;

use crate::finding::{Finding, did_you_mean};
use crate::rules::registry as rules;
use crate::source::{FileId, SourceMap};

/// What a node may look like: the keys a mapping may have, what a sequence holds.
#[derive(Debug, Default)]
pub struct Shape {
    mapping: Option<MapShape>,
    sequence: Option<Box<Shape>>,
}

#[derive(Debug, Default)]
struct MapShape {
    /// Declared keys, in schema order (for suggestions), with their shapes.
    props: Vec<(String, Shape)>,
    /// [`tag`] of each declared key, in `props` order: compared before the key itself.
    tags: Vec<u32>,
    index: HashMap<String, usize>,
    /// Whether keys outside `props` are errors.
    closed: bool,
    /// The shape of values under any other key (for maps keyed by name).
    additional: Option<Box<Shape>>,
}

impl MapShape {
    /// Index of a declared key. Most mappings declare a handful of keys: comparing them is
    /// cheaper than hashing the key, and this runs for every key of every file.
    fn position(&self, key: &str) -> Option<usize> {
        if self.props.len() <= 24 {
            let t = tag(key);
            self.tags
                .iter()
                .zip(&self.props)
                .position(|(kt, (k, _))| *kt == t && k == key)
        } else {
            self.index.get(key).copied()
        }
    }
}

/// A key's length, first and last byte in one word: most declared keys of a mapping differ in
/// it, so a lookup compares whole keys only where it matches.
fn tag(key: &str) -> u32 {
    let b = key.as_bytes();
    let first = b.first().copied().unwrap_or(0);
    let last = b.last().copied().unwrap_or(0);
    ((b.len() as u32) << 16) | (u32::from(first) << 8) | u32::from(last)
}

/// The compiled shape of a conventions file.
pub fn registry_shape() -> &'static Shape {
    static SHAPE: OnceLock<Shape> = OnceLock::new();
    SHAPE.get_or_init(|| {
        let root = crate::model::registry_schema();
        compile(root, root, 0)
    })
}

fn resolve<'a>(mut schema: &'a Value, root: &'a Value) -> &'a Value {
    for _ in 0..16 {
        let Some(target) = schema
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix('#'))
            .and_then(|p| root.pointer(p))
        else {
            break;
        };
        schema = target;
    }
    schema
}

fn compile(schema: &Value, root: &Value, depth: usize) -> Shape {
    let schema = resolve(schema, root);
    let mut shape = Shape::default();
    if depth > 32 {
        return shape;
    }
    if let Some(alts) = schema
        .get("anyOf")
        .or_else(|| schema.get("oneOf"))
        .and_then(Value::as_array)
    {
        for alt in alts {
            let s = compile(alt, root, depth + 1);
            if shape.mapping.is_none() {
                shape.mapping = s.mapping;
            }
            if shape.sequence.is_none() {
                shape.sequence = s.sequence;
            }
        }
        return shape;
    }
    if let Some(items) = schema.get("items") {
        shape.sequence = Some(Box::new(compile(items, root, depth + 1)));
    }
    let props = schema.get("properties").and_then(Value::as_object);
    let additional = schema.get("additionalProperties");
    if props.is_some() || additional.is_some_and(Value::is_object) {
        let mut m = MapShape::default();
        for (k, v) in props.into_iter().flatten() {
            m.index.insert(k.clone(), m.props.len());
            m.tags.push(tag(k));
            m.props.push((k.clone(), compile(v, root, depth + 1)));
        }
        m.closed = props.is_some() && matches!(additional, Some(Value::Bool(false)));
        if let Some(add) = additional.filter(|a| a.is_object()) {
            m.additional = Some(Box::new(compile(add, root, depth + 1)));
        }
        shape.mapping = Some(m);
    }
    shape
}

/// Reports (and removes) every key `shape` does not allow under `node`.
pub fn check(
    node: &mut Node,
    shape: &Shape,
    file: FileId,
    sources: &SourceMap,
    findings: &mut Vec<Finding>,
) {
    match node {
        Node::Mapping(map) => {
            let Some(m) = &shape.mapping else { return };
            let mut unknown = Vec::new();
            for (key, value) in map.iter_mut() {
                match (m.position(key.as_str()), &m.additional) {
                    (Some(i), _) => check(value, &m.props[i].1, file, sources, findings),
                    (None, Some(add)) => check(value, add, file, sources, findings),
                    (None, None) if m.closed => unknown.push(key.clone()),
                    (None, None) => {}
                }
            }
            for key in unknown {
                let known = m.props.iter().map(|(k, _)| k.as_str());
                let help = match did_you_mean(key.as_str(), known.clone()) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!("known keys here: {}", known.collect::<Vec<_>>().join(", ")),
                };
                findings.push(
                    Finding::new(
                        &rules::UNKNOWN_KEY,
                        format!("unknown key `{}`", key.as_str()),
                    )
                    .at(sources.span_location(file, key.span()))
                    .subject("key", key.as_str())
                    .help(help),
                );
                map.remove(&key);
            }
        }
        Node::Sequence(seq) => {
            if let Some(items) = &shape.sequence {
                for item in seq.iter_mut() {
                    check(item, items, file, sources, findings);
                }
            }
        }
        Node::Scalar(_) => {}
    }
}
