#!/usr/bin/env bash
# make bench-k8s: cosched beside kube-scheduler v1.37.2 on the real control plane, in one run.
# For each scheduler a fresh etcd + kube-apiserver (test/integration/lib_k8s.sh) gets the same
# cluster: NODES nodes (4 cpu, 32Gi, 110 pods), EXISTING bound pods and PODS pending pods
# (100m/500Mi) created before the scheduler starts (as scheduler_perf does); a watcher counts
# binds from the first to the last (pods/s), and /proc gives the scheduler's CPU seconds and peak
# RSS and the apiserver's CPU seconds. Shapes: BENCH_K8S_NODES/EXISTING/PODS (default 500/1000/
# 5000, the 500-node variant; 5000/1000/10000 is SchedulingBasic).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=/usr/bin/python3
NODES=${BENCH_K8S_NODES:-500}; EXISTING=${BENCH_K8S_EXISTING:-1000}; PODS=${BENCH_K8S_PODS:-5000}
bash "$ROOT/hack/k8s-build.sh" || { echo "bench-k8s: the real control plane could not be built"; exit 1; }
[ -x "$ROOT/build/cosched" ] || make -C "$ROOT" all >/dev/null
TOP=$(mktemp -d /tmp/cosched-bench-k8s.XXXXXX)
trap 'stop_k8s 2>/dev/null; [ -n "${SPID:-}" ] && kill "$SPID" 2>/dev/null; rm -rf "$TOP"' EXIT

cpu_s() { awk '{printf "%.2f", ($14 + $15) / 100}' "/proc/$1/stat" 2>/dev/null; }
rss_mib() { awk '/VmHWM/ {printf "%.0f", $2 / 1024}' "/proc/$1/status" 2>/dev/null; }

run() {  # label scheduler-name command...
  local label=$1 sched=$2; shift 2
  WORK=$TOP/$label; mkdir -p "$WORK"; KCFG=$WORK/kubeconfig
  . "$ROOT/test/integration/lib_k8s.sh"
  start_k8s >/dev/null || { echo "| $label | apiserver did not start |"; return; }
  "$PY" "$ROOT/hack/k8sload.py" create --server "$K8S_URL" --token cosched-admin-token \
    --nodes "$NODES" --existing "$EXISTING" --pods "$PODS" --scheduler "$sched" >"$WORK/create.txt"
  "$PY" "$ROOT/hack/k8sload.py" watch --server "$K8S_URL" --token cosched-admin-token \
    --want "$PODS" --scheduler "$sched" --out "$WORK/watch.txt" --timeout 900 >"$WORK/watch.log" &
  local wpid=$!
  for _ in $(seq 1 50); do grep -q ready "$WORK/watch.log" 2>/dev/null && break; sleep 0.1; done
  local api0; api0=$(cpu_s "$KAPI_PID")
  local t0; t0=$(date +%s.%N)
  "$@" >"$WORK/scheduler.log" 2>&1 &
  SPID=$!
  wait "$wpid"
  local t1; t1=$(date +%s.%N)
  local scpu srss apicpu
  scpu=$(cpu_s "$SPID"); srss=$(rss_mib "$SPID"); apicpu=$(cpu_s "$KAPI_PID")
  kill -TERM "$SPID" 2>/dev/null; wait "$SPID" 2>/dev/null; SPID=""
  stop_k8s
  read -r first last n <"$WORK/watch.txt"
  "$PY" - "$label" "$first" "$last" "$n" "$t0" "$t1" "$scpu" "$srss" "$api0" "$apicpu" <<'PYEOF'
import sys
label, first, last, n, t0, t1, scpu, srss, api0, api1 = sys.argv[1:]
first, last, n = float(first), float(last), int(n)
rate = n / (last - first) if last > first else 0
wall = float(t1) - float(t0)
print("| %s | %d | %.0f | %.0f | %s | %s | %.1f |" % (label, n, rate, n / wall if wall else 0,
      scpu or "?", srss or "?", float(api1 or 0) - float(api0 or 0)))
PYEOF
}

echo "# bench-k8s on $(nproc) cores (etcd, kube-apiserver, scheduler and load share them): $NODES nodes, $EXISTING existing, $PODS pending pods"
echo "| scheduler | pods bound | pods/s (first to last bind) | pods/s (from scheduler start) | scheduler CPU s | scheduler peak RSS MiB | apiserver CPU s during the run |"
echo "|---|---|---|---|---|---|---|"
run cosched ack-co-scheduler "$ROOT/build/cosched" --kubeconfig "$TOP/cosched/kubeconfig" \
  --leader-elect=false --secure-port 0 -v=0
for pct in default 100; do
  mkdir -p "$TOP/kube-scheduler-$pct"
  {
    echo "apiVersion: kubescheduler.config.k8s.io/v1"
    echo "kind: KubeSchedulerConfiguration"
    echo "leaderElection: {leaderElect: false}"
    echo "clientConnection: {kubeconfig: $TOP/kube-scheduler-$pct/kubeconfig, qps: 5000, burst: 5000}"
    [ "$pct" = 100 ] && echo "percentageOfNodesToScore: 100"
  } >"$TOP/kube-scheduler-$pct/config.yaml"
  run "kube-scheduler-$pct" default-scheduler "$ROOT/build/k8s/kube-scheduler" \
    --config "$TOP/kube-scheduler-$pct/config.yaml" --secure-port 0 -v=0
done
