#!/usr/bin/env bash
# make bench-k8s: cosched beside kube-scheduler v1.37.2 on the real control plane, in one run.
# For each scheduler a fresh etcd + kube-apiserver (test/integration/lib_k8s.sh) gets the same
# cluster: NODES nodes (4 cpu, 32Gi, 110 pods), EXISTING bound pods and PODS pending pods
# (100m/500Mi) created before the scheduler starts (as scheduler_perf does); a watcher counts
# binds from the first to the last (pods/s) and, separately, until every pod also has its
# Scheduled event (pods/s with events: the two writes any scheduler makes per pod), and /proc
# gives the scheduler's CPU seconds and peak RSS and the apiserver's CPU seconds. Before the
# schedulers, the apiserver's own ceilings on the same cluster: cmd/bindbench binding every pod
# (binds only), then binding and writing each pod's Scheduled event (binds + events).
# The ceilings are observed by the same watcher as the schedulers (its own load included);
# bindbench keeps BENCH_K8S_CEIL_CONC (256) pods in flight, as many as a scheduler may.
# Shapes: BENCH_K8S_NODES/EXISTING/PODS (default 500/1000/5000, the 500-node variant;
# 5000/1000/10000 is SchedulingBasic). Then the steady-rate variant (BENCH_K8S_RATE pods/s,
# default 300; 0 skips it) for cosched and kube-scheduler with its defaults.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=/usr/bin/python3
NODES=${BENCH_K8S_NODES:-500}; EXISTING=${BENCH_K8S_EXISTING:-1000}; PODS=${BENCH_K8S_PODS:-5000}
RATE=${BENCH_K8S_RATE:-300}   # the steady-rate variant's pods/s (0: skip it)
bash "$ROOT/hack/k8s-build.sh" || { echo "bench-k8s: the real control plane could not be built"; exit 1; }
[ -x "$ROOT/build/cosched" ] || make -C "$ROOT" all >/dev/null
TOP=$(mktemp -d /tmp/cosched-bench-k8s.XXXXXX)
trap 'stop_k8s 2>/dev/null; [ -n "${SPID:-}" ] && kill "$SPID" 2>/dev/null; rm -rf "$TOP"' EXIT

# The observer prints "ready" once its initial lists are parsed (up to 300 s at 150k pods).
wait_ready() {
  for _ in $(seq 1 3000); do grep -q ready "$WORK/watch.log" 2>/dev/null && break; sleep 0.1; done
}
cpu_s() { awk '{printf "%.2f", ($14 + $15) / 100}' "/proc/$1/stat" 2>/dev/null; }
rss_mib() { awk '/VmHWM/ {printf "%.0f", $2 / 1024}' "/proc/$1/status" 2>/dev/null; }

setup() {  # label scheduler-name [pending pods]: a fresh control plane with the cluster
  WORK=$TOP/$1; mkdir -p "$WORK"; KCFG=$WORK/kubeconfig
  . "$ROOT/test/integration/lib_k8s.sh"
  start_k8s >/dev/null || return 1
  "$PY" "$ROOT/hack/k8sload.py" create --server "$K8S_URL" --token cosched-admin-token \
    --nodes "$NODES" --existing "$EXISTING" --pods "${3:-$PODS}" --scheduler "$2" >"$WORK/create.txt"
}

# The steady-rate variant: the same cluster without pending pods; once the scheduler runs,
# hack/k8sload.py feed creates PODS pods at RATE per second. Reported: pods/s from first to last
# bind, and each pod's latency from its creation (the client's 201) to its bind seen by the
# watcher, p50/p90/p99.
steady() {  # label scheduler-name command...
  local label=$1 sched=$2; shift 2
  setup "steady-$label" "$sched" 0 || { echo "| $label | apiserver did not start |"; return; }
  "$PY" "$ROOT/hack/k8sload.py" watch --server "$K8S_URL" --token cosched-admin-token \
    --want "$PODS" --scheduler "$sched" --out "$WORK/watch.txt" --timeout 900 \
    --times "$WORK/bound.txt" >"$WORK/watch.log" &
  local wpid=$!
  wait_ready
  "$@" >"$WORK/scheduler.log" 2>&1 &
  SPID=$!
  sleep 2
  local api0; api0=$(cpu_s "$KAPI_PID")
  "$PY" "$ROOT/hack/k8sload.py" feed --server "$K8S_URL" --token cosched-admin-token \
    --pods "$PODS" --rate "$RATE" --scheduler "$sched" --times "$WORK/created.txt" >"$WORK/feed.txt"
  wait "$wpid"
  local scpu apicpu
  scpu=$(cpu_s "$SPID"); apicpu=$(cpu_s "$KAPI_PID")
  kill -TERM "$SPID" 2>/dev/null; wait "$SPID" 2>/dev/null; SPID=""
  stop_k8s
  "$PY" - "$label" "$WORK/watch.txt" "$WORK/created.txt" "$WORK/bound.txt" "$scpu" "$api0" "$apicpu" "$(cat "$WORK/feed.txt")" <<'PYEOF'
import sys
label, watch, created, bound, scpu, api0, api1, fed = sys.argv[1:]
first, last, n = open(watch).read().split()[:3]
first, last, n = float(first), float(last), int(n)
c = dict(l.split() for l in open(created))
b = dict(l.split() for l in open(bound))
lat = sorted(1000 * (float(b[k]) - float(c[k])) for k in b if k in c)
pct = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] if lat else 0
print("| %s | %d | %.0f | %.0f / %.0f / %.0f | %s | %.1f | %s |" % (label, n, n / (last - first) if last > first else 0,
      pct(0.5), pct(0.9), pct(0.99), scpu or "?", float(api1 or 0) - float(api0 or 0), fed))
PYEOF
}

ceiling() {  # label events(0|1)
  # The same observer as the scheduler rows (hack/k8sload.py watch, from the first bind to the
  # last bind or Scheduled event it sees), so that its own load on the apiserver and the CPU
  # it takes are in the ceiling too; bindbench's own rate is kept in the log.
  setup "$1" bench-none || { echo "| $1 | apiserver did not start |"; return; }
  local evflag=""; [ "$2" = 1 ] && evflag="--events"
  "$PY" "$ROOT/hack/k8sload.py" watch --server "$K8S_URL" --token cosched-admin-token \
    --want "$PODS" --scheduler bench-none --out "$WORK/watch.txt" --timeout 900 $evflag >"$WORK/watch.log" &
  local wpid=$!
  wait_ready
  local api0 apicpu line rate
  api0=$(cpu_s "$KAPI_PID")
  line=$("$ROOT/build/bindbench" --kubeconfig "$KCFG" --events "$2" --concurrency "${BENCH_K8S_CEIL_CONC:-256}" 2>"$WORK/bindbench.log" | tail -1)
  wait "$wpid"
  apicpu=$(cpu_s "$KAPI_PID")
  stop_k8s
  echo "$1: bindbench says $line" >>"$TOP/bindbench.txt"
  read -r first last n last_ev n_ev <"$WORK/watch.txt"
  rate=$(awk -v f="$first" -v l="$last" -v n="$n" -v le="$last_ev" -v ne="$n_ev" -v ev="$2" \
    'BEGIN { if (ev == 1) { if (ne == n && le > f) printf "%.0f", ne / (le - f) } else if (l > f) printf "%.0f", n / (l - f) }')
  eval "CEIL_$2=${rate:-0}"
  if [ "$2" = 1 ]; then
    printf '| %s | %s | | | | %s | | %s | | %.1f | | |\n' "$1" "${n:-?}" "${rate:-?}" "$(echo "$line" | grep -o 'client_cpu_us_per_bind=[0-9]*')" \
      "$(echo "${apicpu:-0} ${api0:-0}" | awk '{print $1 - $2}')"
  else
    printf '| %s | %s | %s | | | | | %s | | %.1f | | |\n' "$1" "${n:-?}" "${rate:-?}" "$(echo "$line" | grep -o 'client_cpu_us_per_bind=[0-9]*')" \
      "$(echo "${apicpu:-0} ${api0:-0}" | awk '{print $1 - $2}')"
  fi
}

# The scheduler's /metrics: cosched's health port (plain HTTP, from its log), kube-scheduler's
# secure port (the admin token, authorised through the apiserver).
scrape_metrics() {  # out
  local port
  port=$(grep -o 'healthPort=[0-9]*' "$WORK/scheduler.log" 2>/dev/null | head -1 | cut -d= -f2)
  if [ -n "$port" ]; then
    curl -s "http://127.0.0.1:$port/metrics" >"$1" 2>/dev/null
  elif [ -n "${KS_PORT:-}" ]; then
    curl -sk -H "Authorization: Bearer cosched-admin-token" "https://127.0.0.1:$KS_PORT/metrics" >"$1" 2>/dev/null
  fi
}
free_port() { "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

run() {  # label scheduler-name command...
  local label=$1 sched=$2; shift 2
  setup "$label" "$sched" || { echo "| $label | apiserver did not start |"; return; }
  "$PY" "$ROOT/hack/k8sload.py" watch --server "$K8S_URL" --token cosched-admin-token \
    --want "$PODS" --scheduler "$sched" --out "$WORK/watch.txt" --timeout 900 --events >"$WORK/watch.log" &
  local wpid=$!
  # The watcher lists every pod first (150000 in the scale run): the scheduler starts once it
  # is ready, so that it sees every bind as it happens.
  wait_ready
  # The apiserver's idle rate (its own housekeeping with the watcher attached), to subtract.
  local idle0 idle1 ti0 ti1
  idle0=$(cpu_s "$KAPI_PID"); ti0=$(date +%s.%N); sleep 3; idle1=$(cpu_s "$KAPI_PID"); ti1=$(date +%s.%N)
  local idle_rate; idle_rate=$(awk -v a="$idle0" -v b="$idle1" -v s="$ti0" -v e="$ti1" 'BEGIN{printf "%.4f", (b - a) / (e - s)}')
  local api0; api0=$(cpu_s "$KAPI_PID")
  local etcd0; etcd0=$(cpu_s "$ETCD_PID")
  local t0; t0=$(date +%s.%N)
  local m0; m0=$("$PY" -c 'import time; print(time.monotonic())')  # the watcher's clock
  "$@" >"$WORK/scheduler.log" 2>&1 &
  SPID=$!
  wait "$wpid"
  local t1; t1=$(date +%s.%N)
  local scpu srss apicpu apirss etcdcpu
  scpu=$(cpu_s "$SPID"); srss=$(rss_mib "$SPID"); apicpu=$(cpu_s "$KAPI_PID")
  apirss=$(rss_mib "$KAPI_PID"); etcdcpu=$(cpu_s "$ETCD_PID")
  scrape_metrics "$WORK/metrics.txt"
  local attempt; attempt=$("$PY" "$ROOT/hack/attemptq.py" "$WORK/metrics.txt" 2>/dev/null)
  kill -TERM "$SPID" 2>/dev/null; wait "$SPID" 2>/dev/null; SPID=""
  stop_k8s
  read -r first last n last_ev n_ev <"$WORK/watch.txt"
  local samples; samples=$(awk '/^samples/ {print $2 " / " $3 " / " $4}' "$WORK/watch.txt")
  "$PY" - "$label" "$first" "$last" "$n" "$last_ev" "$n_ev" "$t0" "$t1" "$scpu" "$srss" "$api0" "$apicpu" \
    "${samples:-?}" "${apirss:-?}" "$etcd0" "$etcdcpu" "${attempt:-?}" "$idle_rate" "$m0" >"$WORK/row.txt" <<'PYEOF'
import sys
label, first, last, n, last_ev, n_ev, t0, t1, scpu, srss, api0, api1, samples, apirss, etcd0, etcd1, attempt, idle, m0 = sys.argv[1:]
first, last, n, last_ev, n_ev = float(first), float(last), int(n), float(last_ev), int(n_ev)
rate = n / (last - first) if last > first else 0
rate_ev = n_ev / (last_ev - first) if last_ev > first and n_ev == n else 0
wall = float(t1) - float(t0)
print("| %s | %d | %.0f | %s | %s | %s | %.0f | %s | %s | %.1f | %s | %.1f |" % (label, n, rate, samples, attempt,
      "%.0f" % rate_ev if rate_ev else "%d events" % n_ev, n / wall if wall else 0,
      scpu or "?", srss or "?", float(api1 or 0) - float(api0 or 0), apirss,
      float(etcd1 or 0) - float(etcd0 or 0)))
api_net = float(api1 or 0) - float(api0 or 0) - float(idle or 0) * wall
print("FIRST %s: %.2f s from the scheduler's start to its first bind" % (label, first - float(m0)))
print("RATE %s %.0f %.0f %s %.3f %s" % (label, rate, rate_ev, scpu or 0, 1000 * api_net / n if n else 0, srss or 0))
PYEOF
  grep -v '^RATE\|^FIRST' "$WORK/row.txt"
  grep '^RATE' "$WORK/row.txt" >>"$TOP/rates.txt"
  grep '^FIRST' "$WORK/row.txt" | sed 's/^FIRST //' >>"$TOP/first.txt"
}

echo "# bench-k8s on $(nproc) cores (etcd, kube-apiserver, scheduler and load share them): $NODES nodes, $EXISTING existing, $PODS pending pods"
echo "| scheduler | pods bound | pods/s (first to last bind) | 1 s samples p50 / p90 / p99 | attempt ms p50 / p99 | pods/s with events (first bind to last Scheduled event) | pods/s (from scheduler start) | scheduler CPU s | scheduler peak RSS MiB | apiserver CPU s during the run | apiserver peak RSS MiB | etcd CPU s |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
if [ "${BENCH_K8S_BATCH:-1}" != 0 ]; then   # 0: only the steady-rate variant
ceiling "ceiling: binds only (bindbench)" 0
ceiling "ceiling: binds + events (bindbench)" 1
run cosched ack-co-scheduler "$ROOT/build/cosched" --kubeconfig "$TOP/cosched/kubeconfig" \
  --leader-elect=false --secure-port 0 -v=0
mkdir -p "$TOP/cosched-json"
run cosched-json ack-co-scheduler "$ROOT/build/cosched" --kubeconfig "$TOP/cosched-json/kubeconfig" \
  --leader-elect=false --secure-port 0 -v=0 --kube-api-content-type application/json
for pct in default 100; do
  mkdir -p "$TOP/kube-scheduler-$pct"
  {
    echo "apiVersion: kubescheduler.config.k8s.io/v1"
    echo "kind: KubeSchedulerConfiguration"
    echo "leaderElection: {leaderElect: false}"
    echo "clientConnection: {kubeconfig: $TOP/kube-scheduler-$pct/kubeconfig, qps: 5000, burst: 5000}"
    [ "$pct" = 100 ] && echo "percentageOfNodesToScore: 100"
  } >"$TOP/kube-scheduler-$pct/config.yaml"
  KS_PORT=$(free_port)
  run "kube-scheduler-$pct" default-scheduler "$ROOT/build/k8s/kube-scheduler" \
    --config "$TOP/kube-scheduler-$pct/config.yaml" --secure-port "$KS_PORT" --bind-address 127.0.0.1 \
    --authentication-kubeconfig "$TOP/kube-scheduler-$pct/kubeconfig" \
    --authorization-kubeconfig "$TOP/kube-scheduler-$pct/kubeconfig" -v=0
  KS_PORT=""
done
fi
if [ "${BENCH_K8S_SCALE:-0}" != 0 ]; then
  # The large-cluster run: SCALE_EXISTING bound pods (default 140000) on the same nodes, PODS
  # pending; the rows go to their own table (not into the ratios below).
  echo
  echo "## scale: $NODES nodes, ${BENCH_K8S_SCALE_EXISTING:-140000} existing pods, $PODS pending"
  echo "| scheduler | pods bound | pods/s (first to last bind) | 1 s samples p50 / p90 / p99 | attempt ms p50 / p99 | pods/s with events | pods/s (from scheduler start) | scheduler CPU s | scheduler peak RSS MiB | apiserver CPU s during the run | apiserver peak RSS MiB | etcd CPU s |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
  SAVED_EXISTING=$EXISTING; EXISTING=${BENCH_K8S_SCALE_EXISTING:-140000}
  SAVED_RATES=$TOP/rates.txt; mv "$TOP/rates.txt" "$TOP/rates.main" 2>/dev/null
  run scale-cosched ack-co-scheduler "$ROOT/build/cosched" --kubeconfig "$TOP/scale-cosched/kubeconfig" \
    --leader-elect=false --secure-port 0 -v=0
  mkdir -p "$TOP/scale-kube-scheduler-default"
  printf 'apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nleaderElection: {leaderElect: false}\nclientConnection: {kubeconfig: %s, qps: 5000, burst: 5000}\n' \
    "$TOP/scale-kube-scheduler-default/kubeconfig" >"$TOP/scale-kube-scheduler-default/config.yaml"
  run scale-kube-scheduler-default default-scheduler "$ROOT/build/k8s/kube-scheduler" \
    --config "$TOP/scale-kube-scheduler-default/config.yaml" --secure-port 0 -v=0
  EXISTING=$SAVED_EXISTING
  mv "$TOP/rates.main" "$SAVED_RATES" 2>/dev/null
fi
if [ "${RATE:-0}" != 0 ]; then
  echo
  echo "## steady rate: $PODS pods created at $RATE/s while the scheduler runs (same cluster, no backlog)"
  echo "| scheduler | pods bound | pods/s (first to last bind) | creation to bind ms p50 / p90 / p99 | scheduler CPU s | apiserver CPU s | feeder |"
  echo "|---|---|---|---|---|---|---|"
  steady cosched ack-co-scheduler "$ROOT/build/cosched" --kubeconfig "$TOP/steady-cosched/kubeconfig" \
    --leader-elect=false --secure-port 0 -v=0
  mkdir -p "$TOP/steady-kube-scheduler-default"
  printf 'apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nleaderElection: {leaderElect: false}\nclientConnection: {kubeconfig: %s, qps: 5000, burst: 5000}\n' \
    "$TOP/steady-kube-scheduler-default/kubeconfig" >"$TOP/steady-kube-scheduler-default/config.yaml"
  steady kube-scheduler-default default-scheduler "$ROOT/build/k8s/kube-scheduler" \
    --config "$TOP/steady-kube-scheduler-default/config.yaml" --secure-port 0 -v=0
fi
echo
[ -s "$TOP/bindbench.txt" ] && cat "$TOP/bindbench.txt"
[ -s "$TOP/first.txt" ] && cat "$TOP/first.txt"
[ -s "$TOP/rates.txt" ] && "$PY" - "$TOP/rates.txt" "${CEIL_0:-0}" "${CEIL_1:-0}" "$PODS" <<'PYEOF'
import sys
rows = {}
for line in open(sys.argv[1]):
    _, label, rate, rate_ev, cpu, api_k, rss = line.split()
    rows[label] = (float(rate), float(rate_ev), float(cpu), float(api_k), rss)
c0, c1, pods = float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
print("apiserver CPU s per 1000 scheduled pods (its idle rate subtracted), scheduler CPU us per pod:")
for k, v in rows.items():
    print("  %-24s apiserver %.2f s / 1000 pods, scheduler %.0f us/pod, peak RSS %s MiB" % (k, v[3], 1e6 * v[2] / pods, v[4]))
cs = rows.get("cosched")
ksd = rows.get("kube-scheduler-default")
if cs and ksd and ksd[3] > 0:
    print("apiserver cost, cosched / kube-scheduler-default: %.2fx" % (cs[3] / ksd[3]))
cj = rows.get("cosched-json")
if cs and cj and cj[3] > 0:
    print("apiserver cost, cosched protobuf / cosched JSON: %.2fx" % (cs[3] / cj[3]))
if cs:
    if c0:
        print("cosched / ceiling (binds only): %.2f" % (cs[0] / c0))
    if c1 and cs[1]:
        print("cosched with events / ceiling (binds + events): %.2f" % (cs[1] / c1))
    for k in ("kube-scheduler-default", "kube-scheduler-100"):
        if k in rows and rows[k][0]:
            print("cosched / %s: %.1fx the pods/s (with events: %s), %.3fx the CPU seconds per pod (%.2f ms vs %.2f ms)"
                  % (k, cs[0] / rows[k][0], "%.1fx" % (cs[1] / rows[k][1]) if rows[k][1] and cs[1] else "n/a",
                     cs[2] / rows[k][2] if rows[k][2] else 0, 1000 * cs[2] / pods, 1000 * rows[k][2] / pods))
PYEOF
