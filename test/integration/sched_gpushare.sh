#!/usr/bin/env bash
# Scenario S5 (features.md), shared GPUs with binpack, on apisim and on the real kube-apiserver:
# pods asking aliyun.com/gpu-mem are packed onto the fullest GPU that still fits, then the
# fullest node; the GPU index and the allocation are written to the pod before binding; no GPU
# is ever over-committed, also after a restart; bad requests are refused with a reason.
. "$(dirname "$0")/lib.sh"

start_apisim || { notok "apisim starts"; exit 1; }
# two nodes of 4 GPUs x 16 GiB; one more with placement spread
"$PY" "$ROOT/test/integration/gennodes.py" --count 2 --prefix gpu- --gpus 4 --gpu-mem 16 | kcreate /dev/stdin
write_config "$WORK/config.yaml" GPUShare
start_cosched --config "$WORK/config.yaml"

gen() { "$PY" "$ROOT/test/integration/genpods.py" --cpu 100m --memory 100Mi "$@"; }
state() {
  k get pods -A -o json >"$WORK/pods.json"; k get nodes -o json >"$WORK/nodes.json"
  "$PY" "$ROOT/test/integration/devcheck.py" "$WORK/pods.json" "$WORK/nodes.json"
}
fields() { state | "$PY" -c 'import json,sys; d=json.load(sys.stdin); print(*(d[k] for k in sys.argv[1:]))' "$@"; }
ann() { k get pod "$1" -o jsonpath="{.metadata.annotations.$2}"; }

# S5: 8 pods of 4 GiB: 32 GiB, two GPUs' worth, all on one node
for i in $(seq 0 7); do gen --count 1 --start "$i" --prefix s5- --gpu-mem 4 | kcreate /dev/stdin; done
wait_until 30 equals 8 fields gpu_bound
check "S5: 8 pods of 4 GiB bound" equals 8 fields gpu_bound
check "... packed: 2 GPUs in use, the minimum possible; none over-committed" \
  equals "2 2 0" fields gpu_in_use gpu_min gpu_overcommit
check "... all on one node (the fullest)" equals 1 bash -c "$(declare -f k); KCFG=$KCFG; k get pods -o jsonpath='{range .items[*]}{.spec.nodeName}{\"\\n\"}{end}' | sort -u | grep -c ."
check "the v1 annotations are written before binding (IDX, POD 4, DEV 16, ASSIGNED false, ASSUME_TIME)" \
  "$PY" -c 'import sys; i,p,d,a,t=sys.argv[1:]; assert i in "0123" and i and p=="4" and d=="16" and a=="false" and int(t)>1.7e18' \
  "$(ann s5-0 ALIYUN_COM_GPU_MEM_IDX)" "$(ann s5-0 ALIYUN_COM_GPU_MEM_POD)" "$(ann s5-0 ALIYUN_COM_GPU_MEM_DEV)" \
  "$(ann s5-0 ALIYUN_COM_GPU_MEM_ASSIGNED)" "$(ann s5-0 ALIYUN_COM_GPU_MEM_ASSUME_TIME)"
alloc=$(ann s5-0 'scheduler\.framework\.gpushare\.allocation')
check "... and the allocation {\"0\":{\"<gpu>\":4}} ($alloc)" \
  "$PY" -c 'import json,sys; d=json.loads(sys.argv[1]); (g,v),=d["0"].items(); assert v==4' "$alloc"

# two GPUs at once: label aliyun.com/gpu-count=2, 8 GiB split 4 + 4
gen --count 1 --prefix two- --gpu-mem 8 --label aliyun.com/gpu-count=2 | kcreate /dev/stdin
wait_until 20 nonempty pod_node two-0
check "a pod with gpu-count 2 gets two GPUs of 4 GiB ($(ann two-0 ALIYUN_COM_GPU_MEM_IDX))" \
  "$PY" -c 'import json,sys; d=json.loads(sys.argv[1]); assert sorted(d["0"].values())==[4,4]' \
  "$(ann two-0 'scheduler\.framework\.gpushare\.allocation')"

events() { k get events -A -o jsonpath='{range .items[*]}{.reason}{" "}{.note}{.message}{"\n"}{end}' 2>/dev/null; }
ev_has() { events | grep -q "$1"; }
gen --count 1 --prefix big- --gpu-mem 20 | kcreate /dev/stdin
gen --count 1 --prefix odd- --gpu-mem 7 --label aliyun.com/gpu-count=2 | kcreate /dev/stdin
wait_until 20 ev_has "divide evenly"
wait_until 20 ev_has "less memory than the request"
check "a pod asking more than any GPU has is refused with the reason" \
  grep -q "FailedScheduling.*2 node(s) had GPUs with less memory than the request" <<<"$(events)"
check "a request that does not split evenly over gpu-count GPUs is refused with the reason" \
  grep -q "FailedScheduling.*aliyun.com/gpu-mem 7 of container c does not divide evenly over 2 GPUs" <<<"$(events)"
check "no partial allocation is left on the refused pods" \
  equals "" bash -c "$(declare -f k); KCFG=$KCFG; k get pod big-0 odd-0 -o jsonpath='{.items[*].metadata.annotations.ALIYUN_COM_GPU_MEM_IDX}{.items[*].spec.nodeName}'"

# restart, then fill every GPU to the last GiB: exactly the free GiB bind, one more waits
stop_cosched
start_cosched --config "$WORK/config.yaml"
free=$(fields gpu_free)
gen --count "$free" --prefix fill- --gpu-mem 1 | kcreate /dev/stdin
wait_until 60 equals "$((8 + 1 + free))" fields gpu_bound
gen --count 1 --prefix over- --gpu-mem 1 | kcreate /dev/stdin
sleep 2
check "after a restart exactly the $free free GiB bind as 1-GiB pods, and one more does not" \
  equals "$((8 + 1 + free)) 0 0" fields gpu_bound gpu_overcommit gpu_free
msg() { k get pod "$1" -o jsonpath='{.status.conditions[?(@.type=="PodScheduled")].message}'; }
msg_has() { msg "$1" | grep -q "$2"; }
check "... it waits with: $(msg over-0)" grep -q "2 Insufficient aliyun.com/gpu-mem" <<<"$(msg over-0)"
k delete pod over-0 --wait=false >/dev/null
# free 1 GiB on two different GPUs of one node: 2 GiB free there, but on no single GPU
two=$(k get pods -o jsonpath='{range .items[*]}{.metadata.name} {.spec.nodeName} {.metadata.annotations.ALIYUN_COM_GPU_MEM_IDX}{"\n"}{end}' |
  awk '$1 ~ /^fill-/ && $2 == "gpu-0" && !seen[$3]++ {print $1}' | head -2)
k delete pod $two --wait=false >/dev/null
reap_deleted
wait_until 20 equals "" bash -c "$(declare -f k); KCFG=$KCFG; k get pod $(echo $two) -o name 2>/dev/null"
gen --count 1 --prefix frag- --gpu-mem 2 | kcreate /dev/stdin
wait_until 20 msg_has frag-0 "enough free memory"
check "a 2-GiB pod does not fit 1 + 1 GiB free on two GPUs: $(msg frag-0)" \
  grep -q "didn't have GPUs with enough free memory" <<<"$(msg frag-0)"
check "... and nothing is over-committed" equals 0 fields gpu_overcommit

# spread placement on a node labelled ack.node.gpu.placement=spread
"$PY" "$ROOT/test/integration/gennodes.py" --count 1 --prefix spread- --gpus 4 --gpu-mem 16 --label ack.node.gpu.placement=spread | kcreate /dev/stdin
gen --count 3 --prefix sp- --gpu-mem 2 --node-selector ack.node.gpu.placement=spread | kcreate /dev/stdin
wait_until 20 equals 3 bash -c "$(declare -f k); KCFG=$KCFG; k get pods -l '!x' -o jsonpath='{range .items[*]}{.spec.nodeName}{\"\\n\"}{end}' | grep -c spread-"
idx=$(for i in 0 1 2; do ann sp-$i ALIYUN_COM_GPU_MEM_IDX; echo; done | sort -u | grep -c .)
check "on a spread node three pods take three different GPUs" equals 3 echo "$idx"
grep -q "AddressSanitizer\|runtime error" "$WORK/cosched.log" && notok "no sanitizer reports in cosched's log" || ok "no sanitizer reports in cosched's log"
exit "$FAILS"
