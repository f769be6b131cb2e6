// Package leasetest gives tests a fake Kubernetes clientset whose Leases
// behave like the API server's: client-go's fake object tracker accepts any
// update regardless of resourceVersion, so two electors racing for an
// expired Lease could both "win" against it. NewClientset adds the
// optimistic concurrency the real API server enforces (a stale
// resourceVersion gets 409 Conflict), which is what makes a Lease a lock.
//
// It is a regular package so the leader package's tests and the serve
// command's tests share it.
package leasetest

import (
	"fmt"
	"strconv"
	"sync"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

var leases = coordinationv1.SchemeGroupVersion.WithResource("leases")

// Clientset is a fake clientset with honest Lease updates. Fail, when set,
// is consulted before every Lease call ("get", "create", "update") and can
// make it fail, to simulate an unreachable API server.
type Clientset struct {
	*fake.Clientset

	mu   sync.Mutex
	rv   int64
	fail func(verb string) error
	// Updates counts successful Lease creates and updates.
	updates int
}

// NewClientset returns a fake clientset holding objs, whose Leases get
// resource versions and reject stale updates with a Conflict.
func NewClientset(objs ...runtime.Object) *Clientset {
	c := &Clientset{Clientset: fake.NewClientset(objs...), rv: 1000}
	c.PrependReactor("get", "leases", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if err := c.injected("get"); err != nil {
			return true, nil, err
		}
		return false, nil, nil
	})
	c.PrependReactor("create", "leases", func(a k8stesting.Action) (bool, runtime.Object, error) {
		obj, ok := a.(k8stesting.CreateAction).GetObject().(*coordinationv1.Lease)
		if !ok {
			return false, nil, nil
		}
		if err := c.injected("create"); err != nil {
			return true, nil, err
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		obj = obj.DeepCopy()
		obj.ResourceVersion = c.nextLocked()
		if err := c.Tracker().Create(leases, obj, a.GetNamespace()); err != nil {
			return true, nil, err
		}
		c.updates++
		return true, obj.DeepCopy(), nil
	})
	c.PrependReactor("update", "leases", func(a k8stesting.Action) (bool, runtime.Object, error) {
		obj, ok := a.(k8stesting.UpdateAction).GetObject().(*coordinationv1.Lease)
		if !ok {
			return false, nil, nil
		}
		if err := c.injected("update"); err != nil {
			return true, nil, err
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		cur, err := c.Tracker().Get(leases, a.GetNamespace(), obj.Name)
		if err != nil {
			return true, nil, err
		}
		if have := cur.(*coordinationv1.Lease).ResourceVersion; have != obj.ResourceVersion {
			return true, nil, apierrors.NewConflict(leases.GroupResource(), obj.Name,
				fmt.Errorf("the object has been modified (resourceVersion %s, update based on %s)", have, obj.ResourceVersion))
		}
		obj = obj.DeepCopy()
		obj.ResourceVersion = c.nextLocked()
		if err := c.Tracker().Update(leases, obj, a.GetNamespace()); err != nil {
			return true, nil, err
		}
		c.updates++
		return true, obj.DeepCopy(), nil
	})
	return c
}

func (c *Clientset) nextLocked() string {
	c.rv++
	return strconv.FormatInt(c.rv, 10)
}

func (c *Clientset) injected(verb string) error {
	c.mu.Lock()
	f := c.fail
	c.mu.Unlock()
	if f == nil {
		return nil
	}
	return f(verb)
}

// FailLeases makes Lease calls fail with what f returns (nil: succeed);
// FailLeases(nil) heals.
func (c *Clientset) FailLeases(f func(verb string) error) {
	c.mu.Lock()
	c.fail = f
	c.mu.Unlock()
}

// Writes is the number of successful Lease creates and updates.
func (c *Clientset) Writes() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.updates
}
