//! The flowtel shop: a small platform on 127.0.0.1 instrumented only through flowtel, with a
//! load generator and faults on demand.
//!
//! Five services, each with its own telemetry, as the bundled conventions name them: the
//! `gateway` (entry of the `login`, `browse` and `checkout` flows), `identity`, `catalog` and
//! `payments` (called over HTTP), and the `orders` worker, reached asynchronously through a
//! Redis stream on a `redis-server` the shop starts on a free port and stops when it exits.
//! Every service is an axum server; the worker's serves its admin routes (`/healthz`, `/queue`),
//! which the shop polls to start the load once the worker reads the stream and to wait for it
//! to drain.
//!
//! `example-shop --out DIR` writes the OTLP export of every service as JSON lines to
//! `DIR/traces.jsonl` and `DIR/metrics.jsonl`; `--otlp URL` sends it to an OTLP/HTTP endpoint
//! (e.g. `flowtel live`) instead; with neither, the standard `OTEL_*` variables apply.
//! `--metrics-targets FILE` also serves each service's metrics for Prometheus and writes the
//! scrape targets to FILE (Prometheus `file_sd_configs` JSON, `job` = the service). Faults: `--slow
//! payments=150ms`, `--slow payments=p99:400ms` (only the slowest 1%), `--fail catalog=2%`,
//! `--saturate orders`. The conventions are the bundled `conventions/`, embedded at compile
//! time, or the registry named by `FLOWTEL_CONVENTIONS`.

mod broker;
mod catalog;
mod faults;
mod gateway;
mod http;
mod identity;
mod load;
mod orders;
mod payments;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;

use crate::faults::FaultPlan;

/// Runs the shop and its load.
#[derive(Debug, Parser)]
#[command(name = "example-shop", version)]
struct Args {
    /// Write OTLP JSON lines to DIR/traces.jsonl and DIR/metrics.jsonl.
    #[arg(long, value_name = "DIR", conflicts_with = "otlp")]
    out: Option<PathBuf>,
    /// Send OTLP/HTTP to this base URL (e.g. http://127.0.0.1:4318).
    #[arg(long, value_name = "URL")]
    otlp: Option<String>,
    /// How many checkout and login requests to send.
    #[arg(long, default_value_t = 300)]
    requests: usize,
    /// How many `browse` requests to send after the others (sampled at 10% by the conventions).
    #[arg(long, default_value_t = 100)]
    browse: usize,
    /// Run for this long instead (e.g. 30s), a browse-heavy mix at `--rate` requests a second.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    duration: Option<Duration>,
    /// Requests a second with `--duration`.
    #[arg(long, default_value_t = 100)]
    rate: u32,
    /// How many requests in flight at once.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Make a service slower: SERVICE=DURATION, or SERVICE=pNN:DURATION for the slowest
    /// (100-NN)% of its requests only (payments=150ms, payments=p99:400ms).
    #[arg(long, value_name = "SERVICE=[pNN:]DURATION")]
    slow: Vec<String>,
    /// Make a service fail a share of its requests: SERVICE=PERCENT% (catalog=2%).
    #[arg(long, value_name = "SERVICE=PERCENT%")]
    fail: Vec<String>,
    /// Saturate a service's work queue (orders: the worker is too slow for its queue).
    #[arg(long, value_name = "SERVICE")]
    saturate: Vec<String>,
    /// Serve every service's metrics for Prometheus on 127.0.0.1 and write the scrape targets
    /// to FILE (Prometheus `file_sd_configs` JSON).
    #[arg(long, value_name = "FILE")]
    metrics_targets: Option<PathBuf>,
    /// Also count orders through the OpenTelemetry API directly with this undeclared label
    /// (KEY=VALUE), bypassing flowtel: a non-conforming build, for trying the linters.
    #[arg(long, value_name = "KEY=VALUE", hide = true)]
    extra_label: Option<String>,
    /// Also log each declined payment from a task detached from its request's span, so the
    /// record has no trace context: a non-conforming build, for trying the linters.
    #[arg(long, hide = true)]
    uncorrelated_log: bool,
    /// Draw trace ids from fixed sequences seeded by N (per service and flow) instead of at
    /// random, so every run samples the same browse traces: for tests and demonstrations.
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// How long to wait at the end for the orders worker to empty its queue.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    drain: Duration,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    faults::parse_duration(s).ok_or_else(|| format!("`{s}` is not a duration (e.g. 30s, 500ms)"))
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("example-shop: {e}");
            ExitCode::from(2)
        }
    }
}

/// The faults of the command line, plus the payments delay of `EXAMPLE_PAYMENTS_DELAY_MS` (one
/// request in `EXAMPLE_PAYMENTS_DELAY_EVERY`), kept for scripts written before `--slow`.
fn fault_plan(args: &Args) -> Result<FaultPlan, String> {
    let mut slow = args.slow.clone();
    let var = |name: &str| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
    };
    if let Some(ms) = var("EXAMPLE_PAYMENTS_DELAY_MS").filter(|ms| *ms > 0)
        && !slow.iter().any(|s| s.starts_with("payments="))
    {
        let every = var("EXAMPLE_PAYMENTS_DELAY_EVERY").unwrap_or(1).max(1);
        slow.push(if every == 1 {
            format!("payments={ms}ms")
        } else {
            format!("payments=p{}:{ms}ms", 100.0 - 100.0 / every as f64)
        });
    }
    FaultPlan::parse(&slow, &args.fail, &args.saturate)
}

fn run(args: &Args) -> Result<(), String> {
    let plan = fault_plan(args)?;
    payments::UNCORRELATED_LOG.store(args.uncorrelated_log, Ordering::Relaxed);
    let extra_label = match &args.extra_label {
        Some(kv) => Some(
            kv.split_once('=')
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .ok_or_else(|| format!("--extra-label {kv}: expected KEY=VALUE"))?,
        ),
        None => None,
    };
    let conventions = match std::env::var_os("FLOWTEL_CONVENTIONS") {
        Some(path) => flowtel::conventions_from_path(std::path::Path::new(&path))?,
        None => flowtel::conventions!(),
    };
    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        for f in ["traces.jsonl", "metrics.jsonl", "logs.jsonl"] {
            let _ = std::fs::remove_file(dir.join(f));
        }
    }
    let broker = broker::Broker::start()?;
    let scrape_interval = if args.metrics_targets.is_some() {
        Duration::from_secs(2)
    } else {
        Duration::from_secs(10)
    };
    let telemetry = |service: &str| {
        let b = flowtel::init(conventions.clone())
            .service(service, env!("CARGO_PKG_VERSION"))
            .environment("example")
            .metric_interval(scrape_interval);
        let b = match (&args.out, &args.otlp) {
            (Some(dir), _) => b.json_lines(dir),
            (None, Some(url)) => b.otlp_endpoint(url),
            (None, None) => b.otlp(),
        };
        let b = match args.seed {
            Some(seed) => b.trace_id_seed(seed),
            None => b,
        };
        let b = match &args.metrics_targets {
            Some(_) => b.prometheus(SocketAddr::from(([127, 0, 0, 1], 0))),
            None => b,
        };
        b.build().map_err(|e| format!("{service}: {e}"))
    };
    let (identity_tel, identity_dispatch) = telemetry("identity")?;
    let (catalog_tel, catalog_dispatch) = telemetry("catalog")?;
    let (payments_tel, payments_dispatch) = telemetry("payments")?;
    let (orders_tel, orders_dispatch) = telemetry("orders")?;
    let (gateway_tel, gateway_dispatch) = telemetry("gateway")?;

    let identity = {
        let app = identity::app(&identity_tel, share(&plan, "identity"));
        serve(identity_dispatch, async move { Ok(app) })?
    };
    let catalog = {
        let app = catalog::app(&catalog_tel, share(&plan, "catalog"));
        serve(catalog_dispatch, async move { Ok(app) })?
    };
    let payments = {
        let app = payments::app(&payments_tel, share(&plan, "payments"));
        serve(payments_dispatch, async move { Ok(app) })?
    };
    let published = Arc::new(AtomicU64::new(0));
    let gateway = {
        let up = gateway::Upstreams {
            identity: format!("http://{identity}"),
            catalog: format!("http://{catalog}"),
            payments: format!("http://{payments}"),
        };
        let client = redis::Client::open(broker.url()).map_err(|e| e.to_string())?;
        let app = gateway::app(
            &gateway_tel,
            up,
            client,
            share(&plan, "gateway"),
            published.clone(),
            extra_label,
        );
        serve(gateway_dispatch, async move { Ok(app) })?
    };
    let progress = Arc::new(orders::Progress::default());
    let orders_admin = {
        let app = orders::admin(progress.clone());
        serve(orders_dispatch.clone(), async move { Ok(app) })?
    };
    let worker = {
        let (url, faults, progress) = (broker.url(), share(&plan, "orders"), progress.clone());
        let queue = orders_tel.saturation(flowtel::saturation!("orders.queue.depth"));
        let propagator = orders_tel.propagator().clone();
        std::thread::Builder::new()
            .name("orders-worker".into())
            .spawn(move || {
                tracing::dispatcher::with_default(&orders_dispatch, || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .map_err(|e| e.to_string())?;
                    rt.block_on(orders::run(queue, propagator, &url, faults, progress))
                })
            })
            .map_err(|e| e.to_string())?
    };
    eprintln!(
        "shop: gateway http://{gateway}, identity http://{identity}, catalog http://{catalog}, \
         payments http://{payments}, orders worker on {} (admin http://{orders_admin})",
        broker.url()
    );
    for fault in plan.describe() {
        eprintln!("shop: fault: {fault}");
    }
    let all = [
        ("gateway", &gateway_tel),
        ("identity", &identity_tel),
        ("catalog", &catalog_tel),
        ("payments", &payments_tel),
        ("orders", &orders_tel),
    ];
    if let Some(file) = &args.metrics_targets {
        write_targets(file, &all)?;
    }

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let admin = format!("http://{orders_admin}");
    rt.block_on(worker_ready(&admin, Duration::from_secs(10)))?;
    let load_plan = match args.duration {
        Some(duration) => load::Plan::Timed {
            duration,
            rate: args.rate,
        },
        None => load::Plan::Count {
            flows: args.requests,
            browse: args.browse,
        },
    };
    let summary = rt.block_on(load::run(
        format!("http://{gateway}"),
        load_plan,
        args.concurrency,
    ));
    eprintln!(
        "sent {} requests: {} ok, {} client errors, {} failures",
        summary.sent, summary.ok, summary.client_errors, summary.failures
    );

    // The orders worker empties its queue (bounded by --drain), then stops.
    let deadline = Instant::now() + args.drain;
    loop {
        let handled = rt.block_on(worker_handled(&admin)).unwrap_or(0);
        let sent = published.load(Ordering::Relaxed);
        if handled >= sent {
            break;
        }
        if Instant::now() > deadline {
            let left = sent - handled;
            eprintln!(
                "shop: {left} orders left unfulfilled in the queue after {:?}",
                args.drain
            );
            progress.abandon.store(true, Ordering::Relaxed);
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    progress.stop.store(true, Ordering::Relaxed);
    match worker.join() {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(e),
        Err(_) => return Err("the orders worker panicked".into()),
    }
    eprintln!(
        "orders: {} handed to the broker, {} handled",
        published.load(Ordering::Relaxed),
        progress.handled.load(Ordering::Relaxed)
    );

    let counters: Vec<_> = all
        .iter()
        .map(|(name, t)| (*name, t.violations().clone()))
        .collect();
    // Every service flushes and shuts down at once: each drop is bounded by the shutdown
    // deadline (FLOWTEL_SHUTDOWN_TIMEOUT), so the process exits within one deadline even when
    // the collector hangs.
    std::thread::scope(|s| {
        for t in [
            gateway_tel,
            identity_tel,
            catalog_tel,
            payments_tel,
            orders_tel,
        ] {
            s.spawn(move || drop(t));
        }
    });
    drop(broker);
    for (name, violations) in &counters {
        for (rule, n) in violations.snapshot() {
            eprintln!("{name}: flowtel.violations{{rule={rule}}} = {n}");
        }
    }
    if let Some(dir) = &args.out {
        eprintln!(
            "wrote {}/traces.jsonl and {}/metrics.jsonl",
            dir.display(),
            dir.display()
        );
    }
    // Failures are expected when faults are injected; without faults any is a bug.
    if summary.failures > 0 && plan.describe().is_empty() {
        return Err(format!("{} requests failed", summary.failures));
    }
    Ok(())
}

/// Waits until the orders worker's `/healthz` says it reads the stream.
async fn worker_ready(admin: &str, within: Duration) -> Result<(), String> {
    let deadline = Instant::now() + within;
    let url = format!("{admin}/healthz");
    loop {
        match http::admin_get(&url).await {
            Some((status, _)) if status.is_success() => return Ok(()),
            _ if Instant::now() > deadline => {
                return Err(format!(
                    "the orders worker did not start reading the broker's stream within {within:?} ({url})"
                ));
            }
            _ => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

/// How many orders the worker has handled, from its `/queue`.
async fn worker_handled(admin: &str) -> Option<u64> {
    let (status, body) = http::admin_get(&format!("{admin}/queue")).await?;
    if !status.is_success() {
        return None;
    }
    serde_json::from_slice::<serde_json::Value>(&body).ok()?["handled"].as_u64()
}

fn share(plan: &FaultPlan, service: &'static str) -> Arc<faults::Faults> {
    plan.of(service)
}

/// Writes the Prometheus scrape targets (`file_sd_configs` JSON), one per service, atomically.
fn write_targets(
    file: &std::path::Path,
    all: &[(&str, &flowtel::Telemetry)],
) -> Result<(), String> {
    let entries: Vec<String> = all
        .iter()
        .filter_map(|(name, t)| {
            let addr = t.prometheus_addr()?;
            Some(format!(
                r#"{{"targets": ["{addr}"], "labels": {{"job": "{name}"}}}}"#
            ))
        })
        .collect();
    let text = format!("[\n  {}\n]\n", entries.join(",\n  "));
    let tmp = file.with_extension("tmp");
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, file))
        .map_err(|e| format!("cannot write {}: {e}", file.display()))
}

/// Serves the app `make` builds on 127.0.0.1 with an ephemeral port, on its own thread and
/// runtime, under the service's own telemetry; returns once it listens (or failed to start).
fn serve(
    dispatch: tracing::Dispatch,
    make: impl Future<Output = Result<axum::Router, String>> + Send + 'static,
) -> Result<SocketAddr, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<(), String>>();
    std::thread::Builder::new()
        .name(format!("serve-{addr}"))
        .spawn(move || {
            tracing::dispatcher::with_default(&dispatch, || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => return drop(ready_tx.send(Err(format!("runtime: {e}")))),
                };
                rt.block_on(async move {
                    let app = match make.await {
                        Ok(app) => app,
                        Err(e) => return drop(ready_tx.send(Err(e))),
                    };
                    match tokio::net::TcpListener::from_std(listener) {
                        Ok(l) => {
                            let _ = ready_tx.send(Ok(()));
                            if let Err(e) = axum::serve(l, app).await {
                                eprintln!("serve: {e}");
                            }
                        }
                        Err(e) => drop(ready_tx.send(Err(format!("listen: {e}")))),
                    }
                });
            })
        })
        .map_err(|e| e.to_string())?;
    ready_rx
        .recv()
        .map_err(|_| "a service thread ended before listening".to_string())??;
    Ok(addr)
}
