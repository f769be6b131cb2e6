// Package kube reads what a triage needs from the Kubernetes API: the pod,
// its events, its rollout history and its container logs. It only ever
// reads (get/list on pods, events, replicasets, deployments, statefulsets;
// get on pods/log), every call is bounded by a timeout, and log reads are
// capped with LimitBytes.
//
// The same code serves live clusters and recorded bundles: a bundle hands it
// a client-go fake clientset loaded from its YAML (see internal/bundle).
package kube

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
)

// Defaults for Options.
const (
	DefaultCallTimeout   = 10 * time.Second
	DefaultLogLimitBytes = 64 << 20
)

// Options bound what the source reads.
type Options struct {
	// CallTimeout bounds each API call (not log streaming, which the
	// caller's context bounds).
	CallTimeout time.Duration
	// LogLimitBytes is sent as PodLogOptions.LimitBytes.
	LogLimitBytes int64
}

// Source reads one cluster.
type Source struct {
	client kubernetes.Interface
	opts   Options
}

// New returns a Source over client.
func New(client kubernetes.Interface, opts Options) *Source {
	if opts.CallTimeout <= 0 {
		opts.CallTimeout = DefaultCallTimeout
	}
	if opts.LogLimitBytes <= 0 {
		opts.LogLimitBytes = DefaultLogLimitBytes
	}
	return &Source{client: client, opts: opts}
}

// Pod fetches a pod. A missing pod's error names the closest pod names in
// the namespace, because a typo or a rolled pod hash is the usual cause.
func (s *Source) Pod(ctx context.Context, namespace, name string) (*corev1.Pod, error) {
	cctx, cancel := context.WithTimeout(ctx, s.opts.CallTimeout)
	defer cancel()
	pod, err := s.client.CoreV1().Pods(namespace).Get(cctx, name, metav1.GetOptions{})
	if err == nil {
		return pod, nil
	}
	if apierrors.IsNotFound(err) {
		msg := fmt.Sprintf("pod %s/%s not found", namespace, name)
		if near := s.closePods(ctx, namespace, name); len(near) > 0 {
			msg += "; did you mean " + strings.Join(near, ", ") + "?"
		}
		return nil, &Error{Op: "get pod", Err: errors.New(msg), NotFound: true}
	}
	return nil, classify("get pod "+namespace+"/"+name, "get", "pods", namespace, err)
}

// closePods lists pod names sharing the longest prefix with name (best
// effort: any error yields no suggestions).
func (s *Source) closePods(ctx context.Context, namespace, name string) []string {
	cctx, cancel := context.WithTimeout(ctx, s.opts.CallTimeout)
	defer cancel()
	list, err := s.client.CoreV1().Pods(namespace).List(cctx, metav1.ListOptions{Limit: 500})
	if err != nil {
		return nil
	}
	type cand struct {
		name  string
		score int
	}
	var cands []cand
	for _, p := range list.Items {
		n := commonPrefix(p.Name, name)
		if n >= 3 || strings.Contains(p.Name, name) {
			cands = append(cands, cand{p.Name, n})
		}
	}
	sort.Slice(cands, func(i, j int) bool {
		if cands[i].score != cands[j].score {
			return cands[i].score > cands[j].score
		}
		return cands[i].name < cands[j].name
	})
	var out []string
	for i := 0; i < len(cands) && i < 3; i++ {
		out = append(out, cands[i].name)
	}
	return out
}

func commonPrefix(a, b string) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

// Events lists the events whose involved object is the pod. The field
// selector keeps the response small on a real server; the client-side
// filter keeps the result right where selectors are ignored (fakes) and
// drops events left by an earlier pod of the same name.
func (s *Source) Events(ctx context.Context, pod *corev1.Pod) ([]corev1.Event, error) {
	cctx, cancel := context.WithTimeout(ctx, s.opts.CallTimeout)
	defer cancel()
	sel := fields.AndSelectors(
		fields.OneTermEqualSelector("involvedObject.name", pod.Name),
		fields.OneTermEqualSelector("involvedObject.kind", "Pod"),
	).String()
	list, err := s.client.CoreV1().Events(pod.Namespace).List(cctx, metav1.ListOptions{FieldSelector: sel})
	if err != nil {
		return nil, classify("list events", "list", "events", pod.Namespace, err)
	}
	var out []corev1.Event
	for _, e := range list.Items {
		obj := e.InvolvedObject
		if obj.Name != pod.Name || (obj.Kind != "" && obj.Kind != "Pod") {
			continue
		}
		if obj.UID != "" && pod.UID != "" && obj.UID != pod.UID {
			continue
		}
		out = append(out, e)
	}
	sort.SliceStable(out, func(i, j int) bool { return eventTime(out[i]).Before(eventTime(out[j])) })
	return out, nil
}

func eventTime(e corev1.Event) time.Time {
	switch {
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	case !e.FirstTimestamp.IsZero():
		return e.FirstTimestamp.Time
	}
	return e.CreationTimestamp.Time
}

// Workload is the pod's owning workload and its rollout history.
type Workload struct {
	// Kind is Deployment, StatefulSet, ReplicaSet (no Deployment above it),
	// or empty for a bare pod.
	Kind        string
	Name        string
	Deployment  *appsv1.Deployment
	StatefulSet *appsv1.StatefulSet
	// ReplicaSets are the Deployment's ReplicaSets, oldest revision first.
	ReplicaSets []appsv1.ReplicaSet
}

// Workload resolves pod → ReplicaSet → Deployment (or StatefulSet) and the
// Deployment's ReplicaSets, which are its rollout history.
func (s *Source) Workload(ctx context.Context, pod *corev1.Pod) (*Workload, error) {
	owner := metav1.GetControllerOf(pod)
	if owner == nil {
		return &Workload{}, nil
	}
	cctx, cancel := context.WithTimeout(ctx, s.opts.CallTimeout)
	defer cancel()
	apps := s.client.AppsV1()
	switch owner.Kind {
	case "StatefulSet":
		ss, err := apps.StatefulSets(pod.Namespace).Get(cctx, owner.Name, metav1.GetOptions{})
		if err != nil {
			return nil, classify("get statefulset", "get", "statefulsets.apps", pod.Namespace, err)
		}
		return &Workload{Kind: "StatefulSet", Name: ss.Name, StatefulSet: ss}, nil
	case "ReplicaSet":
	default:
		return &Workload{Kind: owner.Kind, Name: owner.Name}, nil
	}
	rs, err := apps.ReplicaSets(pod.Namespace).Get(cctx, owner.Name, metav1.GetOptions{})
	if err != nil {
		return nil, classify("get replicaset", "get", "replicasets.apps", pod.Namespace, err)
	}
	dOwner := metav1.GetControllerOf(rs)
	if dOwner == nil || dOwner.Kind != "Deployment" {
		return &Workload{Kind: "ReplicaSet", Name: rs.Name, ReplicaSets: []appsv1.ReplicaSet{*rs}}, nil
	}
	d, err := apps.Deployments(pod.Namespace).Get(cctx, dOwner.Name, metav1.GetOptions{})
	if err != nil {
		return nil, classify("get deployment", "get", "deployments.apps", pod.Namespace, err)
	}
	w := &Workload{Kind: "Deployment", Name: d.Name, Deployment: d}
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		sel = labels.Everything()
	}
	list, err := apps.ReplicaSets(pod.Namespace).List(cctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return nil, classify("list replicasets", "list", "replicasets.apps", pod.Namespace, err)
	}
	for _, r := range list.Items {
		if o := metav1.GetControllerOf(&r); o != nil && o.UID == d.UID && o.Name == d.Name {
			w.ReplicaSets = append(w.ReplicaSets, r)
		}
	}
	sort.SliceStable(w.ReplicaSets, func(i, j int) bool { return Revision(&w.ReplicaSets[i]) < Revision(&w.ReplicaSets[j]) })
	return w, nil
}

// OwnerWorkload names the workload that owns pod, from its owner
// references alone (no API call): a Deployment's ReplicaSet is named
// <deployment>-<pod-template-hash>; StatefulSets, DaemonSets and Jobs own
// their pods directly. Empty when the pod has no such owner.
func OwnerWorkload(pod *corev1.Pod) string {
	for _, o := range pod.OwnerReferences {
		switch o.Kind {
		case "ReplicaSet":
			if i := strings.LastIndexByte(o.Name, '-'); i > 0 {
				return o.Name[:i]
			}
			return o.Name
		case "StatefulSet", "DaemonSet", "Job":
			return o.Name
		}
	}
	return ""
}

// Revision is a ReplicaSet's deployment.kubernetes.io/revision (0 if unset).
func Revision(rs *appsv1.ReplicaSet) int {
	n, _ := strconv.Atoi(rs.Annotations["deployment.kubernetes.io/revision"])
	return n
}

// Logs streams a container's log (previous: the last terminated
// incarnation's). The stream is capped at Options.LogLimitBytes.
func (s *Source) Logs(ctx context.Context, namespace, pod, container string, previous bool) (io.ReadCloser, error) {
	limit := s.opts.LogLimitBytes
	req := s.client.CoreV1().Pods(namespace).GetLogs(pod, &corev1.PodLogOptions{
		Container:  container,
		Previous:   previous,
		LimitBytes: &limit,
	})
	rc, err := req.Stream(ctx)
	if err != nil {
		e := classify("get logs", "get", "pods/log", namespace, err)
		if ke := (*Error)(nil); errors.As(e, &ke) && ke.Unreachable && errors.Is(err, context.DeadlineExceeded) {
			// The API server proxies logs from the node's kubelet: a
			// timeout here is as likely a kubelet (or a node) that does not
			// answer as an API server that does not.
			ke.Unreachable, ke.ViaKubelet = false, true
		}
		return nil, e
	}
	return rc, nil
}

// Error is a Kubernetes failure with what an operator needs to act on it.
type Error struct {
	Op string
	// Forbidden names the missing permission ("get pods/log in namespace shop").
	Forbidden   string
	NotFound    bool
	Unreachable bool
	// ViaKubelet marks a log read that timed out: logs come from the
	// node's kubelet through the API server, and either may be silent.
	ViaKubelet bool
	Err        error
}

func (e *Error) Error() string {
	switch {
	case e.NotFound:
		return e.Err.Error()
	case e.Forbidden != "":
		return fmt.Sprintf("%s: forbidden: RBAC does not allow %s (%v)", e.Op, e.Forbidden, e.Err)
	case e.Unreachable:
		return fmt.Sprintf("%s: Kubernetes API unreachable: %v", e.Op, e.Err)
	case e.ViaKubelet:
		return fmt.Sprintf("%s: no answer from the node's kubelet (logs are proxied through the API server; check the node): %v", e.Op, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.Op, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

func classify(op, verb, resource, namespace string, err error) error {
	e := &Error{Op: op, Err: err}
	var netErr net.Error
	switch {
	case apierrors.IsNotFound(err):
		e.NotFound = true
		e.Err = fmt.Errorf("%s: %w", op, err)
	case apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err):
		e.Forbidden = fmt.Sprintf("%s %s in namespace %s", verb, resource, namespace)
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr), isConnRefused(err):
		e.Unreachable = true
	}
	return e
}

func isConnRefused(err error) bool {
	s := err.Error()
	return strings.Contains(s, "connection refused") || strings.Contains(s, "no such host")
}
