//! The run loop: binds OTLP/HTTP and OTLP/gRPC, serves both until the run is idle, its time is
//! up or it is interrupted, then lets requests in flight finish.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::options::Bound;
use crate::report::EndReason;
use crate::shared::{Shared, body_budget_kib};

/// Serves both transports until the run ends, calling `on_ready` once they accept requests.
pub(crate) async fn serve(
    shared: Arc<Shared>,
    on_ready: impl FnOnce(Bound),
) -> std::io::Result<EndReason> {
    let listener = tokio::net::TcpListener::bind(shared.options.listen).await?;
    let http_addr = listener.local_addr()?;
    let grpc_listener = match shared.options.grpc_listen {
        Some(addr) => Some(tokio::net::TcpListener::bind(addr).await?),
        None => None,
    };
    let grpc_addr = match &grpc_listener {
        Some(l) => Some(l.local_addr()?),
        None => None,
    };
    // Listening for signals starts before the run says where it listens: a SIGTERM sent right
    // after must end the run with its report, not take the default action (exit, no report).
    let interrupts = shared.options.stop_on_ctrl_c.then(interrupts);
    let app = crate::http::router(Arc::clone(&shared));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let http = tokio::spawn(
        axum::serve(listener, app)
            .with_graceful_shutdown(stopped(stop_rx.clone()))
            .into_future(),
    );
    let grpc = grpc_listener.map(|l| {
        tokio::spawn(crate::grpc::serve(
            Arc::clone(&shared),
            l,
            stopped(stop_rx.clone()),
        ))
    });
    on_ready(Bound {
        http: http_addr,
        grpc: grpc_addr,
        metrics: None,
    });
    let ended = wait_for_end(&shared, interrupts).await;
    let _ = stop_tx.send(true);
    // Requests in flight finish; connections a client keeps open (gRPC channels do) are not
    // waited for longer than the grace period.
    finish(http, |r| r).await?;
    if let Some(grpc) = grpc {
        finish(grpc, |r| r.map_err(std::io::Error::other)).await?;
    }
    Ok(ended)
}

/// How long a stopping server may take to finish requests in flight.
const GRACE: Duration = Duration::from_secs(2);

async fn finish<T, E>(
    task: tokio::task::JoinHandle<Result<T, E>>,
    map: impl FnOnce(Result<T, E>) -> std::io::Result<T>,
) -> std::io::Result<()> {
    let abort = task.abort_handle();
    match tokio::time::timeout(GRACE, task).await {
        Ok(Ok(r)) => map(r).map(|_| ()),
        Ok(Err(e)) if e.is_cancelled() => Ok(()),
        Ok(Err(e)) => Err(std::io::Error::other(e)),
        Err(_) => {
            abort.abort();
            Ok(())
        }
    }
}

async fn wait_for_end(shared: &Shared, interrupts: Option<impl Future<Output = ()>>) -> EndReason {
    let opts = &shared.options;
    let ctrl_c = async {
        match interrupts {
            Some(i) => i.await,
            None => std::future::pending::<()>().await,
        }
    };
    let timers = async {
        loop {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let now = shared.start.elapsed();
            if opts.duration.is_some_and(|d| now >= d) {
                return EndReason::Duration;
            }
            if let Some(idle) = opts.until_idle {
                let last = Duration::from_millis(shared.last_request_ms.load(Ordering::Relaxed));
                // A request in progress is not idleness.
                let busy = shared.permits.available_permits() < opts.max_concurrency.max(1)
                    || shared.body_budget.available_permits() < body_budget_kib(opts);
                if !busy && now.saturating_sub(last) >= idle {
                    return EndReason::Idle;
                }
            }
        }
    };
    tokio::select! {
        r = timers => r,
        () = ctrl_c => EndReason::Interrupted,
    }
}

/// A future that resolves on Ctrl-C (SIGINT) or, on Unix, SIGTERM (what `kill`, systemd and
/// Kubernetes send), listening from the moment this is called; never when neither can be
/// listened for.
fn interrupts() -> impl Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{Signal, SignalKind, signal};
        let term = signal(SignalKind::terminate()).ok();
        let int = signal(SignalKind::interrupt()).ok();
        let wait = |s: Option<Signal>| async move {
            match s {
                Some(mut s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        async move {
            tokio::select! {
                () = wait(term) => {}
                () = wait(int) => {}
            }
        }
    }
    #[cfg(not(unix))]
    async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await
        }
    }
}
