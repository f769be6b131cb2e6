//go:build tools

// Package tools records the Loki binary as a dependency of this module so that
// `go mod tidy` keeps its requirements; scripts/loki.sh builds it with
// `go build github.com/grafana/loki/v3/cmd/loki`.
package tools

import _ "github.com/grafana/loki/v3/cmd/loki"
