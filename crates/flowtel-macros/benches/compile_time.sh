#!/usr/bin/env bash
# Compile time of a crate with N annotated functions: `#[flowtel::step]` against
# `#[tracing::instrument]` (same signatures and bodies, same field). Both crates depend on
# `flowtel` (a service has the runtime either way; BASELINE_WITHOUT_FLOWTEL=1 drops it from the
# tracing crate, which then also saves loading flowtel's dependency graph). Dependencies are
# built first; each measurement rebuilds only the generated crate (`touch src/lib.rs`), as a
# developer's edit-compile loop does, and the median of RUNS builds is reported.
#
#   crates/flowtel-macros/benches/compile_time.sh [WORK_DIR]    (N=300 RUNS=5 PROFILE=dev)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
WORK=${1:-$(mktemp -d)}
N=${N:-300}
RUNS=${RUNS:-5}
PROFILE=${PROFILE:-dev}
mkdir -p "$WORK"
STEPS=(cart.load payment.authorize order.confirm catalog.search product.load credentials.verify session.create)

cat >"$WORK/Cargo.toml" <<TOML
[workspace]
resolver = "3"
members = ["with-flowtel", "with-tracing"]
TOML
cp "$ROOT/Cargo.lock" "$WORK/Cargo.lock"

gen() { # gen NAME ATTRIBUTE-KIND
    local dir="$WORK/$1"
    mkdir -p "$dir/src"
    if [ "$2" = flowtel ]; then
        cat >"$dir/Cargo.toml" <<TOML
[package]
name = "$1"
version = "0.1.0"
edition = "2024"
[dependencies]
flowtel = { path = "$ROOT/crates/flowtel" }
[package.metadata.flowtel]
conventions = "$ROOT/conventions"
TOML
    else
        cat >"$dir/Cargo.toml" <<TOML
[package]
name = "$1"
version = "0.1.0"
edition = "2024"
[dependencies]
tracing = { version = "0.1.44", default-features = false, features = ["std", "attributes"] }
TOML
        if [ -z "${BASELINE_WITHOUT_FLOWTEL:-}" ]; then
            echo "flowtel = { path = \"$ROOT/crates/flowtel\" }" >>"$dir/Cargo.toml"
        fi
    fi
    {
        echo "#![allow(dead_code)]"
        if [ "$2" = tracing ] && [ -z "${BASELINE_WITHOUT_FLOWTEL:-}" ]; then
            echo "use flowtel as _;"
        fi
        echo "#[derive(Debug)] pub struct Declined;"
        for i in $(seq 1 "$N"); do
            step=${STEPS[$((i % ${#STEPS[@]}))]}
            if [ "$2" = flowtel ]; then
                attr="#[flowtel::step(\"$step\", fields(cart.size = n))]"
            else
                attr="#[tracing::instrument(skip_all, fields(flow.step = \"$step\", cart.size = n))]"
            fi
            if [ $((i % 3)) = 0 ]; then
                printf '%s\npub async fn f%d(n: u64) -> Result<u64, Declined> {\n    if n > %d { return Err(Declined); }\n    Ok(n.wrapping_mul(%d))\n}\n' "$attr" "$i" "$i" "$i"
            else
                printf '%s\npub fn f%d(n: u64) -> Result<u64, Declined> {\n    if n > %d { return Err(Declined); }\n    Ok(n.wrapping_mul(%d))\n}\n' "$attr" "$i" "$i" "$i"
            fi
        done
    } >"$dir/src/lib.rs"
}
gen with-flowtel flowtel
gen with-tracing tracing

cd "$WORK"
echo "building dependencies once (profile $PROFILE) ..." >&2
cargo build --profile "$PROFILE" -q -p with-flowtel -p with-tracing

measure() { # measure PACKAGE -> median seconds
    local times=()
    for _ in $(seq 1 "$RUNS"); do
        touch "$1/src/lib.rs"
        local s e
        s=$(date +%s.%N)
        cargo build --profile "$PROFILE" -q -p "$1"
        e=$(date +%s.%N)
        times+=("$(echo "$e - $s" | bc)")
    done
    printf '%s\n' "${times[@]}" | sort -n | sed -n "$(((RUNS + 1) / 2))p"
}
tracing_s=$(measure with-tracing)
flowtel_s=$(measure with-flowtel)
echo "functions: $N, profile: $PROFILE, median of $RUNS rebuilds"
echo "#[tracing::instrument]: ${tracing_s}s"
echo "#[flowtel::step]:       ${flowtel_s}s"
echo "ratio: $(echo "scale=2; $flowtel_s / $tracing_s" | bc)"
