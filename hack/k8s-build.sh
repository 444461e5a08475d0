#!/usr/bin/env bash
# Build the real control plane used as a test and benchmark peer (issue 8): kube-apiserver,
# kube-scheduler and kubectl v1.37.2 from k8s.io/kubernetes, and etcd v3.7.3, into build/k8s/.
# Go is a test-time tool only; cosched never links any of it.
#
# Two wrapper modules keep the dependency graphs apart: hack/k8s (k8s.io/kubernetes with every
# staging module replaced by the same name at v0.37.2, the replace list read from the module's
# own go.mod) and hack/k8s/etcd. The module and build caches stay in Go's default places, and a
# stamp file naming the versions makes a second run a no-op.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
K8S=v1.37.2
STAGING=v0.37.2
ETCD=v3.7.3
OUT=$ROOT/build/k8s
STAMP=$OUT/.built-$K8S-etcd-$ETCD
if [ -f "$STAMP" ] && [ -x "$OUT/kube-apiserver" ] && [ -x "$OUT/kube-scheduler" ] &&
   [ -x "$OUT/etcd" ] && [ -x "$OUT/kubectl" ]; then
  exit 0
fi
if ! command -v go >/dev/null 2>&1; then
  echo "k8s-build: go is not installed; the real control plane cannot be built" >&2
  exit 2
fi
mkdir -p "$OUT"
export CGO_ENABLED=0 GOFLAGS=-buildvcs=false
t0=$(date +%s)

# --- Kubernetes wrapper module ------------------------------------------------------------
cd "$ROOT/hack/k8s"
if ! grep -q "k8s.io/kubernetes $K8S" go.mod 2>/dev/null; then
  gomod=$(go mod download -json "k8s.io/kubernetes@$K8S" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  [ -f "$gomod" ] || { echo "k8s-build: cannot fetch k8s.io/kubernetes@$K8S" >&2; exit 1; }
  {
    echo "module cosched.test/k8speers"
    echo
    echo "go 1.26.0"
    echo
    echo "require k8s.io/kubernetes $K8S"
    echo
    echo "replace ("
    grep -E '^\s*k8s.io/[a-z0-9-]+ => \./staging/' "$gomod" |
      sed -E "s#^\s*(k8s.io/[a-z0-9-]+) => .*#\t\1 => \1 $STAGING#"
    echo ")"
  } >go.mod
  go mod tidy
fi
LDF="-s -w -X k8s.io/component-base/version.gitVersion=$K8S -X k8s.io/component-base/version.gitMajor=1"
LDF="$LDF -X k8s.io/component-base/version.gitMinor=37 -X k8s.io/client-go/pkg/version.gitVersion=$K8S"
LDF="$LDF -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=37"
go build -ldflags "$LDF" -o "$OUT/" k8s.io/kubernetes/cmd/kube-apiserver \
  k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl

# --- etcd wrapper module --------------------------------------------------------------------
cd "$ROOT/hack/k8s/etcd"
if ! grep -q "go.etcd.io/etcd/server/v3 $ETCD" go.mod 2>/dev/null; then
  printf 'module cosched.test/etcdpeer\n\ngo 1.26.0\n\nrequire go.etcd.io/etcd/server/v3 %s\n' "$ETCD" >go.mod
  go mod tidy
fi
go build -ldflags "-s -w" -o "$OUT/etcd" go.etcd.io/etcd/server/v3

touch "$STAMP"
echo "k8s-build: built kube-apiserver, kube-scheduler, kubectl $K8S and etcd $ETCD in $(( $(date +%s) - t0 )) s"
