//go:build tools

// Package tools records the Helm binary as a dependency of this module so
// that `go mod tidy` keeps its requirements; scripts/tool.sh builds it with
// `go build helm.sh/helm/v3/cmd/helm`.
package tools

import _ "helm.sh/helm/v3/cmd/helm"
