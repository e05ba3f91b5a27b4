//! The Mann-Whitney U test of `flowtel regress` against an independent implementation:
//! `scipy.stats.mannwhitneyu` (two-sided, continuity correction) on fixed samples, with the
//! same method on both sides: exact for small samples without ties, the tie-corrected normal
//! approximation otherwise. U and the p-value must agree to 1e-6.
//!
//! The interpreter is `$FLOWTEL_PYTHON`, by default `<workspace>/.venv/bin/python` (with SciPy,
//! from `.ci/requirements-python.txt`). `FLOWTEL_SKIP_PYTHON=1` skips the test.

use std::path::PathBuf;
use std::process::Command;

use flowtel_analyze::regress::stats::{MannWhitney, UMethod, mann_whitney};
use flowtel_testkit::python;

/// Draws `n` values from a deterministic sequence (a linear congruential generator), rounded to
/// `step` so that a coarse step makes ties.
fn sample(seed: u64, n: usize, scale: f64, offset: f64, step: f64) -> Vec<f64> {
    let mut state = seed;
    let mut out: Vec<f64> = (0..n)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let u = (state >> 11) as f64 / (1u64 << 53) as f64;
            let v = offset + scale * u * u;
            (v / step).round() * step
        })
        .collect();
    out.sort_by(f64::total_cmp);
    out
}

/// SciPy's U and p-value for `x` against `y` with `method` (`exact` or `asymptotic`).
fn scipy(python: &PathBuf, x: &[f64], y: &[f64], method: &str) -> (f64, f64) {
    let list = |v: &[f64]| {
        v.iter()
            .map(|f| format!("{f:?}"))
            .collect::<Vec<_>>()
            .join(",")
    };
    let script = format!(
        "from scipy.stats import mannwhitneyu\n\
         r = mannwhitneyu([{}], [{}], alternative='two-sided', use_continuity=True, method='{method}')\n\
         print(repr(float(r.statistic)), repr(float(r.pvalue)))\n",
        list(x),
        list(y)
    );
    let out = Command::new(python)
        .args(["-c", &script])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    assert!(
        out.status.success(),
        "scipy failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let mut parts = text
        .split_whitespace()
        .map(|s| s.parse::<f64>().expect("number"));
    (parts.next().expect("U"), parts.next().expect("p"))
}

fn agree(name: &str, ours: MannWhitney, theirs: (f64, f64)) {
    let (u, p) = theirs;
    assert!(
        (ours.u - u).abs() <= 1e-6,
        "{name}: U {} here, {u} in SciPy",
        ours.u
    );
    assert!(
        (ours.p_value - p).abs() <= 1e-6,
        "{name}: p {} here, {p} in SciPy",
        ours.p_value
    );
}

#[test]
fn u_and_p_value_agree_with_scipy() {
    let Some(python) = python() else { return };
    // (name, before, after, method both sides must use)
    let cases = [
        (
            "small, no ties (exact)",
            sample(1, 7, 50.0, 10.0, 1e-9),
            sample(2, 9, 50.0, 14.0, 1e-9),
            "exact",
        ),
        (
            "30 vs 40, no ties (exact)",
            sample(3, 30, 80.0, 20.0, 1e-9),
            sample(4, 40, 80.0, 26.0, 1e-9),
            "exact",
        ),
        (
            "60 vs 80 with ties (normal, tie-corrected)",
            sample(5, 60, 40.0, 10.0, 5.0),
            sample(6, 80, 40.0, 12.0, 5.0),
            "asymptotic",
        ),
        (
            "400 vs 500, no ties (normal)",
            sample(7, 400, 100.0, 20.0, 1e-9),
            sample(8, 500, 100.0, 22.0, 1e-9),
            "asymptotic",
        ),
        (
            "identical samples",
            sample(9, 100, 30.0, 5.0, 1.0),
            sample(9, 100, 30.0, 5.0, 1.0),
            "asymptotic",
        ),
    ];
    for (name, x, y, method) in &cases {
        let ours = mann_whitney(x, y);
        let expected = if *method == "exact" {
            UMethod::Exact
        } else {
            UMethod::Normal
        };
        assert_eq!(ours.method, expected, "{name}: method");
        agree(name, ours, scipy(&python, x, y, method));
    }
}
