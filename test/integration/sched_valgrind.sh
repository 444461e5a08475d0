#!/usr/bin/env bash
# The long-running paths under valgrind: cosched (system-allocator build) lists, watches,
# schedules and binds a few hundred pods, sees deletions and new pods, admits pods by an
# ElasticQuotaTree and reclaims borrowed quota, places cpuset, shared-GPU and ECI pods (every
# plugin of ours enabled, as shipped), and stops on SIGTERM.
# valgrind must report no memory errors and no leaked blocks.
. "$(dirname "$0")/lib.sh"
VG_COSCHED=${VG_COSCHED:-$ROOT/build/vg/cosched}
if ! command -v valgrind >/dev/null || [ ! -x "$VG_COSCHED" ]; then
  notok "valgrind and $VG_COSCHED are available (make build/vg/cosched)"; exit 1
fi
start_apisim --cluster-gen "nodes=20,cpu=8,memory=32Gi,pods=110,prefix=node-" \
  --pods-gen "count=300,cpu=100m,memory=100Mi,scheduler=ack-co-scheduler,prefix=vg-" \
  || { notok "apisim starts"; exit 1; }
k apply -f "$ROOT/manifests/crds/scheduling.sigs.k8s.io_elasticquotatrees.yaml" -o name >/dev/null
k create namespace qa -o name >/dev/null; k create namespace qb -o name >/dev/null
cat <<'EQT' | k apply -f - -o name >/dev/null
apiVersion: scheduling.sigs.k8s.io/v1beta1
kind: ElasticQuotaTree
metadata: {name: elasticquotatree, namespace: kube-system}
spec:
  root:
    name: root
    min: {cpu: 8}
    max: {cpu: 8}
    children:
    - {name: root.qa, namespaces: [qa], min: {cpu: 4}, max: {cpu: 8}}
    - {name: root.qb, namespaces: [qb], min: {cpu: 4}, max: {cpu: 8}}
EQT
k apply -f "$ROOT/manifests/crds/topology.node.k8s.io_noderesourcetopologies.yaml" -o name >/dev/null
wait_until 15 k get noderesourcetopologies
"$PY" "$ROOT/test/integration/gennodes.py" --count 2 --prefix dev- --sockets 1 --numa 2 --cores 4 \
  --gpus 2 --gpu-mem 8 --label dev=true | k create -f - -o name >/dev/null
"$PY" "$ROOT/test/integration/gennodes.py" --count 1 --prefix vk- --virtual | k create -f - -o name >/dev/null
write_config "$WORK/config.yaml" Coscheduling CapacityScheduling CpusetScheduling GPUShare EciBurst
valgrind --error-exitcode=9 --leak-check=full --show-leak-kinds=definite,indirect \
  --errors-for-leak-kinds=definite,indirect "$VG_COSCHED" --kubeconfig "$KCFG" \
  --config "$WORK/config.yaml" \
  --leader-elect=false --secure-port 0 -v=1 >"$WORK/vg.out" 2>"$WORK/vg.log" &
VG_PID=$!
wait_until 120 all_ours_bound
check "300 pods bound under valgrind" all_ours_bound
k delete pod vg-1 vg-2 vg-3 --wait=false >/dev/null
"$PY" "$ROOT/test/integration/genpods.py" --count 20 --prefix late- | k create -f - -o name >/dev/null
wait_until 60 all_ours_bound
check "20 more pods bound after deletions" all_ours_bound
# Quota: qa borrows the whole root (8 x 1 cpu), then qb (below its min) takes 2 back.
"$PY" "$ROOT/test/integration/genpods.py" --count 10 --prefix qa- --cpu 1 --memory 10Mi --namespace qa |
  k create -f - -o name >/dev/null
wait_until 60 equals 8 running_in qa
check "quota: qa borrows up to the root's 8 cpu under valgrind" equals 8 running_in qa
"$PY" "$ROOT/test/integration/genpods.py" --count 2 --prefix qb- --cpu 1 --memory 10Mi --namespace qb |
  k create -f - -o name >/dev/null
wait_until 90 equals 2 running_in qb
check "quota: qb reclaims 2 cpu from qa under valgrind" equals 2 running_in qb
# Devices: cpusets, shared GPUs and ECI burst, with deletions in between.
"$PY" "$ROOT/test/integration/genpods.py" --count 4 --prefix cs- --cpu 100m --cpu-limit 2 --memory 10Mi \
  --annotation cpuset-scheduler=true | k create -f - -o name >/dev/null
"$PY" "$ROOT/test/integration/genpods.py" --count 4 --prefix gp- --cpu 100m --memory 10Mi --gpu-mem 3 | k create -f - -o name >/dev/null
"$PY" "$ROOT/test/integration/genpods.py" --count 2 --prefix eci- --cpu 100m --memory 10Mi \
  --annotation alibabacloud.com/burst-resource=eci_only | k create -f - -o name >/dev/null
wait_until 90 all_ours_bound
k delete pod cs-0 gp-0 --wait=false >/dev/null
"$PY" "$ROOT/test/integration/genpods.py" --count 1 --prefix cs2- --cpu 100m --cpu-limit 4 --memory 10Mi \
  --annotation cpuset-scheduler=true | k create -f - -o name >/dev/null
wait_until 60 all_ours_bound
check "cpuset, GPU and ECI pods bound under valgrind, with their annotations" \
  equals "4 3 2" bash -c "$(declare -f k); KCFG=$KCFG; k get pods -o json | $PY -c '
import json,sys
d=[p for p in json.load(sys.stdin)[\"items\"] if not p[\"metadata\"].get(\"deletionTimestamp\")]
a=lambda p,k: k in (p[\"metadata\"].get(\"annotations\") or {})
print(sum(a(p,\"cpuset\") for p in d), sum(a(p,\"ALIYUN_COM_GPU_MEM_IDX\") for p in d), sum(p[\"spec\"].get(\"nodeName\",\"\").startswith(\"vk-\") for p in d))'"
kill -TERM "$VG_PID"
wait "$VG_PID"
rc=$?
check "cosched exits 0 under valgrind (valgrind exit $rc)" [ "$rc" = 0 ]
check "valgrind: no memory errors" grep -q "ERROR SUMMARY: 0 errors" "$WORK/vg.log"
check "valgrind: no leaked blocks" \
  bash -c "grep -q 'All heap blocks were freed' '$WORK/vg.log' || grep -q 'definitely lost: 0 bytes' '$WORK/vg.log'"
