//! Decoding one semantic-conventions file (either format) into raw groups, before resolution.
//!
//! Both formats that OpenTelemetry's registry mixes become the same [`RawGroup`]s: the v1
//! `groups:` list (`attribute_group`, `metric`, `span`, `event`, `entity`), and
//! `file_format: definition/2` files (top-level `attributes` keyed by `key`, `attribute_groups`,
//! `spans`, `events`, `metrics`, `entities`, `span_refinements`, `metric_refinements`,
//! `event_refinements`). Nothing is resolved here; every value keeps its line and column.
//! Unknown keys are ignored (the format grows often), malformed values are reported.

use marked_yaml::Node;
use marked_yaml::types::{MarkedMappingNode, MarkedScalarNode};

use crate::model::{
    AttributeType, Deprecation, DeprecationDetail, DeprecationReason, Instrument, Requirement,
    SpanKind, Stability,
};

/// A position in a semantic-conventions file: index of the file in the model, 1-based line and
/// column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Pos {
    /// Index of the file in [`super::Model::files`].
    pub file: u32,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
}

/// What kind of group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupKind {
    /// Attribute definitions or a reusable list of references.
    AttributeGroup,
    /// A metric.
    Metric,
    /// A span.
    Span,
    /// An event.
    Event,
    /// An entity (resource).
    Entity,
    /// A refinement of a span: a new span convention derived from another.
    SpanRefinement,
    /// A refinement of a metric: more attributes for a use of it.
    MetricRefinement,
    /// A refinement of an event.
    EventRefinement,
}

/// An entry of a group's `attributes` list.
#[derive(Debug, Clone)]
pub enum RawEntry {
    /// A definition (`id:` in v1 groups, `key:` at the top of a v2 file).
    Def(Box<RawAttr>),
    /// A reference to an attribute defined elsewhere, with overrides.
    Ref {
        /// The attribute.
        name: String,
        /// Where the reference is written.
        pos: Pos,
        /// Requirement level, when given.
        requirement: Option<Requirement>,
    },
    /// All attributes of another group.
    RefGroup {
        /// The group id.
        id: String,
        /// Where the reference is written.
        pos: Pos,
    },
}

/// An attribute definition as written.
#[derive(Debug, Clone)]
pub struct RawAttr {
    /// The attribute key.
    pub name: String,
    /// Position of the key.
    pub pos: Pos,
    /// Value type.
    pub ty: AttributeType,
    /// Position of the `type` value.
    pub type_pos: Pos,
    /// Enum members (value, position, deprecated) when the type lists them.
    pub members: Vec<(String, Pos, bool)>,
    /// Whether the members' values are integers.
    pub int_members: bool,
    /// Requirement level where the definition is also a use.
    pub requirement: Option<Requirement>,
    /// Stability.
    pub stability: Option<Stability>,
    /// Deprecation and where it is written.
    pub deprecated: Option<(Deprecation, Pos)>,
    /// First line of the brief.
    pub brief: Option<String>,
    /// Examples that are scalars.
    pub examples: Vec<String>,
}

/// A group (or v2 definition) as written.
#[derive(Debug, Clone)]
pub struct RawGroup {
    /// Id (`registry.http`, `metric.http.server.request.duration`, `span.http.server`,
    /// or the v2 span `type` / metric `name`).
    pub id: String,
    /// Kind.
    pub kind: GroupKind,
    /// Position of the id.
    pub pos: Pos,
    /// `extends`, or the `ref` of a refinement: the group built on, and where it is named.
    pub extends: Option<(String, Pos)>,
    /// Attribute entries.
    pub entries: Vec<RawEntry>,
    /// Metric name, event name or entity name, and its position.
    pub name: Option<(String, Pos)>,
    /// Metric instrument and its position.
    pub instrument: Option<(Instrument, Pos)>,
    /// Metric unit and its position.
    pub unit: Option<(String, Pos)>,
    /// Span kind.
    pub span_kind: Option<SpanKind>,
    /// Stability.
    pub stability: Option<Stability>,
    /// Deprecation and where it is written.
    pub deprecated: Option<(Deprecation, Pos)>,
    /// First line of the brief.
    pub brief: Option<String>,
}

/// A problem in a semantic-conventions file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where.
    pub pos: Pos,
    /// What.
    pub message: String,
}

/// One decoded file.
#[derive(Debug, Clone, Default)]
pub struct RawFile {
    /// Its groups, in order.
    pub groups: Vec<RawGroup>,
    /// Problems found while decoding.
    pub problems: Vec<Problem>,
}

struct Ctx {
    file: u32,
    problems: Vec<Problem>,
}

impl Ctx {
    fn pos(&self, node: &Node) -> Pos {
        let m = node.span().start();
        Pos {
            file: self.file,
            line: m.map_or(1, |m| m.line() as u32),
            column: m.map_or(1, |m| m.column() as u32),
        }
    }

    fn spos(&self, node: &MarkedScalarNode) -> Pos {
        let m = node.span().start();
        Pos {
            file: self.file,
            line: m.map_or(1, |m| m.line() as u32),
            column: m.map_or(1, |m| m.column() as u32),
        }
    }

    /// The position of a key of a mapping.
    fn key_pos(&self, map: &MarkedMappingNode, key: &str) -> Option<Pos> {
        map.get_key_value(key).map(|(k, _)| self.spos(k))
    }

    fn problem(&mut self, pos: Pos, message: impl Into<String>) {
        self.problems.push(Problem {
            pos,
            message: message.into(),
        });
    }

    fn scalar<'n>(
        &mut self,
        map: &'n MarkedMappingNode,
        key: &str,
    ) -> Option<&'n MarkedScalarNode> {
        match map.get_node(key)? {
            Node::Scalar(s) => Some(s),
            other => {
                let p = self.pos(other);
                self.problem(p, format!("`{key}` must be a single value"));
                None
            }
        }
    }

    fn string(&mut self, map: &MarkedMappingNode, key: &str) -> Option<(String, Pos)> {
        self.scalar(map, key)
            .map(|s| (s.as_str().to_string(), self.spos(s)))
    }
}

/// Decodes a parsed file; `file` is its index in the model.
pub fn decode(file: u32, root: &Node) -> RawFile {
    let mut cx = Ctx {
        file,
        problems: Vec::new(),
    };
    let mut groups = Vec::new();
    let Some(map) = root.as_mapping() else {
        let p = cx.pos(root);
        cx.problem(p, "a semantic-conventions file must be a mapping");
        return RawFile {
            groups,
            problems: cx.problems,
        };
    };
    let v2 = map
        .get_scalar("file_format")
        .is_some_and(|s| s.as_str().starts_with("definition/2"));
    if let Some(fmt) = map.get_scalar("file_format")
        && !fmt.as_str().starts_with("definition/2")
    {
        let p = cx.spos(fmt);
        cx.problem(
            p,
            format!(
                "file format `{}` is not one flowtel reads (`definition/2`)",
                fmt.as_str()
            ),
        );
    }
    if v2 {
        decode_v2(&mut cx, map, &mut groups);
    } else if let Some(list) = map.get_node("groups") {
        match list {
            Node::Sequence(seq) => {
                for g in seq.iter() {
                    if let Some(g) = group_v1(&mut cx, g) {
                        groups.push(g);
                    }
                }
            }
            other => {
                let p = cx.pos(other);
                cx.problem(p, "`groups` must be a list");
            }
        }
    }
    RawFile {
        groups,
        problems: cx.problems,
    }
}

fn items<'n>(cx: &mut Ctx, map: &'n MarkedMappingNode, key: &str) -> Vec<&'n MarkedMappingNode> {
    match map.get_node(key) {
        None => Vec::new(),
        Some(Node::Sequence(seq)) => seq
            .iter()
            .filter_map(|n| match n {
                Node::Mapping(m) => Some(m),
                other => {
                    let p = cx.pos(other);
                    cx.problem(p, format!("entries of `{key}` must be mappings"));
                    None
                }
            })
            .collect(),
        Some(other) => {
            let p = cx.pos(other);
            cx.problem(p, format!("`{key}` must be a list"));
            Vec::new()
        }
    }
}

fn empty_group(id: String, kind: GroupKind, pos: Pos) -> RawGroup {
    RawGroup {
        id,
        kind,
        pos,
        extends: None,
        entries: Vec::new(),
        name: None,
        instrument: None,
        unit: None,
        span_kind: None,
        stability: None,
        deprecated: None,
        brief: None,
    }
}

fn group_v1(cx: &mut Ctx, node: &Node) -> Option<RawGroup> {
    let Some(m) = node.as_mapping() else {
        let p = cx.pos(node);
        cx.problem(p, "a group must be a mapping");
        return None;
    };
    let gpos = cx.pos(node);
    let Some((id, pos)) = cx.string(m, "id") else {
        cx.problem(gpos, "group without `id`");
        return None;
    };
    let (ty, tpos) = cx
        .string(m, "type")
        .unwrap_or_else(|| ("attribute_group".into(), pos));
    let kind = match ty.as_str() {
        "attribute_group" => GroupKind::AttributeGroup,
        "metric" => GroupKind::Metric,
        "span" => GroupKind::Span,
        "event" => GroupKind::Event,
        "entity" | "resource" => GroupKind::Entity,
        "scope" | "metric_group" => GroupKind::AttributeGroup,
        other => {
            cx.problem(tpos, format!("group `{id}` has unknown type `{other}`"));
            return None;
        }
    };
    let mut g = empty_group(id, kind, pos);
    common(cx, m, &mut g);
    g.extends = cx.string(m, "extends");
    g.name = match kind {
        GroupKind::Metric => cx.string(m, "metric_name"),
        GroupKind::Event | GroupKind::Entity => cx.string(m, "name"),
        _ => None,
    };
    if kind == GroupKind::Metric && g.name.is_none() {
        cx.problem(pos, format!("metric group `{}` has no `metric_name`", g.id));
    }
    if let Some((k, p)) = cx.string(m, "span_kind") {
        g.span_kind = span_kind(cx, &k, p);
    }
    g.entries = entries(cx, m, false);
    Some(g)
}

/// Fields every kind of group may have: instrument, unit, stability, deprecated, brief.
fn common(cx: &mut Ctx, m: &MarkedMappingNode, g: &mut RawGroup) {
    if let Some((i, p)) = cx.string(m, "instrument") {
        match instrument(&i) {
            Some(i) => g.instrument = Some((i, p)),
            None => cx.problem(p, format!("unknown instrument `{i}`")),
        }
    }
    g.unit = cx.string(m, "unit");
    g.stability = stability(cx, m);
    g.deprecated = deprecated(cx, m);
    g.brief = cx.string(m, "brief").map(|(b, _)| first_line(&b));
}

fn decode_v2(cx: &mut Ctx, map: &MarkedMappingNode, groups: &mut Vec<RawGroup>) {
    // Top-level attribute definitions become one registry group per file.
    let defs = items(cx, map, "attributes");
    if !defs.is_empty() {
        let pos = map
            .get_node("attributes")
            .map(|n| cx.pos(n))
            .unwrap_or_default();
        let mut g = empty_group(
            format!("registry.file{}", cx.file),
            GroupKind::AttributeGroup,
            pos,
        );
        for d in defs {
            if let Some(a) = attr_def(cx, d, "key") {
                g.entries.push(RawEntry::Def(Box::new(a)));
            }
        }
        groups.push(g);
    }
    let sections: [(&str, &str, GroupKind); 8] = [
        ("attribute_groups", "id", GroupKind::AttributeGroup),
        ("spans", "type", GroupKind::Span),
        ("metrics", "name", GroupKind::Metric),
        ("events", "name", GroupKind::Event),
        ("entities", "type", GroupKind::Entity),
        ("span_refinements", "id", GroupKind::SpanRefinement),
        ("metric_refinements", "id", GroupKind::MetricRefinement),
        ("event_refinements", "id", GroupKind::EventRefinement),
    ];
    for (section, id_key, kind) in sections {
        for m in items(cx, map, section) {
            let id = cx
                .string(m, id_key)
                .or_else(|| cx.string(m, "id"))
                .or_else(|| cx.string(m, "name"));
            let Some((id, pos)) = id else {
                let p = m
                    .span()
                    .start()
                    .map(|s| Pos {
                        file: cx.file,
                        line: s.line() as u32,
                        column: s.column() as u32,
                    })
                    .unwrap_or_default();
                cx.problem(p, format!("entry of `{section}` without `{id_key}`"));
                continue;
            };
            let mut g = empty_group(id.clone(), kind, pos);
            common(cx, m, &mut g);
            match kind {
                GroupKind::Metric | GroupKind::Event | GroupKind::Entity => {
                    g.name = Some((id, pos));
                }
                _ => {}
            }
            if kind == GroupKind::Entity {
                g.name = cx.string(m, "name").or(g.name);
            }
            if matches!(
                kind,
                GroupKind::SpanRefinement
                    | GroupKind::MetricRefinement
                    | GroupKind::EventRefinement
            ) {
                g.extends = cx.string(m, "ref");
                if g.extends.is_none() {
                    cx.problem(pos, format!("refinement `{}` has no `ref`", g.id));
                }
            } else {
                g.extends = cx.string(m, "extends");
            }
            if let Some((k, p)) = cx.string(m, "kind") {
                g.span_kind = span_kind(cx, &k, p);
            }
            if kind == GroupKind::Metric && g.instrument.is_none() {
                cx.problem(pos, format!("metric `{}` has no `instrument`", g.id));
            }
            g.entries = entries(cx, m, true);
            groups.push(g);
        }
    }
}

/// The `attributes` list of a group: definitions (v1 only), `ref`s and `ref_group`s.
fn entries(cx: &mut Ctx, m: &MarkedMappingNode, v2: bool) -> Vec<RawEntry> {
    let mut out = Vec::new();
    for e in items(cx, m, "attributes") {
        if let Some((name, pos)) = cx.string(e, "ref") {
            let requirement = requirement(cx, e);
            out.push(RawEntry::Ref {
                name,
                pos,
                requirement,
            });
        } else if let Some((id, pos)) = cx.string(e, "ref_group") {
            out.push(RawEntry::RefGroup { id, pos });
        } else if !v2 && e.get_node("id").is_some() {
            if let Some(a) = attr_def(cx, e, "id") {
                out.push(RawEntry::Def(Box::new(a)));
            }
        } else {
            let p = e
                .span()
                .start()
                .map(|s| Pos {
                    file: cx.file,
                    line: s.line() as u32,
                    column: s.column() as u32,
                })
                .unwrap_or_default();
            let what = if v2 {
                "`ref` or `ref_group`"
            } else {
                "`id`, `ref` or `ref_group`"
            };
            cx.problem(p, format!("attribute entry without {what}"));
        }
    }
    out
}

fn attr_def(cx: &mut Ctx, m: &MarkedMappingNode, key: &str) -> Option<RawAttr> {
    let (name, pos) = cx.string(m, key)?;
    let Some(tnode) = m.get_node("type") else {
        cx.problem(pos, format!("attribute `{name}` has no `type`"));
        return None;
    };
    // A mapping's own mark is imprecise in block style: point at the scalar, or at the key.
    let type_pos = match tnode {
        Node::Scalar(_) => cx.pos(tnode),
        _ => cx.key_pos(m, "type").unwrap_or_else(|| cx.pos(tnode)),
    };
    let mut members = Vec::new();
    let mut int_members = false;
    let ty = match tnode {
        Node::Scalar(s) => match attribute_type(s.as_str()) {
            Some(t) => t,
            None => {
                cx.problem(
                    type_pos,
                    format!("attribute `{name}` has unknown type `{}`", s.as_str()),
                );
                return None;
            }
        },
        Node::Mapping(tm) => {
            let list = items(cx, tm, "members");
            if list.is_empty() {
                cx.problem(
                    type_pos,
                    format!("enum attribute `{name}` has no `members`"),
                );
            }
            let mut all_int = !list.is_empty();
            for mm in list {
                let Some(v) = cx.scalar(mm, "value") else {
                    let p = cx.pos(tnode);
                    cx.problem(p, format!("a member of `{name}` has no `value`"));
                    continue;
                };
                all_int &= v.as_str().parse::<i64>().is_ok();
                let dep = mm.get_node("deprecated").is_some();
                members.push((v.as_str().to_string(), cx.spos(v), dep));
            }
            int_members = all_int;
            AttributeType::Enum
        }
        Node::Sequence(_) => {
            cx.problem(
                type_pos,
                format!("attribute `{name}` has a list as its `type`"),
            );
            return None;
        }
    };
    let examples = match m.get_node("examples") {
        Some(Node::Scalar(s)) => vec![s.as_str().to_string()],
        Some(Node::Sequence(seq)) => seq
            .iter()
            .filter_map(|n| n.as_scalar().map(|s| s.as_str().to_string()))
            .collect(),
        _ => Vec::new(),
    };
    Some(RawAttr {
        name,
        pos,
        ty,
        type_pos,
        members,
        int_members,
        requirement: requirement(cx, m),
        stability: stability(cx, m),
        deprecated: deprecated(cx, m),
        brief: cx.string(m, "brief").map(|(b, _)| first_line(&b)),
        examples,
    })
}

fn attribute_type(s: &str) -> Option<AttributeType> {
    Some(match s {
        "string" => AttributeType::String,
        "int" => AttributeType::Int,
        "double" => AttributeType::Double,
        "boolean" | "bool" => AttributeType::Bool,
        "string[]" => AttributeType::StringArray,
        "int[]" => AttributeType::IntArray,
        "double[]" => AttributeType::DoubleArray,
        "boolean[]" | "bool[]" => AttributeType::BoolArray,
        "any" => AttributeType::Any,
        t if t.starts_with("template[") && t.ends_with(']') => {
            attribute_type(&t["template[".len()..t.len() - 1])?;
            AttributeType::Template
        }
        _ => return None,
    })
}

fn instrument(s: &str) -> Option<Instrument> {
    Some(match s {
        "counter" => Instrument::Counter,
        "updowncounter" | "updown_counter" => Instrument::UpdownCounter,
        "histogram" => Instrument::Histogram,
        "gauge" => Instrument::Gauge,
        _ => return None,
    })
}

fn span_kind(cx: &mut Ctx, s: &str, pos: Pos) -> Option<SpanKind> {
    let k = SpanKind::parse(s);
    if k.is_none() {
        cx.problem(pos, format!("unknown span kind `{s}`"));
    }
    k
}

fn stability(cx: &mut Ctx, m: &MarkedMappingNode) -> Option<Stability> {
    let (s, p) = cx.string(m, "stability")?;
    let st = Stability::parse(&s);
    if st.is_none() {
        cx.problem(p, format!("unknown stability `{s}`"));
    }
    st
}

fn requirement(cx: &mut Ctx, m: &MarkedMappingNode) -> Option<Requirement> {
    let node = m.get_node("requirement_level")?;
    let key = match node {
        Node::Scalar(s) => s.as_str().to_string(),
        Node::Mapping(rm) => rm.keys().next().map(|k| k.as_str().to_string())?,
        Node::Sequence(_) => String::new(),
    };
    let r = match key.as_str() {
        "required" => Requirement::Required,
        "conditionally_required" => Requirement::ConditionallyRequired,
        "recommended" => Requirement::Recommended,
        "opt_in" => Requirement::OptIn,
        other => {
            let p = cx.pos(node);
            cx.problem(p, format!("unknown requirement level `{other}`"));
            return None;
        }
    };
    Some(r)
}

fn deprecated(cx: &mut Ctx, m: &MarkedMappingNode) -> Option<(Deprecation, Pos)> {
    let node = m.get_node("deprecated")?;
    let pos = match node {
        Node::Scalar(_) => cx.pos(node),
        _ => cx.key_pos(m, "deprecated").unwrap_or_else(|| cx.pos(node)),
    };
    let dep = match node {
        Node::Scalar(s) => Deprecation::Note(s.as_str().trim().to_string()),
        Node::Mapping(dm) => {
            let reason = match cx.string(dm, "reason") {
                Some((r, p)) => match r.as_str() {
                    "renamed" => Some(DeprecationReason::Renamed),
                    "obsoleted" => Some(DeprecationReason::Obsoleted),
                    "uncategorized" => Some(DeprecationReason::Uncategorized),
                    other => {
                        cx.problem(p, format!("unknown deprecation reason `{other}`"));
                        None
                    }
                },
                None => None,
            };
            let renamed_to = cx.string(dm, "renamed_to").map(|(r, _)| r);
            if reason == Some(DeprecationReason::Renamed) && renamed_to.is_none() {
                cx.problem(pos, "deprecated as `renamed` without `renamed_to`");
            }
            Deprecation::Detail(DeprecationDetail {
                renamed_to,
                note: cx
                    .string(dm, "note")
                    .map(|(n, _)| n.split_whitespace().collect::<Vec<_>>().join(" ")),
                reason,
            })
        }
        Node::Sequence(_) => {
            cx.problem(pos, "`deprecated` must be a text or a mapping");
            return None;
        }
    };
    Some((dep, pos))
}

fn first_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(text: &str) -> RawFile {
        let node = crate::semconv::yaml::parse(0, text).unwrap();
        decode(0, &node)
    }

    #[test]
    fn reads_v1_groups_with_definitions_references_and_deprecations() {
        let f = raw(
            "groups:\n  - id: registry.x\n    type: attribute_group\n    attributes:\n      - id: x.a\n        type: template[string[]]\n        stability: experimental\n      - id: x.old\n        type: int\n        deprecated:\n          reason: renamed\n          renamed_to: x.a\n  - id: metric.x.m\n    type: metric\n    metric_name: x.m\n    instrument: updowncounter\n    unit: '{thing}'\n    extends: registry.x\n    attributes:\n      - ref: x.a\n        requirement_level:\n          conditionally_required: If set.\n",
        );
        assert!(f.problems.is_empty(), "{:?}", f.problems);
        let RawEntry::Def(a) = &f.groups[0].entries[0] else {
            panic!("a definition")
        };
        assert_eq!(
            (a.ty, a.stability),
            (AttributeType::Template, Some(Stability::Development))
        );
        assert_eq!((a.pos.line, a.pos.column), (5, 13));
        let RawEntry::Def(old) = &f.groups[0].entries[1] else {
            panic!("a definition")
        };
        let (dep, _) = old.deprecated.as_ref().unwrap();
        assert_eq!(dep.renamed_to(), Some("x.a"));
        let m = &f.groups[1];
        assert_eq!(m.kind, GroupKind::Metric);
        assert_eq!(m.name.as_ref().unwrap().0, "x.m");
        assert_eq!(m.instrument.unwrap().0, Instrument::UpdownCounter);
        assert_eq!(m.extends.as_ref().unwrap().0, "registry.x");
        assert!(matches!(
            &m.entries[0],
            RawEntry::Ref {
                requirement: Some(Requirement::ConditionallyRequired),
                ..
            }
        ));
    }

    #[test]
    fn reads_definition_2_sections() {
        let f = raw(
            "file_format: definition/2\nattributes:\n  - key: y.a\n    type: boolean\nspans:\n  - type: y.call\n    kind: consumer\n    attributes:\n      - ref: y.a\nmetric_refinements:\n  - id: metric.y.special\n    ref: y.m\n",
        );
        assert!(f.problems.is_empty(), "{:?}", f.problems);
        assert_eq!(f.groups.len(), 3);
        assert_eq!(f.groups[0].kind, GroupKind::AttributeGroup);
        assert_eq!(f.groups[1].span_kind, Some(SpanKind::Consumer));
        assert_eq!(f.groups[2].extends.as_ref().unwrap().0, "y.m");
    }

    #[test]
    fn reports_malformed_values_where_they_are() {
        let f = raw(
            "groups:\n  - id: g\n    type: metric\n    metric_name: m\n    instrument: meter\n    stability: someday\n    attributes:\n      - id: a\n        type: strng\n      - brief: nothing\n",
        );
        let msgs: Vec<(u32, &str)> = f
            .problems
            .iter()
            .map(|p| (p.pos.line, p.message.as_str()))
            .collect();
        assert_eq!(
            msgs,
            [
                (5, "unknown instrument `meter`"),
                (6, "unknown stability `someday`"),
                (9, "attribute `a` has unknown type `strng`"),
                (10, "attribute entry without `id`, `ref` or `ref_group`"),
            ]
        );
    }
}
