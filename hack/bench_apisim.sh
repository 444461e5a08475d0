#!/usr/bin/env bash
# apisim's raw bind ceiling: start build/apisim with NODES nodes and PODS pending pods, run
# build/bindbench with WATCHERS watchers and CONCURRENCY binds in flight, print its figures,
# stop apisim. Environment overrides: NODES (5000), PODS (10000), WATCHERS (3),
# CONCURRENCY (64), MAX_CONNS (client pool, default the client's), APISIM_BIN, BINDBENCH_BIN,
# APISIM_FLAGS (extra apisim flags, e.g. "--running-delay off").
set -euo pipefail
cd "$(dirname "$0")/.."
APISIM=${APISIM_BIN:-build/apisim}
BINDBENCH=${BINDBENCH_BIN:-build/bindbench}
NODES=${NODES:-5000}
PODS=${PODS:-10000}
WATCHERS=${WATCHERS:-3}
CONCURRENCY=${CONCURRENCY:-64}
for b in "$APISIM" "$BINDBENCH"; do
  if [ ! -x "$b" ]; then echo "bench_apisim: $b is not built (run make all)" >&2; exit 1; fi
done
tmp=$(mktemp -d)
apisim_pid=
cleanup() {
  if [ -n "$apisim_pid" ]; then kill "$apisim_pid" 2>/dev/null || true; wait "$apisim_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
# shellcheck disable=SC2086
"$APISIM" --listen 127.0.0.1:0 --kubeconfig-out "$tmp/kubeconfig" \
  --cluster-gen "nodes=$NODES,cpu=4,memory=32Gi,pods=110" \
  --pods-gen "count=$PODS,cpu=100m,memory=500Mi" ${APISIM_FLAGS:-} >"$tmp/apisim.log" 2>&1 &
apisim_pid=$!
for _ in $(seq 1 600); do
  if grep -q 'serving on' "$tmp/apisim.log" 2>/dev/null && [ -s "$tmp/kubeconfig" ]; then break; fi
  if ! kill -0 "$apisim_pid" 2>/dev/null; then echo "bench_apisim: apisim exited:" >&2; cat "$tmp/apisim.log" >&2; exit 1; fi
  sleep 0.1
done
if ! grep -q 'serving on' "$tmp/apisim.log"; then echo "bench_apisim: apisim did not come up" >&2; cat "$tmp/apisim.log" >&2; exit 1; fi
extra=()
if [ -n "${MAX_CONNS:-}" ]; then extra+=(--max-conns "$MAX_CONNS"); fi
echo "bench_apisim: nodes=$NODES pods=$PODS watchers=$WATCHERS concurrency=$CONCURRENCY"
rc=0
# apisim's own CPU across the run (all its threads), for "binds per apisim CPU-second".
cpu_ticks() { awk '{print $14 + $15}' "/proc/$apisim_pid/stat"; }
t0=$(cpu_ticks)
"$BINDBENCH" --kubeconfig "$tmp/kubeconfig" --concurrency "$CONCURRENCY" --watchers "$WATCHERS" "${extra[@]}" | tee "$tmp/bb.txt" || rc=$?
t1=$(cpu_ticks)
hz=$(getconf CLK_TCK)
binds=$(grep -o 'binds=[0-9]*' "$tmp/bb.txt" | head -1 | cut -d= -f2)
if [ -n "$binds" ] && [ "$t1" -gt "$t0" ]; then
  awk -v b="$binds" -v t=$((t1 - t0)) -v hz="$hz" \
    'BEGIN { printf "apisim_cpu_seconds=%.2f binds_per_apisim_cpu_second=%.0f\n", t / hz, b / (t / hz) }'
fi
if [ "$rc" -ne 0 ]; then
  if ! kill -0 "$apisim_pid" 2>/dev/null; then
    wait "$apisim_pid"; echo "bench_apisim: apisim died (exit $?)" >&2; apisim_pid=
  fi
  echo "bench_apisim: bindbench failed (rc=$rc); apisim log tail:" >&2
  tail -n 20 "$tmp/apisim.log" >&2
fi
exit "$rc"
