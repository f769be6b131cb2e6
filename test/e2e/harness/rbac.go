package harness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"

	authv1 "k8s.io/api/authentication/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"

	"github.com/oombot/oombot/internal/rbac"
)

// RBAC is the bot's access as deploy/ renders it.
type RBAC struct {
	// ClusterRules are the rules of the rendered ClusterRole (what a
	// triage reads); LeaseRules the rules of the rendered Role on Leases.
	ClusterRules, LeaseRules []rbacv1.PolicyRule
	// Source says what was rendered ("kustomize build DIR").
	Source string
}

// Kustomizations of deploy/, relative to the repository root.
const (
	// KustomizeBase is the cluster-wide install: the triage ClusterRole.
	KustomizeBase = "deploy/kustomize/base"
	// KustomizeHA adds leader election: the Lease Role.
	KustomizeHA = "deploy/kustomize/overlays/ha"
)

// RenderDeployRBAC runs `kustomize build dir` and returns the rules of the
// rendered ClusterRole and Lease Role exactly as rendered: the objects the
// bot is bound to in tests are the ones users apply, not a copy typed into
// a test.
func RenderDeployRBAC(ctx context.Context, kustomize, dir string) (*RBAC, error) {
	if _, err := os.Stat(filepath.Join(dir, "kustomization.yaml")); err != nil {
		return nil, fmt.Errorf("render deploy RBAC: %w", err)
	}
	cmd := exec.CommandContext(ctx, kustomize, "build", dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w\n%s", dir, err, stderr.String())
	}
	r, err := ParseRBAC(out)
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	r.Source = "kustomize build " + dir
	return r, nil
}

// ParseRBAC picks the ClusterRole and the Role granting Leases out of a
// multi-document YAML stream.
func ParseRBAC(manifests []byte) (*RBAC, error) {
	dec := yaml.NewYAMLOrJSONDecoder(bytes.NewReader(manifests), 4096)
	r := &RBAC{}
	var clusterRoles, roles int
	for {
		var obj struct {
			Kind  string              `json:"kind"`
			Rules []rbacv1.PolicyRule `json:"rules"`
		}
		if err := dec.Decode(&obj); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("decode manifests: %w", err)
		}
		switch obj.Kind {
		case "ClusterRole":
			clusterRoles++
			r.ClusterRules = obj.Rules
		case "Role":
			if grantsLeases(obj.Rules) {
				roles++
				r.LeaseRules = obj.Rules
			} else {
				// A namespace-scoped install renders the triage rules as
				// a Role.
				clusterRoles++
				r.ClusterRules = obj.Rules
			}
		}
	}
	if clusterRoles != 1 || roles > 1 {
		return nil, fmt.Errorf("want one ClusterRole (triage) and at most one Role (Leases), got %d and %d", clusterRoles, roles)
	}
	return r, nil
}

func grantsLeases(rules []rbacv1.PolicyRule) bool {
	for _, r := range rules {
		if slices.Contains(r.APIGroups, rbac.CoordinationGroup) {
			return true
		}
	}
	return false
}

// Without returns a copy of r with the triage rule that grants verb on
// resource removed from its rule (the rule dropped when nothing is left
// of it): a deployment that forgot one permission.
func (r *RBAC) Without(resource, verb string) (*RBAC, error) {
	out := *r
	out.ClusterRules = nil
	found := false
	for _, rule := range r.ClusterRules {
		rule = *rule.DeepCopy()
		if slices.Contains(rule.Resources, resource) && slices.Contains(rule.Verbs, verb) {
			found = true
			rule.Verbs = slices.DeleteFunc(rule.Verbs, func(v string) bool { return v == verb })
			if len(rule.Verbs) == 0 {
				continue
			}
		}
		out.ClusterRules = append(out.ClusterRules, rule)
	}
	if !found {
		return nil, fmt.Errorf("no triage rule grants %s on %s", verb, resource)
	}
	out.Source = fmt.Sprintf("%s without %s %s", r.Source, verb, resource)
	return &out, nil
}

// BotKubeconfig gives ServiceAccount namespace/sa the access r describes
// and writes a kubeconfig authenticating as it to path: it creates the
// ServiceAccount, a ClusterRole holding r.ClusterRules bound to it, a Role
// holding r.LeaseRules in namespace bound to it, and a token from the
// TokenRequest API (one hour). The bot runs with that token, never the
// admin's.
func (cp *ControlPlane) BotKubeconfig(ctx context.Context, namespace, sa string, r *RBAC, path string) error {
	if err := cp.EnsureServiceAccount(ctx, namespace, sa); err != nil {
		return err
	}
	name := "oombot-e2e:" + namespace + ":" + sa
	subject := []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: sa, Namespace: namespace}}
	rb := cp.Admin.RbacV1()
	if _, err := rb.ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: r.ClusterRules}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create clusterrole %s: %w", name, err)
	}
	if _, err := rb.ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name}, Subjects: subject,
		RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create clusterrolebinding %s: %w", name, err)
	}
	if len(r.LeaseRules) > 0 {
		if _, err := rb.Roles(namespace).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: r.LeaseRules}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create role %s: %w", name, err)
		}
		if _, err := rb.RoleBindings(namespace).Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name}, Subjects: subject,
			RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create rolebinding %s: %w", name, err)
		}
	}
	tok, err := cp.Admin.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, sa, &authv1.TokenRequest{
		Spec: authv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)}}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("token for %s/%s: %w", namespace, sa, err)
	}
	return WriteKubeconfig(path, cp.API.URL, cp.API.CA.CertPEM, "e2e", tok.Status.Token, namespace)
}

// WriteKubeconfig writes a one-context kubeconfig (context and cluster
// named name) for a bearer token.
func WriteKubeconfig(path, server string, caPEM []byte, name, token, namespace string) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[name] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: caPEM}
	cfg.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name, Namespace: namespace}
	cfg.CurrentContext = name
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		return fmt.Errorf("write kubeconfig %s: %w", path, err)
	}
	return nil
}

// ServiceAccountUser is the username the API server gives a
// ServiceAccount's tokens (as it appears in the audit log).
func ServiceAccountUser(namespace, sa string) string {
	return "system:serviceaccount:" + namespace + ":" + sa
}
