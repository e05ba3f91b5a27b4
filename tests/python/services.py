#!/usr/bin/env python3
"""Several Python processes calling each other over HTTP, traced with the OpenTelemetry SDK.

Usage: services.py OUT_DIR [--orders N]

Starts three services, each its own process with its own TracerProvider and OTLP JSON-lines file
exporter (OUT_DIR/traces-<service>.jsonl):

  gateway   POST /checkout: a `cart.load` step, then POST payments /pay (retried once when
            payments answers 503), then POST inventory /reserve
  payments  POST /pay: a `payment.authorize` step (10 ms, 80 ms for every 5th order); every
            4th order answers 503 first
  inventory POST /reserve: a `stock.reserve` step with a database call (uninstrumented peer,
            `db.system.name: postgresql`)

W3C trace context (`traceparent`) and baggage (`flow.name=checkout`) travel in the HTTP headers
(the SDK's global propagators), so every order is one trace spread over three processes and three
files. The driver (this process, no tracing) sends N orders to the gateway, then stops the
services, which flush their exporters on exit. Prints `orders=N` when done.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SERVICES = ("gateway", "payments", "inventory")


def serve(name: str, out_dir: str, ports: dict[str, int]) -> None:
    from opentelemetry import baggage, context, propagate, trace
    from opentelemetry.exporter.otlp.json.file import FileSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.trace import SpanKind, Status, StatusCode

    provider = TracerProvider(resource=Resource.create({"service.name": name}))
    provider.add_span_processor(
        SimpleSpanProcessor(FileSpanExporter(os.path.join(out_dir, f"traces-{name}.jsonl")))
    )
    tracer = provider.get_tracer("flowtel.services", "0.1.0")
    busy_answered: set[str] = set()

    def call(service: str, path: str, body: dict, resend: int = 0) -> int:
        url = f"http://127.0.0.1:{ports[service]}{path}"
        attrs = {
            "http.request.method": "POST",
            "server.address": "127.0.0.1",
            "server.port": ports[service],
            "url.full": url,
        }
        if resend:
            attrs["http.request.resend_count"] = resend
        with tracer.start_as_current_span("POST", kind=SpanKind.CLIENT, attributes=attrs) as span:
            headers = {"Content-Type": "application/json"}
            propagate.inject(headers)
            req = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers)
            try:
                with urllib.request.urlopen(req, timeout=10) as r:
                    status = r.status
            except urllib.error.HTTPError as e:
                status = e.code
            span.set_attribute("http.response.status_code", status)
            if status >= 500:
                span.set_status(Status(StatusCode.ERROR))
            return status

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # quiet
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length) or b"{}")
            # Header names arrive as sent (`Traceparent`); the propagators look up lower case.
            ctx = propagate.extract({k.lower(): v for k, v in self.headers.items()})
            token = context.attach(ctx)
            flow = baggage.get_baggage("flow.name", ctx) or "checkout"
            route = self.path
            try:
                with tracer.start_as_current_span(
                    f"POST {route}",
                    kind=SpanKind.SERVER,
                    attributes={"http.request.method": "POST", "http.route": route, "flow.name": flow},
                ) as server:
                    status = self.handle_route(route, body)
                    server.set_attribute("http.response.status_code", status)
                    if status >= 500:
                        server.set_status(Status(StatusCode.ERROR))
            finally:
                context.detach(token)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def handle_route(self, route: str, body: dict) -> int:
            order = str(body.get("order", ""))
            if name == "gateway" and route == "/checkout":
                ctx = baggage.set_baggage("flow.name", "checkout")
                token = context.attach(ctx)
                try:
                    with tracer.start_as_current_span("cart.load", attributes={"flow.step": "cart.load"}):
                        time.sleep(0.003)
                    status = call("payments", "/pay", body)
                    if status == 503:
                        time.sleep(0.002)
                        status = call("payments", "/pay", body, resend=1)
                    if status >= 500:
                        return 502
                    call("inventory", "/reserve", body)
                    return 200
                finally:
                    context.detach(token)
            if name == "payments" and route == "/pay":
                if int(order or 0) % 4 == 0 and order not in busy_answered:
                    busy_answered.add(order)
                    return 503
                with tracer.start_as_current_span(
                    "payment.authorize", attributes={"flow.step": "payment.authorize"}
                ):
                    time.sleep(0.010 if int(order or 0) % 5 else 0.080)
                return 200
            if name == "inventory" and route == "/reserve":
                with tracer.start_as_current_span("stock.reserve", attributes={"flow.step": "stock.reserve"}):
                    with tracer.start_as_current_span(
                        "UPDATE stock",
                        kind=SpanKind.CLIENT,
                        attributes={"db.system.name": "postgresql", "db.operation.name": "UPDATE"},
                    ):
                        time.sleep(0.004)
                return 200
            return 404

    server = ThreadingHTTPServer(("127.0.0.1", ports[name]), Handler)

    def stop(*_args) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    print("ready", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    server.server_close()
    provider.shutdown()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("out_dir")
    parser.add_argument("--orders", type=int, default=40)
    parser.add_argument("--serve", choices=SERVICES)
    parser.add_argument("--ports", default="")
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve, args.out_dir, json.loads(args.ports))
        return 0

    os.makedirs(args.out_dir, exist_ok=True)
    ports = {s: free_port() for s in SERVICES}
    procs = []
    try:
        for s in SERVICES:
            p = subprocess.Popen(
                [sys.executable, __file__, args.out_dir, "--serve", s, "--ports", json.dumps(ports)],
                stdout=subprocess.PIPE,
                text=True,
            )
            procs.append(p)
            assert p.stdout is not None and p.stdout.readline().strip() == "ready", s
        for order in range(1, args.orders + 1):
            req = urllib.request.Request(
                f"http://127.0.0.1:{ports['gateway']}/checkout",
                data=json.dumps({"order": order}).encode(),
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(req, timeout=20) as r:
                assert r.status == 200, r.status
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(timeout=20)
    print(f"orders={args.orders}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
