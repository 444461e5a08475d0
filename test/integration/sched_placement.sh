#!/usr/bin/env bash
# Placement rules against upstream behaviour: taints and tolerations, nodeSelector, required
# and preferred node affinity, host ports, unschedulable nodes and scheduling gates; each pod
# placed or refused as kube-scheduler would, with its message and event.
. "$(dirname "$0")/lib.sh"

start_apisim || { notok "apisim starts"; exit 1; }
node() {  # name labels-json taints-json unschedulable
  printf '{"apiVersion":"v1","kind":"Node","metadata":{"name":"%s","labels":%s},"spec":{"taints":%s,"unschedulable":%s},"status":{"capacity":{"cpu":"8","memory":"16Gi","pods":"110"},"conditions":[{"type":"Ready","status":"True"}]}}\n' "$1" "$2" "$3" "$4"
}
{
  node node-a '{"kubernetes.io/hostname":"node-a","disk":"ssd","zone":"z1"}' '[]' false
  node node-b '{"kubernetes.io/hostname":"node-b","zone":"z1"}' '[{"key":"dedicated","value":"gpu","effect":"NoSchedule"}]' false
  node node-c '{"kubernetes.io/hostname":"node-c","zone":"z2"}' '[]' true
  node node-d '{"kubernetes.io/hostname":"node-d","zone":"z2"}' '[]' false
} >"$WORK/nodes.json"
check "nodes created" kcreate "$WORK/nodes.json"
start_cosched
gen() { "$PY" "$ROOT/test/integration/genpods.py" --count 1 --cpu 100m --memory 100Mi "$@"; }

cond_msg() { k get pod "$1" -o jsonpath='{.status.conditions[?(@.type=="PodScheduled")].message}'; }
cond_reason() { k get pod "$1" -o jsonpath='{.status.conditions[?(@.type=="PodScheduled")].reason}'; }
has_event() { k get events --field-selector "involvedObject.name=$1" -o jsonpath='{.items[*].reason}' | grep -qw "$2"; }
bound_to() { [ "$(pod_node "$1")" = "$2" ]; }

gen --prefix sel- --node-selector disk=ssd | k create -f - -o name >/dev/null
wait_until 10 bound_to sel-0 node-a
check "nodeSelector disk=ssd lands on node-a" bound_to sel-0 node-a

HOST_B='{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[{"matchExpressions":[{"key":"kubernetes.io/hostname","operator":"In","values":["node-b"]}]}]}}}'
gen --prefix tol- --toleration dedicated=gpu:NoSchedule --affinity-json "$HOST_B" | k create -f - -o name >/dev/null
wait_until 10 bound_to tol-0 node-b
check "toleration for dedicated=gpu:NoSchedule lands on the tainted node-b" bound_to tol-0 node-b

gen --prefix notol- --affinity-json "$HOST_B" | k create -f - -o name >/dev/null
want='0/4 nodes are available: 1 node(s) had untolerated taint(s), 1 node(s) were unschedulable, 2 node(s) didn'"'"'t match Pod'"'"'s node affinity/selector. preemption: 0/4 nodes are available: 4 Preemption is not helpful for scheduling.'
wait_until 10 nonempty cond_msg notol-0
got=$(cond_msg notol-0)
check "untolerated taint + unschedulable + affinity refused with upstream's message" [ "$got" = "$want" ]
if [ "$got" != "$want" ]; then echo "#   got:  $got"; echo "#   want: $want"; fi
check "refused pod has reason Unschedulable" [ "$(cond_reason notol-0)" = Unschedulable ]
wait_until 10 has_event notol-0 FailedScheduling
check "refused pod has a FailedScheduling event" has_event notol-0 FailedScheduling
check "refused pod stays pending" [ -z "$(pod_node notol-0)" ]

PREF='{"nodeAffinity":{"preferredDuringSchedulingIgnoredDuringExecution":[{"weight":50,"preference":{"matchExpressions":[{"key":"zone","operator":"In","values":["z2"]}]}}]}}'
gen --prefix pref- --affinity-json "$PREF" | k create -f - -o name >/dev/null
wait_until 10 bound_to pref-0 node-d
check "preferred affinity zone=z2 picks node-d (node-c is unschedulable)" bound_to pref-0 node-d

REQ_Z2='{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[{"matchExpressions":[{"key":"zone","operator":"NotIn","values":["z1"]}]}]}}}'
gen --prefix req- --affinity-json "$REQ_Z2" | k create -f - -o name >/dev/null
wait_until 10 bound_to req-0 node-d
check "required affinity zone NotIn z1 avoids node-a/node-b and unschedulable node-c" bound_to req-0 node-d

gen --prefix port1- --host-port 8080 --node-selector disk=ssd | k create -f - -o name >/dev/null
wait_until 10 bound_to port1-0 node-a
check "first hostPort 8080 pod binds" bound_to port1-0 node-a
gen --prefix port2- --host-port 8080 --node-selector disk=ssd | k create -f - -o name >/dev/null
wait_until 10 nonempty cond_msg port2-0
got=$(cond_msg port2-0)
check "second hostPort 8080 pod on the same node is refused: $got" \
  bash -c "[[ \"$got\" == *\"1 node(s) didn't have free ports for the requested pod ports\"* ]]"

gen --prefix gated- --gate example.com/wait | k create -f - -o name >/dev/null
sleep 1.5
check "gated pod is not scheduled" [ -z "$(pod_node gated-0)" ]
check "gated pod keeps the apiserver's SchedulingGated reason" [ "$(cond_reason gated-0)" = SchedulingGated ]
k patch pod gated-0 --type=json -p '[{"op":"remove","path":"/spec/schedulingGates"}]' >/dev/null
wait_until 10 nonempty pod_node gated-0
check "removing the gate lets it schedule" [ -n "$(pod_node gated-0)" ]

gen --prefix unsched- --node-selector kubernetes.io/hostname=node-c | k create -f - -o name >/dev/null
wait_until 10 nonempty cond_msg unsched-0
got=$(cond_msg unsched-0)
check "only-unschedulable-node pod refused: $got" \
  bash -c "[[ \"$got\" == *\"1 node(s) were unschedulable\"* ]]"
