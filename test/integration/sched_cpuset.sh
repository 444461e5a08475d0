#!/usr/bin/env bash
# Scenario S2 (features.md), CPU-topology-aware cpusets, on apisim and on the real kube-apiserver:
# pods annotated cpuset-scheduler get `cpuset` annotations of exactly their integer limits.cpu,
# within one NUMA node when they fit there, never overlapping on a node; a node without room
# (or without a valid topology) is filtered with a clear reason; a fractional limit and a
# malformed topology are reported by Events; a restart rebuilds the pinned CPUs from the
# annotations.
. "$(dirname "$0")/lib.sh"

start_apisim || { notok "apisim starts"; exit 1; }
k apply -f "$ROOT/manifests/crds/topology.node.k8s.io_noderesourcetopologies.yaml" -o name >/dev/null
wait_until 15 k get noderesourcetopologies
# two nodes of 2 NUMA nodes x 8 cores x 2 threads, and one whose topology is malformed
"$PY" "$ROOT/test/integration/gennodes.py" --count 2 --prefix numa- --sockets 1 --numa 2 --cores 8 | kcreate /dev/stdin
"$PY" "$ROOT/test/integration/gennodes.py" --count 1 --prefix bad- --sockets 1 --numa 2 --cores 8 --bad-topology | kcreate /dev/stdin
write_config "$WORK/config.yaml" CpusetScheduling
start_cosched --config "$WORK/config.yaml"

gen() { "$PY" "$ROOT/test/integration/genpods.py" --annotation cpuset-scheduler=true "$@"; }
state() {
  k get pods -A -o json >"$WORK/pods.json"; k get nodes -o json >"$WORK/nodes.json"
  k get noderesourcetopologies -o json >"$WORK/topo.json"
  "$PY" "$ROOT/test/integration/devcheck.py" "$WORK/pods.json" "$WORK/nodes.json" "$WORK/topo.json"
}
# fields NAME...: the devcheck figures, space-separated
fields() { state | "$PY" -c 'import json,sys; d=json.load(sys.stdin); print(*(d[k] for k in sys.argv[1:]))' "$@"; }
field() { fields "$1"; }
on_node() { k get pods -A -o jsonpath='{range .items[*]}{.spec.nodeName}{"\n"}{end}' | grep -c "^$1" ; }

# S2: nginx-numa, 2 replicas, request = limit = 4
gen --count 2 --prefix nginx-numa- --cpu 4 --memory 100Mi | kcreate /dev/stdin
wait_until 30 equals 2 field cpuset_bound
check "S2: both nginx-numa pods bound" equals 2 field cpuset_bound
ann=$(k get pod nginx-numa-0 -o jsonpath='{.metadata.annotations.cpuset}')
check "the cpuset annotation has the documented shape {\"c\":{\"<numa>\":{\"elems\":{\"<cpu>\":{},...}}}} ($ann)" \
  "$PY" -c 'import json,sys; d=json.loads(sys.argv[1]); (n,s),=d["c"].items(); assert len(s["elems"])==4 and all(v=={} for v in s["elems"].values())' "$ann"
check "each has exactly 4 CPUs, within one NUMA node, none shared" \
  equals "0 0 2" fields cpuset_wrong cpuset_overlap cpuset_single

# fill both nodes: request 1, limit 4 (requests may be lower than the pinned CPUs)
gen --count 14 --prefix fill- --cpu 1 --cpu-limit 4 --memory 100Mi | kcreate /dev/stdin
wait_until 30 equals 16 field cpuset_bound
check "16 pods of 4 CPUs fill the two 32-CPU nodes" equals 16 field cpuset_bound
check "... every one within one NUMA node, no CPU twice, none on the node without topology" \
  equals "0 0 16 0" fields cpuset_wrong cpuset_overlap cpuset_single cpu_free
check "no pod on bad-0" equals 0 on_node bad-
gen --count 1 --prefix extra- --cpu 1 --cpu-limit 4 --memory 100Mi | kcreate /dev/stdin
msg() { k get pod "$1" -o jsonpath='{.status.conditions[?(@.type=="PodScheduled")].message}'; }
msg_has() { msg "$1" | grep -q "$2"; }
wait_until 20 nonempty msg extra-0
check "a 17th pod stays pending: \"$(msg extra-0)\"" \
  grep -q "2 node(s) didn't have enough free CPUs for the cpuset.*1 node(s) had no CPU topology\|1 node(s) had no CPU topology.*2 node(s) didn't have enough free CPUs for the cpuset" <<<"$(msg extra-0)"

events() { k get events -A -o jsonpath='{range .items[*]}{.reason}{" "}{.note}{.message}{"\n"}{end}' 2>/dev/null; }
ev_has() { events | grep -q "$1"; }
gen --count 1 --prefix frac- --cpu 1500m --memory 100Mi | kcreate /dev/stdin
wait_until 20 ev_has "not a whole number of CPUs"
check "a fractional limit is refused with an event that says why" \
  grep -q "FailedScheduling.*container c has limits.cpu 1500m, not a whole number of CPUs" <<<"$(events)"
check "the malformed topology of bad-0 is reported by an Event on its NodeResourceTopology" \
  grep -q "InvalidCPUTopology.*invalid node.koordinator.sh/cpu-topology annotation.*bad-0" <<<"$(events)"

# restart: delete two pods while cosched is down, start it again, fill the freed CPUs
stop_cosched
k delete pod fill-0 fill-1 --wait=false >/dev/null
reap_deleted
wait_until 20 equals 14 field cpuset_bound
start_cosched --config "$WORK/config.yaml"
wait_until 30 equals 15 field cpuset_bound
check "after a restart the pending pod takes freed CPUs" equals 15 field cpuset_bound
gen --count 2 --prefix after- --cpu 1 --cpu-limit 4 --memory 100Mi | kcreate /dev/stdin
wait_until 30 equals 16 field cpuset_bound
sleep 2
check "... one more binds, one waits: the restarted scheduler rebuilt the pinned CPUs" equals 16 field cpuset_bound
check "... and no CPU is held twice" equals 0 field cpuset_overlap
grep -q "AddressSanitizer\|runtime error" "$WORK/cosched.log" && notok "no sanitizer reports in cosched's log" || ok "no sanitizer reports in cosched's log"
exit "$FAILS"
