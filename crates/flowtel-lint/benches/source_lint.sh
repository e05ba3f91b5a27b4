#!/usr/bin/env bash
# Time `flowtel lint source` over a generated workspace of LINES lines of Rust (default 10,000
# in 50 files) that use tracing spans and events, #[instrument], OpenTelemetry instruments and
# KeyValues, and metrics macros, with a mix of declared and undeclared names.
#
#   crates/flowtel-lint/benches/source_lint.sh [WORK_DIR]     (LINES=10000 RUNS=5)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
WORK=${1:-$(mktemp -d)}
LINES=${LINES:-10000}
RUNS=${RUNS:-5}
FILES=50
mkdir -p "$WORK/src"
per_file=$((LINES / FILES))
for f in $(seq 1 $FILES); do
    out="$WORK/src/module_$f.rs"
    {
        echo "use opentelemetry::KeyValue;"
        echo "use opentelemetry::metrics::Meter;"
        n=2
        i=0
        while [ $n -lt $per_file ]; do
            i=$((i + 1))
            cat <<RS
#[tracing::instrument(name = "cart.load", skip_all, fields(cart.size = items.len()))]
pub fn handler_${f}_$i(meter: &Meter, items: &[u64], tier: &str) -> u64 {
    let span = tracing::info_span!("checkout", customer.tier = %tier, flow.name = "checkout");
    let _e = span.enter();
    let requests = meter.u64_counter("flow.requests").build();
    requests.add(1, &[KeyValue::new("flow.name", "checkout"), KeyValue::new("outcome", "ok")]);
    let duration = meter.f64_histogram("flow.step.duration").with_unit("s").build();
    duration.record(0.1, &[KeyValue::new("flow.name", "checkout"), KeyValue::new("flow.step", "cart.load")]);
    metrics::counter!("flow.requests", "flow.name" => "checkout", "outcome" => "ok").increment(1);
    let legacy = meter.u64_counter("checkout.order.count").build();
    legacy.add(1, &[KeyValue::new("cart_items", items.len() as i64)]);
    tracing::info!(outcome = "ok", "handled {} items for {}", items.len(), tier);
    let total: u64 = items.iter().copied().filter(|x| *x > 2).map(|x| x * 3).sum();
    if total > 1000 {
        tracing::warn!(http.route = "/checkout", "large cart: {}", total);
    }
    total
}

RS
            n=$((n + 19))
        done
    } >"$out"
done
echo "generated $(cat "$WORK"/src/*.rs | wc -l) lines in $FILES files under $WORK" >&2

cd "$ROOT"
cargo build --release -q -p flowtel-cli
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/flowtel"
times=()
for _ in $(seq 1 "$RUNS"); do
    s=$(date +%s.%N)
    "$BIN" lint source --conventions "$ROOT/conventions" --format json "$WORK" >"$WORK/report.json" || true
    e=$(date +%s.%N)
    times+=("$(echo "$e - $s" | bc)")
done
echo "findings: $(grep -o '"rule"' "$WORK/report.json" | wc -l)"
echo "median of $RUNS runs: $(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(((RUNS + 1) / 2))p")s"
