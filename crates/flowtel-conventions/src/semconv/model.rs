//! The resolved semantic-conventions model: attributes, metrics, spans and signals with the
//! files and positions they come from, and the problems found while reading them.

use std::collections::BTreeSet;
use std::path::PathBuf;

use indexmap::IndexMap;

use super::read::Pos;
use crate::finding::{Finding, Location};
use crate::model::{Attribute, Deprecation, Metric, Requirement, Span, Stability};
use crate::rules::semconv as rules;

/// What kind of problem a semantic-conventions file has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    /// A value that cannot be read (`FT0406`).
    Malformed,
    /// A reference that names nothing (`FT0405`).
    Unresolved,
}

/// A resolved attribute definition.
#[derive(Debug, Clone)]
pub struct SemAttribute {
    /// The definition as a flowtel attribute.
    pub def: Attribute,
    /// Where its key is written.
    pub pos: Pos,
    /// Where its type is written.
    pub type_pos: Pos,
    /// Where `deprecated` is written.
    pub deprecated_pos: Option<Pos>,
    /// Where each of `def.values` is written.
    pub member_pos: Vec<Pos>,
    /// Whether the enum's values are integers (`rpc.grpc.status_code`).
    pub int_values: bool,
}

/// An attribute as a metric, span, event or entity uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrUse {
    /// The attribute.
    pub name: String,
    /// How strongly the convention asks for it.
    pub requirement: Requirement,
    /// Where the use is written in the using group (the `ref`, or the `extends` / `ref_group`
    /// it comes through).
    pub pos: Pos,
}

/// A resolved metric.
#[derive(Debug, Clone)]
pub struct SemMetric {
    /// The definition as a flowtel metric (labels: every attribute; `required_labels`).
    pub def: Metric,
    /// Where its name is written.
    pub pos: Pos,
    /// Where its instrument is written.
    pub instrument_pos: Pos,
    /// Where its unit is written.
    pub unit_pos: Pos,
    /// Where `deprecated` is written.
    pub deprecated_pos: Option<Pos>,
    /// Its attributes with requirement levels.
    pub attributes: Vec<AttrUse>,
}

/// A resolved span convention.
#[derive(Debug, Clone)]
pub struct SemSpan {
    /// The definition as a flowtel span convention.
    pub def: Span,
    /// Where its id is written.
    pub pos: Pos,
    /// Its attributes with requirement levels.
    pub attributes: Vec<AttrUse>,
}

/// A resolved event or entity.
#[derive(Debug, Clone)]
pub struct SemSignal {
    /// Group id.
    pub id: String,
    /// Where its id is written.
    pub pos: Pos,
    /// Its attributes with requirement levels.
    pub attributes: Vec<AttrUse>,
    /// Stability.
    pub stability: Option<Stability>,
    /// Deprecation.
    pub deprecated: Option<Deprecation>,
}

impl SemSignal {
    /// The event as a flowtel event: every attribute it uses, the `required` ones also under
    /// `required_attributes` (OpenTelemetry events set no severity, flow or rate).
    pub fn as_event(&self) -> crate::model::Event {
        crate::model::Event {
            attributes: self.attributes.iter().map(|u| u.name.clone()).collect(),
            required_attributes: self
                .attributes
                .iter()
                .filter(|u| u.requirement == Requirement::Required)
                .map(|u| u.name.clone())
                .collect(),
            stability: self.stability,
            deprecated: self.deprecated.clone(),
            ..Default::default()
        }
    }
}

/// A resolved semantic-conventions registry.
#[derive(Debug, Clone, Default)]
pub struct Model {
    /// The files read, in order (`Pos::file` indexes this).
    pub files: Vec<PathBuf>,
    /// The files as shown in findings.
    pub displays: Vec<String>,
    /// Version of the conventions (from `manifest.yaml`'s `schema_url`), when known.
    pub version: Option<String>,
    /// Attributes by key.
    pub attributes: IndexMap<String, SemAttribute>,
    /// Metrics by name.
    pub metrics: IndexMap<String, SemMetric>,
    /// Span conventions by id.
    pub spans: IndexMap<String, SemSpan>,
    /// Events by name.
    pub events: IndexMap<String, SemSignal>,
    /// Entities by name.
    pub entities: IndexMap<String, SemSignal>,
    /// Problems found reading and resolving.
    pub problems: Vec<(ProblemKind, Pos, String)>,
}

impl Model {
    /// The location of a position.
    pub fn location(&self, pos: Pos) -> Location {
        let file = self
            .displays
            .get(pos.file as usize)
            .cloned()
            .unwrap_or_default();
        Location::new(file, pos.line, pos.column)
    }

    /// The problems as findings (`FT0405`, `FT0406`).
    pub fn findings(&self) -> Vec<Finding> {
        self.problems
            .iter()
            .map(|(kind, pos, msg)| {
                let (rule, help) = match kind {
                    ProblemKind::Malformed => (
                        &rules::SEMCONV_MALFORMED,
                        "see OpenTelemetry's semantic-conventions syntax; the definition is left out",
                    ),
                    ProblemKind::Unresolved => (
                        &rules::SEMCONV_UNRESOLVED,
                        "fix the name, or define what it refers to",
                    ),
                };
                Finding::new(rule, msg.clone())
                    .at(self.location(*pos))
                    .help(help)
            })
            .collect()
    }

    /// Root namespaces the conventions define names in (`http`, `db`, ...).
    pub fn namespaces(&self) -> BTreeSet<String> {
        self.attributes
            .keys()
            .chain(self.metrics.keys())
            .filter_map(|n| n.split_once('.').map(|(root, _)| root.to_string()))
            .collect()
    }
}
