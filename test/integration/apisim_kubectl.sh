#!/usr/bin/env bash
# Drive the API server with the real kubectl: discovery, tables, create/apply/patch/label/
# annotate/scale/delete, namespaces, CRDs and custom objects, then HTTPS + bearer token.
# Runs against apisim, or with COSCHED_APISERVER=k8s against the real kube-apiserver v1.37.2
# (lib.sh); checks of apisim-only behaviour print "# skip on k8s: ..." there.
# Prints one "ok - ..." / "not ok - ..." line per check.
. "$(dirname "$0")/lib.sh"
SERVER=${COSCHED_APISERVER:-apisim}
work=$WORK

check() { # check "what" command...: output shown only on failure
  local what=$1; shift
  if "$@" >"$work/out" 2>&1; then echo "ok - $what"; else notok "$what"; sed 's/^/#   /' "$work/out" | head -20; fi
}
skip_k8s() { echo "# skip on k8s: $1 ($2)"; }
on_apisim() { [ "$SERVER" = apisim ]; }

stop_apisim() {
  kill "$APISIM_PID"; wait "$APISIM_PID"; local rc=$?; APISIM_PID=""; return $rc
}

start_apisim || { notok "the API server starts"; exit 1; }
if on_apisim; then echo "ok - apisim starts: $(cat "$work/apisim.out")"; fi
export KUBECONFIG=$KCFG
k() { kubectl --request-timeout=10s "$@"; }

if on_apisim; then
  check "url line has the real port" grep -qE '^apisim: serving on http://127\.0\.0\.1:[1-9][0-9]*$' "$work/apisim.out"
else
  skip_k8s "url line has the real port" "apisim's start-up line"
fi
check "kubectl version reports the server as v1.37.2" bash -c \
  'kubectl version -o json 2>/dev/null | jq -e ".serverVersion | .gitVersion == \"v1.37.2\" and .major == \"1\" and .minor == \"37\""'
check "api-resources lists pods, leases, events.k8s.io" bash -c \
  'out=$(kubectl api-resources); grep -q "^pods .*v1 .*true .*Pod" <<<"$out" && grep -q "^leases .*coordination.k8s.io/v1" <<<"$out" && grep -q "events.k8s.io/v1" <<<"$out"'
check "default namespaces exist" bash -c \
  'out=$(kubectl get ns -o name); for n in default kube-system kube-public kube-node-lease; do grep -qx "namespace/$n" <<<"$out" || exit 1; done'

cat >"$work/pod.yaml" <<'EOF'
apiVersion: v1
kind: Pod
metadata:
  name: web-1
  labels: {app: web}
spec:
  containers:
  - name: c
    image: nginx:1.25
    resources:
      limits: {cpu: "1", memory: 1Gi, example.com/gpu: "2"}
EOF
check "create -f pod (no --validate=false)" k create -f "$work/pod.yaml"
check "pod table has the real columns" bash -c \
  'kubectl get pods | head -1 | grep -qE "^NAME +READY +STATUS +RESTARTS +AGE$"'
check "pod wide table" bash -c \
  'kubectl get pods -o wide | head -1 | grep -qE "IP +NODE +NOMINATED NODE +READINESS GATES$" && kubectl get pods -o wide | grep -qE "^web-1 +0/1 +Pending +0 "'
check "defaulting: requests from limits, schedulerName, priority" bash -c \
  'j=$(kubectl get pod web-1 -o json); grep -q "\"example.com/gpu\": \"2\"" <<<"$(jq .spec.containers[0].resources.requests <<<"$j")" && [ "$(jq -r .spec.schedulerName <<<"$j")" = default-scheduler ] && [ "$(jq -r .spec.priority <<<"$j")" = 0 ]'
check "get -o yaml" bash -c 'kubectl get pod web-1 -o yaml | grep -q "^  uid: "'
check "duplicate create -> AlreadyExists" bash -c \
  'out=$(kubectl create -f '"$work"'/pod.yaml 2>&1); grep -q "AlreadyExists" <<<"$out" && grep -q "\"web-1\" already exists" <<<"$out"'
check "apply re-apply existing pod" k apply -f "$work/pod.yaml"
check "label" bash -c 'kubectl label pod web-1 tier=front && kubectl get pods -l tier=front -o name | grep -qx pod/web-1'
check "label selector notin / !key" bash -c \
  '[ -z "$(kubectl get pods -l "tier notin (front)" -o name)" ] && [ -z "$(kubectl get pods -l "!tier" -o name)" ] && kubectl get pods -l "app in (web,db),tier" -o name | grep -q web-1'
check "annotate" bash -c 'kubectl annotate pod web-1 note=hi && [ "$(kubectl get pod web-1 -o jsonpath={.metadata.annotations.note})" = hi ]'
check "patch --type=merge" bash -c \
  'kubectl patch pod web-1 --type=merge -p "{\"metadata\":{\"labels\":{\"m\":\"1\"}}}" && [ "$(kubectl get pod web-1 -o jsonpath={.metadata.labels.m})" = 1 ]'
check "patch --type=strategic merges containers by name" bash -c \
  'kubectl patch pod web-1 --type=strategic -p "{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"nginx:1.26\"}]}}" && [ "$(kubectl get pod web-1 -o jsonpath={.spec.containers[0].image})" = nginx:1.26 ] && [ "$(kubectl get pod web-1 -o jsonpath={.spec.containers[0].resources.limits.cpu})" = 1 ]'
check "patch --type=json" bash -c \
  'kubectl patch pod web-1 --type=json -p "[{\"op\":\"add\",\"path\":\"/metadata/labels/j\",\"value\":\"2\"}]" && [ "$(kubectl get pod web-1 -o jsonpath={.metadata.labels.j})" = 2 ]'
check "field selector spec.nodeName=" bash -c 'kubectl get pods --field-selector spec.nodeName= -o name | grep -qx pod/web-1'
check "unsupported field selector -> 400" bash -c \
  'out=$(kubectl get pods --field-selector spec.bogus=x 2>&1); grep -q "field label not supported: spec.bogus" <<<"$out"'

check "create namespace" k create namespace team-a
check "namespace table" bash -c 'kubectl get ns team-a | grep -qE "^team-a +Active +"'

cat >"$work/deploy.yaml" <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: team-a}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: c, image: nginx}]
EOF
check "apply -f deployment (create)" k apply -f "$work/deploy.yaml"
check "deployment table" bash -c \
  'kubectl -n team-a get deploy | head -1 | grep -qE "^NAME +READY +UP-TO-DATE +AVAILABLE +AGE$"'
check "scale deployment" bash -c \
  'kubectl -n team-a scale deployment web --replicas=4 && [ "$(kubectl -n team-a get deploy web -o jsonpath={.spec.replicas})" = 4 ]'
sed -i 's/replicas: 1/replicas: 2/' "$work/deploy.yaml"
check "apply -f deployment (re-apply)" bash -c \
  'kubectl apply -f '"$work"'/deploy.yaml && [ "$(kubectl -n team-a get deploy web -o jsonpath={.spec.replicas})" = 2 ]'

cat >"$work/misc.yaml" <<'EOF'
apiVersion: batch/v1
kind: Job
metadata: {name: j1}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: busybox}]
---
apiVersion: coordination.k8s.io/v1
kind: Lease
metadata: {name: l1, namespace: kube-system}
spec: {holderIdentity: me, leaseDurationSeconds: 15}
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: high}
value: 1000
---
apiVersion: v1
kind: Node
metadata: {name: n1, labels: {node-role.kubernetes.io/worker: ""}}
status:
  capacity: {cpu: "8", memory: 32Gi, pods: "110"}
  conditions: [{type: Ready, status: "True"}]
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: pdb1}
spec: {minAvailable: 1, selector: {matchLabels: {app: web}}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cm1}
data: {a: "1"}
---
apiVersion: v1
kind: ResourceQuota
metadata: {name: q1, namespace: kube-public}
spec: {hard: {pods: "10"}}
EOF
check "apply -f multi-doc (job, lease, pc, node, pdb, cm, quota)" k apply -f "$work/misc.yaml"
check "job table" bash -c 'kubectl get jobs | head -1 | grep -qE "^NAME +STATUS +COMPLETIONS +DURATION +AGE$"'
check "lease table" bash -c 'kubectl -n kube-system get leases | grep -qE "^l1 +me +"'
check "node table and allocatable default" bash -c \
  'kubectl get nodes | grep -qE "^n1 +Ready +worker +" && [ "$(kubectl get node n1 -o jsonpath={.status.allocatable.cpu})" = 8 ]'
check "priority from priorityClassName" bash -c \
  'kubectl run hp --image=nginx --overrides="{\"spec\":{\"priorityClassName\":\"high\"}}" && [ "$(kubectl get pod hp -o jsonpath={.spec.priority})" = 1000 ]'
check "unknown priority class is rejected" bash -c \
  'out=$(kubectl run bad --image=nginx --overrides="{\"spec\":{\"priorityClassName\":\"nope\"}}" 2>&1); grep -q "no PriorityClass with name nope was found" <<<"$out"'

check "events via events.k8s.io show in kubectl get events" bash -c '
  kubectl create --raw /apis/events.k8s.io/v1/namespaces/default/events -f - >/dev/null <<EOF
{"apiVersion":"events.k8s.io/v1","kind":"Event","metadata":{"name":"web-1.1"},"eventTime":"2024-05-01T10:00:00.000000Z","reportingController":"cosched","reportingInstance":"cosched-h","action":"Binding","reason":"Scheduled","regarding":{"kind":"Pod","namespace":"default","name":"web-1"},"note":"Successfully assigned default/web-1 to n1","type":"Normal"}
EOF
  out=$(kubectl get events)
  grep -q "Scheduled" <<<"$out" && grep -q "pod/web-1" <<<"$out" && grep -q "Successfully assigned default/web-1 to n1" <<<"$out" &&
  [ "$(kubectl get events.v1.events.k8s.io web-1.1 -o jsonpath={.note})" = "Successfully assigned default/web-1 to n1" ] &&
  [ "$(kubectl get events.v1. web-1.1 -o jsonpath={.reportingComponent})" = cosched ]'

cat >"$work/crd.yaml" <<'EOF'
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: podgroups.scheduling.sigs.k8s.io
  annotations: {api-approved.kubernetes.io: "unapproved, test only"}
spec:
  group: scheduling.sigs.k8s.io
  scope: Namespaced
  names: {plural: podgroups, singular: podgroup, kind: PodGroup, shortNames: [pg]}
  versions:
  - name: v1alpha1
    served: true
    storage: true
    subresources: {status: {}}
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
    additionalPrinterColumns:
    - {name: MinMember, type: integer, jsonPath: .spec.minMember}
    - {name: Phase, type: string, jsonPath: .status.phase}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: queues.scheduling.volcano.sh}
spec:
  group: scheduling.volcano.sh
  scope: Cluster
  names: {plural: queues, singular: queue, kind: Queue, shortNames: [q]}
  versions:
  - {name: v1beta1, served: true, storage: true, schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}
EOF
cat >"$work/cr.yaml" <<'EOF'
apiVersion: scheduling.sigs.k8s.io/v1alpha1
kind: PodGroup
metadata: {name: pg1}
spec: {minMember: 3}
---
apiVersion: scheduling.volcano.sh/v1beta1
kind: Queue
metadata: {name: q1}
spec: {weight: 1}
EOF
check "apply CRDs" k apply -f "$work/crd.yaml"
crds_served() { kubectl get pg >/dev/null 2>&1 && kubectl get q >/dev/null 2>&1; }
check "CRDs established and served" wait_until 20 crds_served
check "CRD kinds appear in api-resources" bash -c \
  'kubectl api-resources | grep -qE "^podgroups +pg +scheduling.sigs.k8s.io/v1alpha1 +true +PodGroup" && kubectl api-resources | grep -qE "^queues +q +scheduling.volcano.sh/v1beta1 +false +Queue"'
check "create custom objects (namespaced + cluster)" k apply -f "$work/cr.yaml"
check "CRD printer columns" bash -c \
  'kubectl get pg | head -1 | grep -qE "^NAME +MINMEMBER +PHASE$" && kubectl get pg | grep -qE "^pg1 +3 +"'
check "custom object status subresource ignores main-resource status" bash -c \
  'kubectl patch pg pg1 --type=merge -p "{\"status\":{\"phase\":\"Running\"}}" && [ -z "$(kubectl get pg pg1 -o jsonpath={.status.phase})" ] && kubectl patch pg pg1 --subresource=status --type=merge -p "{\"status\":{\"phase\":\"Running\"}}" && [ "$(kubectl get pg pg1 -o jsonpath={.status.phase})" = Running ]'
check "strategic patch on a custom object -> 415" bash -c \
  'out=$(kubectl patch q q1 --type=strategic -p "{\"spec\":{\"weight\":2}}" 2>&1); grep -qi "unsupported\|unknown format\|415" <<<"$out"'
check "delete CRD stops serving its kind" bash -c \
  'kubectl delete crd queues.scheduling.volcano.sh && ! kubectl get --raw /apis/scheduling.volcano.sh/v1beta1/queues >/dev/null 2>&1'

check "get -w streams a new pod" bash -c '
  timeout 8 kubectl get pods -w --request-timeout=5s >'"$work"'/watch.out 2>&1 &
  wp=$!; sleep 1.5; kubectl run watched --image=nginx >/dev/null; sleep 1.5; kill $wp 2>/dev/null; wait $wp 2>/dev/null
  grep -q "^watched " '"$work"'/watch.out'
check "delete pod (unbound: immediate)" bash -c 'kubectl delete pod watched --wait=false && ! kubectl get pod watched >/dev/null 2>&1'
check "delete namespace default is forbidden" bash -c \
  'out=$(kubectl delete ns default 2>&1); grep -q "may not be deleted" <<<"$out"'
if on_apisim; then
  check "delete namespace removes its objects" bash -c \
    'kubectl delete ns team-a --wait=false && ! kubectl -n team-a get deploy web >/dev/null 2>&1'
else
  skip_k8s "delete namespace removes its objects" "the namespace controller is part of kube-controller-manager, not run here"
  check "delete namespace: Terminating, new objects refused" bash -c \
    'kubectl delete ns team-a --wait=false && [ "$(kubectl get ns team-a -o jsonpath={.status.phase})" = Terminating ] &&
     out=$(kubectl -n team-a create configmap late 2>&1); grep -q "because it is being terminated" <<<"$out"'
fi
check "404 is a Status object" bash -c \
  'out=$(kubectl get --raw /api/v1/namespaces/default/pods/nope 2>&1); grep -q "pods \"nope\" not found" <<<"$out"'
if on_apisim; then
  check "apisim exits 0 on SIGTERM" stop_apisim
  # HTTPS + bearer token
  start_apisim --tls --token s3cret || { notok "apisim --tls starts"; cat "$work/apisim.log"; exit 1; }
  check "tls url line" grep -qE '^apisim: serving on https://127\.0\.0\.1:[0-9]+$' "$work/apisim.out"
else
  skip_k8s "apisim exits 0 on SIGTERM; tls url line" "apisim's own process; the real server is already HTTPS with a token"
fi
check "kubectl over https with token (CA from kubeconfig)" bash -c 'kubectl get ns default -o name | grep -qx namespace/default'
check "wrong token -> 401" bash -c \
  'out=$(kubectl --token=wrong get ns 2>&1); grep -qi "unauthorized\|provide credentials" <<<"$out"'
if on_apisim; then check "apisim --tls exits 0 on SIGTERM" stop_apisim; fi
[ "$FAILS" -eq 0 ]
