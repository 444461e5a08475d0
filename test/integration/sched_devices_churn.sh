#!/usr/bin/env bash
# Churn over 200 nodes (issue 12): 2000 cpuset pods and 2000 shared-GPU pods created and deleted
# in random order while 10 % of binds (which carry the PreBind annotations) are refused (409), with cosched
# restarted half way. Afterwards no CPU is held twice and no GPU is over-committed, and the
# scheduler's view equals what the live pods' annotations say, exactly: as many 1-CPU and 1-GiB
# pods as the annotations leave free all bind, and one more of each does not (a leaked or a
# forgotten allocation would make one of the two fail). apisim only (fault injection).
. "$(dirname "$0")/lib.sh"

start_apisim --fault-bind 0.1:409 || { notok "apisim starts"; exit 1; }
k apply -f "$ROOT/manifests/crds/topology.node.k8s.io_noderesourcetopologies.yaml" -o name >/dev/null
wait_until 15 k get noderesourcetopologies
"$PY" "$ROOT/test/integration/gennodes.py" --count 200 --prefix dev- --sockets 1 --numa 2 --cores 4 \
  --cpu 64 --memory 256Gi --pods 500 --gpus 2 --gpu-mem 8 | kcreate /dev/stdin
write_config "$WORK/config.yaml" CpusetScheduling GPUShare
start_cosched --config "$WORK/config.yaml"

state() {
  k get pods -A -o json >"$WORK/pods.json"; k get nodes -o json >"$WORK/nodes.json"
  k get noderesourcetopologies -o json >"$WORK/topo.json"
  "$PY" "$ROOT/test/integration/devcheck.py" "$WORK/pods.json" "$WORK/nodes.json" "$WORK/topo.json"
}
fields() { state | "$PY" -c 'import json,sys; d=json.load(sys.stdin); print(*(d[k] for k in sys.argv[1:]))' "$@"; }
pending() { k get pods -o jsonpath='{range .items[*]}{.spec.nodeName}{"|"}{.metadata.deletionTimestamp}{"\n"}{end}' | grep -c '^|$'; }

# a round (test/integration/churn.py): 100 cpuset pods (limits 1..4 CPUs, request 100m) and
# 100 GPU pods (1..8 GiB) in random order, then 30 % of all live pods deleted at random (bound or
# not); straight HTTP to apisim, 8 requests at a time (kubectl would take a minute per round)
round() { "$PY" "$ROOT/test/integration/churn.py" "$APISIM_URL" "$1" >>"$WORK/churn.log" || notok "churn round $1"; sleep 0.3; }
for r in $(seq 1 20); do
  round "$r"
  if [ "$r" = 10 ]; then stop_cosched; fi
  if [ "$r" = 11 ]; then start_cosched --config "$WORK/config.yaml"; fi
done
wait_until 120 equals 0 pending
check "after 4000 pods of churn with PATCH faults and a restart, every live pod is bound" equals 0 pending
check "no CPU held twice, no cpuset of the wrong size or missing, no GPU over-committed or allocation missing" \
  equals "0 0 0 0 0" fields cpuset_overlap cpuset_wrong cpuset_missing gpu_overcommit gpu_missing
read -r cpu_free gpu_free cs_bound gp_bound < <(fields cpu_free gpu_free cpuset_bound gpu_bound)
echo "# live: $cs_bound cpuset pods, $gp_bound GPU pods; free by the annotations: $cpu_free CPUs, $gpu_free GiB"
faults=$(grep -c '"Binding failed"' "$WORK/cosched.log" || true)
check "binds (which carry PreBind's annotations) were refused and the pods requeued ($faults \"Binding failed\" lines)" test "$faults" -gt 0

"$PY" "$ROOT/test/integration/churn.py" "$APISIM_URL" fill "$cpu_free" "$gpu_free" fill >>"$WORK/churn.log"
wait_until 180 equals 0 pending
check "exactly the $cpu_free free CPUs and $gpu_free free GiB are taken by 1-CPU and 1-GiB pods" \
  equals "0 0 0 0" fields cpu_free gpu_free cpuset_overlap gpu_overcommit
"$PY" "$ROOT/test/integration/churn.py" "$APISIM_URL" fill 1 1 more >>"$WORK/churn.log"
sleep 3
check "... and one more of each stays pending" equals 2 pending
echo "# at the end: $(state)"
k get pods -o jsonpath='{range .items[?(@.spec.nodeName=="")]}{.metadata.name}{": "}{.status.conditions[?(@.type=="PodScheduled")].message}{"\n"}{end}' 2>/dev/null |
  grep . | head -5 | sed 's/^/# pending /'
k get pods -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.spec.nodeName}{"\n"}{end}' | awk '$2==""' | head -5 | sed 's/^/# pending /' 
grep -q "AddressSanitizer\|runtime error" "$WORK/cosched.log" && notok "no sanitizer reports in cosched's log" || ok "no sanitizer reports in cosched's log"
exit "$FAILS"
