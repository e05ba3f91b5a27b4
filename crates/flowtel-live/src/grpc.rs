//! The OTLP/gRPC services (`TraceService`, `MetricsService`, `LogsService` of
//! `opentelemetry-proto`, served by tonic, gzip accepted): each request goes the same way as an
//! OTLP/HTTP one, through the shared limits into the linter.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use flowtel_otlp::ErrorKind;
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::{
    LogsService, LogsServiceServer,
};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message as _;
use tonic::codec::CompressionEncoding;
use tonic::{Request, Response, Status};

use crate::shared::{Shared, queue, rejected, source_name};

/// The three OTLP services over one shared state.
#[derive(Clone)]
pub(crate) struct Receiver {
    shared: Arc<Shared>,
}

impl Receiver {
    /// Lints one request. tonic has decoded (and bounded) the message already; it is converted
    /// into the model directly, without encoding it again.
    async fn handle(&self, message: flowtel_otlp::Message, size: usize) -> Result<(), Status> {
        let shared = &self.shared;
        shared.touch();
        let Ok(_permit) = shared.permits.acquire().await else {
            return Err(Status::unavailable("shutting down"));
        };
        shared.bytes.fetch_add(size as u64, Ordering::Relaxed);
        let signal = message.signal();
        let seq = shared.sequence.fetch_add(1, Ordering::Relaxed) + 1;
        let worker = Arc::clone(shared);
        let decoded = tokio::task::spawn_blocking(move || {
            let saved = worker.saver.as_ref().map(|_| crate::save::encode(&message));
            let batch = flowtel_otlp::from_message(&source_name(signal), message)?;
            if let (Some(saver), Some(record)) = (&worker.saver, saved) {
                saver.append(signal, false, &record);
            }
            queue(&worker, signal, batch, seq);
            Ok::<(), flowtel_otlp::Error>(())
        })
        .await;
        shared.touch();
        match decoded {
            Ok(Ok(())) => {
                shared.requests.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            Ok(Err(e)) => {
                let status = if e.kind == ErrorKind::TooLarge {
                    Status::resource_exhausted(e.message.clone())
                } else {
                    Status::invalid_argument(e.message.clone())
                };
                rejected(shared, signal, "gRPC", status.code() as u16, &e.message);
                Err(status)
            }
            Err(_) => Err(Status::internal("the request could not be decoded")),
        }
    }
}

/// One OTLP service of the receiver: the request as a [`flowtel_otlp::Message`] `$variant`
/// through [`Receiver::handle`], an empty response (all accepted) on success. The three
/// services differ only in types, which tonic gives each its own trait for.
macro_rules! otlp_service {
    ($service:ident, $request:ty, $response:ident, $variant:ident) => {
        #[tonic::async_trait]
        impl $service for Receiver {
            async fn export(
                &self,
                request: Request<$request>,
            ) -> Result<Response<$response>, Status> {
                let m = request.into_inner();
                let size = m.encoded_len();
                self.handle(flowtel_otlp::Message::$variant(m), size)
                    .await?;
                Ok(Response::new($response {
                    partial_success: None,
                }))
            }
        }
    };
}

otlp_service!(
    TraceService,
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
    Traces
);
otlp_service!(
    MetricsService,
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
    Metrics
);
otlp_service!(
    LogsService,
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
    Logs
);

/// HTTP/2 flow-control window of one request stream (at most; smaller when the body limit is).
const STREAM_WINDOW: usize = 4 << 20;

/// HTTP/2 flow-control window of a connection (all its streams together).
const CONNECTION_WINDOW: u32 = 16 << 20;

/// Serves the three services on `listener` until `stop` resolves.
pub(crate) async fn serve(
    shared: Arc<Shared>,
    listener: tokio::net::TcpListener,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), tonic::transport::Error> {
    let limit = shared.options.max_body_bytes;
    let concurrency = shared.options.max_concurrency.max(1);
    let r = Receiver { shared };
    // Tuned for large OTLP batches, as the Collector's OTLP receiver is: without TCP_NODELAY
    // the answer (and the WINDOW_UPDATEs a large request needs) wait for the client's delayed
    // ACK (about 20-40 ms a request); with HTTP/2's default 64 KiB windows a 150 KB request
    // stalls for window updates. A whole default-sized batch fits the stream window.
    let stream_window = u32::try_from(limit.clamp(64 << 10, STREAM_WINDOW)).unwrap_or(u32::MAX);
    tonic::transport::Server::builder()
        .tcp_nodelay(true)
        .initial_stream_window_size(stream_window)
        .initial_connection_window_size(CONNECTION_WINDOW)
        .max_concurrent_streams(u32::try_from(concurrency * 4).unwrap_or(u32::MAX))
        .concurrency_limit_per_connection(concurrency)
        .add_service(
            TraceServiceServer::new(r.clone())
                .accept_compressed(CompressionEncoding::Gzip)
                .max_decoding_message_size(limit),
        )
        .add_service(
            MetricsServiceServer::new(r.clone())
                .accept_compressed(CompressionEncoding::Gzip)
                .max_decoding_message_size(limit),
        )
        .add_service(
            LogsServiceServer::new(r)
                .accept_compressed(CompressionEncoding::Gzip)
                .max_decoding_message_size(limit),
        )
        .serve_with_incoming_shutdown(
            tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true)),
            stop,
        )
        .await
}
