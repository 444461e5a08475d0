#!/usr/bin/env bash
# Wire semantics of the API server (raw HTTP from apisim_watch.py): watch, pagination, binding,
# status patches, Events, Leases, evictions, CRD status and error Status bodies. Runs against
# apisim, or with COSCHED_APISERVER=k8s against the real kube-apiserver v1.37.2 (lib.sh); the
# checks that need an apisim-only feature print "# skip on k8s: ..." there.
. "$(dirname "$0")/lib.sh"
if [ "${COSCHED_APISERVER:-apisim}" = k8s ]; then
  start_apisim || { notok "the real control plane starts"; exit 1; }
  url=$K8S_URL
  export WATCH_TOKEN=cosched-admin-token
  # etcd's client URL, for the continue-token check (it compacts etcd through its JSON gateway)
  WATCH_ETCD=$(tr '\0' '\n' <"/proc/$ETCD_PID/cmdline" | grep -A1 -x -- --listen-client-urls | tail -1)
  export WATCH_ETCD
else
  start_apisim --history 32 || { notok "apisim starts"; exit 1; }
  url=$APISIM_URL
fi
# The PodGroup CRD as shipped (structural schema, status subresource, api-approved annotation).
kcreate "$ROOT/manifests/crds/scheduling.sigs.k8s.io_podgroups.yaml" || notok "PodGroup CRD installs"
wait_until 20 k get podgroups.scheduling.sigs.k8s.io -A || notok "PodGroup CRD served"
"$PY" "$ROOT/test/integration/apisim_watch.py" "$url" "${COSCHED_APISERVER:-apisim}"
rc=$?
[ "$rc" -eq 0 ] || FAILS=$((FAILS + 1))
if [ -n "$APISIM_PID" ]; then
  kill "$APISIM_PID"; wait "$APISIM_PID"; src=$?; APISIM_PID=""
  check "apisim exits 0 after the watch suite (status $src)" [ "$src" -eq 0 ]
  [ "$src" -eq 0 ] || tail -20 "$WORK/apisim.log"
fi
[ "$FAILS" -eq 0 ]
