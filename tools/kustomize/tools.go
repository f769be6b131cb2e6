//go:build tools

// Package tools records the kustomize binary as a dependency of this module
// so that `go mod tidy` keeps its requirements; scripts/tool.sh builds it
// with `go build sigs.k8s.io/kustomize/kustomize/v5`.
package tools

import _ "sigs.k8s.io/kustomize/kustomize/v5"
