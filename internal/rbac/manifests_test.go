package rbac

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite the generated RBAC manifests under deploy/ from ClusterRules and LeaseRules")

// header marks a generated file and says how to regenerate it.
const header = `# Code generated from internal/rbac (ClusterRules, LeaseRules) by
# "go test ./internal/rbac -run TestGeneratedManifests -update". DO NOT EDIT:
# change internal/rbac/rbac.go, whose tests prove every rule is called.
`

// labels are the ones every oombot object carries (the Helm chart adds its
// own set from its helpers).
const labels = `  labels:
    app.kubernetes.io/name: oombot
    app.kubernetes.io/instance: oombot
`

// rulesYAML writes rules as a YAML list at indent, each with its reason.
func rulesYAML(rules []documented, indent string) string {
	var b strings.Builder
	q := func(list []string) string {
		out := make([]string, len(list))
		for i, s := range list {
			out[i] = fmt.Sprintf("%q", s)
		}
		return "[" + strings.Join(out, ", ") + "]"
	}
	for _, r := range rules {
		fmt.Fprintf(&b, "%s# %s\n", indent, r.why)
		fmt.Fprintf(&b, "%s- apiGroups: %s\n", indent, q(r.APIGroups))
		fmt.Fprintf(&b, "%s  resources: %s\n", indent, q(r.Resources))
		if len(r.ResourceNames) > 0 {
			fmt.Fprintf(&b, "%s  resourceNames: %s\n", indent, q(r.ResourceNames))
		}
		fmt.Fprintf(&b, "%s  verbs: %s\n", indent, q(r.Verbs))
	}
	return b.String()
}

// generated maps each file (relative to the repository root) to its
// content.
func generated() map[string]string {
	return map[string]string{
		"deploy/kustomize/base/clusterrole.yaml": header +
			"# Read-only: what a triage reads, in every namespace.\n" +
			"apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: oombot\n" + labels +
			"rules:\n" + rulesYAML(clusterRules(), "  "),
		"deploy/kustomize/remote-reader/clusterrole.yaml": header +
			"# Read-only: what a triage reads, in every namespace of a remote cluster.\n" +
			"apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: oombot\n" + labels +
			"rules:\n" + rulesYAML(clusterRules(), "  "),
		"deploy/kustomize/overlays/namespaced/role.yaml": header +
			"# Read-only: what a triage reads, in this namespace only (the overlay's\n# namespace).\n" +
			"apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: oombot\n" + labels +
			"rules:\n" + rulesYAML(clusterRules(), "  "),
		"deploy/kustomize/overlays/ha/lease-role.yaml": header +
			"# The leader-election Lease, in the bot's own namespace: the one write\n# the bot makes.\n" +
			"apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: oombot-leader-election\n  namespace: oombot\n" + labels +
			"rules:\n" + rulesYAML(leaseRules(), "  "),
		"deploy/helm/oombot/files/rbac-rules.yaml": header +
			"# Read by templates/rbac.yaml (.Files.Get).\n" +
			"clusterRules:\n" + rulesYAML(clusterRules(), "  ") +
			"leaseRules:\n" + rulesYAML(leaseRules(), "  "),
	}
}

// TestGeneratedManifests keeps the RBAC objects under deploy/ identical to
// ClusterRules and LeaseRules (the deploy test also checks the rendered
// manifests; this one needs no helm or kustomize binary).
func TestGeneratedManifests(t *testing.T) {
	root := filepath.Join("..", "..")
	for path, want := range generated() {
		full := filepath.Join(root, filepath.FromSlash(path))
		if *update {
			if err := os.WriteFile(full, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(full)
		if err != nil {
			t.Errorf("%s: %v (run: go test ./internal/rbac -run TestGeneratedManifests -update)", path, err)
			continue
		}
		if !bytes.Equal(got, []byte(want)) {
			t.Errorf("%s is out of date with internal/rbac: run go test ./internal/rbac -run TestGeneratedManifests -update", path)
		}
	}
}

// The generated YAML must decode to exactly the rules it was written from.
func TestGeneratedRulesRoundTrip(t *testing.T) {
	var role rbacv1.ClusterRole
	if err := yaml.UnmarshalStrict([]byte(generated()["deploy/kustomize/base/clusterrole.yaml"]), &role); err != nil {
		t.Fatal(err)
	}
	if err := Compare(role.Rules, ClusterRules()); err != nil {
		t.Error(err)
	}
	var chart struct {
		ClusterRules []rbacv1.PolicyRule `json:"clusterRules"`
		LeaseRules   []rbacv1.PolicyRule `json:"leaseRules"`
	}
	if err := yaml.UnmarshalStrict([]byte(generated()["deploy/helm/oombot/files/rbac-rules.yaml"]), &chart); err != nil {
		t.Fatal(err)
	}
	if err := Compare(chart.ClusterRules, ClusterRules()); err != nil {
		t.Error(err)
	}
	if err := Compare(chart.LeaseRules, LeaseRules()); err != nil {
		t.Error(err)
	}
}
