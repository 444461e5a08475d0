#!/usr/bin/env bash
# Pods cosched cannot fully read (issue 7, defect 6): a pod bound by another scheduler still
# counts on its node (its requests), so cosched never over-commits that node; a pending pod of
# ours waits with a condition and a FailedScheduling event that name the field, and is never
# placed on a guess.
. "$(dirname "$0")/lib.sh"
# These objects have fields of the wrong JSON type, which only a JSON client can receive: the
# real apiserver refuses them, and a protobuf watch cannot carry them (apisim drops such events
# from protobuf streams with an error; see pkg/apisim/DIVERGENCES.md). So cosched reads JSON here.
COSCHED_FLAGS="${COSCHED_FLAGS:-} --kube-api-content-type application/json"

start_apisim || { notok "apisim starts"; exit 1; }
printf '{"apiVersion":"v1","kind":"Node","metadata":{"name":"n1"},"status":{"capacity":{"cpu":"4","memory":"16Gi","pods":"110"},"conditions":[{"type":"Ready","status":"True"}]}}' >"$WORK/n1.json"
check "node created" kcreate "$WORK/n1.json"
bad_pod() {  # name cpu node-or-empty scheduler
  local node=""
  [ -n "$3" ] && node="\"nodeName\":\"$3\","
  printf '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"%s","namespace":"default"},"spec":{%s"schedulerName":"%s","tolerations":[{"key":"k","operator":"Exists","effect":"NoExecute","tolerationSeconds":"soon"}],"containers":[{"name":"c","image":"i","resources":{"requests":{"cpu":"%s"}}}]}}' "$1" "$node" "$4" "$2"
}
bad_pod foreign 3 n1 other-scheduler | k create -f - -o name >/dev/null
start_cosched
sleep 1
"$PY" "$ROOT/test/integration/genpods.py" --count 1 --prefix mine- --cpu 2 --memory 10Mi | k create -f - -o name >/dev/null
msg() { k get pod "$1" -o jsonpath='{.status.conditions[?(@.type=="PodScheduled")].message}'; }
wait_until 10 nonempty msg mine-0
check "a pod bound by another scheduler that cosched cannot fully read still counts on its node" \
  bash -c "[ -z \"\$(kubectl --kubeconfig '$KCFG' get pod mine-0 -o jsonpath='{.spec.nodeName}')\" ]"
check "so the pod that does not fit says Insufficient cpu ($(msg mine-0))" grep -q "Insufficient cpu" <<<"$(msg mine-0)"
bad_pod ours 1 "" ack-co-scheduler | k create -f - -o name >/dev/null
wait_until 10 nonempty msg ours
check "a pending pod of ours that cannot be read says which field ($(msg ours))" \
  grep -q "tolerationSeconds" <<<"$(msg ours)"
sleep 1
check "and is not placed on a guess" bash -c "[ -z \"\$(kubectl --kubeconfig '$KCFG' get pod ours -o jsonpath='{.spec.nodeName}')\" ]"
check "it gets a FailedScheduling event" bash -c "kubectl --kubeconfig '$KCFG' get events -o jsonpath='{range .items[?(@.involvedObject.name==\"ours\")]}{.reason}{\"\\n\"}{end}' | grep -q FailedScheduling"
nev=$(k get events -o jsonpath='{range .items[?(@.involvedObject.name=="ours")]}{.reason}{"\n"}{end}' | grep -c FailedScheduling)
check "only once, not in a loop over its own status writes ($nev)" test "$nev" -le 2
stop_cosched
check "cosched exits 0 on SIGTERM" test "${COSCHED_RC:-1}" = 0
exit 0
