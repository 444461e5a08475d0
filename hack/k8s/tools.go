//go:build tools

// Package tools pins the commands hack/k8s-build.sh builds, so that `go mod tidy` keeps their
// dependencies in this wrapper module. Never compiled into anything.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
