// Package rbac is the single source of truth for the Kubernetes permissions
// the bot needs. The deploy manifests (kustomize base and overlays, the Helm
// chart) must grant exactly these rules: the deploy test renders them and
// compares with Check, and this package's tests run the real code paths on
// a fake clientset and check every API call they make against the rules,
// both ways (every call allowed, every granted verb used).
//
// Least privilege wins over any wish list: a resource or verb appears here
// only because some code calls it. There is no rule on nodes (nothing reads
// them), none on events.k8s.io (events are read through the core API), no
// watch (nothing watches yet; the pod watcher adds it together with its
// recorder), no exec, no secrets and no write except on the leader-election
// Lease.
package rbac

// The RBAC objects under deploy/ are written from these rules.
//go:generate go test -run TestGeneratedManifests -update .

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
)

// Names shared by the manifests and the code.
const (
	// LeaseName is the leader-election Lease (config leaderElection.leaseName
	// defaults to it); the Lease Role is restricted to it by resourceNames.
	LeaseName = "oombot"
	// CoordinationGroup is the API group of Leases.
	CoordinationGroup = "coordination.k8s.io"
)

// ClusterRules are what a triage reads: the pod and its siblings (a missing
// pod's close matches; a workload's most recently OOMKilled pod), the pod's
// events and previous logs, and its owner chain for the rollout history.
// They are granted cluster-wide by a ClusterRole, or per namespace by a Role
// in a namespace-scoped install.
func ClusterRules() []rbacv1.PolicyRule { return plain(clusterRules()) }

// LeaseRules are exactly what client-go's leaderelection with a
// resourcelock.LeaseLock calls (leaselock.go: Get, Create, Update; release
// on shutdown is an Update), granted by a Role in the bot's own namespace
// only — the one write the bot ever makes.
//
// get and update are restricted to the Lease's name. create cannot be:
// the API server authorizes a create before the object (and so its name)
// exists as a resource, so a create rule with resourceNames never matches.
func LeaseRules() []rbacv1.PolicyRule { return plain(leaseRules()) }

// documented is a rule with the reason it exists, written into the
// generated manifests beside it.
type documented struct {
	why string
	rbacv1.PolicyRule
}

func clusterRules() []documented {
	core, apps := []string{""}, []string{"apps"}
	return []documented{
		{"kube.Source.Pod (get), its not-found suggestions and fleet.LatestOOMPod (list); the optional OOMKilled watcher's informer (list, watch)",
			rbacv1.PolicyRule{APIGroups: core, Resources: []string{"pods"}, Verbs: []string{"get", "list", "watch"}}},
		{"kube.Source.Logs: the previous (OOMKilled) and current container log, capped by limitBytes",
			rbacv1.PolicyRule{APIGroups: core, Resources: []string{"pods/log"}, Verbs: []string{"get"}}},
		{"kube.Source.Events: the pod's events (involvedObject field selector)",
			rbacv1.PolicyRule{APIGroups: core, Resources: []string{"events"}, Verbs: []string{"list"}}},
		{"kube.Source.Workload: pod -> ReplicaSet -> Deployment, and the Deployment's ReplicaSets (its rollout history)",
			rbacv1.PolicyRule{APIGroups: apps, Resources: []string{"deployments"}, Verbs: []string{"get"}}},
		{"kube.Source.Workload: the pod's ReplicaSet (get) and its siblings (list)",
			rbacv1.PolicyRule{APIGroups: apps, Resources: []string{"replicasets"}, Verbs: []string{"get", "list"}}},
		{"kube.Source.Workload: a StatefulSet pod's owner",
			rbacv1.PolicyRule{APIGroups: apps, Resources: []string{"statefulsets"}, Verbs: []string{"get"}}},
	}
}

func leaseRules() []documented {
	group := []string{CoordinationGroup}
	return []documented{
		{"leader election creates the Lease once; create cannot be limited by resourceNames (the name is not known to the authorizer before the object exists)",
			rbacv1.PolicyRule{APIGroups: group, Resources: []string{"leases"}, Verbs: []string{"create"}}},
		{"leader election reads and renews (or releases) its own Lease only",
			rbacv1.PolicyRule{APIGroups: group, Resources: []string{"leases"}, ResourceNames: []string{LeaseName}, Verbs: []string{"get", "update"}}},
	}
}

func plain(ds []documented) []rbacv1.PolicyRule {
	out := make([]rbacv1.PolicyRule, len(ds))
	for i, d := range ds {
		out[i] = d.PolicyRule
	}
	return out
}

// Grant is one normalised permission: a verb on a group's resource (with
// subresource, "pods/log"), optionally limited to one object name.
type Grant struct {
	Group, Resource, Verb, Name string
	// URL is set instead for a non-resource URL rule.
	URL string
}

func (g Grant) String() string {
	if g.URL != "" {
		return fmt.Sprintf("%s %s", g.Verb, g.URL)
	}
	grp := g.Group
	if grp == "" {
		grp = "core"
	}
	s := fmt.Sprintf("%s %s (%s)", g.Verb, g.Resource, grp)
	if g.Name != "" {
		s += " name=" + g.Name
	}
	return s
}

// Grants flattens rules into sorted, de-duplicated grants: one per
// group × resource × verb × name. Wildcards stay literal ("*"), so a
// wildcard never equals the explicit list it would cover.
func Grants(rules []rbacv1.PolicyRule) []Grant {
	seen := map[Grant]bool{}
	for _, r := range rules {
		names := r.ResourceNames
		if len(names) == 0 {
			names = []string{""}
		}
		for _, v := range r.Verbs {
			v = strings.ToLower(v)
			for _, u := range r.NonResourceURLs {
				seen[Grant{Verb: v, URL: u}] = true
			}
			for _, g := range r.APIGroups {
				for _, res := range r.Resources {
					for _, n := range names {
						seen[Grant{Group: g, Resource: res, Verb: v, Name: n}] = true
					}
				}
			}
		}
	}
	out := make([]Grant, 0, len(seen))
	for g := range seen {
		out = append(out, g)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// Check compares a rendered rule set (one ClusterRole's or Role's rules)
// with the source of truth it stands for: LeaseRules when it grants
// anything on Leases, else ClusterRules. A role mixing both is reported with
// the grants that do not belong. Order and grouping do not matter.
func Check(rules []rbacv1.PolicyRule) error {
	for _, g := range Grants(rules) {
		if g.Group == CoordinationGroup && g.Resource == "leases" {
			return Compare(rules, LeaseRules())
		}
	}
	return Compare(rules, ClusterRules())
}

// Compare reports every grant of want missing from rules and every grant
// of rules that want lacks.
func Compare(rules, want []rbacv1.PolicyRule) error {
	got, exp := Grants(rules), Grants(want)
	var errs []error
	for _, g := range exp {
		if !slices.Contains(got, g) {
			errs = append(errs, fmt.Errorf("missing %s: the bot calls it", g))
		}
	}
	for _, g := range got {
		if !slices.Contains(exp, g) {
			errs = append(errs, fmt.Errorf("extra %s: no code needs it, so it must not be granted", g))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("rules differ from internal/rbac (the single source of truth): %w", errors.Join(errs...))
	}
	return nil
}

// Call is one Kubernetes API call, as a recorder sees it.
type Call struct {
	Verb, Group, Resource, Subresource, Namespace, Name string
}

func (c Call) String() string {
	res := c.Resource
	if c.Subresource != "" {
		res += "/" + c.Subresource
	}
	grp := c.Group
	if grp == "" {
		grp = "core"
	}
	s := fmt.Sprintf("%s %s (%s)", c.Verb, res, grp)
	if c.Name != "" {
		s += " " + c.Name
	}
	if c.Namespace != "" {
		s += " in namespace " + c.Namespace
	} else {
		s += " cluster-wide"
	}
	return s
}

// Allows reports whether rules permit c, the way the RBAC authorizer
// matches: group, resource (with subresource), verb, and resourceNames when
// the rule has them (a call without a name, like create or list, never
// matches a rule with resourceNames). Wildcards match anything.
func Allows(rules []rbacv1.PolicyRule, c Call) bool {
	res := c.Resource
	if c.Subresource != "" {
		res += "/" + c.Subresource
	}
	has := func(list []string, v string) bool {
		return slices.Contains(list, v) || slices.Contains(list, "*")
	}
	for _, r := range rules {
		if !has(r.Verbs, c.Verb) || !has(r.APIGroups, c.Group) || !has(r.Resources, res) {
			continue
		}
		if len(r.ResourceNames) > 0 && (c.Name == "" || !slices.Contains(r.ResourceNames, c.Name)) {
			continue
		}
		return true
	}
	return false
}

// Covers reports whether call c exercises grant g (the converse of Allows,
// per grant): used to prove every granted verb is needed.
func Covers(c Call, g Grant) bool {
	res := c.Resource
	if c.Subresource != "" {
		res += "/" + c.Subresource
	}
	return g.URL == "" && g.Verb == c.Verb && g.Group == c.Group && g.Resource == res && (g.Name == "" || g.Name == c.Name)
}
