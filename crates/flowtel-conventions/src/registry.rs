//! A merged conventions registry ([`Registry`]) and what it answers: every declaration by
//! name, where each came from, the effective sampling and regression thresholds of a flow,
//! deprecations and replacements, span conventions. [`crate::load`] builds it.

use std::collections::HashMap;

use indexmap::IndexMap;

use crate::model::{
    Attribute, AttributeType, Defaults, Deprecation, Event, Flow, LintConfig, Metric, Naming,
    PiiDetection, RegistryFile, Sampling, Span, SpanKind,
};
use crate::semconv::{Imported, root_namespace};
use crate::source::{FileId, SourceMap};

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
    /// Event name to the file that declares it (the last layer that touched it).
    pub events: HashMap<String, FileId>,
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
    /// Every declared log event.
    pub events: IndexMap<String, Event>,
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

impl Registry {
    /// Whether a file of the registry belongs to an imported semantic-conventions registry.
    pub fn is_semconv_file(&self, file: FileId) -> bool {
        self.semconv.iter().any(|s| s.file_ids.contains(&file))
    }

    /// Whether `name` lies in a root namespace that imported semantic conventions own.
    pub fn semconv_owns(&self, name: &str) -> bool {
        name.contains('.')
            && self
                .semconv
                .iter()
                .any(|s| s.namespaces.contains(root_namespace(name)))
    }

    /// The deprecation of an attribute.
    pub fn attribute_deprecation(&self, name: &str) -> Option<&Deprecation> {
        self.attributes.get(name)?.deprecated.as_ref()
    }

    /// The deprecation of a metric.
    pub fn metric_deprecation(&self, name: &str) -> Option<&Deprecation> {
        self.metrics.get(name)?.deprecated.as_ref()
    }

    /// The deprecation of a name: as an attribute, else as a metric.
    pub fn deprecation_of(&self, name: &str) -> Option<&Deprecation> {
        self.attribute_deprecation(name)
            .or_else(|| self.metric_deprecation(name))
    }

    /// The name to use instead of a deprecated one, following renames to a name that is not
    /// deprecated itself (or the last one of the chain). `None` when the name is not
    /// deprecated or its deprecation names no replacement.
    pub fn replacement_of(&self, name: &str) -> Option<&str> {
        let is_attr = self.attributes.contains_key(name);
        let dep = |n: &str| {
            if is_attr {
                self.attribute_deprecation(n)
            } else {
                self.metric_deprecation(n)
            }
        };
        let mut current = dep(name)?.renamed_to()?;
        for _ in 0..16 {
            match dep(current).and_then(|d| d.renamed_to()) {
                Some(next) if next != current => current = next,
                _ => break,
            }
        }
        Some(current)
    }

    /// The attribute that declares a key: the key itself, or the `template[...]` attribute whose
    /// name prefixes it (`http.request.header.content-type`). Returns the declared name too.
    pub fn attribute_for_key<'a>(&'a self, key: &str) -> Option<(&'a str, &'a Attribute)> {
        if let Some((k, a)) = self.attributes.get_key_value(key) {
            return Some((k.as_str(), a));
        }
        let mut prefix = key;
        while let Some((head, _)) = prefix.rsplit_once('.') {
            if let Some((k, a)) = self.attributes.get_key_value(head)
                && a.ty == AttributeType::Template
            {
                return Some((k.as_str(), a));
            }
            prefix = head;
        }
        None
    }

    /// Labels every data point of a metric must carry (empty for unknown metrics).
    pub fn required_labels(&self, metric: &str) -> &[String] {
        self.metrics
            .get(metric)
            .map_or(&[], |m| m.required_labels.as_slice())
    }

    /// Every span convention, by id.
    pub fn span_conventions(&self) -> &IndexMap<String, Span> {
        &self.spans
    }

    /// Attributes a span convention requires (empty for unknown ids).
    pub fn required_span_attributes(&self, id: &str) -> &[String] {
        self.spans
            .get(id)
            .map_or(&[], |s| s.required_attributes.as_slice())
    }

    /// The span convention an exported span most likely follows: among the conventions of its
    /// kind that are not deprecated, the one sharing the most attribute keys with the span,
    /// counting only conventions that share at least one key outside the general `server`,
    /// `client`, `network`, `error`, `url`, `user_agent` namespaces. `None` when nothing fits.
    pub fn span_convention_for(
        &self,
        kind: SpanKind,
        has_attribute: impl Fn(&str) -> bool,
    ) -> Option<(&str, &Span)> {
        const GENERAL: &[&str] = &["server", "client", "network", "error", "url", "user_agent"];
        let mut best: Option<(usize, usize, &str, &Span)> = None;
        for (id, s) in &self.spans {
            if s.kind != Some(kind) || s.deprecated.is_some() {
                continue;
            }
            let mut shared = 0;
            let mut specific = 0;
            for a in &s.attributes {
                if has_attribute(a) {
                    shared += 1;
                    if !GENERAL.contains(&root_namespace(a)) {
                        specific += 1;
                    }
                }
            }
            if specific == 0 {
                continue;
            }
            // Most shared keys wins; on a tie, the convention asking for fewer keys (the more
            // general one) wins, so refinements are only picked on evidence.
            let better = match best {
                None => true,
                Some((bs, blen, _, _)) => {
                    shared > bs || (shared == bs && s.attributes.len() < blen)
                }
            };
            if better {
                best = Some((shared, s.attributes.len(), id.as_str(), s));
            }
        }
        best.map(|(_, _, id, s)| (id, s))
    }
}
