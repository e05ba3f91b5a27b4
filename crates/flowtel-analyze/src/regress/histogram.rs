//! Latency distributions known only by their buckets (OTLP explicit-bucket histograms,
//! Prometheus `_bucket` series): quantiles estimated the way Prometheus' `histogram_quantile`
//! does, their order-statistic intervals mapped through the same interpolation, and the
//! Mann-Whitney test on bucket counts (every bucket a group of ties, which is exact for data
//! known only up to its bucket).
//!
//! The resolution of every number here is the bucket layout: a P99 that moves inside one
//! bucket cannot be seen, and the report says so.

use super::stats::{self, Estimate, MannWhitney};

/// A fixed-bucket histogram of durations in seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Buckets {
    /// Finite upper bounds, strictly increasing (the last bucket, `+Inf`, has none).
    pub bounds: Vec<f64>,
    /// Observations per bucket: `bounds.len() + 1` entries, the last one above every bound.
    pub counts: Vec<u64>,
}

/// Two histograms that cannot be added or compared because their buckets differ.
#[derive(Debug, Clone, PartialEq)]
pub struct LayoutMismatch {
    /// The bounds already seen.
    pub expected: Vec<f64>,
    /// The bounds that differ.
    pub found: Vec<f64>,
}

impl Buckets {
    /// An empty histogram with these bounds.
    pub fn empty(bounds: Vec<f64>) -> Self {
        let n = bounds.len() + 1;
        Buckets {
            bounds,
            counts: vec![0; n],
        }
    }

    /// Number of observations.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Adds another histogram of the same layout.
    pub fn add(&mut self, other: &Buckets) -> Result<(), LayoutMismatch> {
        if !self.same_layout(other) {
            return Err(LayoutMismatch {
                expected: self.bounds.clone(),
                found: other.bounds.clone(),
            });
        }
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        Ok(())
    }

    /// Whether both have the same bounds.
    pub fn same_layout(&self, other: &Buckets) -> bool {
        self.bounds.len() == other.bounds.len()
            && self
                .bounds
                .iter()
                .zip(&other.bounds)
                .all(|(a, b)| a.to_bits() == b.to_bits())
    }

    /// The value at (fractional) rank `rank` of `total`, interpolated linearly inside its
    /// bucket as `histogram_quantile` does: the first bucket starts at 0 (when its bound is
    /// positive), and a rank in the `+Inf` bucket gives the largest finite bound.
    fn at_rank(&self, rank: f64) -> f64 {
        if self.total() == 0 || self.bounds.is_empty() {
            return f64::NAN;
        }
        // The first bucket whose cumulative count reaches the rank; the +Inf bucket otherwise.
        let last = self.counts.len() - 1;
        let (mut b, mut below, mut cum) = (last, 0u64, 0u64);
        for (i, &count) in self.counts[..last].iter().enumerate() {
            if (cum + count) as f64 >= rank {
                (b, below) = (i, cum);
                break;
            }
            cum += count;
        }
        if b == last {
            return self.bounds[last - 1];
        }
        let end = self.bounds[b];
        if b == 0 && end <= 0.0 {
            return end;
        }
        let start = if b == 0 { 0.0 } else { self.bounds[b - 1] };
        let count = self.counts[b];
        if count == 0 {
            return start;
        }
        start + (end - start) * ((rank - below as f64) / count as f64)
    }

    /// Quantile `q` (0..=1) as Prometheus' `histogram_quantile(q, ...)` computes it.
    pub fn quantile(&self, q: f64) -> f64 {
        if q < 0.0 {
            return f64::NEG_INFINITY;
        }
        if q > 1.0 {
            return f64::INFINITY;
        }
        self.at_rank(q * self.total() as f64)
    }

    /// Quantile `q` with its order-statistic interval at `confidence`, each bound mapped
    /// through the bucket interpolation.
    pub fn quantile_estimate(&self, q: f64, confidence: f64) -> Estimate {
        let ranks = stats::quantile_rank_interval(self.total(), q, confidence);
        Estimate {
            value: self.quantile(q),
            low: ranks.lower.map(|r| self.at_rank(r as f64)),
            high: ranks.upper.map(|r| self.at_rank(r as f64)),
        }
    }

    /// The bucket `(lower, upper)` holding quantile `q`; `upper` is infinite for the `+Inf`
    /// bucket.
    pub fn bucket_of(&self, q: f64) -> (f64, f64) {
        let rank = q * self.total() as f64;
        let mut cum = 0u64;
        for (b, &count) in self.counts.iter().enumerate() {
            cum += count;
            if cum as f64 >= rank && count > 0 {
                let lo = if b == 0 { 0.0 } else { self.bounds[b - 1] };
                let hi = self.bounds.get(b).copied().unwrap_or(f64::INFINITY);
                return (lo, hi);
            }
        }
        (0.0, f64::INFINITY)
    }
}

/// Mann-Whitney U test of `x` against `y` (same layout), every bucket a group of ties.
pub fn mann_whitney(x: &Buckets, y: &Buckets) -> MannWhitney {
    stats::mann_whitney_groups(x.counts.iter().copied().zip(y.counts.iter().copied()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(bounds: &[f64], counts: &[u64]) -> Buckets {
        Buckets {
            bounds: bounds.to_vec(),
            counts: counts.to_vec(),
        }
    }

    #[test]
    fn quantiles_match_histogram_quantile() {
        // Cumulative buckets le=0.1: 10, le=0.5: 60, le=1: 90, +Inf: 100.
        let b = h(&[0.1, 0.5, 1.0], &[10, 50, 30, 10]);
        assert!((b.quantile(0.5) - 0.42).abs() < 1e-12);
        assert!((b.quantile(0.05) - 0.05).abs() < 1e-12);
        assert!((b.quantile(0.9) - 1.0).abs() < 1e-12);
        // In the +Inf bucket: the largest finite bound.
        assert_eq!(b.quantile(0.95), 1.0);
        assert_eq!(b.quantile(1.5), f64::INFINITY);
        assert!(h(&[0.1], &[0, 0]).quantile(0.5).is_nan());
        assert_eq!(b.bucket_of(0.5), (0.1, 0.5));
        assert_eq!(b.bucket_of(0.95), (1.0, f64::INFINITY));
    }

    #[test]
    fn layouts_must_agree() {
        let mut a = h(&[0.1, 0.5], &[1, 2, 3]);
        assert!(a.add(&h(&[0.1, 0.5], &[1, 1, 1])).is_ok());
        assert_eq!(a.counts, [2, 3, 4]);
        let err = a.add(&h(&[0.1, 0.25, 0.5], &[1, 1, 1, 1])).unwrap_err();
        assert_eq!(err.found, [0.1, 0.25, 0.5]);
    }

    #[test]
    fn bucket_counts_are_ties_for_the_u_test() {
        let x = h(&[1.0, 2.0], &[3, 0, 1]);
        let y = h(&[1.0, 2.0], &[1, 2, 0]);
        // Grouped: x = [a, a, a, c], y = [a, b, b]; ranks: a → 2.5, b → 5.5, c → 7.
        let mw = mann_whitney(&x, &y);
        assert!((mw.u - (3.0 * 2.5 + 7.0 - 10.0)).abs() < 1e-12);
        assert!(mw.ties);
    }
}
