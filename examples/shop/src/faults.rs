//! Faults on demand: `--slow SERVICE=[pNN:]DURATION`, `--fail SERVICE=PERCENT%` and
//! `--saturate SERVICE`, parsed once and consulted by each service on each request.
//!
//! Which requests a fault hits is decided by a per-service request counter on the golden-ratio
//! (Weyl) sequence, so a run is reproducible, the hits are spread without a period, and any run
//! of requests has its share of them (4% of 600 requests is 24, not 17 or 31 as a hash gives).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The services of the shop, by the names the conventions give them.
pub const SERVICES: &[&str] = &["gateway", "identity", "catalog", "payments", "orders"];

/// Services whose saturation `--saturate` can cause.
pub const SATURABLE: &[&str] = &["orders", "payments"];

/// Added latency: `extra` on a `fraction` of the requests (1.0: all of them).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Slow {
    /// How much slower a hit request is.
    pub extra: Duration,
    /// Which share of the requests is hit (`p99:` means 0.01).
    pub fraction: f64,
}

/// The faults of one service.
#[derive(Debug, Default)]
pub struct Faults {
    /// `--slow`.
    pub slow: Option<Slow>,
    /// `--fail`: the share of requests answered with a server error.
    pub fail: f64,
    /// `--saturate`: the service's workers are too few or too slow for their queue.
    pub saturate: bool,
    slow_count: AtomicU64,
    fail_count: AtomicU64,
}

impl Faults {
    /// The delay to add to this request (zero when not hit).
    pub fn delay(&self) -> Duration {
        match self.slow {
            Some(s) if hit(&self.slow_count, s.fraction) => s.extra,
            _ => Duration::ZERO,
        }
    }

    /// Whether this request fails with a server error.
    pub fn fails(&self) -> bool {
        self.fail > 0.0 && hit(&self.fail_count, self.fail)
    }
}

fn hit(counter: &AtomicU64, fraction: f64) -> bool {
    if fraction >= 1.0 {
        return true;
    }
    let n = counter.fetch_add(1, Ordering::Relaxed);
    // The golden-ratio (Weyl) sequence: frac(n / phi) fills [0, 1) evenly without a period,
    // so any run of requests has its share of hits, give or take one or two.
    let x = n.wrapping_mul(0x9e37_79b9_7f4a_7c15) as f64 / 18_446_744_073_709_551_616.0;
    x < fraction
}

/// Every service's faults, from the command line.
#[derive(Debug, Default)]
pub struct FaultPlan {
    services: Vec<(&'static str, Arc<Faults>)>,
}

impl FaultPlan {
    /// Parses the `--slow`, `--fail` and `--saturate` values; an error says which value is
    /// wrong and what is expected.
    pub fn parse(slow: &[String], fail: &[String], saturate: &[String]) -> Result<Self, String> {
        let mut plan = FaultPlan {
            services: SERVICES.iter().map(|s| (*s, Arc::default())).collect(),
        };
        for spec in slow {
            let (service, value) = split(spec, "--slow", "payments=150ms or payments=p99:400ms")?;
            let (fraction, duration) = match value.split_once(':') {
                Some((q, d)) => (tail_fraction(q, spec)?, d),
                None => (1.0, value),
            };
            let extra = parse_duration(duration).ok_or_else(|| {
                format!("--slow {spec}: `{duration}` is not a duration (e.g. 150ms, 1.5s)")
            })?;
            plan.get_mut(service, "--slow")?.slow = Some(Slow { extra, fraction });
        }
        for spec in fail {
            let (service, value) = split(spec, "--fail", "catalog=2%")?;
            let percent = value
                .strip_suffix('%')
                .and_then(|p| p.trim().parse::<f64>().ok())
                .filter(|p| (0.0..=100.0).contains(p))
                .ok_or_else(|| {
                    format!("--fail {spec}: `{value}` is not a percentage from 0% to 100%")
                })?;
            plan.get_mut(service, "--fail")?.fail = percent / 100.0;
        }
        for service in saturate {
            if !SATURABLE.contains(&service.as_str()) {
                return Err(format!(
                    "--saturate {service}: only {} have a work queue to saturate",
                    SATURABLE.join(" and ")
                ));
            }
            plan.get_mut(service, "--saturate")?.saturate = true;
        }
        Ok(plan)
    }

    /// The faults of `service` (none for a service without any).
    pub fn of(&self, service: &str) -> Arc<Faults> {
        self.services
            .iter()
            .find(|(s, _)| *s == service)
            .map(|(_, f)| f.clone())
            .unwrap_or_default()
    }

    /// One line per fault, for the run's banner (empty without faults).
    pub fn describe(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (service, f) in &self.services {
            if let Some(s) = f.slow {
                if s.fraction >= 1.0 {
                    out.push(format!("{service} {} ms slower", s.extra.as_millis()));
                } else {
                    out.push(format!(
                        "{service} {} ms slower on {}% of requests",
                        s.extra.as_millis(),
                        s.fraction * 100.0
                    ));
                }
            }
            if f.fail > 0.0 {
                out.push(format!("{service} fails {}% of requests", f.fail * 100.0));
            }
            if f.saturate {
                out.push(format!(
                    "{service} saturated (workers too slow for the queue)"
                ));
            }
        }
        out
    }

    fn get_mut(&mut self, service: &str, flag: &str) -> Result<&mut Faults, String> {
        self.services
            .iter_mut()
            .find(|(s, _)| *s == service)
            // Only the parser holds the plan's `Arc`s while it is built.
            .and_then(|(_, f)| Arc::get_mut(f))
            .ok_or_else(|| {
                format!(
                    "{flag} {service}: no such service; the shop has {}",
                    SERVICES.join(", ")
                )
            })
    }
}

fn split<'a>(spec: &'a str, flag: &str, example: &str) -> Result<(&'a str, &'a str), String> {
    spec.split_once('=')
        .map(|(s, v)| (s.trim(), v.trim()))
        .ok_or_else(|| format!("{flag} {spec}: expected SERVICE=VALUE, e.g. {flag} {example}"))
}

/// `p99` -> 0.01, `p95` -> 0.05, `p99.9` -> 0.001.
fn tail_fraction(q: &str, spec: &str) -> Result<f64, String> {
    q.strip_prefix('p')
        .and_then(|n| n.parse::<f64>().ok())
        .filter(|n| *n > 0.0 && *n < 100.0)
        .map(|n| (100.0 - n) / 100.0)
        .ok_or_else(|| {
            format!("--slow {spec}: `{q}` is not a tail quantile; write p90, p99 or p99.9")
        })
}

/// `150ms`, `1.5s`, `400us`.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let (number, scale) = if let Some(n) = text.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = text.strip_suffix("us") {
        (n, 1e-6)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('m') {
        (n, 60.0)
    } else {
        return None;
    };
    let v: f64 = number.trim().parse().ok()?;
    (v.is_finite() && v >= 0.0 && v * scale < 86_400.0).then(|| Duration::from_secs_f64(v * scale))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(slow: &[&str], fail: &[&str], sat: &[&str]) -> Result<FaultPlan, String> {
        let v = |x: &[&str]| x.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        FaultPlan::parse(&v(slow), &v(fail), &v(sat))
    }

    #[test]
    fn parses_the_three_faults() {
        let p = plan(
            &["payments=150ms", "catalog=p99:400ms"],
            &["catalog=2%"],
            &["orders"],
        )
        .unwrap();
        assert_eq!(
            p.of("payments").slow,
            Some(Slow {
                extra: Duration::from_millis(150),
                fraction: 1.0
            })
        );
        let tail = p.of("catalog").slow.unwrap();
        assert_eq!(tail.extra, Duration::from_millis(400));
        assert!((tail.fraction - 0.01).abs() < 1e-12);
        assert!((p.of("catalog").fail - 0.02).abs() < 1e-12);
        assert!(p.of("orders").saturate);
        assert!(!p.of("gateway").saturate && p.of("gateway").slow.is_none());
        assert_eq!(p.describe().len(), 4);
    }

    #[test]
    fn rejects_what_it_cannot_do_with_a_hint() {
        for (slow, fail, sat, needle) in [
            (&["payment=1ms"][..], &[][..], &[][..], "no such service"),
            (&["payments=fast"], &[], &[], "not a duration"),
            (&["payments=q99:1ms"], &[], &[], "not a tail quantile"),
            (&["payments"], &[], &[], "expected SERVICE=VALUE"),
            (&[], &["catalog=2"], &[], "percentage"),
            (&[], &["catalog=200%"], &[], "percentage"),
            (&[], &[], &["identity"], "work queue"),
        ] {
            let e = plan(slow, fail, sat).unwrap_err();
            assert!(e.contains(needle), "{e}");
        }
    }

    #[test]
    fn a_fraction_hits_about_that_share_of_requests() {
        let f = Faults {
            fail: 0.02,
            slow: Some(Slow {
                extra: Duration::from_millis(5),
                fraction: 0.01,
            }),
            ..Faults::default()
        };
        let fails = (0..100_000).filter(|_| f.fails()).count();
        let slow = (0..100_000).filter(|_| !f.delay().is_zero()).count();
        assert!((1_990..=2_010).contains(&fails), "{fails}");
        assert!((990..=1_010).contains(&slow), "{slow}");
        // Any stretch has its share: 4% of the next 600 requests is 24, give or take two.
        let tail = Faults {
            slow: Some(Slow {
                extra: Duration::from_millis(5),
                fraction: 0.04,
            }),
            ..Faults::default()
        };
        for _ in 0..5 {
            let hits = (0..600).filter(|_| !tail.delay().is_zero()).count();
            assert!((22..=26).contains(&hits), "{hits}");
        }
        assert!(Faults::default().delay().is_zero() && !Faults::default().fails());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("150ms"), Some(Duration::from_millis(150)));
        assert_eq!(parse_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration("400us"), Some(Duration::from_micros(400)));
        assert_eq!(parse_duration("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("-1ms"), None);
        assert_eq!(parse_duration("12"), None);
    }
}
