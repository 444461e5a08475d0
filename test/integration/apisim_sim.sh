#!/usr/bin/env bash
# apisim simulation, end to end with kubectl and curl: generated cluster, pod lifecycle,
# run-seconds, Deployment/ReplicaSet, Job suspend/parallelism/completions, TFJob suspend
# annotation, CRD manifests, fault endpoint, dump. Prints one "ok - ..." / "not ok - ..." line
# per check.
set -u
APISIM_BIN=${APISIM_BIN:-build/asan/apisim}
tmp=$(mktemp -d)
kc=$tmp/kubeconfig
pid=
failed=0
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; fi
  if [ "$failed" -ne 0 ]; then echo "# last lines of the apisim log:"; tail -n 40 "$tmp/apisim.log"; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

pass() { echo "ok - $*"; }
fail() { echo "not ok - $*"; failed=1; }
check() { local what=$1; shift; if "$@"; then pass "$what"; else fail "$what"; fi; }
# wait_for SECONDS CMD...: retry CMD every 0.1 s until it succeeds.
wait_for() {
  local t=$1; shift
  local end=$(( $(date +%s%N) + t * 1000000000 ))
  while [ "$(date +%s%N)" -lt "$end" ]; do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  return 1
}

"$APISIM_BIN" --listen 127.0.0.1:0 --kubeconfig-out "$kc" --running-delay 100ms --seed 5 \
  --cluster-gen nodes=3,cpu=4,memory=8Gi,zones=3,prefix=sim-node- \
  --cluster-gen nodes=1,eci=true,prefix=vk- \
  --cluster-gen nodes=1,sockets=2,cores=4,threads=2,gpus=2,gpu-mem=16,prefix=big- \
  --pods-gen count=6,cpu=100m,memory=100Mi,bound=true,prefix=pre-,namespace=bench \
  >"$tmp/apisim.log" 2>&1 &
pid=$!
if ! wait_for 20 test -s "$kc"; then
  fail "apisim starts and writes a kubeconfig"
  tail -n 30 "$tmp/apisim.log"
  exit 1
fi
pass "apisim starts and writes a kubeconfig"
server=$(awk '$1 == "server:" { print $2; exit }' "$kc")
token=$(awk '$1 == "token:" { print $2; exit }' "$kc")
K=(kubectl --kubeconfig "$kc" --request-timeout=10s)
CURL=(curl -sk --max-time 10)
if [ -n "$token" ]; then CURL+=(-H "Authorization: Bearer $token"); fi

bind() { # ns pod node -> prints HTTP code
  "${CURL[@]}" -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    "$server/api/v1/namespaces/$1/pods/$2/binding" \
    -d "{\"apiVersion\":\"v1\",\"kind\":\"Binding\",\"metadata\":{\"name\":\"$2\"},\"target\":{\"kind\":\"Node\",\"name\":\"$3\"}}"
}
phase() { "${K[@]}" get pod -n "$1" "$2" -o jsonpath='{.status.phase}' 2>/dev/null; }
phase_is() { [ "$(phase "$1" "$2")" = "$3" ]; }
count_pods() { # ns selector [field-selector]
  "${K[@]}" get pods -n "$1" -l "$2" ${3:+--field-selector "$3"} -o name 2>/dev/null | grep -c .
}
count_is() { local want=$1; shift; [ "$(count_pods "$@")" = "$want" ]; }

# --- generated cluster ---------------------------------------------------------------------
check "generated cluster has 5 nodes" \
  test "$("${K[@]}" get nodes -o name | grep -c .)" = 5
check "generated nodes are Ready" \
  test "$("${K[@]}" get nodes -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{" "}{end}')" = "True True True True True "
check "zones are spread over zone-1..3" \
  test "$("${K[@]}" get node sim-node-2 -o jsonpath='{.metadata.labels.topology\.kubernetes\.io/zone}')" = zone-3
check "ECI node is a tainted virtual-kubelet" \
  test "$("${K[@]}" get node vk-0 -o jsonpath='{.metadata.labels.type}/{.spec.taints[0].key}={.spec.taints[0].value}:{.spec.taints[0].effect}')" = "virtual-kubelet/virtual-kubelet.io/provider=alibabacloud:NoSchedule"
check "GPU node has gpu-mem and gpu-count capacity" \
  test "$("${K[@]}" get node big-0 -o jsonpath='{.status.capacity.aliyun\.com/gpu-mem}/{.status.capacity.aliyun\.com/gpu-count}/{.status.capacity.cpu}')" = "32/2/16"
check "CPU topology annotation lists 16 CPUs" \
  test "$("${K[@]}" get node big-0 -o jsonpath='{.metadata.annotations.node\.koordinator\.sh/cpu-topology}' | grep -o '"id"' | grep -c .)" = 16
check "... and the node's NodeResourceTopology (CRD served by the generator) carries it too" \
  test "$("${K[@]}" get noderesourcetopologies big-0 -o jsonpath='{.metadata.annotations.node\.koordinator\.sh/cpu-topology}' | grep -o '"id"' | grep -c .)" = 16
check "pre-existing generated pods are bound and Running" \
  test "$("${K[@]}" get pods -n bench --field-selector status.phase=Running -o name | grep -c .)" = 6

# --- pod lifecycle -------------------------------------------------------------------------
"${K[@]}" apply --validate=false -f - >/dev/null <<'YAML'
apiVersion: v1
kind: Pod
metadata: {name: lone, namespace: default}
spec:
  schedulerName: ack-co-scheduler
  containers: [{name: c, image: busybox, resources: {requests: {cpu: 100m}}}]
---
apiVersion: v1
kind: Pod
metadata:
  name: sleeper
  namespace: default
  annotations: {apisim.cosched.io/run-seconds: "1"}
spec:
  schedulerName: ack-co-scheduler
  containers: [{name: c, image: busybox}]
YAML
sleep 0.5
check "an unbound pod stays Pending" phase_is default lone Pending
check "binding answers 201" test "$(bind default lone sim-node-0)" = 201
check "a bound pod turns Running" wait_for 10 phase_is default lone Running
check "running pod has podIP, hostIP and Ready" \
  test "$("${K[@]}" get pod lone -o jsonpath='{.status.hostIP}/{.status.conditions[?(@.type=="Ready")].status}')" = "10.0.0.1/True"
check "running pod has a podIP" test -n "$("${K[@]}" get pod lone -o jsonpath='{.status.podIP}')"
bind default sleeper sim-node-1 >/dev/null
running_or_done() { local p; p=$(phase default sleeper); [ "$p" = Running ] || [ "$p" = Succeeded ]; }
check "a run-seconds pod turns Running" wait_for 10 running_or_done
check "a run-seconds pod turns Succeeded" wait_for 10 phase_is default sleeper Succeeded

# --- Deployment ----------------------------------------------------------------------------
check "a Deployment is created" "${K[@]}" apply --validate=false -f - <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      schedulerName: ack-co-scheduler
      containers: [{name: nginx, image: nginx, resources: {limits: {cpu: 100m}}}]
YAML
check "a Deployment creates its 3 pods" wait_for 15 count_is 3 default app=web
check "the Deployment's ReplicaSet carries pod-template-hash" \
  test -n "$("${K[@]}" get rs -l app=web -o jsonpath='{.items[0].metadata.labels.pod-template-hash}')"
victim=$("${K[@]}" get pods -l app=web -o jsonpath='{.items[0].metadata.name}')
"${K[@]}" delete pod "$victim" --wait=false >/dev/null
gone_and_three() {
  ! "${K[@]}" get pod "$victim" >/dev/null 2>&1 && count_is 3 default app=web
}
check "a deleted Deployment pod is recreated" wait_for 15 gone_and_three
"${K[@]}" scale deployment web --replicas=5 >/dev/null
check "scaling the Deployment to 5 gives 5 pods" wait_for 15 count_is 5 default app=web
for p in $("${K[@]}" get pods -l app=web -o jsonpath='{.items[*].metadata.name}'); do
  bind default "$p" sim-node-2 >/dev/null
done
ready5() { test "$("${K[@]}" get deploy web -o jsonpath='{.status.readyReplicas}')" = 5; }
check "the Deployment reports 5 ready replicas" wait_for 15 ready5

# --- Job -------------------------------------------------------------------------------------
check "a suspended Job is created" "${K[@]}" apply --validate=false -f - <<'YAML'
apiVersion: batch/v1
kind: Job
metadata: {name: pi, namespace: default}
spec:
  suspend: true
  parallelism: 2
  completions: 3
  template:
    metadata:
      annotations: {apisim.cosched.io/run-seconds: "0.5"}
    spec:
      restartPolicy: Never
      schedulerName: ack-co-scheduler
      containers: [{name: pi, image: perl}]
YAML
sleep 1
check "a suspended Job has no pods" count_is 0 default job-name=pi
"${K[@]}" patch job pi --type=merge -p '{"spec":{"suspend":false}}' >/dev/null
check "a resumed Job runs parallelism=2 pods" wait_for 15 count_is 2 default job-name=pi
bind_pending_job_pods() {
  for p in $("${K[@]}" get pods -l job-name=pi --field-selector=spec.nodeName= -o jsonpath='{.items[*].metadata.name}'); do
    bind default "$p" sim-node-0 >/dev/null
  done
  test "$("${K[@]}" get job pi -o jsonpath='{.status.succeeded}')" = 3
}
check "the Job completes 3 pods once they are bound" wait_for 30 bind_pending_job_pods
check "the Job has the Complete condition" \
  test "$("${K[@]}" get job pi -o jsonpath='{.status.conditions[?(@.type=="Complete")].status}')" = True
check "the Job never ran more than 3 pods" count_is 3 default job-name=pi

# --- CRDs and TFJob ---------------------------------------------------------------------------
check "all CRD manifests apply" "${K[@]}" apply --validate=false -f manifests/crds/
crds_served() { "${K[@]}" get tfjobs,pytorchjobs,pg,eq,elasticquotatrees -A >/dev/null 2>&1; }
check "CRD kinds and short names are served" wait_for 10 crds_served
check "a suspended TFJob is created" "${K[@]}" apply --validate=false -f - <<'YAML'
apiVersion: kubeflow.org/v1
kind: TFJob
metadata:
  name: mnist
  namespace: default
  annotations: {scheduling.x-k8s.io/suspend: "true"}
spec:
  tfReplicaSpecs:
    PS:
      replicas: 1
      template:
        spec: {schedulerName: ack-co-scheduler, containers: [{name: tensorflow, image: tf}]}
    Worker:
      replicas: 2
      template:
        spec: {schedulerName: ack-co-scheduler, containers: [{name: tensorflow, image: tf}]}
YAML
sleep 1
check "a TFJob with the suspend annotation has no pods" \
  count_is 0 default training.kubeflow.org/job-name=mnist
"${K[@]}" annotate tfjob mnist scheduling.x-k8s.io/suspend- >/dev/null
check "removing the annotation creates 1 PS + 2 workers" \
  wait_for 15 count_is 3 default training.kubeflow.org/job-name=mnist
check "TFJob worker pods carry replica-type and index labels" \
  test "$("${K[@]}" get pod mnist-worker-1 -o jsonpath='{.metadata.labels.training\.kubeflow\.org/replica-type}/{.metadata.labels.training\.kubeflow\.org/replica-index}')" = worker/1
check "the TFJob has the Created condition" \
  test "$("${K[@]}" get tfjob mnist -o jsonpath='{.status.conditions[?(@.type=="Created")].status}')" = True

# the example workloads apply and behave
check "manifests/examples workloads apply" \
  "${K[@]}" apply --validate=false -f manifests/examples/tfjob-queued.yaml -f manifests/examples/job-sleep.yaml
check "the example Job starts 2 pods at a time" wait_for 15 count_is 2 default job-name=sleep-10s
check "the example queued TFJob has no pods" count_is 0 default training.kubeflow.org/job-name=tf-queued

# --- fault injection ------------------------------------------------------------------------
"${K[@]}" run faulty --image=busybox --restart=Never >/dev/null 2>&1
code=$("${CURL[@]}" -o "$tmp/put.json" -w '%{http_code}' -X PUT -H 'Content-Type: application/json' \
  "$server/apisim/faults" -d '{"bind":{"fraction":1,"code":500}}')
check "PUT /apisim/faults is accepted" test "$code" = 200
check "GET /apisim/faults shows the bind fault" \
  grep -q '"bind":{"fraction":1,"code":500}' <("${CURL[@]}" "$server/apisim/faults")
check "with 100% bind faults a bind gets 500" test "$(bind default faulty sim-node-0)" = 500
check "the failed bind left the pod unbound" \
  test -z "$("${K[@]}" get pod faulty -o jsonpath='{.spec.nodeName}')"
"${CURL[@]}" -o /dev/null -X PUT "$server/apisim/faults" -d '{"bind":{"fraction":1,"code":429},"retryAfterSeconds":3}'
check "a 429 fault sends Retry-After" \
  grep -qi '^retry-after: 3' <("${CURL[@]}" -D - -o /dev/null -X POST -H 'Content-Type: application/json' \
    "$server/api/v1/namespaces/default/pods/faulty/binding" \
    -d '{"apiVersion":"v1","kind":"Binding","metadata":{"name":"faulty"},"target":{"kind":"Node","name":"sim-node-0"}}')
"${CURL[@]}" -o /dev/null -X PUT "$server/apisim/faults" -d '{}'
check "after reset the bind succeeds" test "$(bind default faulty sim-node-0)" = 201
check "a bad fault body is a 400 naming the field" \
  grep -q 'bind.fraction' <("${CURL[@]}" -X PUT "$server/apisim/faults" -d '{"bind":{"fraction":9}}')

# watch faults: forced 410 on resume, age-based drop, drop-all-now
rv=$("${CURL[@]}" "$server/api/v1/pods?limit=1" | grep -o '"resourceVersion":"[0-9]*"' | head -n 1 | tr -dc 0-9)
"${CURL[@]}" -o /dev/null -X PUT "$server/apisim/faults" -d '{"watch410Fraction":1}'
check "a forced-410 watch resume gets an ERROR event with code 410" \
  grep -q '"code":410' <("${CURL[@]}" --max-time 5 "$server/api/v1/pods?watch=true&resourceVersion=$rv")
check "a fresh watch (no resourceVersion) is not forced to 410" \
  bash -c "! ${CURL[*]} --max-time 2 '$server/api/v1/nodes?watch=true' | grep -q '\"code\":410'"
"${CURL[@]}" -o /dev/null -X PUT "$server/apisim/faults" -d '{"watchDropEverySeconds":1}'
start=$(date +%s%N)
"${CURL[@]}" --max-time 8 -o "$tmp/w.out" -w "%{http_code}" "$server/api/v1/nodes?watch=true&timeoutSeconds=60" >"$tmp/w.code"; echo "# watch answered $(cat "$tmp/w.code") with $(wc -l <"$tmp/w.out") events"
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
check "watchDropEverySeconds=1 ends a watch after about a second (${elapsed_ms} ms)" \
  test "$elapsed_ms" -ge 900 -a "$elapsed_ms" -lt 5000
"${CURL[@]}" -o /dev/null -X PUT "$server/apisim/faults" -d '{}'
"${CURL[@]}" --max-time 8 -o /dev/null "$server/api/v1/nodes?watch=true&timeoutSeconds=60" &
wpid=$!
sleep 1
"${CURL[@]}" -o /dev/null -X PUT "$server/apisim/faults" -d '{"dropWatchesNow":true}'
# the watch stays idle; the server checks at its idle tick
start=$(date +%s%N)
wait "$wpid"
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
check "dropWatchesNow closes an open watch (${elapsed_ms} ms after the request)" \
  test "$elapsed_ms" -lt 5000

# --- dump -------------------------------------------------------------------------------------
"${CURL[@]}" "$server/apisim/dump" >"$tmp/dump.json"
check "GET /apisim/dump returns a List with every node" \
  python3 -c "import json,sys; d=json.load(open('$tmp/dump.json')); assert d['kind']=='List'; assert sum(1 for i in d['items'] if i.get('kind')=='Node')==5"

# the dump loads back as a cluster file (what-if runs)
kc2=$tmp/kubeconfig2
"$APISIM_BIN" --listen 127.0.0.1:0 --kubeconfig-out "$kc2" --cluster "$tmp/dump.json" \
  --simulate=false >"$tmp/apisim2.log" 2>&1 &
pid2=$!
if wait_for 20 test -s "$kc2"; then
  check "a dump loads back with the same nodes" \
    test "$(kubectl --kubeconfig "$kc2" get nodes -o name | grep -c .)" = 5
  check "a dump loads back with the same Running pods" \
    test "$(kubectl --kubeconfig "$kc2" get pods -n bench --field-selector status.phase=Running -o name | grep -c .)" = 6
else
  fail "apisim starts from a dump"
  tail -n 20 "$tmp/apisim2.log"
fi
kill "$pid2" 2>/dev/null
wait "$pid2" 2>/dev/null

# --- clean shutdown (ASan/LSan reports land in the log) ---------------------------------------
kill -TERM "$pid"
wait "$pid"
rc=$?
pid=
check "apisim exits 0 on SIGTERM" test "$rc" = 0
check "apisim's log has no sanitizer report" \
  bash -c "! grep -qE 'AddressSanitizer|LeakSanitizer|runtime error' '$tmp/apisim.log'"
