//go:build tools

// Package tools pins etcd's server (a main package) for hack/k8s-build.sh. Never compiled.
package tools

import _ "go.etcd.io/etcd/server/v3"
