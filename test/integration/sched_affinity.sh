#!/usr/bin/env bash
# InterPodAffinity on apisim and on the real kube-apiserver: six nodes in three zones, cosched
# with a profile that enables the plugin (the shipped default profile does not yet). Placements
# are checked over `kubectl get pods -o json` by affinitycheck.py: required anti-affinity one
# pod per hostname (the pod past the last host stays pending and says why, word for word as
# kube-scheduler), required and preferred zone affinity to an existing pod, a group's first pod
# matching its own affinity, namespaceSelector and namespaces
# in affinity and anti-affinity terms, and a pod whose affinity no pod satisfies.
. "$(dirname "$0")/lib.sh"

ZONE=topology.kubernetes.io/zone
start_apisim || { notok "apisim starts"; exit 1; }
for z in a b c; do
  "$PY" "$ROOT/test/integration/gennodes.py" --count 2 --prefix "$z-" --cpu 8 --memory 32Gi \
    --label "$ZONE=$z" | kcreate /dev/stdin
done
write_config "$WORK/config.yaml" InterPodAffinity
start_cosched --config "$WORK/config.yaml"

gen() { "$PY" "$ROOT/test/integration/genpods.py" --cpu 100m --memory 64Mi "$@"; }
term() {  # app topologyKey [extra term fields]
  printf '{"labelSelector":{"matchLabels":{"app":"%s"}},"topologyKey":"%s"%s}' "$1" "$2" "${3:-}"
}
required() {  # podAffinity|podAntiAffinity term
  printf '{"%s":{"requiredDuringSchedulingIgnoredDuringExecution":[%s]}}' "$1" "$2"
}
placed() {  # selector key [namespace|*] [--max-per-domain]
  k get pods -A -o json >"$WORK/pods.json" && k get nodes -o json >"$WORK/nodes.json" &&
    "$PY" "$ROOT/test/integration/affinitycheck.py" "$WORK/pods.json" "$WORK/nodes.json" \
      --selector "$1" --key "$2" --namespace "${3:-default}" ${4:+"$4"}
}
cond() {  # pod [namespace]: reason|message of PodScheduled
  k get pod "$1" -n "${2:-default}" \
    -o jsonpath='{.status.conditions[?(@.type=="PodScheduled")].reason}|{.status.conditions[?(@.type=="PodScheduled")].message}'
}
pending_one() {  # selector: the name of the pod without a node
  k get pods -l "$1" -o json | "$PY" -c '
import json, sys
print(" ".join(p["metadata"]["name"] for p in json.load(sys.stdin)["items"] if not p["spec"].get("nodeName")))'
}

# 1. anti-affinity, one per hostname: seven replicas created at once for six nodes
gen --count 7 --prefix solo- --label app=solo \
  --affinity-json "$(required podAntiAffinity "$(term solo kubernetes.io/hostname)")" | kcreate /dev/stdin
wait_until 30 equals "max=1 bound=6 pending=1" placed app=solo kubernetes.io/hostname default --max-per-domain
check "anti-affinity per hostname: 6 of 7 replicas bound, no two on one node ($(placed app=solo kubernetes.io/hostname default --max-per-domain))" \
  equals "max=1 bound=6 pending=1" placed app=solo kubernetes.io/hostname default --max-per-domain
left=$(pending_one app=solo)
wait_until 20 nonempty cond "$left"
want="Unschedulable|0/6 nodes are available: 6 node(s) didn't match pod anti-affinity rules. preemption: 0/6 nodes are available: 6 No preemption victims found for incoming pod."
check "the seventh ($left) says why, in kube-scheduler's words: $(cond "$left")" equals "$want" cond "$left"

# 2. required zone affinity to an existing pod: a cache pod pinned to b-1, four clients follow it
gen --count 1 --prefix cache- --label app=cache --node-selector kubernetes.io/hostname=b-1 | kcreate /dev/stdin
wait_until 20 equals "b=1 pending=0" placed app=cache "$ZONE"
gen --count 4 --prefix cli- --label app=cli \
  --affinity-json "$(required podAffinity "$(term cache "$ZONE")")" | kcreate /dev/stdin
wait_until 30 equals "b=4 pending=0" placed app=cli "$ZONE"
check "required zone affinity: 4 clients in the cache pod's zone b ($(placed app=cli "$ZONE"))" \
  equals "b=4 pending=0" placed app=cli "$ZONE"

# preferred zone affinity (weight 100) to the same cache pod: scoring sends them to zone b too
gen --count 3 --prefix pref- --label app=pref \
  --affinity-json '{"podAffinity":{"preferredDuringSchedulingIgnoredDuringExecution":[{"weight":100,"podAffinityTerm":'"$(term cache "$ZONE")"'}]}}' |
  kcreate /dev/stdin
wait_until 30 equals "b=3 pending=0" placed app=pref "$ZONE"
check "preferred zone affinity: 3 pods scored into the cache pod's zone b ($(placed app=pref "$ZONE"))" \
  equals "b=3 pending=0" placed app=pref "$ZONE"

# the first pod of a group that selects itself may start anywhere; the rest follow it
gen --count 1 --prefix grp- --label app=grp \
  --affinity-json "$(required podAffinity "$(term grp "$ZONE")")" | kcreate /dev/stdin
wait_until 20 nonempty pod_node grp-0
z0=$(k get node "$(pod_node grp-0)" -o jsonpath="{.metadata.labels.topology\.kubernetes\.io/zone}")
gen --count 3 --start 1 --prefix grp- --label app=grp \
  --affinity-json "$(required podAffinity "$(term grp "$ZONE")")" | kcreate /dev/stdin
wait_until 30 equals "$z0=4 pending=0" placed app=grp "$ZONE"
check "self-affinity: the first pod starts the group in zone $z0, three more join it ($(placed app=grp "$ZONE"))" \
  equals "$z0=4 pending=0" placed app=grp "$ZONE"

# 3. namespaces: db pods of team-a in zone c, of team-b in zone a
for t in a b; do
  k create namespace "team-$t" -o name >/dev/null
  k label namespace "team-$t" "team=$t" >/dev/null
done
gen --count 1 --prefix db- --namespace team-a --label app=db --node-selector "$ZONE=c" | kcreate /dev/stdin
gen --count 1 --prefix db- --namespace team-b --label app=db --node-selector "$ZONE=a" | kcreate /dev/stdin
wait_until 20 equals "a=1 c=1 pending=0" placed app=db "$ZONE" '*'
gen --count 2 --prefix nsa- --label app=nsa \
  --affinity-json "$(required podAffinity "$(term db "$ZONE" ',"namespaceSelector":{"matchLabels":{"team":"a"}}')")" |
  kcreate /dev/stdin
wait_until 30 equals "c=2 pending=0" placed app=nsa "$ZONE"
check "namespaceSelector team=a: with team-a's db pod in zone c ($(placed app=nsa "$ZONE"))" \
  equals "c=2 pending=0" placed app=nsa "$ZONE"
gen --count 2 --prefix nsb- --label app=nsb \
  --affinity-json "$(required podAffinity "$(term db "$ZONE" ',"namespaces":["team-b"]')")" | kcreate /dev/stdin
wait_until 30 equals "a=2 pending=0" placed app=nsb "$ZONE"
check "namespaces [team-b]: with team-b's db pod in zone a ($(placed app=nsb "$ZONE"))" \
  equals "a=2 pending=0" placed app=nsb "$ZONE"
gen --count 2 --prefix nsall- --label app=nsall \
  --affinity-json "$(required podAntiAffinity "$(term db "$ZONE" ',"namespaceSelector":{}')")" | kcreate /dev/stdin
wait_until 30 equals "b=2 pending=0" placed app=nsall "$ZONE"
check "anti-affinity with namespaceSelector {} avoids both db pods' zones ($(placed app=nsall "$ZONE"))" \
  equals "b=2 pending=0" placed app=nsall "$ZONE"
gen --count 1 --prefix nsnone- --label app=nsnone \
  --affinity-json "$(required podAntiAffinity "$(term db "$ZONE")")" | kcreate /dev/stdin
wait_until 20 nonempty pod_node nsnone-0
check "without namespaces a term selects its own namespace only: default has no db pod (on $(pod_node nsnone-0))" \
  nonempty pod_node nsnone-0

# an existing pod's anti-affinity with a namespaceSelector keeps team-a's pods out of its zone
gen --count 1 --prefix guard- --label app=guard --node-selector "$ZONE=c" \
  --affinity-json "$(required podAntiAffinity "$(term tenant "$ZONE" ',"namespaceSelector":{"matchLabels":{"team":"a"}}')")" |
  kcreate /dev/stdin
wait_until 20 nonempty pod_node guard-0
gen --count 3 --prefix ten- --namespace team-a --label app=tenant | kcreate /dev/stdin
gen --count 3 --prefix ten- --namespace team-b --label app=tenant --node-selector "$ZONE=c" | kcreate /dev/stdin
tenants_out_of_c() { local s; s=$(placed app=tenant "$ZONE" team-a); [[ $s == *pending=0 && $s != *c=* ]]; }
wait_until 30 tenants_out_of_c
check "an existing pod's anti-affinity (namespaceSelector team=a) keeps team-a's pods out of zone c ($(placed app=tenant "$ZONE" team-a))" \
  tenants_out_of_c
wait_until 30 equals "c=3 pending=0" placed app=tenant "$ZONE" team-b
check "... and lets team-b's pods in ($(placed app=tenant "$ZONE" team-b))" \
  equals "c=3 pending=0" placed app=tenant "$ZONE" team-b

# 4. affinity no pod satisfies (and the pod does not match itself): unresolvable everywhere
gen --count 1 --prefix lonely- --label app=lonely \
  --affinity-json "$(required podAffinity "$(term nobody "$ZONE")")" | kcreate /dev/stdin
wait_until 20 nonempty cond lonely-0
want="Unschedulable|0/6 nodes are available: 6 node(s) didn't match pod affinity rules. preemption: 0/6 nodes are available: 6 Preemption is not helpful for scheduling."
check "affinity to no pod: pending, in kube-scheduler's words: $(cond lonely-0)" equals "$want" cond lonely-0
# a matching pod appears: the pending one follows it (pod add wakes it)
gen --count 1 --prefix nobody- --label app=nobody --node-selector kubernetes.io/hostname=c-0 | kcreate /dev/stdin
wait_until 30 equals "c=1 pending=0" placed app=lonely "$ZONE"
check "a pod it selects appears in zone c: it follows ($(placed app=lonely "$ZONE"))" \
  equals "c=1 pending=0" placed app=lonely "$ZONE"

# deleting one replica lets the pending anti-affinity replica in (pod delete wakes it)
victim=$(k get pods -l app=solo -o jsonpath='{.items[?(@.spec.nodeName=="a-0")].metadata.name}')
k delete pod "$victim" --grace-period=0 --force >/dev/null 2>&1
wait_until 30 equals a-0 pod_node "$left"
check "a replica deleted from a-0: the pending one ($left) takes its place (on $(pod_node "$left"))" \
  equals a-0 pod_node "$left"

grep -q "AddressSanitizer\|runtime error" "$WORK/cosched.log" && notok "no sanitizer reports in cosched's log" || ok "no sanitizer reports in cosched's log"
exit "$FAILS"
