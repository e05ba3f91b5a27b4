//! The flowtel checkout example: a gateway and a payments service on 127.0.0.1, each with its
//! own flowtel telemetry, and a load generator for the `checkout`, `login` and `browse` flows.
//!
//! `example-checkout --out DIR` writes the OTLP export of both services as JSON lines to
//! `DIR/traces.jsonl` and `DIR/metrics.jsonl`; `--otlp URL` sends it to an OTLP/HTTP endpoint
//! (e.g. `flowtel live`) instead; with neither, the standard `OTEL_*` variables apply. The
//! conventions are the bundled `conventions/`, embedded at compile time, or the registry
//! named by `FLOWTEL_CONVENTIONS`.

mod gateway;
mod load;
mod payments;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

/// Runs the checkout example and its load.
#[derive(Debug, Parser)]
#[command(name = "example-checkout", version)]
struct Args {
    /// Write OTLP JSON lines to DIR/traces.jsonl and DIR/metrics.jsonl.
    #[arg(long, value_name = "DIR", conflicts_with = "otlp")]
    out: Option<PathBuf>,
    /// Send OTLP/HTTP to this base URL (e.g. http://127.0.0.1:4318).
    #[arg(long, value_name = "URL")]
    otlp: Option<String>,
    /// How many requests to send.
    #[arg(long, default_value_t = 300)]
    requests: usize,
    /// How many `browse` requests to send after the others (sampled at 10% by the conventions).
    #[arg(long, default_value_t = 100)]
    browse: usize,
    /// How many requests in flight at once.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("example-checkout: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(args: &Args) -> Result<(), String> {
    let conventions = match std::env::var_os("FLOWTEL_CONVENTIONS") {
        Some(path) => flowtel::conventions_from_path(std::path::Path::new(&path))?,
        None => flowtel::conventions!(),
    };
    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        for f in ["traces.jsonl", "metrics.jsonl"] {
            let _ = std::fs::remove_file(dir.join(f));
        }
    }
    let telemetry = |service: &str| {
        let b = flowtel::init(conventions.clone())
            .service(service, env!("CARGO_PKG_VERSION"))
            .environment("example")
            .metric_interval(Duration::from_secs(10));
        let b = match (&args.out, &args.otlp) {
            (Some(dir), _) => b.json_lines(dir),
            (None, Some(url)) => b.otlp_endpoint(url),
            (None, None) => b.otlp(),
        };
        b.build().map_err(|e| format!("{service}: {e}"))
    };
    let (payments_tel, payments_dispatch) = telemetry("payments")?;
    let (gateway_tel, gateway_dispatch) = telemetry("gateway")?;

    let payments = serve(payments::app(&payments_tel), payments_dispatch)?;
    let gateway = serve(
        gateway::app(&gateway_tel, format!("http://{payments}")),
        gateway_dispatch,
    )?;
    eprintln!("gateway on http://{gateway}, payments on http://{payments}");

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let summary = rt.block_on(load::run(
        format!("http://{gateway}"),
        args.requests,
        args.browse,
        args.concurrency,
    ));
    eprintln!(
        "sent {} requests: {} ok, {} client errors, {} failures",
        summary.sent, summary.ok, summary.client_errors, summary.failures
    );
    let counters = [
        ("gateway", gateway_tel.violations().clone()),
        ("payments", payments_tel.violations().clone()),
    ];
    // Both services flush and shut down at once: each drop is bounded by the shutdown
    // deadline (FLOWTEL_SHUTDOWN_TIMEOUT), so the process exits within one deadline even when
    // the collector hangs.
    std::thread::scope(|s| {
        s.spawn(move || drop(gateway_tel));
        s.spawn(move || drop(payments_tel));
    });
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
    if summary.failures > 0 {
        return Err(format!("{} requests failed", summary.failures));
    }
    Ok(())
}

/// Serves `app` on 127.0.0.1 with an ephemeral port, on its own thread and runtime, under the
/// service's own telemetry.
fn serve(app: axum::Router, dispatch: tracing::Dispatch) -> Result<SocketAddr, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    std::thread::Builder::new()
        .name(format!("serve-{addr}"))
        .spawn(move || {
            tracing::dispatcher::with_default(&dispatch, || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => return eprintln!("runtime: {e}"),
                };
                rt.block_on(async move {
                    match tokio::net::TcpListener::from_std(listener) {
                        Ok(l) => {
                            if let Err(e) = axum::serve(l, app).await {
                                eprintln!("serve: {e}");
                            }
                        }
                        Err(e) => eprintln!("listen: {e}"),
                    }
                });
            })
        })
        .map_err(|e| e.to_string())?;
    Ok(addr)
}
