# The real control plane for integration suites (issue 8): etcd and kube-apiserver v1.37.2 built
# by hack/k8s-build.sh into build/k8s/, started on loopback in $WORK/k8s with an admin token.
# Sourced by suites after lib.sh. start_k8s sets KCFG (admin kubeconfig) and K8S_URL; stop_k8s
# stops the apiserver before etcd (an apiserver whose etcd is gone lingers in shutdown).
K8S_BIN=${K8S_BIN:-$ROOT/build/k8s}
ETCD_PID=""; KAPI_PID=""

k8s_available() { [ -x "$K8S_BIN/kube-apiserver" ] && [ -x "$K8S_BIN/etcd" ]; }

# token_kubeconfig FILE USER TOKEN: a kubeconfig for the real apiserver under that bearer token.
token_kubeconfig() {
  cat >"$1" <<KC
apiVersion: v1
kind: Config
clusters:
- name: k8s
  cluster: {server: "$K8S_URL", insecure-skip-tls-verify: true}
users:
- name: $2
  user: {token: "$3"}
contexts:
- name: k8s
  context: {cluster: k8s, user: $2}
current-context: k8s
KC
}

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

start_k8s() {
  local d=$WORK/k8s ep pp ap
  mkdir -p "$d/certs"
  ep=$(free_port); pp=$(free_port); ap=$(free_port)
  "$K8S_BIN/etcd" --name default --data-dir "$d/etcd" --unsafe-no-fsync \
    --listen-client-urls "http://127.0.0.1:$ep" --advertise-client-urls "http://127.0.0.1:$ep" \
    --listen-peer-urls "http://127.0.0.1:$pp" --initial-advertise-peer-urls "http://127.0.0.1:$pp" \
    --initial-cluster "default=http://127.0.0.1:$pp" >"$d/etcd.log" 2>&1 &
  ETCD_PID=$!
  openssl genrsa -out "$d/sa.key" 2048 >/dev/null 2>&1
  echo 'cosched-admin-token,admin,admin,"system:masters"' >"$d/tokens.csv"
  "$K8S_BIN/kube-apiserver" --etcd-servers "http://127.0.0.1:$ep" \
    --bind-address 127.0.0.1 --secure-port "$ap" --cert-dir "$d/certs" \
    --service-account-key-file "$d/sa.key" --service-account-signing-key-file "$d/sa.key" \
    --service-account-issuer https://kubernetes.default.svc --token-auth-file "$d/tokens.csv" \
    --authorization-mode Node,RBAC --service-cluster-ip-range 10.96.0.0/16 \
    --advertise-address 127.0.0.1 --endpoint-reconciler-type none \
    --disable-admission-plugins ServiceAccount,TaintNodesByCondition \
    --enable-priority-and-fairness=false --max-requests-inflight 0 \
    --max-mutating-requests-inflight 0 >"$d/apiserver.log" 2>&1 &
  KAPI_PID=$!
  K8S_URL="https://127.0.0.1:$ap"
  local i
  for i in $(seq 1 300); do
    if curl -skf -H "Authorization: Bearer cosched-admin-token" "$K8S_URL/readyz" >/dev/null 2>&1; then
      token_kubeconfig "$KCFG" admin cosched-admin-token
      echo "# real control plane: $(curl -sk -H 'Authorization: Bearer cosched-admin-token' "$K8S_URL/version" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["gitVersion"])') at $K8S_URL, ready after $((i / 10)).$((i % 10)) s"
      return 0
    fi
    sleep 0.1
  done
  echo "# kube-apiserver did not become ready"; tail -20 "$d/apiserver.log"; return 1
}

stop_k8s() {
  if [ -n "$KAPI_PID" ]; then
    kill -TERM "$KAPI_PID" 2>/dev/null
    for _ in $(seq 1 30); do kill -0 "$KAPI_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$KAPI_PID" 2>/dev/null; wait "$KAPI_PID" 2>/dev/null; KAPI_PID=""
  fi
  if [ -n "$ETCD_PID" ]; then
    kill -TERM "$ETCD_PID" 2>/dev/null; wait "$ETCD_PID" 2>/dev/null; ETCD_PID=""
  fi
}
