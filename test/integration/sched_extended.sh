#!/usr/bin/env bash
# Any number of extended resources (issue 7, defect 8): nodes with 30 device-plugin resources
# and pods asking for the 30th are scheduled by the same rules as cpu: it goes where the resource
# is, and a pod that does not fit says "Insufficient <name>".
. "$(dirname "$0")/lib.sh"

start_apisim || { notok "apisim starts"; exit 1; }
res=""
for i in $(seq 0 29); do res="$res,\"vendor.io/dev$i\":\"4\""; done
printf '{"apiVersion":"v1","kind":"Node","metadata":{"name":"dev-node"},"status":{"capacity":{"cpu":"8","memory":"16Gi","pods":"110"%s},"conditions":[{"type":"Ready","status":"True"}]}}\n' "$res" >"$WORK/nodes.json"
printf '{"apiVersion":"v1","kind":"Node","metadata":{"name":"plain-node"},"status":{"capacity":{"cpu":"8","memory":"16Gi","pods":"110"},"conditions":[{"type":"Ready","status":"True"}]}}\n' >>"$WORK/nodes.json"
check "a node with 30 extended resources and a plain node" kcreate "$WORK/nodes.json"
start_cosched
devpod() {  # name count
  printf '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"%s","namespace":"default"},"spec":{"schedulerName":"ack-co-scheduler","containers":[{"name":"c","image":"i","resources":{"requests":{"cpu":"100m","vendor.io/dev29":"%s"},"limits":{"vendor.io/dev29":"%s"}}}]}}' "$1" "$2" "$2"
}
devpod dev-a 3 | k create -f - -o name >/dev/null
wait_until 10 nonempty pod_node dev-a
check "a pod asking for the 30th resource goes where it is" equals dev-node pod_node dev-a
devpod dev-b 2 | k create -f - -o name >/dev/null
msg() { k get pod dev-b -o jsonpath='{.status.conditions[?(@.type=="PodScheduled")].message}'; }
wait_until 10 nonempty msg
check "one more that does not fit waits: $(msg)" grep -q "Insufficient vendor.io/dev29" <<<"$(msg)"
k delete pod dev-a --grace-period=0 --force >/dev/null 2>&1
wait_until 10 nonempty pod_node dev-b
check "when the first goes, it binds" equals dev-node pod_node dev-b
stop_cosched
check "cosched exits 0 on SIGTERM" test "${COSCHED_RC:-1}" = 0
exit 0
