#!/usr/bin/env bash
# make demo: start apisim with a small cluster, run cosched against it, create a mix of pods
# with kubectl, wait, print where each pod went (or why it is pending); then scenario S4
# (hack/demo_s4.sh: capacity scheduling with an ElasticQuotaTree) with the Running/Pending
# count per namespace after each step; then S2, S3 and S5 (hack/demo_devices.sh: cpusets, ECI
# burst, shared GPUs) with each pod's node, CPUs or GPU; then S6 (hack/demo_s6.sh: the job
# queue, cosched-queue) with the QueueUnit phases at each step; stop everything.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
APISIM_BIN=${APISIM_BIN:-$ROOT/build/apisim}
COSCHED_BIN=${COSCHED_BIN:-$ROOT/build/cosched}
PY=/usr/bin/python3
WORK=$(mktemp -d /tmp/cosched-demo.XXXXXX)
KCFG=$WORK/kubeconfig
k() { kubectl --kubeconfig "$KCFG" "$@"; }
cleanup() {
  [ -n "${QPID:-}" ] && kill -TERM "$QPID" 2>/dev/null && wait "$QPID" 2>/dev/null
  [ -n "${CPID:-}" ] && kill -TERM "$CPID" 2>/dev/null && wait "$CPID" 2>/dev/null
  [ -n "${APID:-}" ] && kill -TERM "$APID" 2>/dev/null && wait "$APID" 2>/dev/null
  [ "${KEEP_WORK:-0}" = 1 ] && echo "# kept $WORK" || rm -rf "$WORK"
}
trap cleanup EXIT

echo "== starting apisim: 4 nodes (4 cpu, 16Gi), 1 GPU node tainted dedicated=gpu:NoSchedule"
"$APISIM_BIN" --listen 127.0.0.1:0 --kubeconfig-out "$KCFG" \
  --cluster-gen "nodes=4,cpu=4,memory=16Gi,pods=110,prefix=node-,zones=2" \
  --cluster-gen "nodes=1,cpu=8,memory=64Gi,pods=110,prefix=gpu-,labels=accelerator=nvidia,taints=dedicated=gpu:NoSchedule" \
  >"$WORK/apisim.out" 2>"$WORK/apisim.log" &
APID=$!
for _ in $(seq 1 100); do grep -q "serving on" "$WORK/apisim.out" 2>/dev/null && break; sleep 0.1; done
grep "serving on" "$WORK/apisim.out" || { echo "apisim failed to start"; cat "$WORK/apisim.log"; exit 1; }
k get nodes

# CRDs first, as a cluster has them before its scheduler starts (cosched retries a watch on a
# CRD that does not exist yet only every few seconds).
k apply -f "$ROOT/manifests/crds/scheduling.sigs.k8s.io_elasticquotatrees.yaml" \
  -f "$ROOT/manifests/crds/scheduling.sigs.k8s.io_podgroups.yaml" \
  -f "$ROOT/manifests/crds/topology.node.k8s.io_noderesourcetopologies.yaml" >/dev/null
echo "== starting cosched (schedulerName ack-co-scheduler; Coscheduling, CapacityScheduling, CpusetScheduling, GPUShare, EciBurst on)"
printf '%s\n' 'apiVersion: kubescheduler.config.k8s.io/v1' 'kind: KubeSchedulerConfiguration' \
  'profiles:' '- schedulerName: ack-co-scheduler' '  plugins:' '    multiPoint:' \
  '      enabled: [{name: Coscheduling}, {name: CapacityScheduling}, {name: CpusetScheduling}, {name: GPUShare}, {name: EciBurst}]' >"$WORK/config.yaml"
"$COSCHED_BIN" --kubeconfig "$KCFG" --config "$WORK/config.yaml" --leader-elect=false \
  --secure-port 0 -v=${DEMO_V:-0} >"$WORK/cosched.log" 2>&1 &
CPID=$!

gen() { "$PY" "$ROOT/test/integration/genpods.py" "$@"; }
echo "== creating pods with kubectl"
{
  gen --count 12 --prefix web- --cpu 500m --memory 1Gi
  gen --count 2 --prefix train- --cpu 2 --memory 8Gi --toleration dedicated=gpu:NoSchedule \
      --node-selector accelerator=nvidia
  gen --count 1 --prefix huge- --cpu 16 --memory 1Gi
  gen --count 1 --prefix gated- --gate example.com/approval
  gen --count 2 --prefix other-sched- --scheduler default-scheduler
} | "$PY" -c '
import json,sys
items=[]
for line in sys.stdin.read().replace("}{", "}\n{").splitlines():
    if line.strip():
        items += json.loads(line)["items"]
json.dump({"apiVersion":"v1","kind":"List","items":items}, sys.stdout)' >"$WORK/pods.json"
k create -f "$WORK/pods.json"
sleep 3
echo "== result"
k get pods -o json | "$PY" -c '
import json,sys
d=json.load(sys.stdin)
print("%-16s %-18s %-10s %s" % ("POD", "SCHEDULER", "NODE", "REASON"))
for p in sorted(d["items"], key=lambda p: p["metadata"]["name"]):
    node = p["spec"].get("nodeName") or "<pending>"
    why = ""
    for c in p.get("status", {}).get("conditions", []):
        if c["type"] == "PodScheduled" and c["status"] != "True":
            why = "%s: %s" % (c.get("reason", ""), c.get("message", ""))
    if p["spec"].get("schedulerName") != "ack-co-scheduler":
        why = "not ours: left to %s (still counted on nodes once bound)" % p["spec"].get("schedulerName")
    print("%-16s %-18s %-10s %s" % (p["metadata"]["name"], p["spec"].get("schedulerName"), node, why))'
echo "== cosched metrics (excerpt)"
port=$(grep -o 'healthPort=[0-9]*' "$WORK/cosched.log" | head -1 | cut -d= -f2)
[ -n "$port" ] && curl -s "http://127.0.0.1:$port/metrics" | grep -E '^scheduler_schedule_attempts_total' | head -5
. "$ROOT/hack/demo_s4.sh"
. "$ROOT/hack/demo_devices.sh"
. "$ROOT/hack/demo_s6.sh"
echo "== done"
