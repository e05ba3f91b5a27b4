//! Distribution-free statistics for two samples of latencies: sample quantiles with
//! order-statistic confidence intervals, the ratio of two quantiles with its interval, the
//! two-sided Mann-Whitney U test (tie-corrected normal approximation, exact distribution for
//! small samples without ties), the Hodges-Lehmann shift with its Moses interval, and the
//! exceedance test of a tail quantile (Fisher's exact test on how many observations of each
//! side lie above the pooled quantile).
//!
//! Everything here works on sorted slices (or on grouped counts, for histograms) and is
//! deterministic: no resampling, so a report is the same every time it is made. Nothing here
//! knows flows, budgets or verdicts; [`super::verdict`] decides what the numbers mean.

use statrs::distribution::{Binomial, ContinuousCDF, DiscreteCDF, Hypergeometric, Normal};
use statrs::function::erf::erfc;

/// The smallest latency the log-scale computations use, in seconds (1 ns): a zero-length span
/// would otherwise make a ratio infinite.
pub const MIN_POSITIVE: f64 = 1e-9;

/// The standard normal quantile for a two-sided interval at `confidence` (0.95 → 1.959964).
pub fn z_two_sided(confidence: f64) -> f64 {
    let alpha = (1.0 - confidence).clamp(1e-12, 1.0);
    let normal = Normal::standard();
    normal.inverse_cdf(1.0 - alpha / 2.0)
}

/// Upper tail of the standard normal, `P(Z > z)`, accurate far into the tail.
pub fn normal_sf(z: f64) -> f64 {
    0.5 * erfc(z / std::f64::consts::SQRT_2)
}

/// Sample quantile of sorted data by linear interpolation between order statistics (Hyndman
/// and Fan type 7: R's default and NumPy's `linear`). `NaN` for an empty slice.
pub fn quantile_sorted(sorted: &[f64], p: f64) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        1 => sorted[0],
        n => {
            let h = (n - 1) as f64 * p.clamp(0.0, 1.0);
            let lo = h.floor() as usize;
            let hi = (lo + 1).min(n - 1);
            sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
        }
    }
}

/// 1-based ranks of the order statistics that bound a population quantile with a stated
/// confidence, whatever the distribution: `P(X(lower) <= Q(p) <= X(upper)) >= confidence`,
/// from the binomial distribution of the number of observations below `Q(p)`. A bound is
/// `None` when the sample is too small to have one at that confidence (for P99 at 95%, an
/// upper bound needs at least 299 observations).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RankInterval {
    /// Rank of the lower bound.
    pub lower: Option<u64>,
    /// Rank of the upper bound.
    pub upper: Option<u64>,
}

/// The [`RankInterval`] of quantile `p` in a sample of `n` at `confidence`.
pub fn quantile_rank_interval(n: u64, p: f64, confidence: f64) -> RankInterval {
    if n == 0 || !(0.0..=1.0).contains(&p) {
        return RankInterval {
            lower: None,
            upper: None,
        };
    }
    let half = (1.0 - confidence) / 2.0;
    let Ok(bin) = Binomial::new(p, n) else {
        return RankInterval {
            lower: None,
            upper: None,
        };
    };
    // X(l) > Q(p) exactly when fewer than l observations fall at or below Q(p):
    // P = cdf(l - 1). The lower rank is one more than the last k with cdf(k) <= half.
    let lower = last_at_most(&bin, n, half).map(|k| k + 1);
    // X(u) < Q(p) exactly when at least u observations fall below Q(p): P = 1 - cdf(u - 1).
    // The upper rank is one more than the first k with cdf(k) >= 1 - half.
    let upper = first_at_least(&bin, n, 1.0 - half).map(|k| k + 1);
    RankInterval { lower, upper }
}

/// A starting guess for the `k` where the binomial cdf crosses `level` (normal approximation),
/// clamped to `0..n`.
fn guess(bin: &Binomial, n: u64, level: f64) -> u64 {
    let (mean, sd) = (
        bin.p() * n as f64,
        (bin.p() * (1.0 - bin.p()) * n as f64).sqrt(),
    );
    let z = Normal::standard().inverse_cdf(level.clamp(1e-15, 1.0 - 1e-15));
    (mean + z * sd).round().clamp(0.0, (n - 1) as f64) as u64
}

/// The last `k` in `0..n` with `cdf(k) <= level`, `None` if `cdf(0)` is already above it.
/// Starts from the normal approximation and walks, so a large `n` costs a few evaluations.
fn last_at_most(bin: &Binomial, n: u64, level: f64) -> Option<u64> {
    if bin.cdf(0) > level {
        return None;
    }
    let mut k = guess(bin, n, level);
    while k > 0 && bin.cdf(k) > level {
        k -= 1;
    }
    while k + 1 < n && bin.cdf(k + 1) <= level {
        k += 1;
    }
    Some(k)
}

/// The first `k` in `0..n` with `cdf(k) >= level`, `None` if `cdf(n - 1)` is still below it.
fn first_at_least(bin: &Binomial, n: u64, level: f64) -> Option<u64> {
    if bin.cdf(n - 1) < level {
        return None;
    }
    let mut k = guess(bin, n, level);
    while k + 1 < n && bin.cdf(k) < level {
        k += 1;
    }
    while k > 0 && bin.cdf(k - 1) >= level {
        k -= 1;
    }
    Some(k)
}

/// A point estimate with a confidence interval; an absent bound is unbounded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// The point estimate.
    pub value: f64,
    /// Lower bound of the interval.
    pub low: Option<f64>,
    /// Upper bound of the interval.
    pub high: Option<f64>,
}

/// Quantile `p` of sorted data with its order-statistic interval at `confidence`.
pub fn quantile_estimate(sorted: &[f64], p: f64, confidence: f64) -> Estimate {
    let ranks = quantile_rank_interval(sorted.len() as u64, p, confidence);
    let at = |r: u64| sorted[(r - 1) as usize];
    Estimate {
        value: quantile_sorted(sorted, p),
        low: ranks.lower.map(at),
        high: ranks.upper.map(at),
    }
}

/// The ratio `after / before` of two independent quantile estimates with a confidence
/// interval, on the log scale: each side's standard error is read off its order-statistic
/// interval (`(ln high - ln low) / 2z`, as Price and Bonett (2002) do for medians) and the two
/// add in quadrature. Unbounded when either side has no two-sided interval.
pub fn quantile_ratio(before: &Estimate, after: &Estimate, confidence: f64) -> Estimate {
    let ln = |x: f64| x.max(MIN_POSITIVE).ln();
    let ratio = ln(after.value) - ln(before.value);
    let z = z_two_sided(confidence);
    let se = |e: &Estimate| match (e.low, e.high) {
        (Some(l), Some(h)) => Some((ln(h) - ln(l)) / (2.0 * z)),
        _ => None,
    };
    match (se(before), se(after)) {
        (Some(a), Some(b)) => {
            let half = z * (a * a + b * b).sqrt();
            Estimate {
                value: ratio.exp(),
                low: Some((ratio - half).exp()),
                high: Some((ratio + half).exp()),
            }
        }
        _ => Estimate {
            value: ratio.exp(),
            low: None,
            high: None,
        },
    }
}

/// The exceedance test of a tail quantile: how many observations of each side lie above the
/// pooled sample's quantile `q`, and how unlikely that split is if both sides come from one
/// distribution.
///
/// The threshold depends on the pooled sample only, so under the null hypothesis (the two
/// samples are exchangeable) the number of after-observations among the `K` above it is
/// hypergeometric whatever the distribution and whatever ties there are: the test is Fisher's
/// exact test of the 2x2 table (side × above/not above), one-sided in each direction. It needs
/// far fewer samples than an interval for the quantile itself: at `q = 0.99` the pooled sample
/// of 600 + 600 observations has about 12 above the threshold, and all of them on the after
/// side has probability about 2^-12, while an order-statistic interval for P99 at 99.67%
/// confidence needs 635 observations per side before it has an upper bound at all. It tests
/// whether the after side has more of its mass in the tail (a mixture of a few slow requests
/// into an unchanged body is exactly that), not by how much: the size of the change is the
/// ratio of the two sample quantiles.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Exceedance {
    /// The quantile, 0..1.
    pub quantile: f64,
    /// The pooled sample's quantile `q` (type 7), seconds: the threshold.
    pub threshold: f64,
    /// Before-observations above the threshold, and the before sample size.
    pub before_above: u64,
    /// The before sample size.
    pub before_count: u64,
    /// After-observations above the threshold.
    pub after_above: u64,
    /// The after sample size.
    pub after_count: u64,
    /// `P(at least after_above of the K above are after-observations)` under the null: small
    /// when the after side is slower in the tail.
    pub p_slower: f64,
    /// `P(at most after_above ...)` under the null: small when the after side is faster.
    pub p_faster: f64,
    /// The smallest `p_slower` these sample sizes can give (every observation above the
    /// threshold an after-observation): when it is above the test's level, the samples are too
    /// small to test this quantile.
    pub min_p: f64,
}

/// The [`Exceedance`] test of quantile `q` between sorted `before` and sorted `after`.
pub fn exceedance_test(before: &[f64], after: &[f64], q: f64) -> Exceedance {
    let (m, n) = (before.len() as u64, after.len() as u64);
    let mut pooled = Vec::with_capacity(before.len() + after.len());
    let (mut i, mut j) = (0, 0);
    while i < before.len() || j < after.len() {
        if j == after.len() || (i < before.len() && before[i] <= after[j]) {
            pooled.push(before[i]);
            i += 1;
        } else {
            pooled.push(after[j]);
            j += 1;
        }
    }
    let threshold = quantile_sorted(&pooled, q);
    let above = |s: &[f64]| (s.len() - s.partition_point(|x| *x <= threshold)) as u64;
    let (before_above, after_above) = (above(before), above(after));
    let k = before_above + after_above;
    let (p_slower, p_faster, min_p) = match Hypergeometric::new(m + n, k, n) {
        Ok(h) if k > 0 && m > 0 && n > 0 => {
            let ge = |x: u64| if x == 0 { 1.0 } else { h.sf(x - 1) };
            (
                ge(after_above).clamp(0.0, 1.0),
                h.cdf(after_above).clamp(0.0, 1.0),
                ge(k.min(n)).clamp(0.0, 1.0),
            )
        }
        _ => (1.0, 1.0, 1.0),
    };
    Exceedance {
        quantile: q,
        threshold,
        before_above,
        before_count: m,
        after_above,
        after_count: n,
        p_slower,
        p_faster,
        min_p,
    }
}

/// How the p-value of a Mann-Whitney test was computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UMethod {
    /// The exact null distribution of U (small samples without ties).
    Exact,
    /// The normal approximation with tie correction and continuity correction.
    Normal,
}

/// A two-sided Mann-Whitney U test of `x` against `y`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MannWhitney {
    /// U of the first sample (`R1 - n1 (n1 + 1) / 2`), as `scipy.stats.mannwhitneyu` reports it.
    pub u: f64,
    /// Standardised statistic (`(U - n1 n2 / 2) / sd`, signed: positive when `x` tends to be
    /// larger), without continuity correction.
    pub z: f64,
    /// Two-sided p-value.
    pub p_value: f64,
    /// How the p-value was computed.
    pub method: UMethod,
    /// Whether the samples have tied values.
    pub ties: bool,
}

/// Largest sample size for which the exact distribution is used (both sides, no ties).
pub const EXACT_MAX: u64 = 50;

/// Mann-Whitney U test from grouped counts: `groups` yields, for each distinct value (or
/// histogram bucket) in increasing order, how many observations of `x` and of `y` have it.
/// Values that share a group are ties and get the mid-rank.
pub fn mann_whitney_groups(groups: impl IntoIterator<Item = (u64, u64)>) -> MannWhitney {
    let mut n1 = 0u64;
    let mut n2 = 0u64;
    let mut rank_sum_x = 0.0f64;
    let mut tie_term = 0.0f64;
    let mut seen = 0u64;
    for (cx, cy) in groups {
        let t = cx + cy;
        if t == 0 {
            continue;
        }
        // Ranks seen+1 ..= seen+t share the mid-rank.
        let mid = seen as f64 + (t as f64 + 1.0) / 2.0;
        rank_sum_x += cx as f64 * mid;
        if t > 1 {
            let t = t as f64;
            tie_term += t * t * t - t;
        }
        seen += t;
        n1 += cx;
        n2 += cy;
    }
    let (f1, f2) = (n1 as f64, n2 as f64);
    let u1 = rank_sum_x - f1 * (f1 + 1.0) / 2.0;
    let mu = f1 * f2 / 2.0;
    let n = f1 + f2;
    let ties = tie_term > 0.0;
    if n1 == 0 || n2 == 0 {
        return MannWhitney {
            u: u1,
            z: 0.0,
            p_value: 1.0,
            method: UMethod::Normal,
            ties,
        };
    }
    let var = f1 * f2 / 12.0 * ((n + 1.0) - tie_term / (n * (n - 1.0)));
    let sd = var.max(0.0).sqrt();
    let z = if sd > 0.0 { (u1 - mu) / sd } else { 0.0 };
    let u_big = u1.max(f1 * f2 - u1);
    if !ties && n1 <= EXACT_MAX && n2 <= EXACT_MAX {
        let p = 2.0 * exact_sf(u_big.round() as u64, n1, n2);
        return MannWhitney {
            u: u1,
            z,
            p_value: p.min(1.0),
            method: UMethod::Exact,
            ties,
        };
    }
    let p = if sd > 0.0 {
        2.0 * normal_sf((u_big - mu - 0.5) / sd)
    } else {
        1.0
    };
    MannWhitney {
        u: u1,
        z,
        p_value: p.clamp(0.0, 1.0),
        method: UMethod::Normal,
        ties,
    }
}

/// Mann-Whitney U test of sorted `x` against sorted `y`.
pub fn mann_whitney(x: &[f64], y: &[f64]) -> MannWhitney {
    mann_whitney_groups(MergedGroups { x, y, i: 0, j: 0 })
}

/// Walks two sorted slices together, yielding `(count in x, count in y)` per distinct value.
struct MergedGroups<'a> {
    x: &'a [f64],
    y: &'a [f64],
    i: usize,
    j: usize,
}

impl Iterator for MergedGroups<'_> {
    type Item = (u64, u64);

    fn next(&mut self) -> Option<(u64, u64)> {
        let v = match (self.x.get(self.i), self.y.get(self.j)) {
            (Some(a), Some(b)) => a.min(*b),
            (Some(a), None) => *a,
            (None, Some(b)) => *b,
            (None, None) => return None,
        };
        let (si, sj) = (self.i, self.j);
        while self.i < self.x.len() && self.x[self.i] == v {
            self.i += 1;
        }
        while self.j < self.y.len() && self.y[self.j] == v {
            self.j += 1;
        }
        Some(((self.i - si) as u64, (self.j - sj) as u64))
    }
}

/// `P(U >= u)` under the null hypothesis for samples of `n1` and `n2` without ties: the
/// coefficients of the Gaussian binomial `[n1 + n2 choose n1]_q` count the arrangements with
/// each value of U.
fn exact_sf(u: u64, n1: u64, n2: u64) -> f64 {
    let counts = u_counts(n1 as usize, n2 as usize);
    let total: i128 = counts.iter().sum();
    let tail: i128 = counts.iter().skip(u as usize).sum();
    tail as f64 / total as f64
}

/// Number of arrangements of `n1` x's and `n2` y's with each value of U (index = U).
fn u_counts(n1: usize, n2: usize) -> Vec<i128> {
    // [n2 + i choose i]_q = [n2 + i - 1 choose i - 1]_q * (1 - q^(n2+i)) / (1 - q^i); every
    // intermediate is a polynomial with integer coefficients of size at most 2 C(n1+n2, n1),
    // which i128 holds for n1 + n2 <= 2 * EXACT_MAX.
    let mut poly: Vec<i128> = vec![1];
    for i in 1..=n1 {
        let shift = n2 + i;
        let mut next = vec![0i128; poly.len() + shift];
        for (k, c) in poly.iter().enumerate() {
            next[k] += c;
            next[k + shift] -= c;
        }
        for k in i..next.len() {
            next[k] += next[k - i];
        }
        next.truncate(i * n2 + 1);
        poly = next;
    }
    poly
}

/// The Hodges-Lehmann estimate of the shift `after - before` (the median of all pairwise
/// differences) with its distribution-free (Moses) confidence interval. Both slices sorted.
pub fn hodges_lehmann(before: &[f64], after: &[f64], confidence: f64) -> Option<Estimate> {
    let (m, n) = (before.len() as u64, after.len() as u64);
    if m == 0 || n == 0 {
        return None;
    }
    let pairs = Pairwise {
        before,
        after,
        total: m * n,
    };
    let total = m * n;
    let median = if total % 2 == 1 {
        pairs.kth(total.div_ceil(2))
    } else {
        let lo = pairs.kth(total / 2);
        let hi = if pairs.count_le(lo) > total / 2 {
            lo
        } else {
            pairs.next_above(lo)
        };
        lo + (hi - lo) / 2.0
    };
    // Moses: the interval runs from the C-th to the (mn + 1 - C)-th difference, with C from
    // the null distribution of U (normal approximation, tie-corrected).
    let (fm, fn_) = (m as f64, n as f64);
    let nn = fm + fn_;
    let tie_term = tie_term(before, after);
    let sd = (fm * fn_ / 12.0 * ((nn + 1.0) - tie_term / (nn * (nn - 1.0))))
        .max(0.0)
        .sqrt();
    let c = (total as f64 / 2.0 - z_two_sided(confidence) * sd).floor();
    let (low, high) = if c >= 1.0 {
        let c = c as u64;
        (Some(pairs.kth(c)), Some(pairs.kth(total + 1 - c)))
    } else {
        (None, None)
    };
    Some(Estimate {
        value: median,
        low,
        high,
    })
}

fn tie_term(x: &[f64], y: &[f64]) -> f64 {
    MergedGroups { x, y, i: 0, j: 0 }
        .map(|(a, b)| {
            let t = (a + b) as f64;
            t * t * t - t
        })
        .sum()
}

/// Values per side of the strided sample [`Pairwise::kth`] guesses from.
const GUESS_SIDE: usize = 4096;

/// The implicit sorted matrix of differences `after[j] - before[i]`.
struct Pairwise<'a> {
    before: &'a [f64],
    after: &'a [f64],
    total: u64,
}

/// Maps a finite float to an integer with the same order (IEEE 754 total order).
fn order_key(x: f64) -> i64 {
    let b = x.to_bits() as i64;
    b ^ ((((b >> 63) as u64) >> 1) as i64)
}

fn from_order_key(k: i64) -> f64 {
    let b = k ^ ((((k >> 63) as u64) >> 1) as i64);
    f64::from_bits(b as u64)
}

impl Pairwise<'_> {
    /// How many differences are `<= t`. For each `after[j]` the differences `<= t` are a suffix
    /// of `before` (it is sorted, and rounded subtraction is monotone), and that suffix only
    /// shrinks as `j` grows.
    fn count_le(&self, t: f64) -> u64 {
        let b = self.before;
        let mut p = 0usize;
        let mut count = 0u64;
        for &a in self.after {
            while p < b.len() && a - b[p] > t {
                p += 1;
            }
            count += (b.len() - p) as u64;
        }
        count
    }

    /// The smallest difference greater than `t`; `t` itself when there is none.
    fn next_above(&self, t: f64) -> f64 {
        let b = self.before;
        let mut p = 0usize;
        let mut best = f64::INFINITY;
        for &a in self.after {
            while p < b.len() && a - b[p] > t {
                p += 1;
            }
            if p > 0 {
                best = best.min(a - b[p - 1]);
            }
        }
        if best.is_finite() { best } else { t }
    }

    /// The `k`-th smallest difference (1-based). Bisects the value range, counting in one
    /// pass per step, until few enough differences are left in the bracket to collect and
    /// select directly; if the bracket gets as narrow as floats allow first, bisects the floats
    /// in their total order. Either way the result is exactly one of the differences.
    ///
    /// On large samples the bracket starts from guesses taken on a strided sample of both
    /// sides ([`strided`]); a guess only ever narrows the bracket, so the result does not
    /// depend on it.
    fn kth(&self, k: u64) -> f64 {
        let k = k.clamp(1, self.total);
        let (b, a) = (self.before, self.after);
        let collect_limit = (4 * (a.len() + b.len()) as u64).max(1 << 16);
        // Invariant: count_le(lo) < k <= count_le(hi).
        let mut lo = next_down(a[0] - b[b.len() - 1]);
        let mut hi = a[a.len() - 1] - b[0];
        let (mut c_lo, mut c_hi) = (0u64, self.total);
        let sampled = b.len().max(a.len()) > GUESS_SIDE;
        if sampled && self.total > 16 * collect_limit {
            let (sb, sa) = (strided(b), strided(a));
            let sample = Pairwise {
                before: &sb,
                after: &sa,
                total: (sa.len() * sb.len()) as u64,
            };
            // The same relative rank in the sample, give or take a margin: the sample's
            // ranks are off by at most about one per block along the boundary of the
            // differences <= t (the two sample sizes), and in practice by a few percent of
            // that, so the first margin is tight and a wider one is tried on a side it misses.
            let rank = (k as f64 - 0.5) / self.total as f64 * sample.total as f64;
            let blocks = (sa.len() + sb.len()) as f64;
            let at = |r: f64| sample.kth(r.clamp(1.0, sample.total as f64) as u64);
            let (mut below, mut above) = (false, false);
            for margin in [blocks / 64.0, blocks / 4.0, 2.0 * blocks] {
                for up in [false, true] {
                    if (up && above) || (!up && below) {
                        continue;
                    }
                    let t = at(if up { rank + margin } else { rank - margin });
                    let c = self.count_le(t);
                    if c >= k {
                        above = true;
                        if t < hi {
                            (hi, c_hi) = (t, c);
                        }
                    } else {
                        below = true;
                        if t > lo {
                            (lo, c_lo) = (t, c);
                        }
                    }
                }
                if below && above {
                    break;
                }
            }
        }
        for _ in 0..200 {
            if c_hi - c_lo <= collect_limit {
                let mut inside = self.between(lo, hi);
                let idx = (k - c_lo - 1) as usize;
                if idx < inside.len() {
                    let (_, v, _) = inside.select_nth_unstable_by(idx, f64::total_cmp);
                    return *v;
                }
                break;
            }
            let mid = lo + (hi - lo) / 2.0;
            if !(mid > lo && mid < hi) {
                break;
            }
            let c = self.count_le(mid);
            if c >= k {
                (hi, c_hi) = (mid, c);
            } else {
                (lo, c_lo) = (mid, c);
            }
        }
        // The floats in (lo, hi] in their total order.
        let (mut klo, mut khi) = (order_key(lo) + 1, order_key(hi));
        while klo < khi {
            // The keys of a negative and a positive float are far apart: midpoint in i128.
            let mid = ((i128::from(klo) + i128::from(khi)).div_euclid(2)) as i64;
            if self.count_le(from_order_key(mid)) >= k {
                khi = mid;
            } else {
                klo = mid + 1;
            }
        }
        from_order_key(klo)
    }

    /// Every difference `d` with `lo < d <= hi`.
    fn between(&self, lo: f64, hi: f64) -> Vec<f64> {
        let b = self.before;
        let (mut p_hi, mut p_lo) = (0usize, 0usize);
        let mut out = Vec::new();
        for &a in self.after {
            // Differences <= hi are the suffix from p_hi, those <= lo the suffix from p_lo.
            while p_hi < b.len() && a - b[p_hi] > hi {
                p_hi += 1;
            }
            while p_lo < b.len() && a - b[p_lo] > lo {
                p_lo += 1;
            }
            out.extend(b[p_hi..p_lo].iter().map(|x| a - x));
        }
        out
    }
}

/// Every `s`-th value, about [`GUESS_SIDE`] of them: the sample [`Pairwise::kth`] guesses its
/// first bracket from.
fn strided(v: &[f64]) -> Vec<f64> {
    let stride = v.len().div_ceil(GUESS_SIDE).max(1);
    v.iter().step_by(stride).copied().collect()
}

/// The largest float below `x` (finite `x`).
fn next_down(x: f64) -> f64 {
    from_order_key(order_key(x) - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(mut v: Vec<f64>) -> Vec<f64> {
        v.sort_by(f64::total_cmp);
        v
    }

    #[test]
    fn quantiles_interpolate_like_numpy() {
        let v = sorted((1..=10).map(f64::from).collect());
        // numpy.quantile(range(1, 11), [0.5, 0.95, 0.99]) = 5.5, 9.55, 9.91
        assert!((quantile_sorted(&v, 0.5) - 5.5).abs() < 1e-12);
        assert!((quantile_sorted(&v, 0.95) - 9.55).abs() < 1e-12);
        assert!((quantile_sorted(&v, 0.99) - 9.91).abs() < 1e-12);
        assert!(quantile_sorted(&[], 0.5).is_nan());
    }

    #[test]
    fn median_rank_interval_matches_the_binomial_table() {
        // Conover's table: n = 20, 95% interval for the median is X(6)..X(15).
        let r = quantile_rank_interval(20, 0.5, 0.95);
        assert_eq!((r.lower, r.upper), (Some(6), Some(15)));
        // P99 needs a large sample for an upper bound: 1 - 0.99^n >= 0.975 from n = 367.
        assert_eq!(quantile_rank_interval(300, 0.99, 0.95).upper, None);
        assert!(quantile_rank_interval(400, 0.99, 0.95).upper.is_some());
    }

    #[test]
    fn exact_u_distribution_counts_arrangements() {
        // n1 = 2, n2 = 2: U takes 0,1,2,2,3,4 over the six arrangements.
        assert_eq!(u_counts(2, 2), vec![1, 1, 2, 1, 1]);
        let c = u_counts(EXACT_MAX as usize, EXACT_MAX as usize);
        assert_eq!(c.len(), 2501);
        assert!(c.iter().all(|x| *x >= 0));
        assert_eq!(c[0], 1);
        assert_eq!(c[2500], 1);
    }

    #[test]
    fn u_statistic_with_ties() {
        let x = sorted(vec![1.0, 2.0, 2.0, 3.0]);
        let y = sorted(vec![2.0, 3.0, 4.0, 5.0, 6.0]);
        let mw = mann_whitney(&x, &y);
        // ranks of x: 1, 3, 3, 5.5 → R1 = 12.5, U1 = 12.5 - 10 = 2.5
        assert!((mw.u - 2.5).abs() < 1e-12);
        assert!(mw.ties);
        assert_eq!(mw.method, UMethod::Normal);
        assert!(mw.z < 0.0);
    }

    #[test]
    fn hodges_lehmann_is_the_median_of_pairwise_differences() {
        let before = sorted(vec![1.0, 2.0, 4.0, 7.0]);
        let after = sorted(vec![3.0, 5.0, 6.0]);
        let mut diffs: Vec<f64> = after
            .iter()
            .flat_map(|a| before.iter().map(move |b| a - b))
            .collect();
        diffs.sort_by(f64::total_cmp);
        let expect = (diffs[5] + diffs[6]) / 2.0;
        let hl = hodges_lehmann(&before, &after, 0.95).unwrap();
        assert_eq!(hl.value, expect);
        let p = Pairwise {
            before: &before,
            after: &after,
            total: 12,
        };
        for (k, d) in diffs.iter().enumerate() {
            assert_eq!(p.kth(k as u64 + 1), *d, "k = {}", k + 1);
        }
    }

    #[test]
    fn kth_difference_of_large_samples_starts_from_a_guess_and_stays_exact() {
        // 5000 x 300 differences: large enough for the guessed bracket, small enough to sort.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        // Skewed, with ties (values rounded to 10 us), the sides shifted apart.
        let mut draw = |n: usize, scale: f64| -> Vec<f64> {
            sorted(
                (0..n)
                    .map(|_| {
                        let u = (next() % 1_000_000) as f64 / 1e6;
                        ((-(1.0 - u).ln() * scale) * 1e5).round() / 1e5
                    })
                    .collect(),
            )
        };
        let before = draw(5000, 0.05);
        let after = draw(300, 0.08);
        let mut diffs: Vec<f64> = after
            .iter()
            .flat_map(|a| before.iter().map(move |b| a - b))
            .collect();
        diffs.sort_by(f64::total_cmp);
        let p = Pairwise {
            before: &before,
            after: &after,
            total: diffs.len() as u64,
        };
        assert!(p.total > 16 * (1 << 16) && before.len() > GUESS_SIDE);
        let n = diffs.len();
        for k in [
            1,
            2,
            n / 100,
            n / 4,
            n / 2,
            n / 2 + 1,
            3 * n / 4,
            n - n / 100,
            n - 1,
            n,
        ] {
            assert_eq!(p.kth(k as u64), diffs[k - 1], "k = {k}");
        }
        for _ in 0..20 {
            let k = (next() % n as u64) as usize + 1;
            assert_eq!(p.kth(k as u64), diffs[k - 1], "k = {k}");
        }
    }

    #[test]
    fn shifted_samples_give_the_shift() {
        let before: Vec<f64> = (0..200).map(|i| 0.010 + i as f64 * 1e-4).collect();
        let after: Vec<f64> = before.iter().map(|x| x + 0.003).collect();
        let hl = hodges_lehmann(&before, &after, 0.95).unwrap();
        assert!((hl.value - 0.003).abs() < 1e-9, "{hl:?}");
        assert!(hl.low.unwrap() < 0.003 && hl.high.unwrap() > 0.003);
    }

    #[test]
    fn exceedance_counts_above_the_pooled_quantile() {
        // 600 + 600: a dozen slow requests in the after side put it above the pooled P99.
        let before: Vec<f64> = (0..600).map(|i| 0.005 + i as f64 * 1e-5).collect();
        let mut after = before.clone();
        for x in after.iter_mut().take(12) {
            *x += 0.4;
        }
        let after = sorted(after);
        let e = exceedance_test(&before, &after, 0.99);
        assert_eq!(e.before_above + e.after_above, 12, "{e:?}");
        assert_eq!((e.before_above, e.after_above), (0, 12), "{e:?}");
        // All 12 on one side of 1200: C(600, 12) / C(1200, 12).
        let expect: f64 = (0..12)
            .map(|i| (600.0 - i as f64) / (1200.0 - i as f64))
            .product();
        assert!(
            (e.p_slower / expect - 1.0).abs() < 1e-6,
            "{e:?} vs {expect}"
        );
        assert_eq!(e.min_p, e.p_slower);
        assert!(e.p_faster > 0.999);
        // The same sample on both sides: an even split, nothing significant.
        let e = exceedance_test(&before, &before, 0.99);
        assert_eq!(e.before_above, e.after_above);
        assert!(e.p_slower > 0.4 && e.p_faster > 0.4, "{e:?}");
        // Too few observations: nothing above the pooled P99 of 20.
        let small: Vec<f64> = (1..=10).map(f64::from).collect();
        let e = exceedance_test(&small, &small, 0.99);
        assert!(e.min_p >= 0.5, "{e:?}");
    }

    #[test]
    fn ratio_of_quantiles_is_unbounded_without_intervals() {
        let small = sorted((1..=50).map(f64::from).collect());
        let b = quantile_estimate(&small, 0.99, 0.95);
        assert!(b.high.is_none());
        let r = quantile_ratio(&b, &b, 0.95);
        assert_eq!(r.value, 1.0);
        assert!(r.low.is_none());
    }
}
