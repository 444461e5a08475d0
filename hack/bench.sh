#!/usr/bin/env bash
# make bench: SchedulingBasic (bench.md) end to end against apisim, beside apisim's raw bind
# ceiling measured in the same run with the same connection settings, plus the scheduler-only
# decision rate on an in-memory snapshot. `make bench-apisim` runs only apisim's own figures.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=$ROOT/build
PY=/usr/bin/python3
if [ "${1:-}" = apisim ]; then exec bash "$ROOT/hack/bench_apisim.sh"; fi
NODES=${BENCH_NODES:-5000}
EXISTING=${BENCH_EXISTING:-1000}
PODS=${BENCH_PODS:-10000}
WORK=$(mktemp -d /tmp/cosched-bench.XXXXXX)
KCFG=$WORK/kubeconfig
APID=""; CPID=""
cleanup() {
  [ -n "$CPID" ] && kill "$CPID" 2>/dev/null
  [ -n "$APID" ] && kill "$APID" 2>/dev/null
  wait 2>/dev/null; rm -rf "$WORK"
}
trap cleanup EXIT

start_apisim() {
  "$B/apisim" --listen 127.0.0.1:0 --kubeconfig-out "$KCFG" \
    --cluster-gen "nodes=$NODES,cpu=4,memory=32Gi,pods=110,prefix=node-" \
    --pods-gen "count=$EXISTING,cpu=100m,memory=500Mi,bound=true,scheduler=ack-co-scheduler,prefix=existing-" \
    --pods-gen "count=$PODS,cpu=100m,memory=500Mi,scheduler=ack-co-scheduler,prefix=measured-" \
    --running-delay off "$@" >"$WORK/apisim.out" 2>"$WORK/apisim.log" &
  APID=$!
  for _ in $(seq 1 300); do grep -q "serving on" "$WORK/apisim.out" 2>/dev/null && return 0; sleep 0.1; done
  echo "apisim did not start"; cat "$WORK/apisim.log"; exit 1
}
stop_apisim() { kill "$APID" 2>/dev/null; wait "$APID" 2>/dev/null; APID=""; }

echo "# SchedulingBasic: $NODES nodes, $EXISTING existing pods, $PODS measured pods (100m/500Mi)"
echo "# machine: $(nproc) cores; apisim and cosched share them"

# 1. Ceiling: the minimal bind client over the same client library and settings.
start_apisim
ceiling_line=$("$B/bindbench" --kubeconfig "$KCFG" --concurrency 64 2>"$WORK/bindbench.log" | tail -1)
stop_apisim
ceiling=$(echo "$ceiling_line" | grep -o 'binds_per_sec=[0-9.]*' | cut -d= -f2)
echo "ceiling: $ceiling_line"

# 2. cosched end to end.
start_apisim
"$B/cosched" --kubeconfig "$KCFG" --leader-elect=false --secure-port 0 -v=0 >"$WORK/cosched.log" 2>&1 &
CPID=$!
for _ in $(seq 1 100); do grep -q healthPort "$WORK/cosched.log" && break; sleep 0.1; done
port=$(grep -o 'healthPort=[0-9]*' "$WORK/cosched.log" | head -1 | cut -d= -f2)
"$PY" "$ROOT/hack/benchwatch.py" --port "$port" --pid "$CPID" --want "$PODS" --timeout 300 \
  --ceiling "${ceiling:-0}" --out "$WORK/result.txt"
cat "$WORK/result.txt"
kill -TERM "$CPID"; wait "$CPID" 2>/dev/null; CPID=""
stop_apisim

# 3. Scheduler-only decisions on an in-memory snapshot (binds discarded).
if [ -x "$B/schedbench" ]; then
  "$B/schedbench" --nodes "$NODES" --existing "$EXISTING" --pods "$PODS"
fi
