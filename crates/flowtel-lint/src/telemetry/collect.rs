//! Where findings of a lint run go: one finding per distinct problem (rule and subject), at the
//! place it was first seen, with how often it occurred. A file with a million spans that all
//! carry the same personal attribute yields one finding, not a million; the number of distinct
//! findings kept is capped, so memory stays bounded.

use std::hash::{BuildHasher, Hash};

use flowtel_conventions::Finding;

use super::index::{FastMap, fast_map};

/// At most this many distinct findings are kept per run; later distinct ones are only counted.
pub const MAX_DISTINCT_FINDINGS: usize = 10_000;

/// The findings of a run, deduplicated by key.
pub(crate) struct Collected {
    seen: FastMap<u64, usize>,
    list: Vec<(Finding, u64)>,
    /// Distinct findings past the cap that were dropped.
    pub dropped: u64,
}

impl Collected {
    pub fn new() -> Self {
        Collected {
            seen: fast_map(),
            list: Vec::new(),
            dropped: 0,
        }
    }

    /// Records one occurrence of the problem identified by `key`; `make` builds the finding
    /// only the first time.
    pub fn report(&mut self, key: impl Hash, make: impl FnOnce() -> Finding) {
        let h = foldhash::fast::FixedState::with_seed(0xf1d).hash_one(key);
        if let Some(&i) = self.seen.get(&h) {
            self.list[i].1 += 1;
            return;
        }
        if self.list.len() >= MAX_DISTINCT_FINDINGS {
            self.dropped += 1;
            return;
        }
        self.seen.insert(h, self.list.len());
        self.list.push((make(), 1));
    }

    /// Adds a finding that is never deduplicated (input errors, whole-input results).
    pub fn push(&mut self, f: Finding) {
        self.list.push((f, 1));
    }

    /// The findings, each with `occurrences` in its subject when it was seen more than once.
    pub fn into_findings(self) -> Vec<Finding> {
        self.list
            .into_iter()
            .map(|(f, n)| {
                if n > 1 {
                    f.subject("occurrences", n.to_string())
                } else {
                    f
                }
            })
            .collect()
    }

    /// Number of distinct findings so far.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.list.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flowtel_conventions::rules::telemetry::UNKNOWN_METRIC;

    #[test]
    fn one_finding_per_key_with_a_count() {
        let mut c = Collected::new();
        for _ in 0..3 {
            c.report(("FT0101", "a"), || Finding::new(&UNKNOWN_METRIC, "a"));
        }
        c.report(("FT0101", "b"), || Finding::new(&UNKNOWN_METRIC, "b"));
        assert_eq!(c.len(), 2);
        let f = c.into_findings();
        assert_eq!(
            f[0].subject.get("occurrences").map(String::as_str),
            Some("3")
        );
        assert!(f[1].subject.get("occurrences").is_none());
    }
}
