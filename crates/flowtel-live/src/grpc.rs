//! The OTLP/gRPC services (`TraceService`, `MetricsService`, `LogsService` of
//! `opentelemetry-proto`, served by tonic, gzip accepted): each request goes the same way as an
//! OTLP/HTTP one, through the shared limits into the linter.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use flowtel_otlp::{ErrorKind, Signal};
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

use crate::Shared;
use crate::http::{decode_and_queue, rejected};

/// The three OTLP services over one shared state.
#[derive(Clone)]
pub(crate) struct Receiver {
    shared: Arc<Shared>,
}

impl Receiver {
    /// Lints one request. tonic has decoded (and bounded) the message already; it is encoded
    /// again so that gRPC and HTTP requests go through the same reader and model.
    async fn handle(&self, signal: Signal, body: Vec<u8>) -> Result<(), Status> {
        let shared = &self.shared;
        shared.touch();
        let Ok(_permit) = shared.permits.acquire().await else {
            return Err(Status::unavailable("shutting down"));
        };
        shared.bytes.fetch_add(body.len() as u64, Ordering::Relaxed);
        let seq = shared.sequence.fetch_add(1, Ordering::Relaxed) + 1;
        let worker = Arc::clone(shared);
        let decoded = tokio::task::spawn_blocking(move || {
            decode_and_queue(&worker, signal, "application/x-protobuf", &body, seq)
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

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        self.handle(Signal::Traces, request.into_inner().encode_to_vec())
            .await?;
        Ok(Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

#[tonic::async_trait]
impl MetricsService for Receiver {
    async fn export(
        &self,
        request: Request<ExportMetricsServiceRequest>,
    ) -> Result<Response<ExportMetricsServiceResponse>, Status> {
        self.handle(Signal::Metrics, request.into_inner().encode_to_vec())
            .await?;
        Ok(Response::new(ExportMetricsServiceResponse {
            partial_success: None,
        }))
    }
}

#[tonic::async_trait]
impl LogsService for Receiver {
    async fn export(
        &self,
        request: Request<ExportLogsServiceRequest>,
    ) -> Result<Response<ExportLogsServiceResponse>, Status> {
        self.handle(Signal::Logs, request.into_inner().encode_to_vec())
            .await?;
        Ok(Response::new(ExportLogsServiceResponse {
            partial_success: None,
        }))
    }
}

/// Serves the three services on `listener` until `stop` resolves.
pub(crate) async fn serve(
    shared: Arc<Shared>,
    listener: tokio::net::TcpListener,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), tonic::transport::Error> {
    let limit = shared.options.max_body_bytes;
    let concurrency = shared.options.max_concurrency.max(1);
    let r = Receiver { shared };
    tonic::transport::Server::builder()
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
        .serve_with_incoming_shutdown(tonic::transport::server::TcpIncoming::from(listener), stop)
        .await
}
