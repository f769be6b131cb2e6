package rbac

import (
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
)

func TestCheck(t *testing.T) {
	rule := func(groups, resources, verbs []string, names ...string) rbacv1.PolicyRule {
		return rbacv1.PolicyRule{APIGroups: groups, Resources: resources, Verbs: verbs, ResourceNames: names}
	}
	core, apps, coord := []string{""}, []string{"apps"}, []string{CoordinationGroup}
	for _, tc := range []struct {
		name  string
		rules []rbacv1.PolicyRule
		want  []string // substrings of the error; none means no error
	}{
		{"cluster rules as written", ClusterRules(), nil},
		{"lease rules as written", LeaseRules(), nil},
		{"regrouped and reordered, verbs in capitals", []rbacv1.PolicyRule{
			rule(apps, []string{"statefulsets", "deployments"}, []string{"GET"}),
			rule(apps, []string{"replicasets"}, []string{"list", "get"}),
			rule(core, []string{"events"}, []string{"list"}),
			rule(core, []string{"pods/log"}, []string{"get"}),
			rule(core, []string{"pods"}, []string{"watch", "list", "get", "get"}),
		}, nil},
		{"missing verb", append(ClusterRules()[:1:1], ClusterRules()[2:]...),
			[]string{"missing get pods/log (core)"}},
		{"extra nodes", append(ClusterRules(), rule(core, []string{"nodes"}, []string{"get", "list"})),
			[]string{"extra get nodes (core)", "extra list nodes (core)"}},
		{"wildcard verbs are not the explicit list", []rbacv1.PolicyRule{rule(core, []string{"pods"}, []string{"*"})},
			[]string{"extra * pods (core)", "missing get pods (core)"}},
		{"secrets", append(ClusterRules(), rule(core, []string{"secrets"}, []string{"get"})),
			[]string{"extra get secrets (core)"}},
		{"lease without resourceNames", []rbacv1.PolicyRule{rule(coord, []string{"leases"}, []string{"get", "create", "update"})},
			[]string{"extra get leases (coordination.k8s.io)", "missing get leases (coordination.k8s.io) name=oombot"}},
		{"lease rules mixed into the cluster role", append(ClusterRules(), LeaseRules()...),
			[]string{"extra get pods (core)"}},
		{"non-resource URL", append(ClusterRules(), rbacv1.PolicyRule{NonResourceURLs: []string{"/metrics"}, Verbs: []string{"get"}}),
			[]string{"extra get /metrics"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Check(tc.rules)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Check passed, want an error with %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestAllows(t *testing.T) {
	for _, tc := range []struct {
		call Call
		want bool
	}{
		{Call{Verb: "get", Resource: "pods", Namespace: "shop", Name: "p"}, true},
		{Call{Verb: "list", Resource: "pods"}, true},
		{Call{Verb: "watch", Resource: "pods"}, true},
		{Call{Verb: "watch", Resource: "events"}, false},
		{Call{Verb: "delete", Resource: "pods", Namespace: "shop", Name: "p"}, false},
		{Call{Verb: "get", Resource: "pods", Subresource: "log", Namespace: "shop"}, true},
		{Call{Verb: "create", Resource: "pods", Subresource: "exec", Namespace: "shop", Name: "p"}, false},
		{Call{Verb: "get", Resource: "pods", Subresource: "status", Namespace: "shop", Name: "p"}, false},
		{Call{Verb: "get", Group: "apps", Resource: "deployments", Namespace: "shop", Name: "d"}, true},
		{Call{Verb: "get", Group: "extensions", Resource: "deployments", Namespace: "shop", Name: "d"}, false},
		{Call{Verb: "list", Group: "events.k8s.io", Resource: "events", Namespace: "shop"}, false},
		{Call{Verb: "get", Resource: "nodes", Name: "n"}, false},
		{Call{Verb: "get", Resource: "secrets", Namespace: "shop", Name: "s"}, false},
		{Call{Verb: "create", Group: CoordinationGroup, Resource: "leases", Namespace: "oombot", Name: LeaseName}, true},
		{Call{Verb: "update", Group: CoordinationGroup, Resource: "leases", Namespace: "oombot", Name: LeaseName}, true},
		{Call{Verb: "update", Group: CoordinationGroup, Resource: "leases", Namespace: "oombot", Name: "other"}, false},
		{Call{Verb: "get", Group: CoordinationGroup, Resource: "leases", Namespace: "oombot"}, false},
		{Call{Verb: "delete", Group: CoordinationGroup, Resource: "leases", Namespace: "oombot", Name: LeaseName}, false},
	} {
		if got := Allows(append(ClusterRules(), LeaseRules()...), tc.call); got != tc.want {
			t.Errorf("Allows(%s) = %v, want %v", tc.call, got, tc.want)
		}
	}
	wild := []rbacv1.PolicyRule{{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"*"}}}
	if !Allows(wild, Call{Verb: "create", Resource: "pods", Subresource: "exec"}) {
		t.Error("a wildcard rule must allow everything, as the authorizer does")
	}
}
