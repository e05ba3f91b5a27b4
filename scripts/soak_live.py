"""Soak and hostile load on `flowtel live`, with clients that share no code with flowtel.

Usage: python scripts/soak_live.py FLOWTEL_BINARY [--minutes M] [--rate SPANS_PER_S]
       [--hostile-from F] [--hostile-period S] [--spans-per-request N] [--drippers D]
       [--clients C] [--hostile-nice N]

Well-behaved clients (C processes, one keep-alive connection each) send OTLP/HTTP protobuf trace
requests (--spans-per-request spans each) at a fixed total rate of --rate spans/s for --minutes.
With --rate 0 they first run unthrottled for 20 s to measure the maximum rate, and the soak runs
at half of it.

From fraction F of the run on, a hostile client (its own process, so it never shares an
interpreter lock with the well-behaved ones) runs in windows of --hostile-period seconds,
alternating with quiet windows, so that whatever else loads the machine weighs on both alike.
While active it holds 200 idle connections, keeps D bodies dripping at once (16 B every 0.5 s,
never finishing within the receiver's body timeout), and in turn sends oversized bodies (with
and without Content-Length), truncated bodies (then closes), gzip bombs and malformed protobuf.
Requests of the quiet windows count once the receiver's body timeout has passed since the
hostile client stopped (its last drippers are answered by then).

At the end flowtel is stopped with SIGTERM and its report read. Prints the well-behaved latency
(median, P99) before the hostile load, in the hostile windows and in the quiet windows between
them, with the ratios; flowtel's CPU seconds per window kind; flowtel's RSS over time (sampled
every second) and its drift before the hostile load; the answers the hostile requests got; and
what flowtel's report counted. The receiver's memory is held to a stated bound: its RSS
before the hostile load plus three times --max-concurrency x --max-body-bytes (bodies being
read share a budget of one such product and may hold up to twice it while their buffers grow;
bodies being inflated and decoded hold at most one more).
"""

import argparse
import gzip
import http.client
import json
import multiprocessing as mp
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
from bench_live import cpu_seconds, request  # noqa: E402

# The receiver's --body-timeout (flowtel's default), and the drain allowed after a hostile window.
BODY_TIMEOUT = 10.0
DRAIN = BODY_TIMEOUT + 2.0


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(len(v) * p))] if v else float("nan")


def good_client(host, port, bodies, interval, start_at, until, flat_out, out):
    """One well-behaved client: a request every `interval` seconds (or back to back when
    `flat_out`) from `start_at` to `until`; puts its (sent at, latency, status) list on `out`."""
    conn = http.client.HTTPConnection(host, port, timeout=30)
    samples = []
    i = 0
    nxt = start_at
    time.sleep(max(0, start_at - time.time()))
    while time.time() < until:
        b = bodies[i % len(bodies)]
        i += 1
        s = time.time()
        status = 0
        try:
            conn.request("POST", "/v1/traces", body=b,
                         headers={"Content-Type": "application/x-protobuf"})
            r = conn.getresponse()
            r.read()
            status = r.status
        except Exception as e:  # a failed good request is a result, not a crash
            status = repr(e)
            conn = http.client.HTTPConnection(host, port, timeout=30)
        samples.append((s, time.time() - s, status))
        if not flat_out:
            nxt += interval
            time.sleep(max(0, nxt - time.time()))
    out.put(samples)


def hostile_client(host, port, addr, max_body, drippers, body, active, stop, out, nice):
    """The hostile client: does its worst while `active` is set, until `stop`."""
    if nice:
        os.nice(nice)
    answers = {}
    lock = threading.Lock()

    def answer(kind, status):
        with lock:
            answers.setdefault(kind, {}).setdefault(status, 0)
            answers[kind][status] += 1

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
                try:
                    s.sendall(body)
                except OSError:
                    pass  # answered (413) and closed before the body was all sent
            if close_early:
                s.close()
                answer(kind, "closed by client")
                return
            try:
                data = s.recv(4096)
            except OSError:
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
    oversized = b"\x0a" * (max_body + 1024)
    chunked = b"".join(b"%x\r\n" % (1 << 16) + b"\x0a" * (1 << 16) + b"\r\n"
                       for _ in range(max_body // (1 << 16) + 2)) + b"0\r\n\r\n"
    kinds = [
        lambda: raw("oversized body", head(len(oversized)), oversized),
        lambda: raw("oversized, streamed without length",
                    f"POST /v1/traces HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-protobuf\r\n"
                    "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n".encode(), chunked),
        lambda: raw("truncated body", head(100_000), body[:5000], close_early=True),
        lambda: raw("gzip bomb", head(len(bomb), "Content-Encoding: gzip\r\n"), bomb),
        lambda: raw("malformed protobuf", head(9), b"\xff" * 9),
    ]

    def dripping():
        # D bodies dripping at once, each 16 B every 0.5 s of a 4 KiB body: far slower than the
        # body timeout allows.
        while not stop.is_set():
            if not active.wait(0.2):
                continue
            raw(f"dripped body ({drippers} at once, 16 B every 0.5 s)", head(4096),
                body[:4096], drip=0.5, chunk=16)

    for _ in range(drippers):
        threading.Thread(target=dripping, daemon=True).start()
    threads = []
    idle = []
    i = 0
    while not stop.is_set():
        if not active.is_set():
            for s in idle:
                s.close()
            idle = []
            active.wait(0.2)
            continue
        if not idle:
            for _ in range(200):
                try:
                    idle.append(socket.create_connection((host, port), timeout=5))
                except OSError as e:
                    answer("idle connection", type(e).__name__)
            answer("idle connection", f"{len(idle)} held open")
        t = threading.Thread(target=kinds[i % len(kinds)], daemon=True)
        i += 1
        t.start()
        threads.append(t)
        threads = [t for t in threads if t.is_alive()]
        while len(threads) >= 6 and not stop.is_set():
            time.sleep(0.05)
            threads = [t for t in threads if t.is_alive()]
        time.sleep(0.1)
    for s in idle:
        s.close()
    out.put(answers)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--rate", type=float, default=150_000, help="spans/s of the good clients (0: half the measured maximum)")
    ap.add_argument("--hostile-from", type=float, default=0.5)
    ap.add_argument("--hostile-period", type=float, default=30,
                    help="seconds of each hostile window and of each quiet window between them")
    ap.add_argument("--max-body", type=int, default=4 << 20)
    ap.add_argument("--max-concurrency", type=int, default=8)
    ap.add_argument("--spans-per-request", type=int, default=100)
    ap.add_argument("--drippers", type=int, default=32)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--hostile-nice", type=int, default=0)
    args = ap.parse_args()

    out_dir = tempfile.mkdtemp()
    report = os.path.join(out_dir, "report.json")
    proc = subprocess.Popen(
        [args.binary, "live", "--listen", "127.0.0.1:0", "--no-grpc", "--format", "json",
         "--max-body-bytes", str(args.max_body),
         "--max-concurrency", str(args.max_concurrency), "--body-timeout", f"{BODY_TIMEOUT:g}s", "-o", report],
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
    # Keep reading flowtel's stderr so it never blocks on a full pipe.
    stderr_lines = []
    threading.Thread(target=lambda: stderr_lines.extend(proc.stderr), daemon=True).start()

    spans_per_req = args.spans_per_request
    bodies = [request(i, spans_per_req).SerializeToString() for i in range(10)]
    ctx = mp.get_context("fork")
    workers = args.clients

    def run_clients(interval, start_at, until, flat_out):
        q = ctx.Queue()
        ps = [ctx.Process(target=good_client,
                          args=(host, port, bodies[w:] + bodies[:w], interval, start_at + w * interval / workers,
                                until, flat_out, q))
              for w in range(workers)]
        for p in ps:
            p.start()
        return q, ps

    def collect(q, ps):
        samples = [s for _ in ps for s in q.get()]
        for p in ps:
            p.join()
        return samples

    if args.rate <= 0:
        # Calibration: unthrottled clients for 20 s; the soak runs at half the rate reached.
        cpu0 = cpu_seconds(proc.pid)
        q, ps = run_clients(0, time.time(), time.time() + 20, True)
        cal = collect(q, ps)
        cpu = cpu_seconds(proc.pid) - cpu0
        max_rate = len(cal) * spans_per_req / 20
        args.rate = max_rate / 2
        print(f"calibration: {max_rate:.0f} spans/s maximum with {workers} client processes "
              f"(flowtel used {cpu / 20:.2f} CPUs); soaking at {args.rate:.0f} spans/s", flush=True)

    duration = args.minutes * 60
    t0 = time.time() + 0.5
    hostile_at = t0 + duration * args.hostile_from
    end = t0 + duration
    interval = spans_per_req * workers / args.rate
    q, ps = run_clients(interval, t0, end, False)
    active, stop = ctx.Event(), ctx.Event()
    hq = ctx.Queue()
    hostile = ctx.Process(target=hostile_client,
                          args=(host, port, addr, args.max_body, args.drippers, bodies[0], active, stop, hq,
                                args.hostile_nice))
    hostile.start()

    rss = []
    windows = []  # (start, end, "hostile" | "quiet after")
    cpu_by = {"before": 0.0, "hostile": 0.0, "quiet after": 0.0}
    last_cpu = cpu_seconds(proc.pid)
    phase = "before"
    window_start = None
    while time.time() < end:
        now = time.time()
        if now >= hostile_at:
            k = int((now - hostile_at) // args.hostile_period)
            want = "hostile" if k % 2 == 0 else "quiet after"
            if want != phase:
                if window_start is not None:
                    windows.append((window_start, now, phase))
                window_start = now
                phase = want
                (active.set if want == "hostile" else active.clear)()
        rss.append((now - t0, rss_kb(proc.pid)))
        c = cpu_seconds(proc.pid)
        cpu_by[phase] += c - last_cpu
        last_cpu = c
        time.sleep(1)
    if window_start is not None:
        windows.append((window_start, time.time(), phase))
    samples = collect(q, ps)
    stop.set()
    active.set()
    answers = hq.get()
    hostile.join()
    proc.send_signal(signal.SIGTERM)
    code = proc.wait()
    time.sleep(0.2)
    stderr = "".join(stderr_lines)
    doc = json.load(open(report))
    rejected = sum(1 for f in doc["findings"] if "rejected" in f["message"])

    def label(sent):
        if sent < hostile_at:
            return "before"
        for a, b, kind in windows:
            if a <= sent < b:
                if kind == "quiet after" and sent < a + DRAIN:
                    return None  # the last drippers are still being timed out
                return kind
        return None

    lat = {"before": [], "hostile": [], "quiet after": []}
    errors = []
    for sent, l, status in samples:
        if status != 200:
            errors.append(status)
        k = label(sent)
        if k:
            lat[k].append(l)
    print(f"soak: {args.minutes} min, good clients {workers} processes x OTLP/HTTP, target {args.rate:.0f} spans/s "
          f"({len(samples)} requests of {spans_per_req} spans, {len(samples) * spans_per_req / duration:.0f} spans/s "
          f"achieved); hostile client (nice {args.hostile_nice}) from {args.hostile_from * 100:.0f}% of the run, "
          f"{args.hostile_period:g} s on / {args.hostile_period:g} s off")
    for k in ("before", "hostile", "quiet after"):
        v = lat[k]
        if v:
            name = {"before": "before the hostile load", "hostile": "in hostile windows",
                    "quiet after": f"in quiet windows between ({DRAIN:g} s drain skipped)"}[k]
            print(f"  good latency {name}: median {statistics.median(v) * 1e3:.2f} ms, "
                  f"P99 {pct(v, 0.99) * 1e3:.2f} ms ({len(v)} requests)")
    h, qa = lat["hostile"], lat["quiet after"]
    if h and qa:
        print(f"  hostile / quiet windows: median {statistics.median(h) / statistics.median(qa):.2f}x, "
              f"P99 {pct(h, 0.99) / pct(qa, 0.99):.2f}x (target: within 2x)")
    if h and lat["before"]:
        b = lat["before"]
        print(f"  hostile / before: median {statistics.median(h) / statistics.median(b):.2f}x, "
              f"P99 {pct(h, 0.99) / pct(b, 0.99):.2f}x")
    secs = {"before": hostile_at - t0,
            "hostile": sum(b - a for a, b, k in windows if k == "hostile"),
            "quiet after": sum(b - a for a, b, k in windows if k == "quiet after")}
    print("  flowtel CPU: " + ", ".join(f"{k} {cpu_by[k] / secs[k]:.2f} CPUs" for k in cpu_by if secs[k] > 0))
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
    if pre:
        # The stated bound: what the well-behaved load needed, plus bodies being read (the shared
        # budget of concurrency x max body, up to twice that while their buffers grow) and the
        # bodies being inflated and decoded (concurrency x max body).
        budget = args.max_concurrency * args.max_body / (1 << 20)
        bound = max(pre) / 1024 + 3 * budget
        worst = max(kb for t, kb in rss) / 1024
        print(f"  RSS bound under hostile load: {max(pre) / 1024:.1f} MB (well-behaved load) + 3 x {budget:.0f} MB "
              f"(--max-concurrency x --max-body-bytes) = {bound:.0f} MB; highest {worst:.1f} MB: "
              f"{'within' if worst <= bound else 'OVER'}")
    print("  hostile requests and their answers:")
    for kind, a in answers.items():
        print(f"    {kind}: {a}")
    last = [line.strip() for line in stderr.splitlines() if "requests (" in line or "rejected:" in line]
    print(f"  flowtel: exit {code}; {' / '.join(last) if last else stderr[-300:]}")
    print(f"  report: {len(doc['findings'])} findings, {rejected} about rejected requests")


if __name__ == "__main__":
    main()
