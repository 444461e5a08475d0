#!/usr/bin/env bash
# Capacity scheduling (plugins/capacityscheduling, pkg/quota) end to end, driven with kubectl,
# on apisim and (COSCHED_APISERVER=k8s) on the real kube-apiserver:
#   - scenario S4 of features.md exactly: after each of nginx1..nginx4 (5 x 5 cpu) the Running
#     counts per namespace are (4), (4,4), (3,3,2), (2,2,2,2), and the last state holds for 30 s
#     (no preemption ping-pong); cosched is restarted between nginx3 and nginx4 (accounting is
#     rebuilt from the cluster);
#   - the same shape with nvidia.com/gpu and memory, three levels below the root;
#   - the FailedScheduling condition names the quota; the tree's status shows used/pending;
#   - invalid trees of each kind are refused (an Event on the tree, a log line) and the last
#     valid tree keeps working; a min raised live takes effect without a restart.
# On apisim the pods come from Deployments (apisim's controllers replace preempted pods); the
# real control plane runs no controllers, so there the suite creates the pods itself and, as a
# kubelet would, removes pods whose deletion was requested.
. "$(dirname "$0")/lib.sh"

start_apisim || { notok "apisim starts"; exit 1; }
K8S=0; [ "${COSCHED_APISERVER:-apisim}" = k8s ] && K8S=1

cat >"$WORK/nodes.yaml" <<'EOF'
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Node
  metadata: {name: big, labels: {kubernetes.io/hostname: big}}
  status:
    capacity: {cpu: "80", memory: 512Gi, pods: "110", nvidia.com/gpu: "16"}
    allocatable: {cpu: "80", memory: 512Gi, pods: "110", nvidia.com/gpu: "16"}
    conditions: [{type: Ready, status: "True"}]
EOF
check "node created (80 cpu, 16 gpus: more than the quotas give out)" kcreate "$WORK/nodes.yaml"
check "ElasticQuotaTree CRD applied" k apply -f "$ROOT/manifests/crds/scheduling.sigs.k8s.io_elasticquotatrees.yaml" -o name
for ns in namespace1 namespace2 namespace3 namespace4 gpu1 gpu2 gpu3 gpu4; do
  k create namespace "$ns" -o name >/dev/null
done
wait_until 10 k get elasticquotatrees -n kube-system

# root min = max = 40 cpu; a, b min 20 max 40; leaves min 10 max 20 (S4). Beside them, the gpu
# shape three levels deep: g (8 gpus, 32Gi) > g.x > {g.x.a > leaves 1,2 ; g.x.b > leaves 3,4}.
tree() {  # b1min rootcpu amin a1min
  cat <<EOF
apiVersion: scheduling.sigs.k8s.io/v1beta1
kind: ElasticQuotaTree
metadata: {name: elasticquotatree, namespace: kube-system}
spec:
  root:
    name: root
    min: {cpu: ${2:-40}, nvidia.com/gpu: 8, memory: 64Gi}
    max: {cpu: ${2:-40}, nvidia.com/gpu: 8, memory: 64Gi}
    children:
    - name: root.a
      min: {cpu: ${3:-20}}
      max: {cpu: 40}
      children:
      - {name: root.a.1, namespaces: [namespace1], min: {cpu: ${4:-10}}, max: {cpu: 20}}
      - {name: root.a.2, namespaces: [namespace2], min: {cpu: 10}, max: {cpu: 20}}
    - name: root.b
      min: {cpu: 20}
      max: {cpu: 40}
      children:
      - {name: root.b.1, namespaces: [namespace3], min: {cpu: ${1:-10}}, max: {cpu: 20}}
      - {name: root.b.2, namespaces: [namespace4], min: {cpu: 10}, max: {cpu: 20}}
    - name: root.g
      min: {nvidia.com/gpu: 8, memory: 32Gi}
      max: {nvidia.com/gpu: 8, memory: 32Gi}
      children:
      - name: root.g.x
        min: {nvidia.com/gpu: 8, memory: 32Gi}
        max: {nvidia.com/gpu: 8, memory: 32Gi}
        children:
        - name: root.g.x.a
          min: {nvidia.com/gpu: 4, memory: 16Gi}
          max: {nvidia.com/gpu: 8, memory: 32Gi}
          children:
          - {name: root.g.x.a.1, namespaces: [gpu1], min: {nvidia.com/gpu: 2, memory: 8Gi}, max: {nvidia.com/gpu: 4, memory: 16Gi}}
          - {name: root.g.x.a.2, namespaces: [gpu2], min: {nvidia.com/gpu: 2, memory: 8Gi}, max: {nvidia.com/gpu: 4, memory: 16Gi}}
        - name: root.g.x.b
          min: {nvidia.com/gpu: 4, memory: 16Gi}
          max: {nvidia.com/gpu: 8, memory: 32Gi}
          children:
          - {name: root.g.x.b.1, namespaces: [gpu3], min: {nvidia.com/gpu: 2, memory: 8Gi}, max: {nvidia.com/gpu: 4, memory: 16Gi}}
          - {name: root.g.x.b.2, namespaces: [gpu4], min: {nvidia.com/gpu: 2, memory: 8Gi}, max: {nvidia.com/gpu: 4, memory: 16Gi}}
EOF
}
tree | k apply -f - -o name >/dev/null
check "the ElasticQuotaTree is created" k get elasticquotatree elasticquotatree -n kube-system -o name

write_config "$WORK/config.yaml" CapacityScheduling
start_cosched --config "$WORK/config.yaml"

# workload NAME NAMESPACE RESOURCES: 5 replicas (a Deployment on apisim, 5 pods on k8s).
workload() {
  local res=$3
  if [ "$K8S" = 1 ]; then
    for i in 0 1 2 3 4; do
      cat <<EOF
apiVersion: v1
kind: Pod
metadata: {name: $1-$i, namespace: $2, labels: {app: $1}}
spec:
  schedulerName: ack-co-scheduler
  terminationGracePeriodSeconds: 1
  containers: [{name: nginx, image: nginx, resources: {requests: {$res}, limits: {$res}}}]
---
EOF
      sleep 0.05
    done | k create -f - -o name >/dev/null
  else
    cat <<EOF | k create -f - -o name >/dev/null
apiVersion: apps/v1
kind: Deployment
metadata: {name: $1, namespace: $2}
spec:
  replicas: 5
  selector: {matchLabels: {app: $1}}
  template:
    metadata: {labels: {app: $1}}
    spec:
      schedulerName: ack-co-scheduler
      terminationGracePeriodSeconds: 1
      containers: [{name: nginx, image: nginx, resources: {requests: {$res}, limits: {$res}}}]
EOF
  fi
}

counts() {  # ns... -> "4,4,3": Running (bound, not being deleted) per namespace
  reap_deleted
  local out="" ns
  for ns in "$@"; do out="$out${out:+,}$(running_in "$ns")"; done
  echo "$out"
}
# steady WANT SECONDS ns...: the counts equal WANT at every sample for SECONDS.
steady() {
  local want=$1 secs=$2; shift 2
  local end=$(( $(date +%s) + secs )) got
  while [ "$(date +%s)" -lt "$end" ]; do
    got=$(counts "$@")
    if [ "$got" != "$want" ]; then echo "# counts moved to $got (want $want)"; return 1; fi
    sleep 1
  done
}
cond_msgs() {
  k get pods -n "$1" -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="PodScheduled")].message}{"\n"}{end}'
}

NS="namespace1 namespace2 namespace3 namespace4"
CPU='cpu: "5", memory: 64Mi'
workload nginx1 namespace1 "$CPU"
wait_until 30 equals 4 counts namespace1
check "S4 step 1: nginx1 has 4 Running (a.1 at its max)" steady 4 4 namespace1
wait_until 10 nonempty cond_msgs namespace1
check "S4 step 1: the pending pod's condition names the quota" \
  grep -q "quota root.a.1 would exceed max cpu: used 20, request 5, max 20" <<<"$(cond_msgs namespace1)"

workload nginx2 namespace2 "$CPU"
wait_until 30 equals 4,4 counts namespace1 namespace2
check "S4 step 2: (4,4), the root is full" steady 4,4 4 namespace1 namespace2

workload nginx3 namespace3 "$CPU"
wait_until 60 equals 3,3,2 counts namespace1 namespace2 namespace3
check "S4 step 3: b.1 reclaims from the borrowers evenly: (3,3,2)" steady 3,3,2 5 namespace1 namespace2 namespace3
check "S4 step 3: preemption events name the preemptor" \
  grep -q "Preempted" <<<"$(k get events -n namespace1 -o jsonpath='{range .items[*]}{.reason}{"\n"}{end}' 2>/dev/null)"

stop_cosched
start_cosched --config "$WORK/config.yaml"
check "cosched restarted in the middle of S4: the state is unchanged" steady 3,3,2 5 namespace1 namespace2 namespace3

workload nginx4 namespace4 "$CPU"
wait_until 60 equals 2,2,2,2 counts $NS
check "S4 step 4: every namespace at its min: (2,2,2,2)" equals 2,2,2,2 counts $NS
check "S4: (2,2,2,2) holds for 30 s (no preemption ping-pong)" steady 2,2,2,2 30 $NS

used_of() {  # quota resource
  k get elasticquotatree elasticquotatree -n kube-system -o json |
    "$PY" -c "import json,sys; d=json.load(sys.stdin); print(d.get('status',{}).get('quotas',{}).get('$1',{}).get('used',{}).get('$2',''))"
}
pending_of() {
  k get elasticquotatree elasticquotatree -n kube-system -o json |
    "$PY" -c "import json,sys; d=json.load(sys.stdin); print(d.get('status',{}).get('quotas',{}).get('$1',{}).get('pending',{}).get('$2',''))"
}
wait_until 10 equals 10 used_of root.a.1 cpu
check "status: kubectl shows used cpu 10 for root.a.1 and 40 for the root" \
  equals 40 used_of root cpu
if [ "$K8S" = 0 ]; then
  check "status: the replaced pods' requests show as pending in root.a.1 (3 x 5 cpu)" \
    wait_until 10 equals 15 pending_of root.a.1 cpu
fi

metric() {  # family quota resource
  local port
  port=$(grep -o 'healthPort=[0-9]*' "$WORK/cosched.log" | tail -1 | cut -d= -f2)
  curl -s "http://127.0.0.1:$port/metrics" | grep "^$1{quota=\"$2\",resource=\"$3\"}" | awk '{print $2}'
}
wait_until 10 equals 10 metric cosched_elastic_quota_used root.a.1 cpu
check "metrics: used 10 cpu in root.a.1 (cosched_elastic_quota_used)" equals 10 metric cosched_elastic_quota_used root.a.1 cpu
check "metrics: root.a.1 borrows nothing now, min 10, max 20" \
  bash -c '[ "$1" = 0 ] && [ "$2" = 10 ] && [ "$3" = 20 ]' _ \
  "$(metric cosched_elastic_quota_borrowed root.a.1 cpu)" "$(metric cosched_elastic_quota_min root.a.1 cpu)" \
  "$(metric cosched_elastic_quota_max root.a.1 cpu)"

# --- the same shape with gpus and memory, three levels deep -------------------------------
GPU='nvidia.com/gpu: "1", memory: 4Gi'
GNS="gpu1 gpu2 gpu3 gpu4"
workload train1 gpu1 "$GPU"
wait_until 30 equals 4 counts gpu1
check "gpu step 1: (4), g.x.a.1 at its max of 4 gpus / 16Gi" steady 4 3 gpu1
workload train2 gpu2 "$GPU"
wait_until 30 equals 4,4 counts gpu1 gpu2
check "gpu step 2: (4,4), all 8 gpus of the root used" steady 4,4 3 gpu1 gpu2
workload train3 gpu3 "$GPU"
wait_until 60 equals 3,3,2 counts gpu1 gpu2 gpu3
check "gpu step 3: (3,3,2)" steady 3,3,2 3 gpu1 gpu2 gpu3
workload train4 gpu4 "$GPU"
wait_until 60 equals 2,2,2,2 counts $GNS
check "gpu step 4: (2,2,2,2) and it holds" steady 2,2,2,2 10 $GNS
check "the cpu namespaces were not touched by the gpu reclaim" equals 2,2,2,2 counts $NS

# --- invalid trees: refused, the last valid tree stays in force ---------------------------
tree_events() {
  k get events -n kube-system -o jsonpath='{range .items[*]}{.reason}{" "}{.note}{.message}{"\n"}{end}' 2>/dev/null
}
invalid() {  # description yaml-transform rule
  local d=$1 sedexpr=$2 rule=$3
  tree | sed -e "$sedexpr" | k apply -f - -o name >/dev/null
  local i
  for i in $(seq 1 50); do
    if tree_events | grep -q "InvalidQuotaTree.*rule $rule"; then break; fi
    sleep 0.2
  done
  check "invalid tree ($d) refused with an Event naming rule $rule" \
    grep -q "InvalidQuotaTree.*rule $rule" <<<"$(tree_events)"
  check "invalid tree ($d): a log line names the rule" grep -q "rule $rule" "$WORK/cosched.log"
}
invalid "a min above its max" 's/{name: root.a.1, namespaces: \[namespace1\], min: {cpu: 10}, max: {cpu: 20}}/{name: root.a.1, namespaces: [namespace1], min: {cpu: 30}, max: {cpu: 20}}/' "min<=max"
invalid "children's mins above the parent's" 's/name: root.a$/name: root.a/; s/min: {cpu: 20}$/min: {cpu: 5}/' "children-min"
invalid "a namespace in two leaves" 's/namespaces: \[namespace4\]/namespaces: [namespace1]/' "namespace-in-one-leaf"
invalid "two quotas with one name" 's/name: root.b.2,/name: root.b.1,/' "unique-names"
invalid "an invalid quantity" 's/max: {cpu: 20}}/max: {cpu: lots}}/' "quantities"
# The valid tree still governs: nginx1's pending pods stay pending, nothing moved.
check "after the refusals the last valid tree still holds (2,2,2,2)" steady 2,2,2,2 3 $NS
check "after the refusals a pending nginx1 pod is still refused by root.a.1's old tree" \
  grep -q "quota root" <<<"$(cond_msgs namespace1)"

# --- a live edit: root grows to 45 cpu and a.1's min to 15: one more nginx1 pod runs ---------
tree 10 45 25 15 | k apply -f - -o name >/dev/null
wait_until 30 equals 3,2,2,2 counts $NS
check "a min raised live takes effect without a restart: (3,2,2,2)" steady 3,2,2,2 3 $NS

grep -q "AddressSanitizer\|runtime error" "$WORK/cosched.log" && notok "no sanitizer reports in cosched's log" || ok "no sanitizer reports in cosched's log"
exit "$FAILS"
