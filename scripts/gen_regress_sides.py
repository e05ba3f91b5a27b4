# Writes two sides for the `flowtel regress` benchmark: 1M spans each as OTLP JSON lines
# (250k checkout traces of a root and 3 steps, seeded lognormal durations).
# Usage: python3 scripts/gen_regress_sides.py OUT.jsonl SEED PAYMENTS_SLOWDOWN (e.g. before.jsonl 1 1.0; after.jsonl 2 1.3)
import json, random, sys
out, seed, slow = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
rnd = random.Random(seed)
steps = [("cart.load", "gateway", 0.01), ("payment.authorize", "payments", 0.05), ("order.confirm", "gateway", 0.02)]
def kv(k, v): return {"key": k, "value": {"stringValue": v}}
with open(out, "w") as f:
    per_batch = 500
    spans = []
    t0 = 1_700_000_000_000_000_000
    for t in range(250_000):
        tid = "%032x" % rnd.getrandbits(128)
        root = "%016x" % rnd.getrandbits(64)
        start = t0 + t * 1_000_000
        cur = start
        for name, svc, med in steps:
            d = int(rnd.lognormvariate(0, 0.4) * med * (slow if name == "payment.authorize" else 1.0) * 1e9)
            spans.append({"traceId": tid, "spanId": "%016x" % rnd.getrandbits(64), "parentSpanId": root, "name": name, "kind": 1,
                          "startTimeUnixNano": str(cur), "endTimeUnixNano": str(cur + d),
                          "attributes": [kv("flow.name", "checkout"), kv("flow.step", name)]})
            cur += d
        spans.append({"traceId": tid, "spanId": root, "name": "POST /checkout", "kind": 2,
                      "startTimeUnixNano": str(start), "endTimeUnixNano": str(cur + 100000),
                      "attributes": [kv("flow.name", "checkout"), kv("http.route", "/checkout"), kv("http.request.method", "POST")]})
        if len(spans) >= per_batch:
            f.write(json.dumps({"resourceSpans": [{"resource": {"attributes": [kv("service.name", "gateway")]}, "scopeSpans": [{"scope": {"name": "bench"}, "spans": spans}]}]}) + "\n")
            spans = []
    if spans:
        f.write(json.dumps({"resourceSpans": [{"resource": {"attributes": [kv("service.name", "gateway")]}, "scopeSpans": [{"scope": {"name": "bench"}, "spans": spans}]}]}) + "\n")
