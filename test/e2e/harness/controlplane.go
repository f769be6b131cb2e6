package harness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// ControlPlane is etcd, kube-apiserver and one fake kubelet, shared by the
// tests of one test binary (each test works in its own namespaces).
type ControlPlane struct {
	Etcd    *Etcd
	API     *APIServer
	Kubelet *FakeKubelet
	// Admin is a clientset authenticated as the admin (system:masters).
	Admin kubernetes.Interface
	// Started is how long the start took.
	Started time.Duration
	dir     string
}

// Binaries are the programs a control plane runs.
type Binaries struct {
	KubeAPIServer, Etcd string
}

// FindBinaries locates kube-apiserver and etcd (see Binary). The error
// lists every missing binary with how to get it.
func FindBinaries() (Binaries, error) {
	var b Binaries
	var errs []error
	var err error
	if b.KubeAPIServer, err = Binary(EnvKubeAPIServer, HintKubeAPIServer); err != nil {
		errs = append(errs, err)
	}
	if b.Etcd, err = Binary(EnvEtcd, HintEtcd, "etcd"); err != nil {
		errs = append(errs, err)
	}
	return b, errors.Join(errs...)
}

// StartControlPlane starts etcd, the API server and the fake kubelet.
// Close stops them all; on error everything started is stopped.
func StartControlPlane(ctx context.Context, bins Binaries) (cp *ControlPlane, err error) {
	begin := time.Now()
	dir, err := os.MkdirTemp("", "oombot-e2e-apiserver-")
	if err != nil {
		return nil, fmt.Errorf("control plane dir: %w", err)
	}
	cp = &ControlPlane{dir: dir}
	defer func() {
		if err != nil {
			cp.Close()
			cp = nil
		}
	}()
	ca, err := NewCA("oombot-e2e-ca")
	if err != nil {
		return cp, err
	}
	if cp.Etcd, err = StartEtcd(ctx, bins.Etcd); err != nil {
		return cp, err
	}
	if cp.API, err = StartAPIServer(ctx, APIServerOptions{Bin: bins.KubeAPIServer, EtcdURL: cp.Etcd.URL, CA: ca, Dir: dir}); err != nil {
		return cp, err
	}
	if cp.Admin, err = cp.API.Admin(); err != nil {
		return cp, fmt.Errorf("admin client: %w", err)
	}
	if cp.Kubelet, err = StartFakeKubelet(ca); err != nil {
		return cp, err
	}
	cp.Started = time.Since(begin)
	return cp, nil
}

// Close stops the kubelet, the API server and etcd, in that order, and
// removes their files.
func (cp *ControlPlane) Close() {
	if cp.Kubelet != nil {
		cp.Kubelet.Close()
	}
	if cp.API != nil {
		cp.API.Close()
	}
	if cp.Etcd != nil {
		_ = cp.Etcd.Close()
	}
	_ = os.RemoveAll(cp.dir)
}

// Output is the API server's and etcd's output, for a failed test's log.
func (cp *ControlPlane) Output() string {
	s := ""
	if cp.API != nil {
		s += "--- kube-apiserver (last 6000 bytes)\n" + tail(cp.API.Output(), 6000) + "\n"
	}
	if cp.Etcd != nil {
		s += "--- etcd (last 2000 bytes)\n" + tail(cp.Etcd.Output(), 2000) + "\n"
	}
	return s
}

// CreateNamespace creates namespace ns and its "default" ServiceAccount,
// which the ServiceAccount admission plugin requires before it admits a
// pod (normally the controller-manager creates it; none runs here).
func (cp *ControlPlane) CreateNamespace(ctx context.Context, ns string, labels map[string]string) error {
	_, err := cp.Admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: labels}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create namespace %s: %w", ns, err)
	}
	return cp.EnsureServiceAccount(ctx, ns, "default")
}

// EnsureServiceAccount creates ServiceAccount ns/name unless it exists.
func (cp *ControlPlane) EnsureServiceAccount(ctx context.Context, ns, name string) error {
	_, err := cp.Admin.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create serviceaccount %s/%s: %w", ns, name, err)
	}
	return nil
}
