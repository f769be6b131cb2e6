package e2e

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/oombot/oombot/internal/rbac"
	"github.com/oombot/oombot/test/e2e/harness"
)

// TestRBACBoundaries is scenario 3, first half: with the token of a
// ServiceAccount bound exactly as deploy/ binds the bot (the triage
// ClusterRole of the base, the Lease Role of the HA overlay), the real
// authorizer allows every call a triage makes and forbids secrets, exec,
// and every write except the bot's own Lease.
func TestRBACBoundaries(t *testing.T) {
	t.Parallel()
	e := env(t)
	ctx := ctxFor(t, 2*time.Minute)
	if err := rbac.Compare(e.rbac.ClusterRules, rbac.ClusterRules()); err != nil {
		t.Errorf("%s: %v", e.rbac.Source, err)
	}
	access := *e.rbac
	if ha, err := harness.RenderDeployRBAC(ctx, e.kustomize, filepath.Join(repoRoot(), harness.KustomizeHA)); err != nil {
		t.Errorf("HA overlay (the Lease Role): %v", err)
	} else {
		access.LeaseRules = ha.LeaseRules
		if err := rbac.Compare(ha.LeaseRules, rbac.LeaseRules()); err != nil {
			t.Errorf("%s: %v", ha.Source, err)
		}
	}
	inc := e.incident(t, "examples/incidents/image-decode-bomb", harness.IncidentOptions{})
	botNS := uniqueName("oombot")
	if err := e.cp.CreateNamespace(ctx, botNS, nil); err != nil {
		t.Fatal(err)
	}
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := e.cp.BotKubeconfig(ctx, botNS, "oombot", &access, kubeconfig); err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	bot, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ns, pod := inc.Namespace, inc.Pod
	lease := func(name string) *coordinationv1.Lease {
		return &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: botNS}}
	}
	limit := int64(100)
	type call struct {
		name string
		do   func(context.Context) error
	}
	allowed := []call{
		{"get pod", func(ctx context.Context) error {
			_, err := bot.CoreV1().Pods(ns).Get(ctx, pod, metav1.GetOptions{})
			return err
		}},
		{"list pods", func(ctx context.Context) error {
			_, err := bot.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
			return err
		}},
		{"list events", func(ctx context.Context) error {
			_, err := bot.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + pod})
			return err
		}},
		{"get previous log", func(ctx context.Context) error {
			_, err := bot.CoreV1().Pods(ns).GetLogs(pod, &corev1.PodLogOptions{Container: inc.Container, Previous: true, LimitBytes: &limit}).DoRaw(ctx)
			return err
		}},
		{"get deployment", func(ctx context.Context) error {
			_, err := bot.AppsV1().Deployments(ns).Get(ctx, inc.Workload, metav1.GetOptions{})
			return err
		}},
		{"list replicasets", func(ctx context.Context) error {
			_, err := bot.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{})
			return err
		}},
		{"watch pods (the OOMKilled watcher)", func(ctx context.Context) error {
			w, err := bot.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{})
			if err == nil {
				w.Stop()
			}
			return err
		}},
		{"get statefulset (missing: allowed, not found)", func(ctx context.Context) error {
			_, err := bot.AppsV1().StatefulSets(ns).Get(ctx, "none", metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return nil
			}
			return err
		}},
		{"create its Lease", func(ctx context.Context) error {
			_, err := bot.CoordinationV1().Leases(botNS).Create(ctx, lease(rbac.LeaseName), metav1.CreateOptions{})
			return err
		}},
		{"renew its Lease", func(ctx context.Context) error {
			l, err := bot.CoordinationV1().Leases(botNS).Get(ctx, rbac.LeaseName, metav1.GetOptions{})
			if err != nil {
				return err
			}
			id := "e2e"
			l.Spec.HolderIdentity = &id
			_, err = bot.CoordinationV1().Leases(botNS).Update(ctx, l, metav1.UpdateOptions{})
			return err
		}},
	}
	forbidden := []call{
		{"list secrets", func(ctx context.Context) error {
			_, err := bot.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{})
			return err
		}},
		{"get secret", func(ctx context.Context) error {
			_, err := bot.CoreV1().Secrets(ns).Get(ctx, "x", metav1.GetOptions{})
			return err
		}},
		{"list secrets in its own namespace", func(ctx context.Context) error {
			_, err := bot.CoreV1().Secrets(botNS).List(ctx, metav1.ListOptions{})
			return err
		}},
		{"exec into the pod", func(ctx context.Context) error {
			return bot.CoreV1().RESTClient().Post().Namespace(ns).Resource("pods").Name(pod).SubResource("exec").
				Param("container", inc.Container).Param("command", "sh").Param("stdout", "true").Do(ctx).Error()
		}},
		{"delete the pod", func(ctx context.Context) error { return bot.CoreV1().Pods(ns).Delete(ctx, pod, metav1.DeleteOptions{}) }},
		{"create a pod", func(ctx context.Context) error {
			_, err := bot.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "x"},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "x", Image: "x"}}}}, metav1.CreateOptions{})
			return err
		}},
		{"patch the deployment", func(ctx context.Context) error {
			_, err := bot.AppsV1().Deployments(ns).Patch(ctx, inc.Workload, types.MergePatchType, []byte(`{"spec":{"replicas":0}}`), metav1.PatchOptions{})
			return err
		}},
		{"create an event", func(ctx context.Context) error {
			_, err := bot.CoreV1().Events(ns).Create(ctx, &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "x"},
				InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: pod, Namespace: ns}}, metav1.CreateOptions{})
			return err
		}},
		{"create a configmap", func(ctx context.Context) error {
			_, err := bot.CoreV1().ConfigMaps(botNS).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x"}}, metav1.CreateOptions{})
			return err
		}},
		{"update another Lease", func(ctx context.Context) error {
			_, err := bot.CoordinationV1().Leases(botNS).Update(ctx, lease("someone-else"), metav1.UpdateOptions{})
			return err
		}},
		{"delete its Lease", func(ctx context.Context) error {
			return bot.CoordinationV1().Leases(botNS).Delete(ctx, rbac.LeaseName, metav1.DeleteOptions{})
		}},
		{"create a Lease in another namespace", func(ctx context.Context) error {
			l := lease(rbac.LeaseName)
			l.Namespace = ns
			_, err := bot.CoordinationV1().Leases(ns).Create(ctx, l, metav1.CreateOptions{})
			return err
		}},
		{"list nodes", func(ctx context.Context) error {
			_, err := bot.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
			return err
		}},
	}
	for _, c := range allowed {
		if err := c.do(ctx); err != nil {
			t.Errorf("allowed call %q failed: %v", c.name, err)
		}
	}
	for _, c := range forbidden {
		if err := c.do(ctx); !apierrors.IsForbidden(err) {
			t.Errorf("%q: want Forbidden, got %v", c.name, err)
		}
	}
}

// TestMissingPermissionIsNamed is scenario 3, second half: a deployment
// that lost one rule (get pods/log) still gets a report, with what the
// other sources found, and the report says which permission is missing.
func TestMissingPermissionIsNamed(t *testing.T) {
	t.Parallel()
	e := env(t)
	inc := e.incident(t, "examples/incidents/image-decode-bomb", harness.IncidentOptions{})
	prom := prometheus(t, inc)
	srv := newSlack(t)
	noLogs, err := e.rbac.Without("pods/log", "get")
	if err != nil {
		t.Fatal(err)
	}
	bot := e.startBot(t, srv, botSetup{prometheus: prom.URL, rbac: noLogs})
	am := alertmanager(t, bot)
	fire(t, am, inc)
	th := waitReport(t, srv, inc, true)
	t.Log(sourcesLine(th.reports[0]))
	rep := reportText(th.reports[0])
	assertContains(t, "report", rep,
		"kubernetes/logs *failed*", "get pods/log in namespace "+inc.Namespace, // the missing permission, named
		"kubernetes/events ok", "kubernetes/workload ok", "prometheus ok", // what it still had
		"OOMKilled", "137")
	assertChart(t, th, inc.Pod)
	// The API server refused exactly that call.
	audit, err := e.cp.API.Audit(bot.user())
	if err != nil {
		t.Fatal(err)
	}
	denied := 0
	for _, a := range audit {
		if a.Decision() == "forbid" {
			denied++
			if a.ObjectRef == nil || a.ObjectRef.Subresource != "log" {
				t.Errorf("unexpected denial: %s %s", a.Verb, a.RequestURI)
			}
		}
	}
	if denied == 0 {
		t.Error("the API server denied nothing: the rule was not removed")
	}
	if strings.Contains(rep, "image-decode-bomb (") {
		t.Log("diagnosis still made without logs")
	}
}
