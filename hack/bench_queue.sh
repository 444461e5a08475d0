#!/usr/bin/env bash
# Job queue benchmark (make bench, against apisim): 5000 suspended batch Jobs (1 pod of 100m
# each) over 50 queues (an ElasticQuotaTree of 50 leaves, one namespace each, room for all) on
# 1000 nodes. The Jobs exist before cosched-queue starts; measured from its start until every
# Job is released: jobs released per second (QueueUnit created, Dequeued written, Job
# unsuspended: three writes per job) and the controller's CPU per job (utime + stime from
# /proc). Kueue's published baseline is 15000 workloads over 30 queues (reference only: other
# hardware, a real control plane). JOBS, QUEUES, NODES override the shape.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=${B:-$ROOT/build}
JOBS=${JOBS:-5000} QUEUES=${QUEUES:-50} NODES=${NODES:-1000}
PY=/usr/bin/python3
WORK=$(mktemp -d /tmp/cosched-benchq.XXXXXX)
KCFG=$WORK/kubeconfig
k() { kubectl --kubeconfig "$KCFG" "$@"; }
cleanup() {
  [ -n "${QPID:-}" ] && kill -TERM "$QPID" 2>/dev/null && wait "$QPID" 2>/dev/null
  [ -n "${APID:-}" ] && kill "$APID" 2>/dev/null && wait "$APID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
"$B/apisim" --listen 127.0.0.1:0 --kubeconfig-out "$KCFG" --running-delay off \
  --cluster-gen "nodes=$NODES,cpu=64,memory=256Gi,pods=110" >"$WORK/apisim.out" 2>"$WORK/apisim.log" &
APID=$!
for _ in $(seq 1 600); do grep -q "serving on" "$WORK/apisim.out" 2>/dev/null && break; sleep 0.1; done
k apply -f "$ROOT/manifests/crds/scheduling.sigs.k8s.io_elasticquotatrees.yaml" \
  -f "$ROOT/manifests/crds/scheduling.x-k8s.io_queueunits.yaml" \
  -f "$ROOT/manifests/crds/scheduling.x-k8s.io_queues.yaml" >/dev/null
"$PY" - "$JOBS" "$QUEUES" "$WORK" <<'PYGEN'
import json, sys
jobs, queues, work = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
ns = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bq%d" % i}} for i in range(queues)]
kids = [{"name": "root.q%d" % i, "namespaces": ["bq%d" % i], "min": {"cpu": "1000"}, "max": {"cpu": "1000"}}
        for i in range(queues)]
tree = {"apiVersion": "scheduling.sigs.k8s.io/v1beta1", "kind": "ElasticQuotaTree",
        "metadata": {"name": "elasticquotatree", "namespace": "kube-system"},
        "spec": {"root": {"name": "root", "min": {"cpu": str(1000 * queues)},
                          "max": {"cpu": str(1000 * queues)}, "children": kids}}}
json.dump({"apiVersion": "v1", "kind": "List", "items": ns + [tree]}, open(work + "/setup.json", "w"))
items = []
for j in range(jobs):
    items.append({"apiVersion": "batch/v1", "kind": "Job",
                  "metadata": {"name": "j%d" % j, "namespace": "bq%d" % (j % queues)},
                  "spec": {"suspend": True, "parallelism": 1, "completions": 1,
                           "template": {"spec": {"restartPolicy": "Never", "schedulerName": "ack-co-scheduler",
                                                 "containers": [{"name": "c", "image": "busybox",
                                                                 "resources": {"requests": {"cpu": "100m"}}}]}}}})
for i in range(0, jobs, 1000):
    json.dump({"apiVersion": "v1", "kind": "List", "items": items[i:i + 1000]},
              open("%s/jobs%05d.json" % (work, i), "w"))
PYGEN
k create -f "$WORK/setup.json" -o name >/dev/null
for f in "$WORK"/jobs*.json; do k create -f "$f" -o name >/dev/null; done
echo "# $JOBS suspended Jobs in $QUEUES queues on $NODES nodes created; starting cosched-queue"
tck=$(getconf CLK_TCK)
t0=$(date +%s%N)
"$B/cosched-queue" --kubeconfig "$KCFG" --secure-port -1 --enabled-extensions=job \
  --requeue-timeout 0 >"$WORK/queue.log" 2>&1 &
QPID=$!
n=0
for _ in $(seq 1 3000); do
  n=$(grep -c 'Job released' "$WORK/queue.log")
  [ "$n" -ge "$JOBS" ] && break
  sleep 0.1
done
t1=$(date +%s%N)
read -r ut st < <(awk '{print $14, $15}' "/proc/$QPID/stat")
rss=$(awk '/VmHWM/ {print $2}' "/proc/$QPID/status")
"$PY" - "$n" "$JOBS" "$QUEUES" "$NODES" "$t0" "$t1" "$ut" "$st" "$tck" "$rss" <<'PYOUT'
import sys
n, jobs, queues, nodes = map(int, sys.argv[1:5])
t0, t1, ut, st, tck, rss = map(int, sys.argv[5:11])
secs = (t1 - t0) / 1e9
cpu = (ut + st) / tck
print("| benchmark | jobs released | wall s | jobs/s | controller CPU s | CPU per job | max RSS |")
print("|---|---|---|---|---|---|---|")
print("| JobQueue %d Jobs / %d queues / %d nodes (apisim) | %d | %.2f | %.0f | %.2f | %.0f us | %d MiB |" % (
    jobs, queues, nodes, n, secs, n / secs if secs else 0, cpu, cpu / max(n, 1) * 1e6, rss // 1024))
PYOUT
[ "$n" -ge "$JOBS" ] || { echo "# only $n of $JOBS released"; tail -5 "$WORK/queue.log"; exit 1; }
