//! The load generator: a few hundred requests of the `checkout` and `login` flows with
//! distinct order ids in the path and distinct users, plus a few requests no route matches,
//! then `browse` requests (product searches and product pages).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// What the load produced.
#[derive(Debug, Default)]
pub struct Summary {
    /// Requests sent.
    pub sent: usize,
    /// Responses by status class: 2xx, 4xx, 5xx.
    pub ok: usize,
    /// 4xx responses.
    pub client_errors: usize,
    /// 5xx responses or transport failures.
    pub failures: usize,
}

/// Sends `total` requests, then `browse` browse requests, to the gateway at `base`,
/// `concurrency` at a time.
pub async fn run(base: String, total: usize, browse: usize, concurrency: usize) -> Summary {
    let flows = total;
    let total = total + browse;
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let next = Arc::new(AtomicUsize::new(0));
    let base: Arc<str> = base.into();
    let mut tasks = Vec::new();
    for _ in 0..concurrency.max(1) {
        let (client, next, base) = (client.clone(), next.clone(), base.clone());
        tasks.push(tokio::spawn(async move {
            let mut s = Summary::default();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break s;
                }
                let (method, path) = match i % 6 {
                    _ if i >= flows && i % 2 == 0 => ("GET", "/products".to_owned()),
                    _ if i >= flows => ("GET", format!("/products/{}", 900_000 + i)),
                    0 | 1 => ("POST", format!("/orders/{}/pay", 700_000 + i)),
                    2 | 3 => ("POST", "/checkout".to_owned()),
                    4 => ("POST", "/login".to_owned()),
                    // A path no route matches: no `http.route`, never the raw path.
                    _ if i % 60 == 5 => ("GET", format!("/unknown/{i}")),
                    _ => ("POST", "/login".to_owned()),
                };
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
            }
        }));
    }
    let mut total = Summary::default();
    for t in tasks {
        if let Ok(s) = t.await {
            total.sent += s.sent;
            total.ok += s.ok;
            total.client_errors += s.client_errors;
            total.failures += s.failures;
        }
    }
    total
}
