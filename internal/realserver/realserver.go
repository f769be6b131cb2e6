// Package realserver starts real Prometheus and Alertmanager servers for
// tests, so the sources and webhook receivers are tested against the
// protocols they will meet in production rather than against hand-written
// fakes.
//
// The binaries come from Debian's prometheus and prometheus-alertmanager
// packages (.ci/run installs them). A test that needs one calls Require
// first, directly or through Prometheus/Alertmanager: on a developer's
// machine without the binary the test is skipped with a message saying what
// to install; in CI (CI=true) it fails, so a broken install can never turn
// into silently skipped coverage.
//
// Every server listens on 127.0.0.1 on a free port, keeps its state in the
// test's temporary directory and is killed and waited for in t.Cleanup, so
// no process outlives its test. Its output is written to the test log when
// the test fails.
package realserver

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// startTimeout bounds how long a server may take to report ready; Debian's
// Prometheus is ready in well under a second on an idle machine, but the
// CI machine is shared.
const startTimeout = 30 * time.Second

// Require returns the path of the first of binary and alternatives found on
// PATH. When none is found it skips the test, or fails it when the
// environment variable CI is "true".
func Require(t testing.TB, binary string, alternatives ...string) string {
	t.Helper()
	names := append([]string{binary}, alternatives...)
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	msg := fmt.Sprintf("%s not found on PATH: install Debian's prometheus and prometheus-alertmanager packages "+
		"(apt-get install -y --no-install-recommends prometheus prometheus-alertmanager) to run this test",
		strings.Join(names, " or "))
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + " (CI=true: a missing server binary is a failure, not a skip)")
		return ""
	}
	t.Skip(msg)
	return ""
}

// Output collects a server process's output; exec copies into it from its
// own goroutines while the test may read it. Other test harnesses that
// start servers (Loki) use it too.
type Output struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Output) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *Output) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// FreeAddr reserves a loopback port by listening on port 0 and releasing
// it. Another process may take it before the server binds; start retries
// when that happens.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("reserve a loopback port: %v", err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatalf("release port %s: %v", addr, err)
	}
	return addr
}

// start runs path with the arguments args(addr) returns, for a fresh free
// address each attempt, and waits until GET base/-/ready answers 200. It
// registers the process's termination with t.Cleanup.
func start(t testing.TB, name, path string, args func(addr string) []string) (*Process, string) {
	t.Helper()
	var lastOut string
	for attempt := 0; attempt < 3; attempt++ {
		addr := FreeAddr(t)
		p, err := StartProcess(name, exec.Command(path, args(addr)...), nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			p.Kill()
			if t.Failed() {
				t.Logf("%s output:\n%s", p.Name, p.Output())
			}
		})
		base := "http://" + addr
		err = waitReady(p, base+"/-/ready")
		if err == nil {
			return p, base
		}
		p.Kill()
		lastOut = p.Output()
		if !strings.Contains(lastOut, "address already in use") {
			t.Fatalf("%s did not become ready: %v\noutput:\n%s", name, err, lastOut)
		}
	}
	t.Fatalf("%s: no free port after 3 attempts\nlast output:\n%s", name, lastOut)
	return nil, ""
}

// waitReady polls url until it answers 200, the process exits or
// startTimeout passes.
func waitReady(p *Process, url string) error {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-p.Done():
			return fmt.Errorf("exited before it was ready: %v", p.Err())
		case <-ctx.Done():
			return fmt.Errorf("not ready after %s: %w", startTimeout, ctx.Err())
		case <-tick.C:
		}
	}
}

// writeFile writes data to path or fails the test.
func writeFile(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
}
