#!/usr/bin/env bash
# The job queue (cosched-queue, pkg/kqueue) end to end, driven with kubectl, on apisim and
# (COSCHED_APISERVER=k8s) on the real kube-apiserver:
#   - scenario S6 of features.md with a TFJob and a batch Job under a 4-CPU quota: job1 (3 CPU)
#     is released and runs, job2 (2 CPU) stays suspended with a QueueUnit that says why and its
#     position, and is released within 2 s of job1's pods finishing; cosched binds the pods;
#   - kube-queue/max-jobs: 1 releases one job at a time;
#   - Block holds a small job behind a big head job; switched to Priority the small one passes;
#   - a PyTorchJob held by runPolicy.suspend; the controller restarted while a job runs and
#     another waits (the reservation is read back), and stopped while the job finishes (the
#     waiting one goes after the restart): no job released twice, none lost;
#   - bad input: a TFJob whose template cannot be read and a job naming a missing queue get a
#     Warning Event naming the object, and nothing else is lost;
#   - a tree change that removes a quota with a waiting unit: the Queue goes, the unit gets an
#     Event saying where it went;
#   - a Queue per quota node with the labels and annotation of ack-features.md 6.2, printer
#     columns of `kubectl get qu`;
#   - S6 again with each of the other kinds of ack-features.md 6.4, each under a 4-CPU quota of
#     its own: a RayJob (spec.suspend; head + workers), a SparkApplication (the suspend
#     annotation; driver + executors) and an Argo Workflow (job1 parked on its
#     kube-queue-suspend node, job2 by spec.suspend; sized by kube-queue/min-resources): job2
#     stays held with a QueueUnit saying why and is released when job1 has finished;
#   - allow-lists: a namespace whose kube-queue/available-quota-in-namespace leaves out the
#     quota its job names: the unit waits, saying so, with a NotAllowed Event; fixing the
#     list lets it go.
# Pods finish through pods/status written by this driver (as a kubelet would) on both servers.
# The real control plane runs no job controllers, so there the driver also plays the operator:
# it creates a released job's pods (owned by the job) and marks a finished Job Complete.
# apisim has no Ray, Spark or Argo controllers either, so for those kinds the driver
# (k8s_driver.py) plays the operator on both servers: it creates the pods of a released job as
# KubeRay, Spark or Argo would, parks a workflow on its suspend node, and writes the job's
# status at the end.
. "$(dirname "$0")/lib.sh"
QUEUE_BIN=${QUEUE_BIN:-$(dirname "$COSCHED_BIN")/cosched-queue}
QUEUE_PID=""
stop_queue() { [ -n "$QUEUE_PID" ] && kill -TERM "$QUEUE_PID" 2>/dev/null && wait "$QUEUE_PID" 2>/dev/null; QUEUE_PID=""; }
trap 'stop_queue; cleanup' EXIT
start_queue() {
  "$QUEUE_BIN" --kubeconfig "$KCFG" -v=2 \
    --enabled-extensions=job,tfjob,pytorchjob,rayjob,sparkapp,argoworkflow \
    --secure-port 0 --requeue-timeout 0 "$@" \
    >>"$WORK/queue.log" 2>&1 &
  QUEUE_PID=$!
}

start_apisim --cluster-gen nodes=3,cpu=8,memory=32Gi || { notok "apisim starts"; exit 1; }
K8S=0; [ "${COSCHED_APISERVER:-apisim}" = k8s ] && K8S=1

for crd in scheduling.sigs.k8s.io_elasticquotatrees kubeflow.org_tfjobs kubeflow.org_pytorchjobs \
           scheduling.x-k8s.io_queueunits scheduling.x-k8s.io_queues ray.io_rayjobs \
           sparkoperator.k8s.io_sparkapplications argoproj.io_workflows; do
  check "CRD $crd applied" kcreate "$ROOT/manifests/crds/$crd.yaml"
done
wait_until 10 k get queueunits -A
wait_until 10 k get queues -A
wait_until 10 k get tfjobs -A
wait_until 10 k get rayjobs,sparkapplications,workflows -A
for ns in qa qb qc qd qe qf qg qh qi; do k create namespace "$ns" -o name >/dev/null; done
cat <<'EOF' | k apply -f - -o name >/dev/null
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: queue-high}
value: 1000
EOF

cat <<'EOF' | k apply -f - -o name >/dev/null
apiVersion: scheduling.sigs.k8s.io/v1beta1
kind: ElasticQuotaTree
metadata: {name: elasticquotatree, namespace: kube-system}
spec:
  root:
    name: root
    min: {cpu: 36}
    max: {cpu: 36}
    children:
    - {name: root.a, namespaces: [qa], min: {cpu: 4}, max: {cpu: 4}}
    - {name: root.b, namespaces: [qb], min: {cpu: 4}, max: {cpu: 4, kube-queue/max-jobs: 1}}
    - {name: root.c, namespaces: [qc], min: {cpu: 4}, max: {cpu: 4}}
    - {name: root.d, namespaces: [qd], min: {cpu: 4}, max: {cpu: 4}}
    - {name: root.e, namespaces: [qe], min: {cpu: 4}, max: {cpu: 4}}
    - {name: root.f, namespaces: [qf], min: {cpu: 4}, max: {cpu: 4}}
    - {name: root.g, namespaces: [qg], min: {cpu: 4}, max: {cpu: 4}}
    - {name: root.h, namespaces: [qh], min: {cpu: 4}, max: {cpu: 4}}
    - {name: root.i, namespaces: [qi], min: {cpu: 4}, max: {cpu: 4}}
EOF
check "ElasticQuotaTree created" nonempty k get elasticquotatree elasticquotatree -n kube-system -o name

start_cosched
start_queue

# ---- helpers ------------------------------------------------------------------------------
qu_field() { k get qu "$2" -n "$1" -o jsonpath="{$3}" 2>/dev/null; }
qu_phase() { qu_field "$1" "$2" .status.phase; }
qu_msg() { qu_field "$1" "$2" .status.message; }
released() { case "$(qu_phase "$1" "$2")" in Dequeued|Running) return 0 ;; esac; return 1; }
msg_has() { qu_msg "$1" "$2" | grep -q -- "$3"; }
tf_held() { [ -n "$(k get tfjob "$2" -n "$1" -o jsonpath='{.metadata.annotations.scheduling\.x-k8s\.io/suspend}')" ]; }
job_held() { [ "$(k get job "$2" -n "$1" -o jsonpath='{.spec.suspend}')" = true ]; }
tf_released() { ! tf_held "$@"; }
job_released() { ! job_held "$@"; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# tfjob NS NAME WORKERS CPU [extra metadata lines]: 1 PS + WORKERS workers, CPU each, held.
tfjob() {
  cat <<EOF | k create -f - -o name >/dev/null
apiVersion: kubeflow.org/v1
kind: TFJob
metadata:
  name: $2
  namespace: $1
  annotations: {scheduling.x-k8s.io/suspend: "true"${5:-}}
spec:
  tfReplicaSpecs:
    PS:
      replicas: 1
      restartPolicy: Never
      template:
        spec:
          schedulerName: ack-co-scheduler
          terminationGracePeriodSeconds: 0
          containers: [{name: tensorflow, image: tensorflow/tensorflow:2.15.0, resources: {limits: {cpu: "$4", memory: 1Gi}}}]
    Worker:
      replicas: $3
      restartPolicy: Never
      template:
        spec:
          schedulerName: ack-co-scheduler
          terminationGracePeriodSeconds: 0
          containers: [{name: tensorflow, image: tensorflow/tensorflow:2.15.0, resources: {limits: {cpu: "$4", memory: 1Gi}}}]
EOF
}
# pytorchjob NS NAME WORKERS CPU: 1 Master + WORKERS workers, CPU each, held by runPolicy.suspend.
pytorchjob() {
  cat <<EOF | k create -f - -o name >/dev/null
apiVersion: kubeflow.org/v1
kind: PyTorchJob
metadata: {name: $2, namespace: $1}
spec:
  runPolicy: {suspend: true}
  pytorchReplicaSpecs:
    Master:
      replicas: 1
      restartPolicy: Never
      template:
        spec:
          schedulerName: ack-co-scheduler
          terminationGracePeriodSeconds: 0
          containers: [{name: pytorch, image: pytorch/pytorch:2.2.0, resources: {requests: {cpu: "$4"}, limits: {cpu: "$4"}}}]
    Worker:
      replicas: $3
      restartPolicy: Never
      template:
        spec:
          schedulerName: ack-co-scheduler
          terminationGracePeriodSeconds: 0
          containers: [{name: pytorch, image: pytorch/pytorch:2.2.0, resources: {requests: {cpu: "$4"}, limits: {cpu: "$4"}}}]
EOF
}
pt_held() { [ "$(k get pytorchjob "$2" -n "$1" -o jsonpath='{.spec.runPolicy.suspend}')" = true ]; }
pt_released() { ! pt_held "$@"; }
# job NS NAME PARALLELISM CPU [priorityClassName]: a held batch Job.
job() {
  cat <<EOF | k create -f - -o name >/dev/null
apiVersion: batch/v1
kind: Job
metadata: {name: $2, namespace: $1}
spec:
  suspend: true
  parallelism: $3
  completions: $3
  template:
    spec:
      schedulerName: ack-co-scheduler
      restartPolicy: Never
      terminationGracePeriodSeconds: 0
      ${5:+priorityClassName: $5}
      containers: [{name: main, image: busybox, command: [sleep, "30"], resources: {requests: {cpu: "$4"}, limits: {cpu: "$4"}}}]
EOF
}

DRIVER="$(dirname "$0")/k8s_driver.py"
# operate KIND NS NAME: on the real control plane, create the pods of a released job as its
# operator would (owned by it, named as the operator names them). apisim's controllers do it,
# except for RayJob, SparkApplication and Workflow, whose pods the driver makes on both servers.
operate() {
  case "$1" in
    rayjob|workflow)
      k get "$1" "$3" -n "$2" -o json | "$PY" "$DRIVER" "$1-pods" | k create -f - -o name >/dev/null
      return ;;
    sparkapplication)
      k get "$1" "$3" -n "$2" -o json | "$PY" "$DRIVER" spark-pods | k create -f - -o name >/dev/null
      k get sparkapplication "$3" -n "$2" -o json | "$PY" "$DRIVER" spark-pods \
        "$(k get pod "$3-driver" -n "$2" -o jsonpath='{.metadata.uid}')" | k create -f - -o name >/dev/null
      return ;;
  esac
  [ "$K8S" = 1 ] || return 0
  k get "$1" "$3" -n "$2" -o json | "$PY" -c '
import json, sys
j = json.load(sys.stdin)
md = j["metadata"]
own = [{"apiVersion": j["apiVersion"], "kind": j["kind"], "name": md["name"], "uid": md["uid"],
        "controller": True, "blockOwnerDeletion": True}]
items = []
def pod(name, tmpl, labels):
    spec = dict(tmpl.get("spec", {}))
    spec.setdefault("restartPolicy", "Never")
    if spec["restartPolicy"] not in ("Never", "OnFailure", "Always"):
        spec["restartPolicy"] = "Never"
    items.append({"apiVersion": "v1", "kind": "Pod",
                  "metadata": {"name": name, "namespace": md["namespace"], "labels": labels,
                               "ownerReferences": own}, "spec": spec})
if j["kind"] == "Job":
    for i in range(j["spec"].get("parallelism", 1)):
        pod("%s-%d" % (md["name"], i), j["spec"]["template"], {"job-name": md["name"]})
else:
    key = "tfReplicaSpecs" if j["kind"] == "TFJob" else "pytorchReplicaSpecs"
    for t, r in j["spec"][key].items():
        for i in range(r.get("replicas", 1)):
            pod("%s-%s-%d" % (md["name"], t.lower(), i), r["template"],
                {"training.kubeflow.org/job-name": md["name"], "training.kubeflow.org/replica-type": t.lower()})
print(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
' | k create -f - -o name >/dev/null
}

# Pods of a job (by owner uid; by the operator's labels for the kinds whose pods the job does
# not own).
job_pods() {  # KIND NS NAME
  local uid="" sel=""
  case "$1" in
    rayjob) sel="ray.io/originated-from-cr-name=$3" ;;
    sparkapplication) sel="sparkoperator.k8s.io/app-name=$3" ;;
    workflow) sel="workflows.argoproj.io/workflow=$3" ;;
    *) uid=$(k get "$1" "$3" -n "$2" -o jsonpath='{.metadata.uid}') ;;
  esac
  k get pods -n "$2" ${sel:+-l "$sel"} -o json | "$PY" -c '
import json, sys
uid = sys.argv[1]
for p in json.load(sys.stdin)["items"]:
    if not uid or any(o.get("uid") == uid for o in p["metadata"].get("ownerReferences", [])):
        print(p["metadata"]["name"], p["spec"].get("nodeName", ""), p.get("status", {}).get("phase", ""))
' "$uid"
}
pods_bound() {  # KIND NS NAME COUNT: COUNT pods, all bound
  local out
  out=$(job_pods "$1" "$2" "$3")
  [ "$(echo "$out" | grep -c .)" = "$4" ] && ! echo "$out" | awk '{print $2}' | grep -q '^$'
}
# set_phase KIND NS NAME PHASE: write the phase of the job's pods through pods/status.
set_phase() {
  local p
  for p in $(job_pods "$1" "$2" "$3" | awk '{print $1}'); do
    if [ "$4" = Running ]; then
      k patch pod "$p" -n "$2" --subresource=status --type=merge \
        -p '{"status":{"phase":"Running","startTime":"'"$(date -u +%FT%TZ)"'"}}' >/dev/null
    else
      k patch pod "$p" -n "$2" --subresource=status --type=merge -p '{"status":{"phase":"'"$4"'","containerStatuses":[]}}' >/dev/null
    fi
  done
}
all_phase() {  # KIND NS NAME PHASE
  local out
  out=$(job_pods "$1" "$2" "$3")
  [ -n "$out" ] && ! echo "$out" | awk '{print $3}' | grep -qv "^$4\$"
}
# finish KIND NS NAME: the job's pods succeed (on k8s a Job is also marked Complete, as the Job
# controller would).
finish() {
  set_phase "$1" "$2" "$3" Succeeded
  case "$1" in
    rayjob) k patch rayjob "$3" -n "$2" --subresource=status --type=merge -p '{"status":{"jobDeploymentStatus":"Complete","jobStatus":"SUCCEEDED"}}' >/dev/null ;;
    sparkapplication) k patch sparkapplication "$3" -n "$2" --subresource=status --type=merge -p '{"status":{"applicationState":{"state":"COMPLETED"}}}' >/dev/null ;;
    workflow) k patch workflow "$3" -n "$2" --type=merge -p '{"status":{"phase":"Succeeded"}}' >/dev/null ;;
  esac
  if [ "$K8S" = 1 ] && [ "$1" = job ]; then
    k patch job "$3" -n "$2" --subresource=status --type=merge -p '{"status":{"startTime":"'"$(date -u +%FT%TZ)"'","completionTime":"'"$(date -u +%FT%TZ)"'","conditions":[{"type":"SuccessCriteriaMet","status":"True"},{"type":"Complete","status":"True"}]}}' >/dev/null 2>&1
  fi
}
run() {  # KIND NS NAME COUNT: operate, wait for the pods to be bound, make them Running
  operate "$1" "$2" "$3"
  wait_until 20 pods_bound "$1" "$2" "$3" "$4" || { echo "# pods of $3:"; job_pods "$1" "$2" "$3"; return 1; }
  [ "$K8S" = 1 ] && set_phase "$1" "$2" "$3" Running
  wait_until 10 all_phase "$1" "$2" "$3" Running
}

# ---- Queues from the tree ------------------------------------------------------------------
check "one Queue per quota node in kube-queue" \
  wait_until 20 equals "root root.a root.b root.c root.d root.e root.f root.g root.h root.i" \
  bash -c "kubectl --kubeconfig '$KCFG' get queues -n kube-queue -l create-by-kubequeue=true -o jsonpath='{.items[*].metadata.name}' | tr ' ' '\n' | sort | xargs"
check "a Queue carries its quota's full name" \
  equals root.a k get queue root.a -n kube-queue -o jsonpath='{.metadata.annotations.kube-queue/quota-fullname}'

# ---- S6: TFJob then batch Job under a 4-CPU quota -------------------------------------------
tfjob qa job1 2 1
check "job1 (TFJob, 3 CPU) gets a QueueUnit and is released" \
  wait_until 15 released qa job1-tfjob
check "job1's QueueUnit is owned by the TFJob" \
  equals TFJob qu_field qa job1-tfjob '.metadata.ownerReferences[0].kind'
check "job1's QueueUnit asks 3 CPU" equals 3 qu_field qa job1-tfjob '.spec.resource.cpu'
check "job1 is unsuspended" wait_until 10 tf_released qa job1
check "job1's 3 pods are bound by cosched" run tfjob qa job1 3
check "job1's QueueUnit follows its pods: Running" wait_until 10 equals Running qu_phase qa job1-tfjob

job qa job2 2 1
check "job2 (batch Job, 2 CPU) gets a QueueUnit that waits" wait_until 15 equals Enqueued qu_phase qa job2-job
check "job2's QueueUnit says why: blocked by quota root.a because of max" \
  wait_until 10 msg_has qa job2-job "blocked by quota root.a because of max"
check "job2's QueueUnit says its position" msg_has qa job2-job "position 1 of 1 in queue root.a"
echo "# job2: $(qu_msg qa job2-job)"
sleep 2
check "job2 stays suspended while job1 runs" job_held qa job2
check "kubectl get qu shows phase and queue columns" \
  bash -c "kubectl --kubeconfig '$KCFG' get qu -n qa | grep -qE '^job2-job +Enqueued +root.a'"
check "the Queue lists job2 in status.queueItemDetails" \
  wait_until 5 equals job2-job k get queue root.a -n kube-queue -o jsonpath='{.status.queueItemDetails[0].name}'

finish tfjob qa job1
t0=$(now_ms)
wait_until 10 job_released qa job2
dt=$(( $(now_ms) - t0 ))
check "job2 is released within 2 s of job1's pods finishing (${dt} ms)" [ "$dt" -le 2000 ]
check "job1's QueueUnit: Succeed" wait_until 10 equals Succeed qu_phase qa job1-tfjob
check "job2's 2 pods are bound" run job qa job2 2
check "job2's QueueUnit: Running" wait_until 10 equals Running qu_phase qa job2-job

# ---- kube-queue/max-jobs: 1 ----------------------------------------------------------------
job qb m1 1 1
wait_until 10 released qb m1-job
job qb m2 1 1
check "max-jobs 1: m2 waits because of max-jobs" \
  wait_until 10 msg_has qb m2-job "because of max kube-queue/max-jobs"
check "max-jobs 1: m2 stays suspended" job_held qb m2
run job qb m1 1 >/dev/null
finish job qb m1
check "max-jobs 1: m2 is released once m1 finished" \
  wait_until 10 job_released qb m2

# ---- Block, then Priority ------------------------------------------------------------------
k patch queue root.c -n kube-queue --type=merge -p '{"spec":{"queuePolicy":"Block"}}' >/dev/null
sleep 0.5
job qc hold 1 2
wait_until 10 released qc hold-job
job qc big 1 4 queue-high
wait_until 10 equals Enqueued qu_phase qc big-job
sleep 1.1     # creation order is by the second
job qc small 1 1
check "Block: the big head job waits for quota" wait_until 10 msg_has qc big-job "blocked by quota root.c because of max"
check "Block: the small job waits behind it" wait_until 10 msg_has qc small-job "waiting behind qc/big-job"
sleep 2
check "Block: the small job stays suspended" job_held qc small
k patch queue root.c -n kube-queue --type=merge -p '{"spec":{"queuePolicy":"Priority"}}' >/dev/null
check "Priority: the small job passes the blocked head" \
  wait_until 10 job_released qc small
check "Priority: the big job still waits, first in line" msg_has qc big-job "position 1 of 1"

# ---- bad input -----------------------------------------------------------------------------
tfjob qd broken 1 "1x"
check "a TFJob whose resources cannot be read gets an Event naming it" \
  wait_until 10 nonempty k get events -n qd --field-selector involvedObject.name=broken,reason=InvalidResources -o name
check "... and no QueueUnit" bash -c "! kubectl --kubeconfig '$KCFG' get qu broken-tfjob -n qd 2>/dev/null"
tfjob qd lost 1 1 ', kube-queue/queue-name: nosuch'
check "a job naming a missing queue waits and says so" wait_until 10 msg_has qd lost-tfjob "queue nosuch does not exist"
check "... with an Event on its QueueUnit" \
  wait_until 10 nonempty k get events -n qd --field-selector involvedObject.name=lost-tfjob,reason=QueueNotFound -o name
tfjob qd fine 1 1
check "other jobs of the namespace are still released" wait_until 10 released qd fine-tfjob

# ---- PyTorchJob, and restarts of the controller mid-run --------------------------------------
pytorchjob qe p1 2 1
check "p1 (PyTorchJob, 3 CPU, runPolicy.suspend) is released" wait_until 15 released qe p1-pytorchjob
check "p1's runPolicy.suspend is cleared" wait_until 10 pt_released qe p1
check "p1's 3 pods are bound" run pytorchjob qe p1 3
pytorchjob qe p2 1 1
check "p2 (2 CPU) waits behind p1's reservation" wait_until 10 msg_has qe p2-pytorchjob "blocked by quota root.e because of max"
stop_queue
start_queue
sleep 3
check "restarted: p1's reservation is read back (p2 still held)" pt_held qe p2
check "restarted: p2's QueueUnit still says why" msg_has qe p2-pytorchjob "blocked by quota root.e because of max"
stop_queue
finish pytorchjob qe p1
sleep 1
start_queue
check "p1 finished while the controller was down: p2 is released after the restart" \
  wait_until 15 pt_released qe p2
check "p1's QueueUnit: Succeed" wait_until 10 equals Succeed qu_phase qe p1-pytorchjob
twice=$(grep -o 'Job released" job="[^"]*"' "$WORK/queue.log" | sort | uniq -d)
check "across restarts no job was released twice${twice:+ ($twice)}" [ -z "$twice" ]
lost=$(for ns in qa qb qc qd qe; do k get qu -n "$ns" -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}'; done | grep -c .)
check "every queued job still has its QueueUnit ($lost)" [ "$lost" = 11 ]

# ---- S6 with RayJob, SparkApplication and Workflow ------------------------------------------
nott() { ! "$@"; }
# rayjob NS NAME WORKERS CPU: a head + WORKERS workers (one group), CPU each, held by spec.suspend.
rayjob() {
  cat <<EOF | k create -f - -o name >/dev/null
apiVersion: ray.io/v1
kind: RayJob
metadata: {name: $2, namespace: $1}
spec:
  suspend: true
  entrypoint: python train.py
  shutdownAfterJobFinishes: true
  rayClusterSpec:
    rayVersion: "2.40.0"
    headGroupSpec:
      rayStartParams: {}
      template:
        spec:
          schedulerName: ack-co-scheduler
          terminationGracePeriodSeconds: 0
          containers: [{name: ray-head, image: rayproject/ray:2.40.0, resources: {requests: {cpu: "$4"}, limits: {cpu: "$4"}}}]
    workerGroupSpecs:
    - groupName: small
      replicas: $3
      minReplicas: 0
      maxReplicas: 4
      rayStartParams: {}
      template:
        spec:
          schedulerName: ack-co-scheduler
          terminationGracePeriodSeconds: 0
          containers: [{name: ray-worker, image: rayproject/ray:2.40.0, resources: {requests: {cpu: "$4"}, limits: {cpu: "$4"}}}]
EOF
}
ray_held() { [ "$(k get rayjob "$2" -n "$1" -o jsonpath='{.spec.suspend}')" = true ]; }
# sparkapp NS NAME EXECUTORS: a driver and EXECUTORS executors of 1 core each, held by the annotation.
sparkapp() {
  cat <<EOF | k create -f - -o name >/dev/null
apiVersion: sparkoperator.k8s.io/v1beta2
kind: SparkApplication
metadata:
  name: $2
  namespace: $1
  annotations: {scheduling.x-k8s.io/suspend: "true"}
spec:
  type: Scala
  mode: cluster
  image: spark:3.5.0
  mainClass: org.apache.spark.examples.SparkPi
  mainApplicationFile: local:///opt/spark/examples/jars/spark-examples.jar
  sparkVersion: 3.5.0
  driver: {cores: 1, memory: 512m, schedulerName: ack-co-scheduler}
  executor: {instances: $3, cores: 1, memory: 512m, schedulerName: ack-co-scheduler}
EOF
}
spark_held() { [ -n "$(k get sparkapplication "$2" -n "$1" -o jsonpath='{.metadata.annotations.scheduling\.x-k8s\.io/suspend}')" ]; }
# workflow NS NAME CPU HOLD: a steps workflow sized by kube-queue/min-resources (CPU), held by
# its first step, the queue's suspend template (HOLD=node), or by spec.suspend (HOLD=spec).
workflow() {
  local hold="" first=""
  if [ "$4" = spec ]; then hold="suspend: true"
  else first="    - [{name: queue, template: kube-queue-suspend}]"; fi
  cat <<EOF | k create -f - -o name >/dev/null
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  name: $2
  namespace: $1
  annotations: {kube-queue/min-resources: "cpu: $3"}
spec:
  $hold
  entrypoint: main
  schedulerName: ack-co-scheduler
  templates:
  - name: main
    steps:
$first
    - [{name: work, template: work}]
  - name: kube-queue-suspend
    suspend: {}
  - name: work
    container: {image: busybox, command: [sleep, "30"], resources: {requests: {cpu: "$3"}, limits: {cpu: "$3"}}}
EOF
}
# wf_park NS NAME: as Argo's controller does, start the workflow and park it on its first step.
wf_park() {
  k patch workflow "$2" -n "$1" --type=merge -p '{"status":{"phase":"Running","startedAt":"'"$(date -u +%FT%TZ)"'","nodes":{"'"$2"'":{"id":"'"$2"'","name":"'"$2"'","type":"Steps","phase":"Running","templateName":"main"},"'"$2"'-1":{"id":"'"$2"'-1","name":"'"$2"'[0].queue","type":"Suspend","phase":"Running","templateName":"kube-queue-suspend"}}}}' >/dev/null
}
wf_held() {
  k get workflow "$2" -n "$1" -o json | "$PY" -c '
import json, sys
w = json.load(sys.stdin)
held = w["spec"].get("suspend") is True or any(
    n.get("type") == "Suspend" and n.get("phase") == "Running"
    for n in w.get("status", {}).get("nodes", {}).values())
sys.exit(0 if held else 1)'
}
# s6_first KIND EXT NS JOB PODS HELD: job1 (3 CPU, just made) is queued, released, runs.
s6_first() {
  check "$1 $3/$4 (3 CPU) gets a QueueUnit and is released" wait_until 15 released "$3" "$4-$2"
  check "$1 $3/$4's QueueUnit is owned by it and asks 3 CPU" \
    equals "$(k get "$1" "$4" -n "$3" -o jsonpath='{.kind}')/3" \
    bash -c "echo \$(kubectl --kubeconfig '$KCFG' get qu '$4-$2' -n '$3' -o jsonpath='{.metadata.ownerReferences[0].kind}/{.spec.resource.cpu}')"
  check "$1 $3/$4 is unsuspended" wait_until 10 nott "$6" "$3" "$4"
  check "$1 $3/$4's $5 pods are bound by cosched" run "$1" "$3" "$4" "$5"
  check "$1 $3/$4's QueueUnit follows its pods: Running" wait_until 10 equals Running qu_phase "$3" "$4-$2"
}
# s6_second KIND EXT NS JOB1 JOB2 PODS HELD QUOTA: job2 (2 CPU, just made) waits while job1 runs,
# saying why, and goes when job1 has finished.
s6_second() {
  check "$1 $3/$5 (2 CPU) waits: blocked by quota $8 because of max" \
    wait_until 15 msg_has "$3" "$5-$2" "blocked by quota $8 because of max"
  check "$1 $3/$5's QueueUnit says its position" msg_has "$3" "$5-$2" "position 1 of 1 in queue $8"
  check "$1 $3/$5's QueueUnit is Enqueued" equals Enqueued qu_phase "$3" "$5-$2"
  echo "# $5: $(qu_msg "$3" "$5-$2")"
  sleep 1
  check "$1 $3/$5 stays held while $4 runs" "$7" "$3" "$5"
  finish "$1" "$3" "$4"
  check "$1 $3/$5 is released once $4 finished" wait_until 10 nott "$7" "$3" "$5"
  check "$1 $3/$4's QueueUnit: Succeed" wait_until 10 equals Succeed qu_phase "$3" "$4-$2"
  check "$1 $3/$5's $6 pods are bound" run "$1" "$3" "$5" "$6"
  check "$1 $3/$5's QueueUnit: Running" wait_until 10 equals Running qu_phase "$3" "$5-$2"
}

rayjob qf r1 2 1
s6_first rayjob rayjob qf r1 3 ray_held
check "RayJob r1 is released as a gang (head template: min-available 3)" \
  equals 3 k get rayjob r1 -n qf -o jsonpath='{.spec.rayClusterSpec.headGroupSpec.template.metadata.labels.pod-group\.scheduling\.sigs\.k8s\.io/min-available}'
rayjob qf r2 1 1
s6_second rayjob rayjob qf r1 r2 2 ray_held root.f

sparkapp qg s1 2
s6_first sparkapplication sparkapp qg s1 3 spark_held
sparkapp qg s2 1
s6_second sparkapplication sparkapp qg s1 s2 2 spark_held root.g

workflow qh w1 3 node
sleep 0.5
check "a Workflow not yet parked on its suspend step is not queued" \
  bash -c "! kubectl --kubeconfig '$KCFG' get qu w1-argoworkflow -n qh 2>/dev/null"
wf_park qh w1
s6_first workflow argoworkflow qh w1 1 wf_held
workflow qh w2 2 spec
s6_second workflow argoworkflow qh w1 w2 1 wf_held root.h

# ---- allow-lists ---------------------------------------------------------------------------
k annotate namespace qi kube-queue/available-quota-in-namespace=root.i >/dev/null
cat <<'EOF' | k create -f - -o name >/dev/null
apiVersion: batch/v1
kind: Job
metadata:
  name: al
  namespace: qi
  labels: {quota.scheduling.alibabacloud.com/name: root.h}
spec:
  suspend: true
  template:
    spec:
      schedulerName: ack-co-scheduler
      restartPolicy: Never
      terminationGracePeriodSeconds: 0
      containers: [{name: main, image: busybox, command: [sleep, "30"], resources: {requests: {cpu: "1"}, limits: {cpu: "1"}}}]
EOF
check "a job naming a quota its namespace may not use waits and says why" \
  wait_until 10 msg_has qi al-job "quota root.h is not available in namespace qi (kube-queue/available-quota-in-namespace: root.i)"
check "... with a NotAllowed Event on its QueueUnit" \
  wait_until 10 nonempty k get events -n qi --field-selector involvedObject.name=al-job,reason=NotAllowed -o name
sleep 1
check "... and stays suspended" job_held qi al
k annotate namespace qi --overwrite kube-queue/available-quota-in-namespace=root.i,root.h >/dev/null
check "once the namespace allows the quota the job is released" wait_until 10 job_released qi al

# ---- a tree change that removes a queue with a waiting unit --------------------------------
k get elasticquotatree elasticquotatree -n kube-system -o json | "$PY" -c '
import json, sys
t = json.load(sys.stdin)
t["spec"]["root"]["children"] = [c for c in t["spec"]["root"]["children"] if c["name"] != "root.c"]
print(json.dumps(t))' | k replace -f - -o name >/dev/null
check "quota root.c removed: its Queue is deleted" \
  wait_until 10 bash -c "! kubectl --kubeconfig '$KCFG' get queue root.c -n kube-queue 2>/dev/null"
check "... and its waiting unit gets an Event saying where it went" \
  wait_until 10 nonempty k get events -n qc --field-selector involvedObject.name=big-job,reason=QueueRemoved -o name
check "... and is not lost" nonempty qu_phase qc big-job

stop_queue
check "cosched-queue exits cleanly on SIGTERM" [ "$(grep -c 'ERROR: AddressSanitizer\|runtime error' "$WORK/queue.log")" = 0 ]
[ "$FAILS" -gt 0 ] && { echo "# queue.log tail:"; tail -40 "$WORK/queue.log"; }
exit 0
