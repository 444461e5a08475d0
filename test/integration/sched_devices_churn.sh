#!/usr/bin/env bash
# Churn over 200 nodes (issue 12): 2000 cpuset pods and 2000 shared-GPU pods created and deleted
# in random order while 10 % of PATCHes (the PreBind writes among them) are refused (409 Conflict), with cosched
# restarted half way. Afterwards no CPU is held twice and no GPU is over-committed, and the
# scheduler's view equals what the live pods' annotations say, exactly: as many 1-CPU and 1-GiB
# pods as the annotations leave free all bind, and one more of each does not (a leaked or a
# forgotten allocation would make one of the two fail). apisim only (fault injection).
. "$(dirname "$0")/lib.sh"

start_apisim --fault-patch 0.1:409 || { notok "apisim starts"; exit 1; }
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

# one round: 100 cpuset pods (limits 1..4 CPUs, request 100m) and 100 GPU pods (1..8 GiB) in
# random order, then 30 % of all live pods deleted at random (bound or not)
round() {
  "$PY" - "$1" <<'PY' | kcreate /dev/stdin
import json, random, sys
r = int(sys.argv[1]); random.seed(r)
items = []
for i in range(100):
    for kind in ("cs", "gp"):
        if kind == "cs":
            res = {"requests": {"cpu": "100m", "memory": "10Mi"},
                   "limits": {"cpu": str(random.randint(1, 4)), "memory": "10Mi"}}
            ann = {"cpuset-scheduler": "true"}
        else:
            g = random.randint(1, 8)
            res = {"requests": {"cpu": "10m", "memory": "10Mi", "aliyun.com/gpu-mem": str(g)},
                   "limits": {"memory": "10Mi", "aliyun.com/gpu-mem": str(g)}}
            ann = {}
        items.append({"apiVersion": "v1", "kind": "Pod",
                      "metadata": {"name": "%s-%d-%d" % (kind, r, i), "namespace": "default", "annotations": ann},
                      "spec": {"schedulerName": "ack-co-scheduler", "terminationGracePeriodSeconds": 0,
                               "containers": [{"name": "c", "image": "pause", "resources": res}]}})
random.shuffle(items)
print(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
PY
  sleep 0.5
  local victims
  victims=$(k get pods -o name | "$PY" -c 'import random,sys; random.seed(int(sys.argv[1])); n=[l.strip() for l in sys.stdin if l.strip()]; print(" ".join(random.sample(n, len(n)*3//10)))' "$1")
  [ -n "$victims" ] && k delete $victims --wait=false >/dev/null
}
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
check "PreBind PATCHes failed under the faults and the pods were requeued ($faults \"Binding failed\" lines)" test "$faults" -gt 0

"$PY" "$ROOT/test/integration/genpods.py" --count "$cpu_free" --prefix fillc- --cpu 10m --cpu-limit 1 --memory 10Mi \
  --annotation cpuset-scheduler=true | kcreate /dev/stdin
"$PY" "$ROOT/test/integration/genpods.py" --count "$gpu_free" --prefix fillg- --cpu 10m --memory 10Mi --gpu-mem 1 | kcreate /dev/stdin
wait_until 180 equals 0 pending
check "exactly the $cpu_free free CPUs and $gpu_free free GiB are taken by 1-CPU and 1-GiB pods" \
  equals "0 0 0 0" fields cpu_free gpu_free cpuset_overlap gpu_overcommit
"$PY" "$ROOT/test/integration/genpods.py" --count 1 --prefix morec- --cpu 10m --cpu-limit 1 --memory 10Mi \
  --annotation cpuset-scheduler=true | kcreate /dev/stdin
"$PY" "$ROOT/test/integration/genpods.py" --count 1 --prefix moreg- --cpu 10m --memory 10Mi --gpu-mem 1 | kcreate /dev/stdin
sleep 3
check "... and one more of each stays pending" equals 2 pending
grep -q "AddressSanitizer\|runtime error" "$WORK/cosched.log" && notok "no sanitizer reports in cosched's log" || ok "no sanitizer reports in cosched's log"
exit "$FAILS"
