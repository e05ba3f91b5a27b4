#!/usr/bin/env python3
"""Writes real OpenTelemetry Python SDK output for flowtel's reader and linter tests.

Usage: produce.py OUT_DIR [--scenario NAME] [--format json|proto|both]

Writes, with the SDK's own exporters and encoders:
  OUT_DIR/traces.jsonl, metrics.jsonl, logs.jsonl  OTLP JSON lines (opentelemetry-exporter-otlp-json-file)
  OUT_DIR/traces.pb, metrics.pb, logs.pb           OTLP protobuf, varint length-delimited
                                                   (opentelemetry-exporter-otlp-proto-common encoders)

A scenario is a function that receives a tracer, a meter and a logger and emits telemetry. Add a
scenario by writing a function and registering it in SCENARIOS; keep `basic` unchanged, the
flowtel-otlp tests assert its exact content.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from opentelemetry._logs import SeverityNumber
from opentelemetry.exporter.otlp.json.file import FileMetricExporter, FileSpanExporter
from opentelemetry.exporter.otlp.json.file._log_exporter import FileLogExporter
from opentelemetry.metrics import Observation
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import (
    LogRecordExporter,
    LogRecordExportResult,
    SimpleLogRecordProcessor,
)
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    MetricExporter,
    MetricExportResult,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.trace import Link, SpanKind, Status, StatusCode


@dataclass
class Signals:
    """What a scenario emits with."""

    tracer: object
    meter: object
    logger: object
    logger_provider: object = None


def scenario_basic(s: Signals) -> None:
    """One server span with a client child, one metric of each instrument kind, two logs."""
    with s.tracer.start_as_current_span(
        "GET /orders/{id}",
        kind=SpanKind.SERVER,
        attributes={
            "http.request.method": "GET",
            "http.route": "/orders/{id}",
            "http.response.status_code": 200,
            "flowtel.test.ratio": 0.5,
            "flowtel.test.flag": True,
            "flowtel.test.tags": ["a", "b"],
        },
    ) as server:
        with s.tracer.start_as_current_span(
            "SELECT orders",
            kind=SpanKind.CLIENT,
            attributes={"db.system.name": "postgresql", "db.operation.name": "SELECT"},
        ) as client:
            client.set_status(Status(StatusCode.ERROR, "timeout"))
            client.add_event("retry", attributes={"attempt": 2})
        s.logger.emit(
            severity_number=SeverityNumber.WARN,
            severity_text="WARN",
            body="order lookup slow",
            attributes={"order.id": "o-42"},
        )
        server.set_attribute("flowtel.test.done", True)

    counter = s.meter.create_counter("orders.processed", unit="{order}", description="Orders processed")
    counter.add(3, {"order.status": "ok"})
    counter.add(1, {"order.status": "failed"})
    hist = s.meter.create_histogram("http.server.request.duration", unit="s", description="Request duration")
    for v in (0.01, 0.2, 3.0):
        hist.record(v, {"http.request.method": "GET"})
    updown = s.meter.create_up_down_counter("orders.in_flight", unit="{order}", description="Orders in flight")
    updown.add(5)
    updown.add(-2)
    gauge = s.meter.create_gauge("queue.depth", unit="{item}", description="Queue depth")
    gauge.set(7, {"queue.name": "orders"})

    def observe(_options):
        return [Observation(1.5, {"cpu.mode": "user"})]

    s.meter.create_observable_gauge("process.cpu.load", callbacks=[observe], unit="1", description="CPU load")

    s.logger.emit(
        severity_number=SeverityNumber.INFO,
        severity_text="INFO",
        body="order shipped",
        attributes={"order.id": "o-42", "order.items": 3},
        event_name="order.shipped",
    )


def scenario_lint_violations(s: Signals) -> None:
    """Telemetry with known convention violations, for flowtel's linter tests.

    Against `conventions/` plus `crates/flowtel-lint/tests/fixtures/lint-test.yaml` it must give
    exactly the findings the linter tests list; change both together.
    """
    with s.tracer.start_as_current_span(
        "checkout",
        kind=SpanKind.SERVER,
        attributes={
            "flowtel.kind": "flow",
            "flow.name": "checkout",
            "user.id": "alice@example.com",  # pii, unredacted
            "customer.tier": "gold",  # enum value outside
        },
    ):
        with s.tracer.start_as_current_span(
            "checkout payment.charge",
            attributes={"flowtel.kind": "step", "flow.name": "checkout", "flow.step": "payment.charge"},  # unknown step
        ):
            pass
        with s.tracer.start_as_current_span(
            "cart.load",
            attributes={"flowtel.kind": "step", "flow.step": "cart.load"},  # no flow.name
        ):
            pass
        with s.tracer.start_as_current_span(
            "GET /products",
            kind=SpanKind.CLIENT,
            attributes={"http.method": "GET", "flow.name": "browse", "user.id": "hash:0123456789abcdef"},  # deprecated; hashed pii is fine
        ):
            pass
        s.logger.emit(
            severity_number=SeverityNumber.INFO,
            severity_text="INFO",
            body="payment declined",
            attributes={"user.id": "alice@example.com"},  # pii on a log record
        )

    s.meter.create_counter("checkout.order.count", unit="{order}").add(1)  # unknown metric
    orders = s.meter.create_counter("checkout.orders", unit="{order}", description="Orders placed.")
    orders.add(1, {"customer.tier": "pro", "payment.method": "card", "outcome": "ok"})
    orders.add(1, {"customer.tier": "pro", "payment.method": "bitcoin", "outcome": "ok"})  # enum value outside
    orders.add(1, {"customer.tier": "free", "payment.method": "card", "outcome": "ok", "user.id": "u-1"})  # undeclared, pii label
    duration = s.meter.create_histogram("flow.duration", unit="ms")  # unit mismatch
    duration.record(120.0, {"flow.name": "checkout", "outcome": "ok"})
    s.meter.create_gauge("flow.requests", unit="{request}").set(3, {"flow.name": "checkout", "outcome": "ok"})  # instrument mismatch
    jobs = s.meter.create_counter("lint.test.jobs", unit="{job}")
    for i in range(5):  # 5 series over a cardinality limit of 3; 5 values over max_values 3
        jobs.add(i + 1, {"job.id": f"job-{i % 5}"})


def scenario_attributes(s: Signals) -> None:
    """Span, event, link, log and resource attributes that are undeclared, misnamed or mistyped,
    and spans of the wrong shape, for flowtel's attribute lint tests.

    Against `crates/flowtel-lint/tests/fixtures/attributes-test.yaml` it must give exactly the
    findings `crates/flowtel-lint/tests/attributes.rs` lists; change both together.
    """
    # Declared, well typed and well shaped: no finding.
    with s.tracer.start_as_current_span(
        "POST /orders/{id}/pay",
        kind=SpanKind.SERVER,
        attributes={
            "http.request.method": "POST",
            "http.route": "/orders/{id}/pay",
            "http.response.status_code": 200,
            "cart.size": 3,
        },
    ) as good:
        good.record_exception(ValueError("declined"))  # exception.* are the SDK's own
        good_context = good.get_span_context()
    # The entry of `checkout` as an INTERNAL span, with an undeclared, a misnamed and a mistyped
    # attribute, an undeclared event attribute and an undeclared link attribute.
    with s.tracer.start_as_current_span(
        "POST /checkout",
        kind=SpanKind.INTERNAL,
        attributes={
            "totally.unknown": "x",
            "HTTP_Method": "POST",
            "http.response.status_code": "two hundred",
        },
        links=[Link(good_context, {"link.reason": "retry-of"})],
    ) as entry:
        entry.add_event("retry", attributes={"retry.reason": "timeout"})
    # A failed flow without an ERROR status; a numeric string and a double for `int`s.
    with s.tracer.start_as_current_span(
        "checkout",
        attributes={
            "flowtel.kind": "flow",
            "flow.name": "checkout",
            "outcome": "error",
            "error.type": "payment_declined",
            "http.response.status_code": "502",
            "cart.size": 2.5,
        },
    ):
        # A step declared on `payments`, from this resource's service `gateway`.
        with s.tracer.start_as_current_span(
            "checkout payment.authorize",
            attributes={"flowtel.kind": "step", "flow.name": "checkout", "flow.step": "payment.authorize", "outcome": "ok"},
        ):
            pass
    s.logger.emit(
        severity_number=SeverityNumber.INFO,
        severity_text="INFO",
        body="order shipped",
        attributes={"weird Key": "v", "order.id": "o-42", "exception.type": "ValueError"},
        event_name="Order Shipped",
    )


def scenario_logs(s: Signals) -> None:
    """Python `logging` through the SDK's LoggingHandler, against the bundled conventions'
    `payment.declined` event (warn, flow checkout, requires payment.decline_reason).

    Inside the checkout span: one correct event, one at INFO (too low), one without its
    required attribute, one misspelt, one plain line with an e-mail address in the body.
    Outside any span: the event (declared for a flow, so uncorrelated) and a plain error line
    (uncorrelated while the service's other records correlate). flowtel's log tests list
    exactly these; change both together.
    """
    import logging
    import warnings

    from opentelemetry.sdk._logs import LoggingHandler

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        handler = LoggingHandler(level=logging.DEBUG, logger_provider=s.logger_provider)
    log = logging.getLogger("payments")
    log.propagate = False
    log.setLevel(logging.DEBUG)
    log.addHandler(handler)
    declined = {"event.name": "payment.declined", "flow.name": "checkout", "flow.step": "payment.authorize"}
    with s.tracer.start_as_current_span(
        "checkout payment.authorize",
        kind=SpanKind.SERVER,
        attributes={"flowtel.kind": "step", "flow.name": "checkout", "flow.step": "payment.authorize"},
    ):
        log.warning("payment declined", extra={**declined, "payment.decline_reason": "card_expired"})
        log.info("payment declined", extra={**declined, "payment.decline_reason": "limit_exceeded"})
        log.error("payment declined", extra=declined)
        log.warning("payment declined", extra={**declined, "event.name": "payment.decline", "payment.decline_reason": "card_expired"})
        log.warning("refund requested by bob@example.com")
    log.warning("payment declined", extra={"event.name": "payment.declined", "payment.decline_reason": "suspected_fraud"})
    log.error("card network unreachable")
    handler.flush()
    log.removeHandler(handler)


def scenario_personal_data(s: Signals) -> None:
    """Personal data by shape, for flowtel's linter tests: each value shape and key word once.

    Against `crates/flowtel-lint/tests/fixtures/personal-data.yaml` it must give exactly the
    findings `crates/flowtel-lint/tests/personal_data.rs` lists; change both together.
    """
    with s.tracer.start_as_current_span(
        "POST /signup",
        kind=SpanKind.SERVER,
        attributes={
            "http.request.method": "POST",
            "http.route": "/signup",
            "user_email": "ada@example.com",  # undeclared key that says email; an e-mail value
            "order.id": "4111 1111 1111 1111",  # declared, not pii: a card number
            "order.items": 4111111111111111,  # a card number written as an integer
            "server.address": "10.1.2.80",  # a declared network address: fine
            "peer.host": "192.0.2.17",  # undeclared: an IP address
            "visitor.badge": "B-77",  # key word added by the conventions
            "order.ref": "E123456",  # value pattern added by the conventions
            "order.note": "leave at the door",  # clean
        },
    ):
        s.logger.emit(
            severity_number=SeverityNumber.INFO,
            severity_text="INFO",
            body="signup",
            attributes={"contact": "+44 20 7946 0958"},  # a phone number
        )
    orders = s.meter.create_counter("checkout.orders", unit="{order}", description="Orders placed.")
    orders.add(1, {"customer.tier": "pro", "payment.method": "card", "outcome": "ok", "user_email": "ada@example.com"})


SCENARIOS: dict[str, Callable[[Signals], None]] = {
    "basic": scenario_basic,
    "lint-violations": scenario_lint_violations,
    "attributes": scenario_attributes,
    "logs": scenario_logs,
    "personal-data": scenario_personal_data,
}

# Resource attributes per scenario (default: service.name, service.version and
# deployment.environment.name all set).
SCENARIO_RESOURCES: dict[str, dict[str, str | int]] = {
    "logs": {"service.name": "payments", "service.version": "1.0.0", "deployment.environment.name": "test"},
    "lint-violations": {"service.name": "checkout-test", "service.version": "1.0.0"},
    # `process.pid` is allowed by the test conventions, `host.arch` is not.
    "attributes": {
        "service.name": "gateway",
        "service.version": "1.0.0",
        "deployment.environment.name": "test",
        "process.pid": 4242,
        "host.arch": "amd64",
    },
}


def _write_delimited(stream, message) -> None:
    data = message.SerializeToString()
    n = len(data)
    prefix = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            prefix.append(b | 0x80)
        else:
            prefix.append(b)
            break
    stream.write(bytes(prefix) + data)
    stream.flush()


class ProtoSpanExporter(SpanExporter):
    """Writes each export as a varint-delimited ExportTraceServiceRequest."""

    def __init__(self, path: str) -> None:
        from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

        self._encode = encode_spans
        self._stream = open(path, "ab")

    def export(self, spans: Sequence) -> SpanExportResult:
        _write_delimited(self._stream, self._encode(spans))
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        self._stream.close()


class ProtoLogExporter(LogRecordExporter):
    """Writes each export as a varint-delimited ExportLogsServiceRequest."""

    def __init__(self, path: str) -> None:
        from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs

        self._encode = encode_logs
        self._stream = open(path, "ab")

    def export(self, batch: Sequence) -> LogRecordExportResult:
        _write_delimited(self._stream, self._encode(batch))
        return LogRecordExportResult.SUCCESS

    def shutdown(self) -> None:
        self._stream.close()

    def force_flush(self, timeout_millis: int = 10_000) -> bool:
        return True


class ProtoMetricExporter(MetricExporter):
    """Writes each export as a varint-delimited ExportMetricsServiceRequest."""

    def __init__(self, path: str) -> None:
        from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics

        super().__init__()
        self._encode = encode_metrics
        self._stream = open(path, "ab")

    def export(self, metrics_data, timeout_millis: float = 10_000, **kwargs) -> MetricExportResult:
        if metrics_data.resource_metrics:
            _write_delimited(self._stream, self._encode(metrics_data))
        return MetricExportResult.SUCCESS

    def shutdown(self, timeout_millis: float = 30_000, **kwargs) -> None:
        self._stream.close()

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir")
    parser.add_argument("--scenario", default="basic", choices=sorted(SCENARIOS))
    parser.add_argument("--format", default="both", choices=["json", "proto", "both"])
    parser.add_argument("--service-name", default="flowtel-producer")
    parser.add_argument(
        "--otlp-http",
        metavar="URL",
        help="also export over OTLP/HTTP (protobuf) to URL/v1/{traces,metrics,logs} with the SDK's own exporters",
    )
    parser.add_argument(
        "--otlp-grpc",
        metavar="HOST:PORT",
        help="also export over OTLP/gRPC to HOST:PORT (plaintext) with the SDK's own exporters",
    )
    args = parser.parse_args(argv)

    os.makedirs(args.out_dir, exist_ok=True)
    for name in ("traces", "metrics", "logs"):
        for ext in ("jsonl", "pb"):
            path = os.path.join(args.out_dir, f"{name}.{ext}")
            if os.path.exists(path):
                os.remove(path)

    resource = Resource.create(
        SCENARIO_RESOURCES.get(
            args.scenario,
            {"service.name": args.service_name, "service.version": "1.2.3", "deployment.environment.name": "test"},
        )
    )
    json_out = args.format in ("json", "both")
    proto_out = args.format in ("proto", "both")
    path = lambda n: os.path.join(args.out_dir, n)  # noqa: E731

    tracer_provider = TracerProvider(resource=resource)
    logger_provider = LoggerProvider(resource=resource)
    readers = []
    if json_out:
        tracer_provider.add_span_processor(SimpleSpanProcessor(FileSpanExporter(path("traces.jsonl"))))
        logger_provider.add_log_record_processor(SimpleLogRecordProcessor(FileLogExporter(path("logs.jsonl"))))
        readers.append(PeriodicExportingMetricReader(FileMetricExporter(path("metrics.jsonl")), export_interval_millis=3_600_000))
    if proto_out:
        tracer_provider.add_span_processor(SimpleSpanProcessor(ProtoSpanExporter(path("traces.pb"))))
        logger_provider.add_log_record_processor(SimpleLogRecordProcessor(ProtoLogExporter(path("logs.pb"))))
        readers.append(PeriodicExportingMetricReader(ProtoMetricExporter(path("metrics.pb")), export_interval_millis=3_600_000))
    if args.otlp_http:
        from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        base = args.otlp_http.rstrip("/")
        tracer_provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{base}/v1/traces")))
        logger_provider.add_log_record_processor(SimpleLogRecordProcessor(OTLPLogExporter(endpoint=f"{base}/v1/logs")))
        readers.append(
            PeriodicExportingMetricReader(
                OTLPMetricExporter(endpoint=f"{base}/v1/metrics"), export_interval_millis=3_600_000
            )
        )
    if args.otlp_grpc:
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as GrpcLogExporter
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as GrpcMetricExporter
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter

        target = args.otlp_grpc
        tracer_provider.add_span_processor(SimpleSpanProcessor(GrpcSpanExporter(endpoint=target, insecure=True)))
        logger_provider.add_log_record_processor(
            SimpleLogRecordProcessor(GrpcLogExporter(endpoint=target, insecure=True))
        )
        readers.append(
            PeriodicExportingMetricReader(
                GrpcMetricExporter(endpoint=target, insecure=True), export_interval_millis=3_600_000
            )
        )
    meter_provider = MeterProvider(resource=resource, metric_readers=readers)

    signals = Signals(
        tracer=tracer_provider.get_tracer("flowtel.producer", "0.1.0"),
        meter=meter_provider.get_meter("flowtel.producer", "0.1.0"),
        logger=logger_provider.get_logger("flowtel.producer", "0.1.0"),
        logger_provider=logger_provider,
    )
    SCENARIOS[args.scenario](signals)

    meter_provider.shutdown()
    tracer_provider.shutdown()
    logger_provider.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
