//! The load generator: customers at the gateway.
//!
//! By count (`--requests N --browse M`): N requests of the `checkout` and `login` flows (with
//! distinct order ids in the path and distinct users, and a few requests no route matches),
//! then M `browse` requests. By time (`--duration 30s --rate R`): R requests a second in a
//! browse-heavy mix (of 20: 12 browse, 4 login, 4 checkout) until the time is up, with a
//! progress line every 5 seconds.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// What the load produced.
#[derive(Debug, Default, Clone, Copy)]
pub struct Summary {
    /// Requests sent.
    pub sent: usize,
    /// 2xx responses.
    pub ok: usize,
    /// 4xx responses (the customers' mistakes).
    pub client_errors: usize,
    /// 5xx responses or transport failures.
    pub failures: usize,
}

impl Summary {
    fn add(&mut self, o: Summary) {
        self.sent += o.sent;
        self.ok += o.ok;
        self.client_errors += o.client_errors;
        self.failures += o.failures;
    }
}

/// How much load to send.
#[derive(Debug, Clone, Copy)]
pub enum Plan {
    /// `flows` checkout and login requests, then `browse` browse requests.
    Count {
        /// Checkout and login requests.
        flows: usize,
        /// Browse requests after them.
        browse: usize,
    },
    /// A browse-heavy mix at `rate` requests a second for `duration`.
    Timed {
        /// How long.
        duration: Duration,
        /// Requests a second.
        rate: u32,
    },
}

/// The request number `i` of a plan: method and path.
fn request(plan: Plan, i: usize) -> (&'static str, String) {
    match plan {
        Plan::Count { flows, .. } => match i % 6 {
            _ if i >= flows && i.is_multiple_of(2) => ("GET", "/products".to_owned()),
            _ if i >= flows => ("GET", format!("/products/{}", 900_000 + i)),
            0 | 1 => ("POST", format!("/orders/{}/pay", 700_000 + i)),
            2 | 3 => ("POST", "/checkout".to_owned()),
            4 => ("POST", "/login".to_owned()),
            // A path no route matches: no `http.route`, never the raw path.
            _ if i % 60 == 5 => ("GET", format!("/unknown/{i}")),
            _ => ("POST", "/login".to_owned()),
        },
        Plan::Timed { .. } => match i % 20 {
            0..=5 => ("GET", "/products".to_owned()),
            6..=11 => ("GET", format!("/products/{}", 900_000 + i)),
            12..=15 => ("POST", "/login".to_owned()),
            16 | 17 => ("POST", format!("/orders/{}/pay", 700_000 + i)),
            _ => ("POST", "/checkout".to_owned()),
        },
    }
}

/// Sends the plan's requests to the gateway at `base`, `concurrency` at a time.
pub async fn run(base: String, plan: Plan, concurrency: usize) -> Summary {
    let total = match plan {
        Plan::Count { flows, browse } => flows + browse,
        Plan::Timed { .. } => usize::MAX,
    };
    let started = Instant::now();
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let next = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let base: Arc<str> = base.into();
    let progress = match plan {
        Plan::Timed { duration, .. } => {
            let done = done.clone();
            Some(tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs(5));
                tick.tick().await;
                loop {
                    tick.tick().await;
                    let at = started.elapsed().as_secs().min(duration.as_secs());
                    eprintln!(
                        "shop: {at:>3} s of {} s, {} requests",
                        duration.as_secs(),
                        done.load(Ordering::Relaxed)
                    );
                }
            }))
        }
        Plan::Count { .. } => None,
    };
    let mut tasks = Vec::new();
    for _ in 0..concurrency.max(1) {
        let (client, next, base, done) = (client.clone(), next.clone(), base.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            let mut s = Summary::default();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break s;
                }
                if let Plan::Timed { duration, rate } = plan {
                    // Request i leaves at i / rate seconds.
                    let at = Duration::from_secs_f64(i as f64 / f64::from(rate.max(1)));
                    if at >= duration {
                        break s;
                    }
                    tokio::time::sleep_until((started + at).into()).await;
                }
                let (method, path) = request(plan, i);
                let req = http::Request::builder()
                    .method(method)
                    .uri(format!("{base}{path}"))
                    .header("x-user-id", format!("user-{i}"))
                    .body(Full::new(Bytes::new()));
                let Ok(req) = req else { continue };
                s.sent += 1;
                match client.request(req).await {
                    Ok(resp) => {
                        let status = resp.status();
                        let _ = resp.into_body().collect().await;
                        if status.is_success() {
                            s.ok += 1;
                        } else if status.is_client_error() {
                            s.client_errors += 1;
                        } else {
                            s.failures += 1;
                        }
                    }
                    Err(_) => s.failures += 1,
                }
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let mut total = Summary::default();
    for t in tasks {
        if let Ok(s) = t.await {
            total.add(s);
        }
    }
    if let Some(p) = progress {
        p.abort();
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_timed_mix_is_browse_heavy() {
        let plan = Plan::Timed {
            duration: Duration::from_secs(1),
            rate: 1,
        };
        let mut counts = std::collections::HashMap::new();
        for i in 0..2000 {
            let (_, path) = request(plan, i);
            let kind = match path.as_str() {
                "/login" => "login",
                p if p.starts_with("/products") => "browse",
                _ => "checkout",
            };
            *counts.entry(kind).or_insert(0) += 1;
        }
        assert_eq!(counts["browse"], 1200);
        assert_eq!(counts["login"], 400);
        assert_eq!(counts["checkout"], 400);
    }
}
