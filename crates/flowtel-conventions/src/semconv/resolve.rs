//! Resolution of raw groups into attributes, metrics, spans, events and entities.
//!
//! `ref` entries are looked up in the attribute definitions, `ref_group` and `extends` in the
//! groups (recursively, memoised, cycles reported), refinements in the spans, metrics and events
//! they refine. A group's own entries override what it inherits; a requirement level not given
//! anywhere is `recommended`, as in OpenTelemetry's tooling.

use std::collections::HashMap;

use indexmap::IndexMap;

use super::model::{AttrUse, Model, ProblemKind, SemAttribute, SemMetric, SemSignal, SemSpan};
use super::read::{GroupKind, Pos, RawAttr, RawEntry, RawFile, RawGroup};
use crate::model::{Attribute, AttributeType, Metric, Requirement, Span};

/// Resolves decoded files into a model (files keep their indices).
pub fn resolve(files: &[RawFile], model: &mut Model) {
    let mut r = Resolver {
        files,
        groups: HashMap::new(),
        metric_groups: HashMap::new(),
        defs: HashMap::new(),
        memo: HashMap::new(),
        model,
    };
    r.index();
    r.attributes();
    r.signals();
}

type GroupRef = (usize, usize);

struct Resolver<'a> {
    files: &'a [RawFile],
    /// Group id to its place.
    groups: HashMap<&'a str, GroupRef>,
    /// Metric name to its group.
    metric_groups: HashMap<&'a str, GroupRef>,
    /// Attribute name to its definition.
    defs: HashMap<&'a str, &'a RawAttr>,
    /// Resolved attribute lists; `None` while being resolved (cycle detection).
    memo: HashMap<GroupRef, Option<Vec<Use>>>,
    model: &'a mut Model,
}

#[derive(Debug, Clone)]
struct Use {
    name: String,
    requirement: Option<Requirement>,
    site: Pos,
}

impl<'a> Resolver<'a> {
    fn group(&self, g: GroupRef) -> &'a RawGroup {
        &self.files[g.0].groups[g.1]
    }

    fn problem(&mut self, kind: ProblemKind, pos: Pos, message: String) {
        self.model.problems.push((kind, pos, message));
    }

    fn index(&mut self) {
        let files = self.files;
        for (fi, f) in files.iter().enumerate() {
            for (gi, g) in f.groups.iter().enumerate() {
                if let Some(prev) = self.groups.insert(g.id.as_str(), (fi, gi)) {
                    let p = self.group(prev).pos;
                    self.problem(
                        ProblemKind::Malformed,
                        g.pos,
                        format!(
                            "group `{}` is defined twice (first at {}:{})",
                            g.id, p.line, p.column
                        ),
                    );
                }
                if g.kind == GroupKind::Metric
                    && let Some((name, _)) = &g.name
                    && let Some(prev) = self.metric_groups.insert(name.as_str(), (fi, gi))
                {
                    let p = self.group(prev).pos;
                    self.problem(
                        ProblemKind::Malformed,
                        g.pos,
                        format!(
                            "metric `{name}` is defined twice (first at {}:{})",
                            p.line, p.column
                        ),
                    );
                }
                for e in &g.entries {
                    if let RawEntry::Def(a) = e
                        && let Some(prev) = self.defs.insert(a.name.as_str(), a)
                    {
                        let p = prev.pos;
                        self.problem(
                            ProblemKind::Malformed,
                            a.pos,
                            format!(
                                "attribute `{}` is defined twice (first at {}:{})",
                                a.name, p.line, p.column
                            ),
                        );
                    }
                }
            }
        }
    }

    fn attributes(&mut self) {
        let mut out: IndexMap<String, SemAttribute> = IndexMap::with_capacity(self.defs.len());
        for f in self.files {
            for g in &f.groups {
                for e in &g.entries {
                    let RawEntry::Def(a) = e else { continue };
                    if out.contains_key(&a.name) {
                        continue;
                    }
                    let mut values = Vec::new();
                    let mut member_pos = Vec::new();
                    for (v, p, _) in &a.members {
                        if !values.contains(v) {
                            values.push(v.clone());
                            member_pos.push(*p);
                        }
                    }
                    let def = Attribute {
                        ty: a.ty,
                        values,
                        max_values: None,
                        pii: false,
                        redact: None,
                        brief: a.brief.clone(),
                        examples: a.examples.iter().take(4).cloned().collect(),
                        deprecated: a.deprecated.as_ref().map(|(d, _)| d.clone()),
                        stability: a.stability,
                        open: a.ty == AttributeType::Enum,
                    };
                    out.insert(
                        a.name.clone(),
                        SemAttribute {
                            def,
                            pos: a.pos,
                            type_pos: a.type_pos,
                            deprecated_pos: a.deprecated.as_ref().map(|(_, p)| *p),
                            member_pos,
                            int_values: a.int_members,
                        },
                    );
                }
            }
        }
        self.model.attributes = out;
    }

    /// The resolved attribute list of a group (own entries over inherited ones).
    fn uses(&mut self, g: GroupRef) -> Vec<Use> {
        match self.memo.get(&g) {
            Some(Some(v)) => return v.clone(),
            Some(None) => {
                let grp = self.group(g);
                self.problem(
                    ProblemKind::Unresolved,
                    grp.pos,
                    format!("group `{}` extends itself through a cycle", grp.id),
                );
                return Vec::new();
            }
            None => {}
        }
        self.memo.insert(g, None);
        let grp = self.group(g);
        let mut list: Vec<Use> = Vec::new();
        if let Some((target, pos)) = &grp.extends {
            match self.base_of(grp, target) {
                Some(base) => {
                    for mut u in self.uses(base) {
                        u.site = *pos;
                        list.push(u);
                    }
                }
                None => {
                    let what = match grp.kind {
                        GroupKind::SpanRefinement => "span",
                        GroupKind::MetricRefinement => "metric",
                        GroupKind::EventRefinement => "event",
                        _ => "group",
                    };
                    let verb = if matches!(
                        grp.kind,
                        GroupKind::SpanRefinement
                            | GroupKind::MetricRefinement
                            | GroupKind::EventRefinement
                    ) {
                        "refines"
                    } else {
                        "extends"
                    };
                    self.problem(
                        ProblemKind::Unresolved,
                        *pos,
                        format!(
                            "`{}` {verb} `{target}`, which is not a known {what}",
                            grp.id
                        ),
                    );
                }
            }
        }
        for e in &grp.entries {
            match e {
                RawEntry::Def(a) => merge(
                    &mut list,
                    Use {
                        name: a.name.clone(),
                        requirement: a.requirement,
                        site: a.pos,
                    },
                ),
                RawEntry::Ref {
                    name,
                    pos,
                    requirement,
                } => {
                    if !self.defs.contains_key(name.as_str()) {
                        self.problem(
                            ProblemKind::Unresolved,
                            *pos,
                            format!(
                                "`{}` refers to attribute `{name}`, which is not defined",
                                grp.id
                            ),
                        );
                        continue;
                    }
                    merge(
                        &mut list,
                        Use {
                            name: name.clone(),
                            requirement: *requirement,
                            site: *pos,
                        },
                    );
                }
                RawEntry::RefGroup { id, pos } => match self.groups.get(id.as_str()).copied() {
                    Some(target) => {
                        for mut u in self.uses(target) {
                            u.site = *pos;
                            merge(&mut list, u);
                        }
                    }
                    None => self.problem(
                        ProblemKind::Unresolved,
                        *pos,
                        format!("`{}` uses group `{id}`, which is not defined", grp.id),
                    ),
                },
            }
        }
        self.memo.insert(g, Some(list.clone()));
        list
    }

    /// The group a group extends or refines.
    fn base_of(&self, grp: &RawGroup, target: &str) -> Option<GroupRef> {
        match grp.kind {
            GroupKind::MetricRefinement => self
                .metric_groups
                .get(target)
                .or_else(|| self.groups.get(target))
                .copied(),
            GroupKind::SpanRefinement => self
                .groups
                .get(target)
                .or_else(|| self.groups.get(format!("span.{target}").as_str()))
                .copied(),
            GroupKind::EventRefinement => self
                .groups
                .get(target)
                .or_else(|| self.groups.get(format!("event.{target}").as_str()))
                .copied(),
            _ => self.groups.get(target).copied(),
        }
    }

    fn finish_uses(&self, uses: Vec<Use>) -> Vec<AttrUse> {
        uses.into_iter()
            .map(|u| {
                let requirement = u
                    .requirement
                    .or_else(|| self.defs.get(u.name.as_str()).and_then(|d| d.requirement))
                    .unwrap_or(Requirement::Recommended);
                AttrUse {
                    name: u.name,
                    requirement,
                    pos: u.site,
                }
            })
            .collect()
    }

    fn signals(&mut self) {
        let files = self.files;
        let mut refinements: Vec<GroupRef> = Vec::new();
        for (fi, f) in files.iter().enumerate() {
            for (gi, g) in f.groups.iter().enumerate() {
                let at = (fi, gi);
                match g.kind {
                    GroupKind::AttributeGroup => {
                        // Resolve for the problems it may hold; the lists live on in users.
                        self.uses(at);
                    }
                    GroupKind::Metric => self.metric(at),
                    GroupKind::Span | GroupKind::SpanRefinement => self.span(at),
                    GroupKind::Event | GroupKind::Entity | GroupKind::EventRefinement => {
                        self.signal(at)
                    }
                    GroupKind::MetricRefinement => refinements.push(at),
                }
            }
        }
        // A refinement adds the attributes it lists to the labels the metric may carry.
        for at in refinements {
            let uses = self.uses(at);
            let grp = self.group(at);
            let Some((target, _)) = &grp.extends else {
                continue;
            };
            let name = match self.base_of(grp, target) {
                Some(b) => self.group(b).name.as_ref().map(|(n, _)| n.clone()),
                None => None,
            };
            let uses = self.finish_uses(uses);
            if let Some(m) = name.and_then(|n| self.model.metrics.get_mut(&n)) {
                for u in uses {
                    if !m.def.labels.contains(&u.name) {
                        m.def.labels.push(u.name.clone());
                        // Required only where the refinement applies: conditionally, here.
                        let requirement = match u.requirement {
                            Requirement::Required => Requirement::ConditionallyRequired,
                            r => r,
                        };
                        m.attributes.push(AttrUse { requirement, ..u });
                    }
                }
            }
        }
    }

    fn metric(&mut self, at: GroupRef) {
        let uses = self.uses(at);
        let grp = self.group(at);
        let Some((name, pos)) = grp.name.clone() else {
            return;
        };
        let Some((instrument, instrument_pos)) = grp.instrument else {
            self.problem(
                ProblemKind::Malformed,
                grp.pos,
                format!("metric `{name}` has no `instrument`"),
            );
            return;
        };
        let Some((unit, unit_pos)) = grp.unit.clone() else {
            self.problem(
                ProblemKind::Malformed,
                grp.pos,
                format!("metric `{name}` has no `unit`"),
            );
            return;
        };
        let attributes = self.finish_uses(uses);
        let def = Metric {
            instrument,
            unit,
            labels: attributes.iter().map(|u| u.name.clone()).collect(),
            cardinality_limit: None,
            buckets: None,
            brief: grp.brief.clone(),
            deprecated: grp.deprecated.as_ref().map(|(d, _)| d.clone()),
            required_labels: attributes
                .iter()
                .filter(|u| u.requirement == Requirement::Required)
                .map(|u| u.name.clone())
                .collect(),
            stability: grp.stability,
            saturation: None,
        };
        self.model.metrics.insert(
            name,
            SemMetric {
                def,
                pos,
                instrument_pos,
                unit_pos,
                deprecated_pos: grp.deprecated.as_ref().map(|(_, p)| *p),
                attributes,
            },
        );
    }

    fn span(&mut self, at: GroupRef) {
        let uses = self.uses(at);
        let grp = self.group(at);
        let mut kind = grp.span_kind;
        if kind.is_none()
            && let Some((target, _)) = &grp.extends
            && let Some(b) = self.base_of(grp, target)
        {
            kind = self.group(b).span_kind;
        }
        let attributes = self.finish_uses(uses);
        let def = Span {
            kind,
            attributes: attributes.iter().map(|u| u.name.clone()).collect(),
            required_attributes: attributes
                .iter()
                .filter(|u| u.requirement == Requirement::Required)
                .map(|u| u.name.clone())
                .collect(),
            brief: grp.brief.clone(),
            stability: grp.stability,
            deprecated: grp.deprecated.as_ref().map(|(d, _)| d.clone()),
        };
        self.model.spans.insert(
            grp.id.clone(),
            SemSpan {
                def,
                pos: grp.pos,
                attributes,
            },
        );
    }

    fn signal(&mut self, at: GroupRef) {
        let uses = self.uses(at);
        let grp = self.group(at);
        let attributes = self.finish_uses(uses);
        let name = grp
            .name
            .as_ref()
            .map(|(n, _)| n.clone())
            .unwrap_or_else(|| grp.id.clone());
        let signal = SemSignal {
            id: grp.id.clone(),
            pos: grp.pos,
            attributes,
            stability: grp.stability,
            deprecated: grp.deprecated.as_ref().map(|(d, _)| d.clone()),
        };
        if grp.kind == GroupKind::Entity {
            self.model.entities.insert(name, signal);
        } else {
            self.model.events.insert(name, signal);
        }
    }
}

/// Adds a use, or lets it override the inherited use of the same attribute.
fn merge(list: &mut Vec<Use>, u: Use) {
    match list.iter_mut().find(|x| x.name == u.name) {
        Some(x) => {
            if u.requirement.is_some() {
                x.requirement = u.requirement;
            }
            x.site = u.site;
        }
        None => list.push(u),
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use crate::semconv::{ProblemKind, read_model};

    #[test]
    fn own_entries_override_inherited_levels_and_cycles_are_reported() {
        let files = [
            (
                PathBuf::from("a.yaml"),
                "groups:\n  - id: registry.z\n    type: attribute_group\n    attributes:\n      - id: z.a\n        type: string\n      - id: z.b\n        type: int\n  - id: base\n    type: attribute_group\n    attributes:\n      - ref: z.a\n        requirement_level: required\n      - ref: z.b\n",
            ),
            (
                PathBuf::from("b.yaml"),
                "groups:\n  - id: metric.z\n    type: metric\n    metric_name: z.m\n    instrument: gauge\n    unit: '1'\n    extends: base\n    attributes:\n      - ref: z.a\n        requirement_level: opt_in\n  - id: loop.a\n    type: attribute_group\n    extends: loop.b\n  - id: loop.b\n    type: attribute_group\n    extends: loop.a\n",
            ),
        ];
        let refs: Vec<(PathBuf, &str)> = files.iter().map(|(p, t)| (p.clone(), *t)).collect();
        let model = read_model(&refs);
        let m = &model.metrics["z.m"];
        assert_eq!(m.def.labels, ["z.a", "z.b"]);
        assert!(
            m.def.required_labels.is_empty(),
            "opt_in overrides required"
        );
        // z.b comes through `extends`, so it points at the `extends` line of b.yaml.
        assert_eq!((m.attributes[1].pos.file, m.attributes[1].pos.line), (1, 7));
        assert!(
            model
                .problems
                .iter()
                .any(|(k, _, msg)| *k == ProblemKind::Unresolved && msg.contains("cycle"))
        );
    }
}
