// Package fleet runs triages on named clusters. It picks the cluster an
// alert or command names (or the default), turns a workload into the pod
// worth triaging (the one OOMKilled most recently), and hands the request to
// that cluster's engine. Chat front-ends depend on it through a one-method
// interface, so they never see Kubernetes clients.
package fleet

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/oombot/oombot/internal/report"
	"github.com/oombot/oombot/internal/sources/kube"
	"github.com/oombot/oombot/internal/triage"
)

// Request names what to triage. Pod or Workload is required.
type Request struct {
	Cluster   string
	Namespace string
	Pod       string
	// Workload is a Deployment or StatefulSet name; used when Pod is empty.
	Workload  string
	Container string
	// Alert is the alert text, quoted in the report.
	Alert   string
	FiredAt time.Time
	// ID names the triage in logs.
	ID string
}

// Member is one cluster.
type Member struct {
	Name   string
	Engine *triage.Engine
	// Client lists pods to resolve workloads.
	Client kubernetes.Interface
	// FiredAt, when set, replaces a request's zero FiredAt: a recorded
	// bundle's data only exists around its own alert time.
	FiredAt time.Time
}

// Fleet is a set of clusters.
type Fleet struct {
	members map[string]*Member
	def     string
	names   []string
}

// New builds a fleet; def names the default cluster.
func New(def string, members ...*Member) (*Fleet, error) {
	f := &Fleet{members: map[string]*Member{}, def: def}
	for _, m := range members {
		if _, dup := f.members[m.Name]; dup {
			return nil, fmt.Errorf("fleet: cluster %q configured twice", m.Name)
		}
		f.members[m.Name] = m
		f.names = append(f.names, m.Name)
	}
	sort.Strings(f.names)
	if _, ok := f.members[def]; !ok {
		return nil, fmt.Errorf("fleet: default cluster %q is not configured", def)
	}
	return f, nil
}

// Names lists the configured clusters.
func (f *Fleet) Names() []string { return append([]string(nil), f.names...) }

// UnknownClusterError names a cluster that is not configured.
type UnknownClusterError struct {
	Name  string
	Known []string
}

func (e *UnknownClusterError) Error() string {
	return fmt.Sprintf("unknown cluster %q (configured: %s)", e.Name, strings.Join(e.Known, ", "))
}

// NoPodError says a workload has no pod worth triaging.
type NoPodError struct{ Namespace, Workload, Why string }

func (e *NoPodError) Error() string {
	return fmt.Sprintf("workload %s/%s: %s", e.Namespace, e.Workload, e.Why)
}

// Resolve fills the cluster (default) and, for a workload, the pod.
func (f *Fleet) Resolve(ctx context.Context, req Request) (Request, *Member, error) {
	name := req.Cluster
	if name == "" {
		name = f.def
	}
	m, ok := f.members[name]
	if !ok {
		// An alert's cluster tag may name a cluster this bot doesn't serve
		// under that name; say so rather than guess another cluster.
		return req, nil, &UnknownClusterError{Name: name, Known: f.Names()}
	}
	req.Cluster = name
	if req.FiredAt.IsZero() {
		req.FiredAt = m.FiredAt
	}
	if req.Pod == "" {
		if req.Workload == "" {
			return req, m, errors.New("a pod or a workload is required")
		}
		pod, err := LatestOOMPod(ctx, m.Client, req.Namespace, req.Workload)
		if err != nil {
			return req, m, err
		}
		req.Pod = pod
	}
	return req, m, nil
}

// Triage resolves req and runs the engine.
func (f *Fleet) Triage(ctx context.Context, req Request) (*report.Report, error) {
	req, m, err := f.Resolve(ctx, req)
	if err != nil {
		return nil, err
	}
	rep, err := m.Engine.Run(ctx, triage.Request{Cluster: req.Cluster, Namespace: req.Namespace, Pod: req.Pod,
		Container: req.Container, Alert: req.Alert, FiredAt: req.FiredAt, ID: req.ID})
	if err != nil {
		return nil, err
	}
	if rep.Target.Cluster == "" {
		rep.Target.Cluster = req.Cluster
	}
	return rep, nil
}

// LatestOOMPod picks the workload's pod that was OOMKilled most recently,
// else the one with most restarts. Pods belong to a Deployment through a
// ReplicaSet named <deployment>-<hash>, or directly to a StatefulSet.
func LatestOOMPod(ctx context.Context, c kubernetes.Interface, namespace, workload string) (string, error) {
	if c == nil {
		return "", &NoPodError{Namespace: namespace, Workload: workload, Why: "no Kubernetes client to list its pods"}
	}
	pods, err := c.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{Limit: 500})
	if err != nil {
		return "", fmt.Errorf("list pods of %s/%s: %w", namespace, workload, err)
	}
	type cand struct {
		name     string
		oomAt    time.Time
		restarts int32
	}
	var cs []cand
	for i := range pods.Items {
		p := &pods.Items[i]
		if kube.OwnerWorkload(p) != workload {
			continue
		}
		c := cand{name: p.Name}
		for _, s := range p.Status.ContainerStatuses {
			c.restarts += s.RestartCount
			for _, t := range []*corev1.ContainerStateTerminated{s.LastTerminationState.Terminated, s.State.Terminated} {
				if t != nil && t.Reason == "OOMKilled" && t.FinishedAt.After(c.oomAt) {
					c.oomAt = t.FinishedAt.Time
				}
			}
		}
		cs = append(cs, c)
	}
	if len(cs) == 0 {
		return "", &NoPodError{Namespace: namespace, Workload: workload, Why: "no pods found (is the workload name right, and does it run in this namespace?)"}
	}
	sort.Slice(cs, func(i, j int) bool {
		if !cs[i].oomAt.Equal(cs[j].oomAt) {
			return cs[i].oomAt.After(cs[j].oomAt)
		}
		if cs[i].restarts != cs[j].restarts {
			return cs[i].restarts > cs[j].restarts
		}
		return cs[i].name < cs[j].name
	})
	return cs[0].name, nil
}
