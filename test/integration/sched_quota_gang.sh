#!/usr/bin/env bash
# A gang reclaims quota as one unit (CapacityScheduling with Coscheduling), on apisim and on the
# real kube-apiserver: root 20 cpu; qa and qb min 10 max 20. qa borrows all 20; a gang of 3 in
# qb that would need to borrow itself (15 > its min) evicts nothing and binds nothing; a gang of
# 2 within qb's min takes back 10 cpu from qa as a unit and binds whole.
. "$(dirname "$0")/lib.sh"

start_apisim || { notok "apisim starts"; exit 1; }
printf '%s' '{"apiVersion":"v1","kind":"Node","metadata":{"name":"n1"},"status":{"capacity":{"cpu":"64","memory":"64Gi","pods":"110"},"allocatable":{"cpu":"64","memory":"64Gi","pods":"110"},"conditions":[{"type":"Ready","status":"True"}]}}' \
  | k create -f - -o name >/dev/null
k apply -f "$ROOT/manifests/crds/scheduling.sigs.k8s.io_elasticquotatrees.yaml" \
  -f "$ROOT/manifests/crds/scheduling.sigs.k8s.io_podgroups.yaml" -o name >/dev/null
k create namespace qa -o name >/dev/null; k create namespace qb -o name >/dev/null
wait_until 10 k get elasticquotatrees -n kube-system
cat <<'EQT' | k apply -f - -o name >/dev/null
apiVersion: scheduling.sigs.k8s.io/v1beta1
kind: ElasticQuotaTree
metadata: {name: elasticquotatree, namespace: kube-system}
spec:
  root:
    name: root
    min: {cpu: 20}
    max: {cpu: 20}
    children:
    - {name: root.qa, namespaces: [qa], min: {cpu: 10}, max: {cpu: 20}}
    - {name: root.qb, namespaces: [qb], min: {cpu: 10}, max: {cpu: 20}}
EQT
write_config "$WORK/config.yaml" Coscheduling CapacityScheduling
start_cosched --config "$WORK/config.yaml"

running() { reap_deleted; running_in "$@"; }   # namespace [label selector]
pods() {  # namespace prefix count [gang]
  local i labels="app: $2"
  [ -n "${4:-}" ] && labels="$labels, pod-group.scheduling.sigs.k8s.io/name: $4, pod-group.scheduling.sigs.k8s.io/min-available: '$3'"
  for i in $(seq 0 $(($3 - 1))); do
    cat <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: $2-$i
  namespace: $1
  labels: {$labels}
spec:
  schedulerName: ack-co-scheduler
  terminationGracePeriodSeconds: 1
  containers: [{name: c, image: i, resources: {requests: {cpu: "5"}, limits: {cpu: "5"}}}]
---
EOF
  done | k create -f - -o name >/dev/null
}

pods qa a 4
wait_until 30 equals 4 running qa
check "qa borrows the whole root: 4 x 5 cpu running" equals 4 running qa

pods qb big 3 big
sleep 4
check "a gang of 3 in qb (15 cpu: it would borrow) binds nothing" equals 0 running qb app=big
check "... and evicts nothing: qa keeps 4 running" equals 4 running qa
k delete pods -n qb -l app=big --wait=false >/dev/null

pods qb small 2 small
wait_until 60 equals 2 running qb app=small
check "a gang of 2 within qb's min reclaims as a unit: both members run" equals 2 running qb app=small
check "... taking exactly 10 cpu back from qa (2 of its 4 pods)" equals 2 running qa
metric() {
  local port
  port=$(grep -o 'healthPort=[0-9]*' "$WORK/cosched.log" | tail -1 | cut -d= -f2)
  curl -s "http://127.0.0.1:$port/metrics" | awk -v m="$1" '$1 == m {print $2}'
}
check "metrics: the gang's reclaim is one preemption attempt with 2 victims" \
  bash -c '[ "$1" = 1 ] && [ "$2" = 2 ]' _ "$(metric scheduler_preemption_attempts_total)" \
  "$(metric scheduler_preemption_victims_sum)"
check "and it holds (no ping-pong)" bash -c 'sleep 5; [ "$1" = 2 ]' _ "$(sleep 5; running qa)"
grep -q "AddressSanitizer\|runtime error" "$WORK/cosched.log" && notok "no sanitizer reports in cosched's log" || ok "no sanitizer reports in cosched's log"
exit "$FAILS"
