#!/usr/bin/env bash
# Differential tests against kube-scheduler v1.37.2 on the real control plane (issue 8). Both
# schedulers run kube-scheduler's default plugins (kube-scheduler with schedulerName
# default-scheduler, cosched with ack-co-scheduler). Skipped when the peers are not built.
#
#   unschedulable pods: the same pod for each; the PodScheduled condition's reason and message
#     must be identical;
#   placement: two identical node pools, one per scheduler ("ks" and "cs", the pod selects its
#     pool), each scenario in its own pools; where scores decide and there are no ties, both
#     must choose the same node (compared by the name without the pool prefix).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_k8s.sh"
if ! k8s_available || [ ! -x "$K8S_BIN/kube-scheduler" ]; then
  echo "# skip: build/k8s has no control plane (make k8s-peers builds it)"
  exit 0
fi
start_k8s || { notok "the real control plane starts"; exit 1; }
node() {  # name cpu memory spec-json labels-json-extra status-extra
  printf '{"apiVersion":"v1","kind":"Node","metadata":{"name":"%s","labels":{"kubernetes.io/hostname":"%s"%s}},"spec":{%s},"status":{"capacity":{"cpu":"%s","memory":"%s","pods":"110"},"allocatable":{"cpu":"%s","memory":"%s","pods":"110"},"conditions":[{"type":"Ready","status":"True"}]%s}}\n' \
    "$1" "$1" "${5:-}" "${4:-}" "$2" "$3" "$2" "$3" "${6:-}"
}
{
  node d-a 4 16Gi "" ',"zone":"a"'
  node d-b 4 16Gi '"taints":[{"key":"dedicated","value":"gpu","effect":"NoSchedule"}]' ',"zone":"b"'
  node d-c 4 16Gi '"unschedulable":true' ',"zone":"c"'
  node d-p 4 16Gi "" ',"zone":"p","cores":"8"'
  printf '{"apiVersion":"v1","kind":"Node","metadata":{"name":"d-full","labels":{"kubernetes.io/hostname":"d-full","zone":"full"}},"status":{"capacity":{"cpu":"4","memory":"16Gi","pods":"1"},"allocatable":{"cpu":"4","memory":"16Gi","pods":"1"},"conditions":[{"type":"Ready","status":"True"}]}}\n'
  # mirrored pools for placement scenarios: <sched>-<scenario>-<n>
  for s in ks cs; do
    node "$s-least-1" 8 32Gi "" ",\"pool\":\"$s-least\""
    node "$s-least-2" 8 32Gi "" ",\"pool\":\"$s-least\""
    node "$s-pref-1" 8 32Gi "" ",\"pool\":\"$s-pref\",\"disk\":\"hdd\""
    node "$s-pref-2" 8 32Gi "" ",\"pool\":\"$s-pref\",\"disk\":\"ssd\""
    node "$s-taint-1" 8 32Gi '"taints":[{"key":"spot","value":"true","effect":"PreferNoSchedule"}]' ",\"pool\":\"$s-taint\""
    node "$s-taint-2" 8 32Gi "" ",\"pool\":\"$s-taint\""
    node "$s-image-1" 8 32Gi "" ",\"pool\":\"$s-image\""
    node "$s-image-2" 8 32Gi "" ",\"pool\":\"$s-image\"" ',"images":[{"names":["registry.example/trainer:1"],"sizeBytes":900000000}]'
    node "$s-pref2-1" 8 32Gi "" ",\"pool\":\"$s-pref2\",\"rack\":\"r1\",\"disk\":\"ssd\""
    node "$s-pref2-2" 8 32Gi "" ",\"pool\":\"$s-pref2\",\"rack\":\"r2\",\"disk\":\"hdd\""
    node "$s-balance-1" 8 32Gi "" ",\"pool\":\"$s-balance\""
    node "$s-balance-2" 8 32Gi "" ",\"pool\":\"$s-balance\""
    node "$s-aff-1" 8 32Gi "" ",\"pool\":\"$s-aff\""
    node "$s-aff-2" 8 32Gi "" ",\"pool\":\"$s-aff\""
    node "$s-spread-1" 8 32Gi "" ",\"pool\":\"$s-spread\",\"zone\":\"sa\""
    node "$s-spread-2" 8 32Gi "" ",\"pool\":\"$s-spread\",\"zone\":\"sb\""
  done
} >"$WORK/nodes.json"
check "nodes created" kcreate "$WORK/nodes.json"
printf 'apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nleaderElection: {leaderElect: false}\nclientConnection: {kubeconfig: %s}\npercentageOfNodesToScore: 100\n' "$KCFG" >"$WORK/ks.yaml"
"$K8S_BIN/kube-scheduler" --config "$WORK/ks.yaml" --secure-port 0 -v=0 >"$WORK/kube-scheduler.log" 2>&1 &
KS_PID=$!
start_cosched
gen() { "$PY" "$ROOT/test/integration/genpods.py" --memory 64Mi "$@"; }
# existing load, bound directly (no scheduler involved), identical in both pools
labelled() {  # name node k=v: a small bound pod with one label (spread scenarios count them)
  printf '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"%s","namespace":"default","labels":{"%s":"%s"}},"spec":{"nodeName":"%s","containers":[{"name":"c","image":"i","resources":{"requests":{"cpu":"10m","memory":"16Mi"}}}]}}\n' "$1" "${3%%=*}" "${3#*=}" "$2"
}
bound() {  # name node cpu memory
  printf '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"%s","namespace":"default"},"spec":{"nodeName":"%s","containers":[{"name":"c","image":"i","resources":{"requests":{"cpu":"%s","memory":"%s"}}}]}}\n' "$1" "$2" "$3" "$4"
}
{
  bound fill-a d-a 3 1Gi
  bound full-one d-full 100m 64Mi
  printf '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"port-a","namespace":"default"},"spec":{"nodeName":"d-a","containers":[{"name":"c","image":"i","ports":[{"containerPort":80,"hostPort":8080}]}]}}\n'
  for s in ks cs; do
    bound "$s-least-load" "$s-least-1" 4 2Gi
    bound "$s-balance-load" "$s-balance-1" 4 1Gi
    bound "$s-balance-load2" "$s-balance-2" 1 12Gi
    labelled "$s-spread-load" "$s-spread-1" app=sp3
    labelled "$s-aff-load" "$s-aff-2" app=magnet
  done
  # a running pod that keeps others of its kind off its node (existing pods' anti-affinity)
  printf '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"shy-p","namespace":"default","labels":{"app":"shy"}},"spec":{"nodeName":"d-p","affinity":{"podAntiAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":[{"labelSelector":{"matchLabels":{"app":"shy"}},"topologyKey":"kubernetes.io/hostname"}]}},"containers":[{"name":"c","image":"i","resources":{"requests":{"cpu":"10m"}}}]}}\n'
  labelled sp-a d-a app=sp
  labelled sp-p d-p app=sp
} | k create -f - -o name >/dev/null

msg() { k get pod "$1" -o jsonpath='{.status.conditions[?(@.type=="PodScheduled")].reason}|{.status.conditions[?(@.type=="PodScheduled")].message}'; }
unsched() {  # name genpods-args...
  local name=$1; shift
  gen --count 1 --prefix "ks-$name-" --scheduler default-scheduler "$@" | k create -f - -o name >/dev/null
  gen --count 1 --prefix "cs-$name-" --scheduler ack-co-scheduler "$@" | k create -f - -o name >/dev/null
  UNSCHED="$UNSCHED $name"
}
UNSCHED=""
unsched toobig --cpu 9
unsched nofit --cpu 2 --node-selector zone=a
unsched selector --cpu 100m --node-selector zone=z
unsched tainted --cpu 100m --node-selector zone=b
unsched cordoned --cpu 100m --node-selector zone=c
unsched memory --cpu 100m --memory 20Gi --node-selector zone=a
unsched tolerated-but-full --cpu 5 --toleration dedicated=gpu:NoSchedule --node-selector zone=b
unsched nodename-like --cpu 100m --node-selector kubernetes.io/hostname=d-zz
unsched affinity --cpu 100m \
  --affinity-json '{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[{"matchExpressions":[{"key":"zone","operator":"In","values":["x","y"]}]}]}}}'
unsched host-port --cpu 100m --host-port 8080 --node-selector zone=a
A='{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":['
unsched gt-nonint --cpu 100m --affinity-json "$A"'{"matchExpressions":[{"key":"zone","operator":"Gt","values":["5"]}]}]}}}'
unsched gt-int --cpu 100m --affinity-json "$A"'{"matchExpressions":[{"key":"cores","operator":"Gt","values":["16"]}]}]}}}'
unsched match-fields --cpu 100m --affinity-json "$A"'{"matchFields":[{"key":"metadata.name","operator":"In","values":["d-zz"]}]}]}}}'
unsched match-fields-some --cpu 5 --affinity-json "$A"'{"matchFields":[{"key":"metadata.name","operator":"In","values":["d-a"]}]},{"matchFields":[{"key":"metadata.name","operator":"In","values":["d-b"]}]}]}}}'
unsched too-many-pods --cpu 100m --node-selector zone=full
unsched exists-missing --cpu 100m --affinity-json "$A"'{"matchExpressions":[{"key":"gpu","operator":"Exists"}]}]}}}'
unsched notin-exists --cpu 100m --affinity-json "$A"'{"matchExpressions":[{"key":"zone","operator":"Exists"},{"key":"zone","operator":"NotIn","values":["a","b","c","p","full","sa","sb"]}]}]}}}'
unsched or-terms --cpu 100m --affinity-json "$A"'{"matchExpressions":[{"key":"zone","operator":"In","values":["q"]}]},{"matchExpressions":[{"key":"disk","operator":"Exists"},{"key":"zone","operator":"In","values":["a"]}]}]}}}'
# PodTopologySpread: minDomains above the zones there are (global minimum 0), and
# nodeAffinityPolicy Ignore (zones outside the pod's selector count with 0)
SP='[{"maxSkew":1,"topologyKey":"zone","whenUnsatisfiable":"DoNotSchedule","labelSelector":{"matchLabels":{"app":"sp"}}'
unsched spread-min-domains --cpu 100m --label app=sp --affinity-json "$A"'{"matchExpressions":[{"key":"zone","operator":"In","values":["a","p"]}]}]}}}' \
  --spread-json "$SP"',"minDomains":10}]'
unsched spread-affinity-ignore --cpu 100m --label app=sp --node-selector zone=a --spread-json "$SP"',"nodeAffinityPolicy":"Ignore"}]'
unsched spread-taints-honor --cpu 100m --label app=sp --node-selector zone=p --spread-json "$SP"',"nodeTaintsPolicy":"Honor","minDomains":3}]'
# InterPodAffinity: affinity to a pod that does not exist, the pod's own anti-affinity, and an
# existing pod's anti-affinity
unsched affinity-ghost --cpu 100m --affinity-json '{"podAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":[{"labelSelector":{"matchLabels":{"app":"ghost"}},"topologyKey":"kubernetes.io/hostname"}]}}'
unsched anti-own --cpu 100m --affinity-json '{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[{"matchExpressions":[{"key":"zone","operator":"In","values":["a","p"]}]}]}},"podAntiAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":[{"labelSelector":{"matchLabels":{"app":"sp"}},"topologyKey":"zone"}]}}'
unsched anti-existing --cpu 100m --label app=shy --node-selector zone=p
# raw pods for what genpods cannot say
rawpod() {  # name-suffix spec-json
  local s
  for s in ks:default-scheduler cs:ack-co-scheduler; do
    printf '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"%s-%s-0","namespace":"default"},"spec":{"schedulerName":"%s",%s}}\n' \
      "${s%%:*}" "$1" "${s#*:}" "$2"
  done | k create -f - -o name >/dev/null
  UNSCHED="$UNSCHED $1"
}
rawpod init-big '"nodeSelector":{"zone":"p"},"initContainers":[{"name":"i","image":"i","resources":{"requests":{"cpu":"6"}}}],"containers":[{"name":"c","image":"i","resources":{"requests":{"cpu":"100m"}}}]'
rawpod sidecar-stack '"nodeSelector":{"zone":"p"},"initContainers":[{"name":"s","image":"i","restartPolicy":"Always","resources":{"requests":{"cpu":"2"}}}],"containers":[{"name":"c","image":"i","resources":{"requests":{"cpu":"2500m"}}}]'
rawpod extended '"nodeSelector":{"zone":"p"},"containers":[{"name":"c","image":"i","resources":{"requests":{"example.com/gpu":"1"},"limits":{"example.com/gpu":"1"}}}]'
rawpod ephemeral '"nodeSelector":{"zone":"p"},"containers":[{"name":"c","image":"i","resources":{"requests":{"ephemeral-storage":"1Ti"}}}]'
k create -f - -o name >/dev/null <<<'{"apiVersion":"scheduling.k8s.io/v1","kind":"PriorityClass","metadata":{"name":"no-preempt"},"value":1000,"preemptionPolicy":"Never"}'
rawpod never-preempt '"priorityClassName":"no-preempt","nodeSelector":{"zone":"p"},"containers":[{"name":"c","image":"i","resources":{"requests":{"cpu":"5"}}}]'
for s in $UNSCHED; do
  wait_until 20 nonempty msg "ks-$s-0"
  wait_until 20 nonempty msg "cs-$s-0"
  ks=$(msg "ks-$s-0"); cs=$(msg "cs-$s-0")
  echo "# $s: kube-scheduler: $ks"
  check "unschedulable/$s: cosched's PodScheduled reason and message equal kube-scheduler's (cosched: $cs)" \
    bash -c "[[ '${ks//\'/}' == Unschedulable\|* ]] && [ '${ks//\'/}' = '${cs//\'/}' ]"
done

place() {  # scenario genpods-args...
  local sc=$1; shift
  gen --count 1 --prefix "p-ks-$sc-" --scheduler default-scheduler --node-selector "pool=ks-$sc" "$@" \
    | k create -f - -o name >/dev/null
  gen --count 1 --prefix "p-cs-$sc-" --scheduler ack-co-scheduler --node-selector "pool=cs-$sc" "$@" \
    | k create -f - -o name >/dev/null
  PLACE="$PLACE $sc"
}
PLACE=""
place least --cpu 1                                           # LeastAllocated: -2 is empty
place pref --cpu 1 --affinity-json '{"nodeAffinity":{"preferredDuringSchedulingIgnoredDuringExecution":[{"weight":50,"preference":{"matchExpressions":[{"key":"disk","operator":"In","values":["ssd"]}]}}]}}'
place taint --cpu 1                                           # TaintToleration: avoid PreferNoSchedule
place balance --cpu 1 --memory 1Gi                            # BalancedAllocation + LeastAllocated
# ImageLocality: the node that has the pod's image (genpods' image is the pause image; a raw pod here)
for s in ks:default-scheduler cs:ack-co-scheduler; do
  printf '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p-%s-image-0","namespace":"default"},"spec":{"schedulerName":"%s","nodeSelector":{"pool":"%s-image"},"containers":[{"name":"c","image":"registry.example/trainer:1","resources":{"requests":{"cpu":"1"}}}]}}\n' \
    "${s%%:*}" "${s#*:}" "${s%%:*}"
done | k create -f - -o name >/dev/null
PLACE="$PLACE image"
# InterPodAffinity preferred: next to the magnet pod
place aff --cpu 1 --affinity-json '{"podAffinity":{"preferredDuringSchedulingIgnoredDuringExecution":[{"weight":100,"podAffinityTerm":{"labelSelector":{"matchLabels":{"app":"magnet"}},"topologyKey":"kubernetes.io/hostname"}}]}}'
# PodTopologySpread ScheduleAnyway: the zone without a matching pod
place spread --cpu 1 --label app=sp3 --spread-json '[{"maxSkew":1,"topologyKey":"zone","whenUnsatisfiable":"ScheduleAnyway","labelSelector":{"matchLabels":{"app":"sp3"}}}]'
place pref2 --cpu 1 --affinity-json '{"nodeAffinity":{"preferredDuringSchedulingIgnoredDuringExecution":[{"weight":10,"preference":{"matchExpressions":[{"key":"disk","operator":"In","values":["ssd"]}]}},{"weight":60,"preference":{"matchExpressions":[{"key":"rack","operator":"In","values":["r2"]}]}}]}}'
for sc in $PLACE; do
  wait_until 20 nonempty pod_node "p-ks-$sc-0"
  wait_until 20 nonempty pod_node "p-cs-$sc-0"
  kn=$(pod_node "p-ks-$sc-0"); cn=$(pod_node "p-cs-$sc-0")
  echo "# placement/$sc: kube-scheduler chose $kn, cosched $cn"
  check "placement/$sc: the same node as kube-scheduler (${kn#ks-} vs ${cn#cs-})" test "${kn#ks-}" = "${cn#cs-}"
done
# placement on shared nodes with ample room (one node qualifies): tolerations open them
for s in ks:default-scheduler cs:ack-co-scheduler; do
  gen --count 1 --prefix "q-${s%%:*}-cordon-" --scheduler "${s#*:}" --cpu 100m --node-selector zone=c \
    --toleration node.kubernetes.io/unschedulable:NoSchedule | k create -f - -o name >/dev/null
  gen --count 1 --prefix "q-${s%%:*}-taint-" --scheduler "${s#*:}" --cpu 100m --node-selector zone=b \
    --toleration dedicated=gpu:NoSchedule | k create -f - -o name >/dev/null
done
for sc in cordon taint; do
  wait_until 20 nonempty pod_node "q-ks-$sc-0"
  wait_until 20 nonempty pod_node "q-cs-$sc-0"
  check "placement/tolerated-$sc: both bind to the node the toleration opens ($(pod_node "q-ks-$sc-0") vs $(pod_node "q-cs-$sc-0"))" \
    equals "$(pod_node "q-ks-$sc-0")" pod_node "q-cs-$sc-0"
done
kill "$KS_PID" 2>/dev/null; wait "$KS_PID" 2>/dev/null
stop_cosched
exit 0
