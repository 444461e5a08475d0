#!/usr/bin/env bash
# cosched over HTTPS with a bearer token: apisim generates a CA and serving certificate and
# requires the token; the kubeconfig it writes carries both, and cosched must use them.
. "$(dirname "$0")/lib.sh"

start_apisim --tls --token s3cr3t-token --cluster-gen "nodes=4,cpu=4,memory=8Gi,pods=110,prefix=node-" \
  || { notok "apisim starts with --tls --token"; exit 1; }
check "apisim serves https" bash -c "[[ '$APISIM_URL' == https://* ]]"
check "requests without the token are refused (401)" \
  bash -c "[ \"\$(curl -sk -o /dev/null -w '%{http_code}' '$APISIM_URL/api/v1/nodes')\" = 401 ]"
start_cosched
"$PY" "$ROOT/test/integration/genpods.py" --count 30 --prefix tls- | k create -f - -o name >/dev/null
wait_until 30 all_ours_bound
check "cosched binds every pod over TLS with the token" all_ours_bound
check "its informers synced over TLS" grep -q '"Informer listed" informer="pods"' "$WORK/cosched.log"
stop_cosched
check "cosched exits 0 on SIGTERM" [ "${COSCHED_RC:-1}" = 0 ]
