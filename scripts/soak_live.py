"""Soak and hostile load on `flowtel live`, with clients that share no code with flowtel.

Usage: python scripts/soak_live.py FLOWTEL_BINARY [--minutes M] [--rate SPANS_PER_S]
       [--hostile-from F] [--spans-per-request N] [--drippers D]

Well-behaved clients send OTLP/HTTP protobuf trace requests (--spans-per-request spans each) at
--rate spans/s for --minutes; with --rate 0 they first run unthrottled for 20 s to measure the
receiver's maximum rate, and the soak runs at half of it. From fraction F of the run on, a
hostile client also runs: it holds many idle connections, keeps D bodies dripping at once
(16 B every 0.5 s, never finishing within the receiver's body timeout), and in turn sends
oversized bodies, truncated bodies (then closes), gzip bombs and malformed protobuf. At the end
flowtel is stopped with SIGTERM and its report read. Prints the well-behaved latency (median,
P99) before and during the hostile load, flowtel's RSS over time (sampled every second) and
its drift before the hostile load, the answers the hostile requests got, and what flowtel's
report counted.
"""

import argparse
import gzip
import http.client
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from bench_live import request  # noqa: E402


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(len(v) * p))] if v else float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--rate", type=float, default=150_000, help="spans/s of the good clients")
    ap.add_argument("--hostile-from", type=float, default=0.5)
    ap.add_argument("--max-body", type=int, default=4 << 20)
    ap.add_argument("--spans-per-request", type=int, default=100)
    ap.add_argument("--drippers", type=int, default=32)
    args = ap.parse_args()

    out = tempfile.mkdtemp()
    report = os.path.join(out, "report.json")
    proc = subprocess.Popen(
        [args.binary, "live", "--listen", "127.0.0.1:0", "--no-grpc", "--format", "json",
         "--max-body-bytes", str(args.max_body), "-o", report],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    addr = None
    while addr is None:
        line = proc.stderr.readline()
        if not line:
            sys.exit("flowtel live did not start")
        m = re.search(r"OTLP/HTTP on http://([0-9.:]+)", line)
        if m:
            addr = m.group(1)
    host, port = addr.rsplit(":", 1)
    port = int(port)

    spans_per_req = args.spans_per_request
    bodies = [request(i, spans_per_req).SerializeToString() for i in range(10)]
    workers = 4

    if args.rate <= 0:
        # Calibration: unthrottled clients for 20 s; the soak runs at half the rate reached.
        done = threading.Event()
        sent = [0] * workers

        def flat_out(w):
            conn = http.client.HTTPConnection(host, port, timeout=30)
            while not done.is_set():
                conn.request("POST", "/v1/traces", body=bodies[w % len(bodies)],
                             headers={"Content-Type": "application/x-protobuf"})
                conn.getresponse().read()
                sent[w] += 1

        cal = [threading.Thread(target=flat_out, args=(w,)) for w in range(workers)]
        for t in cal:
            t.start()
        time.sleep(20)
        done.set()
        for t in cal:
            t.join()
        max_rate = sum(sent) * spans_per_req / 20
        args.rate = max_rate / 2
        print(f"calibration: {max_rate:.0f} spans/s maximum with {workers} clients; soaking at {args.rate:.0f}",
              flush=True)
    duration = args.minutes * 60
    t0 = time.time()
    hostile_at = t0 + duration * args.hostile_from
    stop = threading.Event()
    lat = {"before": [], "during": []}
    errors = []
    rss = []

    def good(worker, workers):
        interval = spans_per_req * workers / args.rate
        conn = http.client.HTTPConnection(host, port, timeout=30)
        nxt = time.time()
        i = worker
        while not stop.is_set():
            b = bodies[i % len(bodies)]
            i += 1
            s = time.time()
            try:
                conn.request("POST", "/v1/traces", body=b,
                             headers={"Content-Type": "application/x-protobuf"})
                r = conn.getresponse()
                r.read()
                if r.status != 200:
                    errors.append(r.status)
            except Exception as e:  # a failed good request is a result, not a crash
                errors.append(repr(e))
                conn = http.client.HTTPConnection(host, port, timeout=30)
            lat["during" if s >= hostile_at else "before"].append(time.time() - s)
            nxt += interval
            time.sleep(max(0, nxt - time.time()))

    hostile_answers = {}

    def answer(kind, status):
        hostile_answers.setdefault(kind, {}).setdefault(status, 0)
        hostile_answers[kind][status] += 1

    def raw(kind, head, body, drip=0.0, close_early=False, chunk=64):
        try:
            s = socket.create_connection((host, port), timeout=15)
            s.sendall(head)
            if drip:
                for i in range(0, len(body), chunk):
                    if stop.is_set():
                        break
                    try:
                        s.sendall(body[i:i + chunk])
                    except OSError:
                        break  # the receiver answered and closed: read its answer below
                    time.sleep(drip)
            else:
                s.sendall(body)
            if close_early:
                s.close()
                answer(kind, "closed by client")
                return
            try:
                data = s.recv(4096)
            except ConnectionResetError:
                data = b""
            s.close()
            m = re.match(rb"HTTP/1.1 (\d+)", data)
            answer(kind, m.group(1).decode() if m else "connection closed")
        except Exception as e:
            answer(kind, type(e).__name__)

    def head(n, extra=""):
        return (f"POST /v1/traces HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-protobuf\r\n"
                f"Content-Length: {n}\r\n{extra}Connection: close\r\n\r\n").encode()

    bomb = gzip.compress(b"\0" * (64 << 20), 9)
    oversized = b"\x0a" * (args.max_body + 1024)

    def hostile():
        idle = []
        while not stop.is_set() and time.time() < hostile_at:
            time.sleep(0.2)
        for _ in range(200):
            try:
                idle.append(socket.create_connection((host, port), timeout=5))
            except OSError as e:
                answer("idle connection", type(e).__name__)
        answer("idle connection", f"{len(idle)} held open")
        kinds = [
            ("oversized body", lambda: raw("oversized body", head(len(oversized)), oversized)),
            ("oversized, streamed without length", lambda: raw(
                "oversized, streamed without length",
                f"POST /v1/traces HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-protobuf\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n".encode(),
                b"".join(b"%x\r\n" % (1 << 16) + b"\x0a" * (1 << 16) + b"\r\n" for _ in range(args.max_body // (1 << 16) + 2)) + b"0\r\n\r\n")),
            ("truncated body", lambda: raw("truncated body", head(100_000), bodies[0][:5000], close_early=True)),
            ("gzip bomb", lambda: raw("gzip bomb", head(len(bomb), "Content-Encoding: gzip\r\n"), bomb)),
            ("malformed protobuf", lambda: raw("malformed protobuf", head(9), b"\xff" * 9)),
        ]

        def dripping():
            # D bodies dripping at once, each 16 B every 0.5 s of a 4 KiB body: far slower than
            # the body timeout allows.
            while not stop.is_set():
                raw(f"dripped body ({args.drippers} at once, 16 B every 0.5 s)", head(4096),
                    bodies[0][:4096], drip=0.5, chunk=16)

        for _ in range(args.drippers):
            threading.Thread(target=dripping, daemon=True).start()
        threads = []
        i = 0
        while not stop.is_set():
            name, fn = kinds[i % len(kinds)]
            i += 1
            t = threading.Thread(target=fn, daemon=True)
            t.start()
            threads.append(t)
            threads = [t for t in threads if t.is_alive()]
            while len(threads) >= 6 and not stop.is_set():
                time.sleep(0.05)
                threads = [t for t in threads if t.is_alive()]
            time.sleep(0.1)
        for s in idle:
            s.close()

    ts = [threading.Thread(target=good, args=(w, workers)) for w in range(workers)]
    ts.append(threading.Thread(target=hostile))
    for t in ts:
        t.start()
    while time.time() - t0 < duration:
        rss.append((time.time() - t0, rss_kb(proc.pid)))
        time.sleep(1)
    stop.set()
    for t in ts:
        t.join()
    proc.send_signal(signal.SIGTERM)
    stderr = proc.stderr.read()
    code = proc.wait()
    doc = json.load(open(report))
    rejected = sum(1 for f in doc["findings"] if f["rule"] == "FT0101" or "rejected" in f["message"])

    sent = len(lat["before"]) + len(lat["during"])
    print(f"soak: {args.minutes} min, good clients {workers} x OTLP/HTTP, target {args.rate:.0f} spans/s "
          f"({sent} requests, {sent * spans_per_req / duration:.0f} spans/s achieved), hostile from "
          f"{args.hostile_from * 100:.0f}% of the run")
    for phase in ("before", "during"):
        v = lat[phase]
        if v:
            print(f"  good latency {phase:>6} hostile load: median {statistics.median(v) * 1e3:.2f} ms, "
                  f"P99 {pct(v, 0.99) * 1e3:.2f} ms ({len(v)} requests)")
    print(f"  good requests not answered 200: {len(errors)} {errors[:5]}")
    warm = [kb for t, kb in rss if t >= 30]
    if warm:
        print(f"  RSS after 30 s warm-up: first {warm[0] / 1024:.1f} MB, last {warm[-1] / 1024:.1f} MB, "
              f"max {max(warm) / 1024:.1f} MB (max over the whole run {max(kb for _, kb in rss) / 1024:.1f} MB)")
    pre = [kb for t, kb in rss if 30 <= t < duration * args.hostile_from]
    if pre:
        print(f"  RSS before hostile load (30 s .. {duration * args.hostile_from:.0f} s): "
              f"min {min(pre) / 1024:.1f} MB, max {max(pre) / 1024:.1f} MB")
        first = [kb for t, kb in rss if 30 <= t < 90]
        last = [kb for t, kb in rss if duration * args.hostile_from - 60 <= t < duration * args.hostile_from]
        if first and last:
            a, b = statistics.median(first), statistics.median(last)
            print(f"  RSS drift before hostile load: median of 30-90 s {a / 1024:.1f} MB, of the last "
                  f"minute {b / 1024:.1f} MB: {100 * (b - a) / a:+.1f}% (flat: within 10%)")
    print("  hostile requests and their answers:")
    for kind, answers in hostile_answers.items():
        print(f"    {kind}: {answers}")
    last = [l for l in stderr.splitlines() if "requests (" in l or "rejected:" in l]
    print(f"  flowtel: exit {code}; {' / '.join(last) if last else stderr[-300:]}")
    print(f"  report: {len(doc['findings'])} findings, {rejected} about rejected requests")


if __name__ == "__main__":
    main()
