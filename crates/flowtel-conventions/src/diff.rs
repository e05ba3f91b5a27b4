//! `flowtel diff`: what changed between two versions of a registry, and whether the version bump
//! says so.
//!
//! Every change becomes a finding (`breaking-change` or `compatible-change`) located in the new
//! file, or in the old one for removals, so the usual renderers show it; a too-small bump adds a
//! `version-bump-too-small` error. Rendering (human, JSON, SARIF, Markdown for a pull-request
//! comment) is [`crate::output::diff`]'s.

use serde::Serialize;

use crate::finding::{Finding, Location};
use crate::load::Registry;
use crate::model::{Attribute, Event, Flow, LogSeverity, Metric};
use crate::rules::diff as r;
use crate::source::Seg;

/// The smallest semver bump a change needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Bump {
    /// No change at all.
    None,
    /// Documentation and other changes that no consumer can observe.
    Patch,
    /// Additions and deprecations.
    Minor,
    /// Breaking changes.
    Major,
}

impl Bump {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Bump::None => "none",
            Bump::Patch => "patch",
            Bump::Minor => "minor",
            Bump::Major => "major",
        }
    }
}

/// One change between the two registries.
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    /// The bump this change needs.
    pub bump: Bump,
    /// `attribute`, `metric`, `flow`, `step`.
    pub kind: &'static str,
    /// The name changed.
    pub name: String,
    /// What changed, as a sentence.
    pub description: String,
    /// Where (new file, or old file for removals).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
}

impl Change {
    /// True when the change breaks users of the old registry.
    pub fn is_breaking(&self) -> bool {
        self.bump == Bump::Major
    }
}

/// The result of comparing two registries.
#[derive(Debug, Clone, Serialize)]
pub struct Diff {
    /// Version of the old registry.
    pub old_version: String,
    /// Version of the new registry.
    pub new_version: String,
    /// The bump the changes need.
    pub required_bump: Bump,
    /// The bump the versions make (`None` when a version does not parse or goes down).
    pub actual_bump: Option<Bump>,
    /// Every change, breaking first.
    pub changes: Vec<Change>,
}

impl Diff {
    /// True when the version bump is at least what the changes need.
    pub fn bump_ok(&self) -> bool {
        match self.actual_bump {
            Some(actual) => actual >= self.effective_required(),
            None => self.changes.is_empty(),
        }
    }

    /// The required bump, relaxed for 0.x versions (where a minor bump may break).
    pub fn effective_required(&self) -> Bump {
        let pre_one = semver::Version::parse(&self.old_version).is_ok_and(|v| v.major == 0);
        match self.required_bump {
            Bump::Major if pre_one => Bump::Minor,
            Bump::Minor if pre_one => Bump::Patch,
            b => b,
        }
    }

    /// The changes as findings, plus a `version-bump-too-small` error when it is.
    pub fn findings(&self, new_version_location: Option<Location>) -> Vec<Finding> {
        let mut out: Vec<Finding> = self
            .changes
            .iter()
            .map(|c| {
                let rule = if c.is_breaking() {
                    &r::BREAKING_CHANGE
                } else {
                    &r::COMPATIBLE_CHANGE
                };
                Finding::new(rule, c.description.clone())
                    .at(c.location.clone())
                    .subject(c.kind, c.name.clone())
                    .subject("bump", c.bump.as_str())
            })
            .collect();
        if !self.bump_ok() {
            let need = self.effective_required();
            let msg = match self.actual_bump {
                Some(actual) => format!(
                    "version {} -> {} is a {} bump, but the changes need a {} bump",
                    self.old_version,
                    self.new_version,
                    actual.as_str(),
                    need.as_str()
                ),
                None => format!(
                    "version {} -> {} is not an increase of semantic versions",
                    self.old_version, self.new_version
                ),
            };
            out.insert(
                0,
                Finding::new(&r::VERSION_BUMP_TOO_SMALL, msg)
                    .at(new_version_location)
                    .subject("required", need.as_str())
                    .help(format!(
                        "set `version: {}`",
                        suggest_version(&self.old_version, need)
                    )),
            );
        }
        out
    }
}

fn suggest_version(old: &str, bump: Bump) -> String {
    let Ok(v) = semver::Version::parse(old) else {
        return "1.0.0".into();
    };
    match bump {
        Bump::Major => format!("{}.0.0", v.major + 1),
        Bump::Minor => format!("{}.{}.0", v.major, v.minor + 1),
        Bump::Patch | Bump::None => format!("{}.{}.{}", v.major, v.minor, v.patch + 1),
    }
}

fn actual_bump(old: &str, new: &str) -> Option<Bump> {
    let (o, n) = (
        semver::Version::parse(old).ok()?,
        semver::Version::parse(new).ok()?,
    );
    if n < o {
        return None;
    }
    Some(if n.major > o.major {
        Bump::Major
    } else if n.minor > o.minor {
        Bump::Minor
    } else if n > o {
        Bump::Patch
    } else {
        Bump::None
    })
}

struct Differ<'a> {
    old: &'a Registry,
    new: &'a Registry,
    changes: Vec<Change>,
}

impl Differ<'_> {
    fn loc_new(&self, section: &str, file: Option<usize>, path: &[Seg<'_>]) -> Option<Location> {
        let mut p = vec![Seg::Key(section)];
        p.extend_from_slice(path);
        self.new.sources.locate(file?, &p)
    }

    fn loc_old(&self, section: &str, file: Option<usize>, path: &[Seg<'_>]) -> Option<Location> {
        let mut p = vec![Seg::Key(section)];
        p.extend_from_slice(path);
        self.old.sources.locate(file?, &p)
    }

    fn push(
        &mut self,
        bump: Bump,
        kind: &'static str,
        name: &str,
        description: String,
        location: Option<Location>,
    ) {
        self.changes.push(Change {
            bump,
            kind,
            name: name.to_string(),
            description,
            location,
        });
    }

    fn attributes(&mut self) {
        let (old, new) = (self.old, self.new);
        for (name, a) in &old.attributes {
            let of = old.origins.attributes.get(name).copied();
            let nf = new.origins.attributes.get(name).copied();
            let Some(b) = new.attributes.get(name) else {
                let hint = renamed_hint(
                    new.attributes.iter().filter_map(|(n, x)| {
                        (x.deprecated.is_none() && !old.attributes.contains_key(n))
                            .then_some(n.as_str())
                    }),
                    name,
                );
                self.push(
                    Bump::Major,
                    "attribute",
                    name,
                    format!("attribute `{name}` was removed{hint}"),
                    self.loc_old("attributes", of, &[Seg::Name(name)]),
                );
                continue;
            };
            self.attribute(name, a, b, nf);
        }
        for name in new
            .attributes
            .keys()
            .filter(|n| !old.attributes.contains_key(*n))
        {
            let nf = new.origins.attributes.get(name).copied();
            self.push(
                Bump::Minor,
                "attribute",
                name,
                format!("attribute `{name}` was added"),
                self.loc_new("attributes", nf, &[Seg::Name(name)]),
            );
        }
    }

    fn attribute(&mut self, name: &str, a: &Attribute, b: &Attribute, nf: Option<usize>) {
        let at =
            |me: &Self, key: &str| me.loc_new("attributes", nf, &[Seg::Key(name), Seg::Key(key)]);
        if a.ty != b.ty {
            self.push(
                Bump::Major,
                "attribute",
                name,
                format!(
                    "attribute `{name}` changed type from `{}` to `{}`",
                    a.ty.as_str(),
                    b.ty.as_str()
                ),
                at(self, "type"),
            );
        }
        for v in a.values.iter().filter(|v| !b.values.contains(v)) {
            self.push(
                Bump::Major,
                "attribute",
                name,
                format!("enum value `{v}` was removed from attribute `{name}`"),
                at(self, "values"),
            );
        }
        for v in b.values.iter().filter(|v| !a.values.contains(v)) {
            self.push(
                Bump::Minor,
                "attribute",
                name,
                format!("enum value `{v}` was added to attribute `{name}`"),
                at(self, "values"),
            );
        }
        if !a.pii && b.pii {
            self.push(Bump::Major, "attribute", name, format!("attribute `{name}` became `pii`: it is dropped from metrics and redacted on spans"), at(self, "pii"));
        } else if a.pii && !b.pii {
            self.push(
                Bump::Minor,
                "attribute",
                name,
                format!("attribute `{name}` is no longer `pii`"),
                at(self, "pii"),
            );
        }
        if a.max_values != b.max_values {
            self.push(
                Bump::Minor,
                "attribute",
                name,
                format!(
                    "attribute `{name}` changed `max_values` from {} to {}",
                    opt(a.max_values),
                    opt(b.max_values)
                ),
                at(self, "max_values"),
            );
        }
        if a.redact != b.redact {
            self.push(
                Bump::Minor,
                "attribute",
                name,
                format!("attribute `{name}` changed how it is redacted"),
                at(self, "redact"),
            );
        }
        self.deprecation(
            "attribute",
            name,
            a.deprecated.is_some(),
            b.deprecated.as_ref().map(|d| d.describe()),
            at(self, "deprecated"),
        );
        if a.brief != b.brief || a.examples != b.examples {
            self.push(
                Bump::Patch,
                "attribute",
                name,
                format!("documentation of attribute `{name}` changed"),
                at(self, "brief"),
            );
        }
    }

    fn deprecation(
        &mut self,
        kind: &'static str,
        name: &str,
        was: bool,
        now: Option<String>,
        loc: Option<Location>,
    ) {
        match (was, now) {
            (false, Some(d)) => self.push(
                Bump::Minor,
                kind,
                name,
                format!("{kind} `{name}` was deprecated ({d})"),
                loc,
            ),
            (true, None) => self.push(
                Bump::Minor,
                kind,
                name,
                format!("{kind} `{name}` is no longer deprecated"),
                loc,
            ),
            _ => {}
        }
    }

    fn metrics(&mut self) {
        let (old, new) = (self.old, self.new);
        for (name, a) in &old.metrics {
            let of = old.origins.metrics.get(name).copied();
            let nf = new.origins.metrics.get(name).copied();
            let Some(b) = new.metrics.get(name) else {
                let hint = renamed_hint(
                    new.metrics
                        .keys()
                        .filter(|n| !old.metrics.contains_key(*n))
                        .map(String::as_str),
                    name,
                );
                self.push(
                    Bump::Major,
                    "metric",
                    name,
                    format!("metric `{name}` was removed{hint}"),
                    self.loc_old("metrics", of, &[Seg::Name(name)]),
                );
                continue;
            };
            self.metric(name, a, b, nf);
        }
        for name in new.metrics.keys().filter(|n| !old.metrics.contains_key(*n)) {
            let nf = new.origins.metrics.get(name).copied();
            self.push(
                Bump::Minor,
                "metric",
                name,
                format!("metric `{name}` was added"),
                self.loc_new("metrics", nf, &[Seg::Name(name)]),
            );
        }
    }

    fn metric(&mut self, name: &str, a: &Metric, b: &Metric, nf: Option<usize>) {
        let at = |me: &Self, key: &str| me.loc_new("metrics", nf, &[Seg::Key(name), Seg::Key(key)]);
        if a.instrument != b.instrument {
            self.push(
                Bump::Major,
                "metric",
                name,
                format!(
                    "metric `{name}` changed instrument from `{}` to `{}`",
                    a.instrument.as_str(),
                    b.instrument.as_str()
                ),
                at(self, "instrument"),
            );
        }
        if a.unit != b.unit {
            self.push(
                Bump::Major,
                "metric",
                name,
                format!(
                    "metric `{name}` changed unit from `{}` to `{}`",
                    a.unit, b.unit
                ),
                at(self, "unit"),
            );
        }
        for l in a.labels.iter().filter(|l| !b.labels.contains(l)) {
            self.push(
                Bump::Major,
                "metric",
                name,
                format!("label `{l}` was removed from metric `{name}`"),
                at(self, "labels"),
            );
        }
        for l in b.labels.iter().filter(|l| !a.labels.contains(l)) {
            self.push(
                Bump::Minor,
                "metric",
                name,
                format!("label `{l}` was added to metric `{name}`"),
                at(self, "labels"),
            );
        }
        if a.buckets != b.buckets {
            self.push(
                Bump::Minor,
                "metric",
                name,
                format!("bucket boundaries of metric `{name}` changed"),
                at(self, "buckets"),
            );
        }
        if a.cardinality_limit != b.cardinality_limit {
            self.push(
                Bump::Minor,
                "metric",
                name,
                format!(
                    "metric `{name}` changed `cardinality_limit` from {} to {}",
                    opt(a.cardinality_limit),
                    opt(b.cardinality_limit)
                ),
                at(self, "cardinality_limit"),
            );
        }
        self.saturation(name, a, b, nf);
        self.deprecation(
            "metric",
            name,
            a.deprecated.is_some(),
            b.deprecated.as_ref().map(|d| d.describe()),
            at(self, "deprecated"),
        );
        if a.brief != b.brief {
            self.push(
                Bump::Patch,
                "metric",
                name,
                format!("documentation of metric `{name}` changed"),
                at(self, "brief"),
            );
        }
    }

    /// Saturation: removing it or changing `per` breaks the limit gauge that dashboards and
    /// alerts divide by; adding it or moving the limit or warn level is compatible.
    fn saturation(&mut self, name: &str, a: &Metric, b: &Metric, nf: Option<usize>) {
        let loc = self.loc_new("metrics", nf, &[Seg::Key(name), Seg::Key("saturation")]);
        let loc = loc.or_else(|| self.loc_new("metrics", nf, &[Seg::Key(name)]));
        let warn_of = |reg: &Registry, m: &Metric| {
            m.saturation
                .as_ref()
                .map(|s| s.warn.unwrap_or(reg.defaults.saturation_warn))
        };
        match (&a.saturation, &b.saturation) {
            (None, None) => {}
            (None, Some(s)) => self.push(
                Bump::Minor,
                "metric",
                name,
                format!(
                    "metric `{name}` became a saturation signal with limit {} (adds `{}`)",
                    s.limit,
                    Metric::limit_metric_name(name)
                ),
                loc,
            ),
            (Some(_), None) => self.push(
                Bump::Major,
                "metric",
                name,
                format!(
                    "metric `{name}` is no longer a saturation signal (removes `{}`)",
                    Metric::limit_metric_name(name)
                ),
                loc,
            ),
            (Some(x), Some(y)) => {
                if x.per != y.per {
                    self.push(
                        Bump::Major,
                        "metric",
                        name,
                        format!(
                            "saturation signal `{name}` changed `per` from [{}] to [{}] (the labels of `{}`)",
                            x.per.join(", "),
                            y.per.join(", "),
                            Metric::limit_metric_name(name)
                        ),
                        loc.clone(),
                    );
                }
                if x.limit != y.limit {
                    self.push(
                        Bump::Minor,
                        "metric",
                        name,
                        format!(
                            "saturation limit of `{name}` changed from {} to {}",
                            x.limit, y.limit
                        ),
                        loc.clone(),
                    );
                }
                let (wa, wb) = (warn_of(self.old, a), warn_of(self.new, b));
                if wa != wb {
                    self.push(
                        Bump::Minor,
                        "metric",
                        name,
                        format!(
                            "saturation warning level of `{name}` changed from {} to {}",
                            wa.unwrap_or_default(),
                            wb.unwrap_or_default()
                        ),
                        loc,
                    );
                }
            }
        }
    }

    /// Sampling of every flow either registry knows, with defaults applied: what samplers do
    /// changes, so every difference needs a minor bump; none breaks a consumer's names.
    fn sampling(&mut self) {
        let (old, new) = (self.old, self.new);
        // A flow's addition or removal is its own change.
        for flow in old.flows.keys().filter(|f| new.flows.contains_key(*f)) {
            let (a, b) = (old.sampling_of(flow), new.sampling_of(flow));
            if a == b {
                continue;
            }
            let nf = new.origins.sampling.get(flow).copied();
            let loc = self
                .loc_new("sampling", nf, &[Seg::Name(flow)])
                .or_else(|| {
                    self.loc_new(
                        "flows",
                        new.origins.flows.get(flow).copied(),
                        &[Seg::Name(flow)],
                    )
                });
            let mut what = Vec::new();
            if a.ratio != b.ratio {
                let verb = if b.ratio < a.ratio {
                    "keeps fewer"
                } else {
                    "keeps more"
                };
                what.push(format!("ratio {} -> {} ({verb} traces)", a.ratio, b.ratio));
            }
            if a.keep_errors != b.keep_errors {
                what.push(format!(
                    "keep_errors {} -> {}",
                    a.keep_errors, b.keep_errors
                ));
            }
            if a.keep_slower_than != b.keep_slower_than {
                let ms = |d: Option<std::time::Duration>| {
                    d.map_or_else(|| "unset".into(), |d| format!("{}ms", d.as_millis()))
                };
                what.push(format!(
                    "keep_slower_than {} -> {}",
                    ms(a.keep_slower_than),
                    ms(b.keep_slower_than)
                ));
            }
            self.push(
                Bump::Minor,
                "sampling",
                flow,
                format!("sampling of flow `{flow}` changed: {}", what.join(", ")),
                loc,
            );
        }
        let (da, db) = (&old.defaults.sampling, &new.defaults.sampling);
        if da.decision_wait.get() != db.decision_wait.get() || da.num_traces != db.num_traces {
            self.push(
                Bump::Minor,
                "sampling",
                "defaults",
                format!(
                    "tail sampler settings changed: decision_wait {} -> {}, num_traces {} -> {}",
                    da.decision_wait, db.decision_wait, da.num_traces, db.num_traces
                ),
                None,
            );
        }
    }

    fn flows(&mut self) {
        let (old, new) = (self.old, self.new);
        for (name, a) in &old.flows {
            let of = old.origins.flows.get(name).copied();
            let nf = new.origins.flows.get(name).copied();
            let Some(b) = new.flows.get(name) else {
                self.push(
                    Bump::Major,
                    "flow",
                    name,
                    format!("flow `{name}` was removed"),
                    self.loc_old("flows", of, &[Seg::Name(name)]),
                );
                continue;
            };
            self.flow(name, a, b, of, nf);
        }
        for name in new.flows.keys().filter(|n| !old.flows.contains_key(*n)) {
            let nf = new.origins.flows.get(name).copied();
            self.push(
                Bump::Minor,
                "flow",
                name,
                format!("flow `{name}` was added"),
                self.loc_new("flows", nf, &[Seg::Name(name)]),
            );
        }
    }

    fn flow(&mut self, name: &str, a: &Flow, b: &Flow, of: Option<usize>, nf: Option<usize>) {
        let at = |me: &Self, key: &str| me.loc_new("flows", nf, &[Seg::Key(name), Seg::Key(key)]);
        for (step, _) in a.steps.iter().filter(|(s, _)| !b.steps.contains_key(*s)) {
            let loc = self.loc_old(
                "flows",
                of,
                &[Seg::Key(name), Seg::Key("steps"), Seg::Name(step)],
            );
            self.push(
                Bump::Major,
                "step",
                step,
                format!("step `{step}` was removed from flow `{name}`"),
                loc,
            );
        }
        for (step, _) in b.steps.iter().filter(|(s, _)| !a.steps.contains_key(*s)) {
            let loc = self.loc_new(
                "flows",
                nf,
                &[Seg::Key(name), Seg::Key("steps"), Seg::Name(step)],
            );
            self.push(
                Bump::Minor,
                "step",
                step,
                format!("step `{step}` was added to flow `{name}`"),
                loc,
            );
        }
        for (step, sa) in &a.steps {
            if let Some(sb) = b.steps.get(step)
                && sa != sb
            {
                let loc = self.loc_new(
                    "flows",
                    nf,
                    &[Seg::Key(name), Seg::Key("steps"), Seg::Key(step)],
                );
                self.push(
                    Bump::Minor,
                    "step",
                    step,
                    format!("step `{step}` of flow `{name}` changed its service or budget"),
                    loc,
                );
            }
        }
        for e in a.entry.iter().filter(|e| !b.entry.contains(e)) {
            self.push(
                Bump::Major,
                "flow",
                name,
                format!("entry `{e}` was removed from flow `{name}`"),
                at(self, "entry"),
            );
        }
        for e in b.entry.iter().filter(|e| !a.entry.contains(e)) {
            self.push(
                Bump::Minor,
                "flow",
                name,
                format!("entry `{e}` was added to flow `{name}`"),
                at(self, "entry"),
            );
        }
        if a.owner != b.owner || a.alert_route != b.alert_route {
            self.push(
                Bump::Minor,
                "flow",
                name,
                format!("owner or alert route of flow `{name}` changed"),
                at(self, "owner"),
            );
        }
        if a.slo != b.slo {
            self.push(
                Bump::Minor,
                "flow",
                name,
                format!("SLO of flow `{name}` changed"),
                at(self, "slo"),
            );
        }
        // Compared as resolved, so a change of `defaults.regress` shows on every flow it moves.
        let (ra, rb) = (
            self.old.regress_thresholds(name),
            self.new.regress_thresholds(name),
        );
        if ra != rb {
            let mut changes = Vec::new();
            if ra.confidence != rb.confidence {
                changes.push(format!(
                    "confidence {}% → {}%",
                    ra.confidence, rb.confidence
                ));
            }
            if ra.max_increase != rb.max_increase {
                changes.push(format!(
                    "max_increase {}% → {}%",
                    ra.max_increase, rb.max_increase
                ));
            }
            if ra.min_delta_seconds != rb.min_delta_seconds {
                changes.push(format!(
                    "min_delta {}s → {}s",
                    ra.min_delta_seconds, rb.min_delta_seconds
                ));
            }
            if ra.min_samples != rb.min_samples {
                changes.push(format!(
                    "min_samples {} → {}",
                    ra.min_samples, rb.min_samples
                ));
            }
            self.push(
                Bump::Minor,
                "flow",
                name,
                format!(
                    "regression-check thresholds of flow `{name}` changed: {}",
                    changes.join(", ")
                ),
                at(self, "regress"),
            );
        }
        self.deprecation(
            "flow",
            name,
            a.deprecated.is_some(),
            b.deprecated.as_ref().map(|d| d.describe()),
            at(self, "deprecated"),
        );
        if a.brief != b.brief {
            self.push(
                Bump::Patch,
                "flow",
                name,
                format!("documentation of flow `{name}` changed"),
                at(self, "brief"),
            );
        }
    }
}

impl Differ<'_> {
    fn events(&mut self) {
        let (old, new) = (self.old, self.new);
        for (name, a) in &old.events {
            let of = old.origins.events.get(name).copied();
            let nf = new.origins.events.get(name).copied();
            let Some(b) = new.events.get(name) else {
                let hint = renamed_hint(
                    new.events.iter().filter_map(|(n, x)| {
                        (x.deprecated.is_none() && !old.events.contains_key(n))
                            .then_some(n.as_str())
                    }),
                    name,
                );
                self.push(
                    Bump::Major,
                    "event",
                    name,
                    format!("event `{name}` was removed{hint}: services that log it now fail `flowtel::event!` and the linters"),
                    self.loc_old("events", of, &[Seg::Name(name)]),
                );
                continue;
            };
            self.event(name, a, b, nf);
        }
        for name in new.events.keys().filter(|n| !old.events.contains_key(*n)) {
            let nf = new.origins.events.get(name).copied();
            self.push(
                Bump::Minor,
                "event",
                name,
                format!("event `{name}` was added"),
                self.loc_new("events", nf, &[Seg::Name(name)]),
            );
        }
    }

    fn event(&mut self, name: &str, a: &Event, b: &Event, nf: Option<usize>) {
        let at = |d: &Self, key: &str| d.loc_new("events", nf, &[Seg::Key(name), Seg::Key(key)]);
        for r in b
            .required_attributes
            .iter()
            .filter(|r| !a.required_attributes.contains(r))
        {
            let was = if a.allows(r) {
                "optional"
            } else {
                "not listed"
            };
            self.push(
                Bump::Major,
                "event",
                name,
                format!("event `{name}` now requires attribute `{r}` (it was {was}): records written without it are reported"),
                at(self, "required_attributes"),
            );
        }
        for r in a
            .required_attributes
            .iter()
            .filter(|r| !b.required_attributes.contains(r))
        {
            let now = if b.allows(r) {
                "optional"
            } else {
                "no longer allowed"
            };
            let bump = if b.allows(r) {
                Bump::Minor
            } else {
                Bump::Major
            };
            self.push(
                bump,
                "event",
                name,
                format!("event `{name}` no longer requires attribute `{r}` (now {now})"),
                at(self, "required_attributes"),
            );
        }
        for r in a
            .attributes
            .iter()
            .filter(|r| !b.allows(r) && !a.required_attributes.contains(r))
        {
            self.push(
                Bump::Major,
                "event",
                name,
                format!("attribute `{r}` was removed from event `{name}`: code that writes it no longer compiles"),
                at(self, "attributes"),
            );
        }
        for r in b.attributes.iter().filter(|r| !a.allows(r)) {
            self.push(
                Bump::Minor,
                "event",
                name,
                format!("event `{name}` may now carry attribute `{r}`"),
                at(self, "attributes"),
            );
        }
        if a.severity != b.severity {
            let rank = |s: Option<LogSeverity>| s.map_or(0, |s| s.number());
            let bump = if rank(b.severity) > rank(a.severity) {
                Bump::Major
            } else {
                Bump::Minor
            };
            let show = |s: Option<LogSeverity>| {
                s.map_or("any".to_string(), |s| format!("`{}`", s.as_str()))
            };
            self.push(
                bump,
                "event",
                name,
                format!(
                    "lowest severity of event `{name}` changed from {} to {}",
                    show(a.severity),
                    show(b.severity)
                ),
                at(self, "severity"),
            );
        }
        if a.flow != b.flow || a.step != b.step {
            let show = |e: &Event| match (&e.flow, &e.step) {
                (Some(f), Some(s)) => format!("`{f}` step `{s}`"),
                (Some(f), None) => format!("`{f}`"),
                _ => "no flow".to_string(),
            };
            let bump = if b.flow.is_none() {
                Bump::Minor
            } else {
                Bump::Major
            };
            self.push(
                bump,
                "event",
                name,
                format!("event `{name}` moved from {} to {}", show(a), show(b)),
                at(self, "flow"),
            );
        }
        if a.rate_limit != b.rate_limit {
            self.push(
                Bump::Patch,
                "event",
                name,
                format!(
                    "rate limit of event `{name}` changed from {} to {}",
                    opt(a.rate_limit),
                    opt(b.rate_limit)
                ),
                at(self, "rate_limit"),
            );
        }
        if a.deprecated.is_none()
            && let Some(d) = &b.deprecated
        {
            self.push(
                Bump::Minor,
                "event",
                name,
                format!("event `{name}` was deprecated: {}", d.describe()),
                at(self, "deprecated"),
            );
        }
        if a.brief != b.brief {
            self.push(
                Bump::Patch,
                "event",
                name,
                format!("documentation of event `{name}` changed"),
                at(self, "brief"),
            );
        }
    }
}

fn opt(v: Option<u32>) -> String {
    v.map_or_else(|| "unset".into(), |v| v.to_string())
}

/// " (renamed to `x`?)" when an added name looks like the removed one.
fn renamed_hint<'a>(added: impl Iterator<Item = &'a str>, removed: &str) -> String {
    let best = added
        .map(|n| (strsim::jaro_winkler(n, removed), n))
        .filter(|(s, _)| *s > 0.85)
        .max_by(|a, b| a.0.total_cmp(&b.0));
    match best {
        Some((_, n)) => format!(" (renamed to `{n}`?)"),
        None => String::new(),
    }
}

impl Differ<'_> {
    /// Personal-data detection: a word, shape or pattern added makes the linters stricter and
    /// drops more metric labels at run time (a minor change: no name a consumer uses changes);
    /// one removed lets more through, which reviewers must see (minor too).
    fn pii(&mut self) {
        let (a, b) = (&self.old.pii, &self.new.pii);
        if a == b {
            return;
        }
        let mut what = Vec::new();
        let set = |v: &[String]| -> Vec<String> {
            let mut s: Vec<String> = v.iter().map(|w| w.trim().to_ascii_lowercase()).collect();
            s.sort();
            s.dedup();
            s
        };
        let (wa, wb) = (set(&a.key_words), set(&b.key_words));
        let added: Vec<&str> = wb
            .iter()
            .filter(|w| !wa.contains(w))
            .map(String::as_str)
            .collect();
        let removed: Vec<&str> = wa
            .iter()
            .filter(|w| !wb.contains(w))
            .map(String::as_str)
            .collect();
        if !added.is_empty() {
            what.push(format!("key words added: {}", added.join(", ")));
        }
        if !removed.is_empty() {
            what.push(format!(
                "key words removed (no longer reported): {}",
                removed.join(", ")
            ));
        }
        let shapes =
            |v: &[crate::model::ValueShape], w: &[crate::model::ValueShape]| -> Vec<&'static str> {
                v.iter()
                    .filter(|s| !w.contains(s))
                    .map(|s| s.as_str())
                    .collect()
            };
        let on = shapes(&b.value_shapes, &a.value_shapes);
        let off = shapes(&a.value_shapes, &b.value_shapes);
        if !on.is_empty() {
            what.push(format!("value shapes added: {}", on.join(", ")));
        }
        if !off.is_empty() {
            what.push(format!(
                "value shapes removed (no longer reported or dropped): {}",
                off.join(", ")
            ));
        }
        for (name, p) in &b.value_patterns {
            match a.value_patterns.get(name) {
                None => what.push(format!("value pattern `{name}` added")),
                Some(old) if old != p => {
                    what.push(format!("value pattern `{name}` changed: `{old}` -> `{p}`"))
                }
                Some(_) => {}
            }
        }
        for name in a
            .value_patterns
            .keys()
            .filter(|n| !b.value_patterns.contains_key(*n))
        {
            what.push(format!("value pattern `{name}` removed"));
        }
        if what.is_empty() {
            // Only order or spelling case changed.
            return;
        }
        let at = self
            .new
            .layers
            .iter()
            .rev()
            .find(|l| l.content.pii.is_some())
            .and_then(|l| self.new.sources.locate(l.file, &[Seg::Key("pii")]));
        self.push(
            Bump::Minor,
            "pii",
            "pii",
            format!("personal-data detection changed: {}", what.join("; ")),
            at,
        );
    }
}

impl Differ<'_> {
    /// `lint.allow_attributes`: the attribute keys telemetry may carry without a declaration,
    /// part of the names contract like the declarations themselves. An entry dropped or
    /// narrowed (`process.*` to `process.runtime.*`) is breaking (major), as removing a
    /// declared attribute is: telemetry that linted clean now gets `undeclared-attribute`
    /// findings, which fail a CI that denies warnings. An entry added or widened accepts more
    /// (minor). Reordering changes nothing.
    fn allow_attributes(&mut self) {
        let (old, new) = (
            &self.old.lint.allow_attributes,
            &self.new.lint.allow_attributes,
        );
        let at = self
            .new
            .layers
            .iter()
            .rev()
            .find(|l| {
                l.content
                    .lint
                    .as_ref()
                    .is_some_and(|l| !l.allow_attributes.is_empty())
            })
            .and_then(|l| {
                self.new
                    .sources
                    .locate(l.file, &[Seg::Key("lint"), Seg::Key("allow_attributes")])
            });
        for entry in old {
            if new.iter().any(|n| allow_entry_covers(n, entry)) {
                continue;
            }
            let narrower: Vec<String> = new
                .iter()
                .filter(|n| allow_entry_covers(entry, n))
                .map(|n| format!("`{n}`"))
                .collect();
            let how = if narrower.is_empty() {
                "removed".to_string()
            } else {
                format!("narrowed to {}", narrower.join(", "))
            };
            self.push(
                Bump::Major,
                "allow_attributes",
                entry,
                format!("`lint.allow_attributes` entry `{entry}` {how}: telemetry carrying keys it accepted now gets undeclared-attribute findings"),
                at.clone(),
            );
        }
        for entry in new {
            if old.iter().any(|o| allow_entry_covers(o, entry)) {
                continue;
            }
            self.push(
                Bump::Minor,
                "allow_attributes",
                entry,
                format!("`lint.allow_attributes` entry `{entry}` added: keys it matches are accepted without a declaration"),
                at.clone(),
            );
        }
    }
}

/// Whether allow-list entry `wide` accepts every key entry `narrow` accepts.
fn allow_entry_covers(wide: &str, narrow: &str) -> bool {
    if wide == narrow || wide == "*" {
        return true;
    }
    let narrow_base = narrow.strip_suffix(".*").unwrap_or(narrow);
    narrow != "*" && crate::model::attribute_pattern_matches(wide, narrow_base)
}

/// Compares two registries.
pub fn diff(old: &Registry, new: &Registry) -> Diff {
    let mut d = Differ {
        old,
        new,
        changes: Vec::new(),
    };
    d.attributes();
    d.metrics();
    d.flows();
    d.events();
    d.sampling();
    d.pii();
    d.allow_attributes();
    let mut changes = d.changes;
    changes.sort_by_key(|c| std::cmp::Reverse(c.bump));
    let required_bump = changes.iter().map(|c| c.bump).max().unwrap_or(Bump::None);
    Diff {
        old_version: old.version.clone(),
        new_version: new.version.clone(),
        required_bump,
        actual_bump: actual_bump(&old.version, &new.version),
        changes,
    }
}
