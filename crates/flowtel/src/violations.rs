//! Counting of runtime enforcement: every label dropped, series folded and value redacted.
//!
//! Enforcement never fails a call; instead each intervention is counted here by rule and
//! exported as the registry's `flowtel.violations{rule=...}` counter (an observable counter, so
//! the hot path pays one relaxed atomic add). In debug builds the first violation of each rule
//! is also printed once to stderr, so a developer sees the mistake while writing the code. The
//! rules themselves are enforced elsewhere (`limits`, `meter`, `redact`, `propagation`); each
//! is declared, with what / why / fix, in the one rule catalogue
//! (`flowtel_conventions::rules::runtime::VIOLATIONS`), whose names are the label values.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use flowtel_conventions::rules::{Rule as CatalogueRule, runtime, telemetry};

/// A rule of runtime enforcement; its [`id`](Rule::id) is the value of the `rule` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Rule {
    /// A metric name that the registry does not declare: nothing was recorded.
    UnknownMetric,
    /// A metric instrument of another kind than the registry declares: nothing was recorded.
    InstrumentMismatch,
    /// A label the metric does not declare: the label was dropped.
    UndeclaredLabel,
    /// A personal-data (`pii`) attribute offered as a metric label: the label was dropped.
    PiiLabel,
    /// A label set beyond the metric's `cardinality_limit`: folded into the overflow series.
    CardinalityOverflow,
    /// An attribute value beyond the attribute's `max_values`, outside its enum values, or too
    /// long: replaced by `_OTHER`.
    ValueOverflow,
    /// A personal-data attribute on a span: removed, or replaced by a keyed hash.
    PiiRedacted,
    /// A baggage member beyond the W3C limits (64 members, 8192 bytes): dropped whole.
    BaggageOverflow,
    /// Spans or metric batches the exporter could not deliver (collector down, queue full).
    ExportDropped,
    /// Log records of one event beyond its per-second rate limit: dropped.
    EventRateLimited,
}

impl Rule {
    /// Every rule, in a fixed order.
    pub const ALL: [Rule; 10] = [
        Rule::UnknownMetric,
        Rule::InstrumentMismatch,
        Rule::UndeclaredLabel,
        Rule::PiiLabel,
        Rule::CardinalityOverflow,
        Rule::ValueOverflow,
        Rule::PiiRedacted,
        Rule::BaggageOverflow,
        Rule::ExportDropped,
        Rule::EventRateLimited,
    ];

    /// The rule's entry in the catalogue (`flowtel explain <id>` prints it): what it means,
    /// why it matters, how to fix it.
    pub fn catalogue(self) -> &'static CatalogueRule {
        match self {
            Rule::UnknownMetric => &telemetry::UNKNOWN_METRIC,
            Rule::InstrumentMismatch => &telemetry::INSTRUMENT_MISMATCH,
            Rule::UndeclaredLabel => &telemetry::UNDECLARED_LABEL,
            Rule::PiiLabel => &runtime::PII_LABEL,
            Rule::CardinalityOverflow => &runtime::CARDINALITY_OVERFLOW,
            Rule::ValueOverflow => &runtime::VALUE_OVERFLOW,
            Rule::PiiRedacted => &runtime::PII_REDACTED,
            Rule::BaggageOverflow => &runtime::BAGGAGE_OVERFLOW,
            Rule::ExportDropped => &runtime::EXPORT_DROPPED,
            Rule::EventRateLimited => &runtime::EVENT_RATE_LIMITED,
        }
    }

    /// The value of the `rule` label: the catalogue rule's name (`cardinality-overflow`), which
    /// `flowtel explain` also accepts. (The catalogue's own `id` is the `FT08xx` number.)
    #[allow(clippy::misnamed_getters)]
    pub fn id(self) -> &'static str {
        self.catalogue().name
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// Counters of enforcement by rule. Shared (`Arc`) by everything that enforces.
#[derive(Debug, Default)]
pub struct Violations {
    counts: [AtomicU64; Rule::ALL.len()],
    logged: [AtomicBool; Rule::ALL.len()],
}

impl Violations {
    /// Fresh counters, all zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts `n` violations of `rule`. `detail` says what happened; it is formatted only for
    /// the one debug-build message per rule, so callers pass it lazily.
    pub fn count(&self, rule: Rule, n: u64, detail: impl FnOnce() -> String) {
        if n == 0 {
            return;
        }
        self.counts[rule.index()].fetch_add(n, Ordering::Relaxed);
        if cfg!(debug_assertions) && !self.logged[rule.index()].swap(true, Ordering::Relaxed) {
            eprintln!(
                "flowtel: {} ({}); further violations of this rule are only counted in \
                 flowtel.violations",
                detail(),
                rule.id()
            );
        }
    }

    /// How many violations of `rule` were counted so far.
    pub fn get(&self, rule: Rule) -> u64 {
        self.counts[rule.index()].load(Ordering::Relaxed)
    }

    /// Every rule with a non-zero count.
    pub fn snapshot(&self) -> Vec<(Rule, u64)> {
        Rule::ALL
            .iter()
            .map(|&r| (r, self.get(r)))
            .filter(|&(_, n)| n > 0)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_rule_and_reports_only_nonzero() {
        let v = Violations::new();
        v.count(Rule::PiiLabel, 2, || "user.id on a metric".into());
        v.count(Rule::PiiLabel, 1, || {
            unreachable!("only the first is formatted")
        });
        v.count(Rule::CardinalityOverflow, 0, || {
            unreachable!("nothing to count")
        });
        assert_eq!(v.get(Rule::PiiLabel), 3);
        assert_eq!(v.snapshot(), vec![(Rule::PiiLabel, 3)]);
    }

    #[test]
    fn rule_ids_are_distinct_kebab_names() {
        let ids: std::collections::HashSet<_> = Rule::ALL.iter().map(|r| r.id()).collect();
        assert_eq!(ids.len(), Rule::ALL.len());
        for (i, r) in Rule::ALL.iter().enumerate() {
            assert_eq!(r.index(), i);
            assert!(r.id().chars().all(|c| c.is_ascii_lowercase() || c == '-'));
        }
    }

    #[test]
    fn the_rules_are_the_catalogues_runtime_violations() {
        let ours: Vec<&str> = Rule::ALL.iter().map(|r| r.catalogue().id).collect();
        let catalogue: Vec<&str> = runtime::VIOLATIONS.iter().map(|r| r.id).collect();
        assert_eq!(ours, catalogue);
        assert_eq!(Rule::CardinalityOverflow.id(), "cardinality-overflow");
        assert_eq!(Rule::UndeclaredLabel.id(), "undeclared-label");
    }
}
