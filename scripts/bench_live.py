"""Receiver benchmark of `flowtel live`: the same pre-built OTLP trace requests sent over
OTLP/gRPC (grpcio) and OTLP/HTTP protobuf (http.client, one keep-alive connection), one request
at a time, by a client that shares no code with flowtel.

Usage: python scripts/bench_live.py FLOWTEL_BINARY [--requests N] [--spans M] [--conventions DIR]
       python scripts/bench_live.py --http ADDR --grpc ADDR [--json] ...   (a receiver already running)

Prints, per transport: client wall time, spans/s over the wall time, per-request latency
(median, P99) and the CPU time `flowtel live` used (user + system, from /proc), and spans per
CPU second of flowtel (spans/s per core).
"""

import argparse
import http.client
import json
import os
import random
import re
import statistics
import subprocess
import sys
import time

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.resource.v1 import resource_pb2
from opentelemetry.proto.trace.v1 import trace_pb2


def kv(key, value):
    if isinstance(value, bool):
        v = common_pb2.AnyValue(bool_value=value)
    elif isinstance(value, int):
        v = common_pb2.AnyValue(int_value=value)
    else:
        v = common_pb2.AnyValue(string_value=value)
    return common_pb2.KeyValue(key=key, value=v)


def request(seed, spans, pad=0):
    """One ExportTraceServiceRequest of `spans` server spans with 8 attributes each."""
    rnd = random.Random(seed)
    out = []
    now = time.time_ns()
    for i in range(spans):
        start = now + i * 1000
        out.append(
            trace_pb2.Span(
                trace_id=rnd.randbytes(16),
                span_id=rnd.randbytes(8),
                name="POST /checkout",
                kind=trace_pb2.Span.SPAN_KIND_SERVER,
                start_time_unix_nano=start,
                end_time_unix_nano=start + 2_000_000,
                attributes=[
                    kv("http.request.method", "POST"),
                    kv("http.route", "/checkout"),
                    kv("http.response.status_code", 200),
                    kv("url.scheme", "http"),
                    kv("server.address", "checkout"),
                    kv("server.port", 8080),
                    kv("flow.name", "checkout"),
                    kv("network.protocol.version", "1.1"),
                ] + ([kv("pad", "x" * pad)] if pad else []),
                status=trace_pb2.Status(code=trace_pb2.Status.STATUS_CODE_UNSET),
            )
        )
    return trace_service_pb2.ExportTraceServiceRequest(
        resource_spans=[
            trace_pb2.ResourceSpans(
                resource=resource_pb2.Resource(
                    attributes=[kv("service.name", "checkout"), kv("service.version", "1.0.0")]
                ),
                scope_spans=[
                    trace_pb2.ScopeSpans(
                        scope=common_pb2.InstrumentationScope(name="bench", version="1"),
                        spans=out,
                    )
                ],
            )
        ]
    )


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / tick


def start_flowtel(binary, conventions):
    cmd = [binary, "live", "--listen", "127.0.0.1:0", "--grpc-listen", "127.0.0.1:0",
           "--until-idle", "30s", "--format", "json"]
    if conventions:
        cmd += ["--conventions", conventions]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    http_addr = grpc_addr = None
    while http_addr is None or grpc_addr is None:
        line = proc.stderr.readline()
        if not line:
            sys.exit(f"flowtel live did not start: {proc.stdout.read()}")
        m = re.search(r"OTLP/(HTTP|gRPC) on http://([0-9.:]+)", line)
        if m and m.group(1) == "HTTP":
            http_addr = m.group(2)
        elif m:
            grpc_addr = m.group(2)
    return proc, http_addr, grpc_addr


def run_grpc(addr, bodies, messages):
    channel = grpc.insecure_channel(
        addr, options=[("grpc.max_send_message_length", 64 << 20)]
    )
    stub = trace_service_pb2_grpc.TraceServiceStub(channel)
    stub.Export(messages[0], timeout=10)  # connect and warm up
    lat = []
    t0 = time.perf_counter()
    for m in messages:
        s = time.perf_counter()
        stub.Export(m, timeout=10)
        lat.append(time.perf_counter() - s)
    wall = time.perf_counter() - t0
    channel.close()
    return wall, lat


def run_http(addr, bodies, messages):
    host, port = addr.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port))
    headers = {"Content-Type": "application/x-protobuf"}

    def post(b):
        conn.request("POST", "/v1/traces", body=b, headers=headers)
        r = conn.getresponse()
        r.read()
        if r.status != 200:
            sys.exit(f"HTTP answered {r.status}")

    post(bodies[0])
    lat = []
    t0 = time.perf_counter()
    for b in bodies:
        s = time.perf_counter()
        post(b)
        lat.append(time.perf_counter() - s)
    wall = time.perf_counter() - t0
    conn.close()
    return wall, lat


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary", nargs="?", help="flowtel binary to start (else --http/--grpc)")
    ap.add_argument("--http", help="OTLP/HTTP address of a running receiver")
    ap.add_argument("--grpc", help="OTLP/gRPC address of a running receiver")
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--spans", type=int, default=500)
    ap.add_argument("--pad", type=int, default=0, help="bytes of padding attribute per span")
    ap.add_argument("--distinct", type=int, default=20, help="distinct pre-built requests")
    ap.add_argument("--conventions")
    ap.add_argument("--json", action="store_true", help="one JSON document on stdout")
    args = ap.parse_args()
    if not args.binary and not (args.http and args.grpc):
        ap.error("give a flowtel binary, or --http and --grpc of a running receiver")

    messages = [request(i, args.spans, args.pad) for i in range(args.distinct)]
    messages = [messages[i % len(messages)] for i in range(args.requests)]
    bodies = [m.SerializeToString() for m in messages]
    size = sum(len(b) for b in bodies)
    spans = args.requests * args.spans
    if not args.json:
        print(f"{args.requests} requests of {args.spans} spans ({len(bodies[0]) / 1024:.0f} KB each, "
              f"{size / 1e6:.1f} MB in all), one request at a time, 127.0.0.1")
        print(f"{'transport':<20} {'wall s':>7} {'spans/s':>10} {'median ms':>10} {'p99 ms':>8} "
              f"{'flowtel cpu s':>14} {'spans/cpu-s':>12}")
    results = {}
    for name, fn in [("OTLP/gRPC", run_grpc), ("OTLP/HTTP protobuf", run_http)]:
        cpu = None
        if args.binary:
            proc, http_addr, grpc_addr = start_flowtel(args.binary, args.conventions)
            try:
                before = cpu_seconds(proc.pid)
                wall, lat = fn(grpc_addr if name == "OTLP/gRPC" else http_addr, bodies, messages)
                # The linter may still be working on the last batches: wait for the CPU to settle.
                after = cpu_seconds(proc.pid)
                while True:
                    time.sleep(0.2)
                    now = cpu_seconds(proc.pid)
                    if now - after < 0.01:
                        break
                    after = now
                cpu = after - before
            finally:
                proc.terminate()
                proc.wait()
        else:
            wall, lat = fn(args.grpc if name == "OTLP/gRPC" else args.http, bodies, messages)
        lat.sort()
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
        median = statistics.median(lat)
        results[name] = {"requests": len(lat), "wall_s": wall, "median_ms": median * 1e3,
                         "p99_ms": p99 * 1e3, "flowtel_cpu_s": cpu}
        if not args.json:
            per_core = f"{spans / cpu:12.0f}" if cpu else f"{'-':>12}"
            cpu_s = f"{cpu:14.2f}" if cpu is not None else f"{'-':>14}"
            print(f"{name:<20} {wall:7.2f} {spans / wall:10.0f} {median * 1e3:10.2f} "
                  f"{p99 * 1e3:8.2f} {cpu_s} {per_core}")
    if args.json:
        json.dump({"request_bytes": len(bodies[0]), "transports": results}, sys.stdout)
        print()


if __name__ == "__main__":
    main()
