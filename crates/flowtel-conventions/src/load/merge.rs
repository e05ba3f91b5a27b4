//! Merging decoded layers into one [`Registry`], from the most general to the most specific:
//! conflicting redefinitions reported with both places, semantic-conventions definitions
//! narrowed, limit gauges of saturation signals declared.

use std::collections::{HashMap, HashSet};

use crate::finding::Finding;
use crate::model::{Attribute, AttributeType, Instrument, Metric};
use crate::registry::{Layer, Origins, Registry};
use crate::rules::registry as rules;
use crate::rules::semconv as semconv_rules;
use crate::source::{FileId, Seg, SourceMap};

/// What merging reads and reports into.
pub(super) struct Merger<'a> {
    pub(super) sources: &'a SourceMap,
    pub(super) semconv_files: &'a HashSet<FileId>,
    pub(super) findings: &'a mut Vec<Finding>,
}

impl Merger<'_> {
    /// The registry of `ordered` layers (imports first); `imported` are the files another
    /// file imports (the top layer, which names the registry, is none of them).
    pub(super) fn merge(&mut self, ordered: &[Layer], imported: &[FileId]) -> Registry {
        let mut reg = Registry::default();
        let mut attr_layer: HashMap<String, FileId> = HashMap::new();
        let mut metric_layer: HashMap<String, FileId> = HashMap::new();
        let mut flow_layer: HashMap<String, FileId> = HashMap::new();
        let mut span_layer: HashMap<String, FileId> = HashMap::new();
        let mut sampling_layer: HashMap<String, FileId> = HashMap::new();
        let mut event_layer: HashMap<String, FileId> = HashMap::new();
        for layer in ordered {
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
                if let Some(p) = &l.body_patterns {
                    reg.lint.body_patterns = Some(p.clone());
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
            // A later layer may restate an event (narrow it, as over OpenTelemetry's): the most
            // specific definition is the one in force.
            for (name, event) in &c.events {
                reg.events.insert(name.clone(), event.clone());
                event_layer.insert(name.clone(), f);
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
            .find(|l| !imported.contains(&l.file))
            .or(ordered.last())
            .map(|l| &l.content);
        if let Some(top) = top {
            reg.name = top.name.clone();
            reg.version = top.version.clone();
        }
        reg.origins = Origins {
            attributes: attr_layer,
            metrics: metric_layer,
            flows: flow_layer,
            spans: span_layer,
            sampling: sampling_layer,
            events: event_layer,
        };
        reg
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
