# Scenario S6 of the demo (sourced by hack/demo.sh, which defines k, ROOT, WORK, COSCHED_BIN and
# a running cosched on apisim): the job queue. cosched-queue holds two TFJobs (1 PS + 2
# workers, 1 CPU each: 3 CPU per job) under a quota of max 4 CPU: job1 runs, job2 waits with a
# QueueUnit that says why, and runs when job1's pods finish (apisim ends them 5 s after they
# start: the run-seconds annotation stands in for "sleep 30"). The QueueUnit phases are printed
# at each step.
QUEUE_BIN=${QUEUE_BIN:-$(dirname "$COSCHED_BIN")/cosched-queue}
echo "== scenario S6: job queue (two TFJobs of 3 CPU under a 4-CPU quota, cosched-queue)"
k apply -f "$ROOT/manifests/crds/kubeflow.org_tfjobs.yaml" \
  -f "$ROOT/manifests/crds/scheduling.x-k8s.io_queueunits.yaml" \
  -f "$ROOT/manifests/crds/scheduling.x-k8s.io_queues.yaml" >/dev/null
k create namespace s6 >/dev/null
# S4's tree, plus a leaf root.s6 (min = max = 4 CPU) for namespace s6.
k get elasticquotatree elasticquotatree -n kube-system -o json | "$PY" -c '
import json, sys
t = json.load(sys.stdin)
r = t["spec"]["root"]
r["min"]["cpu"] = r["max"]["cpu"] = "44"
r["children"].append({"name": "root.s6", "namespaces": ["s6"], "min": {"cpu": "4"}, "max": {"cpu": "4"}})
t.pop("status", None)
print(json.dumps(t))' | k replace -f - >/dev/null
"$QUEUE_BIN" --kubeconfig "$KCFG" --secure-port 0 --enabled-extensions=tfjob -v=${DEMO_V:-0} \
  >"$WORK/queue.log" 2>&1 &
QPID=$!
s6_tfjob() {
  cat <<TF | k create -f - >/dev/null
apiVersion: kubeflow.org/v1
kind: TFJob
metadata: {name: $1, namespace: s6, annotations: {scheduling.x-k8s.io/suspend: "true"}}
spec:
  tfReplicaSpecs:
    PS:
      replicas: 1
      template:
        metadata: {annotations: {apisim.cosched.io/run-seconds: "5"}}
        spec:
          schedulerName: ack-co-scheduler
          containers: [{name: tensorflow, image: tensorflow/tensorflow:2.15.0, resources: {limits: {cpu: "1", memory: 1Gi}}}]
    Worker:
      replicas: 2
      template:
        metadata: {annotations: {apisim.cosched.io/run-seconds: "5"}}
        spec:
          schedulerName: ack-co-scheduler
          containers: [{name: tensorflow, image: tensorflow/tensorflow:2.15.0, resources: {limits: {cpu: "1", memory: 1Gi}}}]
TF
}
s6_phase() { k get qu "$1" -n s6 -o jsonpath='{.status.phase}' 2>/dev/null; }
s6_show() {
  echo "   $1:"
  k get qu -n s6 -o custom-columns='QUEUEUNIT:.metadata.name,PHASE:.status.phase,QUEUE:.spec.queue,MESSAGE:.status.message' 2>/dev/null \
    | sed 's/^/     /'
  echo "     pods running: $(k get pods -n s6 --field-selector=status.phase=Running -o name 2>/dev/null | grep -c .)"
}
s6_wait() {  # UNIT PHASE...: up to 30 s
  local u=$1 p; shift
  for _ in $(seq 1 150); do
    for p in "$@"; do [ "$(s6_phase "$u")" = "$p" ] && return 0; done
    sleep 0.2
  done
  return 1
}
s6_tfjob job1
s6_wait job1-tfjob Running
s6_show "job1 created"
s6_tfjob job2
for _ in $(seq 1 50); do k get qu job2-tfjob -n s6 -o jsonpath='{.status.message}' 2>/dev/null | grep -q blocked && break; sleep 0.2; done
s6_show "job2 created (3 + 3 CPU > max 4)"
s6_wait job2-tfjob Running
s6_show "job1's pods finished"
s6_wait job2-tfjob Succeed
s6_show "job2's pods finished"
kill -TERM "$QPID" 2>/dev/null && wait "$QPID" 2>/dev/null
QPID=""
