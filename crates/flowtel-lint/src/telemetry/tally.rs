//! Bounded counters over the whole input: distinct values of an attribute and distinct series
//! of a metric. The linter streams batches; these are the only state that outlives a batch,
//! and each is capped, so memory does not grow with the input.

use super::index::{FastMap, fast_map};

/// At most this many distinct values are remembered (with their text) per tally; past it,
/// new values are still counted as distinct up to [`Values::count_cap`] by hash only.
pub(crate) const TRACKED_VALUES: usize = 256;

/// How many of the most frequent values a finding shows.
pub(crate) const TOP_VALUES: usize = 5;

/// Distinct values of one key, with how often each was seen.
pub(crate) struct Values {
    /// Value hash -> index into `texts`/`counts` (for the first [`TRACKED_VALUES`]), or
    /// `usize::MAX` for values counted by hash only.
    seen: FastMap<u64, usize>,
    texts: Vec<String>,
    counts: Vec<u64>,
    /// Stop remembering new hashes past this many distinct values.
    count_cap: usize,
    /// Whether the cap was hit (the distinct count is then a lower bound).
    saturated: bool,
    /// First place the key was seen over its limit (set by the caller).
    pub first_over: Option<flowtel_conventions::Location>,
}

impl Values {
    /// A tally that counts distinct values exactly up to `count_cap`.
    pub fn new(count_cap: usize) -> Self {
        Values {
            seen: fast_map(),
            texts: Vec::new(),
            counts: Vec::new(),
            count_cap: count_cap.max(1),
            saturated: false,
            first_over: None,
        }
    }

    /// Counts one occurrence of a value; `text` is called only for a value not seen before
    /// while texts are still being remembered. Returns whether the value was new.
    pub fn add(&mut self, hash: u64, text: impl FnOnce() -> String) -> bool {
        if let Some(&i) = self.seen.get(&hash) {
            if i != usize::MAX {
                self.counts[i] += 1;
            }
            return false;
        }
        if self.seen.len() >= self.count_cap {
            self.saturated = true;
            return false;
        }
        let slot = if self.texts.len() < TRACKED_VALUES {
            self.texts.push(text());
            self.counts.push(1);
            self.texts.len() - 1
        } else {
            usize::MAX
        };
        self.seen.insert(hash, slot);
        true
    }

    /// Distinct values counted (a lower bound when [`Values::saturated`]).
    pub fn distinct(&self) -> usize {
        self.seen.len()
    }

    /// Whether more distinct values arrived than could be counted.
    pub fn saturated(&self) -> bool {
        self.saturated
    }

    /// The most frequent remembered values, most frequent first (ties by first seen).
    pub fn top(&self, n: usize) -> Vec<(&str, u64)> {
        let mut order: Vec<usize> = (0..self.texts.len()).collect();
        order.sort_by(|&a, &b| self.counts[b].cmp(&self.counts[a]).then(a.cmp(&b)));
        order
            .into_iter()
            .take(n)
            .map(|i| (self.texts[i].as_str(), self.counts[i]))
            .collect()
    }

    /// `"a" (12), "b" (3)` for messages.
    pub fn describe_top(&self) -> String {
        self.top(TOP_VALUES)
            .iter()
            .map(|(v, n)| format!("`{v}` ({n})"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Distinct series (label sets) of one metric, and the values of each of its labels.
pub(crate) struct Series {
    /// Label-set hashes; capped at `cap`.
    sets: FastMap<u64, ()>,
    cap: usize,
    saturated: bool,
    /// Per label: its distinct values (bounded), in first-seen order.
    pub labels: Vec<(String, Values)>,
    /// Where the series count first went over the limit.
    pub first_over: Option<flowtel_conventions::Location>,
}

impl Series {
    /// A tally that counts series exactly up to `cap`.
    pub fn new(cap: usize) -> Self {
        Series {
            sets: fast_map(),
            cap: cap.max(1),
            saturated: false,
            labels: Vec::new(),
            first_over: None,
        }
    }

    /// Counts a label set by its hash; returns whether it was new.
    pub fn add(&mut self, hash: u64) -> bool {
        if self.sets.contains_key(&hash) {
            return false;
        }
        if self.sets.len() >= self.cap {
            self.saturated = true;
            return false;
        }
        self.sets.insert(hash, ());
        true
    }

    /// The tally of a label's values (created on first use; at most 64 labels per metric).
    pub fn label(&mut self, key: &str) -> Option<&mut Values> {
        if let Some(i) = self.labels.iter().position(|(k, _)| k == key) {
            return Some(&mut self.labels[i].1);
        }
        if self.labels.len() >= 64 {
            return None;
        }
        self.labels.push((key.to_string(), Values::new(self.cap)));
        self.labels.last_mut().map(|(_, v)| v)
    }

    /// Distinct series counted (a lower bound when saturated).
    pub fn count(&self) -> usize {
        self.sets.len()
    }

    /// Whether more series arrived than could be counted.
    pub fn saturated(&self) -> bool {
        self.saturated
    }

    /// The label with the most distinct values.
    pub fn widest_label(&self) -> Option<&(String, Values)> {
        self.labels.iter().max_by_key(|(_, v)| v.distinct())
    }
}

/// Hash of one string with the tallies' hasher.
pub(crate) fn hash_str(s: &str) -> u64 {
    use std::hash::BuildHasher;
    foldhash::fast::FixedState::with_seed(0x5eed).hash_one(s)
}

/// Hash of a key and a value, for order-independent label-set hashes (summed).
pub(crate) fn hash_pair(key: &str, value: u64) -> u64 {
    use std::hash::BuildHasher;
    foldhash::fast::FixedState::with_seed(0x9a1).hash_one((key, value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn counts_values_and_ranks_the_most_frequent() {
        let mut v = Values::new(100);
        for s in ["a", "b", "a", "c", "a", "b"] {
            v.add(hash_str(s), || s.to_string());
        }
        assert_eq!(v.distinct(), 3);
        assert_eq!(v.top(2), [("a", 3), ("b", 2)]);
        assert_eq!(v.describe_top(), "`a` (3), `b` (2), `c` (1)");
        assert!(!v.saturated());
    }

    #[test]
    fn series_are_capped() {
        let mut s = Series::new(3);
        for h in 0..10u64 {
            s.add(h);
        }
        assert_eq!(s.count(), 3);
        assert!(s.saturated());
    }

    proptest! {
        /// Memory stays bounded whatever arrives: never more than the cap of hashes and
        /// TRACKED_VALUES texts.
        #[test]
        fn value_tally_is_bounded(values in proptest::collection::vec(any::<u32>(), 0..3000), cap in 1usize..600) {
            let mut v = Values::new(cap);
            let mut exact = std::collections::HashSet::new();
            for x in &values {
                v.add(hash_str(&x.to_string()), || x.to_string());
                exact.insert(*x);
            }
            prop_assert!(v.distinct() <= cap);
            prop_assert!(v.texts.len() <= TRACKED_VALUES);
            prop_assert_eq!(v.distinct(), exact.len().min(cap));
            prop_assert_eq!(v.saturated(), exact.len() > cap);
        }
    }
}
