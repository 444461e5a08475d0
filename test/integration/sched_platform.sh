#!/usr/bin/env bash
# The plugin platform, end to end, through the test-only plugin TestPlatform
# (test/plugins/testplatform, linked into build/asan/cosched-test): a watch on a CRD served by
# apisim, a custom cluster event, per-node plugin state rebuilt from PreBind annotations,
# all-or-nothing pod groups larger than a session batch, evictions through a statement
# (preemption), Unreserve after a failed bind, and per-pod state that stays each pod's own.
# Runs on apisim and (COSCHED_APISERVER=k8s) on the real kube-apiserver. Binds are made to fail
# with apisim's fault injection on apisim, and on the real server with a
# ValidatingAdmissionPolicy that refuses every pods/binding create (evaluated in the apiserver
# itself: no webhook, no controller), deleted again to let binds through.
. "$(dirname "$0")/lib.sh"
COSCHED_BIN=${COSCHED_TEST_BIN:-$ROOT/build/asan/cosched-test}

start_apisim || { notok "apisim starts"; exit 1; }
K8S=0; [ "${COSCHED_APISERVER:-apisim}" = k8s ] && K8S=1
node() {  # name labels-json cpu
  printf '{"apiVersion":"v1","kind":"Node","metadata":{"name":"%s","labels":%s},"status":{"capacity":{"cpu":"%s","memory":"64Gi","pods":"110"},"conditions":[{"type":"Ready","status":"True"}]}}\n' "$1" "$2" "$3"
}
{
  for i in $(seq 0 14); do node "g-$i" '{"pool":"gang"}' 4; done     # 60 cpu: 600 pods of 100m
  node s-0 '{"pool":"slots","test.cosched.io/slots":"2"}' 8
  node p-0 '{"pool":"preempt"}' 2
} >"$WORK/nodes.json"
check "nodes created" kcreate "$WORK/nodes.json"
check "Gate CRD created" k create -f "$ROOT/test/fixtures/gate-crd.yaml" -o name
cat >"$WORK/config.yaml" <<CFG
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
- schedulerName: ack-co-scheduler
  plugins:
    multiPoint:
      enabled: [{name: TestPlatform}]
    postFilter:
      disabled: [{name: DefaultPreemption}]   # TestPlatform asks the engine itself
- schedulerName: second-scheduler
  plugins:
    multiPoint:
      enabled: [{name: TestPlatform}]
CFG
start_cosched --config "$WORK/config.yaml" --batch-size 256
gen() { "$PY" "$ROOT/test/integration/genpods.py" --cpu 100m --memory 10Mi "$@"; }
cond_msg() { k get pod "$1" -o jsonpath='{.status.conditions[?(@.type=="PodScheduled")].message}'; }
count_bound() { k get pods -l "$1" -o jsonpath='{range .items[*]}{.spec.nodeName}{"\n"}{end}' | grep -c .; }
bound_is() { [ "$(count_bound "$1")" = "$2" ]; }

# --- a group of 600 (more than two batches), all or nothing -------------------------------
t0=$(date +%s%N)
gen --count 600 --prefix big- --node-selector pool=gang --label test.cosched.io/group=big \
    --label test.cosched.io/min=600 | k create -f - -o name >/dev/null
wait_until 60 bound_is test.cosched.io/group=big 600
echo "# 600-pod group created and bound in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
check "a 600-pod group (batch size 256) is placed whole" bound_is test.cosched.io/group=big 600

# --- a group that does not fit stays entirely pending, then fits when a node arrives -------
# 15 nodes x 4 cpu = 600 pods of 100m: the cluster is full; a group of 30 with min 30 waits.
gen --count 30 --prefix more- --node-selector pool=gang --label test.cosched.io/group=more \
    --label test.cosched.io/min=30 | k create -f - -o name >/dev/null
wait_until 15 nonempty cond_msg more-0
sleep 1
check "a group that cannot reach its minimum binds no member" bound_is test.cosched.io/group=more 0
check "its pods say why (pod group message)" grep -q "pod group default/more" <<<"$(cond_msg more-0)"
node g-15 '{"pool":"gang"}' 2 >"$WORK/n15.json"; node g-16 '{"pool":"gang"}' 2 >"$WORK/n16.json"
k create -f "$WORK/n15.json" -o name >/dev/null; k create -f "$WORK/n16.json" -o name >/dev/null
wait_until 30 bound_is test.cosched.io/group=more 30
check "after 4 cpu of new nodes the whole group of 30 binds" bound_is test.cosched.io/group=more 30

# --- a group counts members already bound: min 3 with 2 bound, the third binds alone ------
gen --count 2 --prefix part- --node-selector pool=slots --label test.cosched.io/group=part \
    --label test.cosched.io/min=2 | k create -f - -o name >/dev/null
wait_until 15 bound_is test.cosched.io/group=part 2
gen --count 1 --start 2 --prefix part- --node-selector pool=slots \
    --label test.cosched.io/group=part --label test.cosched.io/min=3 | k create -f - -o name >/dev/null
wait_until 15 bound_is test.cosched.io/group=part 3
check "a late member of a group binds when bound members complete its minimum" \
  bound_is test.cosched.io/group=part 3

# --- a CRD watch and a custom event --------------------------------------------------------
gen --count 1 --prefix gated- --node-selector pool=slots --label test.cosched.io/gated=true \
  | k create -f - -o name >/dev/null
wait_until 15 nonempty cond_msg gated-0
check "a gated pod waits with the plugin's reason" grep -q "gate closed" <<<"$(cond_msg gated-0)"
t0=$(date +%s%N)
k create -f - -o name >/dev/null <<<'{"apiVersion":"test.cosched.io/v1","kind":"Gate","metadata":{"name":"open"}}'
wait_until 10 nonempty pod_node gated-0
t1=$(date +%s%N)
check "creating the Gate raises the plugin's event and the pod binds" test -n "$(pod_node gated-0)"
echo "# gated pod bound $(( (t1 - t0) / 1000000 )) ms after the Gate was created"
gate_seen() { k get gate open -o jsonpath='{.status.seenBy}'; }
wait_until 10 equals TestPlatform gate_seen
check "the plugin's API write set the Gate's status (status subresource)" equals TestPlatform gate_seen

# --- per-node plugin state from PreBind annotations ---------------------------------------
gen --count 3 --prefix slot- --node-selector pool=slots --label test.cosched.io/slots=true \
  | k create -f - -o name >/dev/null
wait_until 15 bound_is test.cosched.io/slots=true 2
sleep 1
check "a node with 2 slots takes exactly 2 slot pods" bound_is test.cosched.io/slots=true 2
slots=$(k get pods -l test.cosched.io/slots=true -o jsonpath='{range .items[*]}{.metadata.annotations.test\.cosched\.io/slot}{"\n"}{end}' | grep . | sort | tr '\n' ' ')
check "the bound slot pods hold slots 0 and 1 (written by PreBind)" test "$slots" = "0 1 "
first=$(k get pods -l test.cosched.io/slots=true -o jsonpath='{range .items[?(@.spec.nodeName)]}{.metadata.name}{"\n"}{end}' | head -1)
freed=$(k get pod "$first" -o jsonpath='{.metadata.annotations.test\.cosched\.io/slot}')
k delete pod "$first" --grace-period=0 --force >/dev/null 2>&1
wait_until 15 bound_is test.cosched.io/slots=true 2
last=$(k get pods -l test.cosched.io/slots=true -o jsonpath='{range .items[?(@.spec.nodeName)]}{.metadata.annotations.test\.cosched\.io/slot}{"\n"}{end}' | sort | tr '\n' ' ')
check "the waiting slot pod gets the freed slot $freed, no slot twice" test "$last" = "0 1 "

# --- evictions through a statement (preemption) --------------------------------------------
k create -f - -o name >/dev/null <<<'{"apiVersion":"scheduling.k8s.io/v1","kind":"PriorityClass","metadata":{"name":"high"},"value":1000}'
gen --count 2 --prefix low- --cpu 1 --grace 0 --node-selector pool=preempt \
  | k create -f - -o name >/dev/null
wait_until 15 nonempty pod_node low-1
gen --count 1 --prefix high- --cpu 1 --priority-class high --node-selector pool=preempt \
    --label test.cosched.io/preemptor=true | k create -f - -o name >/dev/null
low_left() { k get pods -o name | grep -c '^pod/low-'; }
wait_until 20 equals 1 low_left
check "the preemptor evicted exactly one lower-priority pod" test "$(low_left)" = 1
wait_until 20 nonempty pod_node high-0
check "the preemptor binds on the node it preempted on" test "$(pod_node high-0)" = p-0
check "the preemptor was nominated first" \
  grep -q "TestPlatform preempting.*high-0" "$WORK/cosched.log"

# --- Unreserve after a failed bind ---------------------------------------------------------
# binds_fail on|off: every bind fails (apisim: a 500 from its fault injection; the real server:
# a ValidatingAdmissionPolicy refuses pods/binding creates, 403) or works again.
binds_fail() {
  if [ "$K8S" = 0 ]; then
    local body='{}'
    [ "$1" = on ] && body='{"bind":{"fraction":1,"code":500}}'
    curl -sf -o /dev/null -X PUT -H 'Content-Type: application/json' "$APISIM_URL/apisim/faults" -d "$body"
    return
  fi
  if [ "$1" = off ]; then
    k delete validatingadmissionpolicybinding refuse-binds >/dev/null
    k delete validatingadmissionpolicy refuse-binds >/dev/null
    wait_until 10 bind_probe_ok
    return
  fi
  k create -f - -o name >/dev/null <<'VAP'
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: refuse-binds}
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
    - {apiGroups: [""], apiVersions: ["v1"], operations: [CREATE], resources: [pods/binding]}
  validations:
  - {expression: "false", message: "binds refused by sched_platform", reason: Forbidden}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: refuse-binds}
spec:
  policyName: refuse-binds
  validationActions: [Deny]
VAP
  # The apiserver loads policies through its own informer: wait until a dry-run bind of a pod
  # no scheduler owns is refused.
  wait_until 10 bind_probe_refused
}
bind_probe() {  # the HTTP code of a dry-run Binding of probe-0 to s-0
  curl -sk -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer cosched-admin-token" \
    -H 'Content-Type: application/json' "$K8S_URL/api/v1/namespaces/default/pods/probe-0/binding?dryRun=All" \
    -d '{"apiVersion":"v1","kind":"Binding","metadata":{"name":"probe-0"},"target":{"kind":"Node","name":"s-0"}}'
}
bind_probe_refused() { [ "$(bind_probe)" = 403 ]; }
bind_probe_ok() { [ "$(bind_probe)" = 201 ]; }
[ "$K8S" = 1 ] && gen --count 1 --prefix probe- --scheduler nobody | k create -f - -o name >/dev/null
binds_fail on
[ "$K8S" = 1 ] && check "the real server refuses binds while the policy is in force" bind_probe_refused
gen --count 1 --prefix unres- --node-selector pool=slots --scheduler second-scheduler \
  | k create -f - -o name >/dev/null
wait_until 15 grep -q 'TestPlatform unreserve.*unres-0' "$WORK/cosched.log"
check "a failed bind runs Unreserve for the pod" grep -q 'TestPlatform unreserve.*unres-0' "$WORK/cosched.log"
binds_fail off
wait_until 20 nonempty pod_node unres-0
check "once binds work again the pod binds" test -n "$(pod_node unres-0)"

check "per-pod state always belonged to its own pod" \
  bash -c "! grep -q 'per-pod state is not this pod' '$WORK/cosched.log'"
check "no slot was handed out twice" bash -c "! grep -q 'slot handed out twice' '$WORK/cosched.log'"
stop_cosched
check "cosched exits 0 on SIGTERM" test "${COSCHED_RC:-1}" = 0
check "one shared state served both profiles" grep -q 'TestPlatform totals' "$WORK/cosched.log"
exit 0
