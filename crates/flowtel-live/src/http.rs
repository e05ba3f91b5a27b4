//! The OTLP/HTTP endpoints: routing, limits, decoding off the async threads, answers per the
//! OTLP/HTTP specification.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use flowtel_otlp::{ErrorKind, Signal};
use http_body_util::BodyExt;

use crate::shared::{Shared, queue, rejected};
use crate::status::Encoding;

/// The OTLP/HTTP routes over the shared state.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/v1/traces", post(traces))
        .route("/v1/metrics", post(metrics))
        .route("/v1/logs", post(logs))
        .with_state(shared)
}

async fn traces(State(s): State<Arc<Shared>>, req: Request) -> Response {
    export(s, Signal::Traces, req).await
}

async fn metrics(State(s): State<Arc<Shared>>, req: Request) -> Response {
    export(s, Signal::Metrics, req).await
}

async fn logs(State(s): State<Arc<Shared>>, req: Request) -> Response {
    export(s, Signal::Logs, req).await
}

fn answer(encoding: Encoding, status: StatusCode, body: Vec<u8>) -> Response {
    let mut r = (status, Body::from(body)).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(encoding.content_type()),
    );
    r
}

/// gRPC status codes used in `google.rpc.Status`.
const INVALID_ARGUMENT: i32 = 3;
const RESOURCE_EXHAUSTED: i32 = 8;
const DEADLINE_EXCEEDED: i32 = 4;

/// Why a request body could not be read.
enum BodyError {
    /// Over `max_body_bytes`.
    TooLarge,
    /// Not complete within `body_timeout`; how many bytes had come.
    TimedOut(usize),
    /// The connection failed mid-body.
    Read(axum::Error),
}

/// Part of the body budget, given back when dropped.
struct Budget<'a> {
    semaphore: &'a tokio::sync::Semaphore,
    kib: usize,
}

impl Drop for Budget<'_> {
    fn drop(&mut self) {
        self.semaphore.add_permits(self.kib);
    }
}

/// Reads a body frame by frame within `body_timeout`, taking each frame's bytes from the shared
/// budget before keeping it.
async fn read_body(
    shared: &Shared,
    mut body: Body,
    limit: usize,
) -> Result<(Vec<u8>, Budget<'_>), BodyError> {
    let deadline = tokio::time::Instant::now() + shared.options.body_timeout;
    let mut budget = Budget {
        semaphore: &shared.body_budget,
        kib: 0,
    };
    let mut out = Vec::new();
    loop {
        let frame = match tokio::time::timeout_at(deadline, body.frame()).await {
            Err(_) => return Err(BodyError::TimedOut(out.len())),
            Ok(None) => break,
            Ok(Some(Err(e))) => return Err(BodyError::Read(e)),
            Ok(Some(Ok(frame))) => frame,
        };
        let Ok(data) = frame.into_data() else {
            continue; // trailers
        };
        let len = out.len() + data.len();
        if len > limit {
            return Err(BodyError::TooLarge);
        }
        let need = len.div_ceil(1024).saturating_sub(budget.kib);
        if need > 0 {
            let n = u32::try_from(need).unwrap_or(u32::MAX);
            match tokio::time::timeout_at(deadline, shared.body_budget.acquire_many(n)).await {
                Err(_) => return Err(BodyError::TimedOut(out.len())),
                Ok(Err(_)) => return Err(BodyError::TimedOut(out.len())),
                Ok(Ok(p)) => {
                    p.forget();
                    budget.kib += n as usize;
                }
            }
        }
        out.extend_from_slice(&data);
    }
    Ok((out, budget))
}

async fn export(shared: Arc<Shared>, signal: Signal, req: Request) -> Response {
    shared.touch();
    let (parts, body) = req.into_parts();
    let ct = header_str(&parts.headers, header::CONTENT_TYPE);
    let Some(encoding) = Encoding::from_content_type(ct) else {
        return reject(
            &shared,
            signal,
            Encoding::Protobuf,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            INVALID_ARGUMENT,
            format!(
                "unsupported Content-Type `{ct}`: OTLP/HTTP takes application/x-protobuf or application/json"
            ),
        );
    };
    let ce = header_str(&parts.headers, header::CONTENT_ENCODING);
    if !(ce.is_empty() || ce.eq_ignore_ascii_case("gzip") || ce.eq_ignore_ascii_case("identity")) {
        return reject(
            &shared,
            signal,
            encoding,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            INVALID_ARGUMENT,
            format!("unsupported Content-Encoding `{ce}`: send gzip or no encoding"),
        );
    }
    let limit = shared.options.max_body_bytes;
    let declared = header_str(&parts.headers, header::CONTENT_LENGTH)
        .parse::<u64>()
        .ok();
    if declared.is_some_and(|n| n > limit as u64) {
        return too_large(&shared, signal, encoding, limit);
    }
    // The body's bytes are taken from the shared budget as they arrive, within the deadline.
    let (body, _budget) = match read_body(&shared, body, limit).await {
        Ok(read) => read,
        Err(BodyError::TooLarge) => return too_large(&shared, signal, encoding, limit),
        Err(BodyError::TimedOut(got)) => {
            let timeout = shared.options.body_timeout;
            let mut r = reject(
                &shared,
                signal,
                encoding,
                StatusCode::REQUEST_TIMEOUT,
                DEADLINE_EXCEEDED,
                format!(
                    "the request body did not arrive within {} ms ({got} bytes came): send it at once",
                    timeout.as_millis()
                ),
            );
            r.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            return r;
        }
        Err(BodyError::Read(e)) => {
            return reject(
                &shared,
                signal,
                encoding,
                StatusCode::BAD_REQUEST,
                INVALID_ARGUMENT,
                format!("the request body could not be read: {e}"),
            );
        }
    };
    // Decoding (inflating and parsing) holds one of `max_concurrency` permits.
    let Ok(_permit) = shared.permits.acquire().await else {
        return answer(
            encoding,
            StatusCode::SERVICE_UNAVAILABLE,
            encoding.status(14, "shutting down"),
        );
    };
    shared.bytes.fetch_add(body.len() as u64, Ordering::Relaxed);
    let seq = shared.sequence.fetch_add(1, Ordering::Relaxed) + 1;
    let worker = Arc::clone(&shared);
    let decoded = tokio::task::spawn_blocking(move || {
        decode_and_queue(&worker, signal, ct_of(encoding), &body, seq)
    })
    .await;
    shared.touch();
    match decoded {
        Ok(Ok(())) => {
            shared.requests.fetch_add(1, Ordering::Relaxed);
            answer(encoding, StatusCode::OK, encoding.success())
        }
        Ok(Err(e)) if e.kind == ErrorKind::TooLarge => too_large(&shared, signal, encoding, limit),
        Ok(Err(e)) => {
            let mut message = e.message.clone();
            if let (Some(l), Some(c)) = (e.line, e.column) {
                message = format!("{message} (line {l}, column {c})");
            } else if let Some(off) = e.byte_offset {
                message = format!("{message} (at byte {off})");
            }
            reject(
                &shared,
                signal,
                encoding,
                StatusCode::BAD_REQUEST,
                INVALID_ARGUMENT,
                message,
            )
        }
        Err(_) => answer(
            encoding,
            StatusCode::INTERNAL_SERVER_ERROR,
            encoding.status(13, "the request could not be decoded"),
        ),
    }
}

fn ct_of(e: Encoding) -> &'static str {
    e.content_type()
}

/// Decodes a body and queues the batch for the linter (waiting while the queue is full).
pub(crate) fn decode_and_queue(
    shared: &Shared,
    signal: Signal,
    content_type: &str,
    body: &[u8],
    seq: u64,
) -> Result<(), flowtel_otlp::Error> {
    let limit = shared.options.max_body_bytes;
    let batch = flowtel_otlp::decode_request(signal, content_type, body, limit)?;
    if let Some(saver) = &shared.saver {
        saver.http_body(signal, content_type.contains("json"), body, limit);
    }
    queue(shared, signal, batch, seq);
    Ok(())
}

fn too_large(shared: &Shared, signal: Signal, encoding: Encoding, limit: usize) -> Response {
    reject(
        shared,
        signal,
        encoding,
        StatusCode::PAYLOAD_TOO_LARGE,
        RESOURCE_EXHAUSTED,
        format!("the request body is over {limit} bytes: send smaller batches"),
    )
}

fn reject(
    shared: &Shared,
    signal: Signal,
    encoding: Encoding,
    status: StatusCode,
    code: i32,
    message: String,
) -> Response {
    rejected(shared, signal, "HTTP", status.as_u16(), &message);
    answer(encoding, status, encoding.status(code, &message))
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> &str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}
