//! Exact quantiles on a sample, the one definition every analysis uses: nearest rank
//! (`P95` of 100 values is the 95th smallest), so every reported quantile is a value that was
//! observed.

/// The `q` quantile (0..=1) of `sorted` (ascending) by nearest rank; `None` when empty.
pub fn quantile(sorted: &[u64], q: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    Some(sorted[rank(sorted.len(), q)])
}

/// Index of the `q` quantile in a sorted sample of `n` (> 0) values, by nearest rank.
pub fn rank(n: usize, q: f64) -> usize {
    let q = q.clamp(0.0, 1.0);
    let r = (q * n as f64).ceil() as usize;
    r.clamp(1, n) - 1
}

/// P50, P95, P99 and max of a sample, in its unit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Quantiles {
    /// Number of values.
    pub count: u64,
    /// Median.
    pub p50: u64,
    /// 95th percentile.
    pub p95: u64,
    /// 99th percentile.
    pub p99: u64,
    /// Largest value.
    pub max: u64,
}

impl Quantiles {
    /// Sorts `values` and takes its quantiles (all zero for an empty sample).
    pub fn of(values: &mut [u64]) -> Quantiles {
        values.sort_unstable();
        Quantiles::of_sorted(values)
    }

    /// The quantiles of an already sorted sample.
    pub fn of_sorted(values: &[u64]) -> Quantiles {
        Quantiles {
            count: values.len() as u64,
            p50: quantile(values, 0.50).unwrap_or(0),
            p95: quantile(values, 0.95).unwrap_or(0),
            p99: quantile(values, 0.99).unwrap_or(0),
            max: values.last().copied().unwrap_or(0),
        }
    }

    /// The named quantile (`p50`, `p95`, `p99`, `max`).
    pub fn get(&self, name: &str) -> Option<u64> {
        match name {
            "p50" => Some(self.p50),
            "p95" => Some(self.p95),
            "p99" => Some(self.p99),
            "max" => Some(self.max),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_quantiles_are_observed_values() {
        let mut v: Vec<u64> = (1..=100).rev().collect();
        let q = Quantiles::of(&mut v);
        assert_eq!(
            (q.count, q.p50, q.p95, q.p99, q.max),
            (100, 50, 95, 99, 100)
        );
        assert_eq!(quantile(&[7], 0.99), Some(7));
        assert_eq!(quantile(&[], 0.5), None);
        assert_eq!(quantile(&[1, 2, 3], 0.0), Some(1));
        assert_eq!(Quantiles::of(&mut []), Quantiles::default());
    }
}
