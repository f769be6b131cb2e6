// Package e2e proves oombot's whole path on real servers: a kube-apiserver
// with RBAC (and etcd), a fake kubelet serving recorded logs through the
// API server's log proxy, Debian's Prometheus and Alertmanager, and the
// project's Slack wire-protocol server, with the bot running as its own
// process (`bot serve`) under the ServiceAccount and RBAC of deploy/.
//
// Run with `make e2e` (see CONTRIBUTING.md). Binaries that are missing make
// the tests skip, or fail when CI=true.
package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/oombot/oombot/test/e2e/harness"
)

// shared is what every test of this binary uses: one control plane, one
// bot binary, the RBAC rendered from deploy/. It is started by the first
// test that needs it and stopped by TestMain.
var shared struct {
	once      sync.Once
	err       error
	cp        *harness.ControlPlane
	bot       string
	rbac      *harness.RBAC
	kustomize string
	tmp       string
	started   time.Duration
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.cp != nil {
		shared.cp.Close()
	}
	if shared.tmp != "" {
		_ = os.RemoveAll(shared.tmp)
	}
	if code == 0 {
		// Every server, bot and HTTP client of the tests is gone by now;
		// a goroutine left over is a leak in the harness or the tests.
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// env is the shared environment, started on first use. Missing binaries
// skip the test, or fail it when CI=true.
func env(t *testing.T) *sharedEnv {
	t.Helper()
	shared.once.Do(func() {
		begin := time.Now()
		bins, err := harness.FindBinaries()
		kustomize, kerr := harness.Binary(harness.EnvKustomize, harness.HintKustomize, "kustomize")
		if err = errors.Join(err, kerr); err != nil {
			shared.err = err
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		if shared.tmp, err = os.MkdirTemp("", "oombot-e2e-"); err != nil {
			shared.err = err
			return
		}
		// The bot build and the control plane's start overlap.
		var wg sync.WaitGroup
		var buildErr error
		wg.Add(1)
		go func() {
			defer wg.Done()
			shared.bot, buildErr = harness.BuildBot(ctx, repoRoot(), shared.tmp)
		}()
		shared.kustomize = kustomize
		shared.rbac, err = harness.RenderDeployRBAC(ctx, kustomize, filepath.Join(repoRoot(), harness.KustomizeBase))
		if err == nil {
			shared.cp, err = harness.StartControlPlane(ctx, bins)
		}
		wg.Wait()
		shared.err = errors.Join(err, buildErr)
		shared.started = time.Since(begin)
	})
	if shared.err != nil {
		var missing *harness.MissingBinaryError
		if errors.As(shared.err, &missing) {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%v (CI=true: a missing binary is a failure, not a skip)", shared.err)
			}
			t.Skipf("end-to-end environment unavailable: %v", shared.err)
		}
		t.Fatalf("end-to-end environment: %v", shared.err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("control plane output:\n%s", shared.cp.Output())
		}
	})
	return &sharedEnv{cp: shared.cp, bot: shared.bot, rbac: shared.rbac, kustomize: shared.kustomize}
}

type sharedEnv struct {
	cp        *harness.ControlPlane
	bot       string
	rbac      *harness.RBAC
	kustomize string
}
