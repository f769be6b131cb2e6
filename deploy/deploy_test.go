// Package deploy_test renders the manifests under deploy/ with the pinned
// kustomize and Helm binaries (scripts/tool.sh) and checks them: strict
// decoding into typed objects, RBAC equal to internal/rbac, the pod's
// security and resources, probes on paths serve serves, secrets only by
// reference, and a config.yaml the bot accepts. The README's Deploy
// commands are run through the same checks (readme_test.go), and the
// Dockerfile is checked by building its binary (dockerfile_test.go).
package deploy_test

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/oombot/oombot/internal/rbac"
)

const chart = "deploy/helm/oombot"

func kustomize(t *testing.T, dir string) *install {
	t.Helper()
	out, err := run(kustomizeBin(t), "build", dir)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := decodeStrict(out)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	return newInstall("kustomize build "+dir, objs)
}

func helmTemplate(t *testing.T, args ...string) *install {
	t.Helper()
	out, err := run(helmBin(t), append([]string{"template", "oombot", chart, "-n", "oombot"}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := decodeStrict(out)
	if err != nil {
		t.Fatalf("helm template %v: %v", args, err)
	}
	return newInstall("helm template "+strings.Join(args, " "), objs)
}

func TestKustomize(t *testing.T) {
	served := servedPaths(t)
	for _, tc := range []struct {
		dir string
		// what the render must show besides passing validate
		check func(t *testing.T, in *install, r *result)
	}{
		{"deploy/kustomize/base", func(t *testing.T, in *install, r *result) {
			if !r.clusterWide || r.cfg.LeaderElection != nil || *in.deploys[0].Spec.Replicas != 1 {
				t.Errorf("base: want one replica, cluster-wide reads, no leader election")
			}
		}},
		{"deploy/kustomize/overlays/namespaced", func(t *testing.T, in *install, r *result) {
			for _, o := range in.objs {
				if m := o.obj.(metav1.Object); m.GetNamespace() == "" {
					t.Errorf("namespaced overlay renders cluster-scoped %T %s", o.obj, m.GetName())
				}
			}
			ns := in.deploys[0].Namespace
			if r.clusterWide || !reflect.DeepEqual(r.readNamespaces, []string{ns}) {
				t.Errorf("namespaced overlay reads %v (cluster-wide %v), want only %s", r.readNamespaces, r.clusterWide, ns)
			}
			if w := r.cfg.Watch; w == nil || !reflect.DeepEqual(w.Namespaces, []string{ns}) {
				t.Errorf("namespaced overlay: watch.namespaces must be [%s], got %+v", ns, w)
			}
		}},
		{"deploy/kustomize/overlays/ha", func(t *testing.T, in *install, r *result) {
			d := in.deploys[0]
			if *d.Spec.Replicas != 2 || r.cfg.LeaderElection == nil || !r.cfg.LeaderElection.Enabled || r.cfg.Store.Driver != "postgres" {
				t.Errorf("ha: want 2 replicas, leader election and postgres")
			}
			if a := d.Spec.Template.Spec.Affinity; a == nil || a.PodAntiAffinity == nil {
				t.Error("ha: no pod anti-affinity")
			}
		}},
	} {
		t.Run(filepath.Base(tc.dir), func(t *testing.T) {
			in := kustomize(t, tc.dir)
			r := assertValid(t, in, served)
			if r.cfg != nil && !t.Failed() {
				tc.check(t, in, r)
			}
		})
	}
}

// The remote-reader kustomization goes into other clusters: the read-only
// ClusterRole for a token-bearing ServiceAccount, and nothing else.
func TestKustomizeRemoteReader(t *testing.T) {
	in := kustomize(t, "deploy/kustomize/remote-reader")
	r := &result{}
	if len(in.deploys) != 0 || len(in.configMaps) != 0 {
		t.Error("remote-reader runs nothing in the remote cluster")
	}
	if len(in.croles) != 1 || len(in.crbs) != 1 || len(in.roles) != 0 || len(in.sas) != 1 {
		t.Fatalf("want one ServiceAccount, ClusterRole and binding; got %d, %d, %d", len(in.sas), len(in.croles), len(in.crbs))
	}
	checkRules(r, "ClusterRole "+in.croles[0].Name, in.croles[0].Rules)
	if err := rbac.Compare(in.croles[0].Rules, rbac.ClusterRules()); err != nil {
		t.Error(err)
	}
	sa := in.sas[0]
	if s := in.crbs[0].Subjects; len(s) != 1 || s[0].Name != sa.Name || s[0].Namespace != sa.Namespace || in.crbs[0].RoleRef.Name != in.croles[0].Name {
		t.Errorf("binding %+v does not bind the ClusterRole to %s/%s", in.crbs[0], sa.Namespace, sa.Name)
	}
	if len(in.secrets) != 1 || in.secrets[0].Type != corev1.SecretTypeServiceAccountToken || len(in.secrets[0].Data)+len(in.secrets[0].StringData) > 0 ||
		in.secrets[0].Annotations[corev1.ServiceAccountNameKey] != sa.Name {
		t.Errorf("want one empty service-account-token Secret for %s (the API server fills it), got %+v", sa.Name, in.secrets)
	}
	for _, p := range r.problems {
		t.Error(p)
	}
}

func TestHelm(t *testing.T) {
	served := servedPaths(t)
	valueFiles, err := filepath.Glob(filepath.Join(repoRoot, chart, "ci", "*.yaml"))
	if err != nil || len(valueFiles) < 4 {
		t.Fatalf("ci values files: %v, %v", valueFiles, err)
	}
	cases := []struct {
		name  string
		args  []string
		check func(t *testing.T, in *install, r *result)
	}{{"default", nil, func(t *testing.T, in *install, r *result) {
		if !r.clusterWide || r.cfg.LeaderElection != nil {
			t.Error("default: want cluster-wide reads without leader election")
		}
	}}}
	for _, f := range valueFiles {
		rel, _ := filepath.Rel(repoRoot, f)
		cases = append(cases, struct {
			name  string
			args  []string
			check func(t *testing.T, in *install, r *result)
		}{filepath.Base(f), []string{"-f", rel}, helmChecks[filepath.Base(f)]})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.check == nil {
				t.Fatalf("no assertions for %s: add them to helmChecks", tc.name)
			}
			in := helmTemplate(t, tc.args...)
			r := assertValid(t, in, served)
			if r.cfg != nil && !t.Failed() {
				tc.check(t, in, r)
			}
		})
	}
}

// helm lint --strict, on the chart with each values file.
func TestHelmLint(t *testing.T) {
	valueFiles, _ := filepath.Glob(filepath.Join(repoRoot, chart, "ci", "*.yaml"))
	for _, f := range append([]string{""}, valueFiles...) {
		args := []string{"lint", "--strict", chart}
		if f != "" {
			args = append(args, "-f", f)
		}
		if out, err := run(helmBin(t), args...); err != nil {
			t.Errorf("%v\n%s", err, out)
		}
	}
}

// helmChecks say what each ci/*.yaml values file must produce.
var helmChecks = map[string]func(t *testing.T, in *install, r *result){
	"ha-values.yaml": func(t *testing.T, in *install, r *result) {
		if *in.deploys[0].Spec.Replicas != 2 || r.cfg.LeaderElection == nil || r.cfg.Store.Driver != "postgres" {
			t.Error("ha: want 2 replicas with leader election and postgres")
		}
	},
	"namespaced-values.yaml": func(t *testing.T, in *install, r *result) {
		if len(in.croles)+len(in.crbs) > 0 || !reflect.DeepEqual(r.readNamespaces, []string{"payments", "shop"}) {
			t.Errorf("namespaced: want Roles in payments and shop only, got %v and %d cluster objects", r.readNamespaces, len(in.croles)+len(in.crbs))
		}
	},
	"datadog-values.yaml": func(t *testing.T, in *install, r *result) {
		if len(r.cfg.Clusters) != 2 || r.cfg.Clusters[0].Datadog == nil || r.cfg.Clusters[0].Datadog.Site != "datadoghq.eu" ||
			r.cfg.Clusters[0].Loki == nil || r.cfg.Clusters[0].Prometheus == "" || r.cfg.Webhooks == nil {
			t.Errorf("datadog: want Datadog (eu), Loki, Prometheus and webhooks in-cluster plus a remote cluster, got %+v", r.cfg.Clusters)
		}
		if k := r.cfg.Clusters[1]; k.Name != "prod-us" || k.Kubeconfig == "" || k.Context != "prod-us" {
			t.Errorf("remote cluster %+v", k)
		}
	},
	"llm-values.yaml": func(t *testing.T, in *install, r *result) {
		if r.cfg.LLM == nil || r.cfg.Slack.Mode != "http" || r.cfg.Playbooks.Dir == "" {
			t.Errorf("llm: want the LLM, HTTP mode and a playbooks dir, got %+v", r.cfg)
		}
		v, _ := volume(in.deploys[0].Spec.Template.Spec, "data")
		if v.PersistentVolumeClaim == nil {
			t.Error("llm: store.persistence.enabled must mount a PVC")
		}
	},
}

// The chart refuses configurations the bot would reject or that would
// break at run time, with a message saying what to set.
func TestHelmRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"two replicas on sqlite", []string{"--set", "replicaCount=2"}, "replicaCount=2 needs store.driver=postgres"},
		{"two replicas without leader election", []string{"--set", "replicaCount=2,store.driver=postgres"}, "needs leaderElection.enabled=true"},
		{"leader election on sqlite", []string{"--set", "leaderElection.enabled=true"}, "leaderElection.enabled=true needs store.driver=postgres"},
		{"misspelt value", []string{"--set", "slack.mod=http"}, "additional properties 'mod' not allowed"},
		{"no channels", []string{"--set", "channels=null"}, "channels"},
		{"namespaced watcher without namespaces", []string{"--set", "rbac.namespaced=true,watch.enabled=true,watch.channel=C0123ABCDEF"}, "needs watch.namespaces"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := run(helmBin(t), append([]string{"template", "oombot", chart, "-n", "oombot"}, tc.args...)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want a failure saying %q", err, tc.want)
			}
		})
	}
}

// Both ways of installing give the same objects and the same RBAC.
func TestKustomizeAndHelmAgree(t *testing.T) {
	for _, tc := range []struct {
		name, dir string
		args      []string
	}{
		{"default", "deploy/kustomize/base", nil},
		{"ha", "deploy/kustomize/overlays/ha", []string{"-f", chart + "/ci/ha-values.yaml"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, h := kustomize(t, tc.dir), helmTemplate(t, tc.args...)
			ki, hi := inventory(k), inventory(h)
			// NetworkPolicies add up: the overlay adds one for PostgreSQL,
			// the chart adds the port to its one policy.
			ki = slices.DeleteFunc(ki, func(s string) bool { return s == "NetworkPolicy oombot/oombot-postgres" })
			if !reflect.DeepEqual(ki, hi) {
				t.Errorf("objects differ:\nkustomize %q\nhelm      %q", ki, hi)
			}
			if kg, hg := grantsByRole(k), grantsByRole(h); !reflect.DeepEqual(kg, hg) {
				t.Errorf("RBAC differs:\nkustomize %v\nhelm      %v", kg, hg)
			}
		})
	}
}

// baseInstall builds the kustomize base without kustomize: its resource
// files plus the ConfigMap its generator makes from config.yaml. It lets
// the validation's own tests run where no renderer is installed.
func baseInstall(t *testing.T) *install {
	t.Helper()
	dir := filepath.Join(repoRoot, "deploy", "kustomize", "base")
	var objs []object
	for _, f := range []string{"namespace.yaml", "serviceaccount.yaml", "clusterrole.yaml", "clusterrolebinding.yaml",
		"deployment.yaml", "service.yaml", "poddisruptionbudget.yaml", "networkpolicy.yaml"} {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		o, err := decodeStrict(data)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		objs = append(objs, o...)
	}
	cfg, err := os.ReadFile(filepath.Join(dir, "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cm := &corev1.ConfigMap{TypeMeta: metav1.TypeMeta{Kind: "ConfigMap", APIVersion: "v1"},
		ObjectMeta: metav1.ObjectMeta{Name: "oombot-config", Namespace: "oombot"}, Data: map[string]string{"config.yaml": string(cfg)}}
	objs = append(objs, object{obj: cm})
	return newInstall("base files", objs)
}

// The validation must be able to fail: each planted fault in an otherwise
// valid install is reported.
func TestValidateCatchesFaults(t *testing.T) {
	served := servedPaths(t)
	if r := validate(baseInstall(t), served); len(r.problems) > 0 {
		t.Fatalf("the base files are not valid: %q", r.problems)
	}
	first := func(in *install) *corev1.Container { return &in.deploys[0].Spec.Template.Spec.Containers[0] }
	env := func(in *install, name string) *corev1.EnvVar {
		for i, e := range first(in).Env {
			if e.Name == name {
				return &first(in).Env[i]
			}
		}
		t.Fatalf("no env %s", name)
		return nil
	}
	for _, tc := range []struct {
		name  string
		plant func(in *install)
		want  string
	}{
		{"secrets in the ClusterRole", func(in *install) {
			in.croles[0].Rules = append(in.croles[0].Rules, rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}})
		}, "grants get secrets (core)"},
		{"exec", func(in *install) {
			in.croles[0].Rules = append(in.croles[0].Rules, rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods/exec"}, Verbs: []string{"create"}})
		}, "grants create pods/exec"},
		{"a write", func(in *install) {
			in.croles[0].Rules = append(in.croles[0].Rules, rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"delete"}})
		}, "grants write delete pods"},
		{"nodes, unused", func(in *install) {
			in.croles[0].Rules = append(in.croles[0].Rules, rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"nodes"}, Verbs: []string{"list"}})
		}, "extra list nodes (core)"},
		{"a missing rule", func(in *install) { in.croles[0].Rules = in.croles[0].Rules[1:] }, "missing get pods (core)"},
		{"leases cluster-wide", func(in *install) { in.croles[0].Rules = append(in.croles[0].Rules, rbac.LeaseRules()...) }, "grants Leases cluster-wide"},
		{"lease role without leader election", func(in *install) {
			in.roles = append(in.roles, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "l", Namespace: "oombot"}, Rules: rbac.LeaseRules()})
			in.rbs = append(in.rbs, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "l", Namespace: "oombot"},
				RoleRef: rbacv1.RoleRef{Kind: "Role", Name: "l"}, Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: "oombot", Namespace: "oombot"}}})
		}, "Lease Role is rendered without leaderElection"},
		{"binding to another account", func(in *install) { in.crbs[0].Subjects[0].Name = "default" }, "want only ServiceAccount oombot/oombot"},
		{"root", func(in *install) {
			u := int64(0)
			first(in).SecurityContext.RunAsUser = &u
		}, "runAsUser is 0"},
		{"writable root", func(in *install) { first(in).SecurityContext.ReadOnlyRootFilesystem = nil }, "readOnlyRootFilesystem"},
		{"privilege escalation", func(in *install) {
			y := true
			first(in).SecurityContext.AllowPrivilegeEscalation = &y
		}, "allowPrivilegeEscalation"},
		{"a capability", func(in *install) { first(in).SecurityContext.Capabilities.Add = []corev1.Capability{"NET_ADMIN"} }, "capabilities must drop ALL"},
		{"no seccomp", func(in *install) {
			first(in).SecurityContext.SeccompProfile = nil
			in.deploys[0].Spec.Template.Spec.SecurityContext.SeccompProfile = nil
		}, "seccompProfile"},
		{"no memory limit", func(in *install) { delete(first(in).Resources.Limits, corev1.ResourceMemory) }, "no memory limit"},
		{"probe on an unserved path", func(in *install) { first(in).ReadinessProbe.HTTPGet.Path = "/ready" }, "probe path /ready is not served"},
		{"no liveness", func(in *install) { first(in).LivenessProbe = nil }, "no liveness probe"},
		{"literal token", func(in *install) {
			*env(in, "SLACK_BOT_TOKEN") = corev1.EnvVar{Name: "SLACK_BOT_TOKEN", Value: "xoxb-1234567890-abcdef"}
		}, "SLACK_BOT_TOKEN must come from a Secret"},
		{"a rendered Secret", func(in *install) {
			s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "oombot-secrets", Namespace: "oombot"}}
			in.secrets = append(in.secrets, s)
		}, "Secret oombot/oombot-secrets is rendered"},
		{"token text in an object", func(in *install) {
			in.objs = append(in.objs, object{obj: &corev1.ConfigMap{}, raw: []byte("token: xapp-1-A0123456789-abc")})
		}, "token-like literal"},
		{"envFrom", func(in *install) {
			first(in).EnvFrom = []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "x"}}}}
		}, "envFrom"},
		{"GOMEMLIMIT literal", func(in *install) { *env(in, "GOMEMLIMIT") = corev1.EnvVar{Name: "GOMEMLIMIT", Value: "200MiB"} }, "GOMEMLIMIT must follow limits.memory"},
		{"config the bot rejects", func(in *install) {
			in.configMaps[0].Data["config.yaml"] = strings.Replace(in.configMaps[0].Data["config.yaml"], "metricsListen", "metricListen", 1)
		}, "config.yaml is rejected by the bot"},
		{"probe port is not the config's", func(in *install) {
			in.configMaps[0].Data["config.yaml"] = strings.Replace(in.configMaps[0].Data["config.yaml"], `":9090"`, `":9091"`, 1)
		}, "probe /healthz goes to port 9090, but the config listens on 9091"},
		{"sqlite on the read-only root", func(in *install) {
			in.configMaps[0].Data["config.yaml"] = strings.Replace(in.configMaps[0].Data["config.yaml"], "/var/lib/oombot/oombot.db", "/data/oombot.db", 1)
		}, "the SQLite directory /data is not on a writable volume"},
		{"two replicas", func(in *install) {
			n := int32(2)
			in.deploys[0].Spec.Replicas = &n
		}, "2 replicas without leaderElection"},
		{"PDB blocking drains", func(in *install) {
			one := intstr.FromInt32(1)
			in.pdbs[0].Spec.MaxUnavailable, in.pdbs[0].Spec.MinAvailable = nil, &one
		}, "blocks every node drain"},
		{"open egress", func(in *install) {
			in.netpols[0].Spec.Egress = append(in.netpols[0].Spec.Egress, in.netpols[0].Spec.Egress[0])
			in.netpols[0].Spec.Egress[len(in.netpols[0].Spec.Egress)-1].Ports = nil
		}, "allows egress on every port"},
		{"extra ingress port", func(in *install) {
			p := intstr.FromInt32(22)
			in.netpols[0].Spec.Ingress[0].Ports[0].Port = &p
		}, "ingress allows TCP/22"},
		{"no API server port", func(in *install) { in.netpols[0].Spec.Egress = in.netpols[0].Spec.Egress[:2] }, "egress TCP/6443 is not allowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := baseInstall(t)
			tc.plant(in)
			r := validate(in, served)
			found := false
			for _, p := range r.problems {
				if strings.Contains(p, tc.want) {
					found = true
				}
			}
			if !found {
				t.Errorf("problems %q lack %q", r.problems, tc.want)
			}
		})
	}
}
