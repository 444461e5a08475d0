#!/usr/bin/env bash
# DefaultPreemption (issue 9) on apisim and on the real kube-apiserver: 10 nodes of 4 cpu, each
# full with 4 pods of 900m: node-0's of priority 0 and protected by a PodDisruptionBudget that
# allows no disruption, the others' of priority 5 (so that without the budget node-0, whose
# victims matter least, would be chosen). A priority-10 pod of 3000m fits nowhere: cosched
# evicts exactly 3 victims on one node, not node-0 (fewest budget violations comes first);
# the victims get the
# DisruptionTarget condition and a Preempted event, the preemptor's nominatedNodeName names
# their node and it binds there once they are gone. A pod of a class with preemptionPolicy
# Never evicts nothing and says so.
. "$(dirname "$0")/lib.sh"

start_apisim || { notok "apisim starts"; exit 1; }
"$PY" "$ROOT/test/integration/gennodes.py" --count 10 --prefix node- --cpu 4 --memory 16Gi | kcreate /dev/stdin
k create -f - -o name >/dev/null <<'YAML'
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: low}
value: 0
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: mid}
value: 5
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: high}
value: 10
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: high-never}
value: 10
preemptionPolicy: Never
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: protected, namespace: default}
spec:
  maxUnavailable: 0
  selector: {matchLabels: {app: protected}}
YAML
start_cosched
gen() { "$PY" "$ROOT/test/integration/genpods.py" --memory 64Mi "$@"; }
for i in $(seq 0 9); do
  app=victim; class=mid; [ "$i" = 0 ] && { app=protected; class=low; }
  gen --count 4 --prefix "v$i-" --cpu 900m --priority-class $class --grace 5 --label app=$app \
    --node-selector kubernetes.io/hostname=node-$i | kcreate /dev/stdin
done
wait_until 60 equals 40 bound_count
check "40 victims bound, 4 per node" equals 40 bound_count

gen --count 1 --prefix boss- --cpu 3000m --priority-class high | kcreate /dev/stdin
terminating() {  # the terminating pods' nodes, sorted
  k get pods -o jsonpath='{range .items[?(@.metadata.deletionTimestamp)]}{.spec.nodeName}{"\n"}{end}' | sort
}
nominated() { k get pod boss-0 -o jsonpath='{.status.nominatedNodeName}'; }
wait_until 30 nonempty nominated
victim_node=$(terminating | head -1)
n_terminating() { terminating | grep -c .; }
n_victim_nodes() { terminating | uniq | grep -c .; }
check "exactly 3 victims are evicted ($(terminating | uniq -c | xargs))" equals 3 n_terminating
check "... all on one node" equals 1 n_victim_nodes
check "... not on node-0, whose pods a PodDisruptionBudget protects" test "$victim_node" != node-0
check "the preemptor's nominatedNodeName is the victims' node ($(nominated))" equals "$victim_node" nominated
cond() { k get pods -o jsonpath='{range .items[?(@.metadata.deletionTimestamp)]}{.status.conditions[?(@.type=="DisruptionTarget")].reason}{"\n"}{end}' | sort -u; }
check "the victims carry DisruptionTarget (reason $(cond | xargs))" equals PreemptionByScheduler cond
events() { k get events -o jsonpath='{range .items[*]}{.reason}{" "}{.involvedObject.name}{" "}{.regarding.name}{"\n"}{end}' 2>/dev/null; }
n_preempted() { events | grep -c '^Preempted '; }
check "each victim has a Preempted event" equals 3 n_preempted
reap_deleted
wait_until 40 nonempty pod_node boss-0
check "the preemptor binds on the nominated node ($(pod_node boss-0))" equals "$victim_node" pod_node boss-0
n_left() { k get pods -l 'app in (victim,protected)' -o name | grep -c .; }
check "37 victims are left" equals 37 n_left

gen --count 1 --prefix meek- --cpu 3000m --priority-class high-never | kcreate /dev/stdin
msg() { k get pod meek-0 -o jsonpath='{.status.conditions[?(@.type=="PodScheduled")].message}'; }
wait_until 20 nonempty msg
sleep 1
check "preemptionPolicy Never: nothing evicted ($(n_terminating) terminating)" equals 0 n_terminating
check "... and the condition says: $(msg)" grep -q "preemption: not eligible due to preemptionPolicy=Never." <<<"$(msg)"
grep -q "AddressSanitizer\|runtime error" "$WORK/cosched.log" && notok "no sanitizer reports in cosched's log" || ok "no sanitizer reports in cosched's log"
exit "$FAILS"
