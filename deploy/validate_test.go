package deploy_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"net"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/oombot/oombot/internal/config"
	"github.com/oombot/oombot/internal/rbac"
)

// secretEnv are the environment variables that carry secrets: each must
// come from a Secret, never a literal value.
var secretEnv = []string{
	config.EnvBotToken, config.EnvAppToken, config.EnvSigningSecret,
	config.EnvDDAPIKey, config.EnvDDAppKey, config.EnvDDSite, config.EnvLokiToken,
	"OPENAI_API_KEY", config.EnvWebhookSecret, config.EnvPostgresDSN,
}

// stubEnv stands in for the Secret's values when the rendered config is
// parsed: realistic enough for config.Parse and CheckSecrets.
var stubEnv = map[string]string{
	config.EnvBotToken: "xoxb-stub", config.EnvAppToken: "xapp-stub", config.EnvSigningSecret: "stub",
	config.EnvDDAPIKey: "stub", config.EnvDDAppKey: "stub", config.EnvLokiToken: "stub", "OPENAI_API_KEY": "stub",
	config.EnvWebhookSecret: "stub", config.EnvPostgresDSN: "postgres://oombot:stub@postgres:5432/oombot",
	config.EnvPodName: "oombot-7c9d-0",
}

// tokenLike matches real-looking Slack, OpenAI and Datadog credentials: no
// rendered manifest may contain one.
var tokenLike = regexp.MustCompile(`xox[abpr]-[0-9A-Za-z-]{6,}|xapp-[0-9]-[0-9A-Za-z-]{6,}|sk-[A-Za-z0-9_-]{20,}|\b[0-9a-f]{32}\b`)

// servedPaths are the paths `bot serve` registers on its HTTP mux, read
// from its source: a probe must point at one of them.
func servedPaths(t *testing.T) map[string]bool {
	t.Helper()
	dir := filepath.Join(repoRoot, "internal", "cmd", "serve")
	fset := token.NewFileSet()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	consts := map[string]string{}
	var files []*ast.File
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, e.Name()), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, s := range g.Specs {
				vs := s.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if i < len(vs.Values) {
						if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
							consts[n.Name], _ = strconv.Unquote(lit.Value)
						}
					}
				}
			}
		}
	}
	paths := map[string]bool{}
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) != 2 {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || (sel.Sel.Name != "Handle" && sel.Sel.Name != "HandleFunc") {
				return true
			}
			switch a := call.Args[0].(type) {
			case *ast.BasicLit:
				if s, err := strconv.Unquote(a.Value); err == nil {
					paths[s] = true
				}
			case *ast.Ident:
				if s, ok := consts[a.Name]; ok {
					paths[s] = true
				}
			}
			return true
		})
	}
	if !paths["/metrics"] {
		t.Fatalf("found no mux registrations in %s (found %v): has serve's mux moved?", dir, paths)
	}
	return paths
}

// install is one rendered installation, indexed by kind.
type install struct {
	name       string
	objs       []object
	deploys    []*appsv1.Deployment
	configMaps []*corev1.ConfigMap
	sas        []*corev1.ServiceAccount
	services   []*corev1.Service
	secrets    []*corev1.Secret
	pdbs       []*policyv1.PodDisruptionBudget
	netpols    []*networkingv1.NetworkPolicy
	roles      []*rbacv1.Role
	croles     []*rbacv1.ClusterRole
	rbs        []*rbacv1.RoleBinding
	crbs       []*rbacv1.ClusterRoleBinding
}

func newInstall(name string, objs []object) *install {
	in := &install{name: name, objs: objs}
	for _, o := range objs {
		switch v := o.obj.(type) {
		case *appsv1.Deployment:
			in.deploys = append(in.deploys, v)
		case *corev1.ConfigMap:
			in.configMaps = append(in.configMaps, v)
		case *corev1.ServiceAccount:
			in.sas = append(in.sas, v)
		case *corev1.Service:
			in.services = append(in.services, v)
		case *corev1.Secret:
			in.secrets = append(in.secrets, v)
		case *policyv1.PodDisruptionBudget:
			in.pdbs = append(in.pdbs, v)
		case *networkingv1.NetworkPolicy:
			in.netpols = append(in.netpols, v)
		case *rbacv1.Role:
			in.roles = append(in.roles, v)
		case *rbacv1.ClusterRole:
			in.croles = append(in.croles, v)
		case *rbacv1.RoleBinding:
			in.rbs = append(in.rbs, v)
		case *rbacv1.ClusterRoleBinding:
			in.crbs = append(in.crbs, v)
		}
	}
	return in
}

// result is what validation learnt about an install, for cross-checks.
type result struct {
	problems []string
	cfg      *config.Config
	// readNamespaces are the namespaces with the read rules; nil with
	// clusterWide.
	clusterWide    bool
	readNamespaces []string
}

func (r *result) bad(format string, args ...any) {
	r.problems = append(r.problems, fmt.Sprintf(format, args...))
}

func isLeaseRole(rules []rbacv1.PolicyRule) bool {
	for _, g := range rbac.Grants(rules) {
		if g.Group == rbac.CoordinationGroup && g.Resource == "leases" {
			return true
		}
	}
	return false
}

var readVerbs = []string{"get", "list", "watch"}

// checkRules lists what a role must never grant, whatever the source of
// truth says: secrets, exec/attach/port-forward, wildcards, and any write
// except on Leases.
func checkRules(r *result, what string, rules []rbacv1.PolicyRule) {
	for _, g := range rbac.Grants(rules) {
		switch {
		case g.URL != "":
			r.bad("%s grants non-resource URL %s", what, g)
		case g.Group == "*" || g.Resource == "*" || g.Verb == "*" || strings.HasSuffix(g.Resource, "/*"):
			r.bad("%s grants a wildcard: %s", what, g)
		case g.Resource == "secrets":
			r.bad("%s grants %s: the bot reads no Secret through the API", what, g)
		case slices.Contains([]string{"pods/exec", "pods/attach", "pods/portforward", "pods/proxy", "nodes/proxy", "serviceaccounts/token"}, g.Resource):
			r.bad("%s grants %s", what, g)
		case !slices.Contains(readVerbs, g.Verb) && !(g.Group == rbac.CoordinationGroup && g.Resource == "leases"):
			r.bad("%s grants write %s: the only write is the leader-election Lease", what, g)
		}
	}
}

// validate checks one install. served are the paths serve registers.
func validate(in *install, served map[string]bool) *result {
	r := &result{}
	if len(in.deploys) != 1 {
		r.bad("%d Deployments, want 1", len(in.deploys))
		return r
	}
	d := in.deploys[0]
	ns := d.Namespace
	pod := d.Spec.Template.Spec
	podLabels := labels.Set(d.Spec.Template.Labels)
	if sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector); err != nil || !sel.Matches(podLabels) {
		r.bad("Deployment selector %v does not match its pod labels %v", d.Spec.Selector, podLabels)
	}
	replicas := int32(1)
	if d.Spec.Replicas != nil {
		replicas = *d.Spec.Replicas
	}

	// Secrets: none rendered. Tokens live in a Secret the operator creates.
	for _, s := range in.secrets {
		r.bad("Secret %s/%s is rendered: tokens must never pass through manifests or values", s.Namespace, s.Name)
	}
	for _, o := range in.objs {
		if m := tokenLike.Find(o.raw); m != nil {
			r.bad("a rendered object contains a token-like literal %q", m)
		}
	}

	// ServiceAccount and API access.
	saName := pod.ServiceAccountName
	var sa *corev1.ServiceAccount
	for _, s := range in.sas {
		if s.Name == saName && s.Namespace == ns {
			sa = s
		}
	}
	switch {
	case saName == "" || saName == "default":
		r.bad("pod runs as the namespace's default ServiceAccount")
	case sa == nil:
		r.bad("ServiceAccount %s/%s is not rendered", ns, saName)
	case pod.AutomountServiceAccountToken != nil && !*pod.AutomountServiceAccountToken,
		pod.AutomountServiceAccountToken == nil && sa.AutomountServiceAccountToken != nil && !*sa.AutomountServiceAccountToken:
		r.bad("the ServiceAccount token is not mounted, but the bot reads the API with it")
	}
	if pod.HostNetwork || pod.HostPID || pod.HostIPC {
		r.bad("pod shares a host namespace")
	}
	for _, v := range pod.Volumes {
		if v.HostPath != nil {
			r.bad("volume %s is a hostPath", v.Name)
		}
	}

	// RBAC.
	checkRBAC(r, in, ns, saName)

	// Pod security.
	psc := pod.SecurityContext
	if psc == nil {
		psc = &corev1.PodSecurityContext{}
	}
	if len(pod.Containers) != 1 || len(pod.InitContainers) > 0 {
		r.bad("%d containers and %d init containers, want one container", len(pod.Containers), len(pod.InitContainers))
	}
	for _, c := range pod.Containers {
		checkContainer(r, c, psc, served)
	}
	if len(pod.Containers) == 0 {
		return r
	}
	c := pod.Containers[0]

	// The config: the ConfigMap mounted at /etc/oombot must hold a
	// config.yaml that the bot accepts with the env this pod provides.
	data, ok := configData(r, in, pod, c)
	if !ok {
		return r
	}
	provided := map[string]bool{}
	for _, e := range c.Env {
		provided[e.Name] = true
	}
	getenv := func(k string) string {
		if !provided[k] {
			return ""
		}
		if k == config.EnvPodNamespace {
			return ns
		}
		return stubEnv[k]
	}
	cfg, err := config.Parse([]byte(data), getenv)
	if err != nil {
		r.bad("config.yaml is rejected by the bot: %v", err)
		return r
	}
	r.cfg = cfg
	if err := cfg.CheckSecrets(); err != nil {
		r.bad("the pod lacks tokens its config needs: %v", err)
	}
	checkConfigAgainstPod(r, in, d, c, cfg, replicas)
	checkNetwork(r, in, d, c, cfg)
	return r
}

func checkRBAC(r *result, in *install, ns, sa string) {
	isSA := func(s rbacv1.Subject) bool { return s.Kind == "ServiceAccount" && s.Name == sa && s.Namespace == ns }
	bound := map[string]bool{} // "ClusterRole/name" or "Role/ns/name"
	for _, b := range in.crbs {
		if len(b.Subjects) != 1 || !isSA(b.Subjects[0]) {
			r.bad("ClusterRoleBinding %s binds %v, want only ServiceAccount %s/%s", b.Name, b.Subjects, ns, sa)
		}
		if b.RoleRef.Kind != "ClusterRole" {
			r.bad("ClusterRoleBinding %s refers to a %s", b.Name, b.RoleRef.Kind)
		}
		bound["ClusterRole/"+b.RoleRef.Name] = true
	}
	for _, b := range in.rbs {
		if len(b.Subjects) != 1 || !isSA(b.Subjects[0]) {
			r.bad("RoleBinding %s/%s binds %v, want only ServiceAccount %s/%s", b.Namespace, b.Name, b.Subjects, ns, sa)
		}
		if b.RoleRef.Kind == "ClusterRole" {
			bound["ClusterRole/"+b.RoleRef.Name+"@"+b.Namespace] = true
		} else {
			bound["Role/"+b.Namespace+"/"+b.RoleRef.Name] = true
		}
	}
	for _, cr := range in.croles {
		what := "ClusterRole " + cr.Name
		checkRules(r, what, cr.Rules)
		if isLeaseRole(cr.Rules) {
			r.bad("%s grants Leases cluster-wide: the Lease Role must be a Role in %s", what, ns)
		}
		if err := rbac.Compare(cr.Rules, rbac.ClusterRules()); err != nil {
			r.bad("%s: %v", what, err)
		}
		if !bound["ClusterRole/"+cr.Name] {
			r.bad("%s is bound by no ClusterRoleBinding", what)
		} else {
			r.clusterWide = true
		}
	}
	leaseRoles := 0
	for _, ro := range in.roles {
		what := "Role " + ro.Namespace + "/" + ro.Name
		checkRules(r, what, ro.Rules)
		if err := rbac.Check(ro.Rules); err != nil {
			r.bad("%s: %v", what, err)
		}
		if !bound["Role/"+ro.Namespace+"/"+ro.Name] {
			r.bad("%s is bound by no RoleBinding", what)
			continue
		}
		if isLeaseRole(ro.Rules) {
			leaseRoles++
			if ro.Namespace != ns {
				r.bad("%s grants Leases outside the bot's namespace %s", what, ns)
			}
		} else {
			r.readNamespaces = append(r.readNamespaces, ro.Namespace)
		}
	}
	if leaseRoles > 1 {
		r.bad("%d Lease Roles, want at most 1", leaseRoles)
	}
	for _, b := range in.rbs {
		if b.RoleRef.Kind == "ClusterRole" {
			r.bad("RoleBinding %s/%s binds ClusterRole %s: bind a Role generated from internal/rbac instead", b.Namespace, b.Name, b.RoleRef.Name)
		}
	}
	if r.clusterWide && len(r.readNamespaces) > 0 {
		r.bad("both a ClusterRole and per-namespace read Roles in %v: one or the other", r.readNamespaces)
	}
	if !r.clusterWide && len(r.readNamespaces) == 0 {
		r.bad("the ServiceAccount has no read rules: triage cannot read the API")
	}
	sort.Strings(r.readNamespaces)
}

func checkContainer(r *result, c corev1.Container, psc *corev1.PodSecurityContext, served map[string]bool) {
	sc := c.SecurityContext
	if sc == nil {
		sc = &corev1.SecurityContext{}
	}
	is := func(p *bool) bool { return p != nil && *p }
	if !is(sc.RunAsNonRoot) && !is(psc.RunAsNonRoot) {
		r.bad("container %s: runAsNonRoot is not set", c.Name)
	}
	uid := sc.RunAsUser
	if uid == nil {
		uid = psc.RunAsUser
	}
	if uid == nil || *uid != 65532 {
		r.bad("container %s: runAsUser is %v, want 65532 (distroless nonroot)", c.Name, uid)
	}
	if !is(sc.ReadOnlyRootFilesystem) {
		r.bad("container %s: readOnlyRootFilesystem is not true", c.Name)
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		r.bad("container %s: allowPrivilegeEscalation is not false", c.Name)
	}
	if is(sc.Privileged) {
		r.bad("container %s is privileged", c.Name)
	}
	if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) > 0 {
		r.bad("container %s: capabilities must drop ALL and add none: %+v", c.Name, sc.Capabilities)
	}
	seccomp := sc.SeccompProfile
	if seccomp == nil {
		seccomp = psc.SeccompProfile
	}
	if seccomp == nil || seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault {
		r.bad("container %s: seccompProfile is not RuntimeDefault", c.Name)
	}

	req, lim := c.Resources.Requests, c.Resources.Limits
	for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if _, ok := req[res]; !ok {
			r.bad("container %s: no %s request", c.Name, res)
		}
		l, ok := lim[res]
		if !ok {
			r.bad("container %s: no %s limit", c.Name, res)
		} else if q, ok := req[res]; ok && q.Cmp(l) > 0 {
			r.bad("container %s: %s request %s exceeds its limit %s", c.Name, res, q.String(), l.String())
		}
	}

	for _, p := range []struct {
		name  string
		probe *corev1.Probe
	}{{"liveness", c.LivenessProbe}, {"readiness", c.ReadinessProbe}, {"startup", c.StartupProbe}} {
		if p.probe == nil {
			if p.name != "startup" {
				r.bad("container %s: no %s probe", c.Name, p.name)
			}
			continue
		}
		h := p.probe.HTTPGet
		if h == nil {
			r.bad("container %s: %s probe is not an HTTP GET", c.Name, p.name)
			continue
		}
		if !served[h.Path] {
			r.bad("container %s: %s probe path %s is not served by bot serve (it serves %v)", c.Name, p.name, h.Path, keys(served))
		}
		if _, ok := containerPort(c, h.Port); !ok {
			r.bad("container %s: %s probe port %s is not a container port", c.Name, p.name, h.Port.String())
		}
	}
	if lp, rp := c.LivenessProbe, c.ReadinessProbe; lp != nil && rp != nil && lp.HTTPGet != nil && rp.HTTPGet != nil {
		if lp.HTTPGet.Path != "/healthz" || rp.HTTPGet.Path != "/readyz" {
			r.bad("container %s: liveness must be /healthz and readiness /readyz, got %s and %s", c.Name, lp.HTTPGet.Path, rp.HTTPGet.Path)
		}
	}

	if len(c.EnvFrom) > 0 {
		r.bad("container %s: envFrom imports every key of a Secret or ConfigMap; list the variables the bot reads", c.Name)
	}
	seen := map[string]bool{}
	secretName := ""
	for _, e := range c.Env {
		seen[e.Name] = true
		if tokenLike.MatchString(e.Value) {
			r.bad("container %s: env %s holds a literal token", c.Name, e.Name)
		}
		if !slices.Contains(secretEnv, e.Name) {
			continue
		}
		ref := (*corev1.SecretKeySelector)(nil)
		if e.ValueFrom != nil {
			ref = e.ValueFrom.SecretKeyRef
		}
		switch {
		case e.Value != "" || ref == nil:
			r.bad("container %s: %s must come from a Secret (secretKeyRef), not a literal", c.Name, e.Name)
		case ref.Key != e.Name:
			r.bad("container %s: %s comes from key %s; keep key and variable names equal", c.Name, e.Name, ref.Key)
		case secretName != "" && ref.Name != secretName:
			r.bad("container %s: tokens come from two Secrets, %s and %s", c.Name, secretName, ref.Name)
		default:
			secretName = ref.Name
		}
	}
	for _, want := range append([]string{"GOMEMLIMIT", config.EnvPodName, config.EnvPodNamespace}, secretEnv...) {
		if !seen[want] {
			r.bad("container %s: env %s is not set", c.Name, want)
		}
	}
	for _, e := range c.Env {
		switch e.Name {
		case "GOMEMLIMIT":
			if e.ValueFrom == nil || e.ValueFrom.ResourceFieldRef == nil || e.ValueFrom.ResourceFieldRef.Resource != "limits.memory" {
				r.bad("container %s: GOMEMLIMIT must follow limits.memory (resourceFieldRef)", c.Name)
			}
		case config.EnvPodName, config.EnvPodNamespace:
			want := map[string]string{config.EnvPodName: "metadata.name", config.EnvPodNamespace: "metadata.namespace"}[e.Name]
			if e.ValueFrom == nil || e.ValueFrom.FieldRef == nil || e.ValueFrom.FieldRef.FieldPath != want {
				r.bad("container %s: %s must come from the Downward API (%s)", c.Name, e.Name, want)
			}
		}
	}
}

// containerPort resolves a probe's or Service's port (name or number).
func containerPort(c corev1.Container, p intstr.IntOrString) (int32, bool) {
	for _, cp := range c.Ports {
		if (p.Type == intstr.String && cp.Name == p.StrVal) || (p.Type == intstr.Int && cp.ContainerPort == p.IntVal) {
			return cp.ContainerPort, true
		}
	}
	return 0, false
}

// mountFor returns the mount whose path is, or contains, p.
func mountFor(c corev1.Container, p string) (corev1.VolumeMount, bool) {
	var best corev1.VolumeMount
	found := false
	for _, m := range c.VolumeMounts {
		if (p == m.MountPath || strings.HasPrefix(p, strings.TrimSuffix(m.MountPath, "/")+"/")) && len(m.MountPath) >= len(best.MountPath) {
			best, found = m, true
		}
	}
	return best, found
}

func volume(pod corev1.PodSpec, name string) (corev1.Volume, bool) {
	for _, v := range pod.Volumes {
		if v.Name == name {
			return v, true
		}
	}
	return corev1.Volume{}, false
}

// configData finds the config.yaml the container reads.
func configData(r *result, in *install, pod corev1.PodSpec, c corev1.Container) (string, bool) {
	args := strings.Join(c.Args, " ")
	if len(c.Command) > 0 || (args != "" && args != "serve --config "+configPath) {
		r.bad("container %s runs %q %q, want the image's entrypoint with serve --config %s", c.Name, c.Command, c.Args, configPath)
	}
	m, ok := mountFor(c, configPath)
	if !ok {
		r.bad("nothing is mounted at %s", configPath)
		return "", false
	}
	v, ok := volume(pod, m.Name)
	if !ok || v.ConfigMap == nil {
		r.bad("%s is not mounted from a ConfigMap", configPath)
		return "", false
	}
	if v.ConfigMap.Optional != nil && *v.ConfigMap.Optional {
		r.bad("the config ConfigMap is optional: without it the bot cannot start")
	}
	for _, cm := range in.configMaps {
		if cm.Name == v.ConfigMap.Name && cm.Namespace == in.deploys[0].Namespace {
			data, ok := cm.Data[path.Base(configPath)]
			if !ok {
				r.bad("ConfigMap %s has no %s", cm.Name, path.Base(configPath))
			}
			return data, ok
		}
	}
	r.bad("ConfigMap %s (mounted at %s) is not rendered", v.ConfigMap.Name, m.MountPath)
	return "", false
}

// listenPort is the port the config makes serve listen on for metrics,
// probes and webhooks.
func listenPort(cfg *config.Config) (int32, error) {
	addr := cfg.MetricsListen
	if cfg.Slack.Mode == config.ModeHTTP {
		addr = cfg.Slack.Listen
	}
	if addr == "" {
		return 0, fmt.Errorf("the config serves no HTTP port (metricsListen is empty): probes and metrics need one")
	}
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, fmt.Errorf("listen address %q: %w", addr, err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		return 0, fmt.Errorf("listen address %q: %w", addr, err)
	}
	return int32(n), nil
}

func checkConfigAgainstPod(r *result, in *install, d *appsv1.Deployment, c corev1.Container, cfg *config.Config, replicas int32) {
	pod := d.Spec.Template.Spec
	ns := d.Namespace
	port, err := listenPort(cfg)
	if err != nil {
		r.bad("%v", err)
	} else {
		for _, p := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe, c.StartupProbe} {
			if p == nil || p.HTTPGet == nil {
				continue
			}
			if got, ok := containerPort(c, p.HTTPGet.Port); ok && got != port {
				r.bad("probe %s goes to port %d, but the config listens on %d", p.HTTPGet.Path, got, port)
			}
		}
		for _, s := range in.services {
			for _, sp := range s.Spec.Ports {
				if got, ok := containerPort(c, sp.TargetPort); !ok || got != port {
					r.bad("Service %s port %s targets %s, not the config's listen port %d", s.Name, sp.Name, sp.TargetPort.String(), port)
				}
			}
			if !labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(d.Spec.Template.Labels)) || len(s.Spec.Selector) == 0 {
				r.bad("Service %s does not select the bot's pods", s.Name)
			}
		}
	}
	writable := func(p, what string) {
		m, ok := mountFor(c, p)
		if !ok || m.ReadOnly {
			r.bad("%s %s is not on a writable volume (the root filesystem is read-only)", what, p)
		}
	}
	switch cfg.Store.Driver {
	case config.StoreSQLite:
		writable(path.Dir(cfg.Store.Path), "the SQLite directory")
	case config.StorePostgres:
		for _, e := range c.Env {
			if e.Name == config.EnvPostgresDSN && e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil &&
				e.ValueFrom.SecretKeyRef.Optional != nil && *e.ValueFrom.SecretKeyRef.Optional {
				r.bad("store postgres: %s is optional in the pod, but the bot cannot start without it", config.EnvPostgresDSN)
			}
		}
	}
	if dir := cfg.Playbooks.Dir; dir != "" {
		if m, ok := mountFor(c, dir); !ok || m.MountPath != dir {
			r.bad("playbooks.dir %s is not a mounted directory", dir)
		}
	}
	for _, k := range cfg.Clusters {
		switch {
		case k.Bundle != "":
			r.bad("cluster %s is a bundle: the image has no bundles", k.Name)
		case k.Kubeconfig != "":
			m, ok := mountFor(c, k.Kubeconfig)
			if v, vok := volume(pod, m.Name); !ok || !vok || v.Secret == nil {
				r.bad("cluster %s: kubeconfig %s is not on a mounted Secret", k.Name, k.Kubeconfig)
			}
		}
	}
	le := cfg.LeaderElection
	leading := le != nil && le.Enabled
	hasLeaseRole := false
	for _, ro := range in.roles {
		if isLeaseRole(ro.Rules) {
			hasLeaseRole = true
		}
	}
	switch {
	case leading && !hasLeaseRole:
		r.bad("leaderElection is enabled but no Role grants the Lease")
	case !leading && hasLeaseRole:
		r.bad("a Lease Role is rendered without leaderElection: least privilege says drop it")
	case leading:
		if le.LeaseName != rbac.LeaseName {
			r.bad("leaderElection.leaseName %q, but the Lease Role allows only %q", le.LeaseName, rbac.LeaseName)
		}
		if le.Namespace != ns {
			r.bad("the Lease lives in %q, the Lease Role in %q", le.Namespace, ns)
		}
	}
	if replicas > 1 && !leading {
		r.bad("%d replicas without leaderElection", replicas)
	}
	if replicas == 1 && d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType && !leading {
		r.bad("one replica without leader election must use the Recreate strategy (no two Socket Mode connections, RWO volumes)")
	}
	for _, p := range in.pdbs {
		if sel, err := metav1.LabelSelectorAsSelector(p.Spec.Selector); err != nil || !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
			r.bad("PodDisruptionBudget %s does not select the bot's pods", p.Name)
		}
		minAvail := p.Spec.MinAvailable
		switch {
		case replicas > 1 && (minAvail == nil || minAvail.IntValue() < 1):
			r.bad("PodDisruptionBudget %s: %d replicas should keep minAvailable 1", p.Name, replicas)
		case replicas == 1 && minAvail != nil && minAvail.IntValue() >= 1:
			r.bad("PodDisruptionBudget %s: minAvailable %s with one replica blocks every node drain", p.Name, minAvail.String())
		}
	}
	if len(in.pdbs) == 0 {
		r.bad("no PodDisruptionBudget")
	}

	// What the bot may triage must be what RBAC lets it read.
	if !r.clusterWide {
		covered := func(n string) bool { return slices.Contains(r.readNamespaces, n) }
		for _, ch := range cfg.Channels {
			for _, n := range ch.Namespaces {
				if n == "*" || !covered(n) {
					r.bad("channel %s may triage namespace %q, but the Roles cover only %v", ch.ID, n, r.readNamespaces)
				}
			}
		}
		if w := cfg.Watch; w != nil && w.Enabled {
			if len(w.Namespaces) == 0 {
				r.bad("the watcher lists every namespace, but the Roles cover only %v: set watch.namespaces", r.readNamespaces)
			}
			for _, n := range w.Namespaces {
				if !covered(n) {
					r.bad("watch.namespaces has %q, not covered by a Role", n)
				}
			}
		}
	}
}

// policyPorts lists the "proto/port" entries of a set of NetworkPolicy
// ports, resolving the named port through the container.
func policyPorts(c corev1.Container, ports []networkingv1.NetworkPolicyPort) []string {
	var out []string
	for _, p := range ports {
		proto := corev1.ProtocolTCP
		if p.Protocol != nil {
			proto = *p.Protocol
		}
		if p.Port == nil {
			out = append(out, string(proto)+"/*")
			continue
		}
		n := p.Port.IntVal
		if p.Port.Type == intstr.String {
			if cp, ok := containerPort(c, *p.Port); ok {
				n = cp
			}
		}
		out = append(out, fmt.Sprintf("%s/%d", proto, n))
	}
	return out
}

func checkNetwork(r *result, in *install, d *appsv1.Deployment, c corev1.Container, cfg *config.Config) {
	podLabels := labels.Set(d.Spec.Template.Labels)
	var ingress, egress []string
	restricted := map[networkingv1.PolicyType]bool{}
	for _, np := range in.netpols {
		sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
		if err != nil || !sel.Matches(podLabels) || len(np.Spec.PodSelector.MatchLabels) == 0 {
			r.bad("NetworkPolicy %s does not select (only) the bot's pods", np.Name)
			continue
		}
		for _, t := range np.Spec.PolicyTypes {
			restricted[t] = true
		}
		for _, rule := range np.Spec.Ingress {
			if len(rule.Ports) == 0 {
				r.bad("NetworkPolicy %s admits ingress on every port", np.Name)
			}
			ingress = append(ingress, policyPorts(c, rule.Ports)...)
		}
		for _, rule := range np.Spec.Egress {
			if len(rule.Ports) == 0 {
				r.bad("NetworkPolicy %s allows egress on every port", np.Name)
			}
			egress = append(egress, policyPorts(c, rule.Ports)...)
		}
	}
	if !restricted[networkingv1.PolicyTypeIngress] || !restricted[networkingv1.PolicyTypeEgress] {
		r.bad("no NetworkPolicy restricts both ingress and egress of the bot's pods")
		return
	}
	port, err := listenPort(cfg)
	if err != nil {
		return
	}
	for _, p := range ingress {
		if p != fmt.Sprintf("TCP/%d", port) {
			r.bad("ingress allows %s; only the bot's port %d should be reachable", p, port)
		}
	}
	if !slices.Contains(ingress, fmt.Sprintf("TCP/%d", port)) {
		r.bad("ingress to port %d (metrics, probes, webhooks) is not allowed", port)
	}
	need := []string{"UDP/53", "TCP/53", "TCP/443", "TCP/6443"}
	if cfg.Store.Driver == config.StorePostgres {
		need = append(need, "TCP/5432")
	}
	for _, n := range need {
		if !slices.Contains(egress, n) {
			r.bad("egress %s is not allowed (DNS, HTTPS to Slack and the API, the API server port, PostgreSQL)", n)
		}
	}
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// inventory is an install's objects as sorted "Kind namespace/name" lines,
// with kustomize's ConfigMap hash suffix removed and the Namespace object
// (Helm leaves that to --create-namespace) left out.
func inventory(in *install) []string {
	hash := regexp.MustCompile(`-[bcdfghkmt-z2-9]{10}$`)
	var out []string
	for _, o := range in.objs {
		m, ok := o.obj.(metav1.Object)
		if !ok {
			continue
		}
		kind := fmt.Sprintf("%T", o.obj)
		kind = kind[strings.LastIndex(kind, ".")+1:]
		if kind == "Namespace" {
			continue
		}
		name := m.GetName()
		if kind == "ConfigMap" {
			name = hash.ReplaceAllString(name, "")
		}
		out = append(out, fmt.Sprintf("%s %s/%s", kind, m.GetNamespace(), name))
	}
	sort.Strings(out)
	return out
}

// grantsByRole maps "Kind namespace/name" to the role's normalised grants.
func grantsByRole(in *install) map[string][]rbac.Grant {
	out := map[string][]rbac.Grant{}
	for _, r := range in.roles {
		out["Role "+r.Namespace+"/"+r.Name] = rbac.Grants(r.Rules)
	}
	for _, r := range in.croles {
		out["ClusterRole "+r.Name] = rbac.Grants(r.Rules)
	}
	return out
}

// assertValid fails t with every problem of an install.
func assertValid(t *testing.T, in *install, served map[string]bool) *result {
	t.Helper()
	r := validate(in, served)
	for _, p := range r.problems {
		t.Errorf("%s: %s", in.name, p)
	}
	return r
}
