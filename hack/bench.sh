#!/usr/bin/env bash
# make bench: SchedulingBasic and SchedulingBasic-50k (bench.md) end to end against apisim,
# each beside apisim's raw bind ceiling measured in the same run with the same client
# settings, then the scheduler-only decision rate on an in-memory snapshot.
# Like kube-scheduler's scheduler_perf, the API server runs without kubelets (apisim's pod
# lifecycle is off: bound pods stay bound, they do not turn Running).
# `make bench-apisim` runs only apisim's own figures (hack/bench_apisim.sh).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=$ROOT/build
PY=/usr/bin/python3
if [ "${1:-}" = apisim ]; then
  echo "# apisim raw bind rate (no watchers) and watch fan-out (3 watchers); pod lifecycle off"
  WATCHERS=0 APISIM_FLAGS="--running-delay off" bash "$ROOT/hack/bench_apisim.sh" || exit 1
  WATCHERS=3 APISIM_FLAGS="--running-delay off" bash "$ROOT/hack/bench_apisim.sh" || exit 1
  echo "# the same with the pod lifecycle on (each bound pod also turns Running: two writes per pod)"
  WATCHERS=3 bash "$ROOT/hack/bench_apisim.sh"
  exit $?
fi
WORK=$(mktemp -d /tmp/cosched-bench.XXXXXX)
KCFG=$WORK/kubeconfig
APID=""; CPID=""
cleanup() {
  [ -n "$CPID" ] && kill "$CPID" 2>/dev/null
  [ -n "$APID" ] && kill "$APID" 2>/dev/null
  wait 2>/dev/null; rm -rf "$WORK"
}
trap cleanup EXIT

start_apisim() {  # nodes existing measured
  rm -f "$WORK/apisim.out"
  "$B/apisim" --listen 127.0.0.1:0 --kubeconfig-out "$KCFG" --running-delay off \
    --cluster-gen "nodes=$1,cpu=4,memory=32Gi,pods=110,prefix=node-" \
    --pods-gen "count=$2,cpu=100m,memory=500Mi,bound=true,scheduler=ack-co-scheduler,prefix=existing-" \
    --pods-gen "count=$3,cpu=100m,memory=500Mi,scheduler=ack-co-scheduler,prefix=measured-" \
    >"$WORK/apisim.out" 2>"$WORK/apisim.log" &
  APID=$!
  for _ in $(seq 1 600); do grep -q "serving on" "$WORK/apisim.out" 2>/dev/null && return 0; sleep 0.1; done
  echo "apisim did not start"; cat "$WORK/apisim.log"; exit 1
}
stop_apisim() { kill "$APID" 2>/dev/null; wait "$APID" 2>/dev/null; APID=""; }

rate_of() { grep 'pods/s average' "$1" | awk -F'|' '{gsub(/ /, "", $3); print $3}'; }
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

run_shape() {  # name nodes existing measured
  echo
  echo "## $1: $2 nodes (4 cpu, 32Gi, 110 pods), $3 existing pods, $4 measured pods (100m/500Mi)"
  start_apisim "$2" "$3" "$4"
  local line ceiling
  line=$("$B/bindbench" --kubeconfig "$KCFG" 2>"$WORK/bindbench.log" | tail -1)
  stop_apisim
  ceiling=$(echo "$line" | grep -o 'binds_per_sec=[0-9.]*' | cut -d= -f2)
  ceiling_basic=${ceiling_basic:-$ceiling}
  echo "ceiling (bindbench, same apisim shape): $line"
  start_apisim "$2" "$3" "$4"
  "$B/cosched" --kubeconfig "$KCFG" --leader-elect=false --secure-port 0 -v=0 \
    >"$WORK/cosched.log" 2>&1 &
  CPID=$!
  for _ in $(seq 1 100); do grep -q healthPort "$WORK/cosched.log" && break; sleep 0.1; done
  local port
  port=$(grep -o 'healthPort=[0-9]*' "$WORK/cosched.log" | head -1 | cut -d= -f2)
  "$PY" "$ROOT/hack/benchwatch.py" --port "$port" --pid "$CPID" --want "$4" --timeout 300 \
    --ceiling "${ceiling:-0}" --out "$WORK/result.txt"
  cat "$WORK/result.txt"
  LAST_RATE=$(rate_of "$WORK/result.txt")
  kill -TERM "$CPID"; wait "$CPID" 2>/dev/null; CPID=""
  stop_apisim
}

# start_apisim_file FILE: apisim with a generator file (no pod lifecycle), waits until it serves.
start_apisim_file() {
  rm -f "$WORK/apisim.out"
  "$B/apisim" --listen 127.0.0.1:0 --kubeconfig-out "$KCFG" --running-delay off \
    --cluster-gen-file "$1" >"$WORK/apisim.out" 2>"$WORK/apisim.log" &
  APID=$!
  for _ in $(seq 1 900); do grep -q "serving on" "$WORK/apisim.out" 2>/dev/null && break; sleep 0.1; done
}

# start_cosched_with PLUGIN [VERBOSITY]: cosched with PLUGIN enabled beside the defaults; sets
# CPID and PORT (its health/metrics port) once it serves.
start_cosched_with() {
  printf 'apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nprofiles:\n- schedulerName: ack-co-scheduler\n  plugins:\n    multiPoint:\n      enabled: [{name: %s}]\n' "$1" >"$WORK/config-$1.yaml"
  "$B/cosched" --kubeconfig "$KCFG" --config "$WORK/config-$1.yaml" --leader-elect=false \
    --secure-port 0 -v="${2:-0}" >"$WORK/cosched.log" 2>&1 &
  CPID=$!
  for _ in $(seq 1 100); do grep -q healthPort "$WORK/cosched.log" && break; sleep 0.1; done
  PORT=$(grep -o 'healthPort=[0-9]*' "$WORK/cosched.log" | head -1 | cut -d= -f2)
}

# Gang shapes (issue 10): GANGS gangs of SIZE pods (100m/100Mi, minMember = SIZE, ACK labels) on
# NODES nodes with 1000 existing pods, scheduled by cosched with Coscheduling enabled; beside the
# same ceiling as SchedulingBasic.
run_gang_shape() {  # name nodes gangs size
  echo
  echo "## $1: $2 nodes (4 cpu, 32Gi, 110 pods), 1000 existing pods, $3 gangs x $4 pods (100m/100Mi, minMember $4)"
  "$PY" - "$2" "$3" "$4" >"$WORK/gangs.json" <<'PYGEN'
import json, sys
nodes, gangs, size = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
pods = [{"count": 1000, "cpu": "100m", "memory": "500Mi", "bound": True,
         "scheduler": "ack-co-scheduler", "prefix": "existing-"}]
for g in range(gangs):
    pods.append({"count": size, "cpu": "100m", "memory": "100Mi", "scheduler": "ack-co-scheduler",
                 "prefix": "g%d-" % g,
                 "labels": {"pod-group.scheduling.sigs.k8s.io/name": "g%d" % g,
                            "pod-group.scheduling.sigs.k8s.io/min-available": str(size)}})
print(json.dumps({"nodes": ["nodes=%d,cpu=4,memory=32Gi,pods=110,prefix=node-" % nodes], "pods": pods}))
PYGEN
  local want=$(( $3 * $4 ))
  start_apisim_file "$WORK/gangs.json"
  start_cosched_with Coscheduling
  "$PY" "$ROOT/hack/benchwatch.py" --port "$PORT" --pid "$CPID" --want "$want" --timeout 300 \
    --ceiling "${GANG_CEILING:-0}" --out "$WORK/result.txt"
  cat "$WORK/result.txt"
  LAST_RATE=$(rate_of "$WORK/result.txt")
  kill -TERM "$CPID"; wait "$CPID" 2>/dev/null; CPID=""
  stop_apisim
}

# CapacityQuota (issue 11): NODES nodes; an ElasticQuotaTree of 100 leaves in 3 levels
# (hack/benchquota.py); 16000 pods borrowing (50 leaves at 32 cpu, min 16) fill the root, then
# 4000 pods of the other 50 leaves (within their min) arrive and reclaim: 4000 victims.
# Phase 1 is beside the same ceiling as SchedulingBasic; phase 2 reports binds/s of the
# reclaiming pods (each one preempting) and the victims.
run_quota_shape() {  # name nodes
  echo
  echo "## $1: $2 nodes (4 cpu, 32Gi, 110 pods), ElasticQuotaTree of 100 leaves in 3 levels, 16000 borrowing pods then 4000 reclaiming pods (100m/100Mi)"
  "$PY" "$ROOT/hack/benchquota.py" gen --nodes "$2" --out "$WORK/quota.json"
  start_apisim_file "$WORK/quota.json"
  local url
  url=$(grep -o 'http[s]*://[^ ]*' "$WORK/apisim.out" | head -1)
  kubectl --kubeconfig "$KCFG" apply -f "$ROOT/manifests/crds/scheduling.sigs.k8s.io_elasticquotatrees.yaml" >/dev/null
  "$PY" "$ROOT/hack/benchquota.py" tree | kubectl --kubeconfig "$KCFG" apply -f - >/dev/null
  start_cosched_with CapacityScheduling "${QUOTA_V:-0}"
  echo "### phase 1: 16000 pods borrowing (quota admission on every pod)"
  "$PY" "$ROOT/hack/benchwatch.py" --port "$PORT" --pid "$CPID" --want 16000 --timeout 300 \
    --ceiling "${QUOTA_CEILING:-0}" --out "$WORK/result.txt"
  cat "$WORK/result.txt"
  echo "### phase 2: 4000 pods reclaiming (each preempts a borrower's pod)"
  "$PY" "$ROOT/hack/benchquota.py" reclaim --server "$url" &
  local loader=$!
  if [ -n "${BENCH_PERF:-}" ]; then perf record -g -p "$CPID" -o "$BENCH_PERF" -- sleep 15 >/dev/null 2>&1 & fi
  "$PY" "$ROOT/hack/benchwatch.py" --port "$PORT" --pid "$CPID" --want 4000 --base 16000 \
    --timeout 300 --out "$WORK/result.txt"
  wait "$loader"
  cat "$WORK/result.txt"
  [ -n "${QUOTA_LOG:-}" ] && cp "$WORK/cosched.log" "$QUOTA_LOG"
  kill -TERM "$CPID"; wait "$CPID" 2>/dev/null; CPID=""
  stop_apisim
}

# Device shapes (issue 12), beside SchedulingBasic's ceiling; the placement figures come from
# the pods' annotations afterwards (test/integration/devcheck.py):
#   GPUShare        1000 nodes x 8 GPUs x 80 GiB, 20000 pods asking 1..40 GiB in random order;
#                   GPUs in use over the fewest that could hold the memory (sum / 80, rounded up)
#   CpusetTopology  1000 nodes of 2 sockets x 32 cores x 2 threads (a NodeResourceTopology each),
#                   10000 pods of 2..16 whole CPUs; the share placed within one NUMA node
run_device_shape() {  # name plugin want
  echo
  local want=$3
  "$PY" - "$1" >"$WORK/devices.json" <<'PYGEN'
import json, random, sys
random.seed(12)
if sys.argv[1] == "GPUShare":
    nodes = ["nodes=1000,cpu=96,memory=768Gi,pods=110,gpus=8,gpu-mem=80,prefix=gpu-"]
    pods = [{"count": 1, "start": i, "cpu": "100m", "memory": "100Mi", "gpu-mem": random.randint(1, 40),
             "scheduler": "ack-co-scheduler", "prefix": "gp-"} for i in range(20000)]
else:
    nodes = ["nodes=1000,sockets=2,cores=32,threads=2,memory=256Gi,pods=110,prefix=node-"]
    pods = [{"count": 1, "start": i, "cpu": str(random.randint(2, 16)), "memory": "100Mi",
             "annotations": {"cpuset-scheduler": "true"},
             "scheduler": "ack-co-scheduler", "prefix": "cs-"} for i in range(10000)]
print(json.dumps({"nodes": nodes, "pods": pods}))
PYGEN
  if [ "$1" = GPUShare ]; then
    echo "## $1: 1000 nodes x 8 GPUs x 80 GiB, 20000 pods asking 1..40 GiB (random order)"
  else
    echo "## $1: 1000 nodes of 2 sockets x 32 cores x 2 threads, 10000 pods of 2..16 whole CPUs"
  fi
  start_apisim_file "$WORK/devices.json"
  start_cosched_with "$2"
  "$PY" "$ROOT/hack/benchwatch.py" --port "$PORT" --pid "$CPID" --want "$want" --timeout 300 \
    --ceiling "${DEV_CEILING:-0}" --out "$WORK/result.txt"
  cat "$WORK/result.txt"
  LAST_RATE=$(rate_of "$WORK/result.txt")
  kubectl --kubeconfig "$KCFG" get pods -o json >"$WORK/pods.json"
  kubectl --kubeconfig "$KCFG" get nodes -o json >"$WORK/nodes.json"
  kubectl --kubeconfig "$KCFG" get noderesourcetopologies -o json >"$WORK/topo.json" 2>/dev/null || echo '{"items":[]}' >"$WORK/topo.json"
  "$PY" "$ROOT/test/integration/devcheck.py" "$WORK/pods.json" "$WORK/nodes.json" "$WORK/topo.json" | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
if d["gpu_pods"]:
    print("GPU packing: %d GPUs in use for %d bound pods; fewest possible %d (ratio %.3f); over-committed GPUs %d"
          % (d["gpu_in_use"], d["gpu_bound"], d["gpu_min"], d["gpu_in_use"] / max(d["gpu_min"], 1), d["gpu_overcommit"]))
if d["cpuset_pods"]:
    print("cpusets: %d bound, %d within one NUMA node (%.1f %%); CPUs held twice %d, wrong sizes %d"
          % (d["cpuset_bound"], d["cpuset_single"], 100.0 * d["cpuset_single"] / max(d["cpuset_bound"], 1),
             d["cpuset_overlap"], d["cpuset_wrong"]))'
  kill -TERM "$CPID"; wait "$CPID" 2>/dev/null; CPID=""
  stop_apisim
}

# Constraint shapes (issue 9, bench.md), beside SchedulingBasic's ceiling; the measured pods
# are full Pod objects (apisim --cluster), nodes and existing pods come from the generators:
#   TopologySpreading  5000 nodes in zones moon-1..3, 5000 existing pods, 5000 measured pods
#                      (color=blue, maxSkew 5 on topology.kubernetes.io/zone, DoNotSchedule);
#                      the final per-zone counts are printed
#   PodAntiAffinity    5000 nodes, 1000 existing and 2000 measured pods (color=green) with
#                      required anti-affinity to color=green on kubernetes.io/hostname; the
#                      number of nodes holding two of them is printed (must be 0)
#   Preemption         1000 nodes (4 cpu), 4000 victims bound 4 per node (900m, priority 0,
#                      grace 0), 1000 preemptors (3000m, priority 10): each evicts 3 victims;
#                      preemptors bound per second (first to last bind) and victims left
run_constraint_shape() {  # name plugin
  echo
  local want existing
  "$PY" - "$1" >"$WORK/measured.json" <<'PYGEN'
import json, sys
shape = sys.argv[1]
def pod(name, labels, extra, node=None):
    spec = {"schedulerName": "ack-co-scheduler",
            "containers": [{"name": "c", "image": "registry.k8s.io/pause:3.10",
                            "resources": {"requests": {"cpu": "100m", "memory": "500Mi"}}}]}
    spec.update(extra)
    if node is not None:
        spec["nodeName"] = node
    return {"apiVersion": "v1", "kind": "Pod", "spec": spec,
            "metadata": {"name": name, "namespace": "default", "labels": labels}}
items = []
if shape == "TopologySpreading":
    extra = {"topologySpreadConstraints": [{"maxSkew": 5, "topologyKey": "topology.kubernetes.io/zone",
             "whenUnsatisfiable": "DoNotSchedule", "labelSelector": {"matchLabels": {"color": "blue"}}}]}
    items = [pod("measured-%d" % i, {"color": "blue"}, extra) for i in range(5000)]
elif shape == "Preemption":
    def sized(cpu, prio, grace=None):
        e = {"priority": prio, "containers": [{"name": "c", "image": "registry.k8s.io/pause:3.10",
             "resources": {"requests": {"cpu": cpu, "memory": "100Mi"}}}]}
        if grace is not None:
            e["terminationGracePeriodSeconds"] = grace
        return e
    items = [pod("victim-%d" % i, {"role": "victim"}, sized("900m", 0, 0), "node-%d" % (i % 1000)) for i in range(4000)]
    items += [pod("measured-%d" % i, {"role": "preemptor"}, sized("3000m", 10)) for i in range(1000)]
else:
    extra = {"affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
             {"labelSelector": {"matchLabels": {"color": "green"}}, "topologyKey": "kubernetes.io/hostname"}]}}}
    items = [pod("existing-aa-%d" % i, {"color": "green"}, extra, "node-%d" % i) for i in range(1000)]
    items += [pod("measured-%d" % i, {"color": "green"}, extra) for i in range(2000)]
print(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
PYGEN
  rm -f "$WORK/apisim.out"
  local nodes=5000
  if [ "$1" = TopologySpreading ]; then
    echo "## $1: 5000 nodes in 3 zones, 5000 existing pods, 5000 measured pods (maxSkew 5 on zone, DoNotSchedule)"
    want=5000; existing="count=5000,cpu=100m,memory=500Mi,bound=true,scheduler=ack-co-scheduler,prefix=existing-"
  elif [ "$1" = Preemption ]; then
    echo "## $1: 1000 nodes (4 cpu), 4000 victims (900m, priority 0), 1000 preemptors (3000m, priority 10)"
    want=1000; existing="count=0,prefix=none-"; nodes=1000
  else
    echo "## $1: 5000 nodes, 1000 existing and 2000 measured pods with required anti-affinity on hostname"
    want=2000; existing="count=0,prefix=none-"
  fi
  "$B/apisim" --listen 127.0.0.1:0 --kubeconfig-out "$KCFG" --running-delay off \
    --cluster-gen "nodes=$nodes,cpu=4,memory=32Gi,pods=110,prefix=node-,zones=3,zone-prefix=moon-" \
    --pods-gen "$existing" --cluster "$WORK/measured.json" \
    >"$WORK/apisim.out" 2>"$WORK/apisim.log" &
  APID=$!
  for _ in $(seq 1 900); do grep -q "serving on" "$WORK/apisim.out" 2>/dev/null && break; sleep 0.1; done
  start_cosched_with "$2"
  "$PY" "$ROOT/hack/benchwatch.py" --port "$PORT" --pid "$CPID" --want "$want" --timeout 300 \
    --ceiling "${CONSTRAINT_CEILING:-0}" --out "$WORK/result.txt"
  cat "$WORK/result.txt"
  LAST_RATE=$(rate_of "$WORK/result.txt")
  kubectl --kubeconfig "$KCFG" get pods -o json >"$WORK/pods.json"
  kubectl --kubeconfig "$KCFG" get nodes -o json >"$WORK/nodes.json"
  if [ "$1" = Preemption ]; then
    echo "placement: $("$PY" -c '
import json, sys
pods = json.load(open(sys.argv[1]))["items"]
role = lambda p: p["metadata"].get("labels", {}).get("role")
v = [p for p in pods if role(p) == "victim" and not p["metadata"].get("deletionTimestamp")]
b = [p for p in pods if role(p) == "preemptor" and p["spec"].get("nodeName")]
print("%d preemptors bound, %d victims left of 4000 (%d evicted; 3 per preemptor: %d)" % (len(b), len(v), 4000 - len(v), 3 * len(b)))' "$WORK/pods.json")"
  elif [ "$1" = TopologySpreading ]; then
    echo "placement (measured pods per zone): $("$PY" "$ROOT/test/integration/spreadcheck.py" "$WORK/pods.json" "$WORK/nodes.json" --selector color=blue --key topology.kubernetes.io/zone)"
  else
    echo "placement: $("$PY" -c '
import collections, json, sys
pods = json.load(open(sys.argv[1]))["items"]
c = collections.Counter(p["spec"].get("nodeName") for p in pods if p["metadata"].get("labels", {}).get("color") == "green")
pending = c.pop(None, 0)
print("%d nodes hold a green pod, %d hold two or more, %d pending" % (len(c), sum(1 for v in c.values() if v > 1), pending))' "$WORK/pods.json")"
  fi
  kill -TERM "$CPID"; wait "$CPID" 2>/dev/null; CPID=""
  stop_apisim
}

echo "# cosched benchmarks on $(nproc) cores; apisim, the bind client and cosched share them"
only() { [ -z "${BENCH_ONLY:-}" ] || [ "$BENCH_ONLY" = "$1" ]; }   # BENCH_ONLY=<shape>: one shape
only SchedulingBasic && run_shape SchedulingBasic "${BENCH_NODES:-5000}" "${BENCH_EXISTING:-1000}" "${BENCH_PODS:-10000}"
RATE_BASIC=${LAST_RATE:-0}
GANG_CEILING=${ceiling_basic:-0}
only Gang-1000x8 && run_gang_shape Gang-1000x8 "${BENCH_NODES:-5000}" 1000 8
RATE_G8=${LAST_RATE:-0}
only Gang-10x1000 && run_gang_shape Gang-10x1000 "${BENCH_NODES:-5000}" 10 1000
RATE_G1000=${LAST_RATE:-0}
# The rows above bind for under a second and move by up to 20 % from run to run, SchedulingBasic
# as much as the gangs; the gang goal is a ratio, so those three rows run BENCH_REPEAT times
# (default 3) in all, interleaved, and are compared by their medians.
if [ -z "${BENCH_ONLY:-}" ] && [ "${BENCH_REPEAT:-3}" -gt 1 ]; then
  basic=(); g8=(); g1000=()
  for r in $(seq 2 "${BENCH_REPEAT:-3}"); do
    run_shape SchedulingBasic "${BENCH_NODES:-5000}" "${BENCH_EXISTING:-1000}" "${BENCH_PODS:-10000}" >>"$WORK/repeat.log" 2>&1
    basic+=("$LAST_RATE")
    run_gang_shape Gang-1000x8 "${BENCH_NODES:-5000}" 1000 8 >>"$WORK/repeat.log" 2>&1
    g8+=("$LAST_RATE")
    run_gang_shape Gang-10x1000 "${BENCH_NODES:-5000}" 10 1000 >>"$WORK/repeat.log" 2>&1
    g1000+=("$LAST_RATE")
  done
  basic+=("$RATE_BASIC"); g8+=("$RATE_G8"); g1000+=("$RATE_G1000")
  mb=$(median "${basic[@]}"); m8=$(median "${g8[@]}"); m1000=$(median "${g1000[@]}")
  echo
  echo "## Gang rows beside SchedulingBasic: ${BENCH_REPEAT:-3} interleaved runs each, medians"
  echo "| row | pods/s per run | median | ratio to SchedulingBasic |"
  echo "|---|---|---|---|"
  echo "| SchedulingBasic | ${basic[*]} | $mb | 1.00 |"
  awk -v a="$m8" -v b="$mb" -v runs="${g8[*]}" 'BEGIN {printf "| Gang-1000x8 | %s | %s | %.2f |\n", runs, a, a / b}'
  awk -v a="$m1000" -v b="$mb" -v runs="${g1000[*]}" 'BEGIN {printf "| Gang-10x1000 | %s | %s | %.2f |\n", runs, a, a / b}'
fi
QUOTA_CEILING=${ceiling_basic:-0}
only CapacityQuota && run_quota_shape CapacityQuota 1000
only GPUShare && { DEV_CEILING=${ceiling_basic:-0} run_device_shape GPUShare GPUShare 20000; gpu_rate=$LAST_RATE; }
only CpusetTopology && { DEV_CEILING=${ceiling_basic:-0} run_device_shape CpusetTopology CpusetScheduling 10000; cs_rate=$LAST_RATE; }
if [ -z "${BENCH_ONLY:-}" ] && [ -n "${mb:-}" ]; then
  echo
  echo "| row | pods/s | ratio to SchedulingBasic (median $mb) |"
  echo "|---|---|---|"
  awk -v a="$gpu_rate" -v b="$mb" 'BEGIN {printf "| GPUShare | %s | %.2f |\n", a, a / b}'
  awk -v a="$cs_rate" -v b="$mb" 'BEGIN {printf "| CpusetTopology | %s | %.2f |\n", a, a / b}'
fi
only TopologySpreading && { CONSTRAINT_CEILING=${ceiling_basic:-0} run_constraint_shape TopologySpreading PodTopologySpread; spread_rate=$LAST_RATE; }
only PodAntiAffinity && { CONSTRAINT_CEILING=${ceiling_basic:-0} run_constraint_shape PodAntiAffinity InterPodAffinity; anti_rate=$LAST_RATE; }
only Preemption && { CONSTRAINT_CEILING=${ceiling_basic:-0} run_constraint_shape Preemption DefaultPreemption; preempt_rate=$LAST_RATE; }
if [ -z "${BENCH_ONLY:-}" ]; then
  echo
  echo "| constraint row (issue 9) | pods/s | goal on this machine |"
  echo "|---|---|---|"
  echo "| TopologySpreading | ${spread_rate:-?} | >= 3000 |"
  echo "| PodAntiAffinity | ${anti_rate:-?} | >= 2000 |"
  echo "| Preemption (preemptors bound/s) | ${preempt_rate:-?} | >= 500 |"
fi
if [ -z "${BENCH_QUICK:-}" ] && only SchedulingBasic-50k; then
  run_shape SchedulingBasic-50k 5000 5000 50000
fi
if only JobQueue; then
  echo
  echo "## job queue (cosched-queue; Kueue's published baseline: 15000 workloads over 30 queues)"
  B="$B" bash "$ROOT/hack/bench_queue.sh" | grep -v '^#'
fi
[ -n "${BENCH_ONLY:-}" ] && exit 0
echo
echo "## scheduler only (in-memory snapshot, binds discarded)"
"$B/schedbench" --nodes "${BENCH_NODES:-5000}" --existing "${BENCH_EXISTING:-1000}" \
  --pods "${BENCH_PODS:-10000}" 2>/dev/null
