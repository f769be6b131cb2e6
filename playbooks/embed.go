// Package playbooks ships oombot's built-in diagnoses: one YAML playbook per
// failure pattern, embedded so the binary needs no files beside it. The
// format and the engine that evaluates them live in internal/playbooks.
package playbooks

import "embed"

// FS holds every shipped playbook (*.yaml at the root of this directory).
//
//go:embed *.yaml
var FS embed.FS
