#!/usr/bin/env bash
# Gang scheduling (plugins/coscheduling) end to end, driven with kubectl, on apisim and
# (COSCHED_APISERVER=k8s) on the real kube-apiserver:
# features.md S1 with a TFJob (apisim's TFJob controller makes the pods), two gangs competing
# for room for one while ordinary pods keep flowing, a 1000-pod gang on 200 nodes, a gang whose
# last member comes late, a koordinator GangGroup across two namespaces, PodGroup objects
# (created for label-declared gangs, status kept current), a PodGroup timeout, and a bad
# declaration reported on the pod.
# The real control plane runs no controllers and no kubelet: there the driver
# (test/integration/k8s_driver.py) creates a TFJob's pods as kubeflow's operator would, and
# writes phase Running through pods/status for the pods apisim's kubelet simulation would run.
. "$(dirname "$0")/lib.sh"

start_apisim || { notok "apisim starts"; exit 1; }
K8S=0; [ "${COSCHED_APISERVER:-apisim}" = k8s ] && K8S=1
node() {  # name pool cpu
  printf '{"apiVersion":"v1","kind":"Node","metadata":{"name":"%s","labels":{"pool":"%s"}},"status":{"capacity":{"cpu":"%s","memory":"256Gi","pods":"110"},"conditions":[{"type":"Ready","status":"True"}]}}\n' "$1" "$2" "$3"
}
{
  node s1-a s1 20; node s1-b s1 20                     # room for 4 pods of 10 cpu
  node s1m-a s1m 30                                    # room for 3
  for i in 0 1 2; do node race-$i race 3; done         # 9 cpu: one gang of 6 + 100 x 10m
  for i in $(seq 0 199); do node big-$i big 1; done    # 200 cpu for 1000 pods of 100m
  node misc-a misc 16
  node pre-a pre 2; node pre-b pre 2                   # full of low-priority pods
} >"$WORK/nodes.json"
check "nodes created" kcreate "$WORK/nodes.json"
check "TFJob and PodGroup CRDs applied" k apply -f "$ROOT/manifests/crds/kubeflow.org_tfjobs.yaml" \
  -f "$ROOT/manifests/crds/scheduling.sigs.k8s.io_podgroups.yaml" -o name
cat >"$WORK/config.yaml" <<CFG
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
- schedulerName: ack-co-scheduler
  plugins:
    multiPoint:
      enabled: [{name: Coscheduling}]
CFG
start_cosched --config "$WORK/config.yaml"

gen() { "$PY" "$ROOT/test/integration/genpods.py" --memory 10Mi "$@"; }
cond_msg() { k get pod "$1" -n "${2:-default}" -o jsonpath='{.status.conditions[?(@.type=="PodScheduled")].message}'; }
nbound() {  # selector [namespace]
  k get pods -n "${2:-default}" -l "$1" -o jsonpath='{range .items[*]}{.spec.nodeName}{"\n"}{end}' | grep -c .
}
nb() { nbound "$1" "${2:-default}"; }

tfjob() {  # name min pool
  cat <<EOF
apiVersion: kubeflow.org/v1
kind: TFJob
metadata: {name: $1, namespace: default}
spec:
  tfReplicaSpecs:
    PS:
      replicas: 1
      template:
        metadata:
          labels: {pod-group.scheduling.sigs.k8s.io/name: $1, pod-group.scheduling.sigs.k8s.io/min-available: "$2"}
        spec:
          schedulerName: ack-co-scheduler
          nodeSelector: {pool: $3}
          containers: [{name: tensorflow, image: tf, resources: {limits: {cpu: "10", memory: 1Gi}}}]
    Worker:
      replicas: 4
      template:
        metadata:
          labels: {pod-group.scheduling.sigs.k8s.io/name: $1, pod-group.scheduling.sigs.k8s.io/min-available: "$2"}
        spec:
          schedulerName: ack-co-scheduler
          nodeSelector: {pool: $3}
          containers: [{name: tensorflow, image: tf, resources: {limits: {cpu: "10", memory: 1Gi}}}]
EOF
}

# operate NAME: on the real control plane, create the TFJob's pods as its operator would
# (apisim's controller does it).
operate() {
  [ "$K8S" = 1 ] || return 0
  k get tfjob "$1" -o json | "$PY" "$ROOT/test/integration/k8s_driver.py" tfjob-pods \
    | k create -f - -o name >/dev/null
}
# kubelet SELECTOR: on the real control plane, the bound pods turn Running (pods/status), as
# apisim's kubelet simulation makes them (--running-delay).
kubelet() {
  [ "$K8S" = 1 ] || return 0
  local p
  for p in $(k get pods -l "$1" -o jsonpath='{range .items[?(@.spec.nodeName)]}{.metadata.name}{"\n"}{end}'); do
    k patch pod "$p" --subresource=status --type=merge -p '{"status":{"phase":"Running"}}' >/dev/null
  done
}

# --- S1: min-available 5, room for 4: nothing binds; a node arrives: all 5 bind ------------
tfjob tf-smoke-gpu 5 s1 | k create -f - -o name >/dev/null
operate tf-smoke-gpu
sel=pod-group.scheduling.sigs.k8s.io/name=tf-smoke-gpu
npods() { k get pods -l "$1" -o name | grep -c .; }
wait_until 20 equals 5 npods "$sel"
first=$(k get pods -l "$sel" -o jsonpath='{.items[0].metadata.name}')
wait_until 20 nonempty cond_msg "$first"
sleep 1
check "S1: 5 pods of 10 cpu with room for 4 and min-available 5: none binds" equals 0 nb "$sel"
check "S1: the PodScheduled condition names the gang" grep -q "default/tf-smoke-gpu" <<<"$(cond_msg "$first")"
pg_min() { k get podgroups.scheduling.sigs.k8s.io "$1" -o jsonpath='{.spec.minMember}'; }
wait_until 10 equals 5 pg_min tf-smoke-gpu
check "S1: a PodGroup was created for the label-declared gang" equals 5 pg_min tf-smoke-gpu
events_for() { k get events -o jsonpath="{range .items[?(@.involvedObject.name==\"$1\")]}{.reason}{\"\\n\"}{end}"; }
nfailed_events() {
  local n=0 p
  for p in $(k get pods -l "$sel" -o jsonpath='{.items[*].metadata.name}'); do
    n=$((n + $(events_for "$p" | grep -c FailedScheduling)))
  done
  echo "$n"
}
nev=$(nfailed_events)
# One event per gang and distinct failure (short of members; then too big, whose text counts the
# members that could be placed), on the same member every time; never one per member and retry.
check "S1: FailedScheduling events per gang failure, not per member ($nev for 5 members)" \
  test "$nev" -le 3
node s1-c s1 10 | k create -f - -o name >/dev/null
t0=$(date +%s%N)
wait_until 30 equals 5 nb "$sel"
echo "# S1: the gang bound $(( ($(date +%s%N) - t0) / 1000000 )) ms after the node was added"
check "S1: after a 10-cpu node is added all 5 bind" equals 5 nb "$sel"
pg_phase() { k get podgroups.scheduling.sigs.k8s.io "$1" -n "${2:-default}" -o jsonpath='{.status.phase}'; }
pg_sched() { k get podgroups.scheduling.sigs.k8s.io "$1" -o jsonpath='{.status.scheduled}'; }
wait_until 10 equals 5 pg_sched tf-smoke-gpu
check "S1: the PodGroup status counts 5 scheduled" equals 5 pg_sched tf-smoke-gpu
check "S1: the PodGroup phase moved on from Pending" bash -c "p=\$(kubectl --kubeconfig '$KCFG' get podgroups.scheduling.sigs.k8s.io tf-smoke-gpu -o jsonpath='{.status.phase}'); [ \"\$p\" = Scheduling ] || [ \"\$p\" = Running ]"
kubelet "$sel"
wait_until 10 equals Running pg_phase tf-smoke-gpu
check "S1: once its 5 pods run, the PodGroup phase is Running ($(pg_phase tf-smoke-gpu))" equals Running pg_phase tf-smoke-gpu

# --- S1: min-available 2, room for 3: exactly 3 bind ---------------------------------------
tfjob tf-min2 2 s1m | k create -f - -o name >/dev/null
operate tf-min2
sel2=pod-group.scheduling.sigs.k8s.io/name=tf-min2
wait_until 20 equals 5 npods "$sel2"
wait_until 20 equals 3 nb "$sel2"
sleep 1
check "S1: min-available 2 with room for 3: exactly 3 bind" equals 3 nb "$sel2"

# --- two gangs of 6 compete for room for one; ordinary pods keep flowing -------------------
gen --count 6 --prefix ga- --cpu 1 --node-selector pool=race \
    --label pod-group.scheduling.sigs.k8s.io/name=ga --label pod-group.scheduling.sigs.k8s.io/min-available=6 \
    | k create -f - -o name >/dev/null
gen --count 6 --prefix gb- --cpu 1 --node-selector pool=race \
    --label pod-group.scheduling.sigs.k8s.io/name=gb --label pod-group.scheduling.sigs.k8s.io/min-available=6 \
    | k create -f - -o name >/dev/null
gen --count 100 --prefix plain- --cpu 10m --node-selector pool=race --label kind=plain \
    | k create -f - -o name >/dev/null
wait_until 30 equals 100 nb kind=plain
check "100 ordinary pods bind beside the competing gangs" equals 100 nb kind=plain
a=$(nb pod-group.scheduling.sigs.k8s.io/name=ga); b=$(nb pod-group.scheduling.sigs.k8s.io/name=gb)
check "exactly one gang of 6 binds fully, the other binds nothing (ga=$a gb=$b)" \
  bash -c "[ '$a$b' = 60 ] || [ '$a$b' = 06 ]"

# --- a gang of 1000 on 200 nodes; a late last member -------------------------------------
t0=$(date +%s%N)
gen --count 1000 --prefix k- --cpu 100m --node-selector pool=big \
    --label pod-group.scheduling.sigs.k8s.io/name=kilo --label pod-group.scheduling.sigs.k8s.io/min-available=1000 \
    | k create -f - -o name >/dev/null
wait_until 120 equals 1000 nb pod-group.scheduling.sigs.k8s.io/name=kilo
echo "# a 1000-pod gang on 200 nodes created and bound in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
check "a gang of 1000 pods on 200 nodes binds whole" equals 1000 nb pod-group.scheduling.sigs.k8s.io/name=kilo

gen --count 3 --prefix late- --cpu 100m --node-selector pool=misc \
    --label pod-group.scheduling.sigs.k8s.io/name=late --label pod-group.scheduling.sigs.k8s.io/min-available=4 \
    | k create -f - -o name >/dev/null
sleep 8
check "a gang with its last member missing for 8 s binds nothing meanwhile" equals 0 nb pod-group.scheduling.sigs.k8s.io/name=late
gen --count 1 --start 3 --prefix late- --cpu 100m --node-selector pool=misc \
    --label pod-group.scheduling.sigs.k8s.io/name=late --label pod-group.scheduling.sigs.k8s.io/min-available=4 \
    | k create -f - -o name >/dev/null
wait_until 15 equals 4 nb pod-group.scheduling.sigs.k8s.io/name=late
check "when the last member arrives all 4 bind" equals 4 nb pod-group.scheduling.sigs.k8s.io/name=late

# --- a koordinator GangGroup across two namespaces ------------------------------------------
k create namespace team-a -o name >/dev/null; k create namespace team-b -o name >/dev/null
kg() {  # ns gang count
  gen --count "$3" --prefix "$2-" --namespace "$1" --cpu 100m --node-selector pool=misc \
    --label "gg=$2" \
    --annotation gang.scheduling.koordinator.sh/name="$2" \
    --annotation gang.scheduling.koordinator.sh/min-available="$3" \
    --annotation 'gang.scheduling.koordinator.sh/groups=["team-a/ga1","team-b/gb1"]'
}
kg team-a ga1 2 | k create -f - -o name >/dev/null
wait_until 15 nonempty cond_msg ga1-0 team-a
sleep 1
check "GangGroup: the first gang waits for the other gang of its group" equals 0 nb gg=ga1 team-a
check "GangGroup: its pods say which gang it waits for" grep -q "team-b/gb1" <<<"$(cond_msg ga1-0 team-a)"
kg team-b gb1 3 | k create -f - -o name >/dev/null
wait_until 20 equals 3 nb gg=gb1 team-b
check "GangGroup: once both gangs can, both bind (team-a)" equals 2 nb gg=ga1 team-a
check "GangGroup: once both gangs can, both bind (team-b)" equals 3 nb gg=gb1 team-b

# --- gang preemption: victims chosen for the whole gang, then the gang binds ----------------
k create -f - -o name >/dev/null <<<'{"apiVersion":"scheduling.k8s.io/v1","kind":"PriorityClass","metadata":{"name":"gang-high"},"value":1000}'
gen --count 4 --prefix low- --cpu 1 --grace 0 --node-selector pool=pre --label kind=low \
  | k create -f - -o name >/dev/null
wait_until 15 equals 4 nb kind=low
gen --count 4 --prefix hi- --cpu 1 --node-selector pool=pre --priority-class gang-high \
    --label pod-group.scheduling.sigs.k8s.io/name=hi --label pod-group.scheduling.sigs.k8s.io/min-available=4 \
    | k create -f - -o name >/dev/null
nlow() { k get pods -l kind=low -o name | grep -c .; }
wait_until 30 equals 4 nb pod-group.scheduling.sigs.k8s.io/name=hi
check "a higher-priority gang of 4 preempts 4 pods as one unit and binds whole" \
  equals 4 nb pod-group.scheduling.sigs.k8s.io/name=hi
check "the 4 lower-priority pods were evicted" equals 0 nlow
check "the preemption was logged once for the gang" \
  bash -c "[ \$(grep -c 'Pod group preempting' '$WORK/cosched.log') -ge 1 ]"

# --- a PodGroup with a timeout, and a bad declaration --------------------------------------
k create -f - -o name >/dev/null <<'EOF'
{"apiVersion":"scheduling.sigs.k8s.io/v1alpha1","kind":"PodGroup","metadata":{"name":"never","namespace":"default"},"spec":{"minMember":3,"scheduleTimeoutSeconds":2}}
EOF
gen --count 3 --prefix never- --cpu 64 --node-selector pool=misc \
    --label pod-group.scheduling.sigs.k8s.io=never | k create -f - -o name >/dev/null
wait_until 20 equals Failed pg_phase never
check "a gang that can never fit is marked Failed after its scheduleTimeoutSeconds" equals Failed pg_phase never
wait_until 10 bash -c "kubectl --kubeconfig '$KCFG' get pod never-0 -o jsonpath='{.status.conditions[?(@.type==\"PodScheduled\")].message}' | grep -q 'timed out'"
check "its pods say it timed out" grep -q "timed out" <<<"$(cond_msg never-0)"

k create -f - -o name >/dev/null <<'EOF'
{"apiVersion":"scheduling.sigs.k8s.io/v1alpha1","kind":"PodGroup","metadata":{"name":"rich","namespace":"default"},"spec":{"minMember":1,"minResources":{"cpu":"100000"}}}
EOF
gen --count 1 --prefix rich- --cpu 100m --node-selector pool=misc \
    --label pod-group.scheduling.sigs.k8s.io=rich | k create -f - -o name >/dev/null
wait_until 15 nonempty cond_msg rich-0
check "a PodGroup whose minResources the cluster cannot offer waits, and says so" \
  grep -q "minResources not available: cpu" <<<"$(cond_msg rich-0)"
check "... binding nothing" equals 0 nb pod-group.scheduling.sigs.k8s.io=rich

gen --count 1 --prefix bad- --cpu 100m --node-selector pool=misc \
    --label pod-group.scheduling.sigs.k8s.io/name=bad --label pod-group.scheduling.sigs.k8s.io/min-available=three \
    | k create -f - -o name >/dev/null
wait_until 15 nonempty cond_msg bad-0
check "a bad min-available is named on the pod, which waits" grep -q '"three" is not a positive integer' <<<"$(cond_msg bad-0)"
check "... and gets a FailedScheduling event" bash -c "kubectl --kubeconfig '$KCFG' get events -o jsonpath='{range .items[?(@.involvedObject.name==\"bad-0\")]}{.reason}{\"\\n\"}{end}' | grep -q FailedScheduling"

stop_cosched
check "cosched exits 0 on SIGTERM" test "${COSCHED_RC:-1}" = 0
check "no member of any gang was bound twice" bash -c "! grep -q 'already assigned' '$WORK/cosched.log'"
exit 0
