#!/usr/bin/env bash
# The job queue's second slice (cosched-queue, pkg/kqueue) end to end, with kubectl, on apisim
# and (COSCHED_APISERVER=k8s) on the real kube-apiserver:
#   - no ElasticQuotaTree: a plain ResourceQuota (requests.cpu 4) gates the release: job2 waits
#     "blocked by ResourceQuota ..." while job1 holds 3 CPU, and goes once job1's pods finish;
#   - a ResourceQuota's count/pods and limits.cpu keys gate by the job's pod count and limits;
#   - a released job is a gang (pod-group labels on its template, min-available = its pods):
#     3 pods of 3 CPU on two 4-CPU nodes: none binds though two could;
#   - that job stays unschedulable past --requeue-timeout: it is suspended again, its QueueUnit
#     is Enqueued and says why (with an Event), its reservation goes and the next job in line
#     is released, all of whose pods bind;
#   - fairness under a tree: leaves root.p.x and root.p.y under root.p (8 CPU); x borrows;
#     while y waits with a job within its min, x's next job waits "because of min", and when
#     x's job ends y's job goes first;
#   - /metrics of the controller: queue length, admitted, wait-time histogram, requeues;
#   - a RayJob served as ray.io/v1alpha1 (KubeRay < 1.1) is queued and released;
#   - a restarted controller keeps a requeued job's backoff (status.requeueState), and releases
#     the jobs held while it was down first created, first released.
# The real control plane runs no Job or quota controller: there the driver creates a released
# job's pods (owned by it, with its template's labels), deletes them when the job is suspended
# again, and writes the ResourceQuota's status (hard, used) as the quota controller would.
. "$(dirname "$0")/lib.sh"
QUEUE_BIN=${QUEUE_BIN:-$(dirname "$COSCHED_BIN")/cosched-queue}
QUEUE_PID=""
stop_queue() { [ -n "$QUEUE_PID" ] && kill -TERM "$QUEUE_PID" 2>/dev/null && wait "$QUEUE_PID" 2>/dev/null; QUEUE_PID=""; }
trap 'stop_queue; cleanup' EXIT
start_queue() {
  "$QUEUE_BIN" --kubeconfig "$KCFG" -v=2 --enabled-extensions=job,tfjob,rayjobv1alpha1 --secure-port 0 "$@" \
    >>"$WORK/queue.log" 2>&1 &
  QUEUE_PID=$!
}

start_apisim --cluster-gen nodes=2,cpu=4,memory=16Gi || { notok "apisim starts"; exit 1; }
K8S=0; [ "${COSCHED_APISERVER:-apisim}" = k8s ] && K8S=1
for crd in scheduling.sigs.k8s.io_elasticquotatrees scheduling.sigs.k8s.io_podgroups kubeflow.org_tfjobs \
           scheduling.x-k8s.io_queueunits scheduling.x-k8s.io_queues; do
  check "CRD $crd applied" kcreate "$ROOT/manifests/crds/$crd.yaml"
done
# RayJob as KubeRay < 1.1 serves it: ray.io/v1alpha1 only
sed 's/^    - name: v1$/    - name: v1alpha1/' "$ROOT/manifests/crds/ray.io_rayjobs.yaml" >"$WORK/rayjobs-v1alpha1.yaml"
check "CRD rayjobs.ray.io served as v1alpha1 only" kcreate "$WORK/rayjobs-v1alpha1.yaml"
wait_until 10 k get queueunits -A
wait_until 10 k get rayjobs.v1alpha1.ray.io -A
wait_until 10 k get podgroups.scheduling.sigs.k8s.io -A
for ns in ra rp rv ga fo fx fy; do k create namespace "$ns" -o name >/dev/null; done

write_config "$WORK/config.yaml" Coscheduling
start_cosched --config "$WORK/config.yaml"
start_queue --requeue-timeout 8s --requeue-backoff 60s

qu_field() { k get qu "$2" -n "$1" -o jsonpath="{$3}" 2>/dev/null; }
qu_phase() { qu_field "$1" "$2" .status.phase; }
qu_msg() { qu_field "$1" "$2" .status.message; }
released() { case "$(qu_phase "$1" "$2")" in Dequeued|Running) return 0 ;; esac; return 1; }
msg_has() { qu_msg "$1" "$2" | grep -q -- "$3"; }
job_held() { [ "$(k get job "$2" -n "$1" -o jsonpath='{.spec.suspend}')" = true ]; }
job_released() { ! job_held "$@"; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# job NS NAME PODS CPU: a held batch Job of PODS pods of CPU each.
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
      containers: [{name: main, image: busybox, command: [sleep, "30"], resources: {requests: {cpu: "$4"}, limits: {cpu: "$4"}}}]
EOF
}
# operate NS NAME: on the real control plane, create a released Job's pods as the Job
# controller would (owned by it, with its template's labels). apisim's controller does it.
operate() {
  [ "$K8S" = 1 ] || return 0
  k get job "$2" -n "$1" -o json | "$PY" -c '
import json, sys
j = json.load(sys.stdin)
md = j["metadata"]
own = [{"apiVersion": "batch/v1", "kind": "Job", "name": md["name"], "uid": md["uid"],
        "controller": True, "blockOwnerDeletion": True}]
t = j["spec"]["template"]
labels = dict(t.get("metadata", {}).get("labels", {}))
labels["job-name"] = md["name"]
items = [{"apiVersion": "v1", "kind": "Pod",
          "metadata": {"name": "%s-%d" % (md["name"], i), "namespace": md["namespace"],
                       "labels": labels, "ownerReferences": own}, "spec": t["spec"]}
         for i in range(j["spec"].get("parallelism", 1))]
print(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
' | k create -f - -o name >/dev/null
}
job_pods() {  # NS NAME: name node phase of each pod of the Job
  local uid
  uid=$(k get job "$2" -n "$1" -o jsonpath='{.metadata.uid}')
  k get pods -n "$1" -o json | "$PY" -c '
import json, sys
uid = sys.argv[1]
for p in json.load(sys.stdin)["items"]:
    if any(o.get("uid") == uid for o in p["metadata"].get("ownerReferences", [])):
        print(p["metadata"]["name"], p["spec"].get("nodeName", "-"), p.get("status", {}).get("phase", ""))
' "$uid"
}
n_pods() { job_pods "$1" "$2" | grep -c .; }
n_bound() { job_pods "$1" "$2" | awk '$2 != "-"' | grep -c .; }
finish() {  # NS NAME: the Job's pods succeed (and, on k8s, the Job is marked Complete)
  local p
  for p in $(job_pods "$1" "$2" | awk '{print $1}'); do
    k patch pod "$p" -n "$1" --subresource=status --type=merge -p '{"status":{"phase":"Succeeded"}}' >/dev/null
  done
  if [ "$K8S" = 1 ]; then
    k patch job "$2" -n "$1" --subresource=status --type=merge -p '{"status":{"startTime":"'"$(date -u +%FT%TZ)"'","completionTime":"'"$(date -u +%FT%TZ)"'","conditions":[{"type":"SuccessCriteriaMet","status":"True"},{"type":"Complete","status":"True"}]}}' >/dev/null 2>&1
  fi
}
# rq_status NS NAME HARD USED: on k8s, the quota controller's part (admission needs status).
rq_status() {
  [ "$K8S" = 1 ] || return 0
  k patch resourcequota "$2" -n "$1" --subresource=status --type=merge \
    -p '{"status":{"hard":{"requests.cpu":"'"$3"'"},"used":{"requests.cpu":"'"$4"'"}}}' >/dev/null
}

# ---- a plain ResourceQuota gates the release (no tree) --------------------------------------
quota() {  # NS CPU: a ResourceQuota "rq" with hard requests.cpu
  printf 'apiVersion: v1\nkind: ResourceQuota\nmetadata: {name: rq, namespace: %s}\nspec: {hard: {requests.cpu: "%s"}}\n' "$1" "$2" \
    | k apply -f - -o name >/dev/null
}
quota ra 4
rq_status ra rq 4 0
job ra job1 3 1
check "RQ: job1 (3 CPU under requests.cpu 4) is released" wait_until 15 released ra job1-job
check "RQ: job1 is unsuspended" wait_until 10 job_released ra job1
operate ra job1
check "RQ: job1's 3 pods bind" wait_until 20 equals 3 n_bound ra job1
job ra job2 2 1
check "RQ: job2 (2 CPU) waits, blocked by the ResourceQuota" \
  wait_until 10 msg_has ra job2-job "blocked by ResourceQuota ra/rq because of requests.cpu: used 3 + job 2 > hard 4"
echo "# job2: $(qu_msg ra job2-job)"
sleep 1
check "RQ: job2 stays suspended" job_held ra job2
finish ra job1
rq_status ra rq 4 0
t0=$(now_ms)
wait_until 10 job_released ra job2
dt=$(( $(now_ms) - t0 ))
check "RQ: job2 is released within 2 s of job1's pods finishing (${dt} ms)" [ "$dt" -le 2000 ]
operate ra job2
check "RQ: job2's 2 pods bind" wait_until 20 equals 2 n_bound ra job2

# ---- a ResourceQuota's pods and limits.* keys gate too ----------------------------------------
# rq_hard NS NAME HARD-JSON: on k8s, the quota controller's part for any keys (used all zero).
rq_hard() {
  [ "$K8S" = 1 ] || return 0
  local used
  used=$(echo "$3" | "$PY" -c 'import json,sys; print(json.dumps({k: "0" for k in json.load(sys.stdin)}))')
  k patch resourcequota "$2" -n "$1" --subresource=status --type=merge \
    -p '{"status":{"hard":'"$3"',"used":'"$used"'}}' >/dev/null
}
printf 'apiVersion: v1\nkind: ResourceQuota\nmetadata: {name: rq, namespace: rp}\nspec: {hard: {count/pods: "3", limits.cpu: "5"}}\n' \
  | k apply -f - -o name >/dev/null
rq_hard rp rq '{"count/pods":"3","limits.cpu":"5"}'
job rp p1 2 1
check "RQ pods: p1 (2 pods under count/pods 3) is released" wait_until 15 job_released rp p1
operate rp p1
check "RQ pods: p1's 2 pods bind" wait_until 20 equals 2 n_bound rp p1
job rp p2 2 1
check "RQ pods: p2 (2 more pods) waits because of count/pods" \
  wait_until 10 msg_has rp p2-job "blocked by ResourceQuota rp/rq because of count/pods: used 2 + job 2 > hard 3"
job rp p3 1 4
check "RQ limits: p3 (1 pod, limits.cpu 4) waits because of limits.cpu" \
  wait_until 10 msg_has rp p3-job "because of limits.cpu: used 2 + job 4 > hard 5"
echo "# p2: $(qu_msg rp p2-job)"
echo "# p3: $(qu_msg rp p3-job)"
check "RQ pods: p2 stays suspended" job_held rp p2
check "RQ limits: p3 stays suspended" job_held rp p3
finish rp p1
rq_hard rp rq '{"count/pods":"3","limits.cpu":"5"}'
check "RQ pods: p2 is released once p1's pods finish" wait_until 10 job_released rp p2
operate rp p2
check "RQ pods: p2's 2 pods bind" wait_until 20 equals 2 n_bound rp p2
check "RQ limits: p3 still waits (2 + 4 > 5)" msg_has rp p3-job "because of limits.cpu: used 2 + job 4"
k delete job p3 -n rp --wait=false >/dev/null   # its 4-CPU pod would crowd the gang below
finish rp p2

# ---- gang: all pods or none; requeue of a job that stays unschedulable ------------------------
quota ga 9
rq_status ga rq 9 0
job ga big 3 3
check "gang: big (3 pods x 3 CPU) is released" wait_until 15 released ga big-job
check "gang: its template declares the gang (min-available 3)" \
  wait_until 10 equals "big-job/3" k get job big -n ga -o jsonpath='{.spec.template.metadata.labels.pod-group\.scheduling\.sigs\.k8s\.io/name}/{.spec.template.metadata.labels.pod-group\.scheduling\.sigs\.k8s\.io/min-available}'
operate ga big
job ga small 2 1
check "gang: small (2 CPU) waits behind big's reservation" \
  wait_until 10 msg_has ga small-job "blocked by ResourceQuota ga/rq"
check "gang: big's 3 pods exist" wait_until 10 equals 3 n_pods ga big
sleep 1.5
check "gang: none of big's pods binds (two would fit alone)" equals 0 n_bound ga big
check "requeue: big is suspended again after the timeout" wait_until 15 job_held ga big
if [ "$K8S" = 1 ]; then   # the Job controller's part: a suspended Job's pods go
  for p in $(job_pods ga big | awk '{print $1}'); do k delete pod "$p" -n ga --wait=false >/dev/null 2>&1; done
  rq_status ga rq 9 0
fi
check "requeue: big's QueueUnit is Enqueued again" wait_until 10 equals Enqueued qu_phase ga big-job
check "requeue: ... and says why (0 of 3 pods scheduled)" \
  wait_until 10 msg_has ga big-job "requeued (0 of 3 pods scheduled"
echo "# big: $(qu_msg ga big-job)"
check "requeue: ... with a Requeued Event" \
  wait_until 10 nonempty k get events -n ga --field-selector involvedObject.name=big-job,reason=Requeued -o name
check "requeue: the next job (small) is released" wait_until 10 job_released ga small
operate ga small
check "gang: all of small's 2 pods bind" wait_until 20 equals 2 n_bound ga small
check "gang: small's pods carry its gang" \
  equals "small-job" k get pods -n ga -l job-name=small -o jsonpath='{.items[0].metadata.labels.pod-group\.scheduling\.sigs\.k8s\.io/name}'
sleep 1
check "requeue: big stays suspended during its backoff" job_held ga big
check "gang: none of big's pods is bound" equals 0 n_bound ga big

# ---- RayJob ray.io/v1alpha1 (--enabled-extensions rayjobv1alpha1) ----------------------------
cat <<EOF | k create -f - -o name >/dev/null
apiVersion: ray.io/v1alpha1
kind: RayJob
metadata: {name: r1, namespace: rv}
spec:
  suspend: true
  entrypoint: python train.py
  rayClusterSpec:
    headGroupSpec:
      template: {spec: {containers: [{name: head, image: rayproject/ray, resources: {requests: {cpu: "1"}}}]}}
    workerGroupSpecs:
    - groupName: w
      replicas: 2
      template: {spec: {containers: [{name: w, image: rayproject/ray, resources: {requests: {cpu: "1"}}}]}}
EOF
check "v1alpha1 RayJob: queued as r1-rayjobv1alpha1 for its 3 pods (3 CPU)" \
  wait_until 10 equals "ray.io/v1alpha1 3" qu_field rv r1-rayjobv1alpha1 '.spec.consumerRef.apiVersion} {.spec.resource.cpu'
check "v1alpha1 RayJob: released (spec.suspend false)" \
  wait_until 10 equals false k get rayjobs.v1alpha1.ray.io r1 -n rv -o jsonpath='{.spec.suspend}'
k delete rayjobs.v1alpha1.ray.io r1 -n rv --wait=false >/dev/null
both_rejected() {
  local out rc
  out=$("$QUEUE_BIN" --kubeconfig "$KCFG" --enabled-extensions=rayjob,rayjobv1alpha1 2>&1); rc=$?
  [ "$rc" = 1 ] && [[ $out == *"enable one"* ]]
}
check "cosched-queue refuses rayjob and rayjobv1alpha1 together" both_rejected

# ---- metrics -------------------------------------------------------------------------------
port=$(grep -o 'healthPort=[0-9]*' "$WORK/queue.log" | tail -1 | cut -d= -f2)
curl -s "http://127.0.0.1:$port/metrics" >"$WORK/metrics.txt"
check "metrics: queue length per queue" grep -q '^cosched_queue_length{queue="default"} 1' "$WORK/metrics.txt"
check "metrics: admitted total per queue" grep -q '^cosched_queue_admitted_total{queue="default"} 7' "$WORK/metrics.txt"
check "metrics: wait time histogram" grep -q '^cosched_queue_wait_seconds_count{queue="default"} 7' "$WORK/metrics.txt"
check "metrics: requeues" grep -q '^cosched_queue_requeued_total{queue="default"} 1' "$WORK/metrics.txt"
check "readyz: ok once synced" equals ok curl -s "http://127.0.0.1:$port/readyz"

# ---- fairness under a tree: the hungry leaf's job goes first ------------------------------
stop_queue
# jobs held while no controller runs: the first created goes first once it starts
printf 'apiVersion: v1\nkind: ResourceQuota\nmetadata: {name: rq, namespace: fo}\nspec: {hard: {requests.cpu: "1"}}\n' \
  | k apply -f - -o name >/dev/null
rq_status fo rq 1 0
for f in f1 f2 f3 f4 f5; do job fo "$f" 1 1; done
start_queue --requeue-timeout 0
queue_ready() {  # the controller started last answers readyz ok
  [ "$(grep -c 'Queue controller started' "$WORK/queue.log")" = "$1" ] || return 1
  [ "$(curl -s "http://127.0.0.1:$(grep -o 'healthPort=[0-9]*' "$WORK/queue.log" | tail -1 | cut -d= -f2)/readyz")" = ok ]
}
check "restart: the new controller is ready" wait_until 10 queue_ready 2
sleep 1
check "restart: big keeps its backoff (QueueUnit still Enqueued)" equals Enqueued qu_phase ga big-job
check "restart: ... its Job stays suspended" job_held ga big
check "restart: ... and its message still says why it was requeued" \
  msg_has ga big-job "requeued (0 of 3 pods scheduled"
check "restart: requeueState is on the QueueUnit" \
  equals 1 qu_field ga big-job .status.requeueState.count
check "restart: of five jobs held before it started, the first created (f1) is released" \
  wait_until 10 job_released fo f1
others_held() { local f; for f in f2 f3 f4 f5; do job_held fo "$f" || return 1; done; }
check "restart: ... and the four others wait" others_held
cat <<'EOF' | k apply -f - -o name >/dev/null
apiVersion: scheduling.sigs.k8s.io/v1beta1
kind: ElasticQuotaTree
metadata: {name: elasticquotatree, namespace: kube-system}
spec:
  root:
    name: root
    min: {cpu: 8}
    max: {cpu: 8}
    children:
    - name: root.p
      min: {cpu: 8}
      max: {cpu: 8}
      children:
      - {name: root.p.x, namespaces: [fx], min: {cpu: 4}, max: {cpu: 8}}
      - {name: root.p.y, namespaces: [fy], min: {cpu: 4}, max: {cpu: 8}}
EOF
check "fairness: Queues for the tree" wait_until 15 k get queue root.p.y -n kube-queue
job fx x1 6 1
check "fairness: x1 (6 CPU, x borrows 2 over its min 4) is released" wait_until 15 released fx x1-job
job fx x2 6 1
sleep 1.1
job fy y1 4 1
check "fairness: x2 waits: x would borrow while y waits below its min" \
  wait_until 10 msg_has fx x2-job "blocked by quota root.p.x because of min: it would borrow while quota root.p.y waits below its min"
echo "# x2: $(qu_msg fx x2-job)"
check "fairness: y1 waits for root.p" wait_until 10 msg_has fy y1-job "blocked by quota root.p because of max"
operate fx x1
wait_until 20 equals 6 n_pods fx x1
finish fx x1
check "fairness: x1 ends: the hungry leaf's y1 is released" wait_until 10 job_released fy y1
sleep 1
check "fairness: ... and x2 still waits" job_held fx x2
check "fairness: x2 now waits for root.p" wait_until 10 msg_has fx x2-job "blocked by quota root.p because of max"

stop_queue
check "cosched-queue exits cleanly (no sanitizer report)" [ "$(grep -c 'ERROR: AddressSanitizer\|runtime error' "$WORK/queue.log")" = 0 ]
[ "$FAILS" -gt 0 ] && { echo "# queue.log tail:"; tail -40 "$WORK/queue.log"; }
exit 0
