# Scenario S4 of the demo (sourced by hack/demo.sh, which defines k, ROOT and a running cosched
# with CapacityScheduling): an ElasticQuotaTree and four Deployments that borrow and reclaim,
# with the Running/Pending count per namespace after each step.
echo "== scenario S4: capacity scheduling (ElasticQuotaTree, borrow and reclaim)"
echo "   root min=max 40 cpu; root.a, root.b min 20 max 40; leaves root.a.1 .. root.b.2 min 10"
echo "   max 20 for namespace1..4; a 56-cpu node; nginx1..4 = 5 replicas x 5 cpu, one after another"
printf '%s' '{"apiVersion":"v1","kind":"Node","metadata":{"name":"quota-node","labels":{"pool":"quota"}},"spec":{"taints":[{"key":"demo","value":"s4","effect":"NoSchedule"}]},"status":{"capacity":{"cpu":"56","memory":"256Gi","pods":"110"},"conditions":[{"type":"Ready","status":"True"}]}}' \
  | k create -f - >/dev/null
for i in 1 2 3 4; do k create namespace "namespace$i" >/dev/null; done
cat <<'TREE' | k apply -f - >/dev/null
apiVersion: scheduling.sigs.k8s.io/v1beta1
kind: ElasticQuotaTree
metadata: {name: elasticquotatree, namespace: kube-system}
spec:
  root:
    name: root
    min: {cpu: 40}
    max: {cpu: 40}
    children:
    - name: root.a
      min: {cpu: 20}
      max: {cpu: 40}
      children:
      - {name: root.a.1, namespaces: [namespace1], min: {cpu: 10}, max: {cpu: 20}}
      - {name: root.a.2, namespaces: [namespace2], min: {cpu: 10}, max: {cpu: 20}}
    - name: root.b
      min: {cpu: 20}
      max: {cpu: 40}
      children:
      - {name: root.b.1, namespaces: [namespace3], min: {cpu: 10}, max: {cpu: 20}}
      - {name: root.b.2, namespaces: [namespace4], min: {cpu: 10}, max: {cpu: 20}}
TREE
# The tree is in force once cosched has written its status.
for _ in $(seq 1 100); do
  [ -n "$(k get elasticquotatree elasticquotatree -n kube-system -o jsonpath='{.status.quotas}' 2>/dev/null)" ] && break
  sleep 0.1
done

s4_rows() { k get pods -n "$1" -o jsonpath='{range .items[*]}{.spec.nodeName}{"|"}{.metadata.deletionTimestamp}{"\n"}{end}'; }
s4_running() { s4_rows "$1" | grep -c '^[^|]\+|$'; }
s4_pending() { s4_rows "$1" | grep -c '^|$'; }
s4_state() {
  local out="" i
  for i in $(seq 1 "$1"); do
    out="$out namespace$i: $(s4_running "namespace$i") Running, $(s4_pending "namespace$i") Pending;"
  done
  echo "${out# }"
}
s4_settle() {  # step expected-running...: wait up to 30 s for the expected counts, then print
  local step=$1; shift
  local want="$*" got n c
  for _ in $(seq 1 150); do
    got=""; n=1
    for c in "$@"; do got="$got $(s4_running "namespace$n")"; n=$((n + 1)); done
    [ "${got# }" = "$want" ] && break
    sleep 0.2
  done
  echo "   after nginx$step: $(s4_state "$step")"
}
for i in 1 2 3 4; do
  cat <<DEPLOY | k create -f - >/dev/null
apiVersion: apps/v1
kind: Deployment
metadata: {name: nginx$i, namespace: namespace$i}
spec:
  replicas: 5
  selector: {matchLabels: {app: nginx$i}}
  template:
    metadata: {labels: {app: nginx$i}}
    spec:
      schedulerName: ack-co-scheduler
      terminationGracePeriodSeconds: 1
      nodeSelector: {pool: quota}
      tolerations: [{key: demo, operator: Exists}]
      containers: [{name: nginx, image: nginx, resources: {requests: {cpu: "5"}, limits: {cpu: "5"}}}]
DEPLOY
  case $i in
    1) s4_settle 1 4 ;;
    2) s4_settle 2 4 4 ;;
    3) s4_settle 3 3 3 2 ;;
    4) s4_settle 4 2 2 2 2 ;;
  esac
done
echo "   why an nginx1 pod waits: $(k get pods -n namespace1 -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="PodScheduled")].message}{"\n"}{end}' | grep -m1 quota | cut -c1-150)"
echo "   the tree's status (kubectl get elasticquotatree -n kube-system -o yaml, excerpt):"
k get elasticquotatree elasticquotatree -n kube-system -o yaml | sed -n '/^status:/,$p' | head -9 | sed 's/^/     /'
