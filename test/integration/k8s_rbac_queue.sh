#!/usr/bin/env bash
# cosched-queue under exactly the RBAC we ship (manifests/deploy/cosched-queue.yaml) on the real
# kube-apiserver v1.37.2, with a token of its ServiceAccount: every informer syncs (jobs of each
# kind, QueueUnits, Queues, ElasticQuotaTrees, pods, ResourceQuotas, namespaces,
# PriorityClasses); it makes the Queue of each quota node in kube-queue and writes its status;
# it makes a held Job's QueueUnit, releases the Job (a patch of a batch/v1 Job) and writes the
# unit's status; a Job that must wait gets a message; a TFJob it cannot read gets an Event; it
# deletes the unit of a deleted Job; and no request is forbidden. Skipped when the peers are not
# built.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_k8s.sh"
QUEUE_BIN=${QUEUE_BIN:-$(dirname "$COSCHED_BIN")/cosched-queue}
if ! k8s_available || [ ! -x "$K8S_BIN/kubectl" ]; then
  echo "# skip: build/k8s has no control plane (make k8s-peers builds it)"
  exit 0
fi
start_k8s || { notok "the real control plane starts"; exit 1; }
QUEUE_PID=""
trap '[ -n "$QUEUE_PID" ] && kill -TERM "$QUEUE_PID" 2>/dev/null; cleanup' EXIT
KA() { "$K8S_BIN/kubectl" --kubeconfig "$KCFG" "$@"; }   # admin, a kubectl of the same version
check "the shipped RBAC, namespace, ServiceAccount and Deployment apply" \
  KA apply -f "$ROOT/manifests/deploy/cosched-queue.yaml" -o name
for crd in scheduling.x-k8s.io_queueunits scheduling.x-k8s.io_queues scheduling.sigs.k8s.io_elasticquotatrees \
           kubeflow.org_tfjobs kubeflow.org_pytorchjobs ray.io_rayjobs sparkoperator.k8s.io_sparkapplications \
           argoproj.io_workflows; do
  check "CRD $crd installs" KA apply -f "$ROOT/manifests/crds/$crd.yaml" -o name
done
wait_until 10 KA get queueunits,queues,elasticquotatrees,tfjobs,pytorchjobs,rayjobs,sparkapplications,workflows -A
KA create namespace team-a -o name >/dev/null
cat <<'EQT' | KA apply -f - -o name >/dev/null
apiVersion: scheduling.sigs.k8s.io/v1beta1
kind: ElasticQuotaTree
metadata: {name: elasticquotatree, namespace: kube-system}
spec:
  root:
    name: root
    min: {cpu: 4}
    max: {cpu: 4}
    children: [{name: root.team-a, namespaces: [team-a], min: {cpu: 4}, max: {cpu: 4}}]
EQT
token=$(KA -n kube-system create token cosched-queue --duration 1h)
check "a token for the cosched-queue ServiceAccount" test -n "$token"
token_kubeconfig "$WORK/queue.kubeconfig" cosched-queue "$token"
"$QUEUE_BIN" --kubeconfig "$WORK/queue.kubeconfig" -v=2 --secure-port 0 --requeue-timeout 0 \
  --enabled-extensions=job,tfjob,pytorchjob,rayjob,sparkapp,argoworkflow >>"$WORK/queue.log" 2>&1 &
QUEUE_PID=$!
ready() {
  local port
  port=$(grep -o 'healthPort=[0-9]*' "$WORK/queue.log" | tail -1 | cut -d= -f2)
  [ -n "$port" ] && [ "$(curl -s "http://127.0.0.1:$port/readyz")" = ok ]
}
wait_until 20 ready
check "every informer syncs (readyz ok)" ready
check "it made the Queue of root.team-a in kube-queue" wait_until 10 KA get queue root.team-a -n kube-queue -o name
# job NAME CPU [LIMIT]: a held batch Job of one pod in team-a
job() {
  cat <<EOF | KA create -f - -o name >/dev/null
apiVersion: batch/v1
kind: Job
metadata: {name: $1, namespace: team-a}
spec:
  suspend: true
  template:
    spec:
      restartPolicy: Never
      containers: [{name: main, image: busybox, resources: {requests: {cpu: "$2"}, limits: {cpu: "${3:-$2}"}}}]
EOF
}
phase() { KA get qu "$1" -n team-a -o jsonpath='{.status.phase}' 2>/dev/null; }
job j1 3
check "it made j1's QueueUnit and wrote its status (Dequeued)" wait_until 15 equals Dequeued phase j1-job
check "it released j1 (patched spec.suspend)" \
  wait_until 10 equals false KA get job j1 -n team-a -o jsonpath='{.spec.suspend}'
job j2 2
msg() { KA get qu j2-job -n team-a -o jsonpath='{.status.message}' 2>/dev/null; }
says_why() { [[ $(msg) == *"blocked by quota root.team-a"* ]]; }
check "j2 waits and its QueueUnit says why" wait_until 15 says_why
echo "# j2: $(msg)"
listed() { [[ $(KA get queue root.team-a -n kube-queue -o jsonpath='{.status.queueItemDetails}' 2>/dev/null) == *j2-job* ]]; }
check "it wrote the Queue's status (j2 listed)" wait_until 10 listed
# (the apiserver refuses a batch Job with a bad quantity; a TFJob's templates are the CRD's)
cat <<'EOF' | KA create -f - -o name >/dev/null
apiVersion: kubeflow.org/v1
kind: TFJob
metadata: {name: bad, namespace: team-a, annotations: {scheduling.x-k8s.io/suspend: "true"}}
spec:
  tfReplicaSpecs:
    Worker: {replicas: 1, template: {spec: {containers: [{name: c, image: busybox, resources: {requests: {cpu: 1x}}}]}}}
EOF
check "a TFJob it cannot read gets an Event" \
  wait_until 15 nonempty KA get events -n team-a --field-selector involvedObject.name=bad,reason=InvalidResources -o name
KA delete job j2 -n team-a --wait=false >/dev/null
check "it deleted the QueueUnit of a deleted Job" \
  wait_until 15 bash -c "! $K8S_BIN/kubectl --kubeconfig $KCFG get qu j2-job -n team-a >/dev/null 2>&1"
check "no request was forbidden" bash -c "! grep -qiE 'forbidden|status=403' '$WORK/queue.log'"
kill -TERM "$QUEUE_PID"; wait "$QUEUE_PID"; rc=$?; QUEUE_PID=""
check "cosched-queue exits 0 on SIGTERM" test "$rc" = 0
exit 0
