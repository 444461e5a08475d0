# Shared helpers for integration suites: start apisim and cosched on free ports, drive them
# with the real kubectl, and report TAP-like "ok - ..." / "not ok - ..." lines.
# Source it from a suite: `. "$(dirname "$0")/lib.sh"`. Everything started is stopped at exit.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
APISIM_BIN=${APISIM_BIN:-$ROOT/build/apisim}
COSCHED_BIN=${COSCHED_BIN:-$ROOT/build/cosched}
PY=/usr/bin/python3
WORK=$(mktemp -d /tmp/cosched-it.XXXXXX)
KCFG=$WORK/kubeconfig
APISIM_PID=""
COSCHED_PID=""
FAILS=0

cleanup() {
  [ -n "$COSCHED_PID" ] && kill "$COSCHED_PID" 2>/dev/null
  [ -n "$APISIM_PID" ] && kill "$APISIM_PID" 2>/dev/null
  if declare -f stop_k8s >/dev/null; then stop_k8s; fi
  wait 2>/dev/null
  if [ "${KEEP_WORK:-0}" = 1 ] || [ "$FAILS" -gt 0 ]; then
    echo "# logs kept in $WORK"
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT

ok() { echo "ok - $*"; }
notok() { echo "not ok - $*"; FAILS=$((FAILS + 1)); }
# check "description" command...: ok when the command succeeds.
check() { local d=$1; shift; if "$@"; then ok "$d"; else notok "$d"; fi; }
# wait_until SECONDS command...: poll every 0.2 s.
wait_until() {
  local secs=$1; shift
  local end=$(( $(date +%s%N) + secs * 1000000000 ))
  while [ "$(date +%s%N)" -lt "$end" ]; do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  "$@" >/dev/null 2>&1
}

# Predicates for wait_until (which re-runs its command; a "$(...)" argument would be expanded
# only once): nonempty CMD... is true when CMD prints something, equals WANT CMD... when it
# prints exactly WANT.
nonempty() { [ -n "$("$@")" ]; }
equals() { local want=$1; shift; [ "$("$@")" = "$want" ]; }

k() { kubectl --kubeconfig "$KCFG" "$@"; }

# start_apisim [apisim flags...]: starts apisim, waits for its URL line, sets APISIM_URL.
# With COSCHED_APISERVER=k8s the suite runs against the real kube-apiserver instead
# (lib_k8s.sh): --cluster-gen node generators are honoured by creating the nodes through the
# API; any other apisim-only flag skips the suite.
start_apisim() {
  if [ "${COSCHED_APISERVER:-apisim}" = k8s ]; then
    . "$ROOT/test/integration/lib_k8s.sh"
    k8s_available || { echo "# skip: the real control plane is not built"; exit 0; }
    local gens=() pgens=()
    while [ $# -gt 0 ]; do
      case "$1" in
        --cluster-gen) gens+=("$2"); shift 2 ;;
        --pods-gen) pgens+=("$2"); shift 2 ;;
        *) echo "# skip: needs apisim ($1)"; exit 0 ;;
      esac
    done
    start_k8s || return 1
    APISIM_URL=""
    local g
    for g in "${gens[@]}"; do
      "$PY" - "$g" <<'PYGEN' | k create -f - -o name >/dev/null || return 1
import json, sys
kv = dict(p.split("=", 1) for p in sys.argv[1].split(","))
cap = {"cpu": kv.get("cpu", "4"), "memory": kv.get("memory", "8Gi"), "pods": kv.get("pods", "110")}
items = []
for i in range(int(kv.get("nodes", "1"))):
    name = "%s%d" % (kv.get("prefix", "node-"), i)
    items.append({"apiVersion": "v1", "kind": "Node",
                  "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
                  "status": {"capacity": cap, "allocatable": cap,
                             "conditions": [{"type": "Ready", "status": "True"}]}})
print(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
PYGEN
    done
    local nodes
    nodes=$(k get nodes -o jsonpath='{.items[*].metadata.name}')
    for g in "${pgens[@]}"; do   # apisim's pod generator: count, cpu, memory, bound, scheduler, prefix
      "$PY" - "$g" "$nodes" <<'PYGEN' | k create -f - -o name >/dev/null || return 1
import json, sys
kv = dict(p.split("=", 1) for p in sys.argv[1].split(","))
nodes = sys.argv[2].split()
res = {"cpu": kv.get("cpu", "100m"), "memory": kv.get("memory", "100Mi")}
items = []
for i in range(int(kv.get("count", "1"))):
    spec = {"schedulerName": kv.get("scheduler", "default-scheduler"),
            "containers": [{"name": "c", "image": "registry.k8s.io/pause:3.9",
                            "resources": {"requests": res, "limits": res}}]}
    if kv.get("bound") == "true" and nodes:
        spec["nodeName"] = nodes[i % len(nodes)]
    items.append({"apiVersion": "v1", "kind": "Pod",
                  "metadata": {"name": "%s%d" % (kv.get("prefix", "pod-"), i), "namespace": "default"},
                  "spec": spec})
print(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
PYGEN
    done
    return 0
  fi
  "$APISIM_BIN" --listen 127.0.0.1:0 --kubeconfig-out "$KCFG" "$@" \
    >"$WORK/apisim.out" 2>"$WORK/apisim.log" &
  APISIM_PID=$!
  local i
  for i in $(seq 1 100); do
    if grep -q "serving on" "$WORK/apisim.out" 2>/dev/null; then
      APISIM_URL=$(grep -o 'http[s]*://[^ ]*' "$WORK/apisim.out" | head -1)
      return 0
    fi
    sleep 0.1
  done
  echo "# apisim did not start"; cat "$WORK/apisim.log"; return 1
}

# start_cosched [flags...]: starts cosched against apisim (log: $WORK/cosched.log, appended).
# COSCHED_FLAGS adds flags to every start (e.g. --kube-api-content-type application/json).
start_cosched() {
  # shellcheck disable=SC2086
  "$COSCHED_BIN" --kubeconfig "$KCFG" --leader-elect=false --secure-port 0 -v=3 ${COSCHED_FLAGS:-} "$@" \
    >>"$WORK/cosched.log" 2>&1 &
  COSCHED_PID=$!
}

stop_cosched() {
  if [ -n "$COSCHED_PID" ]; then
    kill -TERM "$COSCHED_PID" 2>/dev/null
    wait "$COSCHED_PID" 2>/dev/null
    COSCHED_RC=$?
    COSCHED_PID=""
  fi
}

# Number of pods (all namespaces) with a nodeName, optionally with a label selector.
bound_count() {
  k get pods -A ${1:+-l "$1"} -o jsonpath='{range .items[*]}{.spec.nodeName}{"\n"}{end}' \
    | grep -c .
}

pod_node() { k get pod "$1" ${2:+-n "$2"} -o jsonpath='{.spec.nodeName}'; }

# All pods with schedulerName ack-co-scheduler bound?
all_ours_bound() {
  local pending
  pending=$(k get pods -A -o json | "$PY" -c '
import json,sys
d=json.load(sys.stdin)
print(sum(1 for p in d["items"] if p["spec"].get("schedulerName")=="ack-co-scheduler" and not p["spec"].get("nodeName")))')
  [ "$pending" = 0 ]
}

# reap_deleted: the real control plane runs no kubelet, so pods whose deletion was requested
# (preemption victims) would stay terminating forever; finish them as a kubelet would. apisim
# removes them itself.
reap_deleted() {
  [ "${COSCHED_APISERVER:-apisim}" = k8s ] || return 0
  k get pods -A -o jsonpath='{range .items[?(@.metadata.deletionTimestamp)]}{.metadata.namespace}{" "}{.metadata.name}{"\n"}{end}' |
    while read -r ns name; do
      [ -n "$name" ] && k delete pod "$name" -n "$ns" --grace-period=0 --force >/dev/null 2>&1
    done
}

# running_in NAMESPACE [SELECTOR]: pods bound and not being deleted.
running_in() {
  k get pods -n "$1" ${2:+-l "$2"} -o jsonpath='{range .items[*]}{.spec.nodeName}{"|"}{.metadata.deletionTimestamp}{"\n"}{end}' |
    grep -c '^[^|]\+|$'
}

# write_config FILE PLUGIN...: a KubeSchedulerConfiguration whose ack-co-scheduler profile
# enables these plugins beside the defaults (multiPoint).
write_config() {
  local f=$1 list="" p; shift
  for p in "$@"; do list="$list${list:+, }{name: $p}"; done
  printf '%s\n' 'apiVersion: kubescheduler.config.k8s.io/v1' 'kind: KubeSchedulerConfiguration' \
    'profiles:' '- schedulerName: ack-co-scheduler' '  plugins:' '    multiPoint:' \
    "      enabled: [$list]" >"$f"
}

# kcreate FILE: kubectl create -f FILE quietly (kubectl has no -q); status is kubectl's.
kcreate() { k create -f "$1" -o name >/dev/null; }
